"""The PyTorch models of hls4ml's own test suite (its repository's test/pytest: test_pytorch_api, test_merge,
test_upsampling, test_batchnorm, test_layernorm, test_zeropadding, test_sequential_parsing, test_recurrent),
re-written here, plus the ops they needed that fxflow refused (mean over any axis, 1-D / fractional nearest
upsampling, flip, minimum/maximum, Threshold/where, squeeze of the sample's dims): every model hls4ml converts
compiles, predicts what PyTorch computes, and its C simulation equals `predict` bit for bit in io_parallel and
io_stream (RTL too where the RTL backend takes the ops); what fxflow still refuses is an UnsupportedOpError
naming the layer and the variant.

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
from torch import nn

import fxflow
from fxflow.fixed import FixedFormat
from fxflow.fixed.quantize import requantize
from fxflow.fixed.select import apply_test, branch_value, fold_test, minmax, raw_test, select

needs_csim = pytest.mark.needs("g++", "ap_types")
needs_rtl = pytest.mark.needs("verilator", "yosys", "circt")


class Fn(nn.Module):
    """A functional op as a module (hls4ml's tests call torch functions inside forward)."""

    def __init__(self, fn, *pre: nn.Module):
        super().__init__()
        self.fn = fn
        self.pre = nn.Sequential(*pre)

    def forward(self, *xs):
        return self.fn(self.pre(xs[0]), *xs[1:])


class Squeeze(nn.Module):
    """hls4ml's SqueezeModel: unsqueeze, Linear, squeeze() (the sample's [1, 3] becomes [3]), relu."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(5, 3, bias=False)

    def forward(self, x):
        return torch.relu(torch.squeeze(self.linear(torch.unsqueeze(x, 1))))


class ConvFc(nn.Module):
    """hls4ml's skipped-layers / remove-transpose models: conv, relu, (dropout), flatten, linear."""

    def __init__(self, dims: int, c_in: int, c_mid: int, size: int, out: int, second_conv: bool = False):
        super().__init__()
        conv = nn.Conv1d if dims == 1 else nn.Conv2d
        layers = [conv(c_in, c_mid, 3, bias=False), nn.ReLU()]
        n = size - 2
        if second_conv:
            layers += [conv(c_mid, 5, 3, bias=False), nn.ReLU()]
            c_mid, n = 5, n - 2
        layers += [nn.Dropout(), nn.Flatten(), nn.Linear(c_mid * n ** dims, out, bias=False), nn.ReLU()]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class ConvView(nn.Module):
    """hls4ml's test_view: Conv1d then z.view(-1, C * L)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(2, 4, 3, padding=1, bias=False)

    def forward(self, x):
        return self.conv1(x).view(-1, 4 * 16)


class BnAfterRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear, self.bn = nn.Linear(5, 8), nn.BatchNorm1d(8)

    def forward(self, x):
        return self.bn(torch.relu(self.linear(x)))


class ConvBnRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv1d(4, 6, 3, padding=1), nn.BatchNorm1d(6)

    def forward(self, x):
        return torch.relu(self.bn1(self.conv1(x)))


class Recurrent(nn.Module):
    def __init__(self, cell, with_state: bool):
        super().__init__()
        self.rnn = cell(10, 20, num_layers=1, batch_first=True)
        self.with_state = with_state

    def forward(self, x, *states):
        if not self.with_state:
            return self.rnn(x)[0]
        state = states[0] if len(states) == 1 else tuple(states)
        return self.rnn(x, state)[0]


class ComputedState(nn.Module):
    """Initial states computed from the input (h0 = tanh(fc(x_0)), c0 likewise): one input, so C-simulated
    (`pre` reads the graph input once, as an io_stream input stream has one reader)."""

    def __init__(self, cell):
        super().__init__()
        self.pre = nn.Linear(4, 4)
        self.rnn = cell(4, 6, batch_first=True)
        self.fc_h, self.fc_c = nn.Linear(4, 6), nn.Linear(4, 6)
        self.lstm = cell is nn.LSTM

    def forward(self, x):
        x = self.pre(x)
        h0 = torch.tanh(self.fc_h(x[:, 0])).unsqueeze(0)
        state = (h0, torch.tanh(self.fc_c(x[:, 0])).unsqueeze(0)) if self.lstm else h0
        return self.rnn(x, state)[0]


class StateVariant(nn.Module):
    """A recurrent module given h0 [N, layers, H] (transposed to PyTorch's [layers, N, H]), c0 = 0 optionally."""

    def __init__(self, rnn: nn.Module, zero_c0: bool = False):
        super().__init__()
        self.rnn, self.zero_c0 = rnn, zero_c0

    def forward(self, x, h):
        h = h.transpose(0, 1)
        return self.rnn(x, (h, torch.zeros_like(h)) if self.zero_c0 else h)[0]


def _lin(act: nn.Module) -> nn.Module:
    return nn.Sequential(nn.Linear(1, 1), act)


def _pool(cls, pad):
    return nn.Sequential(cls(2, padding=pad))


# name -> (model factory, per-sample input shapes, result tolerance at a generous precision).  Tolerance None:
# a table activation (the default tables; their accuracy is docs/layers.md's, not this test's).
MODELS = {
    "linear": (lambda: nn.Linear(1, 1), [(1,)], 1e-3),
    **{f"linear_{n}": (lambda a=a: _lin(a), [(1,)], tol) for n, a, tol in [
        ("softmax", nn.Softmax(dim=-1), None), ("relu", nn.ReLU(), 1e-3), ("tanh", nn.Tanh(), None),
        ("leaky_relu_1", nn.LeakyReLU(1.0), 1e-3), ("elu", nn.ELU(1.0), None), ("prelu", nn.PReLU(init=0.25), 1e-3),
        ("sigmoid", nn.Sigmoid(), None), ("threshold", nn.Threshold(1.0, 0.0), 1e-3)]},
    **{f"fn_{n}": (lambda f=f: Fn(f), [(1,)], tol) for n, f, tol in [
        ("relu", nn.functional.relu, 1e-3), ("softmax", lambda x: nn.functional.softmax(x, dim=-1), None),
        ("tanh", torch.tanh, None), ("leaky_relu_1", lambda x: nn.functional.leaky_relu(x, 1.0), 1e-3),
        ("elu", nn.functional.elu, None), ("threshold", lambda x: nn.functional.threshold(x, 1.0, 0.0), 1e-3),
        ("sigmoid", torch.sigmoid, None)]},
    **{f"conv1d_pad{p}": (lambda p=p: nn.Sequential(nn.Conv1d(2, 2, 3, padding=p), nn.ReLU()), [(2, 4)], 1e-3)
       for p in (0, 1)},
    **{f"conv2d_pad{p}": (lambda p=p: nn.Sequential(nn.Conv2d(2, 2, 3, padding=p), nn.ReLU()), [(2, 4, 4)], 1e-3)
       for p in (0, 1)},
    **{f"{c.__name__}_pad{p}": (lambda c=c, p=p: _pool(c, p), [(2, 15, 18) if "2d" in c.__name__ else (2, 121)], 1e-3)
       for c in (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d) for p in (0, 1)},
    "batchnorm_after_relu": (BnAfterRelu, [(5,)], 1e-3),
    "squeeze": (Squeeze, [(5,)], 1e-3),
    "conv2d_flatten": (lambda: nn.Sequential(nn.Conv2d(1, 32, 5, 1, 1), nn.Flatten(), nn.ReLU()), [(1, 5, 5)], 1e-3),
    "skipped_layers": (lambda: ConvFc(1, 3, 6, 8, 5, second_conv=True), [(3, 8)], 1e-3),
    "remove_transpose_1d": (lambda: ConvFc(1, 1, 4, 8, 5), [(1, 8)], 1e-3),
    "remove_transpose_2d": (lambda: ConvFc(2, 1, 4, 8, 5), [(1, 8, 8)], 1e-3),
    "view": (ConvView, [(2, 16)], 1e-3),
    "einsum_single_input": (lambda: Fn(lambda y: torch.einsum("ij,ij->i", y, y).unsqueeze(1), nn.Linear(8, 8)),
                            [(8,)], 1e-2),
    "upsample_1d": (lambda: nn.Sequential(nn.Upsample(scale_factor=2), nn.ReLU()), [(3, 8)], 1e-3),
    "upsample_2d_fractional": (lambda: nn.Sequential(nn.UpsamplingNearest2d(scale_factor=(1, 2.4)), nn.ReLU()),
                               [(3, 4, 5)], 1e-3),
    "batchnorm": (lambda: nn.Sequential(nn.BatchNorm1d(16)), [(16,)], 1e-3),
    "batchnorm_fused_conv1d": (ConvBnRelu, [(4, 12)], 1e-3),
    "layernorm": (lambda: nn.Sequential(nn.LayerNorm(8)), [(10, 8)], None),
    "constant_pad_1d": (lambda: nn.ConstantPad1d((2, 3), 0), [(2, 6)], 1e-3),
    "constant_pad_2d": (lambda: nn.ConstantPad2d((1, 2, 3, 4), 0), [(2, 4, 5)], 1e-3),
    "sequential_conv2d": (lambda: nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.Conv2d(20, 64, 5), nn.ReLU()),
                          [(1, 12, 12)], 1e-2),
    "gru": (lambda: Recurrent(nn.GRU, False), [(1, 10)], None),
    "lstm": (lambda: Recurrent(nn.LSTM, False), [(1, 10)], None),
    "rnn_tanh": (lambda: Recurrent(nn.RNN, False), [(3, 10)], None),
    **{f"{c.__name__.lower()}_computed_state": (lambda c=c: ComputedState(c), [(3, 4)], None)
       for c in (nn.GRU, nn.LSTM, nn.RNN)},
    "rnn_relu": (lambda: Recurrent(lambda *a, **k: nn.RNN(*a, nonlinearity="relu", **k), False), [(3, 10)], 1e-3),
    # the ops these models needed, on their own (graph input) and after a layer
    "op_mean_tokens": (lambda: Fn(lambda x: x.mean(dim=1)), [(4, 6)], 1e-3),
    "op_mean_channels_keepdim": (lambda: Fn(lambda x: x.mean(dim=1, keepdim=True)), [(3, 4, 5)], 1e-3),
    "op_mean_features": (lambda: Fn(lambda x: x.mean(dim=-1), nn.Linear(6, 6)), [(2, 6)], 1e-3),
    "op_flip": (lambda: Fn(lambda x: torch.flip(x, [1, 2])), [(2, 3, 4)], 1e-3),
    "op_upsample_1d_fractional": (lambda: nn.Upsample(scale_factor=2.4), [(2, 5)], 1e-3),
    "op_where_input": (lambda: Fn(lambda x: torch.where(x > 0.25, x, 0.75)), [(5,)], 1e-3),
    "op_where_constants": (lambda: Fn(lambda x: torch.where(x <= -0.5, 1.5, -0.25), nn.Linear(5, 5)), [(5,)], 1e-3),
    "op_minimum_constant": (lambda: Fn(lambda x: torch.minimum(x, torch.tensor(0.5)), nn.Linear(5, 5)), [(5,)], 1e-3),
    "op_leaky_relu_0_3": (lambda: _lin(nn.LeakyReLU(0.3)), [(1,)], 1e-3),
    # several inputs (C-simulated in test_predict_equals_csim_several_inputs)
    **{f"merge_{op}": (lambda op=op: Fn(lambda x, y, op=op: torch.cat([x, y], 1) if op == "cat" else getattr(torch, op)(x, y)),
                       [(3, 10, 10), (3, 10, 10)], 1e-3) for op in ("cat", "add", "mul", "sub", "minimum", "maximum")},
    # hls4ml's recurrent models with initial states as inputs.  Per sample, fxflow's h0 / c0 inputs are [1, H]
    # (the sample leading, as for every input): PyTorch's [1, N, H] with the first two dims swapped.
    "gru_initial_state": (lambda: Recurrent(nn.GRU, True), [(1, 10), (1, 20)], None),
    "lstm_initial_state": (lambda: Recurrent(nn.LSTM, True), [(1, 10), (1, 20), (1, 20)], None),
    "rnn_initial_state": (lambda: Recurrent(nn.RNN, True), [(1, 10), (1, 20)], None),
    "einsum_outer_product": (lambda: Fn(lambda x, y: torch.einsum("bi,bj->bij", x, y)), [(4,), (5,)], 1e-2),
    "einsum_batch_matmul": (lambda: Fn(lambda x, y: torch.einsum("bij,bjk->bik", x, y)), [(2, 5), (5, 4)], 1e-2),
}

# What fxflow refuses although hls4ml converts it: name -> (model, input shapes, the error's text).
REFUSED = {
    "lstm_h0_without_c0": (lambda: StateVariant(nn.LSTM(10, 20, batch_first=True), zero_c0=True), [(1, 10), (1, 20)],
                           r"\(nn.LSTM\).*h0 given with a zero c0"),
    "gru_two_layers_initial_state": (lambda: StateVariant(nn.GRU(10, 20, 2, batch_first=True)), [(1, 10), (2, 20)],
                                     r"\(nn.GRU\).*initial states given as inputs to a module of several layers"),
}

GENEROUS = {"model": {"precision": "ap_fixed<32,12,AP_RND_CONV,AP_SAT>"}}
CSIM_CONFIG = {"model": {"precision": "ap_fixed<16,6,AP_RND,AP_SAT>"}}


def _model(name: str, table=MODELS):
    torch.manual_seed(0)
    make, shapes = table[name][:2]
    model = make().eval()
    for m in model.modules():  # BatchNorm statistics that are not the identity
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            g = torch.Generator().manual_seed(1)
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model, shapes


def _inputs(shapes, n: int, seed: int = 0) -> list[np.ndarray]:
    """Inputs on the 2^-8 grid (exact in every tested format), spread over a few magnitudes."""
    rng = np.random.default_rng(seed)
    return [np.round(rng.normal(size=(n, *s)) * rng.choice([0.5, 2.0], size=(n,) + (1,) * len(s)) * 256) / 256
            for s in shapes]


def _torch(model, xs):
    ts = [torch.from_numpy(x).float() for x in xs]
    if isinstance(model, Recurrent) and model.with_state:  # PyTorch's states are [layers, N, H]
        ts = ts[:1] + [t.transpose(0, 1) for t in ts[1:]]
    with torch.no_grad():
        y = model(*ts)
    return y.numpy()


def _one(xs):
    return xs[0] if len(xs) == 1 else xs


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
