"""Bit-width reduction under an accuracy budget: narrower result and accumulator formats, layer by layer.

`reduce_precision(model, calibration_data, budget=...)` starts from a config (default: every format
"auto" — exact and never overflowing on the calibration data's range), then walks the layers in program
order and, for each accumulator and result, drops fractional bits as far as the design's output error
on the calibration data stays within `budget` (binary search per tensor; each accepted step is the whole
design evaluated bit-exactly).  Integer bits are kept: they come from the range analysis over the
calibration box, so the reduced design still cannot overflow on inputs inside it.

The model is imported once; every candidate re-runs only `fxp-assign-precision` on the float `fxp` IR
and the emulator.  The result carries the chosen config (a dict to pass back to `fxflow.compile`), the
compiled design, and the errors before and after.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .config import Config
from .errors import ConfigError
from .fixed import FixedFormat

METRICS = ("max_abs", "mean_abs", "rms", "accuracy")


@dataclass
class PrecisionSearchResult:
    """What `reduce_precision` chose and how well it does (errors on the calibration data)."""

    config: dict  # pass back to fxflow.compile(config=...) (with the same calibration_data)
    design: object  # the compiled Design with that config
    error: float  # metric of the chosen config
    baseline_error: float  # metric of the starting config
    budget: float
    metric: str
    met: bool  # error <= budget
    bits_before: int  # total result + accumulator bits of the starting config
    bits_after: int
    steps: list[dict] = field(default_factory=list)  # every evaluated candidate: layer, role, format, error

    def summary(self) -> str:
        state = "within" if self.met else "NOT within"
        return (f"{self.metric} error {self.error:.6g} ({state} budget {self.budget:.6g}; start {self.baseline_error:.6g}); "
                f"result+accumulator bits {self.bits_before} -> {self.bits_after} after {len(self.steps)} evaluations")


def reduce_precision(model, calibration_data, budget: float, metric: str | Callable = "max_abs",
                     example_input=None, config=None, rounding: str = "RND",
                     margin: float = 0.9) -> PrecisionSearchResult:
    """Narrow every layer's result and accumulator formats while the output error on `calibration_data`
    stays within `budget`.

    The error is measured against the float reference of the same network (`Design.predict_float`):
    `metric` is "max_abs", "mean_abs", "rms" (absolute output errors), "accuracy" (the fraction of samples
    whose argmax differs from the float model's: the accuracy loss), or a callable
    `metric(y_fixed, y_float) -> float` (lower is better).  `config` is the starting point (default
    `{"model": {"precision": "auto", "input": "auto"}}`; its formats are the widest considered);
    reduced formats round with `rounding`.  The search aims at `margin * budget`, leaving headroom for
    data it has not seen.  A budget the starting config already misses is reported with a
    warning and the best design found is returned (`met` False)."""
    from .compiler import as_inputs, compile

    score = _metric(metric)
    if not isinstance(budget, (int, float)) or isinstance(budget, bool) or budget < 0:
        raise ConfigError(f"the accuracy budget must be a non-negative number, got {budget!r}")
    if not 0 < margin <= 1:
        raise ConfigError(f"the search margin must be in (0, 1], got {margin!r}")
    data = as_inputs(calibration_data)
    if example_input is None and not isinstance(model, (str,)) and not hasattr(model, "__fspath__"):
        example_input = [np.asarray(d)[:1] for d in data]
        example_input = example_input[0] if len(example_input) == 1 else example_input
    start = Config.from_dict(config if config is not None else {"model": {"precision": "auto", "input": "auto"}})
    design = compile(model, example_input, config=start, calibration_data=data)
    name = metric if isinstance(metric, str) else getattr(metric, "__name__", "custom metric")
    search = _Search(design, data, score, rounding, name)
    layers = search.formats(start)
    bits_before = sum(f.width for roles in layers.values() for f in roles.values())
    baseline = search.error(start)
    current, err = _pin(start, layers), baseline
    if baseline <= budget:
        target = max(baseline, margin * budget)
        for layer, roles in layers.items():
            for role in ("accum", "result"):
                if role in roles:
                    current, err = search.narrow(current, layer, role, target, err)
    else:
        warnings.warn(f"the accuracy budget {budget:.6g} ({search.metric_name}) cannot be met: the starting config "
                      f"already has error {baseline:.6g} on the calibration data; returning it unchanged",
                      stacklevel=2)
    final = compile(model, example_input, config=current, calibration_data=data)
    bits_after = sum(f.width for roles in search.formats(current).values() for f in roles.values())
    return PrecisionSearchResult(config=current.to_dict(), design=final, error=err, baseline_error=baseline,
                                 budget=float(budget), metric=search.metric_name, met=err <= budget,
                                 bits_before=bits_before, bits_after=bits_after, steps=search.steps)


def _metric(metric) -> Callable:
    if callable(metric):
        return metric
    if metric == "max_abs":
        return lambda y, r: float(np.max(np.abs(y - r), initial=0.0))
    if metric == "mean_abs":
        return lambda y, r: float(np.mean(np.abs(y - r))) if y.size else 0.0
    if metric == "rms":
        return lambda y, r: float(np.sqrt(np.mean((y - r) ** 2))) if y.size else 0.0
    if metric == "accuracy":
        return lambda y, r: float(np.mean(np.argmax(y.reshape(len(y), -1), 1) != np.argmax(r.reshape(len(r), -1), 1)))
    raise ConfigError(f"unknown metric {metric!r} (expected one of {', '.join(METRICS)} or a callable)")


def _pin(cfg: Config, layers: dict) -> Config:
    """`cfg` with every layer's accumulator and result fixed to the formats it resolves to now, so that
    narrowing one tensor does not silently move the others."""
    data = cfg.to_dict()
    for layer, roles in layers.items():
        own = data["layers"].setdefault(layer, {})
        for role, fmt in roles.items():
            own[role] = str(fmt)
    return Config.from_dict(data)


class _Search:
    """Evaluates candidate configs on the float `fxp` IR of one compiled design (no re-import)."""

    def __init__(self, design, data: list, score: Callable, rounding: str, metric_name: str):
        from . import emulator
        from .ir import ir

        self.design, self.data, self.score, self.rounding = design, data, score, rounding
        self.metric_name = metric_name
        self.reference = [np.asarray(r) for r in _as_list(design.predict_float(data if len(data) > 1 else data[0]))]
        self.steps: list[dict] = []
        self._emulator, self._ir = emulator, ir

    def _module(self, cfg: Config):
        from fxflow.passes.assign_precision import AssignPrecisionOptions

        from .pipeline import run_passes

        module = self._ir.Module.parse(self.design.stages["fxp-float"], context=self.design.ctx)
        with self.design.ctx:
            run_passes(module, [("fxp-assign-precision", AssignPrecisionOptions(
                config_obj=cfg, calibration=self.data, produced_by="convert-linalg-to-fxp"))])
        return module

    def formats(self, cfg: Config) -> dict[str, dict[str, FixedFormat]]:
        """{layer: {"accum": fmt, "result": fmt}} of the ops that have them, in program order."""
        from .dialects.fxp import format_of
        from .ir import layer_name

        out: dict = {}
        module = self._module(cfg)
        with self.design.ctx:
            for fn in module.body.operations:
                for op in fn.regions[0].blocks[0].operations:
                    o = op.operation
                    layer = layer_name(o.location)
                    if not layer or o.name in ("fxp.constant", "func.return") or layer == "input":
                        continue
                    fmt = format_of(o.results[0].type) if len(o.results) == 1 else None
                    if fmt is None:
                        continue
                    roles = out.setdefault(layer, {})
                    if "accum" in o.attributes:
                        roles["accum"] = format_of(self._ir.TypeAttr(o.attributes["accum"]).value)
                    roles["result"] = fmt
        return out

    def error(self, cfg: Config) -> float:
        module = self._module(cfg)
        with self.design.ctx:
            program = self._emulator.compile_program(module)
        outs = self._emulator.run(program, self.data)
        from .fixed.quantize import to_float

        errs = []
        for t, ref in zip(outs, self.reference):
            y = np.asarray(to_float(t.data, t.fmt.f) if t.fmt is not None else t.data, dtype=np.float64)
            errs.append(self.score(y.reshape(ref.shape), ref))
        return max(errs)

    def narrow(self, cfg: Config, layer: str, role: str, budget: float, err: float) -> tuple[Config, float]:
        """The smallest fractional bit count of (layer, role) whose design stays within budget (binary
        search over f; every accepted candidate was evaluated as a whole design)."""
        fmt = FixedFormat.parse(cfg.layers[layer][role]) if isinstance(cfg.layers[layer][role], str) \
            else cfg.layers[layer][role]
        lo, hi = -(fmt.k + fmt.i) + 1, fmt.f  # W = k + i + f >= 1
        best_cfg, best_err = cfg, err
        while lo < hi:
            mid = (lo + hi) // 2
            cand_fmt = FixedFormat(fmt.k, fmt.i, mid, self.rounding if mid < fmt.f else fmt.rounding, fmt.overflow)
            cand = _with(cfg, layer, role, cand_fmt)
            e = self.error(cand)
            self.steps.append({"layer": layer, "role": role, "format": str(cand_fmt), "error": e})
            if e <= budget:
                hi, best_cfg, best_err = mid, cand, e
            else:
                lo = mid + 1
        return best_cfg, best_err


def _with(cfg: Config, layer: str, role: str, fmt: FixedFormat) -> Config:
    data = cfg.to_dict()
    data["layers"].setdefault(layer, {})[role] = str(fmt)
    return Config.from_dict(data)


def _as_list(x) -> list:
    return list(x) if isinstance(x, list) else [x]



ConfigEvaluator = _Search  # public name: fxflow.approx.search evaluates candidate configs the same way
error_metric = _metric  # public name: fxflow.dse.eval scores sweep points with the same metrics
