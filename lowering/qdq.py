"""Affine quantizers with float scales or zero points -> exact `fxp.threshold` quantizers.

`lowering/qonnx.py` turns power-of-two quantizers into casts; everything else it hands here:

* QONNX `Quant` / `IntQuant` whose scale is not a power of two or whose zero point is not 0:
  q = clip(R(x / s + z), qmin, qmax), y = (q - z) * s, R its `rounding_mode` (ROUND/HALF_EVEN, HALF_UP,
  HALF_DOWN, FLOOR, CEIL, UP, DOWN: every monotone rounding is a threshold rule);
* ONNX `QuantizeLinear -> DequantizeLinear` (QDQ) and Brevitas' `QuantizeLinear -> Clip -> DequantizeLinear`
  (QCDQ: the Clip narrows the integer range), per tensor, with zero points, int8/uint8/int16/...:
  q = clip(round_half_even(x / s) + z, qmin, qmax), y = (q - z) * s.  A pair whose scale is a power of two,
  zero point 0 and integer range a format's goes back to the fixed-point cast of qonnx.py.

On an activation the quantizer is `fxflow.fixed.threshold`'s exact rule: the comparisons against the
thresholds T_k (exact reals, since a float32 scale is a dyadic rational) and the exact levels (q - z) * s.
It travels through torch-mlir as a placeholder: an `Identity` node while onnx checks and infers shapes
(`emit_placeholder`), then a custom-domain node (`mark_placeholders`) that torch-mlir imports as a
`torch.operator`, a call of a private function through the linalg pipeline (`to_calls`), and finally an
`fxp.threshold` with its result format already fixed, followed by the cast back to float (`to_fxp`).

On a constant (weights, biases) the integers q are computed exactly here (the same thresholds, compared in
float64, where every float32 weight and threshold is exact), and the dequantized values are those the float32
graph holds: (q - z) * s rounded to float32 when the product needs more than 24 bits, which is the value ONNX
Runtime and QONNX compute with.  The constant's role then keeps the narrowest format holding those values.

QONNX `BipolarQuant` (and a 1-bit signed Quant) whose scale is not one power of two is the same rule with one
threshold at 0: y = s if x >= 0 else -s.

A threshold set is per tensor: on an activation, a QDQ pair with a scale per channel (`axis`) and a QONNX
Quant / BipolarQuant with a broadcast per-channel scale (e.g. [1, C, 1, 1]) are split into their channels,
one threshold quantizer each, and concatenated back (qonnx.py `_split_channels`).
"""

from __future__ import annotations

import numpy as np

from fxflow.errors import UnsupportedOpError

PLACEHOLDER_DOMAIN = "fxflow"
PLACEHOLDER_OP = "Threshold"  # torch-mlir names it torch.operator "onnx.Threshold"
CALLEE = "__fxflow_threshold_{index}"
QONNX_ROUNDING = {"ROUND": "HALF_EVEN", "HALF_EVEN": "HALF_EVEN", "HALF_UP": "HALF_UP", "HALF_DOWN": "HALF_DOWN",
                  "FLOOR": "FLOOR", "CEIL": "CEIL", "UP": "UP", "DOWN": "DOWN"}


def is_power_of_two_scale(scale) -> bool:
    s = np.asarray(scale, dtype=np.float64)
    return s.size > 0 and bool(np.all(np.isfinite(s))) and bool(np.all(s > 0)) and bool(np.all(np.frexp(s)[0] == 0.5))


def is_zero(zp) -> bool:
    return zp is None or not np.any(np.asarray(zp, dtype=np.float64) != 0)


