"""hls4ml compatibility of the table-based and parametrised activations, BatchNorm and LayerNorm: with the dict
hls4ml 1.3's `config_from_pytorch_model` returns (granularity 'model' or 'name'), fxflow's predict equals hls4ml's own
predict bit for bit, io_parallel and io_stream, over a grid of precisions and parameters (hypothesis; every
example is one hls4ml g++ build, so few examples).  The layers are listed in docs/layers.md ("hls4ml
compatibility")."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from torch import nn

import fxflow
from toolchains import needs_module

hls4ml = needs_module("hls4ml")
needs_cxx = pytest.mark.needs("g++")  # hls4ml's predict compiles C++ with g++


class Chain(nn.Module):
    """Linear layers feeding each activation hls4ml builds from a table or a parameter, a standalone
    BatchNorm and one after a Linear."""

    def __init__(self, alpha: float, slope: float, theta: float):
        super().__init__()
        self.fc1, self.tanh = nn.Linear(6, 8), nn.Tanh()
        self.fc2, self.sigmoid = nn.Linear(8, 8), nn.Sigmoid()
        self.fc3, self.elu = nn.Linear(8, 8), nn.ELU(alpha=alpha)
        self.fc4, self.leaky = nn.Linear(8, 8), nn.LeakyReLU(slope)
        self.fc5, self.threshold = nn.Linear(8, 8), nn.Threshold(theta, 0.0)
        self.bn = nn.BatchNorm1d(8)
        self.fc6, self.bn6 = nn.Linear(8, 8), nn.BatchNorm1d(8)  # hls4ml keeps it a layer after the Linear

    def forward(self, x):
        y = self.sigmoid(self.fc2(self.tanh(self.fc1(x))))
        y = self.leaky(self.fc4(self.elu(self.fc3(y))))
        return self.bn6(self.fc6(self.bn(self.threshold(self.fc5(y)))))


def _chain(seed: int, alpha: float, slope: float, theta: float) -> nn.Module:
    torch.manual_seed(seed)
    model = Chain(alpha, slope, theta).eval()
    with torch.no_grad():
        for fc in (model.fc1, model.fc2, model.fc3, model.fc4, model.fc5):
            fc.weight.mul_(3.0)  # pre-activations over the tables' whole range and beyond
        for bn in (model.bn, model.bn6):
            _randomize(bn)
    return model


def _randomize(bn: nn.Module) -> None:
    """Running statistics and affine parameters away from the identity."""
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.3, 3)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-1, 1)


def _hls4ml_predict(model, config, x, io_type, out_dir) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hls_model = hls4ml.converters.convert_from_pytorch_model(
            model, hls_config=config, output_dir=str(out_dir), backend="Vitis", io_type=io_type)
        hls_model.compile()
        return np.asarray(hls_model.predict(np.ascontiguousarray(x)))  # float32, as its C++ bridge returns them


def _assert_equal(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    """0 values differ, and the outputs vary enough for the comparison to prove something.  hls4ml's predict
    returns float32: fxflow's exact values are rounded to float32 likewise (results with more than 24
    significant bits, e.g. an 'auto' LayerNorm / BatchNorm result, differ in float64 only by that rounding)."""
    assert expected.dtype == np.float32
    got = got.astype(np.float32)
    differ = int(np.sum(got != expected.reshape(got.shape)))
    assert differ == 0, f"{differ} of {got.size} values differ from hls4ml ({what})"
    assert np.unique(got).size > 20, "outputs (nearly) constant: the comparison would prove little"


PRECISIONS = st.builds(lambda w, i: f"ap_fixed<{w},{i}>", st.integers(8, 18), st.integers(3, 7))


@needs_cxx
@settings(max_examples=4, deadline=None, derandomize=True, phases=(Phase.explicit, Phase.reuse, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(precision=PRECISIONS, io_type=st.sampled_from(["io_parallel", "io_stream"]),
       granularity=st.sampled_from(["model", "name"]), seed=st.integers(0, 99),
       alpha=st.sampled_from([1.0, 0.5, 1.7]), slope=st.sampled_from([0.01, 0.1, 0.3]),
       theta=st.sampled_from([0.0, 0.25, 0.7]), table_size=st.sampled_from([1024, 512, 4096]))
def test_activations_and_batchnorm_equal_hls4ml(tmp_path_factory, precision, io_type, granularity, seed, alpha,
                                                slope, theta, table_size):
    model = _chain(seed, alpha, slope, theta)
    config = hls4ml.utils.config_from_pytorch_model(model, (6,), default_precision=precision,
                                                    granularity=granularity, backend="Vitis")
    if granularity == "name":  # every role explicit (hls4ml's 'auto' is its own inference, not fxflow's)
        for layer in config["LayerName"].values():
            for role, value in layer["Precision"].items():
                if value == "auto":
                    layer["Precision"][role] = precision
            if "TableSize" in layer:
                layer["TableSize"] = table_size
    x = (np.random.default_rng(seed).normal(size=(300, 6)) * 2).astype(np.float32)
    expected = _hls4ml_predict(model, config, x, io_type, tmp_path_factory.mktemp("hls4ml"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = fxflow.compile(model, torch.from_numpy(x[:1]), config, io_type=io_type)
    _assert_equal(design.predict(x), expected, f"{precision}, {io_type}, {granularity}")


@needs_cxx
@pytest.mark.parametrize("precision,io_type,bn6", [("ap_fixed<14,6>", "io_parallel", "ap_fixed<55,27>"),
                                                   ("ap_fixed<10,5>", "io_stream", "ap_fixed<51,26>")])
def test_hls4ml_auto_roles_equal_hls4ml(precision, io_type, bn6, tmp_path):
    """granularity='name' with hls4ml's 'auto' roles kept: fxflow resolves them as hls4ml's inference does
    (weights, biases and activation results the default precision, Linear's accum and result and BatchNorm's
    result hls4ml's bit-width rules).  Activation parameters are set."""
    model = _chain(7, 0.5, 0.1, 0.25)
    config = hls4ml.utils.config_from_pytorch_model(model, (6,), default_precision=precision, granularity="name",
                                                    backend="Vitis")
    for layer in config["LayerName"].values():
        if layer["Precision"].get("param") == "auto":
            layer["Precision"]["param"] = precision
    x = (np.random.default_rng(7).normal(size=(300, 6)) * 2).astype(np.float32)
    # fc6's result 'auto': fxflow folds bn6 into it, as hls4ml does (test_hls4ml_models_vs_hls4ml.py compares
    # that); a typed result keeps bn6 a layer, whose 'auto' result is hls4ml's x * scale + bias rule
    folded = fxflow.compile(model, torch.from_numpy(x[:1]), config, io_type=io_type)
    assert not any(r["layer"] == "bn6" for r in folded.report()["layers"])
    config["LayerName"]["fc6"]["Precision"]["result"] = "ap_fixed<40,20>"
    expected = _hls4ml_predict(model, config, x, io_type, tmp_path / "hls4ml")
    design = fxflow.compile(model, torch.from_numpy(x[:1]), config, io_type=io_type)
    assert design.report()["layers"][-1]["result"] == bn6  # x * scale + bias by widths, as hls4ml reports it
    _assert_equal(design.predict(x), expected, f"{precision}, {io_type}")


class ConvBn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.relu = nn.Conv1d(3, 4, 3), nn.BatchNorm1d(4), nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


@needs_cxx
@pytest.mark.parametrize("precision,io_type", [("ap_fixed<16,6>", "io_parallel"), ("ap_fixed<10,4>", "io_stream")])
def test_batchnorm_after_conv1d_equals_hls4ml(precision, io_type, tmp_path):
    """hls4ml 1.3 does not fold a BatchNorm into the Conv1d before it when the Conv1d has a result precision
    (every dict config_from_pytorch_model returns at granularity 'model'): neither does fxflow."""
    torch.manual_seed(4)
    model = ConvBn().eval()
    _randomize(model.bn)
    config = hls4ml.utils.config_from_pytorch_model(model, (3, 12), default_precision=precision)
    x = (np.random.default_rng(3).normal(size=(200, 3, 12)) * 2).astype(np.float32)
    # hls4ml (ChannelsLastConversion 'full') reads PyTorch's layout and writes channels-last, in both io types
    expected = _hls4ml_predict(model, config, x, io_type, tmp_path / "hls4ml")
    design = fxflow.compile(model, torch.from_numpy(x[:1]), config, io_type=io_type)
    got = np.swapaxes(design.predict(x), 1, 2)
    differ = int(np.sum(got != expected.reshape(got.shape)))
    assert differ == 0, f"{differ} values differ from hls4ml ({precision}, {io_type})"
    assert np.unique(got).size > 20


@needs_cxx
@pytest.mark.parametrize("precision", ["ap_fixed<16,6>", "ap_fixed<9,4>"])
def test_hls4ml_tables_csim_equals_predict(precision):
    """The C++ of hls4ml's tables (the index truncating toward zero, bins over / below one LSB, ELU's
    bypass) computes what predict does."""
    model = _chain(1, 0.5, 0.1, 0.25)
    config = hls4ml.utils.config_from_pytorch_model(model, (6,), default_precision=precision)
    x = (np.random.default_rng(2).normal(size=(200, 6)) * 2).astype(np.float32)
    design = fxflow.compile(model, torch.from_numpy(x[:1]), config)
    assert np.array_equal(design.csim(x, raw=True, verbose=False), design.predict(x, raw=True))


def test_hls4ml_index_truncates_toward_zero():
    """hls4ml's index int(x * N / span) + N/2 truncates toward zero: x in (-span/N, span/N) share entry N/2."""
    from fxflow.fixed import FixedFormat
    from fxflow.fixed.table import hls4ml_index

    fmt = FixedFormat.parse("ap_fixed<16,6>")  # bins of 2^(10 + 3 - 10) = 8 stored integers for tanh
    index, pos = hls4ml_index(fmt, 1024, 8, 512)
    raw = np.array([-9, -8, -7, -1, 0, 7, 8, 9])
    assert list(index.lookup_index(raw)) == [511, 511, 512, 512, 512, 512, 513, 513]
    assert list(pos) == list(range(1024))
    # bins below one LSB (ap_fixed<8,4>: 4 fractional bits): every 8th entry of hls4ml's table, ends clamped
    fine = FixedFormat.parse("ap_fixed<8,4>")
    index, pos = hls4ml_index(fine, 1024, 8, 512)
    raw = np.arange(fine.min_int, fine.max_int + 1)
    want = np.clip(raw * 8 + 512, 0, 1023)
    assert np.array_equal(pos[index.lookup_index(raw)], want)


def test_hls4ml_name_granularity_dict_is_accepted():
    """Every key hls4ml's dict holds with granularity='name' and a backend is accepted or named in a warning."""
    from fxflow.config import Config

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.bn, self.elu = nn.Linear(8, 8), nn.BatchNorm1d(4), nn.ELU()
            self.ln, self.sm = nn.LayerNorm(8), nn.Softmax(dim=-1)

        def forward(self, x):
            return self.sm(self.ln(self.elu(self.bn(self.fc(x)))))

    config = hls4ml.utils.config_from_pytorch_model(M().eval(), (4, 8), granularity="name", backend="Vitis")
    config["LayerName"]["ln"]["TableRangePower2"] = 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # LayerNorm's keys are honoured: no warning
        cfg = Config.from_dict(config)
    assert cfg.layer("bn").weight == "auto" and cfg.table_config("elu").table == \
        fxflow.fixed.FixedFormat.parse("ap_fixed<18,8>")
    assert cfg.table_config("elu").table_size == 1024
    table_t = fxflow.fixed.FixedFormat.parse("ap_ufixed<8,5,AP_RND_CONV,AP_SAT>")
    assert cfg.hls4ml_norm_config("ln") == {"table": table_t, "table_size": 4096, "table_range_power2": 2}
    assert cfg.layer("ln").accum == fxflow.fixed.FixedFormat.parse("ap_fixed<14,4,AP_RND_CONV,AP_SAT>")
    config["LayerName"]["ln"]["Precision"]["table"] = "ufixed<6,3>"  # hls4ml 1.3 ignores it: fxflow says so
    with pytest.warns(UserWarning, match=r"'LayerName.ln.Precision.table' \(ufixed<6,3>\) is ignored"):
        assert "table" not in Config.from_dict(config).layers["ln"]
    config["LayerName"]["ln"]["table_t"] = "ufixed<10,4,RND_CONV,SAT>"  # the layer key hls4ml reads
    with pytest.warns(UserWarning, match="Precision.table"):
        assert Config.from_dict(config).hls4ml_norm_config("ln")["table"] == \
            fxflow.fixed.FixedFormat.parse("ap_ufixed<10,4,AP_RND_CONV,AP_SAT>")
    with pytest.warns(UserWarning, match="'Model.Precision.maximum' is ignored"):
        Config.from_dict({"Model": {"Precision": {"default": "ap_fixed<16,6>", "maximum": "ap_fixed<24,8>"}}})


class Norm(nn.Module):
    """One LayerNorm over the features of [batch, F] or [batch, tokens, F], away from the identity."""

    def __init__(self, features: int, eps: float):
        super().__init__()
        self.ln = nn.LayerNorm(features, eps=eps)
        with torch.no_grad():
            self.ln.weight.uniform_(-1.5, 1.5)
            self.ln.bias.uniform_(-1, 1)

    def forward(self, x):
        return self.ln(x)


def _layernorm_case(seed, tokens, features, eps, precision, granularity, table, table_size, power, accum):
    """The model, hls4ml's dict for it (granularity 'name': the table keys and accum set, the 'auto' roles kept:
    hls4ml infers them) and inputs of fxflow's shape and of hls4ml's ([batch, tokens, F]: hls4ml 1.3 converts
    LayerNorm over 3-d inputs only, a [batch, F] model is compared with one token)."""
    torch.manual_seed(seed)
    model = Norm(features, eps).eval()
    shape = (tokens or 1, features)
    config = hls4ml.utils.config_from_pytorch_model(model, shape, default_precision=precision,
                                                    granularity=granularity, backend="Vitis")
    if granularity == "name":  # table_t is a layer key: hls4ml 1.3 ignores a LayerNorm's Precision.table
        ln = config["LayerName"]["ln"]
        ln["Precision"].update(table="ufixed<4,2>", accum=accum)
        ln["table_t"], ln["TableSize"], ln["TableRangePower2"] = table, table_size, power
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(150, *shape)) * rng.uniform(0.05, 3, size=(150, 1, 1))).astype(np.float32)
    return model, config, (x if tokens else x[:, 0, :]), x


