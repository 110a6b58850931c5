"""convert-linalg-to-fxp, elementwise family: constants, relu, add/sub/mul and per-channel affine maps.

What torch-mlir emits and what it becomes:
  linalg.transpose(constant) | a generic computing on constants only        -> fxp.constant (folded at compile time)
  linalg.generic{cmpf ugt/select 0 | max 0}                                 -> fxp.relu
  linalg.generic{addf | subf | mulf of two tensors}                          -> fxp.add / fxp.sub / fxp.mul
  linalg.generic{maximumf | minimumf | cmpf + select of two tensors}       -> fxp.minmax
  generic{x (+-*/) constant, per tensor or per channel} (BatchNorm's chain, scalings) -> fxp.scale_shift,
      chains fused, and folded into a preceding single-use fxp.dense / fxp.conv
  scale_shift on a [B*H, T, D] view                                          -> on [1, B*H, T, D]
"""

from __future__ import annotations

import numpy as np

from fxflow.dialects.fxp import AddOp, ConstantOp, MinMaxOp, MulOp, ReluOp, ReshapeOp, ScaleShiftOp, SubOp
from fxflow.errors import FxflowError
from fxflow.ir import defining_op, ir, layer_name

from fxflow.lowering.linalg_to_fxp import FOLD_ACROSS_LAYERS, raising_pattern
from .common import (adds_its_two_inputs, affine_maps, body_ops, constant_array, emit_constant, is_identity_map,
                     is_zero_scalar, lift_to_sample, scalar_constant, shape_of)


# ------------------------------------------------------------------------------------------------
# Constants, relu, add
# ------------------------------------------------------------------------------------------------
@raising_pattern("linalg.transpose", 3, produces=(ConstantOp,))
def fold_constant_transpose(op, rewriter):
    arr = constant_array(op.operation.operands[0])
    if arr is None:
        return True
    perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
    et = ir.RankedTensorType(op.operation.operands[0].type).element_type
    with rewriter.ip, op.location:
        new = emit_constant(np.transpose(arr, perm), et)
    rewriter.replace_op(op, [new])


_GREATER_PREDICATES = (2, 3, 9, 10)  # arith.cmpf ogt, oge, ugt, uge: x > 0 and x >= 0 select the same values


@raising_pattern("linalg.generic", 2, produces=(ReluOp,))
def generic_to_relu(op, rewriter):
    ins = list(op.inputs)
    ops = body_ops(op)
    names = [o.operation.name for o in ops]
    if len(ins) != 1 or not all(is_identity_map(m) for m in affine_maps(op)):
        return True
    block_arg = op.region.blocks[0].arguments[0]
    if names == ["arith.cmpf", "arith.select", "linalg.yield"]:
        cmp, sel = ops[0].operation, ops[1].operation
        pred = ir.IntegerAttr(cmp.attributes["predicate"]).value
        ok = (cmp.operands[0] == block_arg and is_zero_scalar(cmp.operands[1]) and pred in _GREATER_PREDICATES
              and sel.operands[1] == block_arg and is_zero_scalar(sel.operands[2]))
    elif names in (["arith.maximumf", "linalg.yield"], ["arith.maxnumf", "linalg.yield"]):
        a, b = ops[0].operation.operands
        ok = (a == block_arg and is_zero_scalar(b)) or (b == block_arg and is_zero_scalar(a))
    else:
        ok = False
    if not ok:
        return True
    with rewriter.ip, op.location:
        new = ReluOp(ins[0], op.result.type)
    rewriter.replace_op(op, [new.output])


@raising_pattern("linalg.generic", 1, produces=(AddOp,))
def generic_to_add(op, rewriter):
    ins = list(op.inputs)
    if not adds_its_two_inputs(op) or not all(is_identity_map(m) for m in affine_maps(op)):
        return True
    if any(constant_array(v) is not None for v in ins):
        return True  # x + a per-channel constant is a scale_shift (affine_to_scale_shift)
    with rewriter.ip, op.location:
        new = AddOp(ins[0], ins[1], op.result.type)
    rewriter.replace_op(op, [new.output])


# ------------------------------------------------------------------------------------------------
# Per-channel affine maps (BatchNorm, scalings) and elementwise tensor ops
# ------------------------------------------------------------------------------------------------
_AFFINE = {"arith.addf", "arith.subf", "arith.mulf", "arith.divf"}


