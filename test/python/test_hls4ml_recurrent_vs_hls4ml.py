"""hls4ml 1.3's recurrent layers against PyTorch and fxflow (docs/layers.md, "hls4ml compatibility", note [b]).

With the default dict `config_from_pytorch_model` returns ('full'), hls4ml 1.3 does not compute hls4ml's own
recurrent test models (lstm 1275/1280 values differ from fxflow, gru 1277/1280), for structural reasons that
fxflow does not reproduce but warns about (`hls4ml_compat.warn_recurrent_layers`); with the keywords hls4ml's
recurrent tests pass ('off', the table's `hls4ml_kwargs`, as benchmarks/hls4ml_models.py runs them) it does:
  * LSTM / GRU: the dict's ChannelsLastConversion 'full' transposes the [T, F] input and the layer's config takes
    n_sequence / n_in from the transposed shape: hls4ml runs F steps of T features (w_ih's first T columns).
    Proven by rebuilding that reading as a PyTorch model: fxflow's predict of it equals hls4ml's bit for bit.
    With channels_last_conversion 'off' hls4ml computes the PyTorch layer, and its arithmetic is fxflow's
    (0 differing values, also for initial states given as inputs).
  * nn.RNN: hls4ml's Vivado/Vitis backend has no SimpleRNN template; its project never calls the layer (no result:
    `hls4ml_predict` raises HLS4MLNoResult).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import fxflow
from hls4ml_test_models import (MODELS, HLS4MLNoResult, _inputs, _model, _one, _torch, hls4ml_config, hls4ml_kwargs,
                                hls4ml_predict)
from toolchains import needs_module

hls4ml = needs_module("hls4ml")
pytestmark = pytest.mark.needs("g++", "ap_types")  # hls4ml's predict and fxflow's C-sim compile C++


def _hls4ml(model, config: dict, xs, io_type: str, out) -> np.ndarray:
    """hls4ml's predictions ([N, H]: its recurrent layers return the last step) with `config` as given."""
    import contextlib
    import io

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        hls_model = hls4ml.converters.convert_from_pytorch_model(
            model, hls_config=copy.deepcopy(config), output_dir=str(out), backend="Vitis", io_type=io_type)
        hls_model.compile()
        x_in = [np.ascontiguousarray(x, dtype=np.float32) for x in xs]
        y = hls_model.predict(x_in[0] if len(x_in) == 1 else x_in)
    return np.asarray(y, dtype=np.float64).reshape(len(xs[0]), -1)


