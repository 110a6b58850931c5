"""Design-space sweeps (fxflow.dse): a Ray sweep of the bundled jet tagger equals the serial one and is served
from the cache on a rerun; each record equals compiling that point from scratch; failing points are recorded;
bad spaces are errors naming the setting; Pareto front, CSV/JSON, plot and the CLI."""

from __future__ import annotations

import csv
import json
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import fxflow
from fxflow.dse import SweepResult
from fxflow.dse.eval import RUN_FIELDS
from fxflow.errors import ConfigError, ToolchainError
from fxflow.examples import load
from toolchains import needs

EX = load("jet_tagger")
BASE = {"model": {"input": "ap_fixed<8,3>", "weight": "ap_fixed<8,2>"}}


@pytest.fixture(scope="module")
def jet():
    return EX.make_model(), EX.make_inputs(200, seed=3)


def _same(a: list[dict], b: list[dict]) -> bool:
    strip = lambda rs: [{k: v for k, v in r.items() if k not in RUN_FIELDS} for r in rs]  # noqa: E731
    return strip(a) == strip(b)


def test_ray_sweep_of_54_points_equals_serial_and_reruns_from_the_cache(jet, tmp_path):
    needs("ray")  # (checked without importing Ray: importing it first would skip its loopback-only setting)
    model, x = jet
    space = {"model.reuse_factor": [1, 2, 4], "model.precision": ["ap_fixed<16,6>", "ap_fixed<12,5>", "ap_fixed<8,4>"],
             "io_type": ["io_parallel", "io_stream"], "layers.fc2.reuse_factor": [1, 2, 4]}
    kw = dict(data=x, config=BASE, cache_dir=tmp_path / "cache", progress=False)
    ray_run = fxflow.sweep(model, space, executor="ray", num_cpus=2, **kw)
    assert ray_run.executor == "ray" and ray_run.computed == 54 and ray_run.cache_hits == 0 and not ray_run.failed()
    serial = fxflow.sweep(model, space, executor="serial", cache=False, **kw)
    assert serial.executor == "serial" and _same(ray_run.records, serial.records)
    # space order, whatever the completion order: the grid's last setting varies fastest
    assert [r["point"] for r in ray_run.records] == list(range(54))
    assert [r["layers.fc2.reuse_factor"] for r in ray_run.records[:4]] == [1, 2, 4, 1]
    rerun = fxflow.sweep(model, space, executor="ray", **kw)
    assert rerun.cache_hits == 54 and rerun.computed == 0 and all(r["cached"] for r in rerun.records)
    assert _same(rerun.records, ray_run.records)
    # the knobs move the costs the way the estimator says: reuse 4 takes fewer LUTs than reuse 1, more cycles
    by = {(r["model.reuse_factor"], r["model.precision"], r["io_type"], r["layers.fc2.reuse_factor"]): r
          for r in ray_run.records}
    one, four = by[1, "ap_fixed<16,6>", "io_parallel", 1], by[4, "ap_fixed<16,6>", "io_parallel", 4]
    assert four["lut"] < one["lut"] and four["latency_cycles"] > one["latency_cycles"]
    front = ray_run.pareto()
    assert front and all(r["status"] == "ok" for r in front)