def _channel_param(generic, operand_index: int, x_shape) -> np.ndarray | None:
    """The constant operand of a binary generic as a per-channel ([C]) or per-tensor ([1]) vector."""
    arr = constant_array(generic.inputs[operand_index])
    if arr is None:
        return None
    m = affine_maps(generic)[operand_index]
    rhs = m.partition(" -> ")[2].strip("() ").split(", ")
    rank = len(x_shape)
    # broadcast forms torch-mlir emits: (d1) | (d1, 0, 0) over [B, C, ..] (per channel), () / (0, ..) (scalar)
    # (any dim may index a size-1 axis of the constant: ONNX broadcasts [1, C, 1] and [C, 1, 1] over a
    # [1, C, 1, 1] tensor that way)
    used = [r for j, r in enumerate(rhs) if r and r != "0" and not (arr.ndim == len(rhs) and arr.shape[j] == 1)]
    if arr.size == 1:
        return arr.reshape(1)
    if used == ["d1"] and rank >= 2 and arr.size == x_shape[1]:
        return arr.reshape(-1)
    return None


def _affine_of(generic):
    """(x, scale, shift) when the generic computes x (+-*/) c elementwise with c a constant per tensor or
    per channel, c either a second (broadcast) input or a scalar captured in the body."""
    ins = list(generic.inputs)
    ops = [o for o in body_ops(generic)  # the f32 rounding of a captured scalar (see scalar_constant)
           if not (o.operation.name == "arith.truncf" and scalar_constant(o.operation.operands[0]) is not None)]
    if len(ops) != 2 or ops[0].operation.name not in _AFFINE or len(list(generic.results)) != 1:
        return None
    body = ops[0].operation
    args = list(generic.region.blocks[0].arguments)
    if not is_identity_map(affine_maps(generic)[-1]):
        return None
    a, b = body.operands
    if len(ins) == 1:
        if not is_identity_map(affine_maps(generic)[0]):
            return None
        if a == args[0] and scalar_constant(b) is not None:
            x_first, c = True, np.array([scalar_constant(b)])
        elif b == args[0] and scalar_constant(a) is not None:
            x_first, c = False, np.array([scalar_constant(a)])
        else:
            return None
        x = ins[0]
    elif len(ins) == 2:
        xi = next((i for i in (0, 1) if constant_array(ins[i]) is None), None)
        if xi is None or constant_array(ins[1 - xi]) is None or not is_identity_map(affine_maps(generic)[xi]):
            return None
        x = ins[xi]
        c = _channel_param(generic, 1 - xi, shape_of(x))
        if c is None or not ((a == args[0] and b == args[1]) or (a == args[1] and b == args[0])):
            return None  # (values compare by identity: printing them costs more than the rest of the match)
        x_first = a == args[xi]
    else:
        return None
    kind = body.name
    one, zero = np.ones_like(c), np.zeros_like(c)
    if kind == "arith.addf":
        return x, one, c
    if kind == "arith.mulf":
        return x, c, zero
    if kind == "arith.subf":
        return (x, one, -c) if x_first else (x, -one, c)
    if kind == "arith.divf" and x_first and np.all(c != 0):
        return x, 1.0 / c, zero
    return None


def _param_constant(values: np.ndarray, like) -> ir.Value:
    return emit_constant(np.asarray(values, dtype=np.float64), ir.RankedTensorType(like.type).element_type)


@raising_pattern("linalg.generic", 1, produces=(ScaleShiftOp,))
def affine_to_scale_shift(op, rewriter):
    found = _affine_of(op)
    if found is None:
        return True
    x, scale, shift = found
    with rewriter.ip, op.location:
        new = ScaleShiftOp(x, _param_constant(scale, x), _param_constant(shift, x), op.result.type)
    rewriter.replace_op(op, [new.output])


def _per_channel(v: np.ndarray, channels: int) -> np.ndarray:
    return np.broadcast_to(v, (channels,)) if v.size == 1 else v


