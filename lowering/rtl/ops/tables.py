"""RTL builders, tables family: clamp, select, prelu, table lookups and softmax."""

from __future__ import annotations

import math

import numpy as np

from fxflow.dialects.fxp import ClampOp, LutOp, PReluOp, SelectOp, SoftmaxOp, ThresholdOp
from fxflow.dialects.fxp.accessors import lut_table, softmax_formats
from fxflow.fixed import FixedFormat
from fxflow.fixed.channels import channel_param
from fxflow.fixed.clamp import grid_bounds
from fxflow.fixed.quantize import quantize
from fxflow.fixed.select import branch_value, raw_test
from fxflow.fixed.softmax import index_bits
from fxflow.ir import ir

from .. import signals as s
from ..fixed import assign
from .base import map_wires, constant, rtl_op, unsupported


@rtl_op(ClampOp)
def _clamp(o, args, ctx, out):
    x = args[0]
    lo, hi = ir.FloatAttr(o.attributes["min"]).value, ir.FloatAttr(o.attributes["max"]).value
    lo_c, hi_f = grid_bounds(lo, hi, x.fmt.f)

    def one(w):
        y = assign(w, x.fmt.f, out)
        if lo_c is not None:
            y = s.mux(s.less_than(w, lo_c), s.const(int(quantize(np.float64(lo), out))), y)
        if hi_f is not None:
            y = s.mux(s.greater_than(w, hi_f), s.const(int(quantize(np.float64(hi), out))), y)
        return y

    return map_wires(one, x.wires)


@rtl_op(SelectOp)
def _select(o, args, ctx, out):
    x = args[0]
    pred = ir.StringAttr(o.attributes["predicate"]).value
    t, a, b = (ir.FloatAttr(o.attributes[n]).value for n in ("threshold", "on_true", "on_false"))
    kind, c = raw_test(pred, t, x.fmt.f)

    def test(w):
        if kind in ("true", "false"):
            return s.Bit(kind == "true")
        if kind == ">":
            return s.greater_than(w, c)
        if kind == "<":
            return s.less_than(w, c)
        return s.compare("eq" if kind == "==" else "ne", w, s.const(c))

    def one(w):
        pick = [assign(w, x.fmt.f, out) if math.isnan(v) else s.const(branch_value(v, out)) for v in (a, b)]
        return s.mux(test(w), *pick)

    return map_wires(one, x.wires)


@rtl_op(PReluOp)
def _prelu(o, args, ctx, out):
    x = args[0]
    alpha = constant(o, 1, ctx, "alpha")
    a = np.broadcast_to(channel_param(alpha.data, x.wires.ndim), x.wires.shape)
    pf = x.fmt.f + alpha.fmt.f
    return map_wires(lambda w, c: s.mux(s.greater_than(w, 0), assign(w, x.fmt.f, out),
                                   assign(s.mul_const(w, int(c), ctx.products), pf, out)), x.wires, a)


@rtl_op(ThresholdOp)
def _threshold(o, args, ctx, out):
    """One comparator per threshold (x >= c on the stored integers, folded where x's range decides it), the
    passed count by an adder tree (a thermometer code's population count), the level from a ROM."""
    from fxflow.dialects.fxp.accessors import threshold_bounds, threshold_params
    from fxflow.fixed.threshold import stored_levels

    x = args[0]
    bounds = threshold_bounds(o, x.fmt.f)
    table = stored_levels(threshold_params(o)[2], out)

    def one(w):
        passed = [s.mux(s.greater_than(w, c - 1), s.const(1), s.const(0)) for c in bounds]
        return s.rom(s.add_tree(passed), table)

    return map_wires(one, x.wires)


@rtl_op(LutOp)
def _lut(o, args, ctx, out):
    x = args[0]
    found = lut_table(o)
    if found is None:
        unsupported(o, "needs the lut's table (run fxp-assign-precision first)")
    index, table = found
    entries = [int(v) for v in np.asarray(table).ravel()]

    def one(w):
        t = s.shr_floor(w, index.shift)
        if index.toward_zero and index.shift > 0:  # hls4ml's index: the shift truncates toward zero
            t = s.mux(s.less_than(w, 0), s.shr_floor(s.add(w, s.const((1 << index.shift) - 1)), index.shift), t)
        i = s.clip(s.sub(t, s.const(index.offset)), 0, index.size - 1)
        if index.identity_from is None:
            return s.rom(i, entries)
        return s.mux(s.less_than(w, index.identity_from), s.rom(i, entries), assign(w, x.fmt.f, out))

    return map_wires(one, x.wires)


# --- softmax: hls4ml's table algorithms (fxflow.fixed.softmax), element for element -------------------
def _top_bits(w: s.Wire, fmt: FixedFormat, n: int) -> s.Wire:
    """The top n bits of w's fmt.width-bit two's complement word, as an unsigned index."""
    return s.shr_floor(s.reinterpret(w, fmt.width, False), fmt.width - n)


def _tree_sum(terms: list[s.Wire], fmt: FixedFormat) -> s.Wire:
    """hls4ml's `reduce`: the largest power of two below n on the left, every partial sum assigned to fmt."""
    if len(terms) == 1:
        return terms[0]
    left = 1 << ((len(terms) - 1).bit_length() - 1)
    return assign(s.add(_tree_sum(terms[:left], fmt), _tree_sum(terms[left:], fmt)), fmt.f, fmt)


@rtl_op(SoftmaxOp)
def _softmax(o, args, ctx, out):
    x = args[0]
    axis = ir.IntegerAttr(o.attributes["axis"]).value
    impl = ir.StringAttr(o.attributes["implementation"]).value
    if impl == "hccs":
        unsupported(o, "has no HCCS softmax yet (use the HLS or AIE backends, or a table softmax)")
    rows = np.moveaxis(x.wires, axis, -1)
    res = np.empty(rows.shape, dtype=object)
    if impl == "argmax":
        one, zero = (s.const(int(v)) for v in quantize(np.array([1.0, 0.0]), out))
    else:
        fm, exp_tab, inv_tab = softmax_formats(o)
        exp_entries, inv_entries = [int(v) for v in exp_tab], [int(v) for v in inv_tab]
    for idx in np.ndindex(rows.shape[:-1]):
        row = list(rows[idx])
        if impl == "argmax":  # the first maximum: above every earlier value, not below any later one
            for j, v in enumerate(row):
                hot = s.Bit(True)
                for k, u in enumerate(row):
                    if k != j:
                        hot = hot & (s.greater(v, u) if k < j else ~s.greater(u, v))
                res[idx + (j,)] = s.mux(hot, one, zero)
            continue
        if impl == "stable":
            top = row[0]
            for v in row[1:]:
                top = s.maximum(top, v)
            keys = [_top_bits(assign(s.sub(top, v), x.fmt.f, fm.norm), fm.norm, index_bits(len(exp_entries)))
                    for v in row]
        else:
            keys = [_top_bits(v, x.fmt, index_bits(len(exp_entries))) for v in row]
        e = [assign(s.rom(k, exp_entries), fm.exp.f, fm.accum) for k in keys]
        total = assign(_tree_sum(e, fm.accum), fm.accum.f, fm.inv_in)
        inv = s.rom(_top_bits(total, fm.inv_in, index_bits(len(inv_entries))), inv_entries)
        for j, ej in enumerate(e):
            res[idx + (j,)] = assign(s.mul(ej, inv), fm.accum.f + fm.inv.f, out)
    return np.moveaxis(res, -1, axis)
