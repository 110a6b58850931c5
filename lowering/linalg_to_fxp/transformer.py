"""convert-linalg-to-fxp, transformer family: products of two activations, LayerNorm / RMSNorm, attention.

What torch-mlir emits and what it becomes:
  dense(collapse_shape(x [1, T.., K]) [R, K]) [R, N]  (a Linear on tokens)        -> reshape(fxp.dense on x)
  batch_matmul(view of x, weights broadcast over the rows) [+ bias over the last axis] -> the same
  transposes / reshapes / slices whose middle moves the sample dim away from dim 0   -> fxp.gather (static indices)
  the packed in_proj read by q, k, v gathers                                          -> one fxp.dense per reader
  scale_shift(c)(moves(dense)), (q @ k^T) * c                                         -> c folded into the dense
  products / softmax / scale on [B*H, T, D] views (MultiheadAttention with weights)   -> on [1, B*H, T, D]
  x + constant of the sample's shape, where(constant mask, -inf, x), cat(constant, x) -> fxp.add_constant
  select(all(x == -inf), 0, softmax) (torch's fully-masked-row guard)                 -> softmax
  x (+ - *) y with y broadcast                                                        -> gather(y), fxp.add/sub/mul
  linalg.batch_matmul(a, b) outs fill(0), both operands computed (dim 0 = the sample)        -> fxp.matmul
  expand_shape(batch_matmul(collapse_shape(a), collapse_shape(b))) merging the sample dim with
      leading batch dims (4-D q @ k^T: [1, H, T, D] -> [H, T, D])                            -> fxp.matmul on a, b
  layer_norm: rsqrt(addf(divf(sum((x - mean)^2), n), eps)) (the variance in f64 after extf, truncf),
      then (x - sum(x) / n) * rsqrt [* gamma] [+ beta], all over the trailing dims            -> fxp.layernorm
  rms_norm:   rsqrt([addf(] divf(sum(x * x), n) [, eps)]) then x * rsqrt [* gamma]        -> fxp.layernorm rms
Transposes of activations (`k.transpose(-1, -2)`) stay fxp.transpose ops in front of the matmul.
The norm patterns run in the early stage, before the generic patterns split their chain into
scale_shift / pool ops.
"""

from __future__ import annotations

import math

import numpy as np

from fxflow.dialects.fxp import (AddConstantOp, AddOp, DenseOp, GatherOp, LayerNormOp, MatmulOp, MulOp, ReshapeOp,
                                 ScaleShiftOp, SoftmaxOp, SubOp, TransposeOp, i64_array)
from fxflow.dialects.fxp.traits import PER_SAMPLE_MOVES
from fxflow.errors import UnsupportedOpError
from fxflow.ir import defining_op, elements_array, ir, layer_name

from fxflow.lowering.linalg_to_fxp import body_ops, constant_array, emit_constant, is_zero_scalar, owner_name, raising_pattern



def _shape(v) -> list[int]:
    return list(ir.RankedTensorType(v.type).shape)


# ------------------------------------------------------------------------------------------------
# Matmul of two activations
# ------------------------------------------------------------------------------------------------
_RESHAPES = ("tensor.collapse_shape", "tensor.expand_shape", "fxp.reshape")


def _merged_source(v, rank: int):
    """The rank-`rank` source of a reshape that merges the sample dim with the leading batch dims, else None."""
    owner = defining_op(v)
    if owner is None or owner.name not in _RESHAPES:
        return None
    src = owner.operands[0]
    s, t = _shape(src), _shape(v)
    if len(s) != rank or s[0] != 1 or math.prod(s[:-2]) != t[0] or s[-2:] != t[-2:]:
        return None
    return src


def _lifted(op, rewriter, build, inputs):
    """op on rows that are views of one sample (dim 0 != 1) -> the same op on [1, *shape] tensors between
    reshapes, which then fold into the views' sample-leading sources; only for operands that are such views."""
    if any(_sample_view_of(v) is None for v in inputs):
        return True  # dim 0 mixes samples (x.T @ x on the batch): left for the unsupported-op report
    out = op.results[0]
    with rewriter.ip, op.location:
        ins = [ReshapeOp(v, ir.RankedTensorType.get([1] + _shape(v), ir.RankedTensorType(v.type).element_type))
               .output for v in inputs]
        y = build(ins, ir.RankedTensorType.get([1] + _shape(out), ir.RankedTensorType(out.type).element_type))
        new = ReshapeOp(y, out.type).output
    rewriter.replace_op(op, [new])


def _sample_view_of(v):
    """The sample-leading tensor v is a reshape of (through reshapes and lifted ops), else None."""
    owner = defining_op(v)
    while owner is not None and owner.name in _RESHAPES + ("fxp.scale_shift", "fxp.softmax"):
        v = owner.operands[0]
        if _shape(v)[0] == 1:
            return v
        owner = defining_op(v)
    return None


