"""The AIE-ML backend: the simulated placed program equals `predict` (and the independent reference of
hls_graphs) bit for bit over random dense nets and every rounding/overflow mode; partitioning, placement
and emission are deterministic; the structural checker catches broken programs; bad input is a clear error.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fxflow import emulator
from fxflow.lowering.aie.arith import AIE_ROUNDING, FXP_ROUNDING, Srs, lower_dense
from fxflow.lowering.aie.check import AieCheckError, check, problems
from fxflow.lowering.aie.device import AieFitError
from fxflow.lowering.aie.driver import lower_for_aie
from fxflow.lowering.aie.simulate import SimulationError, simulate
from fxflow.errors import FxflowError, UnsupportedOpError
from fxflow.fixed import FixedFormat as F
from fxflow.fixed.accum import exact_accumulator
from fxflow.fixed.quantize import quantize, requantize
from fxflow.dialects import new_context
from fxflow.ir import ir
from fxflow.lowering.aie.build import build_program
from fxflow.lowering.aie.emit import emit_program

sys.path.insert(0, str(Path(__file__).parent))
from hls_graphs import Graph  # noqa: E402
from models import OVERFLOW, ROUNDING  # noqa: E402


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def mlp_graph(rng, widths, x_fmt, w_fmts, outs, relus=None, bias_f=None, accum_extra=0):
    """A df.graph of dense layers (exact accumulators) with optional ReLU kernels after them."""
    g = Graph("net", [((1, widths[0]), x_fmt)])
    v, fmt = g.args[0], x_fmt
    relus = relus or [None] * len(outs)
    for i, (k, n) in enumerate(zip(widths[:-1], widths[1:])):
        wf, of = w_fmts[i], outs[i]
        bf = F(1, max(0, wf.i), min(wf.f, fmt.f + wf.f) if bias_f is None else bias_f)
        w = rng.integers(wf.min_int, wf.max_int + 1, size=(k, n))
        b = rng.integers(bf.min_int, bf.max_int + 1, size=n)
        acc = exact_accumulator(fmt, wf, bf, k)
        acc = F(acc.k, acc.i + accum_extra, acc.f)

        def build(kk, a, w=w, b=b, wf=wf, bf=bf, acc=acc, of=of):
            return kk.dense(a, kk.const(w, wf), kk.const(b, bf), acc, of)

        (v,) = g.kernel(f"fc{i}", [v], build)
        fmt = of
        if relus[i] is not None:
            rf = relus[i]
            (v,) = g.kernel(f"act{i}", [v], lambda kk, a, rf=rf: kk.relu(a, rf))
            fmt = rf
    return g.ret(v)


def lower(text, **options):
    """(emulator program, AieProgram) of a df.graph text after the AIE passes."""
    ctx = new_context()
    with ctx:
        module = ir.Module.parse(text)
        before = emulator.compile_program(module)
        lower_for_aie(module, options or None)
        after = emulator.compile_program(module)
        prog = build_program(module)
    check(prog)
    return before, after, prog, module


def predict_raw(program, x):
    return np.asarray(emulator.run(program, [x])[0].data).reshape(len(x), -1)


def inputs(rng, n, fmt, features):
    """Values across the format's range, on and off its grid (ties included)."""
    grid = rng.integers(fmt.min_int - 4, fmt.max_int + 5, size=(n, features)) * 2.0 ** -fmt.f
    half = rng.integers(-4, 4, size=(n, features)) * 2.0 ** -(fmt.f + 1)
    return grid + half


def fmt_strategy(max_width=16, signed=None):
    return st.builds(lambda k, w, f, q, o: F(k, w - k - f, f, q, o),
                     st.sampled_from([0, 1]) if signed is None else st.just(int(signed)),
                     st.integers(3, max_width), st.integers(-1, 10), st.sampled_from(ROUNDING),
                     st.sampled_from(OVERFLOW))


