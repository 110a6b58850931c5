"""hls4ml compatibility: its configuration dicts and the arithmetic choices that reproduce hls4ml 1.3.

`from_hls4ml(cfg)` turns the dict `hls4ml.utils.config_from_pytorch_model` returns (`Model` /
`LayerName` sections, `Precision` with `default`/`weight`/`bias`/`result`/`accum`, `ReuseFactor`,
`Strategy`, softmax `implementation`/`table_size`/`exp_table_t`/`inv_table_t`) into fxflow's own config
form, with `arithmetic: "hls4ml"`, which selects what hls4ml computes (see
../shared/reference/hls4ml-behaviour.md):
  * every accumulator is the layer's `accum` precision (the model default unless given), and every
    product is assigned to it before it is added: `acc += accum_t(x * w)` (the `product` type of
    fxp.dense / fxp.conv);
  * weights and biases are first printed as decimal text with as many digits as fractional bits and
    read back as doubles (`decimal_constants`), as hls4ml's writer does;
  * inputs are assigned to the input type (floor, wrap for the default modes) — fxflow's own semantics.
  * sigmoid, tanh and ELU use hls4ml's own tables (`fxflow.fixed.table.hls4ml_table`; `table_t` is the
    `table` key, `TableSize` the `table_size`).
With `granularity='name'` the roles `scale` (BatchNorm, LayerNorm) and `param` (LeakyReLU, ELU, Threshold)
are the layer's `weight`; `TableRangePower2`, `Skip` and the model's `maximum` are ignored with a warning
naming them.
hls4ml names a PyTorch module `a.b.0` as `a_b_0` (a leading digit gets a `_`): both spellings select it.
Keys that only steer hls4ml's own flow (`ChannelsLastConversion`, `TraceOutput`, `BramFactor`, ...) are
accepted and have no effect; anything else is an error like any unknown key.
"""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np

from .errors import ConfigError

ARITHMETIC = ("fxflow", "hls4ml")

# hls4ml keys with no meaning for fxflow's numbers or its generated code
_IGNORED_MODEL = ("ChannelsLastConversion", "TransposeOutputs", "BramFactor", "TraceOutput")
_IGNORED_TOP = ("PytorchModel", "InputShape", "KerasModel", "OnnxModel", "Backend", "OutputDir", "ProjectName",
                "Part", "ClockPeriod", "IOType", "HLSConfig")
_IGNORED_LAYER = ("Trace",)
# hls4ml precision roles -> fxflow keys.  `scale` (BatchNorm, LayerNorm) and `param` (LeakyReLU, ELU,
# Threshold) are weights for fxflow; `table` is a lut's table_t; `_t` spellings are accepted too.
_PRECISION_ROLES = {"default": None, "weight": "weight", "bias": "bias", "result": "result", "accum": "accum",
                    "scale": "weight", "param": "weight", "exp_table": "exp_table", "inv_table": "inv_table",
                    "inv_inp": "inv_input", "table": "table"}
# roles hls4ml's dict may hold that change nothing fxflow computes (warned about by name)
_WARNED_ROLES = ("maximum",)
# layer keys hls4ml's dict (granularity='name', with a backend) holds: fxflow key, or None (no effect)
_LAYER_KEYS = {"ReuseFactor": "reuse_factor", "Strategy": "strategy", "implementation": "softmax",
               "Implementation": "softmax", "table_size": "table_size", "TableSize": "table_size",
               "exp_table_size": "exp_table_size", "ExpTableSize": "exp_table_size",
               "inv_table_size": "inv_table_size", "InvTableSize": "inv_table_size", "Skip": None, "Trace": None}
# keys steering only how hls4ml builds a layer's hardware: accepted at hls4ml's defaults, else warned about
_HARDWARE_KEYS = {"ParallelizationFactor": 1, "ConvImplementation": "LineBuffer", "Algorithm": "nearest"}
_INPUT_LAYER = re.compile(r"^input(_\d+)?$")


def is_hls4ml_config(data) -> bool:
    return isinstance(data, dict) and ("Model" in data or "LayerName" in data)


def hls4ml_name(layer: str) -> str:
    """hls4ml's spelling of a PyTorch module path."""
    name = layer.replace(".", "_")
    return f"_{name}" if name[:1].isdigit() else name


