"""Design-space sweeps: compile one model under every point of a space, measure each point, keep the table.

    r = fxflow.sweep(model, {"model.reuse_factor": [1, 2, 4], "model.precision": ["ap_fixed<16,6>", ...],
                             "io_type": ["io_parallel", "io_stream"]}, data=x, labels=y)
    r.records              # one flat dict per point, in space order (pandas.DataFrame(r.records))
    r.pareto()             # the non-dominated points: max accuracy, min lut / dsp / latency_cycles
    r.write("sweep.csv"); r.plot("pareto.png")

The model is imported once (`fxflow.compiler.ImportedProgram`); each point re-runs the passes from the
`linalg` stage with its settings (`fxflow.dse.space`), then the bit-exact emulator on the data and the
estimator (`fxflow.dse.eval`).  Points run on Ray when it is installed (`fxflow.dse.run`), else serially,
with the same records; every finished point is cached by content hash (`fxflow.dse.cache`), so a rerun
only computes what changed.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fxflow.errors import ConfigError, ShapeError

MAXIMIZED = ("accuracy", "float_accuracy")  # objectives whose larger values are better; all others: smaller
DEFAULT_COSTS = ("lut", "dsp", "latency_cycles")


@dataclass
class SweepResult:
    records: list[dict]  # one per point, in space order
    objectives: dict[str, str]  # column -> "max" | "min", the default of pareto() and plot()
    executor: str  # "ray" or "serial" (what computed the points that were not cached)
    cache_hits: int
    computed: int
    seconds: float
    settings: list[str] = field(default_factory=list)  # the swept paths (columns after "point")

    def failed(self) -> list[dict]:
        return [r for r in self.records if r["status"] != "ok"]

    def columns(self) -> list[str]:
        return list(dict.fromkeys(k for r in self.records for k in r))

    def pareto(self, objectives: dict | list | None = None) -> list[dict]:
        """The successful points no other one beats in every objective (and strictly in one), in point order;
        `objectives` is a list of columns (accuracy maximized, the others minimized) or {column: "max"|"min"}."""
        obj = _objectives(objectives) if objectives is not None else self.objectives
        ok = [r for r in self.records if r["status"] == "ok"]
        missing = [c for c in obj if not any(_number(r.get(c)) for r in ok)]
        if missing and ok:
            raise ConfigError(f"objective(s) {', '.join(missing)} are not numeric columns of this sweep "
                              f"(columns: {', '.join(self.columns())})")
        ok = [r for r in ok if all(_number(r.get(c)) for c in obj)]  # e.g. a backend without that cost
        vecs = [(r, [r[c] if d == "min" else -r[c] for c, d in obj.items()]) for r in ok]
        return [r for r, v in vecs if not any(_dominates(w, v) for _, w in vecs)]

    def table(self, columns: list[str] | None = None, records: list[dict] | None = None) -> str:
        """An aligned text table of `columns` (default: point, settings, status, objectives) of `records`
        (default: all; e.g. `pareto()`)."""
        cols = columns or ["point", *self.settings, "status", *self.objectives]
        rows = [[_text(r.get(c)) for c in cols] for r in (self.records if records is None else records)]
        width = [max([len(c), *(len(row[i]) for row in rows)]) for i, c in enumerate(cols)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(cols, width))]
        lines += ["  ".join(v.ljust(w) for v, w in zip(row, width)) for row in rows]
        return "\n".join(lines)

    def summary(self) -> str:
        try:
            front = f"{len(self.pareto())} points"
        except ConfigError:  # objectives this sweep's backend does not report
            front = f"none ({', '.join(self.objectives)} not all measured)"
        return (f"{len(self.records)} points ({len(self.failed())} failed): {self.computed} computed on "
                f"{self.executor}, {self.cache_hits} from the cache, {self.seconds:.1f} s; Pareto front: {front}")

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns(), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.records)
        return buf.getvalue()

    def to_json(self) -> str:
        try:
            front = [r["point"] for r in self.pareto()]
        except ConfigError:  # the objectives are not columns of these records (e.g. a Versal plan): no front
            front = None
        return json.dumps({"records": self.records, "objectives": self.objectives, "pareto": front}, indent=1)

    def write(self, path) -> Path:
        """The records as CSV (.csv) or JSON (.json: records, objectives, the Pareto points' indices)."""
        path = Path(path)
        if path.suffix.lower() not in (".csv", ".json"):
            raise ConfigError(f"sweep results are written as .csv or .json, not '{path.name}'")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_csv() if path.suffix.lower() == ".csv" else self.to_json())
        return path

    def plot(self, path, x: str | None = None, y: str | None = None) -> Path:
        """Every successful point and the Pareto front (PNG): `y` the first objective (the accuracy metric when
        there is data), `x` the next one."""
        if Path(path).suffix.lower() not in (".png", ".svg", ".pdf"):
            raise ConfigError(f"a sweep plot is written as .png, .svg or .pdf, not '{Path(path).name}'")
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = list(self.objectives)
        y = y or names[0]
        x = x or next((c for c in names if c != y), y)
        ok = [r for r in self.records if r["status"] == "ok" and _number(r.get(x)) and _number(r.get(y))]
        front = [r for r in self.pareto() if _number(r.get(x)) and _number(r.get(y))]
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        ax.scatter([r[x] for r in ok], [r[y] for r in ok], s=16, color="0.6", label=f"{len(ok)} points")
        ax.scatter([r[x] for r in front], [r[y] for r in front], s=36, color="C3",
                   label=f"Pareto front ({', '.join(self.objectives)})")
        flat = _front_2d(front, x, y, self.objectives.get(x, "min"), self.objectives.get(y, "min"))
        if len(flat) > 1:
            ax.step([r[x] for r in flat], [r[y] for r in flat], where="post", color="C3", lw=1)
        if ok and min(r[x] for r in ok) > 0 and max(r[x] for r in ok) > 100 * min(r[x] for r in ok):
            ax.set_xscale("log")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


