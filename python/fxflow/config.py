"""The user's precision / parallelism configuration, validated strictly.

    {"model":  {"precision": "ap_fixed<16,6>", "reuse_factor": 1, "strategy": "latency",
                "input": "ap_fixed<16,6>", "accum": "exact"},
     "layers": {"fc1": {"weight": "ap_fixed<8,2>", "bias": ..., "accum": ..., "result": ...,
                        "reuse_factor": 4, "strategy": "resource"}}}

`precision` is the default for every tensor role; `accum` defaults to "exact" (the narrowest accumulator
that can hold every partial sum without rounding or overflow, derived from the operand bit widths).
Any role may be "auto" (the input only with calibration data, which also narrows the range the analysis
starts from; see `fxflow.compile(calibration_data=...)`): weights and biases then get the narrowest format that holds
every value within `auto_tolerance` (relative to the largest magnitude, default 2^-8); accumulators and
results the narrowest format that can never overflow or round, from an exact range analysis that starts
at the input format (or at the calibration data's range).
Loadable from YAML or JSON files.  Unknown keys, malformed precisions and (once the model is known)
unknown layer names are errors that name the offender.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, FormatError
from .fixed import FixedFormat

EXACT = "exact"
AUTO = "auto"  # derived by range analysis: the narrowest format that never overflows and loses nothing
STRATEGIES = ("latency", "resource", "distributed_arithmetic")  # the last: hls4ml's name for adder graphs
IO_TYPES = ("io_parallel", "io_stream")
MODEL_KEYS = ("precision", "input", "weight", "bias", "accum", "result", "reuse_factor", "strategy",
              "auto_tolerance")
LAYER_KEYS = ("weight", "bias", "accum", "result", "reuse_factor", "strategy")
# --- activation tables (fxp.lut, fxp.softmax) ------------------------------------------------------------
# `table_size` (power of two: the most entries of an accurate default table, passes/assign_precision/tables.py;
# with a `table_range` or hls4ml arithmetic the entries, default 1024) and `softmax` ("stable" | "latency" |
# "argmax") also as model defaults; per layer `table_range` ([lo, hi) of a lut's table) and the
# softmax intermediates with hls4ml 1.3's defaults: `exp_table`, `inv_table`, `inv_input` (formats; default
# ap_fixed<18,8,AP_RND,AP_SAT>, inv_input = exp_table), `norm_input` (stable: x_max - x; default
# ap_ufixed<W-1,I-1> of a signed input), `exp_table_size` / `inv_table_size` (default `table_size`).
# A softmax's accumulator is the layer's `accum` ("exact": the exp format with ceil(log2 n) more bits).
# `table` (hls4ml arithmetic): the format a lut's entries are stored in before the result (hls4ml's table_t,
# default ap_fixed<18,8>).
TABLE_MODEL_KEYS = ("table_size", "softmax")
TABLE_LAYER_KEYS = TABLE_MODEL_KEYS + ("table_range", "exp_table", "inv_table", "inv_input", "norm_input",
                                       "exp_table_size", "inv_table_size", "table")
MODEL_KEYS += TABLE_MODEL_KEYS
MODEL_KEYS += ("arithmetic",)  # "fxflow" | "hls4ml" (see fxflow.hls4ml_compat)
# hls4ml's ChannelsLastConversion ("off" | "internal" | "full"): with "full" hls4ml 1.3 computes other functions
# for some multi-input layers, which fxflow warns about (fxflow.hls4ml_layout)
MODEL_KEYS += ("hls4ml_channels_last",)
HLS4ML_CHANNELS_LAST = ("off", "internal", "full")
LAYER_KEYS += TABLE_LAYER_KEYS
# --- approximate multipliers (fxflow.approx): "drum(k=4)", a registered name, "exact" (the default) --------
MODEL_KEYS += ("multiplier",)
LAYER_KEYS += ("multiplier",)


def _multiplier(value, where: str) -> str:
    """A multiplier spec, checked for syntax and a known family or name (widths are checked per layer)."""
    from .approx.multiplier import FAMILIES, multipliers, parse_spec

    try:
        name, _ = parse_spec(value)
    except ConfigError as e:
        raise ConfigError(f"config '{where}': {e}") from None
    if name not in FAMILIES and name not in ("table", "cfunc") and name not in multipliers():
        raise ConfigError(f"config '{where}': unknown multiplier {value!r} (families: {', '.join(FAMILIES)}, "
                          f"table, cfunc; names: {', '.join(multipliers())})")
    return value.strip()


# --- normalization (fxp.layernorm): internal formats, default "auto" (passes/assign_precision/transformer.py)
# `mean`, `norm` any format; `var`, `inv_std` unsigned (ap_ufixed: the variance and 1/sqrt are non-negative).
NORM_LAYER_KEYS = ("mean", "var", "inv_std", "norm")
LAYER_KEYS += NORM_LAYER_KEYS
# hls4ml arithmetic: hls4ml 1.3's LayerNorm (fxflow.fixed.layernorm.Hls4mlNorm) instead, its 1/sqrt table in
# the layer's `table` format (default ap_ufixed<8,5,AP_RND_CONV,AP_SAT>) with `table_size` entries (default
# 4096) over [10^-e, 10^-e + 2^-table_range_power2) (default 0); the four formats above are then unused.
LAYER_KEYS += ("table_range_power2",)


def _norm_settings(d: dict, where: str) -> dict:
    """The validated layernorm format keys of a layer section."""
    out: dict[str, Any] = {}
    for key in NORM_LAYER_KEYS:
        if key in d:
            fmt = _fmt(d[key], f"{where}.{key}", allow_auto=True)
            if key in ("var", "inv_std") and fmt != AUTO and fmt.signed:
                raise ConfigError(f"config '{where}.{key}' must be unsigned (ap_ufixed<...>) or auto, got {d[key]!r}")
            out[key] = fmt
    if "table_range_power2" in d:
        p = d["table_range_power2"]
        if isinstance(p, bool) or not isinstance(p, int) or p < 0:
            raise ConfigError(f"config '{where}.table_range_power2' must be an integer >= 0, got {p!r}")
        out["table_range_power2"] = p
    return out


# --- recurrent layers (fxp.rnn): per-gate formats (passes/assign_precision/recurrent.py) --------------
# `gate` the pre-activations (tables' input), `sigmoid` / `tanh` the table entries, `state` the LSTM cell
# state, `recurrent_weight` w_hh (default: the layer's `weight`), `recurrent_bias` b_hh (default: its `bias`);
# the tables take the layer's `table_size`.
RECURRENT_LAYER_KEYS = ("gate", "sigmoid", "tanh", "state", "recurrent_weight", "recurrent_bias")
LAYER_KEYS += RECURRENT_LAYER_KEYS


def _recurrent_settings(d: dict, where: str) -> dict:
    """The validated recurrent format keys of a layer section (`recurrent_weight` / `_bias` may be auto)."""
    return {key: _fmt(d[key], f"{where}.{key}", allow_auto=key.startswith("recurrent_"))
            for key in RECURRENT_LAYER_KEYS if key in d}


def _table_settings(d: dict, where: str) -> dict:
    """The validated table keys of a model or layer section."""
    from .fixed.softmax import IMPLEMENTATIONS
    from .fixed.table import check_table_size

    out: dict[str, Any] = {}
    for key in ("table_size", "exp_table_size", "inv_table_size"):
        if key in d:
            out[key] = check_table_size(d[key], f"{where}.{key}")
    if isinstance(d.get("softmax"), dict):  # {"implementation": "hccs", ...}: fxflow.fixed.hccs.parse_settings
        from .fixed.hccs import parse_settings

        out["softmax"] = parse_settings(d["softmax"], f"{where}.softmax")
    elif "softmax" in d:
        impl = str(d["softmax"]).strip().lower()
        if impl not in IMPLEMENTATIONS + ("hccs",):
            raise ConfigError(f"config '{where}.softmax' must be one of {', '.join(IMPLEMENTATIONS)}, hccs, "
                              f"got {d['softmax']!r}")
        out["softmax"] = impl
    for key in ("exp_table", "inv_table", "inv_input", "norm_input", "table"):
        if key in d:
            out[key] = _fmt(d[key], f"{where}.{key}")
    if "table_range" in d:
        r = d["table_range"]
        ok = (isinstance(r, (list, tuple)) and len(r) == 2
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in r))
        if not ok or not float(r[0]) < float(r[1]) or not all(abs(float(v)) < float("inf") for v in r):
            raise ConfigError(f"config '{where}.table_range' must be [lo, hi] with finite lo < hi, got {r!r}")
        out["table_range"] = (float(r[0]), float(r[1]))
    return out


@dataclass(frozen=True)
class TableConfig:
    """The effective table settings of one layer (None: derived from the formats, see passes/assign_precision/tables.py)."""

    table_size: int = 1024
    table_range: tuple[float, float] | None = None
    softmax: str = "stable"
    exp_table: FixedFormat | None = None
    inv_table: FixedFormat | None = None
    inv_input: FixedFormat | None = None
    norm_input: FixedFormat | None = None
    exp_table_size: int | None = None
    inv_table_size: int | None = None
    table: FixedFormat | None = None  # hls4ml arithmetic: a lut's table_t
# --- end of activation tables ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerConfig:
    weight: FixedFormat | str  # a format or AUTO
    bias: FixedFormat | str
    accum: FixedFormat | str  # a format, EXACT or AUTO
    result: FixedFormat | str
    reuse_factor: int
    strategy: str
    multiplier: str = "exact"  # fxflow.approx spec


@dataclass
class Config:
    precision: FixedFormat = field(default_factory=lambda: FixedFormat.parse("ap_fixed<16,6>"))
    input: FixedFormat | None = None
    weight: FixedFormat | None = None
    bias: FixedFormat | None = None
    accum: FixedFormat | str = EXACT
    result: FixedFormat | None = None
    reuse_factor: int = 1
    strategy: str = "latency"
    auto_tolerance: float = 2.0**-8
    layers: dict[str, dict[str, Any]] = field(default_factory=dict)
    arithmetic: str = "fxflow"  # "hls4ml": per-product accumulator casts and decimal weights (hls4ml_compat)
    tables: dict[str, Any] = field(default_factory=dict)  # model-level table defaults (TABLE_MODEL_KEYS)
    multiplier: str = "exact"  # model-wide multiplier of dense/conv (fxflow.approx)
    aliases: dict[str, str] = field(default_factory=dict)  # layer -> its torch.fx name (with_aliases)
    hls4ml_channels_last: str = "off"  # the hls4ml dict's ChannelsLastConversion (fxflow.hls4ml_layout)

    # --- construction ----------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict | None) -> "Config":
        if data is None:
            return cls()
        if isinstance(data, Config):
            return data
        from .hls4ml_compat import ARITHMETIC, from_hls4ml, is_hls4ml_config

        if is_hls4ml_config(data):  # the dict hls4ml's config_from_pytorch_model returns
            data = from_hls4ml(data)
        if not isinstance(data, dict):
            raise ConfigError(f"a config must be a dict with 'model' and 'layers' sections, got {type(data).__name__}")
        unknown = set(data) - {"model", "layers"}
        if unknown:
            raise ConfigError(f"unknown config section(s) {', '.join(sorted(map(str, unknown)))} "
                              "(expected 'model' and 'layers')")
        model = data.get("model") or {}
        if not isinstance(model, dict):
            raise ConfigError("config section 'model' must be a mapping")
        _check_keys(model, MODEL_KEYS, "model")
        tables = _table_settings(model, "model")  # activation tables
        cfg = cls()
        cfg.tables = tables
        if "arithmetic" in model:
            if model["arithmetic"] not in ARITHMETIC:
                raise ConfigError(f"config 'model.arithmetic' must be one of {', '.join(ARITHMETIC)}, "
                                  f"got {model['arithmetic']!r}")
            cfg.arithmetic = model["arithmetic"]
        if "hls4ml_channels_last" in model:
            if model["hls4ml_channels_last"] not in HLS4ML_CHANNELS_LAST:
                raise ConfigError(f"config 'model.hls4ml_channels_last' (hls4ml's ChannelsLastConversion) must be "
                                  f"one of {', '.join(HLS4ML_CHANNELS_LAST)}, got {model['hls4ml_channels_last']!r}")
            cfg.hls4ml_channels_last = model["hls4ml_channels_last"]
        if "precision" in model:
            cfg.precision = _fmt(model["precision"], "model.precision", allow_auto=True)
        if "input" in model:
            # "auto": the narrowest format holding the calibration data within auto_tolerance.  Whether an
            # input range is known (format, calibration data, the model's own input quantizer) is checked
            # once the model is (fxp-assign-precision).
            cfg.input = _fmt(model["input"], "model.input", allow_auto=True)
        for role in ("weight", "bias", "result"):
            if role in model:
                setattr(cfg, role, _fmt(model[role], f"model.{role}", allow_auto=True))
        if cfg.precision == AUTO and "accum" not in model:
            cfg.accum = AUTO
        if "auto_tolerance" in model:
            tol = model["auto_tolerance"]
            if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol < 1:
                raise ConfigError(f"config 'model.auto_tolerance' must be a number in (0, 1), got {tol!r}")
            cfg.auto_tolerance = float(tol)
        if "accum" in model:
            cfg.accum = _accum(model["accum"], "model.accum")
        if "multiplier" in model:
            cfg.multiplier = _multiplier(model["multiplier"], "model.multiplier")
        if "reuse_factor" in model:
            cfg.reuse_factor = _reuse(model["reuse_factor"], "model.reuse_factor")
        if "strategy" in model:
            cfg.strategy = _strategy(model["strategy"], "model.strategy")
        layers = data.get("layers") or {}
        if not isinstance(layers, dict):
            raise ConfigError("config section 'layers' must map layer names to settings")
        for name, settings in layers.items():
            where = f"layers.{name}"
            if not isinstance(settings, dict):
                raise ConfigError(f"config '{where}' must be a mapping of {', '.join(LAYER_KEYS)}")
            _check_keys(settings, LAYER_KEYS, where)
            parsed: dict[str, Any] = {}
            for role in ("weight", "bias", "result"):
                if role in settings:
                    parsed[role] = _fmt(settings[role], f"{where}.{role}", allow_auto=True)
            if "accum" in settings:
                parsed["accum"] = _accum(settings["accum"], f"{where}.accum")
            if "reuse_factor" in settings:
                parsed["reuse_factor"] = _reuse(settings["reuse_factor"], f"{where}.reuse_factor")
            if "strategy" in settings:
                parsed["strategy"] = _strategy(settings["strategy"], f"{where}.strategy")
            if "multiplier" in settings:
                parsed["multiplier"] = _multiplier(settings["multiplier"], f"{where}.multiplier")
            parsed.update(_table_settings(settings, where))  # activation tables
            parsed.update(_norm_settings(settings, where))  # layernorm formats
            parsed.update(_recurrent_settings(settings, where))  # LSTM/GRU formats
            cfg.layers[str(name)] = parsed
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> "Config":
        """Read a YAML (.yaml/.yml) or JSON config file."""
        return cls.from_dict(read_file(path, "config file"))

    # --- queries -----------------------------------------------------------------------------------
    @property
    def input_format(self) -> FixedFormat | str:
        """The input format, or AUTO (then calibration data or the model's input quantizer decides)."""
        return self.input or self.precision

    def layer(self, name: str | None) -> LayerConfig:
        """The effective settings of one layer (its own keys over the model defaults)."""
        own = self._own(name)
        return LayerConfig(
            weight=own.get("weight", self.weight or self.precision),
            bias=own.get("bias", self.bias or self.precision),
            accum=own.get("accum", self.accum),
            result=own.get("result", self.result or self.precision),
            reuse_factor=own.get("reuse_factor", self.reuse_factor),
            strategy=own.get("strategy", self.strategy),
            multiplier=own.get("multiplier", self.multiplier),
        )

    def with_layer_roles(self, name: str, roles: dict) -> "Config":
        """A copy in which the layer's own settings take `roles` (a pass resolving roles for one op)."""
        import dataclasses

        key = self._key(name) or name
        return dataclasses.replace(self, layers={**self.layers, key: {**self._own(name), **roles}})

    def with_aliases(self, aliases: dict[str, str]) -> "Config":
        """A copy that also finds a layer's settings under its alias (layer name -> torch.fx name of a
        functional call, as hls4ml's dicts name it; `fxflow.ir.layer_alias`)."""
        import dataclasses

        return dataclasses.replace(self, aliases={**self.aliases, **aliases}) if aliases else self

    def keyed_by(self, known: list[str]) -> "Config":
        """A copy whose per-layer settings are keyed by the model's own layer names `known` (settings under
        hls4ml's spelling or a torch.fx alias move to the layer they select), so lookups by name find them."""
        import dataclasses

        rename = {k: n for n in known for k in self._spellings(n) if k in self.layers}
        return dataclasses.replace(self, layers={rename.get(k, k): v for k, v in self.layers.items()})

    def own(self, name: str | None) -> dict:
        """The settings the config gives layer `name` itself (under any of its spellings)."""
        return dict(self._own(name))

    def without_layers(self, names) -> "Config":
        """A copy without the settings of layers `names` (layers the compilation removed)."""
        import dataclasses

        gone = {k for n in names for k in self._spellings(n)}
        return dataclasses.replace(self, layers={k: v for k, v in self.layers.items() if k not in gone}) \
            if gone & set(self.layers) else self

    def _spellings(self, name: str) -> list[str]:
        """The keys that select layer `name`: its own, hls4ml's spelling of a module path, its torch.fx alias."""
        from .hls4ml_compat import hls4ml_name

        return [name, hls4ml_name(name)] + ([self.aliases[name]] if name in self.aliases else [])

    def _key(self, name: str | None) -> str | None:
        return next((k for k in self._spellings(name) if k in self.layers), None) if name else None

    def _own(self, name: str | None) -> dict:
        """A layer's own settings, under its module path, hls4ml's spelling of it or its torch.fx alias."""
        key = self._key(name)
        return self.layers[key] if key is not None else {}

    def check_layers(self, known: list[str]) -> None:
        """Reject settings for layers the model does not have (typos must not be silently ignored)."""
        spelled = {k for n in known for k in self._spellings(n)}
        missing = [n for n in self.layers if n not in spelled]
        if missing:
            raise ConfigError(f"config names layer(s) {', '.join(repr(n) for n in missing)} that the model does "
                              f"not have; its layers are: {', '.join(known) or '(none)'}")

    def table_config(self, name: str | None) -> TableConfig:
        """The effective activation-table settings of one layer (its own keys over the model defaults)."""
        own = self._own(name)
        return TableConfig(**{k: own.get(k, self.tables.get(k)) for k in TABLE_LAYER_KEYS
                              if own.get(k, self.tables.get(k)) is not None})

    def norm_config(self, name: str | None) -> dict:
        """A layernorm's internal formats (`mean`, `var`, `inv_std`, `norm`): its own keys, else AUTO."""
        own = self._own(name)
        return {k: own.get(k, AUTO) for k in NORM_LAYER_KEYS}

    def hls4ml_norm_config(self, name: str | None) -> dict:
        """An hls4ml-style layernorm's table settings (`table`, `table_size`, `table_range_power2`): its own
        keys over hls4ml 1.3's defaults (its backend's, not fxflow's table defaults)."""
        from .fixed.layernorm import HLS4ML_RANGE_POWER2, HLS4ML_TABLE_SIZE, HLS4ML_TABLE_T

        own = self._own(name)
        return {"table": own.get("table", HLS4ML_TABLE_T), "table_size": own.get("table_size", HLS4ML_TABLE_SIZE),
                "table_range_power2": own.get("table_range_power2", HLS4ML_RANGE_POWER2)}

    def recurrent_config(self, name: str | None) -> dict:
        """An rnn layer's own recurrent keys (RECURRENT_LAYER_KEYS); absent keys take their defaults."""
        own = self._own(name)
        return {k: own[k] for k in RECURRENT_LAYER_KEYS if k in own}

    def to_dict(self) -> dict:
        def s(v):
            return str(v) if isinstance(v, FixedFormat) else v

        model = {"precision": str(self.precision), "accum": s(self.accum),
                 "reuse_factor": self.reuse_factor, "strategy": self.strategy,
                 "auto_tolerance": self.auto_tolerance}
        for role in ("input", "weight", "bias", "result"):
            if getattr(self, role) is not None:
                model[role] = str(getattr(self, role))
        model.update(self.tables)  # activation tables
        if self.arithmetic != "fxflow":
            model["arithmetic"] = self.arithmetic
        if self.hls4ml_channels_last != "off":
            model["hls4ml_channels_last"] = self.hls4ml_channels_last
        if self.multiplier != "exact":
            model["multiplier"] = self.multiplier
        return {"model": model, "layers": {n: {k: s(v) for k, v in d.items()} for n, d in self.layers.items()}}


def read_file(path: str | Path, what: str):
    """The data of a YAML (.yaml/.yml) or JSON file; errors name `what` and the path."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"cannot read {what} {path}: {e.strerror}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text)
        return json.loads(text)
    except Exception as e:  # yaml and json raise their own error types
        raise ConfigError(f"{what} {path} is not valid {path.suffix.lstrip('.') or 'JSON'}: {e}") from None


def _check_keys(d: dict, allowed: tuple, where: str) -> None:
    unknown = [k for k in d if k not in allowed]
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(repr(k) for k in unknown)} in config '{where}' "
                          f"(allowed: {', '.join(allowed)})")


def _fmt(value, where: str, allow_auto: bool = False):
    if allow_auto and isinstance(value, str) and value.strip().lower() == AUTO:
        return AUTO
    try:
        return FixedFormat.parse(value)
    except FormatError as e:
        raise ConfigError(f"config '{where}': {e}") from None


def _accum(value, where: str):
    if isinstance(value, str) and value.strip().lower() == EXACT:
        return EXACT
    return _fmt(value, where, allow_auto=True)


def _reuse(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"config '{where}' must be a positive integer, got {value!r}")
    return value


def _strategy(value, where: str) -> str:
    v = str(value).lower()
    if v not in STRATEGIES:
        raise ConfigError(f"config '{where}' must be one of {', '.join(STRATEGIES)}, got {value!r}")
    return v


def options_from_dict(cls, data, what: str):
    """A backend's options dataclass from a dict (None: defaults; an instance passes through); unknown keys
    are a ConfigError naming them and the known ones."""
    import dataclasses

    if data is None:
        return cls()
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"{what} options must be a dict, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    bad = sorted(set(data) - known)
    if bad:
        raise ConfigError(f"unknown {what} option(s) {', '.join(bad)} (known: {', '.join(sorted(known))})")
    return cls(**data)
