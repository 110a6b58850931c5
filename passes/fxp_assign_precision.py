"""fxp-assign-precision: give every tensor of a float `fxp` program its fixed-point format.

Applies the user configuration (model defaults, per-layer overrides keyed by the PyTorch module path
carried in each op's NameLoc): inputs are cast to the input format at the function boundary, weights and
biases are quantized at compile time into `fxp.constant`s holding stored integers, every op's result gets
its layer's result format, and dense accumulators get their configured format or, by default, the exact
one (`fxflow.fixed.accum.exact_accumulator`).

Alongside, an exact range analysis (`fxflow.fixed.interval`) follows every tensor from the input format
through the program; a role configured as "auto" takes the narrowest format of its range — so it can
never overflow and, for accumulators and results, never rounds — and weights/biases set to "auto" take
the narrowest format holding each value within the configured tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fxflow.config import AUTO, EXACT, Config
from fxflow.dialects.fxp import CastOp, ConstantOp, fixed_type, format_of
from fxflow.errors import ConfigError, FxflowError
from fxflow.fixed import FixedFormat
from fxflow.fixed.accum import exact_accumulator
from fxflow.fixed.interval import (Interval, add_interval, cast_interval, dense_interval, fit_constants,
                                   relu_interval, smallest_format)
from fxflow.fixed.quantize import quantize
from fxflow.ir import defining_op, elements_array, ir, layer_name

from .registry import register_pass


@dataclass
class AssignPrecisionOptions:
    precision: str = "ap_fixed<16,6>"  # or "auto" (then `input` is required)
    input: str = ""  # input format; default: `precision`
    config: str = ""  # path to a YAML/JSON config file; overrides `precision` and `input`
    config_obj: Config | None = None  # set by the compile driver

    def resolve(self) -> Config:
        if self.config_obj is not None:
            return self.config_obj
        if self.config:
            return Config.load(self.config)
        model = {"precision": self.precision}
        if self.input:
            model["input"] = self.input
        return Config.from_dict({"model": model})


@register_pass("fxp-assign-precision", "Assign fixed-point formats to inputs, weights, accumulators and results",
               AssignPrecisionOptions)
def assign_precision(module_op, options: AssignPrecisionOptions | None = None) -> None:
    cfg = (options or AssignPrecisionOptions()).resolve()
    funcs = [op for op in module_op.regions[0].blocks[0].operations if op.operation.name == "func.func"]
    cfg.check_layers(sorted({n for f in funcs for n in _layer_names(f)}))
    with ir.Location.unknown(module_op.context):
        for f in funcs:
            _assign_function(f, cfg)


def _layer_names(fn) -> list[str]:
    names = []
    for op in fn.regions[0].blocks[0].operations:
        if op.operation.name in ("fxp.dense", "fxp.relu", "fxp.add", "fxp.cast"):
            n = layer_name(op.location)
            if n:
                names.append(n)
    return names


def _tensor(like: ir.Value, fmt: FixedFormat) -> ir.Type:
    return ir.RankedTensorType.get(list(ir.RankedTensorType(like.type).shape), fixed_type(fmt))


def _assign_function(fn, cfg: Config) -> None:
    block = fn.regions[0].blocks[0]
    ops = list(block.operations)
    ranges: dict = {}  # value -> Interval of its stored integers
    # 1. Inputs: cast float arguments to the input format right at the boundary.
    if ops:
        with ir.InsertionPoint(ops[0]):
            for arg in block.arguments:
                if format_of(arg.type) is None:
                    with ir.Location.name("input", childLoc=arg.location):
                        cast = CastOp(arg, _tensor(arg, cfg.input_format))
                    arg.replace_all_uses_except(cast.output, cast.operation)
                    ranges[cast.output] = Interval.of_format(cfg.input_format, _shape(arg))
                elif format_of(arg.type) is not None:
                    ranges[arg] = Interval.of_format(format_of(arg.type), _shape(arg))
    # 2. Ops in program order.
    for op in ops:
        name = op.operation.name
        if name == "fxp.dense":
            _assign_dense(op, cfg, ranges)
        elif name in ("fxp.relu", "fxp.add"):
            _require_fixed(op, op.operation.operands, name)
            args = [ranges[v] for v in op.operation.operands]
            exact = relu_interval(*args) if name == "fxp.relu" else add_interval(*args)
            _set_result(op, cfg.layer(layer_name(op.location)).result, exact, ranges)
        elif name == "fxp.cast" and format_of(op.operation.results[0].type) is None:
            raise FxflowError(f"a cast to float inside the program ({op.location}) is not supported")
        elif name == "fxp.cast" and op.operation.operands[0] in ranges:
            out = format_of(op.operation.results[0].type)
            ranges[op.operation.results[0]] = cast_interval(ranges[op.operation.operands[0]], out)
    # 3. Drop the float constants nothing uses any more; update the signature.
    for op in list(block.operations):
        if op.operation.name == "fxp.constant" and not list(op.operation.results[0].uses):
            op.operation.erase()
    ret = list(block.operations)[-1]
    result_types = [v.type for v in ret.operation.operands]
    fn.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get([a.type for a in block.arguments], result_types))


def _require_fixed(op, values, what: str) -> None:
    for v in values:
        if format_of(v.type) is None:
            where = layer_name(op.location) or str(op.location)
            raise FxflowError(f"'{what}' in layer '{where}' has an operand without a fixed-point format ({v.type})")


def _shape(v: ir.Value) -> list[int]:
    return list(ir.RankedTensorType(v.type).shape)


def _set_result(op, fmt, exact: Interval, ranges: dict) -> None:
    """Give the op's result `fmt` (AUTO: the narrowest exact format of `exact`) and record its range."""
    res = op.operation.results[0]
    if fmt == AUTO:
        fmt = smallest_format(min(exact.lo.ravel(), default=0), max(exact.hi.ravel(), default=0), exact.f)
        ranges[res] = exact
    else:
        ranges[res] = cast_interval(exact, fmt)
    res.set_type(_tensor(res, fmt))


