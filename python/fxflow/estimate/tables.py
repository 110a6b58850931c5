"""Estimate models of the table ops (registered into `fxflow.estimate.base.OP_MODELS`).

lut / softmax: the tables in ROM (LUTs up to 64 entries, block RAM above) and an index adder; an HCCS
softmax: max and sum trees, a reciprocal divider per row and one product per element.  prelu: one product
per element (`per_element_product`).  clamp takes the default cost (`estimate.base.DEFAULT_COST`).
"""

from __future__ import annotations

import math

from fxflow.dialects.fxp import LutOp, PReluOp, SoftmaxOp, ThresholdOp
from fxflow.devices import bram18_for
from fxflow.estimate.base import (Ctx, OpCost, dsp_per_multiplier, fmt_of, op_model, per_element_product, shape_of,
                                  size_of)

ROM_LUT_MAX_DEPTH = 64  # tables up to this many entries become distributed ROM (LUTs)


@op_model(PReluOp)
def _prelu(ctx: Ctx, op) -> OpCost:
    return per_element_product(ctx, op, 1)


def _table_cost(ctx: Ctx, entries: int, width: int, lookups: int) -> OpCost:
    """`lookups` parallel reads of a table (one ROM copy per two reads: dual-port block RAM)."""
    copies = math.ceil(lookups / 2)
    if entries <= ROM_LUT_MAX_DEPTH:
        return OpCost(lut=lookups * width * math.ceil(entries / 64), delay_ns=0.8)
    return OpCost(bram18=copies * bram18_for(width, entries), lut=lookups * 8, delay_ns=2.0, cycles=2)


table_cost = _table_cost  # (the hls4ml LayerNorm's 1/sqrt table: estimate/transformer.py)


@op_model(LutOp)
def _lut(ctx: Ctx, op) -> OpCost:
    from fxflow.ir import ir

    y = op.results[0]
    fy = fmt_of(y, f"result of {ctx.where}")
    entries = ir.DenseElementsAttr(op.attributes["table"]).type.shape[0] if "table" in op.attributes else 1024
    c = _table_cost(ctx, int(entries), fy.width, size_of(y))
    c.ff = size_of(y) * fy.width
    return c


@op_model(ThresholdOp)
def _threshold(ctx: Ctx, op) -> OpCost:
    """Per element: a binary search over the N thresholds (ceil(log2(N + 1)) compares of the input's width,
    each a carry chain of about width / 2 LUTs, in sequence) and a read of the N + 1 levels."""
    from fxflow.ir import ir

    x, y = op.operands[0], op.results[0]
    fx, fy = fmt_of(x, f"input of {ctx.where}"), fmt_of(y, f"result of {ctx.where}")
    n = ir.DenseElementsAttr(op.attributes["thresholds"]).type.shape[0]
    steps = max(1, math.ceil(math.log2(n + 1)))
    per = steps * math.ceil(fx.width / 2)
    c = _table_cost(ctx, n + 1, fy.width, size_of(y))
    c.lut += size_of(y) * per
    c.ff = size_of(y) * fy.width
    c.delay_ns += steps * 0.6
    return c


@op_model(SoftmaxOp)
def _softmax(ctx: Ctx, op) -> OpCost:
    """Two table lookups per element (exp, then 1/sum per row), a max tree, a sum tree, one product each; the
    tables' sizes and entry widths are the ones the precision pass attached (hls4ml's 1024 x 18 bits if none)."""
    from fxflow.dialects.fxp import format_of
    from fxflow.ir import ir

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


def _hccs(ctx: Ctx, op, n: int, fy) -> OpCost:
    """HCCS (fxflow.fixed.hccs): a max tree and a 16-bit sum tree over each row, a clip and a product by the
    constant S per element (LUTs), one 16-bit reciprocal divider per row (a LUT array of about 30 x 16 cells
    at a 1-LUT/bit-row depth, plus the leading-bit encoder), and one 16 x 16 product (DSP) per element."""
    from fxflow.dialects.fxp import format_of
    from fxflow.fixed.hccs import SUM_BITS
    from fxflow.ir import ir

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
