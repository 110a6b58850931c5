"""One sweep point: compile the imported model with the point's settings, then measure it.

`evaluate(job, index, point)` is what every executor runs, in this process or in a Ray worker, so a
point's record depends on nothing but its inputs.  A record is a flat dict of JSON values (pandas-friendly):
`point`, the point's settings (one column per path), `status` ("ok" / "error"), `error` and
`error_type` (the exception's class), then — on
data — `accuracy` (argmax against the labels, or against the float model without labels), `max_abs`,
`mean_abs`, `rms` (output error against the float model; the bit-exact emulator's `predict` against
`predict_float`) and a custom metric's column, then the cost estimates of `Design.report()`'s totals
(HLS: latency_cycles, ii, dsp, lut, ff, bram18, uram, latency_ns, ...; AIE and RTL: their report's totals),
with `yosys.*` counts when asked for on the RTL backend, and `seconds` (run-dependent, like `cached`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from fxflow.errors import FxflowError

ERROR_METRICS = ("max_abs", "mean_abs", "rms")
RUN_FIELDS = ("seconds", "cached")  # differ between runs of the same space; everything else is deterministic


@dataclass
class Job:
    """Everything a point needs besides its settings; shipped once to each Ray worker (ray.put)."""

    program: object  # fxflow.compiler.ImportedProgram
    config: dict  # shared config dict (fxflow.dse.space.base_config)
    options: dict  # shared compile keyword arguments
    data: list | None  # model inputs, one array per input
    labels: np.ndarray | None
    metric: Callable | None  # custom metric(y_fixed, reference) -> float, lower is better
    metric_name: str | None
    calibration: list | None
    part: str | None = None
    clock: object = None
    yosys: bool = False


def evaluate(job: Job, index: int, point: dict) -> dict:
    """The record of one point; a point that fails records its error (message and exception type)
    instead of raising, so the sweep goes on."""
    from fxflow.dse.space import apply

    record = {"point": index, **point, "status": "ok", "error": None, "error_type": None}
    t0 = time.perf_counter()
    try:
        record.update(_measure(job, *apply(point, job.config, job.options)))
    except Exception as e:  # also a bug or a tool failure must not end the sweep; error_type says which
        record.update(status="error", error=str(e) or type(e).__name__, error_type=type(e).__name__)
    record["seconds"] = round(time.perf_counter() - t0, 4)
    return json.loads(json.dumps(record))  # plain JSON values: a cached record reads back identical


def _measure(job: Job, config: dict, options: dict) -> dict:
    from fxflow.compiler import compile

    design = compile(job.program, config=config, calibration_data=job.calibration, **options)
    out = {}
    if job.data is not None:
        out.update(scores(design, job.data, job.labels, job.metric, job.metric_name))
    report = design.report(part=job.part, clock=job.clock)
    out.update(flatten(report.get("total", report)))  # HLS/RTL: per layer + "total"; AIE: the totals at the top
    if job.yosys:  # backends without synth raise an FxflowError naming themselves
        counts = design.synth(verbose=False)
        if "total" not in counts:
            raise FxflowError(f"yosys counts of the '{design.backend}' backend have no design total (sweep "
                              "yosys columns need the RTL backend)")
        out.update({f"yosys.{k}": v for k, v in flatten(counts["total"]).items()})
    return out


def scores(design, data: list, labels, metric: Callable | None, metric_name: str | None) -> dict:
    """Accuracy and output errors of the bit-exact emulator against the float model (first output for
    accuracy; errors over all outputs)."""
    from fxflow.precision_search import error_metric

    x = data if len(data) > 1 else data[0]
    fixed, ref = _outputs(design.predict(x)), _outputs(design.predict_float(x))
    out = {}
    if labels is not None:
        out["accuracy"] = float(np.mean(np.argmax(fixed[0], 1) == labels))
        out["float_accuracy"] = float(np.mean(np.argmax(ref[0], 1) == labels))
    else:
        out["accuracy"] = 1.0 - error_metric("accuracy")(fixed[0], ref[0])
    for name in ERROR_METRICS:
        out[name] = max(error_metric(name)(y, r) for y, r in zip(fixed, ref))
    if metric is not None:
        out[metric_name] = float(metric(fixed[0] if len(fixed) == 1 else fixed,
                                        labels if labels is not None else (ref[0] if len(ref) == 1 else ref)))
    return out


def flatten(total: dict) -> dict:
    """A report's totals as flat scalar columns (`utilization.dsp` for nested mappings)."""
    out = {}
    for key, value in total.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in flatten(value).items()})
        elif isinstance(value, (bool, int, float, str)) or value is None:  # (per-layer lists are left out)
            out[key] = value
        elif isinstance(value, (np.integer, np.floating)):
            out[key] = value.item()
    return out


def _outputs(y) -> list[np.ndarray]:
    return [np.asarray(v, dtype=np.float64).reshape(len(v), -1) for v in (y if isinstance(y, list) else [y])]
