"""fxflow.hls4ml_layout and hls4ml_compat.warn_off_linear_layers: given hls4ml's dict, compiling a layer whose
function hls4ml 1.3 does not compute (ChannelsLastConversion 'full': merges and einsums reading an input; io_stream:
a layer reading a flatten; 'off': a Linear) warns naming the layer and what hls4ml computes instead; fxflow still
computes the model.  That hls4ml computes exactly the function named: test_hls4ml_models_vs_hls4ml.py
(test_hls4ml_computes_what_the_warning_says, test_hls4ml_io_stream_flatten_reads_one_word) and
test_hls4ml_off_vs_hls4ml.py."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import fxflow
from fxflow.config import Config
from fxflow.errors import ConfigError
from hls4ml_test_models import Squeeze  # hls4ml's test_squeeze model


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


def _compile(model, shapes, config, io_type="io_parallel"):
    xs = [torch.linspace(-2, 2, int(np.prod(s))).reshape(1, *s) for s in shapes]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        design = fxflow.compile(model, xs, config, io_type=io_type)
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


# --- io_stream: hls4ml's flatten aliases its input stream (docs/layers.md note [a]) -----------------------------
def _conv_flatten(*after: nn.Module) -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), *after).eval()


def test_a_layer_reading_an_io_stream_flatten_warns():
    model = _conv_flatten(nn.ReLU())
    design, warned = _compile(model, [(1, 5, 5)], _dict(), io_type="io_stream")
    assert len(warned) == 1 and "layer '_2': hls4ml 1.3 (io_stream)" in warned[0], warned
    assert "flatten '_1' is an alias of its input stream of 3-value words (the last dim of [4, 3, 3])" in warned[0]
    assert "reads ONE such word as its single word of 36 values" in warned[0]
    x = np.linspace(-1, 1, 25).reshape(1, 1, 5, 5)
    with torch.no_grad():
        want = model(torch.from_numpy(x).float()).numpy()
    assert np.abs(design.predict(x) - want).max() < 0.01  # fxflow computes the model


def test_a_flatten_of_one_value_words_warns():
    """[4, 1, 1] is 4 words of 1 value (measured with hls4ml 1.3: its first output is PyTorch's within 0.015, the
    other 3 are 1.8 to 2.9 away)."""
    model = nn.Sequential(nn.Conv2d(1, 4, 5), nn.Flatten(), nn.ReLU()).eval()
    warned = _compile(model, [(1, 5, 5)], _dict(), io_type="io_stream")[1]
    assert len(warned) == 1 and "stream of 1-value words (the last dim of [4, 1, 1])" in warned[0], warned


@pytest.mark.parametrize("model,io_type", [
    (_conv_flatten(nn.ReLU()), "io_parallel"),  # no stream to alias
    (_conv_flatten(nn.Linear(36, 5)), "io_stream"),  # a dense gathers its input from the words
    (_conv_flatten(), "io_stream"),  # the model's output: hls4ml keeps that flatten
])
def test_flattens_hls4ml_computes_do_not_warn(model, io_type):
    assert _compile(model, [(1, 5, 5)], _dict(), io_type=io_type)[1] == []


def test_no_flatten_warning_with_fxflows_own_config():
    config = {"model": {"precision": "ap_fixed<16,6>"}}
    assert _compile(_conv_flatten(nn.ReLU()), [(1, 5, 5)], config, io_type="io_stream")[1] == []


# --- ChannelsLastConversion 'off': hls4ml reads a Linear's weight untransposed (docs/layers.md note [d]) ---------
class Unused(nn.Module):
    def __init__(self):
        super().__init__()
        self.unused, self.used = nn.Linear(5, 3), nn.ReLU()

    def forward(self, x):
        return self.used(x)


def _off_warnings(model, channels_last="off", with_model=True):
    data = _dict(channels_last)
    if with_model:
        data["PytorchModel"] = model
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Config.from_dict(data)
    return [str(w.message) for w in caught if "hls4ml 1.3" in str(w.message)]


@pytest.mark.parametrize("model,layer", [
    (Squeeze(), "'linear' (nn.Linear 5 -> 3)"),
    (nn.Sequential(nn.Linear(5, 3), nn.ReLU()), "'_0' (nn.Linear 5 -> 3)"),  # measured against hls4ml too
    (nn.Sequential(nn.Sequential(nn.Linear(4, 4))), "'_0_0' (nn.Linear 4 -> 4)"),
])
@pytest.mark.parametrize("channels_last", ["off", None])  # None: no key, hls4ml's 'off' (its test_squeeze)
def test_a_linear_under_channels_last_off_warns(model, layer, channels_last):
    warned = _off_warnings(model, channels_last)
    assert len(warned) == 1 and f"layer {layer}: hls4ml 1.3 with ChannelsLastConversion 'off'" in warned[0], warned
    n_out, n_in = (3, 5) if "5 -> 3" in layer else (4, 4)
    assert f"reads its weight [{n_out}, {n_in}] ([out, in]) as [in, out] = [{n_in}, {n_out}]" in warned[0]
    assert f"x @ W.reshape({n_in}, {n_out}), not the PyTorch layer's x @ W.T" in warned[0]


@pytest.mark.parametrize("model,channels_last", [
    (Squeeze(), "full"), (Squeeze(), "internal"),  # hls4ml's channels-last pass transposes the weight
    (nn.Sequential(nn.Linear(5, 1)), "off"), (nn.Sequential(nn.Linear(1, 3)), "off"),  # same order either way
    (Unused(), "off"),  # never called: hls4ml does not convert it
])
def test_linears_hls4ml_computes_do_not_warn(model, channels_last):
    assert _off_warnings(model, channels_last) == []


def test_no_linear_warning_without_the_model_in_the_dict():
    assert _off_warnings(Squeeze(), with_model=False) == []


def test_the_linear_warning_comes_with_compile():
    data = _dict("off")
    data["PytorchModel"] = model = Squeeze().eval()
    design, _ = _compile(model, [(5,)], data)
    with pytest.warns(UserWarning, match=r"layer 'linear' \(nn.Linear 5 -> 3\).*'off'"):
        fxflow.compile(model, torch.zeros(1, 5), data)
    x = np.linspace(-1, 1, 5).reshape(1, 5)
    with torch.no_grad():
        want = model(torch.from_numpy(x).float()).numpy()
    assert np.abs(design.predict(x) - want).max() < 0.01  # the PyTorch model, not hls4ml's reading
