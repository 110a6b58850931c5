"""convert-linalg-to-fxp, layer family: dense layers, convolutions and pooling.

What torch-mlir emits and what it becomes:
  linalg.matmul(x, constant W, fill(0)) [+ generic{add, bias broadcast}]                     -> fxp.dense(x, W, b)
  tensor.pad(0) -> linalg.conv_{1d_ncw_fcw,2d_nchw_fchw}(x, W) outs broadcast(b) | fill(0)  -> fxp.conv
  linalg.depthwise_conv_2d_nchw_chw                                                          -> fxp.conv (groups = C)
  expand_shape -> linalg.conv_2d_ngchw_gfchw -> (collapse_shape)                             -> fxp.conv (groups = G)
  tensor.pad(-inf) -> linalg.pooling_{nchw,ncw}_max                                          -> fxp.pool max
  linalg.pooling_{nchw,ncw}_sum | reduction generic (global), then divf by the window size   -> fxp.pool avg
  sum generic over any non-batch dims, then divf by their size (x.mean(dim))  -> (transpose, reshape) fxp.pool avg
  dense(collapse_shape(x [1, T.., K]) [R, K]) [R, N]  (a Linear on tokens)                   -> reshape(fxp.dense on x)
  the packed in_proj read by q, k, v gathers                                                 -> one fxp.dense per reader
  scale_shift(c)(moves(dense))                                                               -> c folded into the dense
"""

from __future__ import annotations

import math

import numpy as np

from fxflow.dialects.fxp import ConstantOp, ConvOp, DenseOp, GatherOp, i64_array, PoolOp, ReshapeOp, TransposeOp
from fxflow.dialects.fxp.traits import PER_SAMPLE_MOVES
from fxflow.ir import defining_op, ir

from fxflow.lowering.linalg_to_fxp import raising_pattern
from .common import (adds_its_two_inputs, affine_maps, body_ops, constant_array, emit_constant, i64_array_attr,
                     i64_attr, i64_list, is_identity_map, is_zero_scalar, owner_name, pad_of, RESHAPES, scalar_constant,
                     shape_of, tensor_like)


@raising_pattern("linalg.matmul", 2, produces=(DenseOp, ConstantOp))
def matmul_to_dense(op, rewriter):
    x, w = op.inputs
    init = op.outputs[0]
    warr = constant_array(w)
    if warr is None or owner_name(init) != "linalg.fill" or not is_zero_scalar(init.owner.operands[0]):
        return True
    if len(ir.RankedTensorType(x.type).shape) != 2:
        return True
    et = ir.RankedTensorType(x.type).element_type
    with rewriter.ip, op.location:
        wc = emit_constant(warr, et)
        bias = emit_constant(np.zeros(warr.shape[1]), et)
        dense = DenseOp(x, wc, bias, op.result.type)
    rewriter.replace_op(op, [dense.output])


@raising_pattern("linalg.generic", 3, produces=(DenseOp,))
def bias_add_into_dense(op, rewriter):
    ins = list(op.inputs)
    if not adds_its_two_inputs(op):
        return True
    maps = affine_maps(op)
    if not (is_identity_map(maps[0]) and maps[1].endswith("-> (d1)") and is_identity_map(maps[2])):
        return True
    acc, bias = ins
    barr = constant_array(bias)
    if barr is None or owner_name(acc) != "fxp.dense":
        return True
    dense = acc.owner
    old_bias = constant_array(dense.operands[2])
    if old_bias is None or len(list(acc.uses)) != 1:
        return True
    et = ir.RankedTensorType(acc.type).element_type
    # The layer is named after its matmul (PyTorch: the same module; ONNX: the MatMul node, not the Add).
    with rewriter.ip, dense.location:
        new_bias = emit_constant(old_bias + barr, et)
        new = DenseOp(dense.operands[0], dense.operands[1], new_bias, op.result.type)
    rewriter.replace_op(op, [new.output])
    rewriter.erase_op(dense)


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
    if owner.name == "linalg.fill" and scalar_constant(owner.operands[0]) == 0.0:
        return np.zeros(shape_of(init)[1])
    if owner.name == "linalg.broadcast":
        dims = i64_list(owner.attributes["dimensions"])
        src = constant_array(owner.operands[0])
        rank = len(shape_of(init))
        if src is not None and src.ndim == 1 and dims == [d for d in range(rank) if d != 1]:
            return src
    return None


