"""Estimate models of the conv/pool/affine/table ops (registered into `fxflow.estimate.OP_MODELS`).

conv: a dense layer per output position (products = positions x non-zero weights when unrolled), with the
same multiplier, adder-tree and cast costs as dense (docs/estimates.md).  pool: a comparator (max) or adder
(avg) tree per window, plus a constant divider for non-power-of-two windows.  scale_shift / prelu / mul: one
product per element.  lut / softmax: the tables in ROM (LUTs up to 64 entries, block RAM above) and an
index adder.  Data movement is wiring (no cost beyond the registers of the result).
"""

from __future__ import annotations

import math

from .dialects.fxp import (ConcatOp, ConvOp, GatherOp, LutOp, PReluOp, PadOp, PoolOp, ReshapeOp, ResizeOp, ScaleShiftOp,
                           SoftmaxOp, TransposeOp)
from .devices import bram18_for
from .estimate import (Ctx, OpCost, approx_products, constant_values, dsp_per_multiplier, fmt_of, lut_multiplier_luts,
                       op_model, rounds, shape_of, size_of)

ROM_LUT_MAX_DEPTH = 64  # tables up to this many entries become distributed ROM (LUTs)


def _conv_work(op) -> int:
    w = shape_of(op.operands[1])
    return math.prod(shape_of(op.results[0])[2:]) * math.prod(w)


@op_model(ConvOp, work=_conv_work)
def _conv(ctx: Ctx, op) -> OpCost:
    from .ir import ir

    x, w, y = op.operands[0], op.operands[1], op.results[0]
    fx, fw = fmt_of(x, f"input of {ctx.where}"), fmt_of(w, f"weight of {ctx.where}")
    facc = fmt_of(ir.TypeAttr(op.attributes["accum"]).value, f"accumulator of {ctx.where}")
    fy = fmt_of(y, f"result of {ctx.where}")
    ws, ys = shape_of(w), shape_of(y)
    positions, taps = math.prod(ys[2:]), math.prod(ws[1:])
    work = positions * math.prod(ws)
    values = constant_values(w)
    latency = ctx.strategy == "latency"
    nonzero = int((values != 0).sum()) if values is not None and latency else math.prod(ws)
    mults = positions * nonzero
    mulpar = math.ceil(mults / ctx.reuse_factor)
    dsp_each = dsp_per_multiplier(ctx.device, fx.width, fx.signed, fw.width, fw.signed)
    fam = ctx.device.family
    c = OpCost(work=work, multiplications=mults, zero_weights=positions * math.prod(ws) - mults,
               multipliers=mulpar, dsp=mulpar * dsp_each)
    lut_mul = 0 if dsp_each else mulpar * lut_multiplier_luts(fx.width, fw.width)
    t_mul = fam.t_dsp if dsp_each else fam.t_lut_mul + fam.t_lut_mul_bit * (fx.width + fw.width)
    approx = approx_products(ctx, op, mulpar, fx, fw)
    if approx is not None:  # an approximate multiplier: its own LUTs, no DSP
        c.dsp = 0
        lut_mul, t_mul = approx
    cast = size_of(y) * fy.width if rounds(fy) else 0
    c.lut = lut_mul + mulpar * facc.width + cast
    fan_in = math.ceil(taps / ctx.reuse_factor) + 1
    c.delay_ns = t_mul + math.ceil(math.log2(max(fan_in, 2))) * ctx.t_add(facc.width) + (0.3 if cast else 0)
    c.ff = size_of(x) * fx.width + size_of(y) * facc.width
    if ctx.reuse_factor > 1:
        c.cycles = (ctx.reuse_factor - 1) + max(1, math.ceil(c.delay_ns / ctx.usable))
    return c


@op_model(PoolOp)
def _pool(ctx: Ctx, op) -> OpCost:
    from .dialects.fxp import i64_array
    from .ir import ir

    x, y = op.operands[0], op.results[0]
    n = math.prod(i64_array(op, "kernel"))
    avg = ir.StringAttr(op.attributes["kind"]).value == "avg"
    width = (fmt_of(ir.TypeAttr(op.attributes["accum"]).value, f"accumulator of {ctx.where}") if avg
             else fmt_of(x, f"input of {ctx.where}")).width
    outputs = size_of(y)
    ops = outputs * max(n - 1, 0)
    divider = outputs * width * 2 if avg and n & (n - 1) else 0  # a constant divider (shift when n = 2^k)
    c = OpCost(lut=ops * width + divider, ff=outputs * fmt_of(y, f"result of {ctx.where}").width)
    c.delay_ns = math.ceil(math.log2(max(n, 2))) * ctx.t_add(width) + (2 * ctx.t_add(width) if divider else 0)
    return c


def _per_element_product(ctx: Ctx, op, param_index: int) -> OpCost:
    x, p, y = op.operands[0], op.operands[param_index], op.results[0]
    fx, fp, fy = (fmt_of(x, f"input of {ctx.where}"), fmt_of(p, f"parameter of {ctx.where}"),
                  fmt_of(y, f"result of {ctx.where}"))
    mults = size_of(y)
    dsp_each = dsp_per_multiplier(ctx.device, fx.width, fx.signed, fp.width, fp.signed)
    fam = ctx.device.family
    c = OpCost(multiplications=mults, multipliers=mults, dsp=mults * dsp_each,
               lut=(0 if dsp_each else mults * math.ceil(fx.width * fp.width / 2)) + mults * fy.width,
               ff=mults * fy.width)
    c.delay_ns = (fam.t_dsp if dsp_each else fam.t_lut_mul + fam.t_lut_mul_bit * (fx.width + fp.width)) + \
        ctx.t_add(fy.width)
    return c


