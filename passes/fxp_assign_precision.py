"""fxp-assign-precision: give every tensor of a float `fxp` program its fixed-point format.

Applies the user configuration (model defaults, per-layer overrides keyed by the PyTorch module path
carried in each op's NameLoc): inputs are cast to the input format at the function boundary, weights and
biases are quantized at compile time into `fxp.constant`s holding stored integers, every op's result gets
its layer's result format, and dense accumulators get their configured format or, by default, the exact
one (`fxflow.fixed.accum.exact_accumulator`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fxflow.config import EXACT, Config
from fxflow.dialects.fxp import CastOp, ConstantOp, fixed_type, format_of
from fxflow.errors import ConfigError, FxflowError
from fxflow.fixed import FixedFormat
from fxflow.fixed.accum import exact_accumulator
from fxflow.fixed.quantize import quantize
from fxflow.ir import func, ir, layer_name

from .registry import register_pass


@dataclass
class AssignPrecisionOptions:
    precision: str = "ap_fixed<16,6>"
    config: str = ""  # path to a YAML/JSON config file; overrides `precision`
    config_obj: Config | None = None  # set by the compile driver

    def resolve(self) -> Config:
        if self.config_obj is not None:
            return self.config_obj
        if self.config:
            return Config.load(self.config)
        return Config.from_dict({"model": {"precision": self.precision}})


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
    # 1. Inputs: cast float arguments to the input format right at the boundary.
    if ops:
        with ir.InsertionPoint(ops[0]):
            for arg in block.arguments:
                if format_of(arg.type) is None:
                    with ir.Location.name("input", childLoc=arg.location):
                        cast = CastOp(arg, _tensor(arg, cfg.input_format))
                    arg.replace_all_uses_except(cast.output, cast.operation)
    # 2. Ops in program order.
    for op in ops:
        name = op.operation.name
        if name == "fxp.dense":
            _assign_dense(op, cfg)
        elif name in ("fxp.relu", "fxp.add"):
            _require_fixed(op, op.operation.operands, name)
            op.operation.results[0].set_type(_tensor(op.operation.results[0], cfg.layer(layer_name(op.location)).result))
        elif name == "fxp.cast" and format_of(op.operation.results[0].type) is None:
            raise FxflowError(f"a cast to float inside the program ({op.location}) is not supported")
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


def _quantized_constant(value: ir.Value, fmt: FixedFormat, role: str, layer: str) -> ir.Value:
    owner = value.owner
    if getattr(owner, "name", None) != "fxp.constant" and getattr(getattr(owner, "operation", None), "name", None) != "fxp.constant":
        raise FxflowError(f"the {role} of layer '{layer}' is not a compile-time constant")
    attr = ir.DenseElementsAttr(owner.attributes["value"])
    shape = list(ir.RankedTensorType(value.type).shape)
    if attr.is_splat:
        arr = np.full(shape, float(ir.FloatAttr(attr.get_splat_value()).value))
    else:
        arr = np.array(attr).astype(np.float64).reshape(shape)
    if fmt.width > 53:
        raise ConfigError(f"the {role} format of layer '{layer}' ({fmt}) is wider than 53 bits")
    stored = np.asarray(quantize(arr, fmt), dtype=np.int64)
    i64 = ir.IntegerType.get_signless(64)
    dense = ir.DenseElementsAttr.get(np.ascontiguousarray(stored), type=i64)
    return ConstantOp(dense, ir.RankedTensorType.get(shape, fixed_type(fmt))).output


def _assign_dense(op, cfg: Config) -> None:
    layer = layer_name(op.location) or "<unnamed>"
    lc = cfg.layer(layer)
    x, w, b = op.operation.operands
    _require_fixed(op, [x], "fxp.dense")
    with ir.InsertionPoint(op), op.location:
        wq = _quantized_constant(w, lc.weight, "weight", layer)
        bq = _quantized_constant(b, lc.bias, "bias", layer)
    op.operation.operands[1] = wq
    op.operation.operands[2] = bq
    k = ir.RankedTensorType(x.type).shape[1]
    accum = lc.accum
    if accum == EXACT:
        accum = exact_accumulator(format_of(x.type), lc.weight, lc.bias, k)
    op.operation.attributes["accum"] = ir.TypeAttr.get(fixed_type(accum))
    op.operation.results[0].set_type(_tensor(op.operation.results[0], lc.result))
