"""convert-linalg-to-fxp, layer family: convolutions, pooling, BatchNorm and other per-channel affine
maps, elementwise sub/mul, and the data-movement ops (reshape, transpose, concat, pad, upsample).

What torch-mlir emits and what it becomes:
  tensor.pad(0) -> linalg.conv_{1d_ncw_fcw,2d_nchw_fchw}(x, W) outs broadcast(b) | fill(0)  -> fxp.conv
  linalg.depthwise_conv_2d_nchw_chw                                                          -> fxp.conv (groups = C)
  expand_shape -> linalg.conv_2d_ngchw_gfchw -> (collapse_shape)                             -> fxp.conv (groups = G)
  tensor.pad(-inf) -> linalg.pooling_{nchw,ncw}_max                                          -> fxp.pool max
  linalg.pooling_{nchw,ncw}_sum | reduction generic (global), then divf by the window size   -> fxp.pool avg
  generic{x (+-*/) constant, per tensor or per channel} (BatchNorm's chain, scalings)        -> fxp.scale_shift,
      chains fused, and folded into a preceding single-use fxp.dense / fxp.conv
  generic{subf | mulf of two tensors}                                                        -> fxp.sub / fxp.mul
  tensor.expand_shape / collapse_shape, linalg.transpose, tensor.concat, tensor.pad(0)       -> fxp.reshape / transpose /
                                                                                                concat / pad
  generic{tensor.extract at floor(index / s)} (nearest Upsample)                             -> fxp.resize
Compile-time computations on constants (BatchNorm's sqrt and reciprocal, reshapes of parameters) are
folded by evaluating the generic's body (`evaluate_body`).
"""

from __future__ import annotations

import math

import numpy as np

from fxflow.dialects.fxp import (ConcatOp, ConstantOp, ConvOp, MulOp, PadOp, PoolOp, ReshapeOp, ResizeOp, ScaleShiftOp, SubOp,
                                 TransposeOp)
from fxflow.errors import FxflowError
from fxflow.ir import defining_op, ir

from fxflow.lowering.linalg_to_fxp import (affine_maps, body_ops, constant_array, emit_constant, is_identity_map, owner_name,
                            raising_pattern)


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
def _i64s(attr) -> list[int]:
    """dense<..> : vector<Nxi64> or array<i64: ..> as a list."""
    if isinstance(attr, ir.DenseI64ArrayAttr):
        return list(attr)
    return [int(v) for v in np.asarray(ir.DenseIntElementsAttr(attr)).reshape(-1)]


def _arr(values) -> ir.DenseI64ArrayAttr:
    return ir.DenseI64ArrayAttr.get([int(v) for v in values])


def _i64(v: int) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(v))


def _shape(v) -> list[int]:
    return list(ir.RankedTensorType(v.type).shape)


def _f32_like(shape, like) -> ir.Type:
    return ir.RankedTensorType.get(list(shape), ir.RankedTensorType(like.type).element_type)


def _scalar_constant(v) -> float | None:
    if owner_name(v) == "arith.truncf":  # a double scalar (torch's mul.Scalar) used in f32: its f32 value
        inner = _scalar_constant(v.owner.operands[0])
        return None if inner is None else float(np.float32(inner))
    if owner_name(v) != "arith.constant":
        return None
    attr = v.owner.attributes["value"]
    return float(ir.FloatAttr(attr).value) if isinstance(attr, ir.FloatAttr) else None


def _pad_of(value, fill: float):
    """(source, low, high) when `value` is a tensor.pad yielding the scalar `fill`, else None."""
    owner = defining_op(value)
    if owner is None or owner.name != "tensor.pad":
        return None
    body = list(owner.regions[0].blocks[0].operations)
    if len(body) != 1 or _scalar_constant(body[0].operands[0]) != fill:
        return None
    low, high = _i64s(owner.attributes["static_low"]), _i64s(owner.attributes["static_high"])
    return owner.operands[0], low, high