def sweep(model, space, metric="accuracy", data=None, labels=None, *, example_input=None, config=None,
          objectives=None, executor: str = "auto", address: str | None = None, num_cpus: int | None = None,
          cache: bool = True, cache_dir=None, progress: bool = True, part: str | None = None, clock=None,
          yosys: bool = False, calibration_data=None, **options) -> SweepResult:
    """Compile `model` at every point of `space` and measure each one (see the module doc).

    `space`: {path: [values]} (grid), [{path: value}, ...] (points), or a YAML/JSON file of either; paths are
    `model.<key>`, `layers.<layer>.<key>`, compile arguments (`io_type`, `backend`) and `<arg>.<key>` for
    dict-valued ones (`rtl.products`, `versal.partition`).  `config` and `options` (compile keyword
    arguments) are shared by all points.  `data` (N, *input_shape) is what accuracy and errors are measured
    on (without it only costs are recorded), `labels` (N,) class indices; `metric` ("accuracy", "max_abs",
    "mean_abs", "rms" or a callable `metric(y_fixed, labels_or_float) -> loss`) and `objectives` (cost
    columns, default lut, dsp, latency_cycles; or {column: "max"|"min"}) define the Pareto front.
    `executor`: "auto" (Ray when installed), "ray" or "serial"; `address` ("host:port" of a head node started with
    `ray start --head`) runs the points on that Ray cluster instead of a local instance.  `progress=False`
    silences the progress bar (stderr: points done of all, cached, failed).
    `cache_dir` (default `$FXFLOW_CACHE/sweep` or ~/.cache/fxflow/sweep) keeps each point's record;
    `cache=False` computes everything.  `part`/`clock` go to `Design.report`; `yosys=True` adds yosys
    counts (RTL backend; slow)."""
    from fxflow.dse import cache as dse_cache
    from fxflow.compiler import ImportedProgram, as_inputs, compile
    from fxflow.version import __version__
    from fxflow.dse.eval import Job
    from fxflow.dse.run import EXECUTORS, Progress, ray_available, run_ray, run_serial
    from fxflow.dse.space import base_config, compile_options, load_space

    t0 = time.perf_counter()
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown sweep executor {executor!r} (expected one of {', '.join(EXECUTORS)})")
    if address and executor == "serial":
        raise ConfigError(f"sweep address={address!r} is a Ray cluster: it needs executor 'ray' or 'auto', not 'serial'")
    allowed = compile_options()
    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise ConfigError(f"unknown sweep option(s) {', '.join(unknown)} (compile arguments: {', '.join(allowed)})")
    points = load_space(space)
    settings = list(dict.fromkeys(p for point in points for p in point))
    shared_config = base_config(config)
    inputs = None if data is None else [np.asarray(d, dtype=np.float64) for d in as_inputs(data)]
    y = _labels(labels, inputs)
    metric_fn, metric_name = _metric(metric)
    calib = None if calibration_data is None else as_inputs(calibration_data)
    if example_input is None and inputs is not None and not isinstance(model, ImportedProgram):
        example_input = [d[:1] for d in inputs] if len(inputs) > 1 else inputs[0][:1]
    # the one import; the layers the space names get empty sections, so an unknown one is an error here
    probe = {**shared_config, "layers": {**{p.split(".")[1]: {} for p in settings if p.startswith("layers.")},
                                         **(shared_config.get("layers") or {})}}
    try:
        program = ImportedProgram.of(compile(model, example_input, config=probe, calibration_data=calib))
    except ConfigError as e:
        raise ConfigError(f"sweep space {', '.join(settings)} with the shared config: {e}") from None
    job = Job(program=program, config=shared_config, options=options, data=inputs, labels=y, metric=metric_fn,
              metric_name=metric_name if metric_fn is not None else None, calibration=calib, part=part,
              clock=clock, yosys=yosys)
    shared = {"program": dse_cache.text_digest(program.linalg), "config": shared_config,
              "options": options, "data": dse_cache.array_digest(inputs),
              "labels": dse_cache.array_digest(None if y is None else [y]),
              "calibration": dse_cache.array_digest(calib), "metric": dse_cache.metric_digest(metric_fn),
              "report": [part, str(clock), yosys], "version": __version__}
    folder = Path(cache_dir) if cache_dir is not None else dse_cache.default_dir()
    keys = [dse_cache.key(shared, p) for p in points]
    records: dict[int, dict] = {}
    if cache:
        for i, k in enumerate(keys):
            hit = dse_cache.load(folder, k)
            if hit is not None:
                records[i] = {**hit, "point": i, "cached": True}  # its place in this space, not the storing run's
    hits = len(records)
    todo = [(i, p) for i, p in enumerate(points) if i not in records]
    use_ray = executor == "ray" or (executor == "auto" and (bool(address) or ray_available()))
    label = "ray" if use_ray else "serial"
    bar = Progress(len(points), hits, sum(r["status"] != "ok" for r in records.values()), progress, label)
    try:
        if todo:
            fresh = run_ray(job, todo, bar, address, num_cpus) if use_ray else run_serial(job, todo, bar)
            for i, record in fresh.items():
                if cache:
                    dse_cache.store(folder, keys[i], record)
                records[i] = {**record, "cached": False}
    finally:
        bar.close()
    obj = _objectives(objectives, metric_name if inputs is not None else None)
    return SweepResult(records=[records[i] for i in range(len(points))], objectives=obj, executor=label,
                       cache_hits=hits, computed=len(todo), seconds=time.perf_counter() - t0, settings=settings)