@raising_pattern("fxp.softmax", 2, produces=(SoftmaxOp, ReshapeOp))
def lift_softmax(op, rewriter):
    """softmax over the last axis of a [B*H, T, S] view -> over the last axis of [1, B*H, T, S]."""
    from fxflow.dialects.fxp import SoftmaxOp

    x = op.operands[0]
    axis = ir.IntegerAttr(op.attributes["axis"]).value
    if _shape(x)[0] == 1 or axis != len(_shape(x)) - 1:
        return True
    i64 = ir.IntegerType.get_signless(64)
    return _lifted(op, rewriter, lambda ins, ty: SoftmaxOp(ins[0], ty, ir.IntegerAttr.get(i64, axis + 1),
                                                           op.attributes["implementation"]).output, [x])


@raising_pattern("fxp.scale_shift", 2, produces=(ScaleShiftOp, ReshapeOp))
def lift_scale(op, rewriter):
    """A per-tensor scale_shift of a [B*H, T, D] view (the q scaling) -> on the [1, B*H, T, D] view."""
    from fxflow.dialects.fxp import ScaleShiftOp

    x = op.operands[0]
    s, t = constant_array(op.operands[1]), constant_array(op.operands[2])
    if _shape(x)[0] == 1 or s is None or t is None or s.size != 1 or t.size != 1:
        return True
    return _lifted(op, rewriter, lambda ins, ty: ScaleShiftOp(ins[0], op.operands[1], op.operands[2], ty).output,
                   [x])


def _broadcast_weight_to_dense(op, rewriter, a, w: np.ndarray):
    """batch_matmul(reshape(x [1, .., K]) [R, M, K], W broadcast to [R, K, N]) -> reshape(dense(x)): how
    torch-mlir applies a Linear to a non-contiguous token view (e.g. a slice)."""
    if not np.all(w == w[:1]):
        return True
    src = _sample_view(a)
    if src is None:
        return True
    n = w.shape[-1]
    et = ir.RankedTensorType(a.type).element_type
    with rewriter.ip, op.location:
        ty = ir.RankedTensorType.get(_shape(src)[:-1] + [n], et)
        dense = DenseOp(src, emit_constant(w[0], et), emit_constant(np.zeros(n), et), ty).output
        new = ReshapeOp(dense, op.result.type).output
    rewriter.replace_op(op, [new])


def _sample_view(v):
    """x [1, ..., K] when v is a reshape of it with the same last dim (rows regrouped), else None."""
    owner = defining_op(v)
    if owner is None or owner.name not in _RESHAPES:
        return None
    src = owner.operands[0]
    s = _shape(src)
    return src if len(s) >= 2 and s[0] == 1 and s[-1] == _shape(v)[-1] else None


@raising_pattern("linalg.generic", 3, produces=(DenseOp, ReshapeOp))
def bias_into_reshaped_dense(op, rewriter):
    """reshape(dense(x))[.., n] + bias[n] -> reshape(dense(x) with the bias): the bias add of a Linear on a
    token view that torch-mlir left in the regrouped rows."""
    if [o.operation.name for o in body_ops(op)] != ["arith.addf", "linalg.yield"] or len(list(op.inputs)) != 2:
        return True
    v, bias = op.inputs
    maps = [str(ir.AffineMapAttr(m).value) for m in op.indexing_maps]
    rank = len(_shape(op.result))
    barr = constant_array(bias)
    if barr is None or barr.ndim != 1 or not maps[1].endswith(f"-> (d{rank - 1})") or len(list(v.uses)) != 1:
        return True
    if maps[0] != maps[2] or not maps[0].endswith("(" + ", ".join(f"d{j}" for j in range(rank)) + ")"):
        return True
    src = _sample_view(v)
    dense = defining_op(src) if src is not None else None
    if dense is None or dense.name != "fxp.dense" or len(list(src.uses)) != 1:
        return True
    old_b = constant_array(dense.operands[2])
    if old_b is None:
        return True
    et = ir.RankedTensorType(src.type).element_type
    with rewriter.ip, dense.location:
        new = DenseOp(dense.operands[0], dense.operands[1], emit_constant(old_b + barr, et), src.type).output
        new = ReshapeOp(new, op.result.type).output
    rewriter.replace_op(op, [new])


@raising_pattern("linalg.batch_matmul", 2, produces=(MatmulOp, DenseOp, ReshapeOp))
def batch_matmul_to_fxp(op, rewriter):
    a, b = op.inputs
    init = op.outputs[0]
    if owner_name(init) != "linalg.fill" or not is_zero_scalar(init.owner.operands[0]):
        return True
    w = constant_array(b)
    if w is not None and constant_array(a) is None:
        return _broadcast_weight_to_dense(op, rewriter, a, w)
    if constant_array(a) is not None or w is not None:
        return True
    out = op.result
    uses = list(out.uses)
    if len(uses) == 1 and uses[0].owner.name in _RESHAPES:
        split = uses[0].owner
        rank = len(_shape(split.results[0]))
        sa, sb = _merged_source(a, rank), _merged_source(b, rank)
        if sa is not None and sb is not None and _shape(split.results[0])[0] == 1:
            with rewriter.ip, op.location:
                new = MatmulOp(sa, sb, split.results[0].type)
            rewriter.replace_op(split, [new.output])
            rewriter.erase_op(op)
            return None
    if constant_array(a) is not None or constant_array(b) is not None:
        return True
    if _shape(a)[0] != 1:  # [B*H, M, K] views of [1, B*H, ...] sample tensors (MultiheadAttention with weights)
        return _lifted(op, rewriter, lambda ins, ty: MatmulOp(ins[0], ins[1], ty).output, [a, b])
    with rewriter.ip, op.location:
        new = MatmulOp(a, b, out.type)
    rewriter.replace_op(op, [new.output])