# --------------------------------------------------------------------------------------------------
# bit-exactness
# --------------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), depth=st.integers(1, 3), data=st.data())
def test_random_dense_nets_simulate_equals_predict(seed, depth, data):
    rng = np.random.default_rng(seed)
    widths = [data.draw(st.integers(1, 40)) for _ in range(depth + 1)]
    x_fmt = data.draw(fmt_strategy())
    w_fmts = [data.draw(fmt_strategy(signed=True)) for _ in range(depth)]
    outs, relus, fmt = [], [], x_fmt
    for i in range(depth):  # results at most as fine as the products (finer ones are rejected, tested below)
        out = data.draw(fmt_strategy())
        pf = fmt.f + w_fmts[i].f
        outs.append(F(out.k, out.i + max(0, out.f - pf), min(out.f, pf), out.rounding, out.overflow))
        relus.append(data.draw(st.one_of(st.none(), fmt_strategy(max_width=8))) if i < depth - 1 else None)
        fmt = relus[-1] or outs[-1]
    g = mlp_graph(rng, widths, x_fmt, w_fmts, outs, relus)
    batch = data.draw(st.sampled_from([1, 8, 12]))
    objective = data.draw(st.sampled_from(["throughput", "resource"]))
    before, after, prog, _ = lower(g.text(), batch=batch, objective=objective)
    x = inputs(rng, 21, x_fmt, widths[0])
    want = predict_raw(before, x)
    assert np.array_equal(predict_raw(after, x), want)  # fusing ReLUs keeps the fxp semantics
    got = simulate(prog, quantize(x, x_fmt))
    assert np.array_equal(got, want)
    assert np.array_equal(got, np.asarray(g.reference(x)))  # and the independent reference


@pytest.mark.parametrize("q", ROUNDING)
def test_every_rounding_and_overflow_mode_including_negative_ties(q):
    """One SRS per mode: result ap_fixed<6,2,q,o> of an 8-bit dense whose sums land on ties of both signs."""
    rng = np.random.default_rng(7)
    x_fmt, w_fmt = F(1, 3, 4), F(1, 1, 6)
    for o in OVERFLOW:
        for out in (F(1, 1, 4, q, o), F(0, 3, 3, q, o)):
            g = mlp_graph(rng, [6, 5, 4], x_fmt, [w_fmt, w_fmt], [out, F(1, 5, 2, q, o)], [F(0, 4, 4, q, o), None])
            before, _, prog, _ = lower(g.text())
            x = inputs(rng, 64, x_fmt, 6)
            assert np.array_equal(simulate(prog, quantize(x, x_fmt)), predict_raw(before, x)), (q, o, out)


def test_srs_rounding_table_matches_ap_fixed_on_ties():
    """The AIE rounding mode chosen for each ap_fixed mode rounds ties like the ap_fixed cast (fixed-point.md §6)."""
    ties = np.arange(-40, 41, dtype=np.int64) * 2 + 1  # odd multiples of 2^-1 after the shift: all ties
    for q in ROUNDING:
        fmt = F(1, 10, 0, q, "SAT")
        srs = Srs(1, AIE_ROUNDING[q], "saturate", "i16", (1, 11, "SAT"))
        assert np.array_equal(srs.run(ties), requantize(ties, 1, fmt)), q
        assert FXP_ROUNDING[AIE_ROUNDING[q]] == q


