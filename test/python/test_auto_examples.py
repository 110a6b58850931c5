"""`auto` formats from calibration data never overflow on the bundled models — on the data and on the
corners of its box (an adversarial check) — and the overflow counter itself sees overflows of conv, pooling,
affine and elementwise layers when formats are too narrow."""

from __future__ import annotations

import numpy as np
import pytest

import fxflow
from fxflow.examples import load
from fxflow.profiling import overflow_counts

PYTORCH_EXAMPLES = ["jet_tagger", "cnn1d", "cnn2d", "autoencoder"]


def _total(counts: dict) -> int:
    return sum(v for row in counts.values() for v in row.values())


@pytest.mark.parametrize("name", PYTORCH_EXAMPLES)
def test_auto_formats_never_overflow_on_bundled_models(name):
    ex = load(name)
    x = ex.make_inputs(200)
    design = fxflow.compile(ex.make_model(), x[:1], {"model": {"precision": "auto", "input": "auto"}},
                            calibration_data=x)
    counts = overflow_counts(design, x)
    lo, hi = x.min(axis=0), x.max(axis=0)
    corners = np.where(np.random.default_rng(0).random((200, *x.shape[1:])) < 0.5, lo, hi)
    layers = {"conv", "pool", "dense"} & {op for op in (r.get("op") for r in design.report()["layers"])}
    assert layers, "the model has multiply-accumulate layers the check covers"
    assert _total(counts) == 0 and _total(overflow_counts(design, corners)) == 0


def test_overflow_counter_sees_narrow_conv_and_pool_layers():
    ex = load("cnn1d")
    x = ex.make_inputs(100) * 4
    design = fxflow.compile(ex.make_model(), x[:1], {"model": {"precision": "ap_fixed<8,2>",
                                                                 "input": "ap_fixed<12,6>"},
                                                       "layers": {"pool1": {"result": "ap_fixed<4,1>"}}})
    counts = overflow_counts(design, x)
    assert counts["conv1"]["overflows"] > 0 and counts["conv1"]["accum_overflows"] == 0
    assert counts["pool1"]["overflows"] > 0 and counts["fc"]["overflows"] == 0


def test_auto_weights_carry_exact_per_channel_formats_and_stay_bit_exact(tmp_path):
    from toolchains import needs

    ex = load("cnn1d")
    x = ex.make_inputs(64)
    design = fxflow.compile(ex.make_model(), x[:1], {"model": {"precision": "auto", "input": "ap_fixed<12,4>"}})
    assert "formats = dense<" in design.mlir("fxp")
    needs("g++", "ap_types")
    assert np.array_equal(design.csim(x, raw=True, verbose=False), design.predict(x, raw=True))
