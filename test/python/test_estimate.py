"""Estimates without vendor tools, reuse-factor legality and sweeps, pruned-weight skipping, vendor flows.

Hand-written df graphs (hls_graphs.Graph) keep the sweeps fast; one PyTorch model with pruned weights is
compiled and C-simulated to show that skipping zero weights keeps predict == csim bit for bit.
"""

from __future__ import annotations

import math
import re
import os
import stat
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import fxflow
from fxflow.dialects import new_context
from fxflow.errors import ConfigError, ToolchainError
from fxflow.estimate import OP_MODELS, dsp_per_multiplier, estimate
from fxflow.devices import device_for
from fxflow.fixed import FixedFormat as F
from fxflow.ir import ir
from fxflow.lowering.hls import render_cpp
from fxflow.lowering.hls.lower import lower_graph
from fxflow.report import format_table

sys.path.insert(0, str(Path(__file__).parent))
from hls_graphs import Graph  # noqa: E402
from models import mlp  # noqa: E402
from toolchains import needs  # noqa: E402

VU9P = "xcvu9p-flga2104-2L-e"


def dense_graph(k=12, n=8, rf=1, strategy="latency", wfmt=F(1, 5, 10), xfmt=F(1, 5, 10), weights=None):
    g = Graph("top", [((1, k), xfmt)])
    w = weights if weights is not None else (np.arange(k * n).reshape(k, n) % 7 - 3) * 5 + 1

    def build(kern, a):
        wc = kern.const(w, wfmt)
        bc = kern.const(np.arange(n) - 2, wfmt)
        return kern.dense(a, wc, bc, F(1, 20, 20), F(1, 5, 10))

    out = g.kernel("fc1", [g.args[0]], build, rf=rf, strategy=strategy)
    return g.ret(*out)


def est_of(text, **kw):
    ctx = new_context()
    with ctx:
        m = ir.Module.parse(text)
        return estimate(m, **kw), render_cpp(lower_graph(m))


def test_reuse_sweep_is_monotone_and_changes_pragmas():
    work = 12 * 8
    prev = None
    for rf in [d for d in range(1, work + 1) if work % d == 0]:
        est, files = est_of(dense_graph(rf=rf).text(), part=VU9P, clock=5)
        row, total = est["layers"][0], est["total"]
        assert row["multipliers"] == math.ceil(work / rf) and row["ii"] == rf == total["ii"]
        assert row["dsp"] == row["multipliers"]  # 16x16 products: one DSP48E2 each
        src = files["firmware/layers/fc1.cpp"]
        assert f"#pragma HLS PIPELINE II={rf}" in src
        assert (f"mul limit={math.ceil(work / rf)}" in src) == (rf > 1)
        if prev is not None:
            assert row["dsp"] < prev["dsp"] and row["latency_cycles"] >= prev["latency_cycles"]
            assert total["latency_cycles"] >= prev_total["latency_cycles"]
        prev, prev_total = row, total
    assert prev["latency_cycles"] > 1 + work // 2  # RF = work: one multiplier, serial


def test_resource_strategy_sweep_uses_block_ram_and_is_monotone():
    work, prev = 12 * 8, None
    for rf in (2, 4, 8, 16, 48):
        est, files = est_of(dense_graph(rf=rf, strategy="resource").text(), part=VU9P, clock=5)
        row = est["layers"][0]
        assert row["bram18"] >= 1 and row["ii"] == row["latency_cycles"] > rf
        assert f"ARRAY_RESHAPE variable=fc1_w cyclic factor={math.ceil(work / rf)}" in files["firmware/layers/fc1.cpp"]
        if prev is not None:
            assert row["dsp"] < prev["dsp"] and row["latency_cycles"] > prev["latency_cycles"]
        prev = row


def test_narrow_products_stay_in_luts_and_wide_ones_tile():
    dev = device_for(VU9P)
    assert dsp_per_multiplier(dev, 8, True, 16, True) == 0  # below the 9-bit threshold
    assert dsp_per_multiplier(dev, 9, True, 9, True) == 1
    assert dsp_per_multiplier(dev, 27, True, 18, True) == 1
    assert dsp_per_multiplier(dev, 27, False, 18, True) == 2  # unsigned: one more bit on the port
    assert dsp_per_multiplier(dev, 32, True, 32, True) == 4
    est, _ = est_of(dense_graph(wfmt=F(1, 1, 6)).text(), part=VU9P)  # 8-bit weights
    assert est["layers"][0]["dsp"] == 0 and est["layers"][0]["lut"] > 0


