"""hls4ml 1.3 with ChannelsLastConversion 'off' (what hls4ml's test_squeeze runs, deleting the key) against fxflow
(docs/layers.md, "hls4ml compatibility", note [d]): hls4ml's channels-last pass is what transposes a Linear's
PyTorch weight [out, in] to hls4ml's [in, out]; under 'off' it does not run, and hls4ml reads the weight as if it
were [in, out].  hls4ml's test sets every weight to 1, where that reading does not show."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

import fxflow
from hls4ml_test_models import _inputs, _model, hls4ml_config, hls4ml_kwargs, hls4ml_predict
from toolchains import needs_module

hls4ml = needs_module("hls4ml")
pytestmark = pytest.mark.needs("g++", "ap_types")  # hls4ml's predict compiles C++


def _predict(model, config: dict, x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = fxflow.compile(model, torch.from_numpy(x[:1]).float(), copy.deepcopy(config))
    return np.asarray(design.predict(x), dtype=np.float64).reshape(len(x), -1)


def test_off_reads_a_linear_weight_untransposed(tmp_path):
    model, shapes = _model("squeeze")
    kwargs = hls4ml_kwargs("squeeze", "io_parallel")
    assert kwargs["channels_last_conversion"] == "off"
    xs = _inputs(shapes, 64, seed=5)
    want, _ = hls4ml_predict(model, shapes, xs, "io_parallel", tmp_path / "hls4ml", kwargs=kwargs)
    want = want.reshape(64, -1)
    config = hls4ml_config(model, shapes, **kwargs)
    own = _predict(model, config, xs[0])
    assert int(np.sum(own != want)) > want.size // 2  # not the PyTorch model
    with torch.no_grad():
        weight = model.linear.weight.clone()  # [out, in] = [3, 5]
        model.linear.weight.copy_(weight.reshape(-1).reshape(5, 3).T)  # its values read as [in, out]
    assert int(np.sum(_predict(model, config, xs[0]) != want)) == 0
    assert np.unique(want).size > 20