def from_hls4ml(data: dict) -> dict:
    """fxflow's config dict for an hls4ml-style config (see the module docstring)."""
    unknown = set(data) - {"Model", "LayerName", *_IGNORED_TOP}
    if unknown:
        raise ConfigError(f"unknown hls4ml config section(s) {', '.join(sorted(map(str, unknown)))} "
                          "(expected 'Model' and 'LayerName')")
    model_in = data.get("Model") or {}
    if not isinstance(model_in, dict):
        raise ConfigError("hls4ml config section 'Model' must be a mapping")
    model: dict = {"arithmetic": "hls4ml"}
    for key, value in model_in.items():
        if key == "Precision":
            model.update(_precision(value, "Model.Precision", model_level=True))
        elif key == "ReuseFactor":
            model["reuse_factor"] = value
        elif key == "Strategy":
            model["strategy"] = str(value).lower()
        elif key not in _IGNORED_MODEL:
            raise ConfigError(f"unknown hls4ml config key 'Model.{key}'")
    model.setdefault("accum", model.get("precision", "ap_fixed<16,6>"))  # hls4ml: accum_t is the default type
    layers: dict = {}
    inputs = _input_names(data.get("PytorchModel"))
    for name, settings in (data.get("LayerName") or {}).items():
        where = f"LayerName.{name}"
        if not isinstance(settings, dict):
            raise ConfigError(f"hls4ml config '{where}' must be a mapping")
        out: dict = {}
        layernorm = False
        for key, value in settings.items():
            if key == "Precision":
                out.update(_precision(value, f"{where}.Precision", model_level=False))
            elif key == "Strategy":
                out["strategy"] = str(value).lower()
            elif key == "Skip":
                if value:
                    warnings.warn(f"hls4ml config key '{where}.Skip' is ignored: fxflow computes the softmax",
                                  stacklevel=3)
            elif key == "TableRangePower2":  # only LayerNorm has it: its 1/sqrt table, not fxflow's algorithm
                ignored = [f"{where}.{k}" for k in ("TableRangePower2", "TableSize") if k in settings]
                ignored += [f"{where}.Precision.{r}" for r in ("table", "table_t")
                            if isinstance(settings.get("Precision"), dict) and r in settings["Precision"]]
                warnings.warn(f"hls4ml LayerNorm config key(s) {', '.join(repr(k) for k in ignored)} are ignored: "
                              "fxflow's layernorm derives its 1/sqrt from the var and inv_std formats",
                              stacklevel=3)
                layernorm = True
            elif key in _HARDWARE_KEYS:
                if value != _HARDWARE_KEYS[key]:
                    warnings.warn(f"hls4ml config key '{where}.{key}' = {value!r} is ignored: fxflow builds the "
                                  "layer its own way (resizing: the model's own mode)", stacklevel=3)
            elif key in _LAYER_KEYS:
                if _LAYER_KEYS[key] is not None:
                    out[_LAYER_KEYS[key]] = value
            elif key not in _IGNORED_LAYER:
                raise ConfigError(f"unknown hls4ml config key '{where}.{key}'")
        if layernorm:
            for key in ("table", "table_size"):
                out.pop(key, None)
        if (_INPUT_LAYER.match(str(name)) or name in inputs) and set(out) <= {"result"}:
            if "result" in out and out["result"] != "auto":
                model["input"] = out["result"]
            continue
        if out:
            layers[str(name)] = out
    return {"model": model, "layers": layers}


def _input_names(model) -> set[str]:
    """hls4ml names a PyTorch model's input layers after the parameters of its forward (`x`)."""
    forward = getattr(model, "forward", None)
    if forward is None:
        return set()
    try:
        return set(inspect.signature(forward).parameters)
    except (TypeError, ValueError):
        return set()


def _precision(value, where: str, model_level: bool) -> dict:
    if isinstance(value, str):
        return {"precision" if model_level else "result": value}
    if not isinstance(value, dict):
        raise ConfigError(f"hls4ml config '{where}' must be a type string or a mapping of roles")
    out = {}
    for role, fmt in value.items():
        role = role[:-2] if role.endswith("_t") else role
        if role in _WARNED_ROLES:
            warnings.warn(f"hls4ml precision role '{where}.{role}' is ignored (fxflow's formats are the ones "
                          "the config gives)", stacklevel=4)
            continue
        if role not in _PRECISION_ROLES:
            raise ConfigError(f"unknown precision role '{where}.{role}' (expected {', '.join(_PRECISION_ROLES)})")
        key = _PRECISION_ROLES[role]
        if role == "default":
            key = "precision" if model_level else "result"
        if key is not None:
            out[key] = fmt
    return out


def decimal_constants(values: np.ndarray, f: int) -> np.ndarray:
    """The doubles hls4ml's C++ reads for weights: each float32 value printed with max(0, f) decimals."""
    digits = max(0, f)
    flat = [float(format(float(np.float32(v)), f".{digits}f")) for v in np.asarray(values).ravel()]
    return np.asarray(flat, dtype=np.float64).reshape(np.shape(values))


def constant_format(value: float, bits: int = 8):
    """The type hls4ml 1.3 infers for an activation's constant parameter (LeakyReLU's slope, ELU's alpha) whose
    precision is 'auto': the value's `bits` leading bits, truncated (a sign bit more when negative)."""
    from fractions import Fraction

    from .fixed import FixedFormat

    if value == 0:
        return FixedFormat(0, 1, 0, "TRN", "WRAP")
    mag = abs(Fraction(value))
    i = 0  # integer bits: mag < 2^i
    while mag >= Fraction(2) ** i:
        i += 1
    while mag < Fraction(2) ** (i - 1):
        i -= 1
    f = 0  # fractional bits of the exact value (negative: trailing zero integer bits)
    while (mag * Fraction(2) ** f).denominator != 1:
        f += 1
    while (mag * Fraction(2) ** (f - 1)).denominator == 1:
        f -= 1
    return FixedFormat(int(value < 0), i, min(i + f, bits) - i, "TRN", "WRAP")
