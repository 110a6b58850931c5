"""Estimate models of the transformer family (registered into `fxflow.estimate.OP_MODELS`).

matmul: B*M*N*K products of two variable operands (no constant to fold, no zero weights to skip), each
feeding an adder of the accumulator's width; the reuse factor divides the multipliers like dense's
(`work`), with RF-to-1 operand multiplexers; an `approx_mul` makes them LUT multipliers of the multiplier's cost
(`fxflow.estimate.base.approx_products`).  layernorm: per row two adder trees (sum, sum of squares),
n squarers, a constant divider each for mean and variance, the 1/sqrt bisection (W_r steps of a
(2 W_r + W_v)-bit product and a compare, chained), and 2n products for (x - mean) * r and * gamma.
hls4ml-style layernorm (hls4ml 1.3's): the same adder trees and squarers in accum_t, two products by 1/n in
place of the dividers, the 1/sqrt table (one read per row) in place of the bisection.
"""

from __future__ import annotations

import math

from fxflow.dialects.fxp import LayerNormOp, MatmulOp
from fxflow.dialects.fxp.accessors import work as op_work
from fxflow.estimate.base import (Ctx, OpCost, approx_products, dsp_per_multiplier, fmt_of, lut_multiplier_luts,
                                  op_model, rounds, shape_of, size_of)


def _products(ctx: Ctx, count: int, wa: int, sa: bool, wb: int, sb: bool) -> tuple[int, int, float]:
    """(dsp, lut, delay) of `count` parallel wa x wb multipliers."""
    dsp_each = dsp_per_multiplier(ctx.device, wa, sa, wb, sb)
    fam = ctx.device.family
    delay = fam.t_dsp if dsp_each else fam.t_lut_mul + fam.t_lut_mul_bit * (wa + wb)
    return count * dsp_each, 0 if dsp_each else count * lut_multiplier_luts(wa, wb), delay


@op_model(MatmulOp)
def _matmul(ctx: Ctx, op) -> OpCost:
    from fxflow.ir import ir

    a, b, y = op.operands[0], op.operands[1], op.results[0]
    fa, fb = fmt_of(a, f"lhs of {ctx.where}"), fmt_of(b, f"rhs of {ctx.where}")
    facc = fmt_of(ir.TypeAttr(op.attributes["accum"]).value, f"accumulator of {ctx.where}")
    fy = fmt_of(y, f"result of {ctx.where}")
    work = op_work(op)
    kk = shape_of(a)[-1]
    par = math.ceil(work / ctx.reuse_factor)
    dsp, lut_mul, t_mul = _products(ctx, par, fa.width, fa.signed, fb.width, fb.signed)
    approx = approx_products(ctx, op, par, fa, fb, ("lhs", "rhs"))
    if approx is not None:  # an approximate multiplier: its own LUTs, no DSP
        dsp = 0
        lut_mul, t_mul = approx
    c = OpCost(work=work, multiplications=work, multipliers=par, dsp=dsp)
    mux = par * (fa.width + fb.width) * math.ceil((ctx.reuse_factor - 1) / 3) if ctx.reuse_factor > 1 else 0
    cast = size_of(y) * fy.width if rounds(fy) else 0
    c.lut = lut_mul + par * facc.width + mux + cast
    c.ff = size_of(y) * facc.width + (par * (fa.width + fb.width) if ctx.reuse_factor > 1 else 0)
    fan_in = math.ceil(kk / ctx.reuse_factor)
    c.delay_ns = t_mul + math.ceil(math.log2(max(fan_in, 2))) * ctx.t_add(facc.width) + (0.3 if cast else 0)
    if ctx.reuse_factor > 1:
        c.cycles = (ctx.reuse_factor - 1) + max(1, math.ceil(c.delay_ns / ctx.usable))
    return c


