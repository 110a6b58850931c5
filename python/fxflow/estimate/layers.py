"""Estimate models of the multiply-accumulate layers (registered into `fxflow.estimate.OP_MODELS`).

dense: ceil(products / RF) multipliers (DSP, constant shift-add trees or LUT multipliers), an adder per
multiplier, operand multiplexers for RF > 1 (docs/estimates.md).  conv: a dense layer per output position
(products = positions x non-zero weights when unrolled), with the same multiplier, adder-tree and cast costs.
pool: a comparator (max) or adder (avg) tree per window, plus a constant divider for non-power-of-two windows.
"""

from __future__ import annotations

import math

import numpy as np

from fxflow.dialects.df import UNROLLED
from fxflow.dialects.fxp import ConvOp, DenseOp, PoolOp
from fxflow.devices import bram18_for
from fxflow.estimate.base import (Ctx, OpCost, approx_products, constant_values, dsp_per_multiplier, fmt_of,
                                  input_element_ranges, lut_multiplier_luts, op_model, rounds, shape_of, size_of)
from fxflow.fixed.csd import shift_add_luts


@op_model(ConvOp)
def _conv(ctx: Ctx, op) -> OpCost:
    from fxflow.ir import ir

    x, w, y = op.operands[0], op.operands[1], op.results[0]
    fx, fw = fmt_of(x, f"input of {ctx.where}"), fmt_of(w, f"weight of {ctx.where}")
    facc = fmt_of(ir.TypeAttr(op.attributes["accum"]).value, f"accumulator of {ctx.where}")
    fy = fmt_of(y, f"result of {ctx.where}")
    ws, ys = shape_of(w), shape_of(y)
    positions, taps = math.prod(ys[2:]), math.prod(ws[1:])
    work = positions * math.prod(ws)
    values = constant_values(w)
    latency = ctx.strategy in UNROLLED
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
    from fxflow.dialects.fxp import i64_array
    from fxflow.ir import ir

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


@op_model(DenseOp)
def _dense(ctx: Ctx, op) -> OpCost:
    """Multipliers: ceil(products / RF); zero weights are skipped by the unrolled (latency) code and cost
    nothing.  Each multiplier feeds one adder of the accumulator's width; with RF > 1 its operands come
    through RF-to-1 multiplexers (weights from block RAM in the resource strategy)."""
    from fxflow.ir import ir
    x, w = op.operands[0], op.operands[1]
    fx, fw = fmt_of(x, f"input of {ctx.where}"), fmt_of(w, f"weight of {ctx.where}")
    facc = fmt_of(ir.TypeAttr(op.attributes["accum"]).value, f"accumulator of {ctx.where}")
    fy = fmt_of(op.results[0], f"result of {ctx.where}")
    *lead, kk = shape_of(x)
    bsz = math.prod(lead)  # rows: the sample, or the tokens of a Linear applied per token
    nn = shape_of(w)[1]
    work = kk * nn
    rf = ctx.reuse_factor
    latency = ctx.strategy in UNROLLED
    values = constant_values(w)
    zeros = int((values == 0).sum()) if values is not None and latency else 0
    per_column = ((values != 0).sum(axis=0).max() if values is not None and latency else kk)
    if latency:
        mults = bsz * (work - zeros)
        mulpar = math.ceil(mults / rf)
    else:
        mults = bsz * work
        mulpar = math.ceil(work / rf)
    dev, fam = ctx.device, ctx.device.family
    dsp_each = dsp_per_multiplier(dev, fx.width, fx.signed, fw.width, fw.signed)
    c = OpCost(work=work, multiplications=mults, zero_weights=zeros, multipliers=mulpar, dsp=mulpar * dsp_each)
    constants = latency and rf == 1 and values is not None  # each product has its own constant weight
    if dsp_each:
        lut_mul = 0
    elif constants:  # a product by a constant is a shift-add tree (fixed.csd), whatever its declared format
        lut_mul = bsz * const_product_luts(fx.width, values)
    else:  # multiplexed weights: generic array multipliers
        lut_mul = mulpar * lut_multiplier_luts(fx.width, fw.width)
    t_mul = fam.t_dsp if dsp_each else fam.t_lut_mul + fam.t_lut_mul_bit * (fx.width + fw.width)
    per_channel = _channel_multipliers(dev, fam, fx, w, values, latency, mulpar, constants)  # per-channel formats
    if per_channel is not None:
        c.dsp, lut_mul, t_mul = per_channel
    approx = approx_products(ctx, op, mulpar, fx, fw)
    if approx is not None:  # an approximate multiplier: its own LUTs, no DSP
        c.dsp = 0
        lut_mul, t_mul = approx
    lut_add = mulpar * facc.width
    graph = adder_graph_cost(ctx, op, fx, values) if approx is None else None
    if graph is not None:  # distributed_arithmetic: the shared adder graph, then the bias per non-empty column
        c.dsp = c.multipliers = 0
        lut_mul, lut_add, t_mul = bsz * graph[0], bsz * graph[2] * facc.width, 0.0
    mux = 0
    if rf > 1:
        mux = mulpar * (fx.width + (fw.width if latency else 0)) * math.ceil((rf - 1) / 3)
    cast = bsz * nn * fy.width if rounds(fy) else 0
    c.lut = lut_mul + lut_add + mux + cast + (0 if latency else 40)
    if latency:
        fan_in = math.ceil(int(per_column) / rf) + 1  # + the bias
        levels = graph[1] + 1 if graph is not None else math.ceil(math.log2(max(fan_in, 2)))
        c.delay_ns = t_mul + levels * ctx.t_add(facc.width) + (0.3 if cast else 0)
        c.ff = bsz * (kk * fx.width + nn * facc.width)
        if rf > 1:
            c.ff += mulpar * (fx.width + fw.width) + bsz * nn * facc.width
            c.cycles = (rf - 1) + max(1, math.ceil(c.delay_ns / ctx.usable))
    else:
        steps = math.ceil(work / mulpar)
        depth = max(1, math.ceil((t_mul + ctx.t_add(facc.width)) / ctx.usable))
        c.cycles = bsz * (steps + depth + 2)  # + ROM read, + output copy
        c.ff = nn * facc.width + mulpar * (fx.width + fw.width) + 32
        if values is not None:
            c.bram18 = bram18_for(mulpar * fw.width, steps)
    return c