# ------------------------------------------------------------------------------------------------
# Convolutions
# ------------------------------------------------------------------------------------------------
def _conv(rewriter, op, x, weight: np.ndarray, bias: np.ndarray, groups: int, result_shape) -> ir.Value:
    """fxp.conv from (maybe zero-padded) x; returns the result value (float, channels first)."""
    strides, dilations = i64_list(op.attributes["strides"]), i64_list(op.attributes["dilations"])
    n = len(strides)
    pad = pad_of(x, 0.0)
    low, high = [0] * n, [0] * n
    if pad is not None and all(v == 0 for v in pad[1][:2] + pad[2][:2]):
        x, low, high = pad[0], pad[1][2:], pad[2][2:]
    et = ir.RankedTensorType(x.type).element_type
    with rewriter.ip, op.location:
        w = emit_constant(weight, et)
        b = emit_constant(bias, et)
        conv = ConvOp(x, w, b, ir.RankedTensorType.get(list(result_shape), et), i64_array_attr(strides),
                      i64_array_attr(dilations), i64_array_attr(low + high), i64_attr(groups))
    return conv.output


@raising_pattern("linalg.conv_1d_ncw_fcw", 2, produces=(ConvOp,))
@raising_pattern("linalg.conv_2d_nchw_fchw", 2, produces=(ConvOp,))
def conv_to_fxp(op, rewriter):
    x, w = op.inputs
    warr = constant_array(w)
    bias = _bias_of(op.outputs[0])
    if warr is None or bias is None:
        return True
    out = _conv(rewriter, op, x, warr, bias, 1, shape_of(op.result))
    rewriter.replace_op(op, [out])


@raising_pattern("linalg.depthwise_conv_2d_nchw_chw", 2, produces=(ConvOp,))
def depthwise_conv_to_fxp(op, rewriter):
    x, w = op.inputs
    warr = constant_array(w)  # [C, *K]
    bias = _bias_of(op.outputs[0])
    if warr is None or bias is None:
        return True
    out = _conv(rewriter, op, x, warr[:, None], bias, warr.shape[0], shape_of(op.result))
    rewriter.replace_op(op, [out])


@raising_pattern("linalg.conv_2d_ngchw_gfchw", 2, produces=(ConvOp, ReshapeOp))
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
    res = shape_of(op.result)  # [B, G, F/G, *O]
    flat = [res[0], g * fg, *res[3:]]
    x = x_owner.operands[0]
    xs = shape_of(xg)  # [B, G, C/G, *S]
    x_flat = [xs[0], xs[1] * xs[2], *xs[3:]]
    if shape_of(x) != x_flat:  # the expand_shape was folded with an earlier reshape
        with rewriter.ip, op.location:
            x = ReshapeOp(x, tensor_like(x_flat, x)).output
    out = _conv(rewriter, op, x, warr.reshape(g * fg, *warr.shape[2:]), bias, g, flat)
    with rewriter.ip, op.location:
        expanded = ReshapeOp(out, op.result.type).output
    rewriter.replace_op(op, [expanded])


# ------------------------------------------------------------------------------------------------
# Pooling
# ------------------------------------------------------------------------------------------------
def _window(op) -> list[int]:
    return shape_of(op.inputs[1])


@raising_pattern("linalg.pooling_nchw_max", 2, produces=(PoolOp,))
@raising_pattern("linalg.pooling_ncw_max", 2, produces=(PoolOp,))
def max_pool_to_fxp(op, rewriter):
    if any(d != 1 for d in i64_list(op.attributes["dilations"])):
        return True
    x = op.inputs[0]
    n = len(_window(op))
    low, high = [0] * n, [0] * n
    pad = pad_of(x, float("-inf"))
    if pad is not None and all(v == 0 for v in pad[1][:2] + pad[2][:2]):
        x, low, high = pad[0], pad[1][2:], pad[2][2:]
    with rewriter.ip, op.location:
        new = PoolOp(x, op.result.type, ir.StringAttr.get("max"), i64_array_attr(_window(op)),
                     i64_array_attr(i64_list(op.attributes["strides"])), i64_array_attr(low + high))
    rewriter.replace_op(op, [new.output])