def _float_values(value: ir.Value, role: str, layer: str) -> np.ndarray:
    owner = defining_op(value)
    if owner is None or owner.name != "fxp.constant":
        raise FxflowError(f"the {role} of layer '{layer}' is not a compile-time constant")
    return elements_array(owner.attributes["value"], _shape(value)).astype(np.float64)


def _quantized_constant(value: ir.Value, fmt, role: str, layer: str, tolerance: float):
    """The constant quantized to `fmt` (AUTO: fitted within `tolerance` of its largest magnitude)."""
    arr = _float_values(value, role, layer)
    shape = _shape(value)
    if fmt == AUTO:
        fmt = fit_constants(arr, tolerance * float(np.max(np.abs(arr), initial=0.0)))
    if fmt.width > 53:
        raise ConfigError(f"the {role} format of layer '{layer}' ({fmt}) is wider than 53 bits")
    stored = np.asarray(quantize(arr, fmt), dtype=np.int64)
    i64 = ir.IntegerType.get_signless(64)
    dense = ir.DenseElementsAttr.get(np.ascontiguousarray(stored), type=i64)
    return ConstantOp(dense, ir.RankedTensorType.get(shape, fixed_type(fmt))).output, stored, fmt


def _assign_dense(op, cfg: Config, ranges: dict) -> None:
    layer = layer_name(op.location) or "<unnamed>"
    lc = cfg.layer(layer)
    x, w, b = op.operation.operands
    _require_fixed(op, [x], "fxp.dense")
    with ir.InsertionPoint(op), op.location:
        wq, w_int, w_fmt = _quantized_constant(w, lc.weight, "weight", layer, cfg.auto_tolerance)
        bq, b_int, b_fmt = _quantized_constant(b, lc.bias, "bias", layer, cfg.auto_tolerance)
    op.operation.operands[1] = wq
    op.operation.operands[2] = bq
    k = ir.RankedTensorType(x.type).shape[1]
    exact = dense_interval(ranges[x], w_int, w_fmt.f, b_int, b_fmt.f)
    accum = lc.accum
    if accum == EXACT:
        accum = exact_accumulator(format_of(x.type), w_fmt, b_fmt, k)
    elif accum == AUTO:
        accum = smallest_format(min(exact.lo.ravel(), default=0), max(exact.hi.ravel(), default=0), exact.f)
    op.operation.attributes["accum"] = ir.TypeAttr.get(fixed_type(accum))
    _set_result(op, lc.result, _after_accumulator(exact, accum), ranges)


def _after_accumulator(exact: Interval, accum: FixedFormat) -> Interval:
    """The accumulator's final range: the exact one when every partial sum is held exactly (the grid is
    fine enough and the whole range fits), otherwise anything the accumulator can hold."""
    if accum.f >= exact.f:
        s = 1 << (accum.f - exact.f)
        lo, hi = min(exact.lo.ravel(), default=0) * s, max(exact.hi.ravel(), default=0) * s
        if accum.min_int <= lo and hi <= accum.max_int:
            return exact
    return Interval.of_format(accum, exact.lo.shape)