def test_jet_tagger_compiles_simulates_reports_and_writes(tmp_path):
    import fxflow
    from fxflow.examples import jet_tagger

    model = jet_tagger.make_model()
    x = jet_tagger.make_inputs(300)
    d = fxflow.compile(model, x[:1], backend="aie", config=jet_tagger.DEFAULT_CONFIG)
    assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    assert np.array_equal(d.simulate(x), d.predict(x))
    rep = d.report()
    assert [r["layer"] for r in rep["layers"]] == ["fc1", "fc2", "fc3", "output"]
    assert rep["tiles"] == len(d.aie_program.cores) and 0 < rep["utilization"] < 1
    assert 0 < rep["efficiency"] <= 1 and rep["latency_ns"] > 0 and rep["throughput_samples_per_s"] > 0
    assert '"aie"' not in d.mlir("df") and "aie_partition" in d.mlir("aie")
    out = d.write(tmp_path / "jet")
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["README.md", "aie.mlir", "kernels/fc1.cc", "kernels/fc2.cc", "kernels/fc3.cc",
                     "kernels/fxflow_dense.h", "kernels/output.cc", "placement.png"]
    assert (out / "placement.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    mlir = (out / "aie.mlir").read_text()
    assert mlir.count("aie.core(") == rep["tiles"] and "aie.device(xcve2802)" in mlir
    assert "aie::rounding_mode::floor" in (out / "kernels/fc1.cc").read_text()  # ap_fixed<16,6> is AP_TRN
    # resource objective: fewer tiles, same numbers
    small = fxflow.compile(model, x[:1], backend="aie", aie={"objective": "resource", "device": "npu2"})
    assert small.report()["tiles"] < rep["tiles"]
    assert np.array_equal(small.simulate(x, raw=True), d.predict(x, raw=True))


def test_full_array_stack_is_exact_and_efficient():
    """The benchmark's largest stack fills all 304 tiles with 128x128 int8 slices: >= 95 % efficient, exact."""
    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
    from aie_scaling import STACKS, run

    r = run(STACKS[-1][1], simulate=True)
    assert r["tiles"] >= 290 and r["efficiency"] >= 0.95, (r["tiles"], r["efficiency"])
    assert r["mismatches"] == 0


def test_jet_tagger_benchmark_row_is_exact():
    """The benchmark's jet tagger (16-64-32-32-5 int8) maps, simulates == predict, and its figures are consistent;
    the printed assumptions carry the cost model's constants."""
    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
    from aie_scaling import JET_TAGGER, assumptions, run

    from fxflow.lowering.aie import cost

    fast, small = run(JET_TAGGER, objective="throughput", simulate=True), run(JET_TAGGER, objective="resource")
    assert fast["mismatches"] == 0
    assert small["tiles"] == 4 < fast["tiles"] and fast["interval_cycles"] < small["interval_cycles"]
    assert 0 < fast["of_peak"] <= fast["efficiency"] <= 1
    assert fast["latency_ns"] == pytest.approx(fast["latency_cycles"] / 1.25)
    text = assumptions()
    assert f"+ {cost.CALL_OVERHEAD} cycles call overhead + {cost.CASCADE_PORT} per cascade port" in text


def test_output_is_deterministic():
    rng = np.random.default_rng(11)
    g = mlp_graph(rng, [20, 48, 9], F(1, 3, 4), [F(1, 1, 6)] * 2, [F(1, 3, 4, "RND_CONV", "SAT")] * 2,
                  [F(0, 4, 4), None])
    texts = [emit_program(lower(g.text())[2]) for _ in range(2)]
    assert texts[0] == texts[1] and "aie.cascade_flow" in texts[0]


def test_emitted_text_is_the_simulated_program():
    """Parse the emitted mlir-aie back: FIFOs, links, cascades and each core's call are the program's."""
    import re

    rng = np.random.default_rng(12)
    g = mlp_graph(rng, [40, 70, 33], F(1, 3, 4), [F(1, 1, 6)] * 2, [F(1, 3, 4, "RND", "SAT")] * 2, [F(0, 4, 4), None])
    prog = lower(g.text())[2]
    text = emit_program(prog)
    coord = lambda s: tuple(int(v) for v in s.split("_")[1:])  # noqa: E731  (%tile_3_4 -> (3, 4))
    fifos = {m[0]: (coord(m[1]), [coord(c) for c in m[2].split(", ")], int(m[3]))
             for m in re.findall(r"aie\.objectfifo @(\w+)\((%\w+), \{([^}]*)\}, (\d+) : i32\)", text)}
    assert fifos == {f.name: (f.producer, f.consumers, f.depth) for f in prog.fifos}
    links = re.findall(r"aie\.objectfifo\.link \[([^\]]*)\] -> \[([^\]]*)\]", text)
    assert links == [(", ".join("@" + n for n in k.srcs), ", ".join("@" + n for n in k.dsts)) for k in prog.links]
    cascades = [(coord(a), coord(b)) for a, b in re.findall(r"aie\.cascade_flow\((%\w+), (%\w+)\)", text)]
    assert cascades == prog.cascades
    calls = re.findall(r"aie\.core\((%\w+)\) \{.*?acquire @(\w+)\(Consume.*?func\.call @(\w+)\(([^)]*)\)", text,
                       flags=re.S)
    want = [(c.tile, c.x_fifo, c.fn, [f"%{n}" for n in (c.weights, c.bias) if n]) for c in prog.cores]
    assert [(coord(t), x, fn, [a for a in args.split(", ") if not a.startswith(("%x", "%y"))])
            for t, x, fn, args in calls] == want


# --------------------------------------------------------------------------------------------------
# the structural checker and the simulator catch broken programs
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good():
    rng = np.random.default_rng(5)
    g = mlp_graph(rng, [40, 40, 20], F(1, 3, 4), [F(1, 1, 6)] * 2, [F(1, 3, 4)] * 2, [None, None])
    return lower(g.text(), objective="throughput")[2]


def _broken(good, edit):
    p = copy.deepcopy(good)
    edit(p)
    return problems(p)


def test_checker_accepts_the_built_program(good):
    assert problems(good) == [] and good.cascades


@pytest.mark.parametrize("edit, message", [
    (lambda p: p.cascades.__setitem__(0, (p.cascades[0][0], (p.cascades[0][0][0] + 2, p.cascades[0][0][1]))),
     "is not a step"),
    (lambda p: p.buffers[0].__setattr__("shape", (200, 200)), "does not fit one 16384-byte bank"),
    (lambda p: p.fifos[0].__setattr__("consumers", []), "has no consumer"),
    (lambda p: p.fifos[0].__setattr__("depth", 40), "buffer descriptors"),
    (lambda p: p.fifos[-1].__setattr__("consumers", [(1, 0)]), "has no DMA"),
    (lambda p: p.links[0].dst_offsets.reverse() if len(p.links[0].dst_offsets) > 1 else
     p.links[0].__setattr__("dst_offsets", [0, 5]), "do not tile"),
    (lambda p: p.cores[0].__setattr__("tile", (0, 1)), "not a compute tile"),
    (lambda p: p.cores.append(copy.deepcopy(p.cores[0])), "has 2 cores"),
    (lambda p: p.buffers[0].__setattr__("shape", (128, 128)) or p.buffers.extend(
        copy.deepcopy(p.buffers[0]) for _ in range(4)), "bytes of data memory"),
    (lambda p: p.fifos.extend(copy.deepcopy(p.fifos[-1]) for _ in range(6)), "defined"),
])
def test_checker_catches(good, edit, message):
    errs = _broken(good, edit)
    assert any(message in e for e in errs), errs


def test_memory_tile_channel_limit(good):
    def edit(p):
        f = p.fifo(p.links[0].srcs[0])
        for i in range(6):
            extra = copy.deepcopy(f)
            extra.name = f"extra{i}"
            p.fifos.append(extra)
            p.links.append(type(p.links[0])([extra.name], list(p.links[0].dsts), [], list(p.links[0].dst_offsets),
                                             p.links[0].memtile))
    assert any("S2MM" in e and "DMA channels" in e for e in _broken(good, edit))
    with pytest.raises(AieCheckError, match="is invalid"):
        p = copy.deepcopy(good)
        edit(p)
        check(p)


def test_simulator_sees_swapped_wiring_and_deadlocks(good):
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, size=(8, good.in_features))
    ref = simulate(good, x)
    p = copy.deepcopy(good)
    heads = [c for c in p.cores if c.bias is not None]
    heads[0].weights, heads[1].weights = heads[1].weights, heads[0].weights
    assert not np.array_equal(simulate(p, x), ref)
    p = copy.deepcopy(good)
    p.cores[0].x_fifo = "nowhere"
    with pytest.raises(SimulationError, match="deadlocks"):
        simulate(p, x)