def _divisor(generic) -> float | None:
    """The constant c of an elementwise `x / c` generic with one tensor input."""
    ops = body_ops(generic)
    if len(list(generic.inputs)) != 1 or len(ops) != 2 or ops[0].operation.name != "arith.divf":
        return None
    a, c = ops[0].operation.operands
    if a != generic.region.blocks[0].arguments[0] or not all(is_identity_map(m) for m in affine_maps(generic)):
        return None
    return scalar_constant(c)


@raising_pattern("linalg.generic", 4, produces=(PoolOp, ReshapeOp, TransposeOp))
def avg_pool_to_fxp(op, rewriter):
    """divf(pooling_nchw_sum(x)) or divf(global sum reduction(x)) by the window size -> fxp.pool avg."""
    c = _divisor(op)
    src = op.inputs[0] if c is not None else None
    owner = defining_op(src) if src is not None else None
    if owner is None:
        return True
    if owner.name in ("linalg.pooling_nchw_sum", "linalg.pooling_ncw_sum"):
        if any(d != 1 for d in i64_list(owner.attributes["dilations"])):
            return True
        window = shape_of(owner.operands[1])
        strides = i64_list(owner.attributes["strides"])
        x = owner.operands[0]
        init = defining_op(owner.operands[2])
        if init is None or init.name != "linalg.fill" or scalar_constant(init.operands[0]) != 0.0:
            return True
    elif owner.name == "linalg.generic" and _is_global_sum(owner.opview):
        x = owner.operands[0]
        window = shape_of(x)[2:]
        strides = [1] * len(window)
    elif owner.name == "linalg.generic" and (dims := _summed_dims(owner.opview)) is not None:
        if c != math.prod(shape_of(owner.operands[0])[d] for d in dims):
            return True
        _mean_over_dims(op, rewriter, owner.operands[0], dims)
        return None
    else:
        return True
    if c != math.prod(window):
        return True
    n = len(window)
    low, high = [0] * n, [0] * n
    pad = pad_of(x, 0.0)
    if pad is not None and all(v == 0 for v in pad[1][:2] + pad[2][:2]):
        x, low, high = pad[0], pad[1][2:], pad[2][2:]
    res_shape = [*shape_of(x)[:2], *[1] * n] if owner.name == "linalg.generic" else shape_of(op.result)
    et = ir.RankedTensorType(x.type).element_type
    with rewriter.ip, op.location:
        new = PoolOp(x, ir.RankedTensorType.get(res_shape, et), ir.StringAttr.get("avg"), i64_array_attr(window),
                     i64_array_attr(strides), i64_array_attr(low + high)).output
        if res_shape != shape_of(op.result):
            new = ReshapeOp(new, op.result.type).output
    rewriter.replace_op(op, [new])


def _is_global_sum(generic) -> bool:
    """Sum over every spatial dim of a [B, C, *S] tensor into [B, C] or [B, C, 1, ..] (mean's numerator)."""
    its = [str(t) for t in generic.attributes["iterator_types"]]
    ops = body_ops(generic)
    if len(list(generic.inputs)) != 1 or len(ops) != 2 or ops[0].operation.name != "arith.addf":
        return False
    rank = len(shape_of(generic.inputs[0]))
    if rank < 3 or its != ['#linalg.iterator_type<parallel>'] * 2 + ['#linalg.iterator_type<reduction>'] * (rank - 2):
        return False
    out = generic.outputs[0]
    init = defining_op(out)
    if init is None or init.name != "linalg.fill" or scalar_constant(init.operands[0]) != 0.0:
        return False
    return shape_of(out) in ([shape_of(generic.inputs[0])[0], shape_of(generic.inputs[0])[1]],
                           shape_of(generic.inputs[0])[:2] + [1] * (rank - 2))


