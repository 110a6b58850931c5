"""Quantization-aware models: fake quantization in the imported graph becomes exact fxp casts and
pre-quantized weights, so `predict` equals the model's own quantized forward pass in float64."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from torch import nn

import fxflow
from toolchains import needs_module


def fq(x, f: int, lo: int, hi: int, mode: str = "rnd"):
    """Hand-written power-of-two fake quantizers in the forms QAT code uses."""
    s = 2.0**f
    if mode == "rnd":  # floor(x*2^f + 0.5), clamped, with a straight-through estimator
        return x + (torch.clamp(torch.floor(x * s + 0.5), lo, hi) / s - x).detach()
    if mode == "conv":  # torch.round = round half to even
        return torch.clamp(torch.round(x * s), lo, hi) / s
    if mode == "trn_sat_first":  # saturate before rounding (PQuantML's order)
        return torch.floor(torch.clamp(x, lo / s, hi / s) * s) / s
    raise ValueError(mode)


class QatMlp(nn.Module):
    """Every activation, weight and bias quantized by the model itself."""

    def __init__(self, widths=(6, 8, 3), seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.fc1, self.fc2 = nn.Linear(widths[0], widths[1]), nn.Linear(widths[1], widths[2])

    def forward(self, x):
        x = fq(x, 4, -128, 127, "conv")
        h = nn.functional.linear(x, fq(self.fc1.weight, 6, -64, 63), fq(self.fc1.bias, 6, -64, 63))
        h = torch.relu(fq(h, 4, -256, 255, "rnd"))
        h = fq(h, 3, 0, 63, "trn_sat_first")
        y = nn.functional.linear(h, fq(self.fc2.weight, 5, -32, 31), fq(self.fc2.bias, 5, -32, 31))
        return fq(y, 5, -512, 511, "rnd")


def _float64_forward(model, x):
    import copy

    with torch.no_grad():
        return copy.deepcopy(model).double()(torch.as_tensor(x, dtype=torch.float64)).numpy()


def test_hand_written_qat_model_is_exact(tmp_path):
    model = QatMlp().eval()
    x = np.random.default_rng(1).normal(size=(2000, 6)) * 6  # well past the input clamp: saturation too
    design = fxflow.compile(model, x[:1], output_dir=tmp_path)
    want = _float64_forward(model, x)
    assert np.array_equal(design.predict(x), want)
    assert np.array_equal(design.predict(x[:300], raw=True), design.csim(x[:300], raw=True, verbose=False))
    layers = {r["layer"]: r for r in design.report()["layers"]}
    casts = sorted(r["result"] for r in layers.values() if r["op"] == "cast")
    assert "ap_ufixed<6,3,AP_TRN,AP_SAT>" in casts and "ap_fixed<10,5,AP_RND,AP_SAT>" in casts
    # the model's formats are kept even when the config asks for others
    narrow = fxflow.compile(model, x[:1], config={"model": {"precision": "ap_fixed<4,2>"}})
    assert np.array_equal(narrow.predict_float(x), want)  # the float reference is the QAT forward pass
    assert [r["weight"] for r in narrow.report()["layers"] if r["op"] == "dense"] == \
        [r["weight"] for r in layers.values() if r["op"] == "dense"]


@pytest.mark.parametrize("body, message", [
    (lambda x: torch.clamp(torch.round(x * 3.0), -8, 7) / 3.0, "power-of-two"),
    (lambda x: torch.round(x * 4.0) / 4.0, "no clamp"),
    (lambda x: torch.clamp(torch.round(x * 4.0) + 3.0, -8, 7) / 4.0, "not the range of a fixed-point format|zero point"),
    (lambda x: torch.clamp(torch.ceil(x * 4.0), -8, 7) / 4.0, "no fixed-point rounding mode"),
])
def test_unsupported_quantizers_name_the_layer(body, message):
    class Q(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(body(x))

    with pytest.raises(fxflow.UnsupportedOpError, match=message) as err:
        fxflow.compile(Q().eval(), np.zeros((1, 3)))
    assert err.value.layer and err.value.layer in str(err.value)


def test_pquant_model_compiles_bit_exact():
    pquant = needs_module("pquant")  # the optional `qat` extra, with its Keras backend set to torch
    cfg = pquant.ap_config()
    cfg.pruning_parameters.enable_pruning = False
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 12), nn.ReLU(), nn.Linear(12, 4))
    model = pquant.add_compression_layers(model, cfg, input_shape=(1, 8)).eval()
    x = np.random.default_rng(0).normal(size=(1000, 8))
    design = fxflow.compile(model, x[:1], config={"model": {"precision": "auto"}})
    assert np.array_equal(design.predict(x), _float64_forward(model, x))