def test_zero_weights_are_skipped_and_counted_out():
    w = (np.arange(96).reshape(12, 8) % 7 - 3) * 5 + 1
    w[w % 3 == 0] = 0
    zeros = int((w == 0).sum())
    assert 0 < zeros < 96
    est, files = est_of(dense_graph(weights=w).text(), part=VU9P)
    row = est["layers"][0]
    assert row["zero_weights"] == zeros and row["multipliers"] == row["dsp"] == 96 - zeros
    assert "if (fc1_w[k * 8 + n] != 0) acc0[n] += x0[k] * fc1_w[k * 8 + n];" in files["firmware/layers/fc1.cpp"]
    # resource strategy: the weights sit in block RAM, every product is computed
    est, files = est_of(dense_graph(weights=w, rf=4, strategy="resource").text(), part=VU9P)
    assert est["layers"][0]["zero_weights"] == 0 and "!= 0" not in files["firmware/layers/fc1.cpp"]


@pytest.mark.parametrize("strategy", ["latency", "resource"])
def test_pruned_model_is_bit_exact_and_estimated(tmp_path, strategy):
    import torch


    model = mlp([10, 12, 6], seed=3)
    with torch.no_grad():
        for lin in (model.fc0, model.fc1):
            lin.weight[torch.rand(lin.weight.shape, generator=torch.Generator().manual_seed(1)) < 0.6] = 0.0
    cfg = {"model": {"precision": "ap_fixed<12,4,AP_RND,AP_SAT>", "accum": "ap_fixed<14,5,AP_RND,AP_SAT>",
                     "strategy": strategy, "reuse_factor": 2}}
    design = fxflow.compile(model, np.zeros((1, 10)), config=cfg, output_dir=tmp_path)
    rep = design.report()
    fc0 = next(r for r in rep["layers"] if r["layer"] == "fc0")
    nonzero = int((model.fc0.weight != 0).sum())
    if strategy == "latency":
        assert fc0["zero_weights"] == 120 - nonzero and fc0["multipliers"] == math.ceil(nonzero / 2)
        assert "!= 0)" in (tmp_path / "firmware/layers/fc0.cpp").read_text()
    else:
        assert fc0["zero_weights"] == 0 and fc0["multipliers"] == 60
    needs("g++", "ap_types")
    x = np.random.default_rng(2).normal(size=(300, 10)) * 3  # a saturating accumulator: order matters
    np.testing.assert_array_equal(design.predict(x, raw=True), design.csim(x, raw=True, verbose=False))


def test_reuse_factor_legality():
    model = mlp([4, 3])
    with pytest.warns(UserWarning, match=r"reuse_factor 5 of layer 'fc0' does not divide its 12 multiplications; "
                                         r"using 6, the next"):
        d = fxflow.compile(model, np.zeros((1, 4)), config={"model": {"reuse_factor": 5}})
    assert d.report()["layers"][0]["reuse_factor"] == 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fxflow.compile(model, np.zeros((1, 4)), config={"model": {"reuse_factor": 4}}).report()["layers"][0]["ii"] == 4
    with pytest.raises(ConfigError, match=r"reuse_factor 13 of layer 'fc0' is outside \[1, 12\]"):
        fxflow.compile(model, np.zeros((1, 4)), config={"model": {"reuse_factor": 13}})
    with pytest.raises(ConfigError, match="must be a positive integer, got 0"):
        fxflow.compile(model, np.zeros((1, 4)), config={"layers": {"fc0": {"reuse_factor": 0}}})


def test_unknown_part_and_clock_are_clear_errors():
    text = dense_graph().text()
    with pytest.raises(ConfigError, match=r"does not know the FPGA part 'xcfoo9-x'.*known devices: .*xcvu9p"):
        est_of(text, part="xcfoo9-x")
    with pytest.raises(ConfigError, match="clock must be a period in ns or a frequency"):
        est_of(text, part=VU9P, clock="fast")
    with pytest.raises(ConfigError, match=r"0.2 ns clock \(5000 MHz\) is outside what the estimator models"):
        est_of(text, part=VU9P, clock="5GHz")
    est, _ = est_of(text, part="XCVU9P-flgb2104-1-e", clock="250MHz")
    assert est["total"]["clock_ns"] == 4.0 and est["total"]["device"] == "xcvu9p"


