"""fxp-assign-precision rules for the elementwise ops: cast, relu, add, sub, mul, minmax and scale_shift.

relu/add/sub/mul/minmax: the layer's result format over the exact result range.  cast: a cast back to float is the
model's fake quantization (later ops read the fixed value); a fixed cast keeps its type and records the range
(per channel with `formats`).  scale_shift: scale takes the layer's `weight` role, shift its `bias` role (with
hls4ml arithmetic read through hls4ml's decimal text, as its BatchNorm's scale and bias are).
"""

from __future__ import annotations

import numpy as np

from fxflow.config import Config
from fxflow.dialects.fxp import AddOp, CastOp, MinMaxOp, MulOp, ReluOp, ScaleShiftOp, SubOp, format_of
from fxflow.errors import FxflowError
from fxflow.fixed.interval import (Interval, add_interval, cast_interval, mul_interval, relu_interval,
                                   scale_shift_interval, sub_interval)
from fxflow.ir import defining_op, ir, layer_name

from fxflow.passes.assign_precision import assigner, quantized_constant, require_fixed, set_result
from fxflow.passes.assign_precision.model_exact import always_exact, exact_constant_roles, exactness

exactness(ReluOp, AddOp, SubOp, MulOp, MinMaxOp)(always_exact)


@assigner(ReluOp, AddOp)
def _assign_relu_add(op, cfg: Config, ranges: dict) -> None:
    name = op.operation.name
    require_fixed(op, op.operation.operands, name)
    args = [ranges[v] for v in op.operation.operands]
    exact = relu_interval(*args) if name == "fxp.relu" else add_interval(*args)
    set_result(op, cfg.layer(layer_name(op.location)).result, exact, ranges)


@assigner(CastOp)
def _assign_cast(op, cfg: Config, ranges: dict) -> None:
    if format_of(op.operation.results[0].type) is None:
        src = op.operation.operands[0]
        if format_of(src.type) is None:
            raise FxflowError(f"a cast to float inside the program ({op.location}) is not supported")
        # the model's fake quantization (quantize, then dequantize): later ops take the fixed value itself
        op.operation.results[0].replace_all_uses_with(src)
        op.operation.erase()
        return
    if op.operation.operands[0] in ranges:
        out = format_of(op.operation.results[0].type)
        # --- per-channel cast (`formats`, fxflow.fixed.channels): each channel's own range ---
        from fxflow.dialects.fxp.channels import channel_formats
        from fxflow.fixed.channels import channel_cast_interval

        cf = channel_formats(op)
        _skip_relu(op, out, cf, ranges)
        ranges[op.operation.results[0]] = (cast_interval(ranges[op.operation.operands[0]], out) if cf is None else
                                           channel_cast_interval(ranges[op.operation.operands[0]], cf, out))


def _skip_relu(op, out, cf, ranges: dict) -> None:
    """A per-element saturating cast to unsigned formats after an exact ReLU reads the ReLU's input instead (HGQ's
    ReLU -> per-element quantizer): a negative x rounds to 0 or below and saturates to 0, as relu(x) = 0 does,
    so the ReLU (a mux per accumulator bit in hardware) goes when the cast is its only user."""
    relu = defining_op(op.operation.operands[0])
    if relu is None or relu.name != "fxp.relu" or len(list(relu.results[0].uses)) != 1:
        return
    if cf is None:  # per-tensor casts keep their ReLU (the layer HLS users configure and see in reports)
        return
    fmts = cf.formats()
    if out.overflow not in ("SAT", "SAT_SYM", "SAT_ZERO") or any(f.k for f in fmts):
        return
    x, r = relu.operands[0], format_of(relu.results[0].type)
    xf = format_of(x.type)
    if x not in ranges or xf is None or r is None or r.f < xf.f:
        return
    if max(ranges[x].hi.ravel(), default=0) << (r.f - xf.f) > r.max_int:
        return  # the ReLU itself overflows: not exact
    op.operation.operands[0] = x
    relu.erase()


@exactness(ScaleShiftOp, constants={1: "weight", 2: "bias"}, held_exactly=True)
def _scale_shift_exactness(op) -> str | None:
    """Exact when its constants are held exactly (model-exact results: exact_constant_roles)."""
    if exact_constant_roles(op, {}, lambda layer, role: False):
        return None
    return "it scales and shifts by constants the model did not quantize (e.g. a BatchNorm)"


@assigner(ScaleShiftOp)
def _assign_scale_shift(op, cfg: Config, ranges: dict) -> None:
    o = op.operation
    x = o.operands[0]
    require_fixed(op, [x], "fxp.scale_shift")
    layer = layer_name(op.location) or "<unnamed>"
    lc = cfg.layer(layer)
    roles = {"weight": lc.weight, "bias": lc.bias}
    if o.results[0] in ranges.model_exact:  # a BatchNorm between the model's quantizers: held exactly
        roles.update(exact_constant_roles(o, {}, lambda name, role: role in cfg.layers.get(name or "", {})))
    hls4ml = cfg.arithmetic == "hls4ml"  # BatchNorm's scale and bias through hls4ml's decimal text
    with ir.InsertionPoint(op), op.location:
        sq, s_int, s_fmt = quantized_constant(o.operands[1], roles["weight"], "scale", layer, cfg.auto_tolerance,
                                              hls4ml)
        tq, t_int, t_fmt = quantized_constant(o.operands[2], roles["bias"], "shift", layer, cfg.auto_tolerance,
                                              hls4ml)
    o.operands[1] = sq
    o.operands[2] = tq
    set_result(op, lc.result, scale_shift_interval(ranges[x], s_int, s_fmt.f, t_int, t_fmt.f), ranges)


@assigner(SubOp, MulOp)
def _assign_sub_mul(op, cfg: Config, ranges: dict) -> None:
    o = op.operation
    require_fixed(op, list(o.operands), o.name)
    a, b = (ranges[v] for v in o.operands)
    exact = mul_interval(a, b) if o.name == "fxp.mul" else sub_interval(a, b)
    set_result(op, cfg.layer(layer_name(op.location)).result, exact, ranges)


@assigner(MinMaxOp)
def _assign_minmax(op, cfg: Config, ranges: dict) -> None:
    o = op.operation
    require_fixed(op, list(o.operands), o.name)
    a, b = (ranges[v] for v in o.operands)
    f = max(a.f, b.f)
    a, b = a.aligned(f), b.aligned(f)
    pick = np.maximum if ir.StringAttr(o.attributes["kind"]).value == "max" else np.minimum
    set_result(op, cfg.layer(layer_name(op.location)).result, Interval(pick(a.lo, b.lo), pick(a.hi, b.hi), f),
               ranges)