@needs_cxx
@settings(max_examples=6, deadline=None, derandomize=True, phases=(Phase.explicit, Phase.reuse, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 99), tokens=st.sampled_from([None, 1, 3]), features=st.integers(3, 12),
       eps=st.sampled_from([1e-5, 1e-3, 3e-2]), precision=PRECISIONS,
       granularity=st.sampled_from(["model", "name"]), io_type=st.sampled_from(["io_parallel", "io_stream"]),
       table=st.sampled_from(["ufixed<8,5,RND_CONV,SAT>", "ufixed<12,6,RND_CONV,SAT>", "fixed<10,7>"]),
       table_size=st.sampled_from([512, 1024, 4096]), power=st.integers(0, 3),
       accum=st.sampled_from(["fixed<14,4,RND_CONV,SAT>", "fixed<18,6>", "fixed<12,5,RND,SAT>"]))
@example(seed=14, tokens=3, features=7, eps=0.03, precision="ap_fixed<17,3>", granularity="name", io_type="io_stream",
         table="ufixed<12,6,RND_CONV,SAT>", table_size=4096, power=0, accum="fixed<18,6>")  # a 35-bit 'auto' result
def test_layernorm_equals_hls4ml(tmp_path_factory, seed, tokens, features, eps, precision, granularity, io_type,
                                 table, table_size, power, accum):
    """LayerNorm with hls4ml's dict is hls4ml 1.3's (accum_t mean and variance, its 1/sqrt table and index,
    'auto' result/scale/bias as hls4ml infers them).  hls4ml 1.3 has no io_stream LayerNorm (its
    nnet_layernorm.h takes arrays: the io_stream project does not compile), so fxflow's io_stream design is
    compared with hls4ml's io_parallel one: the same arithmetic."""
    model, config, x, x3 = _layernorm_case(seed, tokens, features, eps, precision, granularity, table, table_size,
                                           power, accum)
    expected = _hls4ml_predict(model, config, x3, "io_parallel", tmp_path_factory.mktemp("hls4ml"))
    design = fxflow.compile(model, torch.from_numpy(x[:1]), config, io_type=io_type)
    _assert_equal(design.predict(x), expected, f"{precision}, {granularity}, {io_type}")


