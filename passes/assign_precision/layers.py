"""fxp-assign-precision rules for the multiply-accumulate layers: dense, conv and pool.

dense/conv: weight/bias/accum/result roles (`assign_multiply_accumulate`; conv's `exact` accumulator counts
C/groups * K products).  pool: max keeps the input grid; avg accumulates in `accum` — `exact` is the input
format widened by ceil(log2 n) integer *and* fractional bits, so the sum never overflows and a division by a
power of two loses nothing.
"""

from __future__ import annotations

import math

from fxflow.config import AUTO, EXACT, Config
from fxflow.dialects.fxp import ConvOp, DenseOp, PoolOp, fixed_type, format_of, i64_array
from fxflow.fixed import FixedFormat
from fxflow.fixed.interval import (Interval, avg_pool_sum_interval, conv_interval, dense_interval,
                                   divide_toward_zero, max_pool_interval, smallest_format)
from fxflow.ir import ir, layer_name

from fxflow.passes.assign_precision import assign_multiply_accumulate, assigner, require_fixed, set_result
from fxflow.passes.assign_precision.model_exact import always_exact, exactness


exactness(DenseOp, ConvOp, constants={1: "weight", 2: "bias"})(always_exact)


@exactness(PoolOp)
def _pool_exactness(op) -> str | None:
    """Max-pool selects an input; average-pool divides by the window size, exact only for a power of two."""
    if ir.StringAttr(op.attributes["kind"]).value == "max":
        return None
    n = math.prod(i64_array(op, "kernel"))
    return None if n & (n - 1) == 0 else f"it averages over {n} values, and 1/{n} is not a power of two"


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


@assigner(DenseOp)
def _assign_dense(op, cfg: Config, ranges: dict) -> None:
    k = ir.RankedTensorType(op.operation.operands[0].type).shape[-1]
    assign_multiply_accumulate(op, cfg, ranges, dense_interval, k)