# --------------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------------
def test_unsupported_layers_are_named():
    t = F(1, 3, 4)
    g = Graph("net", [((1, 4), t)])
    (a,) = g.kernel("fc", [g.args[0]], lambda k, x: k.dense(x, k.const(np.ones((4, 4)), t), k.const(np.zeros(4), t),
                                                             F(1, 12, 8), t))
    (b,) = g.kernel("skip", [a, g.args[0]], lambda k, x, y: k.add(x, y, t))
    with pytest.raises(UnsupportedOpError, match=r"layer 'skip' \(fxp.add\).*: an add of two \[batch, features\] "
                                                 r"or \[batch, tokens, features\] tensors"):
        lower(g.ret(b).text())
    g = Graph("net", [((1, 4), t)])
    (a,) = g.kernel("act", [g.args[0]], lambda k, x: k.relu(x, t))
    with pytest.raises(UnsupportedOpError, match=r"layer 'act' \(fxp\.relu\) at [^:\s]+:\d+: a ReLU is supported .* only "
                       "directly after a dense"):
        lower(g.ret(a).text())


@pytest.mark.parametrize("change, message", [
    (dict(x=F(1, 10, 10)), "input format ap_fixed<21,11> is 21 bits wide"),
    (dict(acc=F(1, 12, 5)), "rounds every partial sum"),
    (dict(acc=F(1, 2, 10, "TRN", "SAT")), "outside the accumulator"),
    (dict(bias=F(1, 1, 14)), "has bits below the product LSB"),
    (dict(out=F(1, 30, 10)), "wider than 32 bits"),
])
def test_inexact_configurations_are_rejected_with_the_reason(change, message):
    x, w, b = change.get("x", F(1, 3, 4)), F(1, 1, 6), change.get("bias", F(1, 1, 6))
    acc = change.get("acc", F(1, 12, 14))
    wv = np.full((8, 3), 40)
    bv = np.array([1, -1, 3])
    with pytest.raises(UnsupportedOpError, match=message) as err:
        lower_dense("fc9", x, wv, w, bv, b, acc, change.get("out", F(1, 3, 4)))
    assert err.value.layer == "fc9"


