"""predict == csim, bit for bit: the emulator against the emitted C++ compiled with g++ and the real ap_types.

Random MLPs (depth, widths, weights) with random formats and modes drawn by hypothesis, plus one design
that walks every rounding x overflow combination through results and narrow (non-exact) accumulators,
so the emulator's step-by-step accumulation path is checked against the C++ as well as its fast paths.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fxflow
from fxflow.toolchain import find_ap_types, find_cxx

from models import OVERFLOW, ROUNDING, ap, identity_chain, inputs, mlp

try:
    find_cxx()
    find_ap_types()
except fxflow.ToolchainError as e:  # pragma: no cover - the CI installs both
    pytest.skip(f"C simulation unavailable: {e}", allow_module_level=True)


def _fmt(draw, max_width=20):
    signed = draw(st.booleans())
    width = draw(st.integers(2 if signed else 1, max_width))
    int_bits = draw(st.integers(-2, width + 2))
    return ap(signed, width, int_bits, draw(st.sampled_from(ROUNDING)), draw(st.sampled_from(OVERFLOW)))


@st.composite
def random_design(draw):
    depth = draw(st.integers(1, 3))
    widths = [draw(st.integers(1, 10)) for _ in range(depth + 1)]
    cfg = {"model": {"precision": _fmt(draw), "input": _fmt(draw)}, "layers": {}}
    for i in range(depth):
        layer = {"weight": _fmt(draw, 14), "bias": _fmt(draw, 14), "result": _fmt(draw)}
        if draw(st.booleans()):
            layer["accum"] = _fmt(draw, 30)  # narrower than exact: per-step rounding / overflow
        work = widths[i] * widths[i + 1]
        layer["reuse_factor"] = draw(st.sampled_from([d for d in (1, 2, 3) if work % d == 0]))
        cfg["layers"][f"fc{i}"] = layer
        if i < depth - 1 and draw(st.booleans()):
            cfg["layers"][f"act{i}"] = {"result": _fmt(draw)}
    return widths, cfg, draw(st.integers(0, 2**16)), draw(st.sampled_from([0.25, 1.0, 4.0]))


def _check(design, x):
    y = design.predict(x, raw=True)
    yc = design.csim(x, raw=True, verbose=False)
    mismatch = np.argwhere(np.asarray(y) != np.asarray(yc))
    assert mismatch.size == 0, f"{len(mismatch)} mismatches, first at {mismatch[0]}: predict {y[tuple(mismatch[0])]} csim {yc[tuple(mismatch[0])]}"


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_design())
def test_random_mlps_predict_equals_csim(tmp_path_factory, case):
    widths, cfg, seed, scale = case
    model = mlp(widths, seed=seed, scale=scale)
    design = fxflow.compile(model, np.zeros((1, widths[0])), config=cfg,
                            output_dir=tmp_path_factory.mktemp("rnd"))
    x = inputs(np.random.default_rng(seed), 300, widths[0])
    _check(design, x)


def test_every_mode_combination_through_results_and_accumulators(tmp_path):
    combos = [(q, o) for q in ROUNDING for o in OVERFLOW]
    cfg = {"model": {"precision": "ap_fixed<12,4>", "input": "ap_fixed<10,3,AP_RND_CONV,AP_SAT>"}, "layers": {}}
    for i, (q, o) in enumerate(combos):
        cfg["layers"][f"fc{i}"] = {
            "weight": ap(True, 7, 2, q, o), "bias": ap(True, 9, 3, q, o),
            # drops product bits, so every k-step rounds, and its range is tight enough to overflow
            "accum": ap(i % 3 != 0, 12, 4, q, o),
            "result": ap(True, 11, 4, q, o),
        }
        if i % 2 == 1 and i < len(combos) - 1:
            cfg["layers"][f"act{i}"] = {"result": ap(i % 4 == 1, 10, 4, q, o)}
    model = identity_chain(8, len(combos), seed=3)
    design = fxflow.compile(model, np.zeros((1, 8)), config=cfg, output_dir=tmp_path)
    x = inputs(np.random.default_rng(5), 400, 8, scale=3.0)
    # exact ties of the input grid, and values far out of range
    x[:20] = (np.arange(20 * 8).reshape(20, 8) - 80) / 128.0 + 1 / 256.0
    x[20:30] = 1e6 * np.sign(x[20:30])
    y = design.predict(x, raw=True)
    assert len(np.unique(y)) > 100, "the signal died in the chain; the test would check nothing"
    _check(design, x)


def test_jet_tagger_bit_exact(tmp_path):
    from fxflow.examples import jet_tagger

    model = jet_tagger.make_model()
    x = jet_tagger.make_inputs(2000)
    for precision in ("ap_fixed<16,6>", "ap_fixed<10,4,AP_RND,AP_SAT>"):
        design = fxflow.compile(model, x[:1], config={"model": {"precision": precision}},
                                output_dir=tmp_path / precision.replace("<", "_").replace(">", "").replace(",", "_"))
        _check(design, x)


def test_residual_add_of_differently_formatted_tensors(tmp_path):
    import torch

    class Residual(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc0 = torch.nn.Linear(6, 5)
            self.act0 = torch.nn.ReLU()
            self.fc1 = torch.nn.Linear(5, 5)

        def forward(self, x):
            h = self.act0(self.fc0(x))
            return self.fc1(h) + h

    torch.manual_seed(4)
    cfg = {"model": {"precision": "ap_fixed<12,4,AP_RND,AP_SAT>"},
           "layers": {"act0": {"result": "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"},
                      "fc1": {"result": "ap_fixed<10,5,AP_TRN,AP_WRAP>"},
                      "add_2": {"result": "ap_fixed<9,4,AP_RND_ZERO,AP_SAT_SYM>"}}}  # the FX node name
    design = fxflow.compile(Residual(), np.zeros((1, 6)), config=cfg, output_dir=tmp_path)
    assert '"fxp.add"' in design.mlir("df")
    _check(design, inputs(np.random.default_rng(9), 300, 6))
