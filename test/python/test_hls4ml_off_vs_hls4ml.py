"""hls4ml 1.3 with ChannelsLastConversion 'off' (what hls4ml's test_squeeze runs, deleting the key) against fxflow
(docs/layers.md, "hls4ml compatibility", note [d]): hls4ml's channels-last pass is what transposes a Linear's
PyTorch weight [out, in] to hls4ml's [in, out]; under 'off' it does not run, and hls4ml reads the weight as if it
were [in, out].  hls4ml's test sets every weight to 1, where that reading does not show.  Not squeeze's own: a plain
Linear reads its weight so too.  fxflow computes the model and warns (hls4ml_compat.warn_off_linear_layers), naming
the reading checked here: x @ W.reshape(in, out)."""

from __future__ import annotations

import copy
import re
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import fxflow
from hls4ml_test_models import _inputs, _model, hls4ml_config, hls4ml_kwargs, hls4ml_predict
from toolchains import needs_module

hls4ml = needs_module("hls4ml")
pytestmark = pytest.mark.needs("g++", "ap_types")  # hls4ml's predict compiles C++


def _predict(model, config: dict, x: np.ndarray, warned: list | None = None) -> np.ndarray:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        design = fxflow.compile(model, torch.from_numpy(x[:1]).float(), copy.deepcopy(config))
    if warned is not None:
        warned += [str(w.message) for w in caught if "hls4ml 1.3" in str(w.message)]
    return np.asarray(design.predict(x), dtype=np.float64).reshape(len(x), -1)


def _plain_linear():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 3), nn.ReLU()).eval(), [(5,)]


@pytest.mark.parametrize("name", ["squeeze", "linear"])
def test_off_reads_a_linear_weight_untransposed(name, tmp_path):
    model, shapes = _model("squeeze") if name == "squeeze" else _plain_linear()
    kwargs = hls4ml_kwargs("squeeze", "io_parallel")
    assert kwargs["channels_last_conversion"] == "off"
    xs = _inputs(shapes, 64, seed=5)
    want, _ = hls4ml_predict(model, shapes, xs, "io_parallel", tmp_path / "hls4ml", kwargs=kwargs)
    want = want.reshape(64, -1)
    config = hls4ml_config(model, shapes, **kwargs)
    warned: list = []
    own = _predict(model, config, xs[0], warned)
    assert int(np.sum(own != want)) > want.size // 2  # not the PyTorch model
    linear = next(m for m in model.modules() if isinstance(m, nn.Linear))
    n_in, n_out = linear.in_features, linear.out_features
    assert len(warned) == 1 and f"x @ W.reshape({n_in}, {n_out})" in warned[0], warned  # the reading checked next
    with torch.no_grad():
        weight = linear.weight.clone()  # [out, in]
        linear.weight.copy_(weight.reshape(n_in, n_out).T)  # x @ W.reshape(in, out) as a PyTorch Linear
    assert int(np.sum(_predict(model, config, xs[0]) != want)) == 0
    assert np.unique(want).size > 20
    assert re.search(r"layer '(linear|_0)' \(nn.Linear 5 -> 3\)", warned[0])