def test_acc64_bias_beyond_two_int32_halves_is_rejected():
    """The acc64 kernel seeds its accumulator from hi * 2^16 + lo (two int32 vectors): a bias of 2^47 or more at the
    product grid is an error naming the layer and the limit; just below it lowers."""
    x, w = F(1, 15, 0), F(1, 15, 0)
    wv = np.full((4, 2), 3)
    for bias, ok in ((2**47 - 1, True), (2**47, False)):
        b_fmt, acc = F(1, 50, 0), F(1, 60, 0)
        if ok:
            assert lower_dense("fc8", x, wv, w, np.array([bias, -bias]), b_fmt, acc, F(1, 15, 0)).mode.acc_bits == 64
        else:
            with pytest.raises(UnsupportedOpError, match=r"layer 'fc8': a bias needs more than 48 bits at the product "
                                                         r"grid 2\^-0; the acc64 kernel loads it as two int32 halves"):
                lower_dense("fc8", x, wv, w, np.array([bias, 0]), b_fmt, acc, F(1, 15, 0))


def test_too_large_and_unplaceable_models_say_what_they_need():
    from fxflow.lowering.aie.device import get_device
    from fxflow.lowering.aie.passes.partition import choose

    dev = get_device("xcve2802")
    big = {"name": "big", "mode": "8x8", "K": 2048, "N": 2560, "x": "i8", "y": "i8"}
    with pytest.raises(AieFitError, match=r"layer 'big' \(2048x2560, 8x8\) does not fit xcve2802: its 5120 KB of "
                                          r"weights need at least 320 tiles .* has 304"):
        choose([big], dev, 8, 304, "resource", 0.05)
    ok = dict(big, K=1024, N=1024)  # 64 tiles of 128 x 128 each; five of them need 320
    with pytest.raises(AieFitError, match=r"the layers up to 'e' \(1024x1024\) need at least 320 compute tiles; "
                                          r"xcve2802 offers 304"):
        choose([dict(ok, name=n) for n in "abcde"], dev, 8, 304, "resource", 0.05)
    rng = np.random.default_rng(1)
    i8 = F(1, 2, 5)
    # npu1 (4 columns x 4 rows): a 4x1 layer and a 1x4 layer cannot share the array.
    g = mlp_graph(rng, [512, 128, 512], i8, [F(1, 0, 7)] * 2, [i8] * 2)
    with pytest.raises(AieFitError, match=r"cannot place the design on npu1 \(4 columns .*fc0 4x1, fc1 1x4"):
        lower(g.text(), device="npu1", objective="resource")