@raising_pattern("fxp.scale_shift", 2, produces=(ScaleShiftOp, ReshapeOp))
def fuse_scale_shift(op, rewriter):
    """scale_shift(scale_shift(x)) -> one scale_shift;  scale_shift(dense | conv) -> new weights and bias
    when the layer's result has no other reader (BatchNorm folding)."""
    x = op.operands[0]
    s2, t2 = constant_array(op.operands[1]), constant_array(op.operands[2])
    inner = defining_op(x)
    if inner is None or s2 is None or t2 is None or len(list(x.uses)) != 1:
        return True
    fold = FOLD_ACROSS_LAYERS[0]
    across = layer_name(op.location) != layer_name(inner.location)
    if across and fold is not True and inner.name == "fxp.scale_shift":
        return True  # hls4ml arithmetic: two BatchNorm layers stay two layers
    if inner.name == "fxp.scale_shift":
        s1, t1 = constant_array(inner.operands[1]), constant_array(inner.operands[2])
        if s1 is None or t1 is None:
            return True
        n = max(s1.size, t1.size, s2.size, t2.size)
        s1, t1, s2, t2 = (_per_channel(v, n) for v in (s1, t1, s2, t2))
        with rewriter.ip, op.location:
            new = ScaleShiftOp(inner.operands[0], _param_constant(s1 * s2, x), _param_constant(t1 * s2 + t2, x),
                               op.result.type)
        rewriter.replace_op(op, [new.output])
        rewriter.erase_op(inner)
        return None
    reshape = None
    if inner.name == "fxp.reshape":  # a 1-D conv runs as 2-D: look through the reshape back to [B, C, L]
        src = inner.operands[0]
        if shape_of(src)[:2] != shape_of(x)[:2] or len(list(src.uses)) != 1 or defining_op(src) is None:
            return True
        reshape, inner = inner, defining_op(src)
    if inner.name not in ("fxp.dense", "fxp.conv"):
        return True
    if across and not (fold(layer_name(inner.location) or "", layer_name(op.location) or "") if callable(fold)
                       else fold):
        return True  # hls4ml arithmetic: a BatchNorm after a Linear/Conv stays a layer (its own result cast)
    w, b = constant_array(inner.operands[1]), constant_array(inner.operands[2])
    if w is None or b is None:
        return True
    n = b.size
    if s2.size not in (1, n) or t2.size not in (1, n):
        return True
    if len(shape_of(x)) > 2 and inner.name == "fxp.dense" and max(s2.size, t2.size) > 1:
        return True  # per-channel constants run along dim 1, a Linear on tokens along the last axis
    s, t = _per_channel(s2, n), _per_channel(t2, n)
    if inner.name == "fxp.dense":  # weight [K, N]: output feature = column
        w_new = w * s[None, :]
    else:  # weight [F, C/g, *K]: output channel = dim 0
        w_new = w * s.reshape(-1, *([1] * (w.ndim - 1)))
    if not _fold_keeps_model_formats(inner, {"weight": (w, w_new), "bias": (b, b * s + t)}):
        return True  # kept as a scale_shift of its own, computed exactly (BatchNorm after a quantized layer)
    # The folded layer keeps the layer's name (the dense/conv module) and its attributes.
    with rewriter.ip, inner.location:
        w_c, b_c = _param_constant(w_new, x), _param_constant(b * s + t, x)
        new = inner.clone()
        new.operands[1] = w_c
        new.operands[2] = b_c
        out = new.results[0]
        if reshape is not None:
            out = ReshapeOp(out, reshape.results[0].type).output
    rewriter.replace_op(op, [out])
    if reshape is not None:
        rewriter.erase_op(reshape)
    rewriter.erase_op(inner)


# --- begin: BatchNorm folding into layers the model quantized ---------------------------------------------
def _fold_keeps_model_formats(layer_op, folded: dict) -> bool:
    """Whether folding a scale/shift into `layer_op` keeps the weights and biases the model quantized
    (`fxflow.model_formats`) exact: each folded constant must be exactly representable (also as float32) in
    its role's model format, and a role the model did not quantize must come out unchanged.  Otherwise the
    folded values would later be cut back to the model's format (1-bit weights times a BatchNorm scale all
    round to one value)."""
    from fxflow.fixed import FixedFormat
    from fxflow.fixed.quantize import quantize, to_float
    from fxflow.ir import layer_name
    from fxflow.lowering.fake_quant_to_fxp import MODEL_FORMATS_ATTR

    fn = layer_op.parent
    while fn is not None and fn.name != "func.func":
        fn = fn.parent
    if fn is None or MODEL_FORMATS_ATTR not in fn.attributes:
        return True
    formats = ir.DictAttr(fn.attributes[MODEL_FORMATS_ATTR])
    layer = layer_name(layer_op.location)
    roles = {role: FixedFormat.parse(ir.StringAttr(formats[f"{layer}.{role}"]).value)
             for role in folded if f"{layer}.{role}" in formats}
    if not roles:
        return True
    for role, (old, new) in folded.items():
        new = np.asarray(new, dtype=np.float64)
        if not np.array_equal(new.astype(np.float32).astype(np.float64), new):
            return False
        if role not in roles:
            if not np.array_equal(new, np.asarray(old, dtype=np.float64)):
                return False
        elif not np.array_equal(to_float(quantize(new, roles[role]), roles[role].f), new):
            return False
    return True
# --- end: BatchNorm folding into layers the model quantized -----------------------------------------------


@raising_pattern("fxp.scale_shift", 3)
def identity_scale_shift(op, rewriter):
    s, t = constant_array(op.operands[1]), constant_array(op.operands[2])
    if s is None or t is None or not (np.all(s == 1) and np.all(t == 0)):
        return True
    if str(op.operands[0].type) != str(op.result.type):
        return True
    rewriter.replace_op(op, [op.operands[0]])