def test_ops_without_a_model_cost_latency_one_and_luts():
    g = Graph("top", [((1, 6), F(1, 3, 4))])
    out = g.kernel("act", [g.args[0]], lambda k, a: k.relu(a, F(1, 3, 4)))
    text = g.ret(*out).text()
    model = OP_MODELS.pop("fxp.relu")
    try:
        est, _ = est_of(text, part=VU9P)
    finally:
        OP_MODELS["fxp.relu"] = model
    row = est["layers"][0]
    assert row["latency_cycles"] == 1 and row["dsp"] == 0 and row["multipliers"] == 0 and row["lut"] == 6 * 8


def test_jet_tagger_report_and_calibration():
    from fxflow.examples import jet_tagger

    design = fxflow.compile(jet_tagger.make_model(), np.zeros((1, 16)), config=jet_tagger.DEFAULT_CONFIG)
    rep = design.report(part=VU9P, clock=5)
    t = rep["total"]
    # the keys older callers use are still there
    assert {"layer", "kernel", "op", "result", "reuse_factor", "multipliers", "weights"} <= set(rep["layers"][0])
    assert t["multiplications"] == 4256 and t["weights"] == 4389
    # one DSP per non-zero 16x16 product; latency within 20 % of the published 50 ns (Fahim et al. 2021)
    assert t["dsp"] == t["multipliers"] == 4256 - t["zero_weights"]
    assert 40 <= t["latency_ns"] <= 60 and t["ii"] == 1 and t["schedule"] == "pipeline"
    text = format_table(rep)
    assert "total" in text and "xcvu9p-flga2104-2L-e at 200 MHz (5 ns): latency" in text


# --- vendor flow ----------------------------------------------------------------------------------

def _fake_tool(bindir: Path, status: int = 0) -> Path:
    log = bindir / "args.txt"
    tool = bindir / "vitis_hls"
    tool.write_text(f'#!/bin/sh\necho "$PWD" > "{log}"\necho "$@" >> "{log}"\nexit {status}\n')
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    return log


def test_build_runs_vitis_hls_with_the_chosen_steps(tmp_path, monkeypatch):
    design = fxflow.compile(mlp([4, 3]), np.zeros((1, 4)), output_dir=tmp_path / "prj")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ToolchainError, match="vitis_hls is not installed"):
        design.build()
    (tmp_path / "bin").mkdir()
    log = _fake_tool(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert design.build(steps=("csim", "synth", "cosim", "export"), part="xcvu9p-flga2104-2L-e", clock="250MHz") \
        == tmp_path / "prj"
    cwd, args = log.read_text().splitlines()
    assert Path(cwd) == (tmp_path / "prj").resolve()
    assert args == "-f build.tcl -tclargs csim=1 synth=1 cosim=1 export=1 part=xcvu9p-flga2104-2L-e clock_period=4"
    design.build(steps=["synth"])
    assert log.read_text().splitlines()[1] == "-f build.tcl -tclargs csim=0 synth=1 cosim=0 export=0"
    with pytest.raises(ConfigError, match="unknown Vitis HLS step"):
        design.build(steps=["place"])
    _fake_tool(tmp_path / "bin", status=3)
    with pytest.raises(ToolchainError, match="exit status 3"):
        design.build()
    tcl = (tmp_path / "prj" / "build.tcl").read_text()
    for step in ("csim_design", "csynth_design", "cosim_design", "export_design"):
        assert step in tcl


def test_cli_report_and_compile_options(tmp_path, capsys):
    import torch

    from fxflow.cli import main

    path = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(mlp([6, 4]), (torch.zeros(1, 6),)), path)
    assert main(["report", str(path), "--part", VU9P, "--clock", "250MHz", "--reuse-factor", "3"]) == 0
    out = capsys.readouterr().out
    assert "xcvu9p-flga2104-2L-e at 250 MHz (4 ns): latency" in out and re.search(r"fc0 .* 3 +latency +8 ", out)
    assert main(["report", str(path), "--json"]) == 0
    import json

    rep = json.loads(capsys.readouterr().out)
    assert rep["total"]["device"] == "xcvu13p" and rep["layers"][0]["dsp"] == 24
    assert main(["compile", str(path), "-o", str(tmp_path / "o"), "--device", "xcnope", "--clock", "5"]) == 1
    assert "does not know the FPGA part 'xcnope'" in capsys.readouterr().err
    assert main(["compile", str(path), "-o", str(tmp_path / "c"), "--backend", "catapult", "--clock", "4"]) == 0
    assert "ac_fixed<" in (tmp_path / "c" / "firmware" / "defines.h").read_text()
