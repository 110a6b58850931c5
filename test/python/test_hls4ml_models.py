"""The PyTorch models of hls4ml's own test suite (its repository's test/pytest: test_pytorch_api, test_merge,
test_upsampling, test_batchnorm, test_layernorm, test_zeropadding, test_sequential_parsing, test_recurrent),
re-written in hls4ml_test_models.py (shared with the comparison against hls4ml itself), plus the ops they
needed that fxflow refused (mean over any axis, 1-D / fractional nearest upsampling, flip, minimum/maximum,
Threshold/where, squeeze of the sample's dims): every model hls4ml converts compiles, predicts what PyTorch
computes, and its C simulation equals `predict` bit for bit in io_parallel and io_stream (RTL too where the
RTL backend takes the ops); what fxflow still refuses is an UnsupportedOpError naming the layer and the variant.

Not here: hls4ml's SNN models (test_snn_pytorch, test_extensions_pytorch) are built from hls4ml's own module
classes (hls4ml.utils.torch.HLS4MLModule, its snntorch contrib and extension API), not from PyTorch layers.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import fxflow
from fxflow.fixed import FixedFormat
from fxflow.fixed.quantize import requantize
from fxflow.fixed.select import apply_test, branch_value, fold_test, minmax, raw_test, select

from hls4ml_test_models import MODELS, REFUSED, _inputs, _model, _one, _torch  # the shared model table

needs_csim = pytest.mark.needs("g++", "ap_types")
needs_rtl = pytest.mark.needs("verilator", "yosys", "circt")

GENEROUS = {"model": {"precision": "ap_fixed<32,12,AP_RND_CONV,AP_SAT>"}}
CSIM_CONFIG = {"model": {"precision": "ap_fixed<16,6,AP_RND,AP_SAT>"}}


# Models with a table (None above: activations, softmax, LayerNorm, recurrent cells): the default tables'
# accuracy (docs/layers.md, "Activation table accuracy"); measured at GENEROUS at most 0.0073 of the output scale.
TABLE_TOL = 1e-2


@pytest.mark.parametrize("name", sorted(MODELS))
def test_compiles_and_predicts_what_pytorch_computes(name):
    model, shapes = _model(name)
    tol = MODELS[name][2] or TABLE_TOL
    xs = _inputs(shapes, 64)
    design = fxflow.compile(model, _one([torch.from_numpy(x).float() for x in xs]), GENEROUS)
    y, ref = np.asarray(design.predict(_one(xs))), _torch(model, xs)
    if name == "squeeze":  # torch drops the sample dim of a [1, 3] sample; per sample it is [3]
        ref = ref.reshape(y.shape)
    assert y.shape == ref.shape and np.all(np.isfinite(y))
    assert np.abs(y - ref).max() <= tol * max(1.0, np.abs(ref).max())


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_with_the_layer_and_the_variant(name):
    model, shapes = _model(name, REFUSED)
    xs = [torch.from_numpy(x).float() for x in _inputs(shapes, 2)]
    with pytest.raises(fxflow.UnsupportedOpError, match=REFUSED[name][2]):
        fxflow.compile(model, tuple(xs))


# C simulation (one g++ build each, so the kernels this file adds rather than every model): models with one input
# and one output here, a sample of the several-input ones in CSIM_SEVERAL.
CSIM = ["linear_threshold", "fn_threshold", "linear_leaky_relu_1", "squeeze", "view", "upsample_1d",
        "upsample_2d_fractional", "rnn_tanh", "rnn_relu", "gru_computed_state", "lstm_computed_state", "op_mean_channels_keepdim", "op_flip", "op_where_constants",
        "op_minimum_constant"]  # conv, pooling, BatchNorm, LayerNorm, LSTM/GRU: C-simulated in their own test files
RTL = ["linear_threshold", "fn_threshold", "squeeze", "upsample_2d_fractional", "op_flip", "op_mean_tokens",
       "op_where_constants", "op_minimum_constant"]


def test_the_simulated_cases_exist_and_have_one_input():
    assert all(n in MODELS and len(MODELS[n][1]) == 1 for n in CSIM + RTL)


@needs_csim
@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
@pytest.mark.parametrize("name", CSIM)
def test_predict_equals_csim(name, io_type, tmp_path):
    model, shapes = _model(name)
    xs = _inputs(shapes, 24, seed=1)
    design = fxflow.compile(model, torch.from_numpy(xs[0]).float(), CSIM_CONFIG, io_type=io_type,
                            output_dir=tmp_path / name)
    y = design.predict(xs[0], raw=True)
    yc = design.csim(xs[0], raw=True, verbose=False)
    assert np.array_equal(y, yc), f"{int((y != yc).sum())} of {y.size} values differ"


CSIM_SEVERAL = ["merge_minimum", "merge_cat", "lstm_initial_state", "einsum_batch_matmul"]


@needs_csim
@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
@pytest.mark.parametrize("name", CSIM_SEVERAL)
def test_predict_equals_csim_several_inputs(name, io_type, tmp_path):
    model, shapes = _model(name)
    assert len(shapes) > 1
    xs = _inputs(shapes, 12, seed=4)
    design = fxflow.compile(model, tuple(torch.from_numpy(x[:1]).float() for x in xs), CSIM_CONFIG,
                            io_type=io_type, output_dir=tmp_path / name)
    y = design.predict(xs, raw=True)
    yc = design.csim(xs, raw=True, verbose=False)
    assert np.array_equal(y, yc), f"{int((y != yc).sum())} of {y.size} values differ"


def test_names_of_the_cases_are_valid_identifiers():
    assert all(re.fullmatch(r"\w+", n) for n in list(MODELS) + list(REFUSED))


@needs_rtl
@pytest.mark.parametrize("name", RTL)
def test_predict_equals_rtl_sim(name):
    model, shapes = _model(name)
    xs = _inputs(shapes, 16, seed=2)
    design = fxflow.compile(model, torch.from_numpy(xs[0]).float(), CSIM_CONFIG, backend="rtl")
    y = design.predict(xs[0], raw=True)
    yr, _ = design.rtl_sim(xs[0], raw=True, verbose=False)
    assert np.array_equal(y, yr), f"{int((y != yr).sum())} of {y.size} values differ"


def test_multi_input_minmax_is_exact_against_pytorch():
    """torch.minimum / maximum of two activations (fxp.minmax): on inputs every format holds, exactly PyTorch's."""
    for op in ("minimum", "maximum"):
        model, shapes = _model(f"merge_{op}")
        xs = _inputs(shapes, 32, seed=3)
        design = fxflow.compile(model, tuple(torch.from_numpy(x).float() for x in xs), CSIM_CONFIG)
        assert np.array_equal(design.predict(xs), _torch(model, xs))


