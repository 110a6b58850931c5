"""Constant matrix products as shared adder graphs (`fxflow.fixed.addergraph`, `strategy: distributed_arithmetic`,
`rtl={"products": "adder_graph"}`): the graph is the exact product, zero weights and rows cost nothing, and the
designs built from it agree bit for bit: predict == C-sim (g++ + ap_types) == Verilator.

The hardware checks cost one Verilator / g++ build per design, so each design is a chain of several layers with
different formats (pruned and negative weights, narrow and exact accumulators, signed and unsigned inputs)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fxflow
from fxflow.fixed.addergraph import solve

from models import ROUNDING, ap, inputs, mlp


@st.composite
def int_matrix(draw):
    kk, nn, bits = draw(st.integers(1, 9)), draw(st.integers(1, 6)), draw(st.integers(1, 10))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    w = rng.integers(-(1 << bits), (1 << bits) + 1, size=(kk, nn))
    w[rng.random((kk, nn)) < draw(st.sampled_from([0.0, 0.3, 0.8]))] = 0
    return w


@settings(max_examples=25, deadline=None)
@given(int_matrix())
def test_graph_is_the_exact_product_and_zeros_cost_nothing(w):
    g = solve(w)
    x = np.random.default_rng(1).integers(-300, 300, size=(20, w.shape[0]))
    assert np.array_equal(g.evaluate(x), x.astype(object) @ w.astype(object))
    assert [t is None for t in g.outputs] == [not w[:, n].any() for n in range(w.shape[1])]
    # zero rows (inputs no weight reads) and zero columns add no adder
    padded = np.concatenate([w, np.zeros((3, w.shape[1]), dtype=w.dtype)])
    padded = np.concatenate([padded, np.zeros((padded.shape[0], 2), dtype=w.dtype)], axis=1)
    assert len(solve(padded).adders) == len(g.adders)
    used = {s for ad in g.adders for s in (ad.a, ad.b)} | {t.signal for t in g.outputs if t is not None}
    assert not used & {k for k in range(w.shape[0]) if not w[k].any()}
    # sharing never costs more adders than one signed-digit tree per column
    assert len(g.adders) <= len(solve(w, cse=False).adders)
    r = [(-128, 127)] * w.shape[0]
    for (lo, hi), v in zip(g.ranges(r)[w.shape[0]:], _signal_values(g, w.shape[0])):
        assert lo <= v.min() and v.max() <= hi  # the ranges (widths) hold every value the adder takes



def test_graph_size_is_pinned():
    """The solver's greedy choices (most frequent pair, then shallowest, then smallest key) are pinned by the
    size of one graph: a faster solver must build the same graph, a better one may only lower these."""
    rng = np.random.default_rng(22)
    w = rng.integers(-128, 128, size=(16, 12))
    w[rng.random(w.shape) < 0.3] = 0
    g = solve(w)
    assert (len(g.adders), g.shared, g.cost_bits([(-128, 127)] * 16), g.depth()) == (220, 60, 2610, 6)
    chain = np.array([[0b1001001, -0b1001001, 0b1010101], [0b1010101, 0b1001001, 0]])  # x + x<<d + x<<2d
    x = np.random.default_rng(3).integers(-99, 99, size=(8, 2))
    assert np.array_equal(solve(chain).evaluate(x), x.astype(object) @ chain.astype(object))

def _signal_values(g, kk):
    """Every adder's value over the corner inputs of [-128, 127]^K plus random ones."""
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.choice([-128, 127], size=(64, kk)), rng.integers(-128, 128, size=(64, kk))])
    vals = [x[:, k].astype(object) for k in range(kk)]
    for ad in g.adders:
        a, b = -vals[ad.a] if ad.a_neg else vals[ad.a], vals[ad.b] * (1 << ad.shift)
        vals.append(a - b if ad.b_neg else a + b)
    return [np.asarray(v) for v in vals[kk:]]


def test_sharing_pays_on_a_dense_layer():
    """16x64 8-bit weights with 30 % zeros: the shared graph needs far fewer adders than one CSD tree per column,
    and stays shallow."""
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, size=(16, 64))
    w[rng.random(w.shape) < 0.3] = 0
    g, plain = solve(w), solve(w, cse=False)
    assert len(g.adders) < 0.7 * len(plain.adders)
    assert g.depth() <= 7 and g.shared > 50


