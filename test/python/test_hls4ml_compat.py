"""hls4ml compatibility: the config dict hls4ml's `config_from_pytorch_model` returns, passed to
`fxflow.compile`, gives predictions equal to hls4ml 1.3's own `predict` bit for bit (Dense, Conv1D/2D, ReLU,
max/average pooling, Softmax).  Skipped when hls4ml is not installed (it is the `csim` extra)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import fxflow
from fxflow.config import Config
from fxflow.errors import ConfigError
from toolchains import needs_module

hls4ml = needs_module("hls4ml")
needs_cxx = pytest.mark.needs("g++")  # hls4ml's predict compiles C++ with g++


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 16)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(16, 5)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        return self.softmax(self.fc2(self.relu(self.fc1(x))))


class Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(2, 6, 3)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool1d(2)
        self.conv2 = nn.Conv1d(6, 4, 3)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.AvgPool1d(2)
        self.fc = nn.Linear(4 * 2, 3)

    def forward(self, x):
        y = self.pool1(self.relu1(self.conv1(x)))
        y = self.pool2(self.relu2(self.conv2(y)))
        return self.fc(torch.flatten(y, 1))


class Conv2dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 4, 2)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.AvgPool2d(2)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        y = self.pool1(self.relu1(self.conv1(x)))
        y = self.pool2(self.relu2(self.conv2(y)))
        return self.fc(torch.flatten(y, 1))


CASES = {"mlp_softmax": (Mlp, (10,)), "conv1d": (Conv1dNet, (2, 16)), "conv2d": (Conv2dNet, (3, 10, 10))}


@needs_cxx
@pytest.mark.parametrize("name,precision", [("mlp_softmax", "ap_fixed<16,6>"), ("conv1d", "ap_fixed<12,4>"),
                                            ("conv2d", "ap_fixed<16,6>")])
def test_predict_equals_hls4ml_predict(name, precision, tmp_path):
    torch.manual_seed(7)
    cls, shape = CASES[name]
    model = cls().eval()
    config = hls4ml.utils.config_from_pytorch_model(model, shape, default_precision=precision)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hls_model = hls4ml.converters.convert_from_pytorch_model(
            model, hls_config=config, output_dir=str(tmp_path / "hls4ml"), backend="Vitis", io_type="io_parallel")
        hls_model.compile()
    rng = np.random.default_rng(11)
    x = (rng.normal(size=(300, *shape)) * rng.choice([0.5, 2.0, 6.0], size=(300,) + (1,) * len(shape)))
    x = x.astype(np.float32)
    expected = np.asarray(hls_model.predict(np.ascontiguousarray(x)), dtype=np.float64)
    design = fxflow.compile(model, torch.from_numpy(x[:1]), config)
    got = design.predict(x)
    expected = expected.reshape(got.shape)
    mismatch = int(np.sum(got != expected))
    assert mismatch == 0, f"{mismatch} values differ from hls4ml (max |diff| {np.abs(got - expected).max()})"
    assert np.unique(got).size > 10, "outputs (nearly) constant: the comparison would prove little"
    if name == "conv1d":  # and fxflow's own C++ (acc += accum_t(x * w)) agrees too
        assert np.array_equal(design.csim(x[:64], raw=True, verbose=False), design.predict(x[:64], raw=True))


def test_hls4ml_config_translation():
    cfg = Config.from_dict({
        "Model": {"Precision": {"default": "ap_fixed<12,4>"}, "ReuseFactor": 2, "Strategy": "Resource",
                  "ChannelsLastConversion": "full", "TraceOutput": False},
        "LayerName": {"input_1": {"Precision": {"result": "ap_fixed<10,3>"}},
                      "encoder_0": {"Precision": {"weight": "ap_fixed<8,2>", "accum": "ap_fixed<20,8>"},
                                    "ReuseFactor": 4, "Trace": True}},
        "PytorchModel": "...", "InputShape": [4]})
    assert cfg.arithmetic == "hls4ml"
    assert str(cfg.input_format) == "ap_fixed<10,3>"
    layer = cfg.layer("encoder.0")  # the PyTorch module path finds hls4ml's spelling of it
    assert str(layer.weight) == "ap_fixed<8,2>" and str(layer.accum) == "ap_fixed<20,8>"
    assert layer.reuse_factor == 4 and layer.strategy == "resource"
    assert str(cfg.layer("other").accum) == "ap_fixed<12,4>"  # hls4ml: accum_t is the default precision
    cfg.check_layers(["encoder.0"])
    with pytest.raises(ConfigError, match="'decoder_1'"):
        Config.from_dict({"Model": {"Precision": "ap_fixed<8,3>"},
                          "LayerName": {"decoder_1": {"ReuseFactor": 2}}}).check_layers(["encoder.0"])
    with pytest.raises(ConfigError, match="unknown hls4ml config key 'Model.Precsion'"):
        Config.from_dict({"Model": {"Precsion": "ap_fixed<8,3>"}})
    with pytest.raises(ConfigError, match="unknown precision role"):
        Config.from_dict({"Model": {"Precision": {"wieght": "ap_fixed<8,3>"}}})


def test_decimal_weights_follow_hls4ml_text():
    from fxflow.hls4ml_compat import decimal_constants

    # float32(0.3) = 0.300000011920928955078125 is printed with 10 decimals, then read back as a double
    w = np.array([np.float32(0.3), np.float32(-1 / 3)])
    assert list(decimal_constants(w, 10)) == [0.3000000119, -0.3333333433]
    assert list(decimal_constants(w, -2)) == [0.0, -0.0]  # no fractional bits: printed as integers


class TwoFunctionalCalls(nn.Module):
    """Functional calls hls4ml's dict names after torch.fx (`relu`, `relu_1`, `_threshold`), not after the
    exported ATen nodes fxflow names its layers by."""

    def forward(self, x):
        return torch.relu(nn.functional.threshold(torch.relu(x) - 0.5, 0.25, 0.0))


def test_functional_calls_take_their_torch_fx_names():
    x = torch.linspace(-2, 2, 24).reshape(6, 4)
    dict_ = {"Model": {"Precision": {"default": "ap_fixed<16,6>"}},
             "LayerName": {"relu_1": {"Precision": {"result": "ap_fixed<6,3>"}},
                           "_threshold": {"Precision": {"result": "ap_fixed<12,4>"}}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = fxflow.compile(TwoFunctionalCalls(), x[:1], dict_).mlir("fxp")
    relus = [line for line in text.splitlines() if "fxp.relu" in line]
    assert len(relus) == 2
    assert "!fxp.fixed<1 : i32, 5 : i32, 10 : i32" in relus[0].split("->")[-1]  # the first: the default
    assert "!fxp.fixed<1 : i32, 2 : i32, 3 : i32" in relus[1].split("->")[-1]  # `relu_1`: the second call
    assert any("!fxp.fixed<1 : i32, 3 : i32, 8 : i32" in line.split("->")[-1] for line in text.splitlines()
               if "fxp.select" in line or "fxp.threshold" in line)
    with pytest.raises(ConfigError, match="'relu_2'"):
        fxflow.compile(TwoFunctionalCalls(), x[:1], {"Model": {"Precision": {"default": "ap_fixed<16,6>"}},
                                                     "LayerName": {"relu_2": {"ReuseFactor": 1}}})


def test_recurrent_roles_are_w_hh_and_b_hh():
    cfg = Config.from_dict({"Model": {"Precision": {"default": "ap_fixed<16,6>"}},
                            "LayerName": {"rnn": {"Precision": {"recurrent_weight": "ap_fixed<10,2>",
                                                                "recurrent_bias": "ap_fixed<12,3>"},
                                                  "Direction": "forward", "RecurrentReuseFactor": 1,
                                                  "Static": True}}})
    own = cfg.recurrent_config("rnn")
    assert str(own["recurrent_weight"]) == "ap_fixed<10,2>" and str(own["recurrent_bias"]) == "ap_fixed<12,3>"
    with pytest.raises(ConfigError, match="Direction"):
        Config.from_dict({"LayerName": {"rnn": {"Direction": "backward"}}})


class _Tagged(nn.Module):
    def __init__(self, rnn: nn.Module):
        super().__init__()
        self.pre, self.rec = nn.Linear(3, 3), rnn

    def forward(self, x):
        return self.rec(x)[0]


@pytest.mark.parametrize("rnn, conversion, shape, warned", [
    (nn.LSTM(3, 4, batch_first=True), "full", [5, 3], r"'rec' \(nn\.LSTM\).*'full' runs this layer over 3 steps "
                                                      r"of 5 features .*w_ih's first 5 columns only"),
    (nn.GRU(3, 4, batch_first=True), "internal", [1, 3], r"'rec' \(nn\.GRU\).*3 steps of 1 feature .*column 0"),
    (nn.RNN(3, 4, batch_first=True), "off", [5, 3], r"'rec' \(nn\.RNN\).*no SimpleRNN template"),
    (nn.LSTM(3, 4, batch_first=True), "off", [5, 3], None),
    (nn.GRU(4, 4, batch_first=True), "full", [5, 3], None),  # does not read the model's [T, F] input: no guess
])
def test_recurrent_layers_hls4ml_does_not_compute_are_warned_about(rnn, conversion, shape, warned):
    """docs/layers.md note [b]: where hls4ml 1.3 does not compute the PyTorch recurrent layer, a warning names it."""
    data = {"Model": {"Precision": {"default": "ap_fixed<16,6>"}, "ChannelsLastConversion": conversion},
            "PytorchModel": _Tagged(rnn), "InputShape": shape, "LayerName": {}}
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        Config.from_dict(data)
    messages = [str(w.message) for w in seen if "hls4ml 1.3" in str(w.message)]
    if warned is None:
        assert messages == []
    else:
        assert len(messages) == 1 and re.search(warned, messages[0]), messages


def test_traced_constant_entry_is_dropped():
    """hls4ml's dict names a tensor created in forward after torch.fx (`_tensor_constant0`, its Constant layer):
    no fxflow layer, so the entry is dropped; a type given to it is ignored with a warning naming it."""
    given = {"Model": {"Precision": {"default": "ap_fixed<16,6>"}},
             "LayerName": {"_tensor_constant0": {"Trace": False, "Precision": {"result": "auto"}}}}
    assert Config.from_dict(given).layers == {}
    given["LayerName"]["_tensor_constant0"]["Precision"]["result"] = "ap_fixed<8,2>"
    with pytest.warns(UserWarning, match=r"'LayerName._tensor_constant0.Precision.result' \(ap_fixed<8,2>\) is ignored"):
        assert Config.from_dict(given).layers == {}
