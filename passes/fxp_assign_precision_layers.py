"""fxp-assign-precision rules for the conv/pool, per-channel affine, elementwise and data-movement ops.

conv: weight/bias/accum/result roles exactly like dense (the `exact` accumulator counts C/groups * K
products).  pool: max keeps the input grid; avg accumulates in `accum` — `exact` is the input format
widened by ceil(log2 n) integer *and* fractional bits, so the sum never overflows and a division by a
power of two loses nothing.  scale_shift: scale takes the layer's `weight` role, shift its `bias` role.
Data movement (reshape, transpose, pad, resize) keeps the input format; concat assigns both inputs to the
layer's result format.
"""

from __future__ import annotations

import math

import numpy as np

from fxflow.config import AUTO, EXACT, Config
from fxflow.dialects.fxp import (ConcatOp, ConvOp, GatherOp, MulOp, PadOp, PoolOp, ReshapeOp, ResizeOp, ScaleShiftOp,
                                 SubOp, TransposeOp, fixed_type, format_of, i64_array)
from fxflow.fixed import FixedFormat
from fxflow.fixed.gather import gather_rows
from fxflow.fixed.interval import (Interval, avg_pool_sum_interval, conv_interval, divide_toward_zero,
                                   max_pool_interval, mul_interval, scale_shift_interval, smallest_format,
                                   sub_interval)
from fxflow.ir import ir, layer_name

from .fxp_assign_precision import (assign_multiply_accumulate, assigner, fixed_tensor_type, quantized_constant,
                                   require_fixed, set_result)
from .fxp_model_exact import always_exact, exactness


exactness(ConvOp, constants={1: "weight", 2: "bias"})(always_exact)
exactness(SubOp, MulOp, ReshapeOp, GatherOp, TransposeOp, PadOp, ResizeOp, ConcatOp)(always_exact)


@exactness(PoolOp)
def _pool_exactness(op) -> str | None:
    """Max-pool selects an input; average-pool divides by the window size, exact only for a power of two."""
    if ir.StringAttr(op.attributes["kind"]).value == "max":
        return None
    n = math.prod(i64_array(op, "kernel"))
    return None if n & (n - 1) == 0 else f"it averages over {n} values, and 1/{n} is not a power of two"


@exactness(ScaleShiftOp)
def _scale_shift_exactness(op) -> str:
    return "it scales and shifts by constants the model did not quantize (e.g. a BatchNorm)"


@assigner(ConvOp)
def _assign_conv(op, cfg: Config, ranges: dict) -> None:
    o = op.operation
    groups = ir.IntegerAttr(o.attributes["groups"]).value
    strides, dilations, padding = (i64_array(op, n) for n in ("strides", "dilations", "padding"))
    w_shape = list(ir.RankedTensorType(o.operands[1].type).shape)

    def interval(x, w, w_f, b, b_f):
        return conv_interval(x, w, w_f, b, b_f, groups, strides, dilations, padding)

    assign_multiply_accumulate(op, cfg, ranges, interval, math.prod(w_shape[1:]))


def _lo_hi(iv: Interval) -> tuple[int, int]:
    return min(iv.lo.ravel(), default=0), max(iv.hi.ravel(), default=0)


@assigner(PoolOp)
def _assign_pool(op, cfg: Config, ranges: dict) -> None:
    o = op.operation
    x = o.operands[0]
    require_fixed(op, [x], "fxp.pool")
    lc = cfg.layer(layer_name(op.location))
    kernel, strides, padding = (i64_array(op, n) for n in ("kernel", "strides", "padding"))
    x_fmt = format_of(x.type)
    if ir.StringAttr(o.attributes["kind"]).value == "max":
        o.attributes["accum"] = ir.TypeAttr.get(fixed_type(x_fmt))  # unused by max: the input format
        set_result(op, lc.result, max_pool_interval(ranges[x], kernel, strides, padding), ranges)
        return
    n = math.prod(kernel)
    grow = math.ceil(math.log2(n)) if n > 1 else 0
    sums = avg_pool_sum_interval(ranges[x], kernel, strides, padding)
    accum = lc.accum
    if accum == EXACT:
        accum = FixedFormat(x_fmt.k, x_fmt.i + grow, x_fmt.f + grow)
    elif accum == AUTO:
        lo, hi = _lo_hi(sums)
        accum = smallest_format(lo << grow, hi << grow, x_fmt.f + grow)
    o.attributes["accum"] = ir.TypeAttr.get(fixed_type(accum))
    if accum.f >= x_fmt.f and accum.min_int <= (_lo_hi(sums)[0] << (accum.f - x_fmt.f)) and \
            (_lo_hi(sums)[1] << (accum.f - x_fmt.f)) <= accum.max_int:
        exact = divide_toward_zero(sums, n, accum.f)
    else:  # the accumulator may round or overflow: anything it holds
        exact = Interval.of_format(accum, sums.lo.shape)
    set_result(op, lc.result, exact, ranges)


