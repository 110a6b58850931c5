"""convert-linalg-to-fxp, shape family: data movement.

What torch-mlir emits and what it becomes:
  tensor.expand_shape / collapse_shape, linalg.transpose, tensor.concat, tensor.pad(0) -> fxp.reshape / transpose /
                                                                                          concat / pad
  generic{tensor.extract at floor(index / s)} (nearest Upsample, integer s)           -> fxp.resize
  generic{tensor.extract at constant positions} (Upsample at any scale, flip, index)    -> fxp.gather
  transposes / reshapes / slices whose middle moves the sample dim away from dim 0     -> fxp.gather (static indices)
  x (+ - *) y with y broadcast                                                         -> gather(y), fxp.add/sub/mul
  reshape(dense(x)) + bias over the last axis                                          -> reshape(dense with bias)
"""

from __future__ import annotations

import math

import numpy as np

from fxflow.dialects.fxp import (AddOp, ConcatOp, DenseOp, GatherOp, i64_array, MulOp, PadOp, ReshapeOp, ResizeOp,
                                 SubOp, TransposeOp)
from fxflow.errors import FxflowError
from fxflow.ir import defining_op, ir

from fxflow.lowering.linalg_to_fxp import raising_pattern
from .common import (body_ops, broadcast_input, constant_array, constant_input, emit_constant, i64_array_attr, i64_attr,
                     pad_of, RESHAPES, sample_view, shape_of, tensor_like)


# ------------------------------------------------------------------------------------------------
# Data movement
# ------------------------------------------------------------------------------------------------
@raising_pattern("tensor.expand_shape", 1, produces=(ReshapeOp,))
@raising_pattern("tensor.collapse_shape", 1, produces=(ReshapeOp,))
def reshape_to_fxp(op, rewriter):
    src = op.operands[0]
    arr = constant_array(src)
    with rewriter.ip, op.location:
        if arr is not None:  # a parameter reshaped at compile time
            new = emit_constant(arr.reshape(shape_of(op.result)), ir.RankedTensorType(src.type).element_type)
        else:
            new = ReshapeOp(src, op.result.type).output
    rewriter.replace_op(op, [new])


@raising_pattern("fxp.reshape", 1, produces=(ReshapeOp,))
def fold_reshapes(op, rewriter):
    """reshape(reshape(x)) -> reshape(x); a reshape to the same shape -> x; of a constant -> a constant."""
    src = op.operands[0]
    inner = defining_op(src)
    arr = constant_array(src)
    if arr is not None:
        with rewriter.ip, op.location:
            new = emit_constant(arr.reshape(shape_of(op.result)), ir.RankedTensorType(src.type).element_type)
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


@raising_pattern("linalg.transpose", 1, produces=(TransposeOp,))
def transpose_to_fxp(op, rewriter):
    if constant_array(op.operation.operands[0]) is not None:
        return True  # fold_constant_transpose
    perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
    if perm[0] != 0:
        return True  # the batch dim stays first
    with rewriter.ip, op.location:
        new = TransposeOp(op.operation.operands[0], op.operation.results[0].type, i64_array_attr(perm))
    rewriter.replace_op(op, [new.output])


@raising_pattern("tensor.concat", 1, produces=(ConcatOp,))
def concat_to_fxp(op, rewriter):
    ins = list(op.operation.operands)
    axis = ir.IntegerAttr(op.attributes["dim"]).value
    if axis == 0 or any(constant_array(v) is not None for v in ins):
        return True
    with rewriter.ip, op.location:
        acc = ins[0]
        for v in ins[1:]:
            shape = shape_of(acc)
            shape[axis] += shape_of(v)[axis]
            acc = ConcatOp(acc, v, tensor_like(shape, acc), i64_attr(axis)).output
    rewriter.replace_op(op, [acc])


@raising_pattern("tensor.pad", 1, produces=(PadOp,))
def pad_to_fxp(op, rewriter):
    """A zero tensor.pad that no conv/pool absorbed (ZeroPad1d/2d), on the dims after batch and channel."""
    found = pad_of(op.result, 0.0)
    if found is None:
        return True
    src, low, high = found
    if any(v != 0 for v in low[:2] + high[:2]) or any(v < 0 for v in low + high):
        return True
    if all(_owner_is_conv(u.owner) for u in op.result.uses):
        return True  # the conv pattern takes it
    with rewriter.ip, op.location:
        new = PadOp(src, op.result.type, i64_array_attr(low[2:] + high[2:]))
    rewriter.replace_op(op, [new.output])


