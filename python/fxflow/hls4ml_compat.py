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
are the layer's `weight`; `Skip` and the model's `maximum` are ignored with a warning naming them.
LayerNorm is hls4ml's (passes/assign_precision/transformer.py): `TableSize`, `TableRangePower2` and the layer
key `table_t` (hls4ml sets a layer's type attributes from layer keys ending in `_t`) are honoured; its
`Precision.table` is ignored with a warning, as hls4ml 1.3 ignores it.  "auto" roles are hls4ml's inference
where the precision pass knows it (LayerNorm: accum/scale/bias the default precision, result its BatchNorm
rule).
Recurrent layers where hls4ml 1.3 does not compute the PyTorch model (`warn_recurrent_layers`), and Linear layers
under ChannelsLastConversion 'off' (`warn_off_linear_layers`), are warned about by name; fxflow computes the model
as written.
A tensor created inside forward (torch.fx's `_tensor_constant0`, hls4ml's Constant layer) has no layer in
fxflow: its entry is dropped (a non-'auto' result with a warning naming it).
hls4ml names a PyTorch module `a.b.0` as `a_b_0` (a leading digit gets a `_`): both spellings select it.
A functional call (`F.softmax`, `F.threshold`) is named after its exported ATen node (`_softmax`, `where`);
hls4ml's torch.fx name for it (`softmax`, `_threshold`, `softmax_1` for the second call) selects it too.
Keys that only steer hls4ml's own flow (`TraceOutput`, `BramFactor`, ...) are accepted and have no effect;
`ChannelsLastConversion` changes nothing fxflow computes, but with 'full' fxflow warns about the layers whose
function hls4ml 1.3 does not compute (fxflow.hls4ml_layout), with 'off' about its Linear layers
(`warn_off_linear_layers`); anything else is an error like any unknown key.
"""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np

from .errors import ConfigError, FxflowError

ARITHMETIC = ("fxflow", "hls4ml")

# hls4ml keys with no meaning for fxflow's numbers or its generated code
_IGNORED_MODEL = ("TransposeOutputs", "BramFactor", "TraceOutput")
_IGNORED_TOP = ("PytorchModel", "InputShape", "KerasModel", "OnnxModel", "Backend", "OutputDir", "ProjectName",
                "Part", "ClockPeriod", "IOType", "HLSConfig")
_IGNORED_LAYER = ("Trace",)
# hls4ml precision roles -> fxflow keys.  `scale` (BatchNorm, LayerNorm) and `param` (LeakyReLU, ELU,
# Threshold) are weights for fxflow; `table` is a lut's table_t; `recurrent_weight` / `recurrent_bias` are
# an LSTM/GRU/RNN's w_hh / b_hh; `_t` spellings are accepted too.
_PRECISION_ROLES = {"default": None, "weight": "weight", "bias": "bias", "result": "result", "accum": "accum",
                    "scale": "weight", "param": "weight", "exp_table": "exp_table", "inv_table": "inv_table",
                    "inv_inp": "inv_input", "table": "table", "recurrent_weight": "recurrent_weight",
                    "recurrent_bias": "recurrent_bias"}
# roles hls4ml's dict may hold that change nothing fxflow computes (warned about by name)
_WARNED_ROLES = ("maximum",)
# layer keys hls4ml's dict (granularity='name', with a backend) holds: fxflow key, or None (no effect)
_LAYER_KEYS = {"ReuseFactor": "reuse_factor", "Strategy": "strategy", "implementation": "softmax",
               "Implementation": "softmax", "table_size": "table_size", "TableSize": "table_size",
               "exp_table_size": "exp_table_size", "ExpTableSize": "exp_table_size",
               "inv_table_size": "inv_table_size", "InvTableSize": "inv_table_size", "Skip": None, "Trace": None,
               "TableRangePower2": "table_range_power2", "table_range_power2": "table_range_power2"}
# keys steering only how hls4ml builds a layer's hardware: accepted at hls4ml's defaults, else warned about
_HARDWARE_KEYS = {"ParallelizationFactor": 1, "ConvImplementation": "LineBuffer", "Algorithm": "nearest",
                  "RecurrentReuseFactor": 1, "Static": True}
_INPUT_LAYER = re.compile(r"^input(_\d+)?$")
_TRACED_CONSTANT = re.compile(r"^_tensor_constant\d+$")  # torch.fx's name of a tensor created in forward


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
        elif key == "ChannelsLastConversion":  # hls4ml's layout (fxflow.hls4ml_layout): checked by the Config
            model["hls4ml_channels_last"] = value
        elif key not in _IGNORED_MODEL:
            raise ConfigError(f"unknown hls4ml config key 'Model.{key}'")
    model.setdefault("accum", model.get("precision", "ap_fixed<16,6>"))  # hls4ml: accum_t is the default type
    warn_recurrent_layers(data)
    warn_off_linear_layers(data)
    layers: dict = {}
    inputs = _input_names(data.get("PytorchModel"))
    layernorms = _layernorm_names(data.get("PytorchModel"))
    for name, settings in (data.get("LayerName") or {}).items():
        where = f"LayerName.{name}"
        if not isinstance(settings, dict):
            raise ConfigError(f"hls4ml config '{where}' must be a mapping")
        out: dict = {}
        table_t = None
        for key, value in settings.items():
            if key == "Precision":
                roles = _precision(value, f"{where}.Precision", model_level=False)
                if "table" in roles and (name in layernorms or "TableRangePower2" in settings):
                    _ignore_layernorm_table(roles.pop("table"), settings, where)
                out.update(roles)
            elif key in ("table_t", "TableT"):  # hls4ml: a layer key ending in _t sets that type attribute
                table_t = value
            elif key == "Strategy":
                out["strategy"] = str(value).lower()
            elif key == "Skip":
                if value:
                    warnings.warn(f"hls4ml config key '{where}.Skip' is ignored: fxflow computes the softmax",
                                  stacklevel=3)
            elif key == "Direction":  # hls4ml reads it from the model, as fxflow does: only the model's own
                if value != "forward":
                    raise ConfigError(f"hls4ml config key '{where}.Direction' = {value!r}: fxflow compiles the "
                                      "model's own (forward) recurrent layers")
            elif key in _HARDWARE_KEYS:
                if value != _HARDWARE_KEYS[key]:
                    warnings.warn(f"hls4ml config key '{where}.{key}' = {value!r} is ignored: fxflow builds the "
                                  "layer its own way (resizing: the model's own mode)", stacklevel=3)
            elif key in _LAYER_KEYS:
                if _LAYER_KEYS[key] is not None:
                    out[_LAYER_KEYS[key]] = value
            elif key not in _IGNORED_LAYER:
                raise ConfigError(f"unknown hls4ml config key '{where}.{key}'")
        if table_t is not None:  # over Precision.table, as hls4ml's layer attribute is set after it
            out["table"] = table_t
        if _TRACED_CONSTANT.match(str(name)) and set(out) <= {"result"}:  # hls4ml's Constant layer
            if out.get("result", "auto") != "auto":
                warnings.warn(f"hls4ml config key '{where}.Precision.result' ({out['result']}) is ignored: fxflow "
                              "folds the constant into the layer using it",
                              stacklevel=3)
            continue
        if (_INPUT_LAYER.match(str(name)) or name in inputs) and set(out) <= {"result"}:
            if "result" in out and out["result"] != "auto":
                model["input"] = out["result"]
            continue
        if out:
            layers[str(name)] = out
    return {"model": model, "layers": layers}


def _ignore_layernorm_table(given, settings: dict, where: str) -> None:
    """hls4ml 1.3 ignores a LayerNorm's Precision.table (its table_t is the layer key `table_t`, else its
    backend's default): so does fxflow, with a warning when the value differs from the table_t used."""
    from .fixed import FixedFormat
    from .fixed.layernorm import HLS4ML_TABLE_T

    used = settings.get("table_t", settings.get("TableT", HLS4ML_TABLE_T))
    try:
        same = FixedFormat.parse(str(given)) == FixedFormat.parse(str(used))
    except FxflowError:
        same = False
    if not same:
        warnings.warn(f"hls4ml config key '{where}.Precision.table' ({given}) is ignored, as hls4ml 1.3 ignores it: "
                      f"a LayerNorm's table_t is the layer key 'table_t' (here {used})", stacklevel=4)


def _layernorm_names(model) -> set[str]:
    """hls4ml's names of a PyTorch model's LayerNorm modules (its converter dispatches on the class name)."""
    named = getattr(model, "named_modules", None)
    if named is None:
        return set()
    return {hls4ml_name(n) for n, m in named() if type(m).__name__ == "LayerNorm"}


def warn_recurrent_layers(data: dict) -> None:
    """Warn, naming the layer, where hls4ml 1.3 does not compute the PyTorch model's recurrent layer (fxflow
    does; docs/layers.md, "hls4ml compatibility", note [b]):
      * nn.RNN: its Vivado/Vitis backend has no SimpleRNN template, so its project never calls the layer and its
        output array is never written;
      * nn.LSTM / nn.GRU with `ChannelsLastConversion` other than 'off': 'full' (the dict's default) transposes the
        [T, F] input, 'internal' relabels its shape [F, T], and the layer's config takes n_sequence and n_in from
        that shape: F steps of T features, w_ih's first T columns only (warned where the layer's input_size is the
        last dim of the dict's InputShape, i.e. where the layer reads the model's [T, F] input).
    Not warned about, as it shows in the output's shape: hls4ml's converter hard-codes return_sequences = False,
    so where the model returns a sequence of T > 1 steps hls4ml returns its last step."""
    named = getattr(data.get("PytorchModel"), "named_modules", None)
    if named is None:
        return
    conversion = str((data.get("Model") or {}).get("ChannelsLastConversion", "off"))
    shape = data.get("InputShape")
    first = shape[0] if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)) else shape
    for path, module in named():
        kind = type(module).__name__
        if kind not in ("RNN", "LSTM", "GRU"):
            continue
        layer = f"hls4ml config: layer '{hls4ml_name(path)}' (nn.{kind}): hls4ml 1.3"
        steps, features = (first[-2], first[-1]) if isinstance(first, (list, tuple)) and len(first) >= 2 else (0, 0)
        known = features == getattr(module, "input_size", None)  # the layer reads the model's input
        if kind == "RNN":
            warnings.warn(f"{layer}'s Vivado/Vitis backend has no SimpleRNN template: its project never computes "
                          "this layer (its output is never written); fxflow computes the PyTorch layer", stacklevel=4)
            continue
        if conversion != "off" and known and not steps == features == 1:
            read = "feature (its" if steps == 1 else "features (its"
            columns = "column 0" if steps == 1 else f"first {steps} columns"
            how = "transposed" if conversion == "full" else "reshaped"  # 'internal' relabels the input's shape
            warnings.warn(f"{layer} with ChannelsLastConversion '{conversion}' runs this layer over {features} steps "
                          f"of {steps} {read} [{steps}, {features}] input {how} to [{features}, {steps}]; w_ih's {columns} "
                          "only), not the PyTorch layer; fxflow computes the PyTorch "
                          "layer (with channels_last_conversion='off' hls4ml computes it too)", stacklevel=4)