# ------------------------------------------------------------------------------------------------
# Linear on tokens
# ------------------------------------------------------------------------------------------------
@raising_pattern("fxp.dense", 2, produces=(DenseOp, ReshapeOp))
def dense_per_token(op, rewriter):
    """dense(reshape(x [1, ..., K]) [R, K]) [R, N] -> reshape(dense(x) [1, ..., N]) [R, N]: torch-mlir applies
    a Linear to tokens on the rows of a 2-D view that merges the sample dim with the token dims; the rows
    become the leading dims of the input again, and the reshape back folds into the readers' reshapes (or
    feeds the next Linear on the same rows, which is lifted the same way)."""
    x = op.operands[0]
    xs = _shape(x)
    rows = xs[0]
    owner = defining_op(x)
    if len(xs) != 2 or rows == 1 or owner is None or owner.name not in _RESHAPES:
        return True
    src = owner.operands[0]
    s = _shape(src)
    if s[0] != 1 or math.prod(s) != math.prod(xs):
        return True
    n = _shape(op.results[0])[1]
    et = ir.RankedTensorType(x.type).element_type
    with rewriter.ip, op.location:
        if len(s) < 3 or s[-1] != xs[1]:  # a head merge ([1, T, H, D] viewed as [T, H*D]): rows of K first
            s = [1, rows, xs[1]]
            src = ReshapeOp(src, ir.RankedTensorType.get(s, et)).output
        ty = ir.RankedTensorType.get(s[:-1] + [n], et)
        new = ReshapeOp(DenseOp(src, op.operands[1], op.operands[2], ty).output, op.results[0].type).output
    rewriter.replace_op(op, [new])


# ------------------------------------------------------------------------------------------------
# The fully-masked-row guard of torch's softmax in attention
# ------------------------------------------------------------------------------------------------
def _is_minus_inf_test(v) -> bool:
    """v = (x == -inf) elementwise, possibly reduced with `and` over a dim."""
    red = _generic(v, ("arith.andi",), 1)
    if red is not None:
        v = red.inputs[0]
    g = _generic(v, ("arith.extf", "arith.cmpf"), 1) or _generic(v, ("arith.cmpf",), 1)
    if g is None:
        return False
    cmp = body_ops(g)[-2].operation
    return ir.IntegerAttr(cmp.attributes["predicate"]).value == 1 and _scalar(cmp.operands[1]) == -math.inf


@raising_pattern("linalg.generic", 4)
def drop_masked_row_guard(op, rewriter):
    """select(all(scores == -inf), 0, softmax) -> softmax: fixed-point scores are finite (a mask's -inf
    becomes a finite value, and a constant mask with a fully masked row is rejected), so the guard torch's
    MultiheadAttention puts behind its softmax never fires."""
    if [o.operation.name for o in body_ops(op)] != ["arith.select", "linalg.yield"] or len(list(op.inputs)) != 3:
        return True
    cond, _, value = op.inputs
    if not _is_minus_inf_test(cond) or str(value.type) != str(op.result.type):
        return True
    rewriter.replace_op(op, [value])


# ------------------------------------------------------------------------------------------------
# Constant attention masks
# ------------------------------------------------------------------------------------------------
def _broadcast_input(g, i: int, arr: np.ndarray):
    """Input i of generic g (values arr) broadcast to g's iteration space, with the dims it reads, or None."""
    amap = ir.AffineMapAttr(list(g.indexing_maps)[i]).value
    space = [int(n) for n in ir.RankedTensorType(g.outputs[0].type).shape]
    if [str(e) for e in ir.AffineMapAttr(list(g.indexing_maps)[-1]).value.results] != [f"d{j}" for j in
                                                                                      range(len(space))]:
        return None
    view, used = [1] * len(space), []
    for j, e in enumerate(str(e) for e in amap.results):
        if e.startswith("d") and e[1:].isdigit():
            pos = int(e[1:])
            if used and pos <= used[-1]:
                return None  # a transposing read
            used.append(pos)
            view[pos] = arr.shape[j]
        elif not (e == "0" and arr.shape[j] == 1):
            return None
    return np.broadcast_to(arr.reshape(view), space), used


def _constant_input(v) -> np.ndarray | None:
    """A constant tensor's values, booleans included (a mask)."""
    owner = defining_op(v)
    if owner is None or owner.name not in ("arith.constant", "fxp.constant"):
        return None
    attr = owner.attributes["value"]
    return elements_array(attr, _shape(v)) if isinstance(attr, ir.DenseElementsAttr) else None