def _owner_is_conv(user) -> bool:
    return user.name.startswith(("linalg.conv_", "linalg.depthwise_conv_", "linalg.pooling_", "tensor.expand_shape"))


@raising_pattern("linalg.generic", 1, early=True, produces=(ResizeOp, GatherOp))
def index_gather_to_fxp(op, rewriter):
    """A generic that only reads x at positions computed from its indices and constant index tensors
    (nearest Upsample at any scale, 1-D or 2-D; torch.flip; aten.index.Tensor with constant indices): the
    positions are evaluated now for every output element (in torch's float32 index arithmetic), giving
    fxp.resize for integer nearest upsampling and fxp.gather with static indices otherwise.  Early, so the
    index tensors are still the generics torch-mlir made (not yet raised to fxp ops)."""
    ops = body_ops(op)
    extracts = [o for o in ops if o.operation.name == "tensor.extract"]
    if len(extracts) != 1 or ops[-2].operation != extracts[0].operation or len(list(op.results)) != 1:
        return True
    src = extracts[0].operation.operands[0]
    xs, ys = shape_of(src), shape_of(op.result)
    if constant_array(src) is not None or not xs or xs[0] != 1 or not ys or ys[0] != 1:
        return True
    try:
        idx = evaluate_indices(op, extracts[0].operation, ys)
    except (FxflowError, _NotConstant):
        return True
    if len(idx) != len(xs) or np.any(idx[0] != 0) or any(np.any((i < 0) | (i >= n)) for i, n in zip(idx, xs)):
        return True
    flat = np.ravel_multi_index(tuple(idx[1:]), xs[1:]).reshape(-1) if len(xs) > 1 else np.zeros(math.prod(ys), int)
    scales = _nearest_scales(xs, ys, idx)
    with rewriter.ip, op.location:
        if scales is not None:
            new = ResizeOp(src, op.result.type, i64_array_attr(scales)).output
        else:
            new = GatherOp(src, op.result.type, i64_array_attr(flat)).output
    rewriter.replace_op(op, [new])


