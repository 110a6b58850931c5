"""fxp-assign-precision rule of an `fxp.softmax` with implementation "hccs" (`fxflow.fixed.hccs`).

The parameters come from the layer's `softmax` settings (B, S, Dmax: one value, or one per head) or, when
none are given, are calibrated: the function is run up to the softmax on the calibration data (the
fixed-point formats assigned so far, `fxflow.emulator.probe`) and (B, S, Dmax) fitted per head to the exact
softmax of those inputs (`fxflow.fixed.hccs.calibrate_head`).  Heads are axis -3 of a softmax over the last
axis of a rank >= 4 tensor.  Attached: `hccs_b`, `hccs_s`, `hccs_dmax` (tensor<Hxi64>), `hccs_output`,
`hccs_reciprocal`; the result takes the output variant's format (ap_ufixed<8,0> or ap_fixed<16,1>, TRN/SAT).
"""

from __future__ import annotations

import numpy as np

from fxflow.emulator.probe import op_position, operand_values
from fxflow.errors import ConfigError
from fxflow.fixed.hccs import HccsSpec, calibrate, check_params, head_axis_of, spec_from_settings
from fxflow.fixed.interval import Interval
from fxflow.ir import ir

DEFAULT_SETTINGS = {"implementation": "hccs", "output": "uint8", "reciprocal": "clb"}


def _calibrated(op, ranges, layer: str, settings: dict, axis: int, head_axis: int | None) -> HccsSpec:
    if getattr(ranges, "calibration", None) is None:
        raise ConfigError(f"layer '{layer}': the HCCS softmax has no parameters B, S, Dmax in its config and no "
                          "calibration data to fit them from (compile(..., calibration_data=x))")
    block = op.operation.block
    fn = op.operation.parent
    t = operand_values(fn, op_position(block, op), 0, ranges.calibration)
    raw = np.moveaxis(np.asarray(t.data, dtype=np.int64), axis, -1)
    return calibrate(raw, t.fmt.f, head_axis, settings["output"], settings["reciprocal"])


def assign_hccs(op, cfg, ranges: dict, layer: str, settings: dict | None) -> tuple:
    """Attach the parameters; returns (result format, exact result Interval) for the caller to set."""
    settings = {**DEFAULT_SETTINGS, **(settings or {})}
    x = op.operation.operands[0]
    shape = list(ir.RankedTensorType(x.type).shape)
    axis = ir.IntegerAttr(op.operation.attributes["axis"]).value
    head_axis = head_axis_of(shape, axis)
    heads = shape[head_axis] if head_axis is not None else 1
    where = f"layer '{layer}'"
    spec = spec_from_settings(settings, heads)
    if spec is None:
        spec = _calibrated(op, ranges, layer, settings, axis, head_axis)
    elif spec.heads != heads:
        what = f"{heads} heads (axis -3 of {shape})" if head_axis is not None else "no head axis (one parameter set)"
        raise ConfigError(f"{where}: the HCCS parameters B, S, Dmax have {spec.heads} entries but the softmax has "
                          f"{what}")
    check_params(spec, shape[axis], where)
    own = cfg.layers.get(layer, {})
    if "result" in own and own["result"] != spec.result:
        raise ConfigError(f"{where}: an HCCS softmax with output '{spec.output}' produces {spec.result}; the "
                          f"configured result {own['result']} differs (drop it or pick the other output)")
    attrs = op.operation.attributes
    for name, values in zip(("hccs_b", "hccs_s", "hccs_dmax"), spec.arrays()):
        attrs[name] = ir.DenseElementsAttr.get(np.ascontiguousarray(values), type=ir.IntegerType.get_signless(64))
    attrs["hccs_output"] = ir.StringAttr.get(spec.output)
    attrs["hccs_reciprocal"] = ir.StringAttr.get(spec.reciprocal)
    out = spec.result
    rng_shape = ranges[x].lo.shape
    exact = Interval(np.zeros(rng_shape, dtype=object), np.full(rng_shape, out.max_int, dtype=object), out.f)
    return out, exact


__all__ = ["assign_hccs"]
