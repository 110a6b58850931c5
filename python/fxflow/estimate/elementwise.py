"""Estimate models of the elementwise ops (registered into `fxflow.estimate.base.OP_MODELS`).

relu / cast / add: LUTs per result bit (a sign gate, a rounding adder and a saturation mux, an adder) and
the result's registers.  scale_shift: one product per element (`per_element_product`).  sub / mul take the
default cost (`estimate.base.DEFAULT_COST`).
"""

from __future__ import annotations

import math

from fxflow.dialects.fxp import AddOp, CastOp, ReluOp, ScaleShiftOp
from fxflow.estimate.base import Ctx, OpCost, fmt_of, op_model, per_element_product, rounds, shape_of, size_of


def _elementwise(ctx: Ctx, op, lut_per_bit: float, delay_ns: float) -> OpCost:
    y = op.results[0]
    bits = size_of(y) * fmt_of(y, f"result of {ctx.where}").width
    return OpCost(lut=math.ceil(bits * lut_per_bit), ff=bits, delay_ns=delay_ns)


@op_model(ReluOp)
def _relu(ctx: Ctx, op) -> OpCost:
    """A sign test gating each bit: half a LUT6 per bit (two bits per LUT6_2), 0.3 ns."""
    fy = fmt_of(op.results[0], f"result of {ctx.where}")
    extra = ctx.t_add(fy.width) if rounds(fy) else 0.0
    return _elementwise(ctx, op, 0.5 + (1 if rounds(fy) else 0), 0.3 + extra)


@op_model(CastOp)
def _cast(ctx: Ctx, op) -> OpCost:
    """Wires for TRN/WRAP; a rounding adder and a saturation mux otherwise (one LUT per bit each).  A
    per-element cast (`formats`, HGQ) costs each element at its own format's width, a pruned one nothing."""
    from fxflow.dialects.fxp.channels import channel_formats

    y = op.results[0]
    fy = fmt_of(y, f"result of {ctx.where}")
    per_bit = (fy.rounding != "TRN") + (fy.overflow != "WRAP")
    delay = per_bit * ctx.t_add(fy.width) if per_bit else 0.1
    cf = channel_formats(op)
    if cf is None:
        return _elementwise(ctx, op, per_bit, delay)
    bits = cf.total_bits(shape_of(y))
    return OpCost(lut=bits * per_bit, ff=bits, delay_ns=delay)


@op_model(AddOp)
def _add(ctx: Ctx, op) -> OpCost:
    fy = fmt_of(op.results[0], f"result of {ctx.where}")
    return _elementwise(ctx, op, 1 + rounds(fy), ctx.t_add(fy.width))


@op_model(ScaleShiftOp)
def _scale_shift(ctx: Ctx, op) -> OpCost:
    return per_element_product(ctx, op, 1)