def test_memory_limits_name_the_layer_and_the_limit():
    """A batch whose FIFO buffers overflow every tile, or an HCCS row block over the tile memory: an error naming
    the layer and the byte limit at compile time, never a program that overflows a tile."""
    import torch

    import fxflow

    rng = np.random.default_rng(3)
    g = mlp_graph(rng, [64, 64], F(1, 2, 5), [F(1, 0, 7)], [F(1, 2, 5)])
    with pytest.raises(AieFitError, match=r"layer 'fc0' \(64x64, 8x8\) does not fit npu1: even its smallest "
                                          r"slices \(16x16 on a 4x4 grid\) need \d+ bytes .* batch 4096 .* over the "
                                          r"65536-byte tile memory; use a smaller batch"):
        lower(g.text(), device="npu1", batch=4096)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.sm = torch.nn.Linear(64, 128), torch.nn.Softmax(dim=1)

        def forward(self, x):
            return self.sm(self.fc(x))

    cfg = {"model": {"precision": "ap_fixed<8,3>"}, "layers": {"sm": {"softmax": {
        "implementation": "hccs", "B": 500, "S": 10, "Dmax": 40, "output": "int16"}}}}
    with pytest.raises(AieFitError, match=r"layer 'sm': the HCCS kernel's input and output buffers for batch 128 "
                                          r"\(padded to 128\) x 128 features need 99328 bytes .* 65536-byte"):
        fxflow.compile(Net(), torch.zeros(1, 64), config=cfg, backend="aie", aie={"batch": 128})


def test_placement_retries_shrink_the_budget_in_small_steps(monkeypatch):
    """When a partition cannot be placed, the next one may use a few tiles fewer (not 3/4 of them): on npu1 a
    layout that places only at <= 10 tiles is found (16 -> 14 -> 13 -> 12 -> 11 -> 10)."""
    import fxflow.pipeline
    from fxflow.lowering.aie import driver

    budgets = []
    real = fxflow.pipeline.run_passes

    def run_passes(module, passes):
        name, opts = passes[0] if isinstance(passes[0], tuple) else (passes[0], None)
        if name == "aie-partition":
            budgets.append(opts.max_tiles)
        if name == "aie-place" and budgets[-1] > 10:
            raise AieFitError("cannot place")
        return real(module, passes)

    monkeypatch.setattr(fxflow.pipeline, "run_passes", run_passes)
    monkeypatch.setattr(driver, "_tiles_used", lambda module: budgets[-1])  # each partition fills its budget
    rng = np.random.default_rng(4)
    g = mlp_graph(rng, [64, 32], F(1, 2, 5), [F(1, 0, 7)], [F(1, 2, 5)])
    lower(g.text(), device="npu1")
    assert budgets == [16, 14, 13, 12, 11, 10]


def test_options_and_non_aie_designs_are_errors():
    from fxflow.lowering.aie.driver import AieOptions
    from fxflow.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown aie option"):
        AieOptions.from_dict({"devcie": "npu1"})
    with pytest.raises(ConfigError, match="unknown AIE device 'vck190'"):
        AieOptions.from_dict({"device": "vck190"})
    import fxflow

    d = fxflow.compile(_tiny_model(), np.zeros((1, 3)))
    with pytest.raises(FxflowError, match="not compiled for the AIE-ML backend"):
        d.simulate(np.zeros((1, 3)))


def _tiny_model():
    from models import mlp

    return mlp([3, 2])


def test_cli_backend_aie(tmp_path, capsys):
    import torch

    from fxflow.cli import main
    from models import mlp

    path = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(mlp([6, 5, 3]), (torch.zeros(1, 6),)), path)
    assert main(["compile", str(path), "-o", str(tmp_path / "out"), "--backend", "aie", "--csim", "20",
                 "--precision", "ap_fixed<8,3,AP_RND,AP_SAT>", "--aie-device", "npu1"]) == 0
    text = capsys.readouterr().out
    assert "wrote AIE project" in text and "0 mismatching values" in text and "npu1:" in text
    assert "aie.device(npu1)" in (tmp_path / "out" / "aie.mlir").read_text()
