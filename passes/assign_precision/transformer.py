"""fxp-assign-precision rules for the transformer family: `fxp.matmul` and `fxp.layernorm`.

matmul: `accum` "exact" (default) is the bit-width exact accumulator of K products, "auto" the narrowest
format of the exact range (`fxflow.fixed.matmul.matmul_interval`); the result takes the layer's `result`
("auto": exact).  A configured `multiplier` (fxflow.approx) is recorded in `approx_mul`; its operand widths
are the lhs and rhs formats, and the range is widened by K times its error range over them.
layernorm: gamma takes the layer's `weight` role, beta its `bias` role; the row sum its `accum` ("exact":
x with ceil(log2 n) more integer bits); the internal formats `mean`, `var`, `inv_std`, `norm` (config keys,
default "auto") are chosen from the ranges when "auto":
  mean     holding the row sum (it is divided by n in place), x's grid refined by ceil(log2(n+1)) bits;
  var      unsigned, holding the sum of squares n (max x - min x)^2 (RMSNorm: n max x^2; divided in place), on
           the grid of the squares (2 f of x - mean) refined by ceil(log2(n+1)) bits, capped at 40 bits;
  inv_std  unsigned, holding 1/sqrt(epsilon') (epsilon' = epsilon on var's grid, one LSB of var when 0),
           with enough fractional bits that 1/sqrt(largest variance) keeps `target` = max(f of x, f of the result) + 2
           significant fractional bits;
  norm     (x - mean) * inv_std: |.| <= sqrt(n) whenever epsilon' >= one LSB of var; signed, `target`
           fractional bits, round to nearest and saturating.
With hls4ml arithmetic a layernorm is hls4ml 1.3's (`style = "hls4ml"`, `fxflow.fixed.layernorm.Hls4mlNorm`):
gamma and beta through hls4ml's decimal text, every intermediate in `accum`, its 1/sqrt table from the layer's
`table`, `table_size`, `table_range_power2` (`Config.hls4ml_norm_config`).  "auto" roles are what hls4ml infers:
accum, scale and bias the model's precision, the result its BatchNorm rule (`hls4ml_compat.hls4ml_bn_result`).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from fractions import Fraction

from fxflow.config import AUTO, EXACT, Config
from fxflow.dialects.fxp import AddConstantOp, LayerNormOp, MatmulOp, fixed_type, format_of
from fxflow.errors import ConfigError
from fxflow.fixed import FixedFormat
from fxflow.fixed.interval import Interval, add_interval, smallest_format
from fxflow.fixed.layernorm import (Hls4mlNorm, NormFormats, derived_formats, epsilon_units, hls4ml_epsilon_power,
                                    hls4ml_inv_sqrt_table)
from fxflow.fixed.matmul import exact_matmul_accum, matmul_interval
from fxflow.ir import ir, layer_name

from fxflow.passes.assign_precision.model_exact import exact_constant_roles, exactness
from fxflow.passes.assign_precision import (after_accumulator, assigner, hls4ml_auto, layer_multiplier,
                                            quantized_constant, require_fixed, set_result)

MAX_VAR_WIDTH = 40


def _bounds(iv: Interval) -> tuple[int, int]:
    return int(min(iv.lo.ravel(), default=0)), int(max(iv.hi.ravel(), default=0))


@assigner(MatmulOp)
def _assign_matmul(op, cfg: Config, ranges: dict) -> None:
    o = op.operation
    a, b = o.operands
    require_fixed(op, [a, b], "fxp.matmul")
    layer = layer_name(op.location) or "<unnamed>"
    lc = cfg.layer(layer)
    fa, fb = format_of(a.type), format_of(b.type)
    kk = ir.RankedTensorType(a.type).shape[-1]
    exact = matmul_interval(ranges[a], ranges[b])
    product = None
    mult = layer_multiplier(op, cfg, fa, fb, layer, ("lhs", "rhs"))
    if mult is not None:  # approximate products (fxflow.approx): the exact range widened by their errors
        from fxflow.approx.ranges import widen_matmul

        product = mult.product_format(fa.f, fb.f)
        exact = widen_matmul(exact, mult, fa, fb, kk)
    accum = lc.accum
    if accum == EXACT:
        accum = exact_matmul_accum(fa, fb, kk, product)
    elif accum == AUTO:
        accum = smallest_format(*_bounds(exact), exact.f)
    o.attributes["accum"] = ir.TypeAttr.get(fixed_type(accum))
    set_result(op, lc.result, after_accumulator(exact, accum), ranges)


def _row_sum_format(x: FixedFormat, n: int) -> FixedFormat:
    return FixedFormat(x.k, x.i + max(n - 1, 0).bit_length(), x.f)


def _auto_formats(x: FixedFormat, xr: Interval, n: int, eps: float, rms: bool, target: int) -> dict:
    """The "auto" internal formats (module doc) from the input's range."""
    lo, hi = _bounds(xr)
    extra = n.bit_length()
    mean = smallest_format(min(lo, 0) * n << extra, max(hi, 0) * n << extra, x.f + extra)  # holds the row sum
    diff = x if rms else x.add_result(mean, subtract=True)
    span = max(abs(lo), abs(hi)) if rms else hi - lo  # |d| <= span (stored integers at x.f)
    v_max = n * Fraction(span) ** 2 / Fraction(2) ** (2 * x.f)  # the sum of squares, divided in place
    i_v = max(math.ceil(math.log2(float(v_max) + 1.0)) if v_max else 0, 0) + 1
    var = FixedFormat(0, i_v, max(min(2 * diff.f + extra, MAX_VAR_WIDTH - i_v), -i_v + 1))
    e = epsilon_units(eps, var)
    eps_eff = max(e, 1) * 2.0 ** -var.f
    i_r = max(math.floor(math.log2(1 / math.sqrt(eps_eff))) + 1, 1)
    f_r = target + max(math.ceil(math.log2(float(v_max) / n + eps_eff) / 2), 0)
    inv_std = FixedFormat(0, i_r, f_r)
    norm = FixedFormat(1, math.floor(math.log2(math.sqrt(n))) + 1, target, "RND", "SAT")
    return {"mean": mean, "var": var, "inv_std": inv_std, "norm": norm}