@raising_pattern("linalg.generic", 5)
@raising_pattern("linalg.generic", 5, early=True)
def fold_broadcast_constants(op, rewriter):
    """A float generic over constants only, read through broadcasts (a boolean mask turned into 0 / -inf by
    masked_fill; weights broadcast over the rows of a batch_matmul): evaluated now (the identity-map case is
    layer_patterns' fold_constant_generic).  Early, before the activation tables could take a mask's select;
    again in the main stage, for constants that other patterns fold first (transposed weights)."""
    ins = list(op.inputs)
    if not ins or len(list(op.results)) != 1:
        return True
    et = ir.RankedTensorType(op.result.type).element_type
    if not isinstance(et, ir.FloatType):
        return True
    arrays = [_constant_input(v) for v in ins]
    if any(a is None for a in arrays):
        return True
    full = [_broadcast_input(op, i, a) for i, a in enumerate(arrays)]
    if any(f is None for f in full):
        return True
    from fxflow.errors import FxflowError
    from fxflow.scalar_eval import compile_scalar

    block = op.region.blocks[0]
    try:
        out = compile_scalar(list(block.operations)[-1].operands[0], list(block.arguments)[:len(ins)])(
            *[f[0].astype(np.float64) for f in full])
    except FxflowError:
        return True
    with rewriter.ip, op.location:
        new = emit_constant(np.broadcast_to(np.asarray(out, dtype=np.float64), _shape(op.result)), et)
    rewriter.replace_op(op, [new])


@raising_pattern("linalg.generic", 2, produces=(AddConstantOp,))
def constant_add(op, rewriter):
    """scores + mask, the mask a constant varying over more than the channel dim (per tensor / per channel
    constants are fxp.scale_shift) -> fxp.add_constant: finite entries added exactly, -inf entries masked."""
    if [o.operation.name for o in body_ops(op)] != ["arith.addf", "linalg.yield"] or len(list(op.inputs)) != 2:
        return True
    ins = list(op.inputs)
    ci = next((i for i in (0, 1) if _constant_input(ins[i]) is not None), None)
    if ci is None or _constant_input(ins[1 - ci]) is not None:
        return True
    x = ins[1 - ci]
    if [str(e) for e in ir.AffineMapAttr(list(op.indexing_maps)[1 - ci]).value.results] != \
            [f"d{j}" for j in range(len(_shape(x)))] or _shape(x) != _shape(op.result) or _shape(x)[0] != 1:
        return True
    found = _broadcast_input(op, ci, _constant_input(ins[ci]))
    if found is None or set(found[1]) <= {1}:
        return True
    full = np.array(found[0], dtype=np.float64)
    if np.isnan(full).any() or np.isposinf(full).any():
        raise UnsupportedOpError(f"attention mask in module '{layer_name(op.location)}' holds NaN or +inf; "
                                 "constant masks take finite values and -inf", layer=layer_name(op.location))
    masked = np.isneginf(full)
    if masked.reshape(-1, full.shape[-1]).all(axis=1).any():
        raise UnsupportedOpError(f"attention mask in module '{layer_name(op.location)}' masks every key of a row "
                                 "(its softmax is undefined)", layer=layer_name(op.location))
    full[masked] = 0.0
    et = ir.RankedTensorType(x.type).element_type
    with rewriter.ip, op.location:
        flags = ir.DenseI64ArrayAttr.get([int(m) for m in masked.reshape(-1)])
        new = AddConstantOp(x, emit_constant(full, et), op.result.type, flags)
    rewriter.replace_op(op, [new.output])


@raising_pattern("tensor.concat", 2, produces=(AddConstantOp, GatherOp))
def concat_constant(op, rewriter):
    """cat([constant, x], dim) (a class token before the patch tokens) -> add_constant(gather(x)): the gather
    places x and leaves zeros (index -1) where the constant goes, the exact add puts the constant there."""
    ins = list(op.operands)
    axis = ir.IntegerAttr(op.attributes["dim"]).value
    consts = [constant_array(v) for v in ins]
    live = [v for v, c in zip(ins, consts) if c is None]
    out = _shape(op.result)
    if axis == 0 or len(live) != 1 or len(ins) < 2 or _shape(live[0])[0] != 1 or out[0] != 1:
        return True
    x = live[0]
    idx_parts, val_parts = [], []
    for v, c in zip(ins, consts):
        if c is None:
            idx_parts.append(np.arange(math.prod(_shape(v))).reshape(_shape(v)))
            val_parts.append(np.zeros(_shape(v)))
        else:
            idx_parts.append(np.full(c.shape, -1))
            val_parts.append(c)
    idx = np.concatenate(idx_parts, axis=axis).reshape(-1)
    et = ir.RankedTensorType(x.type).element_type
    with rewriter.ip, op.location:
        placed = GatherOp(x, _tensor_like(out, x), ir.DenseI64ArrayAttr.get([int(i) for i in idx])).output
        flags = ir.DenseI64ArrayAttr.get([0] * len(idx))
        new = AddConstantOp(placed, emit_constant(np.concatenate(val_parts, axis=axis), et), op.result.type, flags)
    rewriter.replace_op(op, [new.output])