def warn_off_linear_layers(data: dict) -> None:
    """Warn, naming the layer, where hls4ml 1.3 does not compute the PyTorch model's nn.Linear (fxflow does;
    docs/layers.md, "hls4ml compatibility", note [d]): under `ChannelsLastConversion` 'off' (also the key's absence,
    as in hls4ml's test_squeeze) its channels-last pass does not run, and that pass is what transposes the PyTorch
    weight [out, in] to hls4ml's [in, out]; the layer reads the weight's values in PyTorch's order as [in, out].
    Not warned where a dim is 1 ([1, in] and [in, 1] hold their values in the same order), nor for a Linear forward
    never calls (hls4ml converts what torch.fx traces)."""
    model = data.get("PytorchModel")
    named = getattr(model, "named_modules", None)
    if named is None or str((data.get("Model") or {}).get("ChannelsLastConversion", "off")) != "off":
        return
    linears = {path: m for path, m in named() if type(m).__name__ == "Linear" and 1 not in (m.in_features, m.out_features)}
    called = _called_modules(model) if linears else set()
    for path, module in linears.items():
        if called is not None and path not in called:
            continue
        n_in, n_out = module.in_features, module.out_features
        warnings.warn(f"hls4ml config: layer '{hls4ml_name(path)}' (nn.Linear {n_in} -> {n_out}): hls4ml 1.3 with "
                      f"ChannelsLastConversion 'off' reads its weight [{n_out}, {n_in}] ([out, in]) as [in, out] = "
                      f"[{n_in}, {n_out}]: it computes x @ W.reshape({n_in}, {n_out}), not the PyTorch layer's x @ W.T "
                      "(hls4ml's channels-last pass, 'full' or 'internal', is what transposes a Linear's weight); "
                      "fxflow computes the PyTorch layer", stacklevel=4)


