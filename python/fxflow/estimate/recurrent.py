"""Estimate model of `fxp.rnn` (registered into `fxflow.estimate.OP_MODELS`).

Per time step: G*H*(F + H) products with constant weights (the dense part), the gate products (LSTM:
f*c, i*g, o*tanh(c); GRU: r*hn, z*(h - n)) and the table reads (distributed ROM: one LUT per 64 bits).
The state makes the steps sequential: the latency is T times the chained delay of one step (products,
adder tree, table, gate products); io_parallel unrolls time, so the resources count all T copies.
"""

from __future__ import annotations

import math

from fxflow.dialects.fxp import RnnOp
from fxflow.dialects.fxp.accessors import rnn_formats, work as op_work
from fxflow.estimate.base import Ctx, OpCost, dsp_per_multiplier, fmt_of, lut_multiplier_luts, op_model, shape_of


@op_model(RnnOp)
def _rnn(ctx: Ctx, op) -> OpCost:
    from fxflow.ir import ir

    x, wi, wh = op.operands[:3]
    fx, fwi, fwh = (fmt_of(v, f"{what} of {ctx.where}") for v, what in ((x, "input"), (wi, "w_ih"), (wh, "w_hh")))
    fm = rnn_formats(op)
    cell = ir.StringAttr(op.attributes["cell"]).value
    lstm, elman = cell == "lstm", cell.startswith("rnn_")
    _, steps, feats = shape_of(x)
    gh, hidden = shape_of(wh)
    fam = ctx.device.family
    par = math.ceil(op_work(op) / ctx.reuse_factor)
    d_x = dsp_per_multiplier(ctx.device, fx.width, fx.signed, fwi.width, fwi.signed)
    d_h = dsp_per_multiplier(ctx.device, fm.result.width, fm.result.signed, fwh.width, fwh.signed)
    share_x = feats / (feats + hidden)
    dsp = round(par * (share_x * d_x + (1 - share_x) * d_h))
    # the x- and h-products each on DSPs or on LUTs (one may fit a DSP while the other does not)
    lut_mul = round(par * (share_x * (0 if d_x else lut_multiplier_luts(fx.width, fwi.width))
                           + (1 - share_x) * (0 if d_h else lut_multiplier_luts(fm.result.width, fwh.width))))
    gate_products = steps * hidden * (3 if lstm else 0 if elman else 2)
    d_g = dsp_per_multiplier(ctx.device, fm.sigmoid.width, False, fm.tanh.width, True)
    tables = ((cell == "rnn_tanh") if elman else 2 + lstm) * steps  # one copy of each table per unrolled step
    rom = tables * math.ceil(fm.table_size * max(fm.sigmoid.width, fm.tanh.width) / 64)
    adders = steps * gh * (feats + hidden) * fm.accum.width
    c = OpCost(work=op_work(op), multiplications=op_work(op) + gate_products,
               multipliers=par + gate_products, dsp=dsp + gate_products * d_g,
               lut=lut_mul + rom + adders + (0 if d_g else gate_products * lut_multiplier_luts(fm.sigmoid.width,
                                                                                               fm.tanh.width)),
               ff=hidden * (fm.result.width + (fm.state.width if lstm else 0)))
    t_mul = fam.t_dsp if dsp else fam.t_lut_mul + fam.t_lut_mul_bit * (fx.width + fwi.width)
    tree = math.ceil(math.log2(max(feats + hidden + 1, 2)))
    step = t_mul + tree * ctx.t_add(fm.accum.width) + 2 * ctx.t_add(fm.gate.width) + 2 * fam.t_dsp
    c.delay_ns = steps * step
    c.cycles = max(1, steps * math.ceil(step / ctx.usable) * ctx.reuse_factor)
    return c