def test_points_equal_their_own_compile_and_failures_are_recorded(jet, tmp_path):
    model, x = jet
    labels = np.argmax(model(torch.tensor(x, dtype=torch.float32)).detach().numpy(), 1)
    labels[::7] = (labels[::7] + 1) % 5  # not the float model's own answers
    points = [{"layers.fc1.multiplier": "mitchell", "model.reuse_factor": 2},
              {"model.reuse_factor": 0},  # a bad value: recorded, the sweep goes on
              {"io_type": "io_stream", "backend": "rtl"},  # an unsupported combination
              {"model.precision": "ap_fixed<10,4>", "io_type": "io_stream", "backend": "catapult"},
              {"model.precision": "ap_fixed<8,3>", "backend": "aie", "aie.batch": 16}]  # a dict-valued argument
    r = fxflow.sweep(model, points, data=x, labels=labels, config=BASE, executor="serial", cache_dir=tmp_path,
                     progress=False, clock="250MHz")
    assert [rec["status"] for rec in r.records] == ["ok", "error", "error", "ok", "ok"]
    assert "model.reuse_factor" in r.records[1]["error"] and r.records[1]["error_type"] == "ConfigError"
    assert "io_stream" in r.records[2]["error"]
    for rec, point in ((r.records[0], points[0]), (r.records[3], points[3]), (r.records[4], points[4])):
        cfg = json.loads(json.dumps(BASE))
        for path, value in point.items():
            if path.startswith("model."):
                cfg["model"][path[6:]] = value
            elif path.startswith("layers."):
                cfg.setdefault("layers", {}).setdefault(path.split(".")[1], {})[path.split(".")[2]] = value
        kwargs = {k: v for k, v in point.items() if "." not in k}
        if "aie.batch" in point:
            kwargs["aie"] = {"batch": point["aie.batch"]}
        design = fxflow.compile(model, x[:1], config=cfg, **kwargs)
        y = design.predict(x)
        assert rec["accuracy"] == float(np.mean(np.argmax(y, 1) == labels))
        assert rec["max_abs"] == float(np.max(np.abs(y - design.predict_float(x))))
        if "aie.batch" in point:  # the AIE report's totals are at its top level
            total = design.report()
            assert (rec["tiles"], rec["batch"], rec["latency_cycles"]) == (total["tiles"], 16, total["latency_cycles"])
            continue
        total = design.report(clock="250MHz")["total"]
        assert (rec["lut"], rec["dsp"], rec["latency_cycles"], rec["clock_mhz"]) == \
            (total["lut"], total["dsp"], total["latency_cycles"], 250.0)
    assert r.records[0]["float_accuracy"] == r.records[3]["float_accuracy"] < 1.0
    # deterministic errors are cached too; other data is another key
    again = fxflow.sweep(model, points, data=x, labels=labels, config=BASE, executor="serial", cache_dir=tmp_path,
                         progress=False, clock="250MHz")
    assert again.cache_hits == 5 and _same(again.records, r.records)
    other = fxflow.sweep(model, points[:1], data=x[:100], config=BASE, executor="serial", cache_dir=tmp_path,
                         progress=False)
    assert other.cache_hits == 0 and "float_accuracy" not in other.records[0]
    # a cached point takes its place in the new space, not the index it had when it was stored
    reordered = fxflow.sweep(model, points[::-1], data=x, labels=labels, config=BASE, executor="serial",
                             cache_dir=tmp_path, progress=False, clock="250MHz")
    assert reordered.cache_hits == 5 and [r["point"] for r in reordered.records] == list(range(5))
    assert _same([{**a, "point": 0} for a in reordered.records[::-1]], [{**b, "point": 0} for b in r.records])


@pytest.mark.parametrize("space, message", [
    ({"model.reuse_factr": [1]}, "model.reuse_factr"),
    ({"modle.precision": ["ap_fixed<8,3>"]}, "'modle' is neither a config section"),
    ({"layers.fc1": [1]}, "layers.fc1"),
    ({"layers.fc9.reuse_factor": [2]}, "'fc9'"),
    ({"rtl.products.x": ["mul"]}, "rtl.products.x"),
    ({"model.reuse_factor": []}, "non-empty list"),
    ({"model.reuse_factor": [object()]}, "not a plain value"),
    ([], "no points"),
])
def test_bad_spaces_name_the_setting(jet, space, message):
    model, x = jet
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        fxflow.sweep(model, space, data=x[:10], executor="serial", cache=False, progress=False)


def test_bad_arguments_and_the_serial_fallback(jet, tmp_path, monkeypatch):
    model, x = jet
    with pytest.raises(ConfigError, match="executor 'dask'"):
        fxflow.sweep(model, {"model.reuse_factor": [1]}, executor="dask")
    with pytest.raises(ConfigError, match="unknown sweep option.*io_typ"):
        fxflow.sweep(model, {"model.reuse_factor": [1]}, io_typ="io_stream")
    with pytest.raises(ConfigError, match="unknown sweep metric"):
        fxflow.sweep(model, {"model.reuse_factor": [1]}, metric="f1", data=x)
    import fxflow.dse.run as run

    monkeypatch.setattr(run, "ray_available", lambda: False)  # as if Ray were not installed
    r = fxflow.sweep(model, {"model.reuse_factor": [1, 2]}, data=x, cache=False, progress=False)
    assert r.executor == "serial" and len(r.records) == 2
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ToolchainError, match=r"ray==2\.60\.0"):
        fxflow.sweep(model, {"model.reuse_factor": [3]}, data=x, executor="ray", cache=False, progress=False)
    # without data: costs only, and a custom metric is a column of its own
    costs = fxflow.sweep(model, {"model.reuse_factor": [1, 2]}, example_input=x[:1], executor="serial", cache=False,
                         progress=False)
    assert "accuracy" not in costs.records[0] and "lut" in costs.records[0] and list(costs.objectives)[0] == "lut"

    def worst(y, ref):
        return float(np.max(np.abs(y - ref)))

    m = fxflow.sweep(model, {"model.precision": ["ap_fixed<16,6>"]}, metric=worst, data=x, executor="serial",
                     cache=False, progress=False)
    assert m.records[0]["worst"] == m.records[0]["max_abs"] and list(m.objectives)[0] == "worst"


