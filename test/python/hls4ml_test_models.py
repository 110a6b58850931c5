"""The PyTorch models of hls4ml's own test suite, re-written (the table `MODELS`), shared by
test_hls4ml_models.py (against PyTorch, C-sim, RTL), test_hls4ml_models_vs_hls4ml.py and
benchmarks/hls4ml_models.py (against hls4ml 1.3 itself, with hls4ml's dict)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

class Fn(nn.Module):
    """A functional op as a module (hls4ml's tests call torch functions inside forward)."""

    def __init__(self, fn, *pre: nn.Module):
        super().__init__()
        self.fn = fn
        self.pre = nn.Sequential(*pre)

    def forward(self, x):
        return self.fn(self.pre(x))


class Fn2(Fn):
    """A functional op of two inputs (explicit parameters: hls4ml's tracer makes one input of each)."""

    def forward(self, x, y):
        return self.fn(self.pre(x), y)


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
    """hls4ml's recurrent test models: forward(x), or with the initial states as inputs (the subclasses below;
    explicit parameters, as hls4ml's tracer makes one input of each)."""

    def __init__(self, cell, with_state: bool = False):
        super().__init__()
        self.rnn = cell(10, 20, num_layers=1, batch_first=True)
        self.with_state = with_state

    def forward(self, x):
        return self.rnn(x)[0]


class RecurrentH0(Recurrent):
    def forward(self, x, h0):
        return self.rnn(x, h0)[0]


class RecurrentH0C0(Recurrent):
    def forward(self, x, h0, c0):
        return self.rnn(x, (h0, c0))[0]


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


# The `config_from_pytorch_model` layout keywords hls4ml 1.3's own test of a model passes (test/pytest/
# test_pytorch_api.py, test_recurrent_pytorch.py, test_merge_pytorch.py, ...); a mapping by io type where the
# test picks them by io type (test_conv1d/2d, test_batchnorm_fusion) or runs io_parallel only (`_parallel_only`:
# io_stream keeps hls4ml's defaults; e.g. test_pooling's transpose_outputs=True gives io_stream 1D pooling an
# output in neither layout).  Its `default_precision` is not carried: every row is compared at the dict's default
# precision.
_OFF = {"channels_last_conversion": "off", "transpose_outputs": False}
_INTERNAL = {"channels_last_conversion": "internal", "transpose_outputs": False}
_FULL_TRANSPOSED = {"channels_last_conversion": "full", "transpose_outputs": True}
_CONV_BY_IO = {"io_parallel": _FULL_TRANSPOSED, "io_stream": _INTERNAL}


def _parallel_only(kwargs: dict) -> dict:
    return {"io_parallel": kwargs, "io_stream": {}}


# name -> (model factory, per-sample input shapes, result tolerance at a generous precision[, hls4ml's test's
# keywords (above; none: hls4ml's defaults)]).  Tolerance None: a table activation (the default tables; their
# accuracy is docs/layers.md's, not this test's).
MODELS = {
    "linear": (lambda: nn.Sequential(nn.Linear(1, 1)), [(1,)], 1e-3),
    **{f"linear_{n}": (lambda a=a: _lin(a), [(1,)], tol) for n, a, tol in [
        ("softmax", nn.Softmax(dim=-1), None), ("relu", nn.ReLU(), 1e-3), ("tanh", nn.Tanh(), None),
        ("leaky_relu_1", nn.LeakyReLU(1.0), 1e-3), ("elu", nn.ELU(1.0), None), ("prelu", nn.PReLU(init=0.25), 1e-3),
        ("sigmoid", nn.Sigmoid(), None), ("threshold", nn.Threshold(1.0, 0.0), 1e-3)]},
    **{f"fn_{n}": (lambda f=f: Fn(f), [(1,)], tol) for n, f, tol in [
        ("relu", nn.functional.relu, 1e-3), ("softmax", lambda x: nn.functional.softmax(x, dim=-1), None),
        ("tanh", torch.tanh, None), ("leaky_relu_1", lambda x: nn.functional.leaky_relu(x, 1.0), 1e-3),
        ("elu", nn.functional.elu, None), ("threshold", lambda x: nn.functional.threshold(x, 1.0, 0.0), 1e-3),
        ("sigmoid", torch.sigmoid, None)]},
    **{f"conv1d_pad{p}": (lambda p=p: nn.Sequential(nn.Conv1d(2, 2, 3, padding=p), nn.ReLU()), [(2, 4)], 1e-3,
                          _CONV_BY_IO) for p in (0, 1)},
    **{f"conv2d_pad{p}": (lambda p=p: nn.Sequential(nn.Conv2d(2, 2, 3, padding=p), nn.ReLU()), [(2, 4, 4)], 1e-3,
                          _CONV_BY_IO) for p in (0, 1)},
    **{f"{c.__name__}_pad{p}": (lambda c=c, p=p: _pool(c, p), [(2, 15, 18) if "2d" in c.__name__ else (2, 121)], 1e-3,
                                _parallel_only(_FULL_TRANSPOSED))
       for c in (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d) for p in (0, 1)},
    "batchnorm_after_relu": (BnAfterRelu, [(5,)], 1e-3),
    "squeeze": (Squeeze, [(5,)], 1e-3, _OFF),  # hls4ml's test deletes the key: 'off'
    "conv2d_flatten": (lambda: nn.Sequential(nn.Conv2d(1, 32, 5, 1, 1), nn.Flatten(), nn.ReLU()), [(1, 5, 5)], 1e-3),
    "skipped_layers": (lambda: ConvFc(1, 3, 6, 8, 5, second_conv=True), [(3, 8)], 1e-3),
    "remove_transpose_1d": (lambda: ConvFc(1, 1, 4, 8, 5), [(1, 8)], 1e-3),
    "remove_transpose_2d": (lambda: ConvFc(2, 1, 4, 8, 5), [(1, 8, 8)], 1e-3),
    "view": (ConvView, [(2, 16)], 1e-3, _INTERNAL),
    "einsum_single_input": (lambda: Fn(lambda y: torch.einsum("ij,ij->i", y, y).unsqueeze(1), nn.Linear(8, 8)),
                            [(8,)], 1e-2, _parallel_only(_INTERNAL)),
    "upsample_1d": (lambda: nn.Sequential(nn.Upsample(scale_factor=2), nn.ReLU()), [(3, 8)], 1e-3, _INTERNAL),
    "upsample_2d_fractional": (lambda: nn.Sequential(nn.UpsamplingNearest2d(scale_factor=(1, 2.4)), nn.ReLU()),
                               [(3, 4, 5)], 1e-3, _parallel_only(_FULL_TRANSPOSED)),
    "batchnorm": (lambda: nn.Sequential(nn.BatchNorm1d(16)), [(16,)], 1e-3),
    "batchnorm_fused_conv1d": (ConvBnRelu, [(4, 12)], 1e-3, _CONV_BY_IO),
    "layernorm": (lambda: nn.Sequential(nn.LayerNorm(8)), [(10, 8)], None),
    "constant_pad_1d": (lambda: nn.ConstantPad1d((2, 3), 0), [(2, 6)], 1e-3,
                        _parallel_only({"channels_last_conversion": "off"})),
    "constant_pad_2d": (lambda: nn.ConstantPad2d((1, 2, 3, 4), 0), [(2, 4, 5)], 1e-3,
                        _parallel_only({"channels_last_conversion": "off"})),
    "sequential_conv2d": (lambda: nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.Conv2d(20, 64, 5), nn.ReLU()),
                          [(1, 12, 12)], 1e-2),
    # recurrent: every hls4ml recurrent test passes _OFF (also given to the models of ours, *_computed_state);
    # test_rnn and the tests with initial states run io_parallel only
    "gru": (lambda: Recurrent(nn.GRU, False), [(1, 10)], None, _OFF),
    "lstm": (lambda: Recurrent(nn.LSTM, False), [(1, 10)], None, _OFF),
    "rnn_tanh": (lambda: Recurrent(nn.RNN, False), [(3, 10)], None, _parallel_only(_OFF)),
    **{f"{c.__name__.lower()}_computed_state": (lambda c=c: ComputedState(c), [(3, 4)], None, _OFF)
       for c in (nn.GRU, nn.LSTM, nn.RNN)},
    "rnn_relu": (lambda: Recurrent(lambda *a, **k: nn.RNN(*a, nonlinearity="relu", **k), False), [(3, 10)], 1e-3,
                 _parallel_only(_OFF)),
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
    **{f"merge_{op}": (lambda op=op: Fn2(lambda x, y, op=op: torch.cat([x, y], 1) if op == "cat" else getattr(torch, op)(x, y)),
                       [(3, 10, 10), (3, 10, 10)], 1e-3, _INTERNAL)
       for op in ("cat", "add", "mul", "sub", "minimum", "maximum")},
    # hls4ml's recurrent models with initial states as inputs.  Per sample, fxflow's h0 / c0 inputs are [1, H]
    # (the sample leading, as for every input): PyTorch's [1, N, H] with the first two dims swapped.
    "gru_initial_state": (lambda: RecurrentH0(nn.GRU, True), [(1, 10), (1, 20)], None, _parallel_only(_OFF)),
    "lstm_initial_state": (lambda: RecurrentH0C0(nn.LSTM, True), [(1, 10), (1, 20), (1, 20)], None,
                           _parallel_only(_OFF)),
    "rnn_initial_state": (lambda: RecurrentH0(nn.RNN, True), [(1, 10), (1, 20)], None, _parallel_only(_OFF)),
    "einsum_outer_product": (lambda: Fn2(lambda x, y: torch.einsum("bi,bj->bij", x, y)), [(4,), (5,)], 1e-2,
                             _parallel_only(_INTERNAL)),
    "einsum_batch_matmul": (lambda: Fn2(lambda x, y: torch.einsum("bij,bjk->bik", x, y)), [(2, 5), (5, 4)], 1e-2,
                            _parallel_only(_INTERNAL)),
}