def _bias_of(init) -> np.ndarray | None | bool:
    """The per-output-channel bias held by a conv's init tensor: broadcast(constant [F]) over dims
    (0, 2, ...) or fill(0) (no bias -> zeros).  None when it is neither."""
    owner = defining_op(init)
    if owner is None:
        return None
    folded = constant_array(init)  # a broadcast torch-mlir already folded into a constant
    if folded is not None and folded.ndim >= 2 and folded.shape[0] == 1:
        per_channel = folded.reshape(folded.shape[0], folded.shape[1], -1)[0, :, :1]
        if np.all(folded.reshape(folded.shape[1], -1) == per_channel):
            return per_channel[:, 0]
        return None
    if owner.name == "linalg.fill" and _scalar_constant(owner.operands[0]) == 0.0:
        return np.zeros(_shape(init)[1])
    if owner.name == "linalg.broadcast":
        dims = _i64s(owner.attributes["dimensions"])
        src = constant_array(owner.operands[0])
        rank = len(_shape(init))
        if src is not None and src.ndim == 1 and dims == [d for d in range(rank) if d != 1]:
            return src
    return None


# ------------------------------------------------------------------------------------------------
# Convolutions
# ------------------------------------------------------------------------------------------------
def _conv(rewriter, op, x, weight: np.ndarray, bias: np.ndarray, groups: int, result_shape) -> ir.Value:
    """fxp.conv from (maybe zero-padded) x; returns the result value (float, channels first)."""
    strides, dilations = _i64s(op.attributes["strides"]), _i64s(op.attributes["dilations"])
    n = len(strides)
    pad = _pad_of(x, 0.0)
    low, high = [0] * n, [0] * n
    if pad is not None and all(v == 0 for v in pad[1][:2] + pad[2][:2]):
        x, low, high = pad[0], pad[1][2:], pad[2][2:]
    et = ir.RankedTensorType(x.type).element_type
    with rewriter.ip, op.location:
        w = emit_constant(weight, et)
        b = emit_constant(bias, et)
        conv = ConvOp(x, w, b, ir.RankedTensorType.get(list(result_shape), et), _arr(strides), _arr(dilations),
                      _arr(low + high), _i64(groups))
    return conv.output


def conv_to_fxp(op, rewriter):
    x, w = op.inputs
    warr = constant_array(w)
    bias = _bias_of(op.outputs[0])
    if warr is None or bias is None:
        return True
    out = _conv(rewriter, op, x, warr, bias, 1, _shape(op.result))
    rewriter.replace_op(op, [out])


def depthwise_conv_to_fxp(op, rewriter):
    x, w = op.inputs
    warr = constant_array(w)  # [C, *K]
    bias = _bias_of(op.outputs[0])
    if warr is None or bias is None:
        return True
    out = _conv(rewriter, op, x, warr[:, None], bias, warr.shape[0], _shape(op.result))
    rewriter.replace_op(op, [out])


def grouped_conv_to_fxp(op, rewriter):
    """conv_2d_ngchw_gfchw over expand_shape'd operands: one fxp.conv on the original tensors, then the
    5-d result shape again through tensor.expand_shape (the consumer's collapse folds it away)."""
    xg, w = op.inputs
    warr = constant_array(w)  # [G, F/G, C/G, *K]
    x_owner, init_owner = defining_op(xg), defining_op(op.outputs[0])
    reshapes = ("tensor.expand_shape", "fxp.reshape")
    if warr is None or x_owner is None or x_owner.name not in reshapes:
        return True
    if init_owner is None or init_owner.name not in reshapes:
        return True
    bias = _bias_of(init_owner.operands[0])
    if bias is None:
        return True
    g, fg = warr.shape[0], warr.shape[1]
    res = _shape(op.result)  # [B, G, F/G, *O]
    flat = [res[0], g * fg, *res[3:]]
    x = x_owner.operands[0]
    xs = _shape(xg)  # [B, G, C/G, *S]
    x_flat = [xs[0], xs[1] * xs[2], *xs[3:]]
    if _shape(x) != x_flat:  # the expand_shape was folded with an earlier reshape
        with rewriter.ip, op.location:
            x = ReshapeOp(x, _f32_like(x_flat, x)).output
    out = _conv(rewriter, op, x, warr.reshape(g * fg, *warr.shape[2:]), bias, g, flat)
    with rewriter.ip, op.location:
        expanded = ReshapeOp(out, op.result.type).output
    rewriter.replace_op(op, [expanded])