def _records(rows):
    return [{"point": i, "status": "ok", "accuracy": a, "lut": c, "latency_cycles": lat}
            for i, (a, c, lat) in enumerate(rows)]


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.5, 0.7, 0.9, 1.0]), st.integers(1, 6), st.integers(1, 4)),
                min_size=1, max_size=12))
def test_pareto_front_is_exactly_the_non_dominated_points(rows):
    recs = _records(rows)
    r = SweepResult(records=recs, objectives={"accuracy": "max", "lut": "min", "latency_cycles": "min"},
                    executor="serial", cache_hits=0, computed=len(recs), seconds=0.0)

    def beats(a, b):
        ge = a["accuracy"] >= b["accuracy"] and a["lut"] <= b["lut"] and a["latency_cycles"] <= b["latency_cycles"]
        return ge and (a["accuracy"], a["lut"], a["latency_cycles"]) != (b["accuracy"], b["lut"], b["latency_cycles"])

    front = r.pareto()
    assert [p["point"] for p in front] == [p["point"] for p in recs if not any(beats(q, p) for q in recs)]
    assert all(r2["point"] in {p["point"] for p in front} for r2 in recs
               if all(r2["lut"] <= q["lut"] for q in recs) and all(r2["accuracy"] >= q["accuracy"] for q in recs)
               and all(r2["latency_cycles"] <= q["latency_cycles"] for q in recs))


def test_tables_files_plot_and_objective_errors(tmp_path):
    recs = _records([(0.9, 100, 2), (0.95, 300, 3), (0.8, 50, 2), (0.85, 400, 5)])
    recs.append({"point": 4, "status": "error", "error": "config 'model.reuse_factor' ...", "accuracy": None})
    r = SweepResult(records=recs, objectives={"accuracy": "max", "lut": "min"}, executor="ray", cache_hits=1,
                    computed=4, seconds=1.0, settings=[])
    assert [p["point"] for p in r.pareto()] == [0, 1, 2]
    assert [p["point"] for p in r.pareto(["lut"])] == [2] and [p["point"] for p in r.pareto({"accuracy": "min"})] == [2]
    with pytest.raises(ConfigError, match="'dsp'|dsp"):
        r.pareto(["dsp"])
    with pytest.raises(ConfigError, match="'max' or 'min'"):
        r.pareto({"lut": "smallest"})
    rows = list(csv.DictReader(open(r.write(tmp_path / "s.csv"))))
    assert len(rows) == 5 and rows[1]["lut"] == "300" and rows[4]["status"] == "error" and rows[4]["lut"] == ""
    doc = json.loads(r.write(tmp_path / "s.json").read_text())
    assert doc["records"] == recs and doc["pareto"] == [0, 1, 2]
    with pytest.raises(ConfigError, match=r"\.csv or \.json"):
        r.write(tmp_path / "s.xlsx")
    png = r.plot(tmp_path / "p.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "4 computed on ray, 1 from the cache" in r.summary() and "0.95" in r.table()


def test_cli_sweep_of_a_bundled_example(tmp_path, capsys):
    from fxflow.cli import main

    space = tmp_path / "space.yaml"
    space.write_text("- {model.reuse_factor: 1}\n"
                     "- {model.reuse_factor: 4, io_type: io_stream}\n"
                     "- {model.reuse_factor: -1}\n")
    args = ["sweep", "jet_tagger", "--space", str(space), "--samples", "100", "--serial", "--cache-dir",
            str(tmp_path / "c"), "--out", str(tmp_path / "r.csv"), "--plot", str(tmp_path / "p.png")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "3 points (1 failed)" in out and "point 2 failed: ConfigError" in out and "Pareto front" in out
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert [row["status"] for row in rows] == ["ok", "ok", "error"] and (tmp_path / "p.png").exists()
    assert main(args) == 0 and "0 computed on serial, 3 from the cache" in capsys.readouterr().out
    (tmp_path / "bad.yaml").write_text("{io_typ: [io_stream]}\n")
    assert main(["sweep", "jet_tagger", "--space", str(tmp_path / "bad.yaml"), "--serial"]) == 1
    assert "'io_typ' is neither" in capsys.readouterr().err
    # output names are checked before any point runs
    assert main(["sweep", "jet_tagger", "--space", str(space), "--serial", "--plot", str(tmp_path / "p.txt")]) == 1
    assert "must end in .png" in capsys.readouterr().err


def test_an_imported_program_compiles_like_the_model():
    """The sweep's one import: compiling the `linalg` text equals compiling the model (a conv net, io_stream)."""
    from fxflow.compiler import ImportedProgram

    ex = load("cnn1d")
    model, x = ex.make_model(), ex.make_inputs(16)
    cfg = {"model": {"precision": "ap_fixed<12,5>", "reuse_factor": 2}}
    direct = fxflow.compile(model, x[:1], config=cfg, io_type="io_stream")
    program = ImportedProgram.of(fxflow.compile(model, x[:1]))
    again = fxflow.compile(program, config=cfg, io_type="io_stream")
    assert again.timings["import"] < direct.timings["import"]
    assert np.array_equal(again.predict(x, raw=True), direct.predict(x, raw=True))
    assert again.mlir("df") == direct.mlir("df") and again.report()["total"] == direct.report()["total"]


def test_yosys_counts_of_rtl_points():
    needs("circt", "yosys")
    from models import mlp

    model, x = mlp([3, 2], seed=1), np.random.default_rng(0).normal(size=(20, 3))
    r = fxflow.sweep(model, [{"backend": "rtl", "rtl.products": "shift_add"}, {"backend": "vitis"}], data=x,
                     yosys=True, config={"model": {"precision": "ap_fixed<6,3>"}}, executor="serial", cache=False,
                     progress=False)
    rtl, hls = r.records
    assert rtl["status"] == "ok" and rtl["yosys.lut"] > 0 and rtl["yosys.dsp"] == 0 and rtl["rtl_latency"] >= 1
    assert hls["status"] == "error" and "need the RTL backend" in hls["error"]


def _small_mlp():
    torch.manual_seed(2)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)).eval()


