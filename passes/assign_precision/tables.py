"""fxp-assign-precision rules for the activation family: `fxp.clamp`, `fxp.select`, `fxp.prelu`, `fxp.lut`,
`fxp.softmax`.

Results take the layer's `result` format; "auto" gives the exact range (clamp, select, prelu: the narrowest
exact format; lut: the input's fractional bits and the integer bits of the table's entries, rounded to nearest;
softmax: the exact product of its exp entries and inverse).  PReLU/LeakyReLU slopes are quantized like
weights (the layer's `weight` format, "auto" fitted within `auto_tolerance`).

Tables are attached as discardable attributes (the ops verify without them):
  fxp.lut      `table` (tensor<Nxi64>, stored integers of the result format), `index_shift`, `index_offset`
               and optionally `identity_from` (i64) and `index_toward_zero` (unit: the shift truncates toward
               zero, hls4ml's index): the index function and entry placement of
               `fxflow.fixed.table`.  By default (no `table_range`, outside hls4ml arithmetic) the accurate
               table of `fxflow.fixed.table.accurate_table`: range and bins from the function and the formats,
               at most `table_size` (if configured) or 2^ACCURATE_INDEX_BITS entries, with a stated error
               bound (docs/layers.md, "Activation table accuracy").  With a `table_range`, or hls4ml's
               arithmetic, `table_size` bins over that range / the whole input format, except that hls4ml's
               arithmetic gives sigmoid, tanh and ELU hls4ml 1.3's own tables (`fxflow.fixed.table.hls4ml_table`:
               its ranges, truncating index, single-precision entries stored in `table` (table_t) first).
  fxp.softmax  (stable, latency) `exp_table`, `inv_table` (tensor<Nxi64>, stored integers),
               `exp_format`, `inv_format`, `inv_input_format`, `accum` and, for stable, `norm_format`
               (type attributes of !fxp.fixed): the algorithm of `fxflow.fixed.softmax` (hls4ml 1.3's).
               The table sizes are the tables' lengths; a table never has more entries than 2^W of the
               format whose top bits index it.
               Without configured table formats (and outside hls4ml arithmetic), a stable softmax gets
               `fxflow.fixed.softmax.accurate_formats`: tables sized from the input's range and the result's
               LSB, with the error bound `error_bound` (docs/layers.md); hls4ml configs keep hls4ml's tables.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from fractions import Fraction

import numpy as np

from fxflow.config import AUTO, EXACT, Config
from fxflow.dialects.fxp import ClampOp, LutOp, PReluOp, SelectOp, SoftmaxOp, ThresholdOp, fixed_type, format_of
from fxflow.scalar_eval import region_function
from fxflow.fixed import FixedFormat
from fxflow.fixed.interval import Interval
from fxflow.fixed.quantize import requantize
from fxflow.fixed.softmax import (ACCURATE_INDEX_BITS, DEFAULT_TABLE_SIZE, HLS4ML_TABLE, SoftmaxFormats,
                                  accurate_formats, capped_size, default_norm, exact_accum, exp_table, index_bits,
                                  inv_table)
from fxflow.fixed.table import (HLS4ML_TABLE_T, accurate_table, auto_entry_format, build_table, evaluate,
                                hls4ml_function, hls4ml_table, table_index)
from fxflow.ir import i64_attr, ir, layer_name

from fxflow.passes.assign_precision import assigner, quantized_constant, require_fixed, set_result
from fxflow.passes.assign_precision.hccs import assign_hccs
from fxflow.passes.assign_precision.model_exact import always_exact, exactness


def _i64_table(values) -> ir.DenseElementsAttr:
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.int64))
    return ir.DenseElementsAttr.get(arr, type=ir.IntegerType.get_signless(64))


def _bound_bits(v: float) -> int:
    """Fractional bits that hold the finite real v exactly."""
    return max(Fraction(v).denominator.bit_length() - 1, 0)


exactness(ClampOp, SelectOp)(always_exact)
exactness(PReluOp, constants={1: "weight"})(always_exact)


_PIECEWISE_CONSTANT = ("arith.constant", "arith.cmpf", "arith.select")


@exactness(LutOp, SoftmaxOp)
def _table_exactness(op) -> str | None:
    """A table of a piecewise-constant function (compares and selects of float constants, e.g. a bipolar
    quantizer) is exact: every float constant is a dyadic rational its auto format holds."""
    if op.name == "fxp.lut":
        body = [o.operation.name for o in op.regions[0].blocks[0].operations][:-1]
        if all(name in _PIECEWISE_CONSTANT for name in body):
            return None
    return "it is computed from tables of its non-linear function"


@assigner(ClampOp)
def _assign_clamp(op, cfg: Config, ranges: dict) -> None:
    x = op.operation.operands[0]
    require_fixed(op, [x], "fxp.clamp")
    lo_b, hi_b = (ir.FloatAttr(op.operation.attributes[n]).value for n in ("min", "max"))
    xr = ranges[x]
    f = max([xr.f] + [_bound_bits(b) for b in (lo_b, hi_b) if math.isfinite(b)])
    xr = xr.aligned(f)
    lo, hi = xr.lo, xr.hi
    for b, clip in ((lo_b, np.maximum), (hi_b, np.minimum)):
        if math.isfinite(b):
            n = int(Fraction(b) * (1 << f))
            lo, hi = clip(lo, n), clip(hi, n)
    set_result(op, cfg.layer(layer_name(op.location)).result, Interval(lo, hi, f), ranges)


@exactness(ThresholdOp)
def _threshold_exactness(op) -> str | None:
    """A threshold quantizer rounds: it is exact only as the model's own quantizer (its result format fixed by
    the importer), which model_exact.is_model_cast takes as a boundary before asking this rule."""
    return "it rounds its input to the quantizer's levels"


@assigner(ThresholdOp)
def _assign_threshold(op, cfg: Config, ranges: dict) -> None:
    """The result keeps the model's format (the importer's exact levels format; a float result takes it
    here); its range is the levels the input's range reaches (the levels ascend with the count)."""
    from fxflow.dialects.fxp.accessors import threshold_bounds, threshold_params
    from fxflow.fixed.threshold import count, levels_format, stored_levels
    from fxflow.passes.assign_precision import fixed_tensor_type

    x = op.operation.operands[0]
    require_fixed(op, [x], "fxp.threshold")
    res = op.operation.results[0]
    _, _, levels = threshold_params(op)
    fmt = format_of(res.type)
    if fmt is None:
        fmt = levels_format(levels)
        res.set_type(fixed_tensor_type(res, fmt))
    table = np.array(stored_levels(levels, fmt), dtype=object)
    xr = ranges[x]
    bounds = threshold_bounds(op, xr.f)
    lo = table[count(np.asarray(xr.lo, dtype=object), bounds)]
    hi = table[count(np.asarray(xr.hi, dtype=object), bounds)]
    ranges[res] = Interval(np.minimum(lo, hi), np.maximum(lo, hi), fmt.f)