def _called_modules(model) -> set[str] | None:
    """The paths of the modules forward calls, as torch.fx (hls4ml's tracer) sees them; None if it cannot trace."""
    try:
        import torch.fx

        graph = torch.fx.symbolic_trace(model).graph
    except Exception:  # noqa: BLE001 - any tracing failure: no guess about which modules run
        return None
    return {str(node.target) for node in graph.nodes if node.op == "call_module"}


def _input_names(model) -> set[str]:
    """hls4ml names a PyTorch model's input layers after the parameters of its forward (`x`)."""
    return set(forward_parameters(model))


def forward_parameters(model) -> list[str]:
    """The parameter names of a PyTorch model's forward, in order ([] for anything else)."""
    forward = getattr(model, "forward", None)
    if forward is None:
        return []
    try:
        return list(inspect.signature(forward).parameters)
    except (TypeError, ValueError):
        return []


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


def hls4ml_bn_result(x, scale, bias):
    """hls4ml 1.3's inferred result type of a BatchNorm / LayerNorm with an "auto" result (its
    _infer_bn_precision): x * scale + bias without overflow or rounding, truncating and wrapping."""
    from .fixed import FixedFormat

    signed = scale.signed or x.signed
    width, integer = x.width + scale.width, x.int_bits + scale.int_bits
    out_signed = signed or bias.signed
    out_int = max(integer + (bias.signed and not signed), bias.int_bits + (signed and not bias.signed)) + 1
    out_width = out_int + max(width - integer, bias.f)
    return FixedFormat(int(out_signed), out_int - int(out_signed), out_width - out_int)