@assigner(LayerNormOp)
def _assign_layernorm(op, cfg: Config, ranges: dict) -> None:
    o = op.operation
    layer = layer_name(op.location) or "<unnamed>"
    x = o.operands[0]
    require_fixed(op, [x], "fxp.layernorm")
    x_fmt, xr = format_of(x.type), ranges[x]
    lc = cfg.layer(layer)
    dims = ir.IntegerAttr(o.attributes["dims"]).value
    shape = list(ir.RankedTensorType(x.type).shape)
    n = math.prod(shape[-dims:])
    eps = ir.FloatAttr(o.attributes["epsilon"]).value
    rms = bool(ir.IntegerAttr(o.attributes["rms"]).value)
    if cfg.arithmetic == "hls4ml":
        if rms:
            raise ConfigError(f"layer '{layer}': hls4ml 1.3 has no RMSNorm; compile it without hls4ml arithmetic")
        return _assign_hls4ml_layernorm(op, cfg, ranges, layer, x_fmt, shape[-dims:], eps)
    with ir.InsertionPoint(op), op.location:
        gq, g_int, g_fmt = quantized_constant(o.operands[1], lc.weight, "gamma", layer, cfg.auto_tolerance)
        bq, b_int, b_fmt = quantized_constant(o.operands[2], lc.bias, "beta", layer, cfg.auto_tolerance)
    o.operands[1] = gq
    o.operands[2] = bq
    result = lc.result
    target = max(x_fmt.f, result.f if isinstance(result, FixedFormat) else 0) + 2
    chosen = cfg.norm_config(layer)
    auto = _auto_formats(x_fmt, xr, n, eps, rms, target)
    fmts = {k: (auto[k] if v == AUTO else v) for k, v in chosen.items()}
    accum = lc.accum
    if accum in (EXACT, AUTO):  # the row sum's exact range needs no more than the bit-width bound
        accum = _row_sum_format(x_fmt, n)
    fm = NormFormats(accum, fmts["mean"], fmts["var"], fmts["inv_std"], fmts["norm"])
    for name, fmt in (("accum", fm.accum), ("mean_format", fm.mean), ("var_format", fm.var),
                      ("inv_std_format", fm.inv_std), ("norm_format", fm.norm)):
        o.attributes[name] = ir.TypeAttr.get(fixed_type(fmt))
    derived_formats(x_fmt, fm, n, rms)  # (checks that the formats combine)
    # result: t * gamma + beta for t anywhere in norm's range (exact range per element)
    t_lo, t_hi = fm.norm.min_int, fm.norm.max_int
    g = np.asarray(g_int).astype(object).reshape(shape[-dims:])
    b = np.asarray(b_int).astype(object).reshape(shape[-dims:])
    pf = fm.norm.f + g_fmt.f
    f = max(pf, b_fmt.f)
    c1, c2 = g * t_lo, g * t_hi
    lo = np.minimum(c1, c2) * (1 << (f - pf)) + b * (1 << (f - b_fmt.f))
    hi = np.maximum(c1, c2) * (1 << (f - pf)) + b * (1 << (f - b_fmt.f))
    exact = Interval(np.broadcast_to(lo, shape).copy(), np.broadcast_to(hi, shape).copy(), f)
    set_result(op, result, exact, ranges)
    if epsilon_units(eps, fm.var) == 0 and fm.norm.overflow not in ("SAT", "SAT_SYM"):
        raise ConfigError(f"layer '{layer}': epsilon {eps} is below one LSB of its var format {fm.var}, so a "
                          f"constant row makes (x - mean) * inv_std unbounded: give 'norm' a saturating format")


