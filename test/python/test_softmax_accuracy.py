"""Softmax accurate by default: the stable softmax's tables sized from the input range and the result's LSB
(`fxflow.fixed.softmax.accurate_formats`) stay within `error_bound` + one LSB of float64 on random logits;
hls4ml's coarse tables remain selected by hls4ml configs (bit-identity: test_hls4ml_compat.py).
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import fxflow
from fxflow.fixed import FixedFormat, quantize, to_float
from fxflow.fixed.softmax import accurate_formats, error_bound, exact_softmax, softmax


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 24), w=st.integers(6, 20), i=st.integers(1, 7), f_y=st.integers(4, 16),
       y_round=st.sampled_from(["TRN", "RND", "RND_CONV"]), scale=st.sampled_from([0.5, 2.0, 8.0]),
       seed=st.integers(0, 2**16))
def test_default_softmax_within_its_bound(n, w, i, f_y, y_round, scale, seed):
    x = FixedFormat(1, min(i, w - 2), w - 1 - min(i, w - 2))
    y = FixedFormat(0, 1, f_y, y_round, "SAT")
    logits = np.random.default_rng(seed).normal(size=(300, n)) * scale
    raw = quantize(logits, x)
    d_max = (x.max_int - x.min_int) * 2.0**-x.f  # the whole input format (no calibration)
    fm = accurate_formats(x, d_max, n, y.f)
    got = to_float(softmax(raw, x, y, "stable", fm), y.f)
    ref = exact_softmax(to_float(raw, x.f), -1)
    bound = error_bound(fm, x, n, d_max) + 2.0**-y.f
    assert np.abs(got - ref).max() <= bound
    assert fm.exp_size <= 4096 and fm.inv_size <= 4096


def test_bound_is_tight_for_common_formats():
    """The issue's case: ap_fixed<18,8> logits and result, 10 classes: hls4ml's tables were off by 0.037."""
    x = FixedFormat.parse("ap_fixed<18,8>")
    fm = accurate_formats(x, (x.max_int - x.min_int) * 2.0**-x.f, 10, x.f)
    assert error_bound(fm, x, 10, 256.0) + x.lsb < 0.01


class Classifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        return torch.softmax(self.fc(x), dim=1)


def test_default_softmax_agrees_with_float_where_hls4ml_tables_do_not():
    model = Classifier().eval()
    x = torch.randn(3000, 16, generator=torch.Generator().manual_seed(1)) * 2
    yf = model(x).detach().double().numpy()
    hls4ml_tables = {"exp_table": "ap_fixed<18,8,AP_RND,AP_SAT>", "inv_table": "ap_fixed<18,8,AP_RND,AP_SAT>"}
    for precision in ("ap_fixed<18,8>", "ap_fixed<24,8>"):
        accurate = fxflow.compile(model, x[:1], config={"model": {"precision": precision}}).predict(x.numpy())
        coarse = fxflow.compile(model, x[:1], config={"model": {"precision": precision},
                                                      "layers": {"_softmax": hls4ml_tables}}).predict(x.numpy())
        assert np.abs(accurate - yf).max() < 0.005
        assert (accurate.argmax(1) == yf.argmax(1)).mean() > 0.99
        assert np.abs(coarse - yf).max() > 0.02  # what the default used to be


def test_hls4ml_config_keeps_hls4ml_tables():
    from toolchains import needs_module

    hls4ml = needs_module("hls4ml")
    cfg = hls4ml.utils.config_from_pytorch_model(Classifier(), (16,), granularity="model",
                                                 default_precision="ap_fixed<16,6>")
    text = fxflow.compile(Classifier().eval(), torch.zeros(1, 16), config=cfg).mlir("fxp")
    assert 'exp_format = !fxp.fixed<1 : i32, 7 : i32, 10 : i32, "RND", "SAT">' in text