@raising_pattern("linalg.generic", 2, produces=(AddConstantOp,))
def masked_fill_to_add_constant(op, rewriter):
    """where(constant mask, -inf, scores) (masked_fill of a constant boolean mask) -> fxp.add_constant with
    those elements masked and a zero bias."""
    if [o.operation.name for o in body_ops(op)] != ["arith.select", "linalg.yield"] or len(list(op.inputs)) != 3:
        return True
    cond, a, b = op.inputs
    c, fa, fb = _constant_input(cond), _constant_input(a), _constant_input(b)
    if c is None or (fa is None) == (fb is None):
        return True
    x, fill, pick_fill = (b, fa, True) if fa is not None else (a, fb, False)
    out = _shape(op.result)
    if _shape(x) != out or out[0] != 1:
        return True
    fc, ff = _broadcast_input(op, 0, c), _broadcast_input(op, 1 if pick_fill else 2, fill)
    if fc is None or ff is None:
        return True
    where = layer_name(op.location) or "<unknown module>"
    if not np.all(np.isneginf(ff[0])):
        raise UnsupportedOpError(f"module '{where}': masked_fill with the finite value {float(ff[0].flat[0])} is "
                                 "not supported; fill masked scores with float('-inf')", layer=where)
    masked = (fc[0] != 0) if pick_fill else (fc[0] == 0)
    if masked.reshape(-1, out[-1]).all(axis=1).any():
        raise UnsupportedOpError(f"attention mask in module '{where}' masks every key of a row (its softmax is "
                                 "undefined)", layer=where)
    et = ir.RankedTensorType(x.type).element_type
    with rewriter.ip, op.location:
        flags = ir.DenseI64ArrayAttr.get([int(m) for m in masked.reshape(-1)])
        new = AddConstantOp(x, emit_constant(np.zeros(out), et), op.result.type, flags)
    rewriter.replace_op(op, [new.output])


def _tensor_like(shape, like) -> ir.Type:
    return ir.RankedTensorType.get(list(shape), ir.RankedTensorType(like.type).element_type)


_BINARY = {"arith.addf": AddOp, "arith.subf": SubOp, "arith.mulf": MulOp}


@raising_pattern("linalg.generic", 2, produces=(GatherOp,))
def broadcast_binary(op, rewriter):
    """x (+ - *) y of two activations, one read through a broadcast (a gate [1, T, 1] on [1, T, E]) -> an
    fxp.gather repeating its elements to the full shape, then the elementwise fxp.add / sub / mul."""
    ins, ops = list(op.inputs), body_ops(op)
    if len(ins) != 2 or len(ops) != 2 or ops[0].operation.name not in _BINARY:
        return True
    if any(_constant_input(v) is not None for v in ins) or _shape(op.result)[0] != 1:
        return True
    args = list(op.region.blocks[0].arguments)
    operands = list(ops[0].operation.operands)
    if sorted(map(str, operands)) != sorted(map(str, args[:2])):
        return True
    out = _shape(op.result)
    full = []
    for i, v in enumerate(ins):
        s = _shape(v)
        if len(s) != len(out) or s[0] != 1:  # both sample tensors of the result's rank
            return True
        found = _broadcast_input(op, i, np.arange(math.prod(s)).reshape(s))
        if found is None:
            return True
        full.append(found[0].reshape(-1))
    if all(np.array_equal(f, np.arange(f.size)) and _shape(v) == out for f, v in zip(full, ins)):
        return True  # no broadcast: layer_patterns' binary_tensor_op / generic_to_add
    et = ir.RankedTensorType(op.result.type).element_type
    with rewriter.ip, op.location:
        vals = [v if _shape(v) == out and np.array_equal(f, np.arange(f.size)) else
                GatherOp(v, ir.RankedTensorType.get(out, et), ir.DenseI64ArrayAttr.get([int(j) for j in f])).output
                for v, f in zip(ins, full)]
        lhs, rhs = (vals[0], vals[1]) if str(operands[0]) == str(args[0]) else (vals[1], vals[0])
        new = _BINARY[ops[0].operation.name](lhs, rhs, op.result.type)
    rewriter.replace_op(op, [new.output])


@raising_pattern("linalg.generic", 1)
def reject_dynamic_mask(op, rewriter):
    """select(b, -inf, x) with b computed from the model's inputs: a key_padding_mask or a boolean attn_mask
    passed at call time; fxflow takes masks as constants only (a clear error instead of an unsupported generic)."""
    where = layer_name(op.location) or "<unknown module>"
    if [o.operation.name for o in body_ops(op)] != ["arith.select", "linalg.yield"] or len(list(op.inputs)) != 3:
        return True
    cond, fill = op.inputs[0], op.inputs[1]
    et = ir.RankedTensorType(cond.type).element_type
    if str(et) != "i1" or _constant_input(cond) is not None:
        return True
    f = _constant_input(fill)
    if f is None or not np.all(np.isneginf(f)):
        return True
    raise UnsupportedOpError(f"module '{where}': an attention mask computed from the model's inputs "
                             "(key_padding_mask, or an attn_mask tensor passed at call time) is not supported; "
                             "masks must be constants (a registered buffer or a literal)", layer=where)


# ------------------------------------------------------------------------------------------------
# Data movement that moves the sample dim (MultiheadAttention's [tokens, batch, features] views)
# ------------------------------------------------------------------------------------------------
_MOVES = _RESHAPES + ("linalg.transpose", "fxp.transpose", "tensor.extract_slice", "fxp.gather")