# ------------------------------------------------------------------------------------------------
# Pooling
# ------------------------------------------------------------------------------------------------
def _window(op) -> list[int]:
    return _shape(op.inputs[1])


def max_pool_to_fxp(op, rewriter):
    if any(d != 1 for d in _i64s(op.attributes["dilations"])):
        return True
    x = op.inputs[0]
    n = len(_window(op))
    low, high = [0] * n, [0] * n
    pad = _pad_of(x, float("-inf"))
    if pad is not None and all(v == 0 for v in pad[1][:2] + pad[2][:2]):
        x, low, high = pad[0], pad[1][2:], pad[2][2:]
    with rewriter.ip, op.location:
        new = PoolOp(x, op.result.type, ir.StringAttr.get("max"), _arr(_window(op)),
                     _arr(_i64s(op.attributes["strides"])), _arr(low + high))
    rewriter.replace_op(op, [new.output])


def _divisor(generic) -> float | None:
    """The constant c of an elementwise `x / c` generic with one tensor input."""
    ops = body_ops(generic)
    if len(list(generic.inputs)) != 1 or len(ops) != 2 or ops[0].operation.name != "arith.divf":
        return None
    a, c = ops[0].operation.operands
    if a != generic.region.blocks[0].arguments[0] or not all(is_identity_map(m) for m in affine_maps(generic)):
        return None
    return _scalar_constant(c)


def avg_pool_to_fxp(op, rewriter):
    """divf(pooling_nchw_sum(x)) or divf(global sum reduction(x)) by the window size -> fxp.pool avg."""
    c = _divisor(op)
    src = op.inputs[0] if c is not None else None
    owner = defining_op(src) if src is not None else None
    if owner is None:
        return True
    if owner.name in ("linalg.pooling_nchw_sum", "linalg.pooling_ncw_sum"):
        if any(d != 1 for d in _i64s(owner.attributes["dilations"])):
            return True
        window = _shape(owner.operands[1])
        strides = _i64s(owner.attributes["strides"])
        x = owner.operands[0]
        init = defining_op(owner.operands[2])
        if init is None or init.name != "linalg.fill" or _scalar_constant(init.operands[0]) != 0.0:
            return True
    elif owner.name == "linalg.generic" and _is_global_sum(owner.opview):
        x = owner.operands[0]
        window = _shape(x)[2:]
        strides = [1] * len(window)
    else:
        return True
    if c != math.prod(window):
        return True
    n = len(window)
    low, high = [0] * n, [0] * n
    pad = _pad_of(x, 0.0)
    if pad is not None and all(v == 0 for v in pad[1][:2] + pad[2][:2]):
        x, low, high = pad[0], pad[1][2:], pad[2][2:]
    res_shape = [*_shape(x)[:2], *[1] * n] if owner.name == "linalg.generic" else _shape(op.result)
    et = ir.RankedTensorType(x.type).element_type
    with rewriter.ip, op.location:
        new = PoolOp(x, ir.RankedTensorType.get(res_shape, et), ir.StringAttr.get("avg"), _arr(window),
                     _arr(strides), _arr(low + high)).output
        if res_shape != _shape(op.result):
            new = ReshapeOp(new, op.result.type).output
    rewriter.replace_op(op, [new])