@raising_pattern("linalg.generic", 1, produces=(SubOp, MulOp, ReshapeOp))
def binary_tensor_op(op, rewriter):
    """subf / mulf of two non-constant tensors of one shape -> fxp.sub / fxp.mul."""
    ins = list(op.inputs)
    ops = body_ops(op)
    if len(ins) != 2 or len(ops) != 2 or ops[0].operation.name not in ("arith.subf", "arith.mulf"):
        return True
    if not all(is_identity_map(m) for m in affine_maps(op)) or any(constant_array(v) is not None for v in ins):
        return True
    args = [str(v) for v in op.region.blocks[0].arguments]
    a, b = (str(v) for v in ops[0].operation.operands)
    if sorted([a, b]) != sorted(args[:2]):
        return True
    lhs, rhs = (ins[0], ins[1]) if a == args[0] else (ins[1], ins[0])
    cls = SubOp if ops[0].operation.name == "arith.subf" else MulOp
    with rewriter.ip, op.location:
        new = cls(lhs, rhs, op.result.type)
    rewriter.replace_op(op, [new.output])


_MAX_PREDICATES, _MIN_PREDICATES = (2, 3, 9, 10), (4, 5, 11, 12)  # arith.cmpf ogt/oge/ugt/uge, olt/ole/ult/ule


@raising_pattern("linalg.generic", 1, produces=(MinMaxOp,))
def minmax_of_two_tensors(op, rewriter):
    """maximum / minimum of two non-constant tensors of one shape (maximumf, or cmpf + select of the same
    two) -> fxp.minmax.  With a constant operand it is a clamp or an fxp.select (tables family)."""
    ins, ops = list(op.inputs), body_ops(op)
    if len(ins) != 2 or not all(is_identity_map(m) for m in affine_maps(op)) or \
            any(constant_array(v) is not None for v in ins):
        return True
    args = [str(v) for v in op.region.blocks[0].arguments[:2]]
    names = [o.operation.name for o in ops]
    kind = None
    if len(ops) == 2 and names[0] in ("arith.maximumf", "arith.maxnumf", "arith.minimumf", "arith.minnumf"):
        if sorted(str(v) for v in ops[0].operation.operands) == sorted(args):
            kind = "max" if "max" in names[0] else "min"
    elif names == ["arith.cmpf", "arith.select", "linalg.yield"]:
        cmp, sel = ops[0].operation, ops[1].operation
        pred = ir.IntegerAttr(cmp.attributes["predicate"]).value
        pair = [str(v) for v in cmp.operands]
        if sel.operands[0] == cmp.results[0] and [str(v) for v in sel.operands[1:]] == pair and \
                sorted(pair) == sorted(args):
            kind = "max" if pred in _MAX_PREDICATES else "min" if pred in _MIN_PREDICATES else None
    if kind is None:
        return True
    with rewriter.ip, op.location:
        new = MinMaxOp(ins[0], ins[1], op.result.type, ir.StringAttr.get(kind))
    rewriter.replace_op(op, [new.output])


# ------------------------------------------------------------------------------------------------
# Compile-time evaluation of generic bodies over constants / indices (fxflow.scalar_eval)
# ------------------------------------------------------------------------------------------------
def _yielded(generic):
    return list(generic.region.blocks[0].operations)[-1].operands


@raising_pattern("linalg.generic", 5, produces=(ConstantOp,))
def fold_constant_generic(op, rewriter):
    """An elementwise generic whose every input is a constant: evaluate it now (BatchNorm's parameters)."""
    ins = list(op.inputs)
    if not ins or len(list(op.results)) != 1 or not all(is_identity_map(m) for m in affine_maps(op)):
        return True
    arrays = [constant_array(v) for v in ins]
    if any(a is None for a in arrays):
        return True
    from fxflow.scalar_eval import compile_scalar

    block = op.region.blocks[0]
    try:
        out = compile_scalar(_yielded(op)[0], list(block.arguments)[:len(arrays)])(*arrays)
    except FxflowError:  # an op the interpreter does not know: leave the generic alone
        return True
    value = np.broadcast_to(np.asarray(out, dtype=np.float64), shape_of(op.result))
    with rewriter.ip, op.location:
        new = emit_constant(value, ir.RankedTensorType(op.result.type).element_type)
    rewriter.replace_op(op, [new])


@raising_pattern("fxp.scale_shift", 2, produces=(ScaleShiftOp, ReshapeOp))
def lift_scale(op, rewriter):
    """A per-tensor scale_shift of a [B*H, T, D] view (the q scaling) -> on the [1, B*H, T, D] view."""
    from fxflow.dialects.fxp import ScaleShiftOp

    x = op.operands[0]
    s, t = constant_array(op.operands[1]), constant_array(op.operands[2])
    if shape_of(x)[0] == 1 or s is None or t is None or s.size != 1 or t.size != 1:
        return True
    return lift_to_sample(op, rewriter, lambda ins, ty: ScaleShiftOp(ins[0], op.operands[1], op.operands[2], ty).output,
                   [x])
