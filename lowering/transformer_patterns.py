"""convert-linalg-to-fxp, transformer family: products of two activations and LayerNorm / RMSNorm.

What torch-mlir emits and what it becomes:
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

from fxflow.dialects.fxp import LayerNormOp, MatmulOp
from fxflow.ir import defining_op, ir

from .linalg_to_fxp import _body_ops, _constant, _constant_array, _is_zero_scalar, _owner_name, raising_pattern



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


@raising_pattern("linalg.batch_matmul", 2)
def batch_matmul_to_fxp(op, rewriter):
    a, b = op.inputs
    init = op.outputs[0]
    if _owner_name(init) != "linalg.fill" or not _is_zero_scalar(init.owner.operands[0]):
        return True
    if _constant_array(a) is not None or _constant_array(b) is not None:
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
    if _shape(a)[0] != 1:
        return True  # dim 0 is not the sample: left for the unsupported-op report
    with rewriter.ip, op.location:
        new = MatmulOp(a, b, out.type)
    rewriter.replace_op(op, [new.output])


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
    body = [o.operation.name for o in _body_ops(owner)]
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
    ops = _body_ops(g)
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
    if [o.operation.name for o in _body_ops(g)] != [body, "linalg.yield"]:
        return None
    c = _constant_array(g.inputs[1])
    if c is None or list(c.shape) != shape_tail:
        return None
    return c, g


@raising_pattern("linalg.generic", 5, early=True)
def norm_to_layernorm(op, rewriter):
    if [o.operation.name for o in _body_ops(op)] != ["math.rsqrt", "linalg.yield"]:
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
        if g.name != "linalg.generic" or [o.operation.name for o in _body_ops(g)] != ["arith.mulf", "linalg.yield"]:
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
        g_c, b_c = _constant(gamma, et), _constant(beta, et)
        i64 = ir.IntegerType.get_signless(64)
        new = LayerNormOp(x, g_c, b_c, last.result.type, ir.IntegerAttr.get(i64, dims),
                          ir.FloatAttr.get(ir.F64Type.get(), eps), ir.IntegerAttr.get(i64, int(rms)))
    rewriter.replace_op(last, [new.output])