def test_sweep_over_versal_partitions_records_each_plan_and_forced_failures():
    """`versal.partition` is a sweepable dict-valued argument: "auto" and a forced AIE segment each record their
    own plan (equal to compiling that point), a forced partition that cannot hold records its error."""
    model = _small_mlp()
    x = np.random.default_rng(1).normal(size=(30, 8)) * 2
    cfg = {"model": {"precision": "ap_fixed<8,3,AP_RND_CONV,AP_SAT>", "input": "ap_fixed<8,3>",
                     "weight": "ap_fixed<8,2>", "bias": "ap_fixed<8,2>", "accum": "exact"}}
    parts = ["auto", {"0": "aie", "1": "aie"}, {"0": "aie"}, {"0": "aie", "1": "aie"}]
    points = [{"versal.partition": p} for p in parts]
    points[3]["versal.target_rate_mhz"] = 5000  # forced onto AIE, which cannot reach that rate
    r = fxflow.sweep(model, points, data=x, config=cfg, backend="versal", executor="serial", cache=False,
                     progress=False)
    auto, forced, split, slow = r.records
    assert [rec["versal.partition"] for rec in r.records] == parts
    assert auto["status"] == forced["status"] == "ok"
    assert (auto["plan.placement.0"], forced["plan.placement.0"], forced["plan.placement.2"]) == ("pl", "aie", "pl")
    assert forced["plan.aie.tiles"] >= 1 and auto["plan.aie"] is None
    for rec, part in ((auto, "auto"), (forced, parts[1])):
        design = fxflow.compile(model, x[:1], config=cfg, backend="versal", versal={"partition": part})
        plan = design.report()["plan"]
        assert (rec["plan.lare"], rec["plan.latency_ns"], rec["plan.pl.lut"]) == \
            (plan["lare"], plan["latency_ns"], plan["pl"]["lut"])
        assert rec["max_abs"] == float(np.max(np.abs(design.predict(x) - design.predict_float(x))))
    assert forced["plan.latency_ns"] != auto["plan.latency_ns"]
    assert split["status"] == "error" and split["error_type"] == "ConfigError" and "run as one unit" in split["error"]
    assert slow["status"] == "error" and slow["error_type"] == "VersalFitError" and "forced partition" in slow["error"]


def test_sweep_over_multipliers_moves_the_estimates():
    """Since the estimator prices approximate multipliers, `layers.<x>.multiplier` changes the recorded LUT and
    DSP counts: 10 x 10-bit exact products go to DSPs, an approximate one is LUT logic priced by its gates."""
    model = _small_mlp()
    x = np.random.default_rng(1).normal(size=(30, 8))
    cfg = {"model": {"precision": "ap_fixed<10,4>"}}
    specs = ["exact", "drum(k=4)", "trunc(k=9)"]
    r = fxflow.sweep(model, {"layers.0.multiplier": specs}, data=x, config=cfg, executor="serial", cache=False,
                     progress=False)
    exact, drum, trunc = r.records
    assert all(rec["status"] == "ok" for rec in r.records)
    assert exact["dsp"] > drum["dsp"] == trunc["dsp"] and drum["lut"] > exact["lut"] and drum["lut"] != trunc["lut"]
    for rec, spec in zip(r.records, specs):
        total = fxflow.compile(model, x[:1], config={"model": {**cfg["model"]}, "layers": {"0": {"multiplier": spec}}}
                               ).report()["total"]
        assert (rec["lut"], rec["dsp"]) == (total["lut"], total["dsp"])
    assert exact["max_abs"] != drum["max_abs"]