def _pruned_chain(seed: int):
    """fc0..fc2 (6-5-4-3) with ~30 % of the weights zero and one all-zero output row."""
    import torch

    model = mlp([6, 5, 4, 3], seed=seed, scale=2.0)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for lin in (model.fc0, model.fc1, model.fc2):
            lin.weight.mul_((torch.rand(lin.weight.shape, generator=g) > 0.3).float())
        model.fc1.weight[2].zero_()
    return model


@st.composite
def da_design(draw):
    cfg = {"model": {"strategy": "distributed_arithmetic",
                     "input": ap(draw(st.booleans()), draw(st.integers(4, 10)), draw(st.integers(1, 4)))},
           "layers": {}}
    for i in range(3):
        wbits = draw(st.integers(2, 9))
        result = ap(draw(st.booleans()), draw(st.integers(6, 14)), 4, draw(st.sampled_from(ROUNDING)),
                    draw(st.sampled_from(("WRAP", "SAT"))))
        layer = {"weight": ap(True, wbits, draw(st.integers(0, 3)), "RND"), "bias": ap(True, 10, 4), "result": result}
        if draw(st.booleans()):  # a narrow accumulator: the k-loop rounds / overflows, the graph is not used
            layer["accum"] = ap(True, draw(st.integers(8, 14)), 5, draw(st.sampled_from(ROUNDING)), "SAT")
        cfg["layers"][f"fc{i}"] = layer
    return cfg, draw(st.integers(0, 1000)), draw(st.sampled_from([None, 400.0, 1500.0]))


@pytest.mark.needs("verilator", "circt")
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(da_design())
def test_adder_graph_rtl_equals_predict(case):
    """Also with a clock target: register stages inside the graphs, Verilator's latency == the reported one."""
    cfg, seed, mhz = case
    model = _pruned_chain(seed)
    x = inputs(np.random.default_rng(seed), 300, 6)
    design = fxflow.compile(model, x[:1], config=cfg, backend="rtl", rtl={"clock_mhz": mhz})
    y = design.predict(x, raw=True)
    yr, latency = design.rtl_sim(x, raw=True, verbose=False)
    assert np.array_equal(y, yr)
    assert latency == design.rtl.latency == design.report()["total"]["rtl_latency"]
    assert "comb.mul" not in design.mlir("rtl")
    for k in design.rtl.kernels:  # 1 output register + the stages the clock asked for inside the graph
        assert k.latency >= 1 and (k.levels > 0 or k.latency == 1)
        if mhz == 1500.0 and k.levels:
            assert k.latency > 1


@pytest.mark.needs("g++", "ap_types")
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(da_design())
def test_distributed_arithmetic_csim_equals_predict(case):
    cfg, seed, _ = case
    model = _pruned_chain(seed)
    x = inputs(np.random.default_rng(seed), 300, 6)
    design = fxflow.compile(model, x[:1], config=cfg)
    assert np.array_equal(design.csim(x, raw=True, verbose=False), design.predict(x, raw=True))
    cpp = "\n".join(p.read_text() for p in (design.project_path() / "firmware" / "layers").glob("*.cpp"))
    graphs = cpp.count("as an adder graph (distributed_arithmetic)")
    assert graphs + cpp.count("distributed_arithmetic not applicable") == 3
    assert graphs >= sum("accum" not in lay for lay in cfg["layers"].values())  # exact accumulators: the graph


def test_timing_driven_stages_follow_the_clock():
    """schedule(): a faster clock never takes fewer stages, each stage's path fits the budget, and a budget
    wider than the whole graph takes none."""
    from fxflow.fixed.addergraph import schedule

    rng = np.random.default_rng(3)
    w = rng.integers(-128, 128, size=(32, 16))
    g = solve(w)
    r = [(-128, 127)] * 32
    stages = []
    for budget in (100.0, 2.0, 1.0, 0.5):
        stage, levels = schedule(g, r, budget, 0.2, 0.015)
        outs = max(stage[t.signal] for t in g.outputs if t is not None)
        stages.append(outs)
        assert levels * (0.2 + 0.015 * 8) <= max(budget, 0.2 + 0.015 * 30)
    assert stages[0] == 0 and stages == sorted(stages) and stages[-1] > stages[1]


