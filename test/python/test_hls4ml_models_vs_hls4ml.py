"""hls4ml's own PyTorch test models against hls4ml 1.3 itself: with the dict hls4ml's `config_from_pytorch_model`
returns (granularity 'name', with the keywords hls4ml's test of the model passes: `hls4ml_kwargs`), fxflow's
predict equals hls4ml's predict bit for bit, in io_parallel and io_stream, and fxflow's C simulation equals its
predict.  One model per layer kind whose arithmetic could differ (the whole table: benchmarks/hls4ml_models.py,
docs/layers.md "hls4ml compatibility"); each hls4ml build is done once per model and io type (a module fixture),
as it takes seconds of g++."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import fxflow
from hls4ml_test_models import (MODELS, _inputs, _model, _one, as_hls4ml_layout, hls4ml_config, hls4ml_kwargs,
                                hls4ml_predict)
from toolchains import needs_module

hls4ml = needs_module("hls4ml")
pytestmark = pytest.mark.needs("g++", "ap_types")  # hls4ml's predict and fxflow's C-sim compile C++

# recurrent: "lstm" ('off', as hls4ml's recurrent tests; with 'full' hls4ml 1.3 computes another function)
SUBSET = ["linear_elu", "op_leaky_relu_0_3", "AvgPool2d_pad0", "batchnorm_fused_conv1d",
          "batchnorm_after_relu", "fn_threshold", "lstm"]


@pytest.fixture(scope="module", params=[(n, io) for n in SUBSET for io in ("io_parallel", "io_stream")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def case(request, tmp_path_factory):
    name, io_type = request.param
    model, shapes = _model(name)
    xs = _inputs(shapes, 64, seed=5)
    kwargs = hls4ml_kwargs(name, io_type)
    want, shape = hls4ml_predict(model, shapes, xs, io_type, tmp_path_factory.mktemp("hls4ml") / name, kwargs=kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = fxflow.compile(model, _one([torch.from_numpy(x[:1]).float() for x in xs]),
                                hls4ml_config(model, shapes, **kwargs), io_type=io_type,
                                output_dir=tmp_path_factory.mktemp("fxflow") / name)
    return name, io_type, xs, want, shape, design


def test_subset_is_in_the_table():
    assert set(SUBSET) <= set(MODELS)


def test_predict_equals_hls4ml(case):
    name, io_type, xs, want, shape, design = case
    got = as_hls4ml_layout(np.asarray(design.predict(_one(xs)), dtype=np.float64), shape)
    want = want.reshape(got.shape)
    differ = int(np.sum(got != want))
    assert differ == 0, f"{name} ({io_type}): {differ} of {got.size} values differ from hls4ml"
    assert np.unique(got).size > 4, "outputs (nearly) constant: the comparison would prove little"


def test_csim_equals_predict(case):
    name, io_type, xs, _, _, design = case
    raw, raw_c = design.predict(_one(xs), raw=True), design.csim(_one(xs), raw=True, verbose=False)
    assert all(np.array_equal(a, b) for a, b in zip(raw if isinstance(raw, list) else [raw],
                                                    raw_c if isinstance(raw_c, list) else [raw_c]))


@pytest.mark.parametrize("value", [1.0, 0.3, 0.01, 1.7, -0.3, 2.0, 3.0, 0.25, 1e-5])
def test_constant_type_is_hls4mls(value):
    """The type an 'auto' LeakyReLU slope / ELU alpha takes (hls_roles' constant rule) is the one hls4ml infers."""
    from hls4ml.model.optimizer.passes.infer_precision import _get_precision_from_constant

    from fxflow.hls4ml_compat import constant_format

    want = _get_precision_from_constant(value)
    got = constant_format(value)
    assert (got.width, got.k + got.i, bool(got.k)) == (want.width, want.integer, want.signed)


def _as_hls4ml_reads(name: str, xs: list[np.ndarray]) -> list[np.ndarray]:
    """The inputs of the function hls4ml 1.3 computes (ChannelsLastConversion 'full', fxflow.hls4ml_layout) in
    the model's own layout: a merge's second input [C, H, W] is read channels-first as if channels-last
    ([H, W, C]); an einsum's first input [M, K] is transposed and read as [M, K]."""
    x, y = xs
    if name.startswith("merge_"):
        n, c, h, w = y.shape
        return [x, np.ascontiguousarray(np.moveaxis(y.reshape(n, h, w, c), -1, 1))]
    return [np.ascontiguousarray(np.swapaxes(x, 1, 2)).reshape(x.shape), y]


@pytest.mark.parametrize("name", ["merge_sub", "einsum_batch_matmul"])
def test_hls4ml_computes_what_the_warning_says(name, tmp_path):
    """Where hls4ml 1.3 does not compute the model's function, fxflow warns (test_hls4ml_layout.py) and computes
    the model; hls4ml's result is fxflow's, bit for bit, on the inputs as hls4ml reads them (so the difference
    is the layout, not the arithmetic).  io_parallel: hls4ml refuses both in io_stream.  (Their C simulation:
    test_hls4ml_models.py's test_predict_equals_csim_several_inputs.)"""
    model, shapes = _model(name)
    xs = _inputs(shapes, 64, seed=5)
    want, shape = hls4ml_predict(model, shapes, xs, "io_parallel", tmp_path / "hls4ml")
    with pytest.warns(UserWarning, match="hls4ml 1.3 .* does not compute the model's function"):
        design = fxflow.compile(model, [torch.from_numpy(x[:1]).float() for x in xs], hls4ml_config(model, shapes))
    got = as_hls4ml_layout(np.asarray(design.predict(_as_hls4ml_reads(name, xs)), dtype=np.float64), shape)
    assert int(np.sum(got != want.reshape(got.shape))) == 0
    own = as_hls4ml_layout(np.asarray(design.predict(xs), dtype=np.float64), shape)
    assert int(np.sum(own != want.reshape(got.shape))) > own.size // 2  # the model's function is another one


def test_hls4ml_io_stream_flatten_reads_one_word(tmp_path):
    """docs/layers.md note [a]: hls4ml 1.3's io_stream flatten aliases its input stream (words of the last dim, 3 of
    conv2d_flatten's [32, 3, 3]) and the ReLU after it reads ONE word as its 288 values.  fxflow warns, naming the
    ReLU and the flatten (test_hls4ml_layout.py), and computes the model: hls4ml's first 3 outputs (the first word)
    are fxflow's bit for bit, most of the others are not."""
    model, shapes = _model("conv2d_flatten")
    xs = _inputs(shapes, 64, seed=5)
    kwargs = hls4ml_kwargs("conv2d_flatten", "io_stream")
    want, _ = hls4ml_predict(model, shapes, xs, "io_stream", tmp_path / "hls4ml", kwargs=kwargs)
    with pytest.warns(UserWarning, match=r"layer '_2': hls4ml 1.3 \(io_stream\).*flatten '_1'.*3-value words.*of 288"):
        design = fxflow.compile(model, torch.from_numpy(xs[0][:1]).float(), hls4ml_config(model, shapes, **kwargs),
                                io_type="io_stream")
    got, want = np.asarray(design.predict(xs[0]), dtype=np.float64).reshape(64, -1), want.reshape(64, -1)
    assert np.array_equal(got[:, :3], want[:, :3]) and np.unique(got[:, :3]).size > 20
    assert int(np.sum(got[:, 3:] != want[:, 3:])) > got[:, 3:].size // 2