def adder_graph_cost(ctx: Ctx, op, fx, values) -> tuple[int, int, int] | None:
    """(LUTs, adder depth, non-empty columns) of the weight matrix as one shared adder graph
    (fxflow.fixed.addergraph: one LUT per adder bit above its pass-through low bits), for a
    `distributed_arithmetic` kernel with reuse factor 1 and constant weights; None otherwise.  An empty column (every weight zero or on a pruned input) is the bias
    alone, a constant with no adder.  A per-element input (HGQ) gives each input its own range and drops
    the weight rows of pruned inputs, by the same rules the RTL builder applies (`column_ranges`,
    `live_weights`), so the estimate costs the graph the RTL builds."""
    if ctx.strategy != "distributed_arithmetic" or ctx.reuse_factor != 1 or values is None:
        return None
    from fxflow.fixed.addergraph import column_ranges, live_weights, solve

    w = np.asarray(values).reshape(values.shape[0], -1)
    per_element = input_element_ranges(ctx, op.operands[0])
    if per_element is None:
        ranges = [(fx.min_int, fx.max_int)] * w.shape[0]
    else:
        lo, hi = per_element
        ranges = column_ranges(lo.reshape(-1, w.shape[0]), hi.reshape(-1, w.shape[0]))
        w = live_weights(w, ranges)
    g = solve(w)
    return g.cost_bits(ranges), g.depth(), sum(t is not None for t in g.outputs)


def const_product_luts(x_width: int, values) -> int:
    """LUTs of the products of an x_width-bit input by each nonzero constant in `values` (CSD adders)."""
    return sum(shift_add_luts(x_width, int(v)) for v in np.asarray(values).ravel() if v)


def _channel_multipliers(dev, fam, fx, w, values, latency: bool, mulpar: int, constants: bool = False):
    """(dsp, lut, delay) of the multipliers when the weights carry per-channel formats (`formats`,
    fxflow.fixed.channels): each product costs what its weight's own channel format needs (a constant
    multiplier is synthesized for its real bits), averaged over the products one multiplier serves.
    None without per-channel formats."""
    from fxflow.dialects.fxp.channels import channel_formats
    from fxflow.ir import defining_op

    owner = defining_op(w)
    cf = channel_formats(owner) if owner is not None and owner.name == "fxp.constant" else None
    if cf is None:
        return None
    kif = cf.expand(shape_of(w)).reshape(-1, 3)
    flat = np.asarray(values).reshape(-1) if values is not None else None
    if latency and values is not None:
        keep = flat != 0  # zero weights are skipped
        kif, flat = kif[keep], flat[keep]
    if kif.shape[0] == 0:
        return 0, 0, 0.0
    key = np.stack([kif[:, 0], kif.sum(axis=1)], axis=1)
    pairs, counts = np.unique(key, axis=0, return_counts=True)
    dsp = lut = 0.0
    t_mul = 0.0
    for (k, width), n in zip(pairs.tolist(), counts.tolist()):
        d = dsp_per_multiplier(dev, fx.width, fx.signed, width, bool(k))
        dsp += d * n
        if d:
            continue
        if constants:  # the real constants of this channel group (CSD adders), as for plain weights
            lut += const_product_luts(fx.width, flat[(key[:, 0] == k) & (key[:, 1] == width)])
        else:
            lut += math.ceil(fx.width * width / 2) * n
        t_mul = max(t_mul, fam.t_dsp if d else fam.t_lut_mul + fam.t_lut_mul_bit * (fx.width + width))
    total = int(counts.sum())
    return math.ceil(mulpar * dsp / total), math.ceil(mulpar * lut / total), t_mul