def hls4ml_mac_result(x, weight, bias, n_ops: int):
    """hls4ml 1.3's inferred accum_t / result_t of a Dense / Conv with "auto" ones (its _infer_common_precision):
    the exact sum of n_ops products plus the bias by bit widths, truncating and wrapping."""
    import math

    from .fixed import FixedFormat

    extra = math.ceil(math.log2(n_ops)) if n_ops > 1 else 0
    width, integer = weight.width + x.width + extra, weight.int_bits + x.int_bits + extra
    signed = weight.signed or x.signed
    frac = width - integer
    integer = max(integer + (bias.signed and not signed), bias.int_bits + (signed and not bias.signed)) + 1
    width = integer + max(frac, bias.f)
    signed = signed or bias.signed
    return FixedFormat(int(signed), integer - int(signed), width - integer)


def hls4ml_merge_result(a, b, op: str):
    """hls4ml 1.3's inferred result of an "auto" Merge (its _infer_merge_precision): add / subtract exact by
    bit widths, multiply the full product, truncating and wrapping."""
    from .fixed import FixedFormat

    if op == "mul":
        signed, integer, width = a.signed or b.signed, a.int_bits + b.int_bits, a.width + b.width
    else:
        signed = a.signed or b.signed or op == "sub"
        integer = max(a.int_bits + (b.signed and not a.signed), b.int_bits + (a.signed and not b.signed)) + 1
        width = integer + max(a.f, b.f)
    return FixedFormat(int(signed), integer - int(signed), width - integer)


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