def _summed_dims(generic) -> list[int] | None:
    """The dims a sum generic over x [B, ...] reduces (mean's numerator over any non-batch dims, keepdim or
    not), or None.  The global spatial sum (`_is_global_sum`) is matched before this one."""
    its = [str(t) for t in generic.attributes["iterator_types"]]
    ops = body_ops(generic)
    if len(list(generic.inputs)) != 1 or len(ops) != 2 or ops[0].operation.name != "arith.addf":
        return None
    args = list(generic.region.blocks[0].arguments)
    if {str(v) for v in ops[0].operation.operands} != {str(args[0]), str(args[1])}:
        return None
    xs = shape_of(generic.inputs[0])
    dims = [d for d, t in enumerate(its) if "reduction" in t]
    if len(its) != len(xs) or not dims or 0 in dims or not is_identity_map(affine_maps(generic)[0]):
        return None
    init = defining_op(generic.outputs[0])
    if init is None or init.name != "linalg.fill" or scalar_constant(init.operands[0]) != 0.0:
        return None
    kept = [n for d, n in enumerate(xs) if d not in dims]
    if [n for n in shape_of(generic.outputs[0]) if n != 1] != [n for n in kept if n != 1]:
        return None
    return dims


def _mean_over_dims(op, rewriter, x, dims: list[int]) -> None:
    """mean of x [B, ...] over `dims` as an average pool: the summed dims moved last (fxp.transpose) and
    merged into one window over [B, M, R] (fxp.reshape), then reshaped to the mean's shape — the same
    exact fixed-point mean as AvgPool's in every executor."""
    xs = shape_of(x)
    kept = [d for d in range(len(xs)) if d not in dims]
    perm = kept + dims
    et = ir.RankedTensorType(x.type).element_type
    r = math.prod(xs[d] for d in dims)
    m = math.prod(xs[d] for d in kept[1:])
    with rewriter.ip, op.location:
        v = x
        if perm != list(range(len(xs))):
            v = TransposeOp(v, ir.RankedTensorType.get([xs[d] for d in perm], et), i64_array_attr(perm)).output
        v = ReshapeOp(v, ir.RankedTensorType.get([xs[0], m, r], et)).output
        v = PoolOp(v, ir.RankedTensorType.get([xs[0], m, 1], et), ir.StringAttr.get("avg"), i64_array_attr([r]),
                   i64_array_attr([1]), i64_array_attr([0, 0])).output
        if shape_of(op.result) != [xs[0], m, 1]:
            v = ReshapeOp(v, op.result.type).output
    rewriter.replace_op(op, [v])


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
    xs = shape_of(x)
    rows = xs[0]
    owner = defining_op(x)
    if len(xs) != 2 or rows == 1 or owner is None or owner.name not in RESHAPES:
        return True
    src = owner.operands[0]
    s = shape_of(src)
    if s[0] != 1 or math.prod(s) != math.prod(xs):
        return True
    n = shape_of(op.results[0])[1]
    et = ir.RankedTensorType(x.type).element_type
    with rewriter.ip, op.location:
        if len(s) < 3 or s[-1] != xs[1]:  # a head merge ([1, T, H, D] viewed as [T, H*D]): rows of K first
            s = [1, rows, xs[1]]
            src = ReshapeOp(src, ir.RankedTensorType.get(s, et)).output
        ty = ir.RankedTensorType.get(s[:-1] + [n], et)
        new = ReshapeOp(DenseOp(src, op.operands[1], op.operands[2], ty).output, op.results[0].type).output
    rewriter.replace_op(op, [new])


@raising_pattern("fxp.dense", 3, produces=(DenseOp, GatherOp, ReshapeOp))
def split_dense_by_readers(op, rewriter):
    """A Linear on tokens read only through gathers of disjoint column sets (MultiheadAttention's packed
    q, k, v in_proj) -> one dense per reader over its columns, so each can fold its own scale."""
    y = op.results[0]
    out = shape_of(y)
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
            if np.array_equal(new_idx, np.arange(math.prod(shape_of(dense)))):
                new = ReshapeOp(dense, rt).output
            else:
                new = GatherOp(dense, rt, ir.DenseI64ArrayAttr.get([int(v) for v in new_idx])).output
        rewriter.replace_op(r, [new])
    rewriter.erase_op(op)


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