def _assign_hls4ml_layernorm(op, cfg: Config, ranges: dict, layer: str, x_fmt: FixedFormat, normalized: list,
                             eps: float) -> None:
    """hls4ml 1.3's LayerNorm (module doc); the result range is that of d * table * gamma + beta over the
    accumulator's and the table's ranges."""
    from fxflow.hls4ml_compat import hls4ml_bn_result

    o, lc = op.operation, cfg.layer(layer)
    accum = hls4ml_auto(lc.accum, cfg, layer, "accum")
    g_fmt = hls4ml_auto(lc.weight, cfg, layer, "scale")
    b_fmt = hls4ml_auto(lc.bias, cfg, layer, "bias")
    unused = [k for k, v in cfg.norm_config(layer).items() if v != AUTO]
    if unused:
        warnings.warn(f"layer '{layer}': {', '.join(repr(k) for k in unused)} ignored: hls4ml's LayerNorm keeps "
                      "every intermediate in its accum format", stacklevel=2)
    tc = cfg.hls4ml_norm_config(layer)
    hm = Hls4mlNorm(accum, tc["table"], tc["table_size"], tc["table_range_power2"])
    try:
        hls4ml_epsilon_power(eps)
    except ValueError as e:
        raise ConfigError(f"layer '{layer}': {e}") from None
    with ir.InsertionPoint(op), op.location:
        o.operands[1], g_int, g_fmt = quantized_constant(o.operands[1], g_fmt, "gamma", layer, cfg.auto_tolerance,
                                                         decimal=True)
        o.operands[2], b_int, b_fmt = quantized_constant(o.operands[2], b_fmt, "beta", layer, cfg.auto_tolerance,
                                                         decimal=True)
    o.attributes["style"] = ir.StringAttr.get("hls4ml")
    o.attributes["accum"] = ir.TypeAttr.get(fixed_type(accum))
    o.attributes["table_format"] = ir.TypeAttr.get(fixed_type(hm.table))
    i64 = ir.IntegerType.get_signless(64)
    o.attributes["table_size"] = ir.IntegerAttr.get(i64, hm.table_size)
    o.attributes["table_range_power2"] = ir.IntegerAttr.get(i64, hm.range_power2)
    result = lc.result
    if result == AUTO:
        result = hls4ml_bn_result(x_fmt, g_fmt, b_fmt)
    table = hls4ml_inv_sqrt_table(hm, eps)
    r_lo, r_hi = int(min(table)), int(max(table))
    g = np.asarray(g_int).astype(object).reshape(normalized)
    b = np.asarray(b_int).astype(object).reshape(normalized)
    pf = accum.f + hm.table.f + g_fmt.f
    f = max(pf, b_fmt.f)
    corners = [d * r * g for d in (accum.min_int, accum.max_int) for r in (r_lo, r_hi)]
    lo = np.minimum.reduce(corners) * (1 << (f - pf)) + b * (1 << (f - b_fmt.f))
    hi = np.maximum.reduce(corners) * (1 << (f - pf)) + b * (1 << (f - b_fmt.f))
    shape = list(ir.RankedTensorType(o.operands[0].type).shape)
    exact = Interval(np.broadcast_to(lo, shape).copy(), np.broadcast_to(hi, shape).copy(), f)
    set_result(op, result, exact, ranges)