def _is_global_sum(generic) -> bool:
    """Sum over every spatial dim of a [B, C, *S] tensor into [B, C] or [B, C, 1, ..] (mean's numerator)."""
    its = [str(t) for t in generic.attributes["iterator_types"]]
    ops = body_ops(generic)
    if len(list(generic.inputs)) != 1 or len(ops) != 2 or ops[0].operation.name != "arith.addf":
        return False
    rank = len(_shape(generic.inputs[0]))
    if rank < 3 or its != ['#linalg.iterator_type<parallel>'] * 2 + ['#linalg.iterator_type<reduction>'] * (rank - 2):
        return False
    out = generic.outputs[0]
    init = defining_op(out)
    if init is None or init.name != "linalg.fill" or _scalar_constant(init.operands[0]) != 0.0:
        return False
    return _shape(out) in ([_shape(generic.inputs[0])[0], _shape(generic.inputs[0])[1]],
                           _shape(generic.inputs[0])[:2] + [1] * (rank - 2))


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
    # (the batch dim d0 may index a size-1 axis of the constant: ONNX broadcasts [1, C, 1] that way)
    used = [r for j, r in enumerate(rhs) if r and r != "0" and not (r == "d0" and arr.ndim == len(rhs)
                                                                     and arr.shape[j] == 1)]
    if arr.size == 1:
        return arr.reshape(1)
    if used == ["d1"] and rank >= 2 and arr.size == x_shape[1]:
        return arr.reshape(-1)
    return None


def _affine_of(generic):
    """(x, scale, shift) when the generic computes x (+-*/) c elementwise with c a constant per tensor or
    per channel, c either a second (broadcast) input or a scalar captured in the body."""
    ins = list(generic.inputs)
    ops = [o for o in body_ops(generic)  # the f32 rounding of a captured scalar (see _scalar_constant)
           if not (o.operation.name == "arith.truncf" and _scalar_constant(o.operation.operands[0]) is not None)]
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
        if str(a) == str(args[0]) and _scalar_constant(b) is not None:
            x_first, c = True, np.array([_scalar_constant(b)])
        elif str(b) == str(args[0]) and _scalar_constant(a) is not None:
            x_first, c = False, np.array([_scalar_constant(a)])
        else:
            return None
        x = ins[0]
    elif len(ins) == 2:
        xi = next((i for i in (0, 1) if constant_array(ins[i]) is None), None)
        if xi is None or constant_array(ins[1 - xi]) is None or not is_identity_map(affine_maps(generic)[xi]):
            return None
        x = ins[xi]
        c = _channel_param(generic, 1 - xi, _shape(x))
        if c is None or sorted([str(a), str(b)]) != sorted(str(v) for v in args[:2]):
            return None
        x_first = str(a) == str(args[xi])
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


def fuse_scale_shift(op, rewriter):
    """scale_shift(scale_shift(x)) -> one scale_shift;  scale_shift(dense | conv) -> new weights and bias
    when the layer's result has no other reader (BatchNorm folding)."""
    x = op.operands[0]
    s2, t2 = constant_array(op.operands[1]), constant_array(op.operands[2])
    inner = defining_op(x)
    if inner is None or s2 is None or t2 is None or len(list(x.uses)) != 1:
        return True
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
        if _shape(src)[:2] != _shape(x)[:2] or len(list(src.uses)) != 1 or defining_op(src) is None:
            return True
        reshape, inner = inner, defining_op(src)
    if inner.name not in ("fxp.dense", "fxp.conv"):
        return True
    w, b = constant_array(inner.operands[1]), constant_array(inner.operands[2])
    if w is None or b is None:
        return True
    n = b.size
    if s2.size not in (1, n) or t2.size not in (1, n):
        return True
    if len(_shape(x)) > 2 and inner.name == "fxp.dense" and max(s2.size, t2.size) > 1:
        return True  # per-channel constants run along dim 1, a Linear on tokens along the last axis
    s, t = _per_channel(s2, n), _per_channel(t2, n)
    if inner.name == "fxp.dense":  # weight [K, N]: output feature = column
        w_new = w * s[None, :]
    else:  # weight [F, C/g, *K]: output channel = dim 0
        w_new = w * s.reshape(-1, *([1] * (w.ndim - 1)))
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