def _moved(op, arr: np.ndarray) -> np.ndarray | None:
    """arr (an index array of the op's input shape) moved as the op moves data, None if not static."""
    out = _shape(op.results[0])
    name = op.name
    if name in _RESHAPES:
        return arr.reshape(out)
    if name in ("linalg.transpose", "fxp.transpose"):
        return arr.transpose(list(ir.DenseI64ArrayAttr(op.attributes["permutation"])))
    if name == "fxp.gather":  # a zero slot (-1) moves no source element: it stays -1
        idx = np.asarray(i64_array(op, "indices"))
        flat = arr.reshape(arr.shape[0], -1)[:, np.maximum(idx, 0)]
        return np.where(idx < 0, -1, flat).reshape(out)
    if len(op.operands) != 1:  # extract_slice with dynamic offsets, sizes or strides
        return None
    o, n, st = (list(ir.DenseI64ArrayAttr(op.attributes[k])) for k in ("static_offsets", "static_sizes",
                                                                      "static_strides"))
    if min(o + n + st) < 0:
        return None
    return arr[tuple(slice(a, a + b * c, c) for a, b, c in zip(o, n, st))].reshape(out)


def _move_source(op):
    """(source, ops): the nearest value with a leading dim of 1 (a sample view) behind op, through moves."""
    chain, v = [op], op.operands[0]
    while _shape(v)[0] != 1:
        owner = defining_op(v)
        if owner is None or owner.name not in _MOVES:
            return None, []
        chain.insert(0, owner)
        v = owner.operands[0]
    return v, chain


@raising_pattern("linalg.transpose", 4, produces=(GatherOp, ReshapeOp))
@raising_pattern("tensor.extract_slice", 4, produces=(GatherOp, ReshapeOp))
def moves_to_gather(op, rewriter):
    """transpose (moving dim 0) / slice chains between two sample views -> one fxp.gather of static indices.

    Walks back to the nearest view with a leading 1 (with batch 1 that is the sample) and forward through
    single-use moves to the next one; when the chain ends on another view (a matmul's 2-D rows) the gather
    writes [1, *that shape] and a reshape restores it.  Identity indices become a plain reshape."""
    values = constant_array(op.operands[0])
    if values is not None:
        if op.name != "tensor.extract_slice" or _moved(op, values) is None:
            return True  # constant transposes: linalg_to_fxp.fold_constant_transpose
        with rewriter.ip, op.location:  # a slice of a parameter (cross-attention's q / kv in_proj rows)
            new = emit_constant(_moved(op, values), ir.RankedTensorType(op.results[0].type).element_type)
        rewriter.replace_op(op, [new])
        return None
    if op.name == "linalg.transpose" and list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))[0] == 0:
        return True  # a transpose keeping the sample first: fxp.transpose (layer_patterns)
    src, chain = _move_source(op)
    if src is None:
        return True
    last = op
    while _shape(last.results[0])[0] != 1:
        uses = list(last.results[0].uses)
        if len(uses) != 1 or uses[0].owner.name not in _MOVES:
            break
        last = uses[0].owner
        chain.append(last)
    arr = np.arange(math.prod(_shape(src))).reshape(_shape(src))
    for o in chain:
        arr = _moved(o, arr)
        if arr is None:
            return True
    out = _shape(last.results[0])
    view = out if out[0] == 1 else [1] + out
    idx = arr.reshape(-1)
    et = ir.RankedTensorType(src.type).element_type
    with rewriter.ip, last.location:
        ty = ir.RankedTensorType.get(view, et)
        if np.array_equal(idx, np.arange(math.prod(_shape(src)))):
            new = ReshapeOp(src, ty).output
        else:
            new = GatherOp(src, ty, ir.DenseI64ArrayAttr.get([int(i) for i in idx])).output
        if view != out:
            new = ReshapeOp(new, last.results[0].type).output
    rewriter.replace_op(last, [new])


@raising_pattern("fxp.gather", 4, produces=(GatherOp,))
def compose_gathers(op, rewriter):
    """gather(gather | reshape (x)) -> one gather of x (a reshape keeps every sample's flat order)."""
    inner = defining_op(op.operands[0])
    if inner is None or inner.name not in ("fxp.gather", "fxp.reshape") or _shape(inner.operands[0])[0] != 1:
        return True
    idx = np.asarray(i64_array(op, "indices"))
    if inner.name == "fxp.gather":  # -1 (a zero slot) stays -1; it must not index the inner gather's last entry
        idx = np.where(idx < 0, -1, np.asarray(i64_array(inner, "indices"))[np.maximum(idx, 0)])
    with rewriter.ip, op.location:
        new = GatherOp(inner.operands[0], op.results[0].type, ir.DenseI64ArrayAttr.get([int(i) for i in idx]))
    rewriter.replace_op(op, [new.output])