def qonnx_range(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    """QONNX's integer range (qonnx.custom_op.general.intquant min_int / max_int)."""
    if signed:
        return (-(1 << (bits - 1)) + (1 if narrow else 0), (1 << (bits - 1)) - 1)
    return 0, (1 << bits) - (2 if narrow else 1)


def _scalar_parameters(error, scale, zero_point) -> tuple[float, float]:
    """The one scale and zero point of a threshold quantizer (a threshold set is per tensor: callers split
    per-channel parameters into channels first)."""
    s = np.asarray(scale, dtype=np.float64).reshape(-1)
    z = np.asarray(0 if zero_point is None else zero_point, dtype=np.float64).reshape(-1)
    if s.size != 1 and not np.all(s == s[0]) or z.size != 1 and not np.all(z == z[0]):
        raise error(f"its scale or zero point differs per element ({s[:4]}, {z[:4]}) where one threshold "
                    "quantizer needs one of each")
    if not np.isfinite(s[0]) or s[0] <= 0:
        raise error(f"its scale must be positive and finite, got {s[0]:.9g}")
    return float(s[0]), float(z[0])


def thresholds_of(error, scale, zero_point, qmin: int, qmax: int, rounding: str, offset_inside: bool):
    """`fixed.threshold.affine_thresholds` for one scalar scale/zero point; its ValueErrors as `error(text)`."""
    from fxflow.fixed.threshold import affine_thresholds

    s, z = _scalar_parameters(error, scale, zero_point)
    try:
        return affine_thresholds(s, z, qmin, qmax, rounding, offset_inside)
    except ValueError as e:
        raise error(str(e)) from None


def bipolar_of(error, scale):
    """`fixed.threshold.bipolar_thresholds` for one scalar scale (QONNX BipolarQuant has no zero point)."""
    from fxflow.fixed.threshold import bipolar_thresholds

    s, _ = _scalar_parameters(error, scale, None)
    return bipolar_thresholds(s)


def fold_constant(error, values, scale, zero_point, spec_of):
    """A constant quantized exactly, per element (scale and zero point broadcast against it; `spec_of(s, z)`
    the `Thresholds` of one scale and zero point): the dequantized values as the float32 graph holds them
    (float64 array) and the narrowest exact format."""
    from fxflow.fixed.threshold import levels_format

    x = np.asarray(values, dtype=np.float64)
    try:
        s, z = np.broadcast_arrays(np.asarray(scale, dtype=np.float64), np.asarray(
            0 if zero_point is None else zero_point, dtype=np.float64))
        shape = np.broadcast_shapes(s.shape, x.shape)
    except ValueError:
        raise error(f"its scale of shape {list(np.shape(scale))} does not broadcast against the constant of shape "
                    f"{list(x.shape)}") from None
    x, s, z = (np.broadcast_to(a, shape) for a in (x, s, z))
    out = np.empty(shape, dtype=np.float64)
    for sv, zv in {(float(a), float(b)) for a, b in zip(s.ravel(), z.ravel())}:
        sel = (s == sv) & (z == zv)
        t, inc, levels = spec_of(sv, zv).as_arrays()
        xs = x[sel][:, None]
        passed = np.where(inc[None, :], xs >= t[None, :], xs > t[None, :]).sum(axis=1)
        out[sel] = levels[passed].astype(np.float32).astype(np.float64)  # as the float32 graph holds it
    return out, levels_format(out.ravel() if out.size else np.zeros(1))


def float_biases(nodes, consts: dict, formats: dict) -> dict:
    """The float32 biases of layers whose weights the model quantized ({"<layer>.bias": format}).

    Brevitas' QuantLinear/QuantConv keep a float bias by default (`bias_quant=None`); the model adds that
    float32 value exactly, which a fixed-point format holds exactly too, so the layer keeps it (else the
    configured default would round it silently).  A bias that needs more than 53 bits keeps the default."""
    from fxflow.fixed.threshold import levels_format

    producers = {o: n for n in nodes for o in n.output}
    out = {}
    for node in nodes:
        if node.op_type in ("Gemm", "Conv") and len(node.input) > 2 and node.input[2]:
            layer, bias = node.name, node.input[2]
        elif node.op_type == "Add" and len(node.input) == 2:
            found = [(producers[v].name, node.input[1 - k]) for k, v in enumerate(node.input)
                     if v in producers and producers[v].op_type == "MatMul"]
            if not found:
                continue
            layer, bias = found[0]
        else:
            continue
        arr = consts.get(bias)
        if f"{layer}.weight" not in formats or f"{layer}.bias" in formats or arr is None \
                or np.asarray(arr).dtype.kind != "f" or not np.all(np.isfinite(arr)):
            continue
        fmt = levels_format(np.asarray(arr, dtype=np.float64).ravel())
        if fmt.width <= 53:
            out[f"{layer}.bias"] = fmt
    return out


# --- the placeholder's way through onnx and torch-mlir ---------------------------------------------------
def emit_placeholder(lowering, x: str, out: str, spec, specs: dict) -> None:
    """An Identity x -> out standing for the threshold quantizer `spec` until shape inference is done."""
    lowering._emit("Identity", [x], [out])
    specs[out] = spec


def mark_placeholders(model, specs: dict) -> list:
    """The Identity placeholders become custom-domain nodes `fxflow.Threshold(index)` (after the onnx
    checker and shape inference, which know Identity); returns the specs by index."""
    from onnx import helper

    ordered = []
    for node in model.graph.node:
        if node.op_type == "Identity" and node.output and node.output[0] in specs:
            node.op_type, node.domain = PLACEHOLDER_OP, PLACEHOLDER_DOMAIN
            node.attribute.append(helper.make_attribute("index", len(ordered)))
            ordered.append((node.name, specs[node.output[0]]))
    if ordered and not any(o.domain == PLACEHOLDER_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(PLACEHOLDER_DOMAIN, 1))
    return ordered


def to_calls(module) -> None:
    """torch.operator "onnx.Threshold"(x) {index} -> func.call @__fxflow_threshold_<index>(x) of a private
    declaration (carrying the opset attribute torch-mlir's ONNX conversion asks every function for)."""
    from fxflow.ir import func, ir

    found = []

    def visit(op):
        if op.name == "torch.operator" and ir.StringAttr(op.attributes["name"]).value == f"onnx.{PLACEHOLDER_OP}":
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    for op in found:
        index = int(str(op.attributes["torch.onnx.index"]).split(":")[0])
        name = CALLEE.format(index=index)
        x, result = op.operands[0], op.results[0]
        with op.context, op.location:
            with ir.InsertionPoint.at_block_begin(module.body):
                fn = func.FuncOp(name, ir.FunctionType.get([x.type], [result.type]), visibility="private")
                fn.attributes["torch.onnx_meta.opset_version"] = ir.IntegerAttr.get(ir.IntegerType.get_signed(64), 17)
            with ir.InsertionPoint(op):
                call = func.CallOp([result.type], ir.FlatSymbolRefAttr.get(name), [x])
        result.replace_all_uses_with(call.result)
        op.erase()


def to_fxp(module, ordered: list) -> None:
    """Each call @__fxflow_threshold_<index>(x) -> fxp.threshold (result: the exact levels format) + the cast
    back to float; the declarations are removed."""
    from fxflow.dialects.fxp import CastOp, ThresholdOp, fixed_type
    from fxflow.fixed.threshold import levels_format
    from fxflow.ir import ir

    prefix = CALLEE.format(index="")
    decls = [op for op in module.body.operations if op.operation.name == "func.func"
             and ir.StringAttr(op.attributes["sym_name"]).value.startswith(prefix)]
    calls = []

    def visit(o):
        if o.name == "func.call" and ir.FlatSymbolRefAttr(o.attributes["callee"]).value.startswith(prefix):
            calls.append(o)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    for call in calls:
        index = int(ir.FlatSymbolRefAttr(call.attributes["callee"]).value[len(prefix):])
        _, spec = ordered[index]
        t, inc, levels = spec.as_arrays()
        x = call.operands[0]
        shape = list(ir.RankedTensorType(x.type).shape)
        with call.context, call.location, ir.InsertionPoint(call):
            f64 = ir.F64Type.get()
            th = ThresholdOp(x, ir.RankedTensorType.get(shape, fixed_type(levels_format(levels))),
                             thresholds=ir.DenseElementsAttr.get(np.ascontiguousarray(t), type=f64),
                             inclusive=ir.DenseElementsAttr.get(inc.astype(np.int64),
                                                                type=ir.IntegerType.get_signless(64)),
                             levels=ir.DenseElementsAttr.get(np.ascontiguousarray(levels), type=f64))
            back = CastOp(th.output, call.results[0].type)
        call.results[0].replace_all_uses_with(back.output)
        call.erase()
    for d in decls:
        d.operation.erase()


def unsupported(node, detail: str) -> UnsupportedOpError:
    from fxflow.lowering.onnx_nodes import unsupported_message

    return UnsupportedOpError(unsupported_message(node.name, node.op_type, detail), layer=node.name)


__all__ = ["emit_placeholder", "mark_placeholders", "to_calls", "to_fxp", "fold_constant", "thresholds_of",
           "bipolar_of", "qonnx_range", "is_power_of_two_scale", "is_zero", "QONNX_ROUNDING"]