def _fxflow(model, config: dict, xs, io_type: str = "io_parallel", out=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fxflow.compile(model, _one([torch.from_numpy(x[:1]).float() for x in xs]), copy.deepcopy(config),
                              io_type=io_type, output_dir=out)


def _off(config: dict) -> dict:
    config = copy.deepcopy(config)
    config["Model"]["ChannelsLastConversion"] = "off"
    return config


class _Sequence(torch.nn.Module):
    """hls4ml's test models' form: the output sequence (hls4ml returns its last step, `_last`)."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x)[0]


def _last(y) -> np.ndarray:
    return np.asarray(y, dtype=np.float64)[:, -1]


def _as_hls4ml_reads_it(rnn, steps: int) -> torch.nn.Module:
    """What hls4ml 1.3 computes for a batch_first `rnn` on a [steps, F] input under ChannelsLastConversion 'full':
    the same cell with `steps` input features (w_ih's first `steps` columns), run over the transposed input."""
    cell = type(rnn)(steps, rnn.hidden_size, batch_first=True)
    with torch.no_grad():
        cell.weight_ih_l0.copy_(rnn.weight_ih_l0[:, :steps])
        for name in ("weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(cell, name).copy_(getattr(rnn, name))
    return _Sequence(cell).eval()


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_default_dict_makes_hls4ml_read_the_features_as_steps(name, tmp_path):
    """The benchmark's rows: hls4ml's default dict ('full') gives a model far from PyTorch, exactly the
    transposed reading; fxflow warns naming the layer and stays at PyTorch."""
    model, shapes = _model(name)
    xs = _inputs(shapes, 64, seed=5)
    config = hls4ml_config(model, shapes)
    assert config["Model"]["ChannelsLastConversion"] == "full"
    got = _hls4ml(model, config, xs, "io_parallel", tmp_path / "hls4ml")
    with pytest.warns(UserWarning, match=rf"layer 'rnn' \(nn\.{name.upper()}\): hls4ml 1.3 with "
                                         r"ChannelsLastConversion 'full' runs this layer over 10 steps of 1 feature"):
        fx = fxflow.compile(model, torch.from_numpy(xs[0][:1]).float(), copy.deepcopy(config))
    ref = _torch(model, xs).reshape(64, -1)
    assert float(np.abs(got - ref).max()) > 0.3  # hls4ml: 0.64 (LSTM), 1.25 (GRU)
    assert float(np.abs(fx.predict(xs[0]).reshape(64, -1) - ref).max()) < 0.03  # fxflow: 0.016, 0.013

    reading = _as_hls4ml_reads_it(model.rnn, 1)
    as_steps = [xs[0].transpose(0, 2, 1).copy()]  # [N, 10, 1]
    same = _last(_fxflow(reading, _off(hls4ml_config(reading, [(10, 1)])), as_steps).predict(as_steps[0]))
    assert int(np.sum(same != got)) == 0


@settings(max_examples=3, deadline=None, derandomize=True)
@given(cell=st.sampled_from(["LSTM", "GRU"]), steps=st.integers(2, 4), features=st.integers(2, 5),
       hidden=st.integers(2, 6), frac=st.integers(6, 12), seed=st.integers(0, 1000))
def test_full_conversion_is_the_transposed_reading(tmp_path_factory, cell, steps, features, hidden, frac, seed):
    """Any [T, F]: hls4ml's 'full' result is the cell over the transposed input with w_ih[:, :T], bit for bit."""
    torch.manual_seed(seed)
    model = _Sequence(getattr(torch.nn, cell)(features, hidden, batch_first=True)).eval()
    config = hls4ml_config(model, [(steps, features)])
    config["Model"]["Precision"]["default"] = f"ap_fixed<{frac + 6},6>"
    xs = _inputs([(steps, features)], 48, seed=seed)
    got = _hls4ml(model, config, xs, "io_parallel", tmp_path_factory.mktemp("hls4ml"))
    reading = _as_hls4ml_reads_it(model.rnn, steps)
    as_steps = [xs[0].transpose(0, 2, 1).copy()]
    same = _last(_fxflow(reading, _off(config | {"PytorchModel": reading}), as_steps).predict(as_steps[0]))
    assert int(np.sum(same != got)) == 0
    assert np.unique(got).size > 8


# ("lstm", both io types: test_hls4ml_models_vs_hls4ml.py's SUBSET)
OFF_CASES = [("gru", "io_parallel"), ("gru", "io_stream"), ("lstm_initial_state", "io_parallel"),
             ("gru_initial_state", "io_parallel")]


@pytest.mark.parametrize("name, io_type", OFF_CASES, ids=[f"{n}-{io}" for n, io in OFF_CASES])
def test_with_conversion_off_hls4ml_equals_fxflow(name, io_type, tmp_path):
    """With channels_last_conversion 'off' (hls4ml's recurrent tests' keywords, the table's `hls4ml_kwargs`) hls4ml
    computes the PyTorch layer, with fxflow's arithmetic (hls4ml refuses initial states in io_stream); fxflow's
    C simulation equals its predict."""
    model, shapes = _model(name)
    xs = _inputs(MODELS[name][1], 64, seed=5)
    config = hls4ml_config(model, shapes, **hls4ml_kwargs(name, io_type))
    assert config["Model"]["ChannelsLastConversion"] == "off"
    want = _hls4ml(model, config, xs, io_type, tmp_path / "hls4ml")
    design = _fxflow(model, config, xs, io_type, tmp_path / "fxflow")
    got = np.asarray(design.predict(_one(xs)), dtype=np.float64).reshape(want.shape)
    assert int(np.sum(got != want)) == 0
    assert np.unique(got).size > 100
    if io_type == "io_parallel" and name == "gru":
        assert np.array_equal(design.predict(_one(xs), raw=True), design.csim(_one(xs), raw=True, verbose=False))


def test_hls4ml_never_computes_an_elman_rnn(tmp_path):
    """hls4ml 1.3's Vitis project of an nn.RNN loads the weights and never calls the layer: whatever it returns is
    not the layer (0.04 for fxflow against PyTorch, ~30 for hls4ml), so the benchmark's `hls4ml_predict` classes
    it as hls4ml's failure (HLS4MLNoResult, naming the layer); fxflow warns naming the layer."""
    model, shapes = _model("rnn_tanh")
    xs = _inputs(shapes, 64, seed=5)
    with pytest.raises(HLS4MLNoResult, match=r"layer 'rnn' \(SimpleRNN\) never called"):
        hls4ml_predict(model, shapes, xs, "io_parallel", tmp_path / "hls4ml",
                       kwargs=hls4ml_kwargs("rnn_tanh", "io_parallel"))
    body = (tmp_path / "hls4ml" / "firmware" / "myproject.cpp").read_text()
    layers = body[body.index("insert layers"):]
    assert "w2.txt" in body and "nnet::" not in layers  # weights loaded, no layer called
    config = _off(hls4ml_config(model, shapes))
    got = _hls4ml(model, config, xs, "io_parallel", tmp_path / "hls4ml_predict")
    with pytest.warns(UserWarning, match=r"layer 'rnn' \(nn\.RNN\): hls4ml 1.3's Vivado/Vitis backend has no "
                                         r"SimpleRNN template"):
        fx = fxflow.compile(model, torch.from_numpy(xs[0][:1]).float(), copy.deepcopy(config))
    ref = _torch(model, xs)
    assert float(np.abs(got - ref[:, -1]).max()) > 1.0
    assert float(np.abs(fx.predict(xs[0]) - ref).max()) < 0.06