# What fxflow refuses although hls4ml converts it: name -> (model, input shapes, the error's text).
REFUSED = {
    "lstm_h0_without_c0": (lambda: StateVariant(nn.LSTM(10, 20, batch_first=True), zero_c0=True), [(1, 10), (1, 20)],
                           r"\(nn.LSTM\).*h0 given with a zero c0"),
    "gru_two_layers_initial_state": (lambda: StateVariant(nn.GRU(10, 20, 2, batch_first=True)), [(1, 10), (2, 20)],
                                     r"\(nn.GRU\).*initial states given as inputs to a module of several layers"),
}


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


# --- hls4ml 1.3 itself on these models (test_hls4ml_models_vs_hls4ml.py, benchmarks/hls4ml_models.py) ----------
def hls4ml_kwargs(name: str, io_type: str) -> dict:
    """The `config_from_pytorch_model` keywords hls4ml's own test of model `name` passes for `io_type` (MODELS)."""
    kwargs = MODELS[name][3] if len(MODELS[name]) > 3 else {}
    by_io = kwargs and set(kwargs) <= {"io_parallel", "io_stream"}
    return dict(kwargs[io_type] if by_io else kwargs)


def hls4ml_config(model, shapes, granularity: str = "name", **kwargs) -> dict:
    """The dict hls4ml's `config_from_pytorch_model` returns (backend Vitis), as hls4ml's tests build it
    (`kwargs`: a test's keywords, `hls4ml_kwargs`)."""
    import contextlib
    import io
    import warnings

    import hls4ml

    shape = tuple(shapes[0]) if len(shapes) == 1 else [tuple(s) for s in shapes]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return hls4ml.utils.config_from_pytorch_model(model, shape, granularity=granularity, backend="Vitis",
                                                      **kwargs)