@op_model(ScaleShiftOp)
def _scale_shift(ctx: Ctx, op) -> OpCost:
    return _per_element_product(ctx, op, 1)


@op_model(PReluOp)
def _prelu(ctx: Ctx, op) -> OpCost:
    return _per_element_product(ctx, op, 1)


def _table_cost(ctx: Ctx, entries: int, width: int, lookups: int) -> OpCost:
    """`lookups` parallel reads of a table (one ROM copy per two reads: dual-port block RAM)."""
    copies = math.ceil(lookups / 2)
    if entries <= ROM_LUT_MAX_DEPTH:
        return OpCost(lut=lookups * width * math.ceil(entries / 64), delay_ns=0.8)
    return OpCost(bram18=copies * bram18_for(width, entries), lut=lookups * 8, delay_ns=2.0, cycles=2)


@op_model(LutOp)
def _lut(ctx: Ctx, op) -> OpCost:
    from .ir import ir

    y = op.results[0]
    fy = fmt_of(y, f"result of {ctx.where}")
    entries = ir.DenseElementsAttr(op.attributes["table"]).type.shape[0] if "table" in op.attributes else 1024
    c = _table_cost(ctx, int(entries), fy.width, size_of(y))
    c.ff = size_of(y) * fy.width
    return c


@op_model(SoftmaxOp)
def _softmax(ctx: Ctx, op) -> OpCost:
    """Two table lookups per element (exp, then 1/sum per row), a max tree, a sum tree, one product each; the
    tables' sizes and entry widths are the ones the precision pass attached (hls4ml's 1024 x 18 bits if none)."""
    from .dialects.fxp import format_of
    from .ir import ir

    y = op.results[0]
    fy = fmt_of(y, f"result of {ctx.where}")
    n = size_of(y)
    attrs = op.attributes
    if ir.StringAttr(attrs["implementation"]).value == "hccs":
        return _hccs(ctx, op, n, fy)

    def table(name, fmt_name):
        if name not in attrs:
            return 1024, 18
        return (int(ir.DenseElementsAttr(attrs[name]).type.shape[0]),
                format_of(ir.TypeAttr(attrs[fmt_name]).value).width)

    (ne, we), (ni, wi) = table("exp_table", "exp_format"), table("inv_table", "inv_format")
    c = _table_cost(ctx, ne, we, n)
    inv = _table_cost(ctx, ni, wi, 1)
    c.bram18, c.lut = c.bram18 + inv.bram18, c.lut + inv.lut
    c.multiplications = c.multipliers = n
    c.dsp = n * dsp_per_multiplier(ctx.device, we, False, wi, False)
    c.lut += 2 * n * we
    c.ff = n * (we + fy.width)
    c.delay_ns = 2 * math.ceil(math.log2(max(n, 2))) * ctx.t_add(we) + ctx.device.family.t_dsp
    c.cycles = 4 + 2 * math.ceil(math.log2(max(n, 2)))
    return c


@op_model(ReshapeOp, GatherOp, TransposeOp, PadOp, ResizeOp, ConcatOp)
def _data_movement(ctx: Ctx, op) -> OpCost:
    """Wires only: the registers of the moved result."""
    return OpCost(ff=size_of(op.results[0]) * fmt_of(op.results[0], ctx.where).width)


def _hccs(ctx: Ctx, op, n: int, fy) -> OpCost:
    """HCCS (fxflow.fixed.hccs): a max tree and a 16-bit sum tree over each row, a clip and a product by the
    constant S per element (LUTs), one 16-bit reciprocal divider per row (a LUT array of about 30 x 16 cells
    at a 1-LUT/bit-row depth, plus the leading-bit encoder), and one 16 x 16 product (DSP) per element."""
    from .dialects.fxp import format_of
    from .fixed.hccs import SUM_BITS
    from .ir import ir

    x = op.operands[0]
    wx = format_of(x.type).width
    axis = ir.IntegerAttr(op.attributes["axis"]).value
    row = shape_of(x)[axis]
    rows = max(n // max(row, 1), 1)
    depth = math.ceil(math.log2(max(row, 2)))
    c = OpCost(multiplications=n, multipliers=n)
    c.dsp = n * dsp_per_multiplier(ctx.device, SUM_BITS, False, SUM_BITS, False)
    c.lut = n * (2 * wx + 2 * SUM_BITS) + rows * (30 * SUM_BITS + 2 * SUM_BITS)
    c.ff = n * (SUM_BITS + fy.width)
    c.delay_ns = 2 * depth * ctx.t_add(SUM_BITS) + SUM_BITS * ctx.t_add(SUM_BITS) + ctx.device.family.t_dsp
    c.cycles = 6 + 2 * depth + SUM_BITS // 2
    return c
