"""The Versal backend: layers planned on PL or AI Engines by the LARE metric, the planned design split into
HLS and mlir-aie parts joined by PLIO streams, and the joined simulation equal to `predict` bit for bit —
through the emulator and through the g++ C simulation of the emitted PL parts and stream bridges.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fxflow
from fxflow.lowering.aie.check import problems
from fxflow.errors import ConfigError, FxflowError, UnsupportedOpError
from fxflow.lowering.aie.emit import emit_program
from fxflow.lowering.versal.bridge import BridgePort, pack, unpack
from fxflow.lowering.versal.plan import VersalFitError
from toolchains import needs

INT8 = {"model": {"precision": "ap_fixed<8,3,AP_RND_CONV,AP_SAT>", "input": "ap_fixed<8,3>",
                  "weight": "ap_fixed<8,2>", "bias": "ap_fixed<8,2>", "accum": "exact"}}


def mlp(widths, relu=True, last=None, seed=0):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(a, b))
        if relu and i < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    if last is not None:
        layers.append(last)
    return torch.nn.Sequential(*layers).eval()


def versal(model, partition="auto", config=INT8, **opts):
    n = model[0].in_features
    return fxflow.compile(model, torch.zeros(1, n), config=config, backend="versal",
                          versal={"partition": partition, **opts})


def inputs(n_features, n=40, seed=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_features)) * rng.choice([0.5, 2.0, 8.0], size=(n, 1))  # some saturate


# --------------------------------------------------------------------------------------------------
# joined simulation == predict
# --------------------------------------------------------------------------------------------------
ROUND = ["AP_TRN", "AP_RND", "AP_RND_CONV", "AP_RND_ZERO", "AP_TRN_ZERO"]
OVER = ["AP_WRAP", "AP_SAT", "AP_SAT_SYM"]


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.integers(4, 40), min_size=3, max_size=5), st.integers(0, 10_000), st.data())
def test_mixed_simulation_is_bit_exact(widths, seed, data):
    """Random MLP sizes and formats, a random set of units on the AI Engines (one or several segments)."""
    wx, ix = data.draw(st.integers(6, 10)), data.draw(st.integers(2, 4))
    ww = data.draw(st.integers(4, 8))
    wr, ir_ = data.draw(st.integers(6, 12)), data.draw(st.integers(2, 5))
    q, o = data.draw(st.sampled_from(ROUND)), data.draw(st.sampled_from(OVER))
    cfg = {"model": {"precision": f"ap_fixed<{wr},{ir_},{q},{o}>", "input": f"ap_fixed<{wx},{ix}>",
                     "weight": f"ap_fixed<{ww},1>", "bias": f"ap_fixed<{ww},1>", "accum": "exact"}}
    model = mlp(widths, seed=seed)
    units = [str(2 * i) for i in range(len(widths) - 1)]  # dense layers; ReLU i+1 follows dense i
    on = data.draw(st.lists(st.booleans(), min_size=len(units), max_size=len(units)).filter(any))
    part = {}
    for i in (i for i, v in enumerate(on) if v):
        part[str(2 * i)] = "aie"
        if i < len(units) - 1:
            part[str(2 * i + 1)] = "aie"
    design = versal(model, part, cfg)
    assert {k: v for k, v in design.report()["plan"]["placement"].items() if v == "aie"} == part
    runs = sum(1 for i, v in enumerate(on) if v and (i == 0 or not on[i - 1]))
    assert len(design.versal.aie_programs) == len(design.report()["plan"]["segments"]) == runs
    x = inputs(widths[0], seed=seed)
    np.testing.assert_array_equal(design.simulate(x, raw=True), design.predict(x, raw=True))
    for prog in design.versal.aie_programs:
        assert problems(prog) == [] and all(p.plio for p in prog.inputs + prog.outputs)


def test_simulation_through_emitted_bridges(tmp_path):
    """PL head + AIE + PL tail: g++ runs the HLS tops and the AXI4-Stream bridges as emitted, the AIE part
    its functional simulation; the result equals predict bit for bit."""
    model = mlp([8, 16, 16, 4], seed=5)
    unsigned = "ap_ufixed<8,1,AP_RND_CONV,AP_SAT>"  # both boundaries carry u8 lanes >= 128 (ReLU outputs)
    cfg = {**INT8, "layers": {"1": {"result": unsigned}, "3": {"result": unsigned}}}
    design = versal(model, {"2": "aie", "3": "aie"}, cfg)
    prog = design.aie_program
    assert prog.in_store == "u8" and prog.out_store == "u8"
    design.write(tmp_path)
    x = inputs(8, n=19)  # not a multiple of the batch: the bridges pad the last batch
    np.testing.assert_array_equal(design.simulate(x, raw=True, pl="csim"), design.predict(x, raw=True))


def test_pack_unpack_roundtrip():
    rng = np.random.default_rng(0)
    for lane, signed in ((8, True), (16, True), (8, False), (16, False)):
        port = BridgePort("in0", 16, 2, 16, lane, signed)
        lo = -(1 << (lane - 1)) if signed else 0
        rows = rng.integers(lo, lo + (1 << lane), size=(8, 50))
        beats = pack(port, rows)
        assert len(beats) == port.beats(8) and all(0 <= w < 1 << 128 for w in beats)
        out = np.zeros_like(rows)
        unpack(port, beats, 8, out)
        np.testing.assert_array_equal(out[:, 16:48], rows[:, 16:48])
        assert not out[:, :16].any() and not out[:, 48:].any()


# --------------------------------------------------------------------------------------------------
# planning: the metric's choice
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    return versal(mlp([16, 32, 5]))


@pytest.fixture(scope="module")
def large():
    return versal(mlp([128, 256, 256, 16]))


def test_auto_puts_small_models_on_pl(small):
    rep = small.report()
    assert set(rep["plan"]["placement"].values()) == {"pl"} and small.aie_program is None
    for row in rep["layers"]:  # each layer alone is cheaper on PL too
        assert row["aie"] is None or row["pl"]["lare"] < row["aie"]["lare"]
    x = inputs(16)
    # all on PL: simulate's default PL executor is the emulator itself, so the independent check is the g++
    # C simulation of the emitted PL project
    np.testing.assert_array_equal(small.simulate(x, raw=True, pl="csim"), small.predict(x, raw=True))


def test_auto_puts_large_models_on_aie(large):
    rep = large.report()
    assert "aie" in rep["plan"]["placement"].values()
    planner = large.versal.planner
    plans = [planner.evaluate(None)] + [planner.evaluate(s) for s in planner.segments()]
    assert not plans[0].feasible  # all on PL exceeds the VE2802's LUTs
    best = min(p.lare for p in plans if p.feasible)
    assert rep["plan"]["lare"] == best
    assert rep["plan"]["interval_ns"] <= 1e3 / 40
    x = inputs(128, n=16)
    np.testing.assert_array_equal(large.simulate(x, raw=True), large.predict(x, raw=True))


def test_metric_weights_and_time_basis_change_the_choice():
    model = mlp([16, 32, 5])
    # a design that values DSP/LUT a thousand times more than tiles (and interval over latency) moves to AIE
    heavy = {"dsp": 1000.0, "lut": 1000.0, "ff": 1000.0, "bram18": 1000.0}
    d = versal(model, weights=heavy, time="interval")
    assert "aie" in d.report()["plan"]["placement"].values()
    assert d.report()["metric"] == {"weights": {**heavy, "tiles": 1.0, "plio": 1.0}, "time": "interval"}


# --------------------------------------------------------------------------------------------------
# the emitted project: PLIO ports in the AIE program, matching streams in the HLS bridges
# --------------------------------------------------------------------------------------------------
def test_project_streams_match_plio_ports(tmp_path):
    design = versal(mlp([8, 16, 16, 4], seed=1), {"0": "aie", "1": "aie"})  # the AIE part takes the input
    root = design.write(tmp_path)
    prog = design.aie_program
    text = (root / "aie" / "aie.mlir").read_text()
    assert "external_buffer" not in text
    for p in prog.inputs + prog.outputs:
        assert re.search(rf"// PLIO @{p.fifo}: .* on shim tile \({p.shim[0]}, 0\) port {p.channel};", text)
        assert re.search(rf"aie.objectfifo @{p.fifo}\(.*%shim_{p.shim[0]}_0.*\) {{plio = true}} :", text)
    assert text.count("{plio = true}") == len(prog.inputs + prog.outputs)
    head = (root / "pl_in" / "firmware" / "myproject_to_aie.h").read_text()
    tail = (root / "pl_tail" / "firmware" / "myproject_from_aie.h").read_text()
    assert re.findall(r"hls::stream<plio_t> &(\w+)", head) == [p.fifo for p in prog.inputs]
    assert re.findall(r"hls::stream<plio_t> &(\w+)", tail) == [p.fifo for p in prog.outputs]
    assert (root / "pl_tail" / "project.json").is_file() and not (root / "pl_head").exists()
    readme = (root / "README.md").read_text()
    assert "PLIO" in readme and "LARE" in readme
    assert emit_program(prog) == text  # deterministic: a second write gives the same text files
    again = design.write(tmp_path / "again")
    texts = sorted(p.relative_to(root) for p in root.rglob("*") if p.suffix in (".mlir", ".cpp", ".h", ".md", ".json")
                   and "again" not in p.parts)
    assert texts and all((root / t).read_text() == (again / t).read_text() for t in texts)


def test_checker_catches_plio_ports_beyond_the_device():
    design = versal(mlp([8, 16, 4], seed=2), {"0": "aie", "1": "aie", "2": "aie"})
    prog = design.aie_program
    prog.inputs[0].channel = prog.device.plio[0]
    assert any("PLIO port @in0 uses PL->AIE port" in e for e in problems(prog))
    prog.inputs[0].channel = 0
    prog.inputs[0].shim = (prog.inputs[0].shim[0], 1)
    assert any("not a shim tile" in e for e in problems(prog))


@pytest.mark.parametrize("max_plio, rate, ports, grid", [(0, 40, 32, "32x4"), (8, 40, 8, "32x4"), (4, 20, 4, "16x4")])
def test_planned_plio_ports_are_the_programs(max_plio, rate, ports, grid):
    """The planner counts PLIO ports with the builder's grouping (build.io_groups), so the plan's port counts are
    the program's, and `max_plio` caps both: 512-64-16 on the AIE has 32 input slices on 32 ports, or 4 per port
    under a cap of 8; under a cap of 4 (24 slices at most) the partition itself splits the input into 16."""
    widths = [512, 64, 16]
    d = versal(mlp(widths), {"0": "aie", "1": "aie", "2": "aie"}, max_plio=max_plio, target_rate_mhz=rate)
    plan, prog = d.report()["plan"]["aie"], d.aie_program
    assert (plan["plio_in"], plan["plio_out"]) == (len(prog.inputs), len(prog.outputs))
    first = prog.layers[0]
    assert len(prog.inputs) == ports and plan["splits"][0] == grid == f"{first.cas_length}x{first.cas_num}"
    x = inputs(widths[0])
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))


HCCS = {"softmax": {"implementation": "hccs", "B": 1000, "S": 20, "Dmax": 40}}


@pytest.mark.parametrize("between", [False, True])
def test_hccs_softmax_on_the_aie_is_costed_as_the_backend_reports_it(between):
    """An HCCS softmax after a dense layer of the AIE part (final, or between two dense layers): the planner's
    tiles, interval and latency are the AIE backend's cycle report of the same layers; the joint simulation ==
    predict.  A part that starts with the softmax is an error naming it."""
    model = mlp([8, 32, 20], last=torch.nn.Softmax(dim=1))
    if between:
        model = torch.nn.Sequential(*model, torch.nn.Linear(20, 6)).eval()
    cfg = {**INT8, "layers": {"3": HCCS}}
    part = {str(i): "aie" for i in range(len(model))}
    d = versal(model, part, cfg, target_rate_mhz=4)
    plan = d.report()["plan"]["aie"]
    alone = fxflow.compile(model, torch.zeros(1, 8), config=cfg, backend="aie", aie={"objective": "throughput"})
    rep = alone.report()
    assert (plan["tiles"], plan["interval_cycles"], plan["latency_cycles"]) == \
        (rep["tiles"], rep["interval_cycles"], rep["latency_cycles"])
    assert "hccs" in {k.role for k in d.aie_program.kernels}
    x = inputs(8)
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    with pytest.raises(VersalFitError, match="layer '3': an HCCS softmax on the AI Engines must read a dense layer"):
        versal(model, {str(i): "aie" for i in range(3, len(model))}, cfg, target_rate_mhz=4)


# --------------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------------
def test_layer_the_aie_cannot_run():
    with pytest.raises(UnsupportedOpError, match=r"layer '3' cannot be placed on the AI Engines: .*\(fxp.clamp\).*not supported on the AI Engines yet"):
        versal(mlp([8, 16, 4], last=torch.nn.Hardtanh()), {"3": "aie"})


def test_device_limits_name_layer_and_limit(large):
    model = mlp([128, 256, 256, 16])
    with pytest.raises(VersalFitError, match=r"the PL part needs \d+ LUT .* the largest is layer '\d'"):
        versal(model, {})
    with pytest.raises(VersalFitError, match=r"need at least \d+ compute tiles; xcve2802 offers 4"):
        versal(model, {"0": "aie", "1": "aie", "2": "aie", "3": "aie", "4": "aie"}, max_tiles=4)
    # max_plio bounds the partition: 4x6 instead of more columns (then too slow for 40 MHz); a layer whose every
    # split has more input slices than the ports can carry (6 per port) is an error naming it and the limit
    with pytest.raises(VersalFitError, match=r"grids \['4x6'\]"):
        versal(model, {"0": "aie", "1": "aie"}, max_plio=1)
    with pytest.raises(VersalFitError, match=r"layer '0' \(8192x16\) cannot be split so that 1 I/O ports carry its "
                                             r"input slices \(at most 6\); its smallest split needs 8"):
        versal(mlp([8192, 16]), {"0": "aie"}, max_plio=1)


def test_unreachable_rate_and_bad_partitions():
    model = mlp([8, 16, 4])
    with pytest.raises(VersalFitError, match=r"no PL/AIE partition meets the target.*\n.*layer '0' on PL has II 1"):
        versal(model, target_rate_mhz=5000)
    with pytest.raises(VersalFitError, match=r"forced partition .* does not fit:\n.*the AIE part \(layers '0'..'0'"):
        versal(model, {"0": "aie", "1": "aie"}, target_rate_mhz=5000)
    # AIE layers with a PL layer between them are two segments; max_segments caps how many
    two = versal(mlp([8, 16, 16, 4]), {"0": "aie", "1": "aie", "4": "aie"})
    assert two.report()["plan"]["segments"] == [[0, 1], [2, 3]]
    with pytest.raises(ConfigError, match=r"forced partition has 2 AIE segments \('0'..'0', '4'..'4'\); "
                                          r"max_segments is 1"):
        versal(mlp([8, 16, 16, 4]), {"0": "aie", "1": "aie", "4": "aie"}, max_segments=1)
    with pytest.raises(ConfigError, match="'0' and '1' run as one unit"):
        versal(model, {"0": "aie"})
    with pytest.raises(ConfigError, match="unknown layer"):
        versal(model, {"fc9": "aie"})
    with pytest.raises(ConfigError, match="must be 'pl' or 'aie'"):
        versal(model, {"0": "gpu"})
    with pytest.raises(ConfigError, match="unknown versal option"):
        versal(model, clock=3)
    with pytest.raises(ConfigError, match="io_parallel"):
        fxflow.compile(model, torch.zeros(1, 8), config=INT8, backend="versal", io_type="io_stream")
    with pytest.raises(FxflowError, match="csim"):
        versal(model).csim(inputs(8))


def test_report_per_layer_and_end_to_end(large):
    rep = large.report()
    prog = large.aie_program
    for row in rep["layers"]:
        assert row["target"] == rep["plan"]["placement"][row["layer"]] and row["why"]
        assert {"dsp", "lut", "ff", "bram18", "latency_ns", "interval_ns", "lare"} <= set(row["pl"])
        assert row["aie"]["tiles"] >= 1 and row["aie"]["memory_bytes"] > 0 and row["aie"]["lare"] > 0
    plan = rep["plan"]
    assert plan["latency_ns"] > plan["fill_ns"] > 0 and 0 < plan["interval_ns"] <= 25
    assert len(rep["boundary"]) == len(prog.inputs) + len(prog.outputs)
    assert rep["aie"]["tiles"] == sum(len([c for c in prog.cores if c.layer == layer.layer]) for layer in prog.layers)


def test_cli_versal(tmp_path, capsys):
    import json

    from fxflow.cli import main

    model = mlp([8, 16, 4], seed=4)
    path = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(1, 8),)), str(path))
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(INT8))
    out = tmp_path / "out"
    assert main(["compile", str(path), "--config", str(cfg), "--backend", "versal", "--versal-partition",
                 "0:aie,1:aie", "-o", str(out), "--csim", "20"]) == 0
    assert "PL C-sim + AIE) simulation vs predict on 20 samples: 0 mismatching values" in capsys.readouterr().out
    plan = json.loads((out / "plan.json").read_text())
    assert plan["plan"]["placement"] == {"0": "aie", "1": "aie", "2": "pl"}
    assert (out / "aie" / "aie.mlir").is_file() and (out / "pl_tail" / "firmware" / "myproject_from_aie.cpp").is_file()


def test_cli_versal_max_segments(tmp_path, capsys):
    """--versal-max-segments is the max_segments option: two forced segments pass with 2, fail naming it with 1."""
    import json

    from fxflow.cli import main

    model = mlp([8, 16, 16, 4], seed=4)
    path = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(1, 8),)), str(path))
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(INT8))
    args = ["compile", str(path), "--config", str(cfg), "--backend", "versal", "--versal-partition", "0:aie,1:aie,4:aie"]
    assert main([*args, "--versal-max-segments", "2", "-o", str(tmp_path / "two")]) == 0
    assert json.loads((tmp_path / "two" / "plan.json").read_text())["plan"]["segments"] == [[0, 1], [2, 3]]
    assert "AIE segment 1: layers 4;" in capsys.readouterr().out
    assert main([*args, "--versal-max-segments", "1", "-o", str(tmp_path / "one")]) == 1
    assert "forced partition has 2 AIE segments ('0'..'0', '4'..'4'); max_segments is 1" in capsys.readouterr().err


def test_yosys_counts_of_the_pl_layers():
    """Design.synth() on a Versal design: the PL parts through the RTL backend and yosys, shown by report()."""
    needs("circt", "yosys")
    from fxflow.lowering.versal.driver import format_report

    design = versal(mlp([4, 4, 2], seed=7), {"2": "aie"})  # one PL part: dense 0 + ReLU 1
    counts = design.synth(verbose=False)
    assert set(counts) == {"0", "1"} and counts["0"]["lut"] > 0  # layer 1 (ReLU) may be wiring only
    rows = {r["layer"]: r for r in design.report()["layers"]}
    assert rows["0"]["pl"]["yosys"]["lut"] == counts["0"]["lut"] + counts["1"]["lut"]
    assert "yosys" not in rows["2"]["pl"] and "yosys LUT" in format_report(design.report())


# --------------------------------------------------------------------------------------------------
# several AIE segments: PL -> AIE -> PL -> AIE
# --------------------------------------------------------------------------------------------------
def segmented(width=128):
    """Sigmoid (a table: PL only) -> dense + ReLU -> dense -> Sigmoid -> dense + ReLU -> dense.  The dense layers
    together exceed the VE2802's LUTs, the sigmoids have no AIE form: the best plan is PL -> AIE -> PL -> AIE."""
    torch.manual_seed(11)
    w = width
    return torch.nn.Sequential(torch.nn.Sigmoid(), torch.nn.Linear(w // 2, w), torch.nn.ReLU(), torch.nn.Linear(w, w),
                               torch.nn.Sigmoid(), torch.nn.Linear(w, w), torch.nn.ReLU(),
                               torch.nn.Linear(w, w)).eval()


def versal_seq(model, partition="auto", config=INT8, **opts):
    n = model[1].in_features
    return fxflow.compile(model, torch.zeros(1, n), config=config, backend="versal",
                          versal={"partition": partition, **opts})


@pytest.fixture(scope="module")
def multi():
    return versal_seq(segmented())


def test_auto_chooses_pl_aie_pl_aie(multi):
    rep = multi.report()
    system = multi.versal
    assert [p.role for p in system.parts] == ["pl_head", "aie0", "pl_mid0", "aie1"]
    assert rep["plan"]["segments"] == [[1, 3], [4, 6]]
    assert [row["target"] for row in rep["layers"]] == ["pl", "aie", "aie", "pl", "aie", "aie"]
    assert [row["segment"] for row in rep["layers"]] == [None, 0, 0, None, 1, 1]
    # the metric's choice among every plan the planner considered (and no plan with fewer segments fits)
    planner = system.planner
    ok = [p for p in planner.considered if p.feasible]
    assert rep["plan"]["lare"] == min(p.lare for p in ok)
    assert all(len(p.segments) == 2 for p in ok)
    assert rep["plans_considered"] == len(planner.considered) > 10
    # the report lists the segments and why every layer went where it went
    assert [seg["layers"] for seg in rep["segments"]] == [["1", "2", "3"], ["5", "6", "7"]]
    rows = {r["layer"]: r for r in rep["layers"]}
    assert rows["0"]["why"].startswith("PL only: ") and rows["4"]["why"].startswith("PL only: ")
    assert "on AIE segment 1: least LARE" in rows["5"]["why"]
    assert re.search(r"the best plan with it on PL has LARE [\d.]+$", rows["5"]["why"])
    from fxflow.lowering.versal.driver import format_report
    text = format_report(rep)
    assert "AIE segment 0: layers 1, 2, 3;" in text and "PLIO segment 1 in0" in text


def test_segment_plio_ports_are_the_programs(multi):
    """Per segment, the planner's PLIO ports and tiles are those of the program the builder made."""
    rep = multi.report()
    progs = multi.versal.aie_programs
    assert len(progs) == len(rep["segments"]) == 2
    for seg, prog in zip(rep["segments"], progs):
        assert (seg["plio_in"], seg["plio_out"]) == (len(prog.inputs), len(prog.outputs))
        assert seg["tiles"] == seg["cycles"]["tiles"] and seg["splits"] == [
            f"{g.cas_length}x{g.cas_num}" for g in prog.layers]
        assert problems(prog) == [] and all(p.plio for p in prog.inputs + prog.outputs)
        assert len([b for b in rep["boundary"] if b["segment"] == seg["segment"]]) == len(prog.inputs + prog.outputs)
    total = rep["plan"]["aie"]
    assert total["plio_in"] == sum(len(p.inputs) for p in progs)
    assert total["tiles"] == sum(s["tiles"] for s in rep["segments"])


def test_segments_share_the_array_side_by_side(multi):
    """The segments' programs take disjoint columns of the one array, west to east in dataflow order: over every
    segment's aie.mlir no tile and no PLIO port (shim column, direction, port) appears twice, and each text passes
    the per-device structural rules (PLIO shims are PL interface tiles, present in every column) and the checker."""
    from test_aie_devices import violations

    progs = multi.versal.aie_programs
    tiles, ports, spans = [], [], []
    for prog in progs:
        text = emit_program(prog)
        assert problems(prog) == []
        assert violations(text, prog.device) == []
        own = re.findall(r"aie\.tile\((\d+), (\d+)\)", text)
        plio = re.findall(r"// PLIO @\w+: (PL -> AIE|AIE -> PL), .* on shim tile \((\d+), 0\) port (\d+);", text)
        assert {c for c, r in own if r == "0"} == {c for _, c, _ in plio}  # every shim tile is a PLIO port's
        assert len(plio) == len(prog.inputs + prog.outputs)
        tiles += own
        ports += plio
        spans.append(sorted({int(c) for c, _ in own}))
    assert len(tiles) == len(set(tiles)) and len(ports) == len(set(ports))
    assert spans[0][-1] < spans[1][0]
    rep = multi.report()
    assert [s["array_columns"] for s in rep["segments"]] == [[s[0], s[-1]] for s in spans]
    # the planner's per-segment column count is a lower bound of what the placement used
    assert all(s["columns"] <= s["array_columns"][1] - s["array_columns"][0] + 1 for s in rep["segments"])
    assert rep["plan"]["aie"]["columns"] == sum(s["columns"] for s in rep["segments"])
    from fxflow.lowering.versal.driver import format_report
    assert f"tiles in columns {spans[1][0]}..{spans[1][-1]}," in format_report(rep)


def narrow_device(monkeypatch, cols: int) -> str:
    """A VE2802 cut to its first `cols` columns (registered for this test only): segments that fit the real
    array side by side but not this one."""
    from dataclasses import replace

    from fxflow.lowering.aie import device as aie_device
    from fxflow.lowering.versal import device as versal_device

    full = versal_device.VERSAL_DEVICES["xcve2802"]
    name = f"xcve2802_{cols}col"
    aie = replace(full.aie, name=name, cols=cols, shim_dma_cols=tuple(c for c in full.aie.shim_dma_cols if c < cols))
    monkeypatch.setitem(aie_device.DEVICES, name, aie)
    monkeypatch.setitem(versal_device.VERSAL_DEVICES, name, replace(full, name=name, aie=aie))
    return name


def two_segments(device):
    """Dense + ReLU + dense -> sigmoid (PL) -> dense, the dense layers forced onto the AI Engines."""
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32),
                                torch.nn.Sigmoid(), torch.nn.Linear(32, 8)).eval()
    return versal(model, {"0": "aie", "1": "aie", "2": "aie", "4": "aie"}, device=device)


