"""predict == csim, bit for bit: the emulator against the emitted C++ compiled with g++ and the real ap_types.

Random MLPs (depth, widths, weights) with random formats and modes drawn by hypothesis, plus one design
that walks every rounding x overflow combination through results and narrow (non-exact) accumulators,
so the emulator's step-by-step accumulation path is checked against the C++ as well as its fast paths.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import fxflow

from models import every_mode_design, inputs, mlp, random_design

pytestmark = pytest.mark.needs("g++", "ap_types")


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
    model, cfg, x = every_mode_design()
    design = fxflow.compile(model, np.zeros((1, 8)), config=cfg, output_dir=tmp_path)
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