@raising_pattern("fxp.dense", 3, produces=(DenseOp, GatherOp, ReshapeOp))
def split_dense_by_readers(op, rewriter):
    """A Linear on tokens read only through gathers of disjoint column sets (MultiheadAttention's packed
    q, k, v in_proj) -> one dense per reader over its columns, so each can fold its own scale."""
    y = op.results[0]
    out = _shape(y)
    readers = [u.owner for u in y.uses]
    if len(out) < 3 or len(readers) < 2 or any(r.name != "fxp.gather" for r in readers):
        return True
    if defining_op(op.operands[0]) is None:
        return True  # a graph input read by several layers cannot stream (io_stream): keep one packed dense
    w, b = constant_array(op.operands[1]), constant_array(op.operands[2])
    n = out[-1]
    idx = [np.asarray(i64_array(r, "indices")) for r in readers]
    if any((i < 0).any() for i in idx):  # a reader with zero slots is not a plain column selection
        return True
    cols = [np.unique(i % n) for i in idx]
    if w is None or b is None or sum(len(c) for c in cols) != len(np.unique(np.concatenate(cols))):
        return True
    et = ir.RankedTensorType(y.type).element_type
    for r, i, c in zip(readers, idx, cols):
        pos = np.full(n, -1)
        pos[c] = np.arange(len(c))
        with rewriter.ip, op.location:
            ty = ir.RankedTensorType.get(out[:-1] + [len(c)], et)
            dense = DenseOp(op.operands[0], emit_constant(w[:, c], et), emit_constant(b[c], et), ty).output
        with rewriter.ip, r.location:
            new_idx = (i // n) * len(c) + pos[i % n]
            rt = r.results[0].type
            if np.array_equal(new_idx, np.arange(math.prod(_shape(dense)))):
                new = ReshapeOp(dense, rt).output
            else:
                new = GatherOp(dense, rt, ir.DenseI64ArrayAttr.get([int(v) for v in new_idx])).output
        rewriter.replace_op(r, [new])
    rewriter.erase_op(op)


@raising_pattern("fxp.scale_shift", 3, produces=(MatmulOp, ScaleShiftOp))
def scale_of_product_onto_lhs(op, rewriter):
    """(q @ k^T) * c -> (q * c) @ k^T for a per-tensor c (scores / sqrt(d)): the scale then folds into q's
    projection (scale_into_dense_through_moves).  The same real product, so the same exact fxp.matmul."""
    from fxflow.dialects.fxp import ScaleShiftOp

    s, t = constant_array(op.operands[1]), constant_array(op.operands[2])
    mm = defining_op(op.operands[0])
    if s is None or t is None or s.size != 1 or t.size != 1 or t.item() != 0 or mm is None \
            or mm.name != "fxp.matmul" or len(list(mm.results[0].uses)) != 1:
        return True
    lhs = mm.operands[0]
    with rewriter.ip, op.location:
        scaled = ScaleShiftOp(lhs, op.operands[1], op.operands[2], lhs.type).output
    with rewriter.ip, mm.location:
        new = MatmulOp(scaled, mm.operands[1], op.result.type).output
    rewriter.replace_op(op, [new])
    rewriter.erase_op(mm)


@raising_pattern("fxp.scale_shift", 3, produces=(DenseOp, GatherOp, ReshapeOp, TransposeOp))
def scale_into_dense_through_moves(op, rewriter):
    """scale_shift(c per tensor)(moves(dense)) -> moves(dense with w*s, b*s + t): the attention scale
    1/sqrt(d) (torch multiplies q and k by d^-1/4 after the head split) folded into the projection."""
    s, t = constant_array(op.operands[1]), constant_array(op.operands[2])
    if s is None or t is None or s.size != 1 or t.size != 1:
        return True
    chain, v = [], op.operands[0]
    while True:
        owner = defining_op(v)
        if owner is None or len(list(v.uses)) != 1:
            return True
        if owner.name == "fxp.dense":
            break
        if owner.name not in PER_SAMPLE_MOVES:
            return True
        chain.insert(0, owner)
        v = owner.operands[0]
    if not chain:
        return True  # scale_shift(dense) directly: fuse_scale_shift folds it
    w, b = constant_array(owner.operands[1]), constant_array(owner.operands[2])
    if w is None or b is None:
        return True
    et = ir.RankedTensorType(v.type).element_type
    with rewriter.ip, owner.location:
        cur = DenseOp(owner.operands[0], emit_constant(w * s.item(), et), emit_constant(b * s.item() + t.item(), et),
                      v.type).output
    for m in chain:
        ty = m.results[0].type
        with rewriter.ip, m.location:
            if m.name == "fxp.reshape":
                cur = ReshapeOp(cur, ty).output
            elif m.name == "fxp.transpose":
                cur = TransposeOp(cur, ty, m.attributes["permutation"]).output
            else:
                cur = GatherOp(cur, ty, m.attributes["indices"]).output
    rewriter.replace_op(op, [cur])
    for m in reversed(chain):
        rewriter.erase_op(m)
    rewriter.erase_op(owner)


# ------------------------------------------------------------------------------------------------
# LayerNorm / RMSNorm
# ------------------------------------------------------------------------------------------------
def _view(op):
    return op.opview if isinstance(op, ir.Operation) else op


def _generic(v, names: tuple[str, ...], n_inputs: int):
    """The linalg.generic defining v when its body computes exactly `names` (then linalg.yield)."""
    owner = defining_op(v)
    if owner is None or owner.name != "linalg.generic":
        return None
    owner = _view(owner)
    if len(list(owner.inputs)) != n_inputs:
        return None
    body = [o.operation.name for o in body_ops(owner)]
    return owner if body == list(names) + ["linalg.yield"] else None


def _strip_casts(v):
    """Look through extf / truncf elementwise casts (torch-mlir computes the variance in f64)."""
    while True:
        g = _generic(v, ("arith.extf",), 1) or _generic(v, ("arith.truncf",), 1)
        if g is None:
            return v
        v = g.inputs[0]


def _scalar(v) -> float | None:
    owner = defining_op(v)
    if owner is None or owner.name != "arith.constant" or not isinstance(owner.attributes["value"], ir.FloatAttr):
        return None
    return float(ir.FloatAttr(owner.attributes["value"]).value)


def _body_scalar(g) -> float | None:
    """The scalar constant operand of a generic's single arith op (possibly behind a truncf)."""
    ops = body_ops(g)
    arith = [o for o in ops if o.operation.name in ("arith.addf", "arith.divf", "arith.mulf")][0].operation
    for operand in arith.operands:
        c = _scalar(operand)
        if c is None:
            inner = defining_op(operand)
            if inner is not None and inner.name == "arith.truncf":
                c = _scalar(inner.operands[0])
        if c is not None:
            return c
    return None


def _mean_of(v, n: int):
    """x when v = sum(x over the trailing dims) / n, else None."""
    div = _generic(v, ("arith.divf",), 1)
    if div is None or _body_scalar(div) != float(n):
        return None
    red = _generic(div.inputs[0], ("arith.addf",), 1)
    if red is None or "reduction" not in str(red.attributes["iterator_types"]):
        return None
    return red.inputs[0]


def _sub_mean(v, n: int):
    """x when v = x - sum(x) / n (broadcast), else None."""
    g = _generic(v, ("arith.subf",), 2)
    if g is None:
        return None
    x, m = g.inputs
    xm = _mean_of(m, n)
    return x if xm is not None and _strip_casts(xm) == _strip_casts(x) else None


def _only_user(v):
    uses = list(v.uses)
    return _view(uses[0].owner) if len(uses) == 1 else None


def _trailing_constant(g, shape_tail: list[int], body: str):
    """(values, op) when g computes `body`(previous, constant over the normalized dims), else None."""
    if g is None or g.name != "linalg.generic" or len(list(g.inputs)) != 2:
        return None
    if [o.operation.name for o in body_ops(g)] != [body, "linalg.yield"]:
        return None
    c = constant_array(g.inputs[1])
    if c is None or list(c.shape) != shape_tail:
        return None
    return c, g


@raising_pattern("linalg.generic", 5, early=True, produces=(LayerNormOp,))
def norm_to_layernorm(op, rewriter):
    if [o.operation.name for o in body_ops(op)] != ["math.rsqrt", "linalg.yield"]:
        return True
    u = op.inputs[0]
    eps = 0.0
    add = _generic(u, ("arith.addf",), 1) or _generic(u, ("arith.truncf", "arith.addf"), 1)
    if add is not None:
        eps = _body_scalar(add)
        if eps is None:
            return True
        u = add.inputs[0]
    u = _strip_casts(u)
    rsq_shape = _shape(op.result)
    div = _generic(u, ("arith.divf",), 1)
    n = _body_scalar(div) if div is not None else None
    if n is None or n != int(n) or n < 1:
        return True
    n = int(n)
    sq = _mean_of(u, n)
    if sq is None:
        return True
    mul = _generic(sq, ("arith.mulf",), 2)
    if mul is None or mul.inputs[0] != mul.inputs[1]:
        return True
    a = _strip_casts(mul.inputs[0])
    centred = _sub_mean(a, n)
    rms = centred is None
    x = a if rms else _strip_casts(centred)
    xs = _shape(x)
    for dims in range(1, len(xs)):
        if math.prod(xs[-dims:]) == n and rsq_shape == xs[:-dims] + [1] * dims:
            break
    else:
        return True
    # consumers: (x | x - mean) * rsqrt, then optional * gamma, + beta
    scaled = None
    for use in op.result.uses:
        g = _view(use.owner)
        if g.name != "linalg.generic" or [o.operation.name for o in body_ops(g)] != ["arith.mulf", "linalg.yield"]:
            continue
        other = [v for v in g.inputs if v != op.result]
        if len(other) != 1:
            continue
        src = other[0]
        if (rms and _strip_casts(src) == x) or (not rms and _sub_mean(src, n) is not None
                                                  and _strip_casts(_sub_mean(src, n)) == x):
            scaled = g
    if scaled is None:
        return True
    tail = xs[-dims:]
    last = scaled
    gamma, beta = np.ones(tail), np.zeros(tail)
    found = _trailing_constant(_only_user(last.result), tail, "arith.mulf")
    if found is not None:
        gamma, last = found
    found = _trailing_constant(_only_user(last.result), tail, "arith.addf")
    if found is not None:
        beta, last = found
    et = ir.RankedTensorType(x.type).element_type
    with rewriter.ip, last.location:
        g_c, b_c = emit_constant(gamma, et), emit_constant(beta, et)
        i64 = ir.IntegerType.get_signless(64)
        new = LayerNormOp(x, g_c, b_c, last.result.type, ir.IntegerAttr.get(i64, dims),
                          ir.FloatAttr.get(ir.F64Type.get(), eps), ir.IntegerAttr.get(i64, int(rms)))
    rewriter.replace_op(last, [new.output])