@assigner(SelectOp)
def _assign_select(op, cfg: Config, ranges: dict) -> None:
    """The union of the branches' ranges: x's (a NaN branch) and each constant's, on a grid holding both."""
    x = op.operation.operands[0]
    require_fixed(op, [x], "fxp.select")
    values = [ir.FloatAttr(op.operation.attributes[n]).value for n in ("on_true", "on_false")]
    consts = [v for v in values if not math.isnan(v)]
    xr = ranges[x]
    f = max([xr.f] + [_bound_bits(v) for v in consts])
    xr = xr.aligned(f)
    parts = [(xr.lo, xr.hi)] if any(math.isnan(v) for v in values) else []
    for v in consts:
        n = np.full(xr.lo.shape, int(Fraction(v) * (1 << f)), dtype=object)
        parts.append((n, n))
    lo = functools.reduce(np.minimum, [p[0] for p in parts])
    hi = functools.reduce(np.maximum, [p[1] for p in parts])
    set_result(op, cfg.layer(layer_name(op.location)).result, Interval(lo, hi, f), ranges)


@assigner(PReluOp)
def _assign_prelu(op, cfg: Config, ranges: dict) -> None:
    layer = layer_name(op.location) or "<unnamed>"
    x, alpha = op.operation.operands
    require_fixed(op, [x], "fxp.prelu")
    with ir.InsertionPoint(op), op.location:
        aq, a_int, a_fmt = quantized_constant(alpha, cfg.layer(layer).weight, "alpha", layer, cfg.auto_tolerance)
    op.operation.operands[1] = aq
    xr = ranges[x]
    rank = xr.lo.ndim
    a = np.asarray(a_int).astype(object).reshape(-1)
    a = a.reshape(()) if a.size == 1 else a.reshape([1, -1] + [1] * (rank - 2))
    s = 1 << a_fmt.f
    zero = np.zeros_like(xr.lo)
    # positive part: x in [max(lo, 1), hi] when hi > 0; negative part: x * a for x in [lo, min(hi, 0)]
    has_pos, has_neg = xr.hi > 0, xr.lo <= 0
    neg_hi_x = np.minimum(xr.hi, zero)
    c1, c2 = xr.lo * a, neg_hi_x * a
    neg_lo, neg_hi = np.minimum(c1, c2), np.maximum(c1, c2)
    pos_lo, pos_hi = np.maximum(xr.lo, 1) * s, xr.hi * s
    big = max(abs(int(v)) for v in np.concatenate([np.ravel(neg_lo), np.ravel(neg_hi), np.ravel(pos_lo),
                                                    np.ravel(pos_hi), [0]])) + 1
    lo = np.minimum(np.where(has_pos, pos_lo, big), np.where(has_neg, neg_lo, big))
    hi = np.maximum(np.where(has_pos, pos_hi, -big), np.where(has_neg, neg_hi, -big))
    set_result(op, cfg.layer(layer).result, Interval(lo.astype(object), hi.astype(object), xr.f + a_fmt.f), ranges)