# --- fxp.select / fxp.minmax integer rules (fxflow.fixed.select) against exact rationals -----------------------
_CMP = {"gt": lambda a, b: a > b, "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b,
        "eq": lambda a, b: a == b, "ne": lambda a, b: a != b}


@settings(max_examples=25, deadline=None)
@given(pred=st.sampled_from(sorted(_CMP)), f=st.integers(-2, 12), width=st.integers(2, 20),
       t_num=st.integers(-5000, 5000), t_exp=st.integers(0, 14), seed=st.integers(0, 99))
def test_select_compares_exactly_on_the_input_grid(pred, f, width, t_num, t_exp, seed):
    fmt = FixedFormat(1, width - 1 - f, f)
    threshold = t_num / 2 ** t_exp  # a dyadic rational: on, between or outside the grid
    raw = np.random.default_rng(seed).integers(fmt.min_int, fmt.max_int + 1, size=200)
    raw[:3] = [fmt.min_int, fmt.max_int, int(np.clip(round(threshold * 2.0 ** f), fmt.min_int, fmt.max_int))]
    want = np.array([_CMP[pred](Fraction(int(r)) / Fraction(2) ** f, Fraction(threshold)) for r in raw])
    test = raw_test(pred, threshold, f)
    assert np.array_equal(apply_test(raw, test), want)
    assert np.array_equal(apply_test(raw, fold_test(test, fmt)), want)
    out = FixedFormat(1, 4, 6, "RND", "SAT")
    y = select(raw, fmt, pred, threshold, 0.75, math.nan, out)
    assert np.array_equal(y, np.where(want, branch_value(0.75, out), requantize(raw, f, out)))


@settings(max_examples=25, deadline=None)
@given(fa=st.integers(0, 10), fb=st.integers(0, 10), kind=st.sampled_from(["max", "min"]), seed=st.integers(0, 99))
def test_minmax_picks_the_exact_larger_or_smaller(fa, fb, kind, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(-2000, 2000, size=100), rng.integers(-2000, 2000, size=100)
    out = FixedFormat(1, 12, max(fa, fb))
    y = minmax(a, fa, b, fb, kind, out)
    pick = max if kind == "max" else min
    want = [pick(Fraction(int(u), 2 ** fa), Fraction(int(v), 2 ** fb)) * 2 ** out.f for u, v in zip(a, b)]
    assert [int(v) for v in y] == [int(w) for w in want]