def identity_scale_shift(op, rewriter):
    s, t = constant_array(op.operands[1]), constant_array(op.operands[2])
    if s is None or t is None or not (np.all(s == 1) and np.all(t == 0)):
        return True
    if str(op.operands[0].type) != str(op.result.type):
        return True
    rewriter.replace_op(op, [op.operands[0]])


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


# ------------------------------------------------------------------------------------------------
# Data movement
# ------------------------------------------------------------------------------------------------
def reshape_to_fxp(op, rewriter):
    src = op.operands[0]
    arr = constant_array(src)
    with rewriter.ip, op.location:
        if arr is not None:  # a parameter reshaped at compile time
            new = emit_constant(arr.reshape(_shape(op.result)), ir.RankedTensorType(src.type).element_type)
        else:
            new = ReshapeOp(src, op.result.type).output
    rewriter.replace_op(op, [new])


def fold_reshapes(op, rewriter):
    """reshape(reshape(x)) -> reshape(x); a reshape to the same shape -> x; of a constant -> a constant."""
    src = op.operands[0]
    inner = defining_op(src)
    arr = constant_array(src)
    if arr is not None:
        with rewriter.ip, op.location:
            new = emit_constant(arr.reshape(_shape(op.result)), ir.RankedTensorType(src.type).element_type)
        rewriter.replace_op(op, [new])
        return None
    if str(src.type) == str(op.result.type):
        rewriter.replace_op(op, [src])
        return None
    if inner is None or inner.name != "fxp.reshape":
        return True
    with rewriter.ip, op.location:
        new = ReshapeOp(inner.operands[0], op.result.type).output
    rewriter.replace_op(op, [new])


def transpose_to_fxp(op, rewriter):
    if constant_array(op.operation.operands[0]) is not None:
        return True  # fold_constant_transpose
    perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
    if perm[0] != 0:
        return True  # the batch dim stays first
    with rewriter.ip, op.location:
        new = TransposeOp(op.operation.operands[0], op.operation.results[0].type, _arr(perm))
    rewriter.replace_op(op, [new.output])


def concat_to_fxp(op, rewriter):
    ins = list(op.operation.operands)
    axis = ir.IntegerAttr(op.attributes["dim"]).value
    if axis == 0 or any(constant_array(v) is not None for v in ins):
        return True
    with rewriter.ip, op.location:
        acc = ins[0]
        for v in ins[1:]:
            shape = _shape(acc)
            shape[axis] += _shape(v)[axis]
            acc = ConcatOp(acc, v, _f32_like(shape, acc), _i64(axis)).output
    rewriter.replace_op(op, [acc])


def pad_to_fxp(op, rewriter):
    """A zero tensor.pad that no conv/pool absorbed (ZeroPad1d/2d), on the dims after batch and channel."""
    found = _pad_of(op.result, 0.0)
    if found is None:
        return True
    src, low, high = found
    if any(v != 0 for v in low[:2] + high[:2]) or any(v < 0 for v in low + high):
        return True
    if all(_owner_is_conv(u.owner) for u in op.result.uses):
        return True  # the conv pattern takes it
    with rewriter.ip, op.location:
        new = PadOp(src, op.result.type, _arr(low[2:] + high[2:]))
    rewriter.replace_op(op, [new.output])


def _owner_is_conv(user) -> bool:
    return user.name.startswith(("linalg.conv_", "linalg.depthwise_conv_", "linalg.pooling_", "tensor.expand_shape"))