def test_segments_that_do_not_fit_the_columns_together(monkeypatch):
    """Each segment needs 2 columns (its widest layer, its ports): 4 columns hold both side by side, 1 column holds
    their 8 tiles but not the segments: the planner names the segments and the limit.  When the planner's count
    is too low (forced to 1 column per segment here), the builder names the segment that found no room."""
    fits = two_segments(narrow_device(monkeypatch, 4))
    assert [s["array_columns"] for s in fits.report()["segments"]] == [[0, 1], [2, 3]]
    with pytest.raises(VersalFitError, match=r"the 2 AIE segments need 2 array columns side by side \('0'..'2' at "
                                             r"least 1, '4'..'4' at least 1\); xcve2802_1col has 1"):
        two_segments(narrow_device(monkeypatch, 1))
    from fxflow.lowering.versal import cost

    monkeypatch.setattr(cost, "min_columns", lambda *args: 1)
    with pytest.raises(VersalFitError, match=r"AIE segment 1 \(layers '4'..'4'\) does not fit: columns 2..2 of the "
                                             r"3 of xcve2802_3col are left for it \(the 2 AIE segments share the "
                                             r"array side by side\): cannot place the design on columns 2..2"):
        two_segments(narrow_device(monkeypatch, 3))


def test_segments_simulate_bit_exact(multi, tmp_path):
    """PL -> AIE -> PL -> AIE: emulator + AIE simulator, and the g++ C simulation of the written PL parts and all
    four PLIO bridges + AIE simulator, both == predict bit for bit."""
    x = inputs(64, n=19, seed=8)  # not a multiple of the batch
    ref = multi.predict(x, raw=True)
    np.testing.assert_array_equal(multi.simulate(x, raw=True), ref)
    root = multi.write(tmp_path)
    assert {p.name for p in root.iterdir() if p.is_dir()} == {"pl_head", "aie0", "pl_mid0", "aie1", "pl_out"}
    assert (root / "pl_mid0" / "firmware" / "myproject_from_aie0.h").is_file()
    assert (root / "pl_mid0" / "firmware" / "myproject_to_aie1.h").is_file()
    assert (root / "pl_head" / "firmware" / "myproject_to_aie0.h").is_file()
    assert (root / "pl_out" / "firmware" / "myproject_from_aie1.h").is_file()
    np.testing.assert_array_equal(multi.simulate(x, raw=True, pl="csim"), ref)