def test_clock_option_is_checked():
    from fxflow.errors import ConfigError
    from fxflow.lowering.rtl.options import RtlOptions

    assert RtlOptions.from_dict({"clock_mhz": 250}).clock_mhz == 250
    for bad in (0, -5, "fast", True):
        with pytest.raises(ConfigError, match="clock_mhz"):
            RtlOptions.from_dict({"clock_mhz": bad})


def _conv_net():
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = torch.nn.Conv2d(2, 4, 3, padding=1, groups=2)
            self.c2 = torch.nn.Conv2d(4, 3, 2, stride=2, padding=(0, 1), dilation=(1, 2))
            self.fc = torch.nn.Linear(3 * 3 * 3, 4)

        def forward(self, x):
            x = torch.relu(self.c1(x))
            return self.fc(torch.flatten(torch.relu(self.c2(x)), 1))

    torch.manual_seed(4)
    m = Net().eval()
    with torch.no_grad():
        m.c1.weight[0].zero_()  # a pruned filter (an all-zero column of its matrix)
        m.c2.weight.mul_((torch.rand(m.c2.weight.shape) > 0.3).float())
    return m


CONV_CFG = {"model": {"strategy": "distributed_arithmetic", "precision": "ap_fixed<10,4,AP_RND,AP_SAT>",
                      "weight": "ap_fixed<6,1>", "accum": "exact"}}


@pytest.mark.needs("g++", "ap_types")
def test_conv_distributed_arithmetic_csim_equals_predict():
    """Convolutions (groups, padding, stride, dilation) print one adder graph per group at every position."""
    x = np.random.default_rng(0).normal(0, 2, size=(200, 2, 6, 6))
    design = fxflow.compile(_conv_net(), x[:1], config=CONV_CFG)
    assert np.array_equal(design.csim(x, raw=True, verbose=False), design.predict(x, raw=True))
    cpp = "\n".join(p.read_text() for p in (design.project_path() / "firmware" / "layers").glob("*.cpp"))
    assert cpp.count("adder graph(s) per position") == 2 and cpp.count("as an adder graph") == 1
    assert "+= " not in cpp  # no multiply-accumulate loop is left


@pytest.mark.needs("verilator", "circt")
def test_conv_adder_graph_rtl_equals_predict():
    x = np.random.default_rng(0).normal(0, 2, size=(200, 2, 6, 6))
    design = fxflow.compile(_conv_net(), x[:1], config=CONV_CFG, backend="rtl")
    yr, latency = design.rtl_sim(x, raw=True, verbose=False)
    assert np.array_equal(yr, design.predict(x, raw=True)) and latency == design.rtl.latency
    assert "comb.mul" not in design.mlir("rtl")


@pytest.mark.needs("yosys", "circt")
def test_estimate_prices_the_adder_graph_within_a_factor_of_yosys():
    """The report's LUT estimate of a distributed_arithmetic layer (its adder graph's bits) is within 1.5x of
    yosys' count of the same graph (docs/estimates.md states the factor; 16x64 8-bit: 1.15)."""
    rng = np.random.default_rng(0)
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(12, 10, bias=False)).eval()
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor(rng.integers(-32, 32, size=(10, 12)) / 16.0))
    cfg = {"model": {"strategy": "distributed_arithmetic", "precision": "auto", "input": "ap_fixed<8,3>",
                     "weight": "ap_fixed<6,2>"}}
    design = fxflow.compile(model, np.zeros((1, 12)), config=cfg, backend="rtl", rtl={"pipeline": 0})
    est = design.report()["layers"][0]["lut"]
    got = design.synth(verbose=False)["modules"][design.rtl.kernels[0].name]["lut"]
    assert got > 100 and 1 / 1.5 <= est / got <= 1.5, (est, got)
    assert design.report()["layers"][0]["dsp"] == 0
