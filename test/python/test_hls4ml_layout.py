"""fxflow.hls4ml_layout: given hls4ml's dict (ChannelsLastConversion 'full'), compiling a layer whose function
hls4ml 1.3 does not compute warns naming the layer and what hls4ml computes instead; fxflow still computes the
model.  That hls4ml computes exactly the function named: test_hls4ml_models_vs_hls4ml.py
(test_hls4ml_computes_what_the_warning_says)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import fxflow
from fxflow.config import Config
from fxflow.errors import ConfigError


class Merge(nn.Module):
    def __init__(self, op):
        super().__init__()
        self.op = op

    def forward(self, x, y):
        return self.op(x, y)


class Einsum(nn.Module):
    def __init__(self, equation):
        super().__init__()
        self.equation = equation

    def forward(self, x, y):
        return torch.einsum(self.equation, x, y)


def _dict(channels_last="full"):
    model = {"Precision": {"default": "ap_fixed<16,6>"}, "ReuseFactor": 1, "Strategy": "Latency"}
    if channels_last is not None:
        model["ChannelsLastConversion"] = channels_last
    return {"Model": model, "LayerName": {}}


def _compile(model, shapes, config):
    xs = [torch.linspace(-2, 2, int(np.prod(s))).reshape(1, *s) for s in shapes]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        design = fxflow.compile(model, xs, config)
    return design, [str(w.message) for w in caught if "does not compute" in str(w.message)]


@pytest.mark.parametrize("op,layer", [(torch.add, "add"), (torch.sub, "sub"), (torch.mul, "mul"),
                                      (torch.minimum, "minimum"), (torch.maximum, "maximum")])
def test_merge_of_two_channels_first_inputs_warns(op, layer):
    design, warned = _compile(Merge(op), [(3, 4, 4), (3, 4, 4)], _dict())
    assert len(warned) == 1, warned
    assert f"layer '{layer}'" in warned[0] and "input 'y' [3, 4, 4], its second operand" in warned[0]
    assert "channels-first as if channels-last" in warned[0]
    x, y = np.full((1, 3, 4, 4), 0.5), np.arange(48.0).reshape(1, 3, 4, 4) / 16
    want = op(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    assert np.array_equal(design.predict([x, y]), want)  # fxflow computes the model (exact on this grid)


def test_einsum_reading_a_transposed_input_warns():
    _, warned = _compile(Einsum("bij,bjk->bik"), [(2, 5), (5, 4)], _dict())
    assert len(warned) == 1 and "layer 'einsum'" in warned[0] and "input 'x' [2, 5] to channels-last" in warned[0]


@pytest.mark.parametrize("model,shapes", [
    (Merge(torch.add), [(6,), (6,)]),  # one dim per sample: hls4ml transposes nothing
    (Einsum("bi,bj->bij"), [(4,), (5,)]),
])
def test_inputs_hls4ml_does_not_transpose_do_not_warn(model, shapes):
    assert _compile(model, shapes, _dict())[1] == []


@pytest.mark.parametrize("channels_last", ["internal", "off", None])
def test_no_warning_without_hls4mls_input_transposes(channels_last):
    assert _compile(Merge(torch.mul), [(3, 4, 4), (3, 4, 4)], _dict(channels_last))[1] == []


def test_no_warning_with_fxflows_own_config():
    assert _compile(Merge(torch.mul), [(3, 4, 4), (3, 4, 4)], {"model": {"precision": "ap_fixed<16,6>"}})[1] == []


def test_channels_last_conversion_is_checked():
    assert Config.from_dict(_dict()).hls4ml_channels_last == "full"
    assert Config.from_dict(_dict()).to_dict()["model"]["hls4ml_channels_last"] == "full"
    with pytest.raises(ConfigError, match="hls4ml_channels_last.*ChannelsLastConversion.*'sideways'"):
        Config.from_dict(_dict("sideways"))


def test_merge_of_two_2d_inputs_warns():
    """[C, L] inputs are transposed too (checked against hls4ml 1.3: its sub of two [4, 6] inputs is fxflow's on
    the second read as [6, 4] channels-last, bit for bit)."""
    _, warned = _compile(Merge(torch.sub), [(4, 6), (4, 6)], _dict())
    assert len(warned) == 1 and "input 'y' [4, 6], its second operand" in warned[0]