def test_max_plio_forces_fewer_segments():
    """Every segment needs a port each way, so max_plio = 1 allows one segment: auto picks the best one-segment
    plan, and two forced segments are an error naming the limit."""
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32),
                                torch.nn.Sigmoid(), torch.nn.Linear(32, 8)).eval()
    # PL resources weighted high, per-sample interval: the dense layers go to the AIE, the sigmoid stays on PL
    heavy = {"weights": {"dsp": 1000.0, "lut": 1000.0, "ff": 1000.0, "bram18": 1000.0}, "time": "interval"}
    two = versal(model, **heavy)
    assert two.report()["plan"]["segments"] == [[0, 2], [3, 4]]
    one = versal(model, **heavy, max_plio=1)
    plan = one.report()["plan"]
    assert len(plan["segments"]) == 1 and plan["aie"]["plio_in"] == plan["aie"]["plio_out"] == 1
    assert plan["lare"] > two.report()["plan"]["lare"]
    assert all(len(p.segments) <= 1 for p in one.versal.planner.considered if p.feasible)
    with pytest.raises(VersalFitError, match=r"the 2 AIE segments \('0'..'2', '4'..'4'\) need 2 PLIO input ports "
                                             r"together; the limit is 1"):
        versal(model, {"0": "aie", "1": "aie", "2": "aie", "4": "aie"}, max_plio=1)
    x = inputs(16)
    np.testing.assert_array_equal(two.simulate(x, raw=True), two.predict(x, raw=True))
    np.testing.assert_array_equal(one.simulate(x, raw=True), one.predict(x, raw=True))


def test_segment_sets_every_subset_fewest_segments_first():
    """auto considers every set of non-adjacent segments — one per non-empty subset of AIE-capable units —
    fewer segments first; a cap on the count leaves out whole levels, `max_segments` bounds the level."""
    d = versal(mlp([16] * 8, seed=1))  # 7 units (dense + ReLU, the last dense alone)
    planner = d.versal.planner
    sets = planner.segment_sets()
    assert len(sets) == len(set(sets)) == 2 ** 7 - 1 and d.report()["plans_considered"] == 2 ** 7
    assert all(a < b < c for s in sets for (a, b), (c, _) in zip(s, s[1:]))  # ordered, never adjacent
    assert [len(s) for s in sets] == sorted(len(s) for s in sets)
    capped = planner.segment_sets(limit=60)
    assert len(capped) <= 60 and capped == sets[:len(capped)] and max(map(len, capped)) < 4
    two = versal(mlp([16] * 8, seed=1), max_segments=2).versal.planner
    assert max(map(len, two.segment_sets())) == 2 and len(two.considered) == 1 + len(two.segment_sets())