@assigner(LutOp)
def _assign_lut(op, cfg: Config, ranges: dict) -> None:
    layer = layer_name(op.location) or "<unnamed>"
    x = op.operation.operands[0]
    require_fixed(op, [x], "fxp.lut")
    x_fmt = format_of(x.type)
    tc = cfg.table_config(layer)
    where = f"layer '{layer}'"
    index = table_index(x_fmt, tc.table_size, tc.table_range, where)
    fn = region_function(op.operation)
    out = cfg.layer(layer).result
    if out == AUTO:
        out = auto_entry_format(evaluate(fn, index.centres(x_fmt), where), x_fmt.f)
    accurate = accurate_table(fn, x_fmt, out, where, accurate_size(cfg, layer)) if accurate_lut(cfg, layer) else None
    hls4ml = _hls4ml_lut(fn, cfg, layer, x_fmt, out) if accurate is None else None
    if accurate is not None:
        index, table = accurate.index, accurate.values
    elif hls4ml is not None:
        index, table = hls4ml
    else:  # configured range, hls4ml arithmetic, or a function that is undefined somewhere (log)
        table = build_table(fn, x_fmt, out, index, where)
    attrs = op.operation.attributes
    attrs["table"] = _i64_table(table)
    attrs["index_shift"] = i64_attr(index.shift)
    attrs["index_offset"] = i64_attr(index.offset)
    if index.toward_zero:
        attrs["index_toward_zero"] = ir.UnitAttr.get()
    lo, hi = int(table.min()), int(table.max())
    if index.identity_from is not None:
        attrs["identity_from"] = i64_attr(index.identity_from)
        passed = requantize(np.array([index.identity_from, x_fmt.max_int], dtype=np.int64), x_fmt.f, out)
        lo, hi = min(lo, int(passed[0])), max(hi, int(passed[1]))
    shape = ranges[x].lo.shape
    exact = Interval(np.full(shape, lo, dtype=object), np.full(shape, hi, dtype=object), out.f)
    set_result(op, out, exact, ranges)


def _hls4ml_lut(fn, cfg: Config, layer: str, x_fmt: FixedFormat, out: FixedFormat):
    """hls4ml 1.3's own table (index, entries) of a sigmoid / tanh / elu under hls4ml arithmetic without a
    table_range; None otherwise (other functions keep table_size bins over the input format)."""
    tc = cfg.table_config(layer)
    if cfg.arithmetic != "hls4ml" or tc.table_range is not None:
        return None
    found = hls4ml_function(fn)
    if found is None:
        return None
    name, alpha = found
    param = cfg.layer(layer).weight  # hls4ml's param_t: the layer's default precision
    return hls4ml_table(name, alpha, x_fmt, out, tc.table_size, tc.table or HLS4ML_TABLE_T,
                        param if isinstance(param, FixedFormat) else None)


_TABLE_FORMAT_KEYS = ("exp_table", "inv_table", "inv_input", "norm_input")


def accurate_lut(cfg: Config, layer: str) -> bool:
    """Accurate default table (`accurate_table`): a lut without a configured `table_range`, outside hls4ml
    arithmetic (whose configs keep their tables)."""
    return cfg.arithmetic != "hls4ml" and cfg.table_config(layer).table_range is None


def accurate_size(cfg: Config, layer: str) -> int:
    """The most entries an accurate table may have: the configured `table_size` (layer, then model), else
    2^ACCURATE_INDEX_BITS (the softmax's accurate tables share the rule: a configured size is the index width)."""
    own = {**cfg.tables, **cfg.layers.get(layer, {})}
    return cfg.table_config(layer).table_size if "table_size" in own else 1 << ACCURATE_INDEX_BITS


def accurate_softmax(cfg: Config, layer: str, impl: str) -> bool:
    """Accurate default tables: a stable softmax without configured table formats, outside hls4ml arithmetic."""
    tc = cfg.table_config(layer)
    return (impl == "stable" and cfg.arithmetic != "hls4ml"
            and all(getattr(tc, key) is None for key in _TABLE_FORMAT_KEYS))