def upsample_to_fxp(op, rewriter):
    """Nearest upsampling: an outs-only generic gathering x[b, c, o // s, ..] with integer scales s —
    checked by evaluating the body's index arithmetic on every output position."""
    if list(op.inputs):
        return True
    ops = body_ops(op)
    extracts = [o for o in ops if o.operation.name == "tensor.extract"]
    if len(extracts) != 1 or ops[-2].operation != extracts[0].operation:
        return True
    src = extracts[0].operation.operands[0]
    xs, ys = _shape(src), _shape(op.result)
    if len(xs) != len(ys) or len(xs) < 3 or xs[:2] != ys[:2] or any(y % x for x, y in zip(xs[2:], ys[2:])):
        return True
    scales = [y // x for x, y in zip(xs[2:], ys[2:])]
    try:
        idx = evaluate_indices(op, extracts[0].operation, ys)
    except FxflowError:
        return True
    grids = np.meshgrid(*[np.arange(n) for n in ys], indexing="ij")
    expect = [grids[0] * 0, grids[1]] + [grids[2 + d] // scales[d] for d in range(len(scales))]
    if any(not np.array_equal(np.broadcast_to(i, ys), e) for i, e in zip(idx, expect)):
        return True
    with rewriter.ip, op.location:
        new = ResizeOp(src, op.result.type, _arr(scales))
    rewriter.replace_op(op, [new.output])


# ------------------------------------------------------------------------------------------------
# Compile-time evaluation of generic bodies over constants / indices (fxflow.scalar_eval)
# ------------------------------------------------------------------------------------------------
def _yielded(generic):
    return list(generic.region.blocks[0].operations)[-1].operands


def evaluate_indices(generic, extract, out_shape) -> list[np.ndarray]:
    """The index operands of `extract` for every output position (linalg.index bound to index grids)."""
    from fxflow.scalar_eval import compile_scalar

    grids = np.meshgrid(*[np.arange(n) for n in out_shape], indexing="ij")
    index_ops = [o for o in generic.region.blocks[0].operations if o.operation.name == "linalg.index"]
    bound = [o.operation.results[0] for o in index_ops]
    values = [grids[ir.IntegerAttr(o.operation.attributes["dim"]).value] for o in index_ops]
    out = []
    for v in extract.operands[1:]:
        fn = compile_scalar(v, bound)
        out.append(np.asarray(fn(*values)).astype(np.int64))
    return out


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
    value = np.broadcast_to(np.asarray(out, dtype=np.float64), _shape(op.result))
    with rewriter.ip, op.location:
        new = emit_constant(value, ir.RankedTensorType(op.result.type).element_type)
    rewriter.replace_op(op, [new])


for _root, _fn, _benefit, _made in (
    ("linalg.conv_1d_ncw_fcw", conv_to_fxp, 2, (ConvOp,)),
    ("linalg.conv_2d_nchw_fchw", conv_to_fxp, 2, (ConvOp,)),
    ("linalg.depthwise_conv_2d_nchw_chw", depthwise_conv_to_fxp, 2, (ConvOp,)),
    ("linalg.conv_2d_ngchw_gfchw", grouped_conv_to_fxp, 2, (ConvOp, ReshapeOp)),
    ("linalg.pooling_nchw_max", max_pool_to_fxp, 2, (PoolOp,)),
    ("linalg.pooling_ncw_max", max_pool_to_fxp, 2, (PoolOp,)),  # ONNX 1-D pooling (PyTorch's goes through 2-D)
    ("linalg.generic", fold_constant_generic, 5, (ConstantOp,)),
    ("linalg.generic", avg_pool_to_fxp, 4, (PoolOp, ReshapeOp)),
    ("linalg.generic", affine_to_scale_shift, 1, (ScaleShiftOp,)),
    ("linalg.generic", binary_tensor_op, 1, (SubOp, MulOp, ReshapeOp)),
    ("linalg.generic", upsample_to_fxp, 1, (ResizeOp,)),
    ("fxp.scale_shift", fuse_scale_shift, 2, (ScaleShiftOp, ReshapeOp)),
    ("fxp.scale_shift", identity_scale_shift, 3, ()),
    ("fxp.reshape", fold_reshapes, 1, (ReshapeOp,)),
    ("tensor.expand_shape", reshape_to_fxp, 1, (ReshapeOp,)),
    ("tensor.collapse_shape", reshape_to_fxp, 1, (ReshapeOp,)),
    ("linalg.transpose", transpose_to_fxp, 1, (TransposeOp,)),
    ("tensor.concat", concat_to_fxp, 1, (ConcatOp,)),
    ("tensor.pad", pad_to_fxp, 1, (PadOp,)),
):
    raising_pattern(_root, _benefit, produces=_made)(_fn)