@needs_cxx
@pytest.mark.parametrize("tokens,io_type", [(3, "io_parallel"), (None, "io_stream")])
def test_hls4ml_layernorm_csim_equals_predict(tokens, io_type):
    """The C++ of hls4ml's LayerNorm (accum_t assignments, its table, the index's integer part) is predict's."""
    model, config, x, _ = _layernorm_case(5, tokens, 6, 1e-5, "ap_fixed<12,5>", "name",
                                          "ufixed<8,5,RND_CONV,SAT>", 1024, 1, "fixed<14,4,RND_CONV,SAT>")
    design = fxflow.compile(model, torch.from_numpy(x[:1]), config, io_type=io_type)
    y = design.predict(x, raw=True)
    assert np.array_equal(design.csim(x, raw=True, verbose=False), y)
    assert np.unique(y).size > 20


def test_hls4ml_layernorm_refusals_name_the_layer():
    """hls4ml's LayerNorm needs epsilon in (0, 1e-1] (its converter rounds log10), it has no RMSNorm, and
    fxflow's own LayerNorm formats have no effect on it."""
    from fxflow.errors import ConfigError

    hls = {"model": {"arithmetic": "hls4ml", "precision": "ap_fixed<16,6>"}}
    with pytest.raises(ConfigError, match="layer 'ln'.*epsilon below 1e-1"):
        fxflow.compile(Norm(6, 0.5).eval(), np.zeros((1, 6)), hls)
    with pytest.raises(ConfigError, match="layer '0'.*hls4ml 1.3 has no RMSNorm"):
        fxflow.compile(nn.Sequential(nn.RMSNorm(6, eps=1e-5)).eval(), np.zeros((1, 6)), hls)
    with pytest.warns(UserWarning, match="layer 'ln': 'mean' ignored: hls4ml's LayerNorm"):  # fxflow's own keys
        fxflow.compile(Norm(6, 1e-5).eval(), np.zeros((1, 6)), {**hls, "layers": {"ln": {"mean": "ap_fixed<20,8>"}}})


@pytest.mark.needs("verilator", "yosys", "circt")
@pytest.mark.parametrize("precision", ["ap_fixed<14,5>", "ap_fixed<8,4>"])
def test_hls4ml_tables_rtl_equals_predict(precision):
    """The RTL of hls4ml's tables (the toward-zero index of bins over one LSB; bins below one LSB) is predict's."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 6), nn.ELU(0.5), nn.Linear(6, 6),
                          nn.Threshold(0.25, 0.0), nn.Linear(6, 6), nn.Sigmoid()).eval()
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                layer.weight.mul_(3.0)
    design = fxflow.compile(model, np.zeros((1, 4)), backend="rtl",
                            config={"model": {"arithmetic": "hls4ml", "precision": precision}})
    x = np.random.default_rng(1).normal(size=(300, 4)) * 2
    y = design.predict(x, raw=True)
    assert np.array_equal(y, design.rtl_sim(x, raw=True, verbose=False)[0])
    assert np.unique(y).size > 10