def _labels(labels, inputs):
    if labels is None:
        return None
    if inputs is None:
        raise ConfigError("sweep labels need data to go with them")
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(inputs[0]):
        raise ShapeError(f"sweep labels must be one class index per sample ({len(inputs[0])}), got shape {y.shape}")
    return y.astype(np.int64)


def _metric(metric):
    """(callable or None, column name) of the accuracy objective."""
    from fxflow.dse.eval import ERROR_METRICS

    if callable(metric):
        name = getattr(metric, "__name__", "metric")
        return metric, ("metric" if name == "<lambda>" else name)
    if metric == "accuracy" or metric in ERROR_METRICS:
        return None, metric
    raise ConfigError(f"unknown sweep metric {metric!r} (expected accuracy, {', '.join(ERROR_METRICS)} or a callable)")


def _objectives(objectives, metric_name: str | None = None) -> dict[str, str]:
    if isinstance(objectives, dict):
        bad = {k: v for k, v in objectives.items() if v not in ("max", "min")}
        if bad:
            raise ConfigError(f"objective directions must be 'max' or 'min', got {bad}")
        return dict(objectives)
    names = list(objectives) if objectives is not None else list(DEFAULT_COSTS)
    if metric_name and metric_name not in names:
        names.insert(0, metric_name)
    if not names:
        raise ConfigError("a Pareto front needs at least one objective")
    return {n: "max" if n in MAXIMIZED else "min" for n in names}


def _dominates(a: list, b: list) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def _front_2d(records: list[dict], x: str, y: str, dx: str, dy: str) -> list[dict]:
    """The records on the 2-D front of (x, y), by increasing x (for the plot's staircase)."""
    sx, sy = (1 if dx == "min" else -1), (1 if dy == "min" else -1)
    out, best = [], math.inf
    for r in sorted(records, key=lambda r: (sx * r[x], sy * r[y])):
        if sy * r[y] < best:
            out.append(r)
            best = sy * r[y]
    return sorted(out, key=lambda r: r[x])


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _text(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else str(v)
