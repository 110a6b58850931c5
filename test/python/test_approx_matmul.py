"""Approximate multipliers in fxp.matmul (products of two activations: q @ k^T, attn @ v) and the estimator's
cost of approximate layers.

Random attention-like models (q, k, v from Linear layers, per-layer random multipliers and operand formats,
heads or not): predict == C simulation bit for bit (io_parallel and io_stream, Vitis and Catapult);
`fxflow.approx.torch` emulates the products in the model's own forward (== predict); a named multiplier
whose widths do not fit an operand is an error naming the layer and the operand; `report()` prices an
approximate layer as LUT multipliers of its multiplier's cost (no DSP) and names it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import fxflow
from fxflow import approx
from fxflow.approx import cost
from fxflow.approx.torch import approximate, unwrap
from fxflow.estimate import lut_multiplier_luts
from fxflow.fixed import FixedFormat, quantize, to_float
from fxflow.report import format_table

from test_approx_design import SPECS, _check, _fmt

pytestmark = pytest.mark.needs("g++", "ap_types")


class Score(torch.nn.Module):
    def forward(self, q, k):
        return q @ k.transpose(-1, -2)


class Mix(torch.nn.Module):
    def forward(self, a, v):
        return torch.matmul(a, v)


class AttentionLike(torch.nn.Module):
    """q, k, v = Linear(relu(x)) as [heads,] t x d; score = q @ k^T; mix = relu(score) @ v (softmax-free, so the
    float model between the layers is exact and its emulated forward can equal predict)."""

    def __init__(self, t: int, d: int, heads: int, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        n = t * d * max(heads, 1)
        self.shape = (heads, t, d) if heads else (t, d)
        self.q, self.k, self.v = (torch.nn.Linear(n, n) for _ in range(3))
        self.score, self.mix = Score(), Mix()

    def forward(self, x):
        h = torch.relu(x)  # one reader of the input (io_stream)
        q, k, v = (m(h).reshape(-1, *self.shape) for m in (self.q, self.k, self.v))
        return self.mix(torch.relu(self.score(q, k)), v)


def _config(draw) -> dict:
    lin = {"weight": "ap_fixed<8,2>", "bias": "ap_fixed<10,4>"}
    cfg = {"model": {"precision": "ap_fixed<12,5>", "input": _fmt(draw)},
           "layers": {name: {**lin, "result": _fmt(draw, 4, 7)} for name in ("q", "k", "v")}}
    cfg["layers"]["score"] = {"multiplier": draw(st.sampled_from(SPECS)), "result": _fmt(draw, 4, 7, signed=True)}
    approximate = [s for s in SPECS if s != "exact"]  # at least one layer always exercises an approximation
    cfg["layers"]["mix"] = {"multiplier": draw(st.sampled_from(approximate)), "result": "ap_fixed<14,6>"}
    if draw(st.booleans()):  # narrow: every term rounds or overflows (the emulator's step-by-step path)
        cfg["layers"]["mix"]["accum"] = _fmt(draw, 6, 12, signed=True)
    return cfg


@st.composite
def random_attention(draw):
    return (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.sampled_from([0, 2])), _config(draw),
            draw(st.integers(0, 2**16)))


def _x(seed: int, n: int, features: int) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=(n, features)) * 2).astype(np.float32).astype(np.float64)


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
@settings(max_examples=1, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=random_attention())
def test_random_attention_with_multipliers_predict_equals_csim_and_torch(io_type, case):
    t, d, heads, cfg, seed = case
    model = AttentionLike(t, d, heads, seed).eval()
    n = t * d * max(heads, 1)
    design = fxflow.compile(model, torch.zeros(1, n), config=cfg, io_type=io_type)
    fxp = design.mlir("fxp")
    assert fxp.count('"fxp.matmul"') == 2
    for layer in ("score", "mix"):
        spec = cfg["layers"][layer]["multiplier"]
        assert spec == "exact" or f'approx_mul = "{approx.parse_spec(spec)[0]}' in fxp
    # on the input grid: the emulated forward quantizes at its swapped modules only, and relu(x) comes first
    x_fmt = FixedFormat.parse(cfg["model"]["input"])
    x = to_float(quantize(_x(seed, 50, n), x_fmt), x_fmt.f)
    _check(design, x)
    emulated = approximate(model, design)(torch.from_numpy(x).float())
    np.testing.assert_array_equal(emulated.detach().double().numpy(), design.predict(x))


def test_catapult_io_stream_attention():
    cfg = {"model": {"precision": "ap_fixed<12,5>", "input": "ap_fixed<6,2>", "weight": "ap_fixed<7,2>",
                     "result": "ap_fixed<7,3,AP_RND,AP_SAT>", "multiplier": "drum(k=3)"},
           "layers": {"mix": {"multiplier": "trunc(k=4, compensate=1)", "result": "ap_fixed<14,6>"}}}
    model = AttentionLike(3, 2, 2, 7).eval()
    design = fxflow.compile(model, torch.zeros(1, 12), config=cfg, io_type="io_stream", backend="catapult")
    y = _check(design, _x(1, 40, 12))
    exact = fxflow.compile(model, torch.zeros(1, 12), config={**cfg, "model": {**cfg["model"], "multiplier": "exact"},
                                                            "layers": {"mix": {"result": "ap_fixed<14,6>"}}})
    assert (exact.predict(_x(1, 40, 12), raw=True) != y).any()  # the products really are approximate


def test_torch_emulation_of_top_level_matmuls_and_gradients():
    """Products in the top-level forward carry FX node names: they belong to the model's own forward (wrapped
    after its submodules, whatever the program order)."""

    class Top(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(4)
            self.q, self.k = torch.nn.Linear(6, 6), torch.nn.Linear(6, 6)
            self.mix = Mix()

        def forward(self, x):
            q, k = self.q(x).reshape(-1, 3, 2), self.k(x).reshape(-1, 3, 2)
            return self.mix(torch.relu(q @ k.transpose(-1, -2)), q)  # a top-level product, then a module's

    cfg = {"model": {"precision": "ap_fixed<8,3>", "result": "ap_fixed<8,3,AP_RND,AP_SAT>", "multiplier": "mitchell"}}
    model = Top().eval()
    design = fxflow.compile(model, torch.zeros(1, 6), config=cfg)
    x = torch.from_numpy(_x(2, 100, 6)).float().requires_grad_()
    amodel = approximate(model, design)
    y = amodel(x)
    np.testing.assert_array_equal(y.detach().double().numpy(), design.predict(x.detach().double().numpy()))
    y.sum().backward()  # straight-through: the float products' gradient
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    plain = unwrap(amodel)
    assert type(plain) is Top and isinstance(plain.q, torch.nn.Linear) and type(plain.mix) is Mix


def test_matmul_multiplier_must_fit_both_operands():
    model = AttentionLike(2, 2, 0, 0).eval()
    cfg = {"model": {"precision": "ap_fixed<8,3>"},
           "layers": {"q": {"result": "ap_fixed<10,4>"}, "score": {"multiplier": "mul8s_drum4"}}}
    with pytest.raises(fxflow.ConfigError, match="layer 'score': multiplier 'mul8s_drum4' cannot be used: its lhs "
                       r"format ap_fixed<10,4> \(10-bit signed\) does not fit the multiplier's lhs operand "
                       r"\(8-bit signed\)"):
        fxflow.compile(model, torch.zeros(1, 4), config=cfg)
    cfg["layers"] = {"k": {"result": "ap_ufixed<8,3>"}, "mix": {"multiplier": "mul8s_drum4"}, "score": {}}
    fxflow.compile(model, torch.zeros(1, 4), config=cfg)  # mix: relu(score) @ v, both 8-bit signed: fits
    cfg["layers"]["score"] = {"multiplier": "mul8s_drum4"}
    with pytest.raises(fxflow.ConfigError, match="layer 'score'.*its rhs format ap_ufixed<8,3>"):
        fxflow.compile(model, torch.zeros(1, 4), config=cfg)
    # hls4ml arithmetic casts dense/conv products one by one (no multiplier there); matmul has no such casts
    hls = {"model": {"precision": "ap_fixed<8,3>", "arithmetic": "hls4ml"},
           "layers": {"score": {"multiplier": "drum(k=3)"}}}
    assert 'approx_mul = "drum(k=3)"' in fxflow.compile(model, torch.zeros(1, 4), config=hls).mlir("fxp")
    with pytest.raises(fxflow.ConfigError, match="layer 'q': approximate multipliers cannot be combined"):
        fxflow.compile(model, torch.zeros(1, 4), config={**hls, "layers": {"q": {"multiplier": "drum(k=3)"}}})


# --- estimates -------------------------------------------------------------------------------------------------
def _rows(design, lut_costs=None) -> dict:
    return {r["layer"]: r for r in design.report(lut_costs=lut_costs)["layers"] if r["multiplications"]}


def test_report_costs_approximate_layers_by_their_multiplier():
    """9-bit operands: exact products go to DSPs; approximate ones are LUT multipliers of the multiplier's
    cost (gate model: the exact LUT multiplier scaled by gates / exact gates, or the LUTs yosys measured)."""
    model = AttentionLike(2, 2, 0, 0).eval()
    base = {"precision": "ap_fixed<9,4>", "accum": "ap_fixed<24,10>"}  # fixed accumulators: only products differ
    exact = _rows(fxflow.compile(model, torch.zeros(1, 4), config={"model": base}))
    spec = "trunc(k=8, compensate=1)"
    design = fxflow.compile(model, torch.zeros(1, 4), config={"model": {**base, "multiplier": spec}})
    rows = _rows(design)
    m = approx.build(spec, 9, True, 9, True)
    each, source = cost.lut_cost(m, lut_multiplier_luts(9, 9))
    assert source == "gates" and each == math.ceil(41 * m.gates / approx.build("exact", 9, True, 9, True).gates)
    assert each < lut_multiplier_luts(9, 9)  # truncation drops 36 of the 81 partial products
    for kernel in ("q", "score"):  # a dense and a matmul layer
        e, a = exact[kernel], rows[kernel]
        assert e["dsp"] > 0 and a["dsp"] == 0
        assert a["multipliers"] == e["multipliers"]
        assert a["lut"] - e["lut"] == a["multipliers"] * each  # exact: DSPs, no multiplier LUTs
        assert a["multiplier"] == spec and "multiplier" not in e
    assert "trunc(k=8, compensate=1)" in format_table(design.report())
    measured_luts = cost.LutCosts()
    measured_luts.record(m, 7)  # a yosys measurement (fxflow.lowering.rtl.characterize.lut_costs(..., into=) records it)
    assert cost.lut_cost(m, lut_multiplier_luts(9, 9), measured_luts) == (7, "yosys")
    measured = _rows(design, measured_luts)
    assert measured["score"]["lut"] - exact["score"]["lut"] == measured["score"]["multipliers"] * 7
    assert _rows(design) == rows  # without them the report stays on the gate model: nothing is left behind


def test_report_cheaper_multiplier_fewer_luts():
    """Two approximate multipliers on 8-bit operands (LUT multipliers either way): the LUT difference is the
    multiplier count times the difference of their modelled costs."""
    model = AttentionLike(2, 2, 0, 0).eval()
    base = {"precision": "ap_fixed<8,3>", "accum": "ap_fixed<20,8>"}
    r1 = _rows(fxflow.compile(model, torch.zeros(1, 4), config={"model": {**base, "multiplier": "trunc(k=6)"}}))
    r2 = _rows(fxflow.compile(model, torch.zeros(1, 4), config={"model": {**base, "multiplier": "bam(hbl=2, vbl=8)"}}))
    c1 = cost.lut_cost(approx.build("trunc(k=6)", 8, True, 8, True), 32)[0]
    c2 = cost.lut_cost(approx.build("bam(hbl=2, vbl=8)", 8, True, 8, True), 32)[0]
    assert c2 < c1
    for kernel in ("score", "mix"):
        assert r1[kernel]["lut"] - r2[kernel]["lut"] == r1[kernel]["multipliers"] * (c1 - c2)


@pytest.mark.parametrize("spec", ["drum(k=3)", "trunc(k=5, compensate=1)", "mitchell"])
def test_matmul_error_within_the_stated_bound(spec):
    """docs/approx.md: with the exact accumulator, |approximate - exact matmul| <= K * WCE * 2^-(f_a + f_b)
    plus one LSB of the result (both round once, onto the same result grid)."""

    class Gram(torch.nn.Module):
        def forward(self, x):
            return x @ x.transpose(-1, -2)

    fmt = FixedFormat.parse("ap_fixed<7,3>")
    cfg = {"model": {"precision": "ap_fixed<7,3>", "result": "ap_fixed<20,8>"}}
    exact = fxflow.compile(Gram(), torch.zeros(1, 3, 5), config=cfg)
    design = fxflow.compile(Gram(), torch.zeros(1, 3, 5), config={"model": {**cfg["model"], "multiplier": spec}})
    x = _x(3, 300, 15).reshape(300, 3, 5)
    wce = approx.build(spec, 7, True, 7, True).metrics()["wce"]
    err = np.abs(design.predict(x) - exact.predict(x))
    bound = 5 * wce * 2.0 ** (-2 * fmt.f) + 2.0**-12
    assert err.max() <= bound and err.max() > 0, (err.max(), bound)


def test_multiplier_on_a_linear_over_tokens_predict_equals_csim():
    """A Linear on [batch, tokens, K] (one fxp.dense over the last axis) with an approximate multiplier: the
    range widening follows the last axis (it once broadcast along dim 1 and failed with a raw ValueError)."""
    torch.manual_seed(1)
    cfg = {"model": {"precision": "ap_fixed<16,6>", "input": "ap_fixed<8,3>", "weight": "ap_fixed<8,2>",
                     "multiplier": "drum(k=4)"}}
    design = fxflow.compile(torch.nn.Linear(4, 5).eval(), torch.zeros(1, 3, 4), config=cfg)
    y = _check(design, _x(2, 24, 12).reshape(24, 3, 4))
    assert len(np.unique(y)) > 10