def _nearest_scales(xs, ys, idx) -> list[int] | None:
    """The integer scales when the positions read are x[b, c, o // s, ..] (fxp.resize), else None."""
    if len(xs) != len(ys) or len(xs) < 3 or xs[:2] != ys[:2] or any(y % x for x, y in zip(xs[2:], ys[2:])):
        return None
    scales = [y // x for x, y in zip(xs[2:], ys[2:])]
    grids = np.meshgrid(*[np.arange(n) for n in ys], indexing="ij")
    expect = [grids[0] * 0, grids[1]] + [grids[2 + d] // scales[d] for d in range(len(scales))]
    return scales if all(np.array_equal(i, e) for i, e in zip(idx, expect)) else None


class _NotConstant(Exception):
    """An index operand depends on something other than the iteration indices and constants."""


def evaluate_indices(generic, extract, out_shape) -> list[np.ndarray]:
    """The index operands of `extract` for every output position (linalg.index bound to index grids, the
    inputs the body reads bound to their compile-time values), each broadcast to `out_shape`."""
    from fxflow.scalar_eval import compile_scalar

    bound, values = _bindings(generic, out_shape)
    out = []
    for v in extract.operands[1:]:
        fn = compile_scalar(v, bound, native_floats=True)
        out.append(np.broadcast_to(np.asarray(fn(*values)), out_shape).astype(np.int64))
    return out


def _bindings(generic, shape) -> tuple[list, list]:
    """(values, arrays): linalg.index results bound to index grids and the block arguments of the inputs
    the body reads bound to their compile-time values broadcast over the iteration space."""
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    block = generic.region.blocks[0]
    bound, values = [], []
    for o in block.operations:
        if o.operation.name == "linalg.index":
            bound.append(o.operation.results[0])
            values.append(grids[ir.IntegerAttr(o.operation.attributes["dim"]).value])
    for i, v in enumerate(generic.inputs):
        arg = block.arguments[i]
        if not any(True for _ in arg.uses):
            continue  # an input the body never reads (torch.flip passes x itself)
        seen = broadcast_input(generic, i, _compile_time_value(v))
        if seen is None:
            raise _NotConstant()
        bound.append(arg)
        values.append(np.asarray(seen[0], dtype=np.float64))
    return bound, values


def _compile_time_value(v) -> np.ndarray:
    """The values of a tensor computed from constants only: constants, their reshapes, and generics over
    them (torch-mlir's arange and index arithmetic of aten.index.Tensor), in float32 index arithmetic."""
    from fxflow.scalar_eval import compile_scalar

    arr = constant_input(v)
    if arr is not None:
        return np.asarray(arr, dtype=np.float64)
    owner = defining_op(v)
    if owner is None:
        raise _NotConstant()
    if owner.name in ("tensor.expand_shape", "tensor.collapse_shape"):
        return _compile_time_value(owner.operands[0]).reshape(shape_of(v))
    if owner.name != "linalg.generic" or len(owner.results) != 1:
        raise _NotConstant()
    g = owner.opview
    bound, values = _bindings(g, shape_of(g.outputs[0]))
    if any(True for _ in g.region.blocks[0].arguments[len(list(g.inputs))].uses):
        raise _NotConstant()  # reads its output (a reduction)
    fn = compile_scalar(_yield_of(g), bound, native_floats=True)
    return np.broadcast_to(np.asarray(fn(*values), dtype=np.float64), shape_of(v)).copy()


def _yield_of(generic):
    return list(generic.region.blocks[0].operations)[-1].operands[0]


# ------------------------------------------------------------------------------------------------
# Ops behind the reshapes of a token view (here, not in layers.py: after the activation tables in FAMILIES order)
# ------------------------------------------------------------------------------------------------
@raising_pattern("linalg.generic", 3, produces=(DenseOp, ReshapeOp))
def bias_into_reshaped_dense(op, rewriter):
    """[reshape](dense(x))[.., n] + bias[n] -> [reshape](dense(x) with the bias): the bias add of a Linear on
    a token view that torch-mlir left in the regrouped rows, or of an ONNX MatMul + Add on tokens (either
    operand order: onnxruntime's QDQ graphs add the bias first)."""
    if [o.operation.name for o in body_ops(op)] != ["arith.addf", "linalg.yield"] or len(list(op.inputs)) != 2:
        return True
    maps = [str(ir.AffineMapAttr(m).value) for m in op.indexing_maps]
    bi = 0 if constant_array(op.inputs[0]) is not None else 1
    v, bias, vmap, bmap = op.inputs[1 - bi], op.inputs[bi], maps[1 - bi], maps[bi]
    rank = len(shape_of(op.result))
    barr = constant_array(bias)
    if barr is None or barr.ndim != 1 or not bmap.endswith(f"-> (d{rank - 1})") or len(list(v.uses)) != 1:
        return True
    if vmap != maps[2] or not vmap.endswith("(" + ", ".join(f"d{j}" for j in range(rank)) + ")"):
        return True
    src = v if (d := defining_op(v)) is not None and d.name == "fxp.dense" else sample_view(v)
    dense = defining_op(src) if src is not None else None
    if dense is None or dense.name != "fxp.dense" or len(list(src.uses)) != 1:
        return True
    old_b = constant_array(dense.operands[2])
    if old_b is None:
        return True
    et = ir.RankedTensorType(src.type).element_type
    with rewriter.ip, dense.location:
        new = DenseOp(dense.operands[0], dense.operands[1], emit_constant(old_b + barr, et), src.type).output
        if src is not v:
            new = ReshapeOp(new, op.result.type).output
    rewriter.replace_op(op, [new])


_BINARY = {"arith.addf": AddOp, "arith.subf": SubOp, "arith.mulf": MulOp}


@raising_pattern("linalg.generic", 2, produces=(GatherOp,))
def broadcast_binary(op, rewriter):
    """x (+ - *) y of two activations, one read through a broadcast (a gate [1, T, 1] on [1, T, E]) -> an
    fxp.gather repeating its elements to the full shape, then the elementwise fxp.add / sub / mul."""
    ins, ops = list(op.inputs), body_ops(op)
    if len(ins) != 2 or len(ops) != 2 or ops[0].operation.name not in _BINARY:
        return True
    if any(constant_input(v) is not None for v in ins) or shape_of(op.result)[0] != 1:
        return True
    args = list(op.region.blocks[0].arguments)
    operands = list(ops[0].operation.operands)
    if sorted(map(str, operands)) != sorted(map(str, args[:2])):
        return True
    out = shape_of(op.result)
    full = []
    for i, v in enumerate(ins):
        s = shape_of(v)
        if len(s) != len(out) or s[0] != 1:  # both sample tensors of the result's rank
            return True
        found = broadcast_input(op, i, np.arange(math.prod(s)).reshape(s))
        if found is None:
            return True
        full.append(found[0].reshape(-1))
    if all(np.array_equal(f, np.arange(f.size)) and shape_of(v) == out for f, v in zip(full, ins)):
        return True  # no broadcast: elementwise.binary_tensor_op / generic_to_add
    et = ir.RankedTensorType(op.result.type).element_type
    with rewriter.ip, op.location:
        vals = [v if shape_of(v) == out and np.array_equal(f, np.arange(f.size)) else
                GatherOp(v, ir.RankedTensorType.get(out, et), ir.DenseI64ArrayAttr.get([int(j) for j in f])).output
                for v, f in zip(ins, full)]
        lhs, rhs = (vals[0], vals[1]) if str(operands[0]) == str(args[0]) else (vals[1], vals[0])
        new = _BINARY[ops[0].operation.name](lhs, rhs, op.result.type)
    rewriter.replace_op(op, [new.output])


# ------------------------------------------------------------------------------------------------
# Data movement that moves the sample dim (MultiheadAttention's [tokens, batch, features] views)
# ------------------------------------------------------------------------------------------------
_MOVES = RESHAPES + ("linalg.transpose", "fxp.transpose", "tensor.extract_slice", "fxp.gather")


def _moved(op, arr: np.ndarray) -> np.ndarray | None:
    """arr (an index array of the op's input shape) moved as the op moves data, None if not static."""
    out = shape_of(op.results[0])
    name = op.name
    if name in RESHAPES:
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
    while shape_of(v)[0] != 1:
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
            return True  # constant transposes: elementwise.fold_constant_transpose
        with rewriter.ip, op.location:  # a slice of a parameter (cross-attention's q / kv in_proj rows)
            new = emit_constant(_moved(op, values), ir.RankedTensorType(op.results[0].type).element_type)
        rewriter.replace_op(op, [new])
        return None
    if op.name == "linalg.transpose" and list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))[0] == 0:
        return True  # a transpose keeping the sample first: fxp.transpose (transpose_to_fxp)
    src, chain = _move_source(op)
    if src is None:
        return True
    last = op
    while shape_of(last.results[0])[0] != 1:
        uses = list(last.results[0].uses)
        if len(uses) != 1 or uses[0].owner.name not in _MOVES:
            break
        last = uses[0].owner
        chain.append(last)
    arr = np.arange(math.prod(shape_of(src))).reshape(shape_of(src))
    for o in chain:
        arr = _moved(o, arr)
        if arr is None:
            return True
    out = shape_of(last.results[0])
    view = out if out[0] == 1 else [1] + out
    idx = arr.reshape(-1)
    et = ir.RankedTensorType(src.type).element_type
    with rewriter.ip, last.location:
        ty = ir.RankedTensorType.get(view, et)
        if np.array_equal(idx, np.arange(math.prod(shape_of(src)))):
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
    if inner is None or inner.name not in ("fxp.gather", "fxp.reshape") or shape_of(inner.operands[0])[0] != 1:
        return True
    idx = np.asarray(i64_array(op, "indices"))
    if inner.name == "fxp.gather":  # -1 (a zero slot) stays -1; it must not index the inner gather's last entry
        idx = np.where(idx < 0, -1, np.asarray(i64_array(inner, "indices"))[np.maximum(idx, 0)])
    with rewriter.ip, op.location:
        new = GatherOp(inner.operands[0], op.results[0].type, ir.DenseI64ArrayAttr.get([int(i) for i in idx]))
    rewriter.replace_op(op, [new.output])