class HLS4MLNoResult(RuntimeError):
    """hls4ml converts and compiles the model but its project never computes one of its layers."""


def _keeps_parsed_shapes(layer, internal: bool) -> bool:
    """hls4ml 1.3's Einsum reads and writes with the shapes it was parsed with (PyTorch's): ChannelsLastConversion
    'internal' relabels them only, and hls4ml's einsum tests feed and read PyTorch's layout."""
    return internal and layer.class_name == "Einsum"


def hls4ml_predict(model, shapes, xs, io_type: str, output_dir, granularity: str = "name", kwargs=None):
    """hls4ml's predictions for the inputs `xs` (one array per input, PyTorch layout) and its output shape
    (channels-last where hls4ml transposed), with the dict `hls4ml_config(..., **kwargs)`.  Under
    ChannelsLastConversion 'internal' the inputs are given channels-last, as hls4ml's tests give them.
    Raises HLS4MLNoResult, naming the layer, where hls4ml's project never calls a layer with weights
    (nn.RNN: no SimpleRNN template in its Vitis backend): its output is then not hls4ml's result."""
    import contextlib
    import io
    import warnings

    import hls4ml

    config = hls4ml_config(model, shapes, granularity, **(kwargs or {}))
    internal = config["Model"].get("ChannelsLastConversion") == "internal"
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):  # its per-layer printout
        warnings.simplefilter("ignore")
        hls_model = hls4ml.converters.convert_from_pytorch_model(
            model, hls_config=config, output_dir=str(output_dir), backend="Vitis", io_type=io_type)
        hls_model.compile()
        layers = list(hls_model.get_layers())
        uncalled = [f"'{lr.name}' ({lr.class_name})" for lr in layers
                    if len(lr.weights) and not lr.get_attr("function_cpp")]
        if uncalled:
            raise HLS4MLNoResult(f"layer {', '.join(uncalled)} never called in hls4ml's project: no result")
        x_in = []
        for name, x in zip(hls_model.inputs, xs):
            readers = [lr for lr in layers if name in lr.inputs]
            last = internal and x.ndim > 2 and not all(_keeps_parsed_shapes(lr, internal) for lr in readers)
            x_in.append(np.ascontiguousarray(np.moveaxis(x, 1, -1) if last else x, dtype=np.float32))
        y = np.asarray(hls_model.predict(x_in[0] if len(x_in) == 1 else x_in), dtype=np.float64)
    out = hls_model.graph[hls_model.outputs[0]]
    if _keeps_parsed_shapes(out, internal):
        return y, tuple(int(v) for v in out.get_attr("out_shape"))
    last = out.get_attr("data_format", "channels_first") == "channels_last"
    return y, tuple(int(v) for v in hls_model.get_output_variables()[0].shape) + (("channels_last",) if last else ())


def as_hls4ml_layout(y: np.ndarray, hls_shape: tuple) -> np.ndarray:
    """fxflow's result (PyTorch layout, [N, ...]) flattened per sample in the order hls4ml returns it
    (`hls_shape`: hls4ml's output shape, "channels_last" appended when its output layer is in that format):
    channels-last when hls4ml moved the channel dim behind the spatial ones (its ChannelsLastConversion
    'full'), else PyTorch's element order."""
    last = hls_shape[-1:] == ("channels_last",)
    shape = tuple(hls_shape[:-1] if last else hls_shape)
    sample = tuple(y.shape[1:])
    moved = np.moveaxis(y, 1, -1) if len(sample) >= 2 else y
    if len(sample) >= 2 and moved.shape[1:] == shape and (last or sample != shape):
        y = moved
    return y.reshape(len(y), -1)