@assigner(ScaleShiftOp)
def _assign_scale_shift(op, cfg: Config, ranges: dict) -> None:
    o = op.operation
    x = o.operands[0]
    require_fixed(op, [x], "fxp.scale_shift")
    layer = layer_name(op.location) or "<unnamed>"
    lc = cfg.layer(layer)
    with ir.InsertionPoint(op), op.location:
        sq, s_int, s_fmt = quantized_constant(o.operands[1], lc.weight, "scale", layer, cfg.auto_tolerance)
        tq, t_int, t_fmt = quantized_constant(o.operands[2], lc.bias, "shift", layer, cfg.auto_tolerance)
    o.operands[1] = sq
    o.operands[2] = tq
    set_result(op, lc.result, scale_shift_interval(ranges[x], s_int, s_fmt.f, t_int, t_fmt.f), ranges)


@assigner(SubOp, MulOp)
def _assign_sub_mul(op, cfg: Config, ranges: dict) -> None:
    o = op.operation
    require_fixed(op, list(o.operands), o.name)
    a, b = (ranges[v] for v in o.operands)
    exact = mul_interval(a, b) if o.name == "fxp.mul" else sub_interval(a, b)
    set_result(op, cfg.layer(layer_name(op.location)).result, exact, ranges)


def _keep_format(op, ranges: dict, move) -> None:
    """Data movement: the result has the input's element type; `move` maps the interval bounds."""
    o = op.operation
    x = o.operands[0]
    require_fixed(op, [x], o.name)
    res = o.results[0]
    res.set_type(fixed_tensor_type(res, format_of(x.type)))
    iv = ranges[x]
    ranges[res] = Interval(move(iv.lo), move(iv.hi), iv.f)


@assigner(ReshapeOp)
def _assign_reshape(op, cfg: Config, ranges: dict) -> None:
    shape = list(ir.RankedTensorType(op.operation.results[0].type).shape)
    _keep_format(op, ranges, lambda a: a.reshape(shape))


@assigner(GatherOp)
def _assign_gather(op, cfg: Config, ranges: dict) -> None:
    shape = list(ir.RankedTensorType(op.operation.results[0].type).shape)
    idx = np.asarray(i64_array(op, "indices"), dtype=np.int64)
    _keep_format(op, ranges, lambda a: gather_rows(a, idx).reshape(shape))


@assigner(TransposeOp)
def _assign_transpose(op, cfg: Config, ranges: dict) -> None:
    perm = i64_array(op, "permutation")
    _keep_format(op, ranges, lambda a: np.ascontiguousarray(a.transpose(perm)))


@assigner(PadOp)
def _assign_pad(op, cfg: Config, ranges: dict) -> None:
    p = i64_array(op, "padding")
    n = len(p) // 2
    widths = [(0, 0), (0, 0)] + [(p[d], p[n + d]) for d in range(n)]
    _keep_format(op, ranges, lambda a: np.pad(a, widths, constant_values=0))


@assigner(ResizeOp)
def _assign_resize(op, cfg: Config, ranges: dict) -> None:
    scales = i64_array(op, "scales")

    def move(a):
        for d, s in enumerate(scales):
            a = np.repeat(a, s, axis=2 + d)
        return a

    _keep_format(op, ranges, move)


@assigner(ConcatOp)
def _assign_concat(op, cfg: Config, ranges: dict) -> None:
    o = op.operation
    require_fixed(op, list(o.operands), "fxp.concat")
    axis = ir.IntegerAttr(o.attributes["axis"]).value
    fmt = cfg.layer(layer_name(op.location)).result
    a, b = (ranges[v] for v in o.operands)
    f = max(a.f, b.f)
    a, b = a.aligned(f), b.aligned(f)
    joined = Interval(np.concatenate([a.lo, b.lo], axis=axis), np.concatenate([a.hi, b.hi], axis=axis), f)
    set_result(op, fmt, joined, ranges)