@op_model(LayerNormOp)
def _layernorm(ctx: Ctx, op) -> OpCost:
    from fxflow.dialects.fxp import format_of
    from fxflow.fixed.layernorm import NormFormats, derived_formats
    from fxflow.ir import ir

    x, g, y = op.operands[0], op.operands[1], op.results[0]
    fx, fg, fy = (fmt_of(x, f"input of {ctx.where}"), fmt_of(g, f"gamma of {ctx.where}"),
                  fmt_of(y, f"result of {ctx.where}"))
    from fxflow.dialects.fxp.accessors import hls4ml_norm

    hm = hls4ml_norm(op)
    if hm is not None:
        return _hls4ml_layernorm(ctx, op, hm, fg, fy)
    fm = NormFormats(*(format_of(ir.TypeAttr(op.attributes[a]).value) for a in
                       ("accum", "mean_format", "var_format", "inv_std_format", "norm_format")))
    dims = ir.IntegerAttr(op.attributes["dims"]).value
    rms = bool(ir.IntegerAttr(op.attributes["rms"]).value)
    shape = shape_of(x)
    n = math.prod(shape[-dims:])
    rows = math.prod(shape) // n
    diff, sq = derived_formats(fx, fm, n, rms)
    wr, wv = fm.inv_std.width, fm.var.width + 1
    squares = rows * n
    products = 2 * rows * n
    bisect = rows * wr  # one (2 W_r + W_v)-bit product per bit of r
    d1, l1, t1 = _products(ctx, squares, diff.width, diff.signed, diff.width, diff.signed)
    d2, l2, t2 = _products(ctx, products, diff.width, True, wr, False)
    d3, l3, t3 = _products(ctx, bisect, 2 * wr, False, wv, False)
    adders = rows * (n * (sq.width + (0 if rms else fm.accum.width + diff.width)) + 2 * wr)
    dividers = rows * 2 * (fm.mean.width + fm.var.width) if n & (n - 1) else 0
    c = OpCost(multiplications=squares + products + bisect, multipliers=squares + products + bisect,
               dsp=d1 + d2 + d3, lut=l1 + l2 + l3 + adders + dividers + (size_of(y) * fy.width if rounds(fy) else 0),
               ff=size_of(y) * fy.width + rows * (fm.inv_std.width + fm.var.width))
    tree = math.ceil(math.log2(max(n, 2)))
    c.delay_ns = ((0 if rms else tree * ctx.t_add(fm.accum.width)) + t1 + tree * ctx.t_add(sq.width)
                  + (4 * ctx.t_add(fm.var.width) if dividers else 0) + wr * (t3 + ctx.t_add(2 * wr + wv)) + 2 * t2
                  + ctx.t_add(fy.width))
    c.cycles = max(1, math.ceil(c.delay_ns / ctx.usable))
    return c


def _hls4ml_layernorm(ctx: Ctx, op, hm, fg, fy) -> OpCost:
    """hls4ml 1.3's LayerNorm (module doc): everything in accum_t, a table read per row."""
    from fxflow.estimate.tables import table_cost
    from fxflow.ir import ir

    shape = shape_of(op.operands[0])
    n = math.prod(shape[-ir.IntegerAttr(op.attributes["dims"]).value:])
    rows = math.prod(shape) // n
    wa, wt = hm.accum.width, hm.table.width
    d1, l1, t1 = _products(ctx, rows * (n + 2), wa, True, wa, True)  # squares, s * 1/n, q * 1/n
    d2, l2, t2 = _products(ctx, rows * n, wa, True, wt, hm.table.signed)
    d3, l3, t3 = _products(ctx, rows * n, wa + wt, True, fg.width, fg.signed)
    tab = table_cost(ctx, hm.table_size, wt, rows)
    adders = rows * n * 3 * wa + size_of(op.results[0]) * fy.width
    c = OpCost(multiplications=rows * (3 * n + 2), multipliers=rows * (3 * n + 2), dsp=d1 + d2 + d3,
               lut=l1 + l2 + l3 + adders + tab.lut, bram18=tab.bram18, ff=size_of(op.results[0]) * fy.width)
    tree = math.ceil(math.log2(max(n, 2)))
    c.delay_ns = 2 * tree * ctx.t_add(wa) + 3 * t1 + tab.delay_ns + t2 + t3 + 2 * ctx.t_add(fy.width)
    c.cycles = max(1, math.ceil(c.delay_ns / ctx.usable))
    return c