@exactness(AddConstantOp, constants={1: "bias"}, held_exactly=True)
def _add_constant_exactness(op) -> str | None:
    """Exact when nothing is masked and the constant is held exactly (onnxruntime's `MatMul -> QDQ ->
    Add(bias)` on tokens adds its dequantized bias so)."""
    if any(ir.DenseI64ArrayAttr(op.attributes["masked"])):
        return "it masks elements (-inf), which no fixed-point format holds"
    if exact_constant_roles(op, {}, lambda layer, role: False):
        return None
    return "it adds a constant that no fixed-point format up to 53 bits holds exactly"


@assigner(AddConstantOp)
def _assign_add_constant(op, cfg: Config, ranges: dict) -> None:
    """The mask's finite values take the layer's `bias` role (held exactly between the model's quantizers);
    the result its `result` ("auto": the exact range of the unmasked sums); masked elements hold the result
    format's minimum."""
    o, layer = op.operation, layer_name(op.location) or "<unnamed>"
    x, lc = o.operands[0], cfg.layer(layer)
    require_fixed(op, [x], "fxp.add_constant")
    bias = lc.bias
    if o.results[0] in ranges.model_exact:
        bias = exact_constant_roles(o, {}, lambda name, role: role in cfg.layers.get(name or "", {})).get("bias",
                                                                                                         bias)
    with ir.InsertionPoint(op), op.location:  # the constant's finite values, in the layer's bias role
        o.operands[1], b_int, b_fmt = quantized_constant(o.operands[1], bias, "mask", layer, cfg.auto_tolerance)
    masked = np.asarray(list(ir.DenseI64ArrayAttr(o.attributes["masked"])), dtype=bool).reshape(b_int.shape)
    b = np.asarray(b_int).astype(object)
    exact = add_interval(ranges[x], Interval(b, b, b_fmt.f))
    lo, hi = exact.lo.copy(), exact.hi.copy()
    keep = ~masked  # masked sums do not widen the format: they become its minimum
    lo[masked], hi[masked] = min(lo[keep].ravel(), default=0), min(lo[keep].ravel(), default=0)
    set_result(op, lc.result, Interval(lo, hi, exact.f), ranges)
    out = format_of(o.results[0].type)
    r = ranges[o.results[0]]
    r = r.aligned(max(r.f, out.f))
    lo, hi = r.lo.copy(), r.hi.copy()
    lo[masked] = hi[masked] = out.min_int << (r.f - out.f)
    ranges[o.results[0]] = Interval(lo, hi, r.f)