def _accurate_softmax_formats(cfg: Config, layer: str, x_fmt: FixedFormat, xr: Interval, n: int,
                              result) -> SoftmaxFormats:
    """`accurate_formats` for this layer: d_max from the input's range (format or calibration), the target
    from the result's LSB, the table sizes (if configured) as the index widths."""
    tc = cfg.table_config(layer)
    size = accurate_size(cfg, layer)
    exp_bits, inv_bits = (index_bits(s) for s in (tc.exp_table_size or size, tc.inv_table_size or size))
    d_max = float(Fraction(int(max(xr.hi.ravel(), default=0)) - int(min(xr.lo.ravel(), default=0)), 1 << xr.f))
    target_f = max(4, min(result.f, 20)) if isinstance(result, FixedFormat) else max(8, x_fmt.f)
    fm = accurate_formats(x_fmt, d_max, n, target_f, exp_bits, inv_bits)
    if cfg.layer(layer).accum not in (EXACT, AUTO):
        fm = dataclasses.replace(fm, accum=cfg.layer(layer).accum)
    return fm


def softmax_formats(x_fmt: FixedFormat, n: int, impl: str, tc, accum) -> SoftmaxFormats:
    """The intermediate formats of one softmax layer: configured values over hls4ml 1.3's defaults."""
    exp = tc.exp_table or HLS4ML_TABLE
    inv = tc.inv_table or HLS4ML_TABLE
    inv_in = tc.inv_input or exp
    norm = (tc.norm_input or default_norm(x_fmt)) if impl == "stable" else None
    if accum in (EXACT, AUTO):
        accum = exact_accum(exp, n)
    size = tc.table_size or DEFAULT_TABLE_SIZE
    exp_size = capped_size(tc.exp_table_size or size, norm if norm is not None else x_fmt)
    inv_size = capped_size(tc.inv_table_size or size, inv_in)
    return SoftmaxFormats(exp, inv, inv_in, accum, norm, exp_size, inv_size)


@assigner(SoftmaxOp)
def _assign_softmax(op, cfg: Config, ranges: dict) -> None:
    layer = layer_name(op.location) or "<unnamed>"
    x = op.operation.operands[0]
    require_fixed(op, [x], "fxp.softmax")
    x_fmt = format_of(x.type)
    attrs = op.operation.attributes
    tc = cfg.table_config(layer)
    # the configured implementation (layer, then model) over the one the front-end chose
    setting = cfg.layers.get(layer, {}).get("softmax", cfg.tables.get("softmax"))
    impl = (setting["implementation"] if isinstance(setting, dict) else setting) or \
        ir.StringAttr(attrs["implementation"]).value
    attrs["implementation"] = ir.StringAttr.get(impl)
    if impl == "hccs":  # integer clipped-linear softmax: parameters given or calibrated
        set_result(op, *assign_hccs(op, cfg, ranges, layer, setting if isinstance(setting, dict) else None), ranges)
        return
    lc = cfg.layer(layer)
    shape = ranges[x].lo.shape
    if impl == "argmax":
        out = lc.result
        if out == AUTO:
            out = FixedFormat(0, 1, 0, "TRN", "WRAP")  # 0 or 1
        set_result(op, out, Interval(np.zeros(shape, dtype=object), np.ones(shape, dtype=object), 0), ranges)
        return
    n = ir.RankedTensorType(x.type).shape[ir.IntegerAttr(attrs["axis"]).value]
    if accurate_softmax(cfg, layer, impl):
        fm = _accurate_softmax_formats(cfg, layer, x_fmt, ranges[x], n, lc.result)
    else:
        fm = softmax_formats(x_fmt, n, impl, tc, lc.accum)
    stable = impl == "stable"
    e = exp_table(fm.norm if stable else x_fmt, fm.exp_size, fm.exp, negative=stable)
    r = inv_table(fm.inv_in, fm.inv_size, fm.inv)
    attrs["exp_table"] = _i64_table(e)
    attrs["inv_table"] = _i64_table(r)
    for name, fmt in (("exp_format", fm.exp), ("inv_format", fm.inv), ("inv_input_format", fm.inv_in),
                      ("accum", fm.accum), ("norm_format", fm.norm)):
        if fmt is not None:
            attrs[name] = ir.TypeAttr.get(fixed_type(fmt))
    # exact range of e * inv: e is an exp entry assigned to accum, inv an inverse entry
    ea = np.asarray(requantize(e, fm.exp.f, fm.accum)).astype(object)
    corners = [int(a) * int(b) for a in (ea.min(), ea.max()) for b in (r.min(), r.max())]
    exact = Interval(np.full(shape, min(corners), dtype=object), np.full(shape, max(corners), dtype=object),
                     fm.accum.f + fm.inv.f)
    set_result(op, lc.result, exact, ranges)

