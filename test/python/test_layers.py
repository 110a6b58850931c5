"""Conv/pool/BatchNorm/elementwise/shape layers: predict == csim bit for bit, close to the float model,
and the emulator against an independent scalar reference of the op semantics (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import fxflow
from fxflow.fixed import FixedFormat
from fxflow.fixed.quantize import requantize_int

from models import OVERFLOW, ROUNDING, ap

needs_csim = pytest.mark.needs("g++", "ap_types")


class Cnn2d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding="same")
        self.bn1 = nn.BatchNorm2d(8)
        self.pool1 = nn.MaxPool2d(2)
        self.grouped = nn.Conv2d(8, 8, 3, groups=4, stride=2, padding=1)
        self.depthwise = nn.Conv2d(8, 8, 3, groups=8, padding=2, dilation=2, bias=False)
        self.pool2 = nn.AvgPool2d(2)
        self.pointwise = nn.Conv2d(8, 4, 1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        y = self.pool1(torch.relu(self.bn1(self.conv1(x))))
        y = torch.relu(self.depthwise(self.grouped(y)))
        y = self.pointwise(self.pool2(y))
        return self.fc(torch.flatten(y, 1))


class Cnn1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(2, 6, 5, padding=2)
        self.bn = nn.BatchNorm1d(6)  # after the ReLU: not foldable, a standalone scale_shift
        self.pool = nn.MaxPool1d(3, stride=2, padding=1)
        self.conv2 = nn.Conv1d(6, 4, 3, stride=2, dilation=2, groups=2)
        self.avg = nn.AvgPool1d(3, stride=1, padding=1)
        self.gap = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        y = self.pool(self.bn(torch.relu(self.conv1(x))))
        y = self.gap(self.avg(self.conv2(y)))
        return self.fc(torch.flatten(y, 1))


class Shapes(nn.Module):
    """ZeroPad, nearest Upsample, Permute, Concatenate, Sub, Mul, per-tensor scaling, global max pool."""

    def __init__(self):
        super().__init__()
        self.pad = nn.ZeroPad2d((1, 2, 0, 1))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv = nn.Conv2d(2, 2, 3)
        self.gmp = nn.AdaptiveMaxPool2d(1)

    def forward(self, x):
        a = self.conv(self.up(self.pad(x)))             # [N, 2, 6, 10]
        b = a.permute(0, 1, 3, 2).permute(0, 1, 3, 2)   # two transposes
        c = torch.cat([a, b * 0.5, a - b, a * b], dim=1)  # [N, 8, 6, 10]
        return torch.cat([self.gmp(c).flatten(1), c.mean(dim=(2, 3))], dim=1)


def _randomize_bn(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) * 2 - 1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) - 0.5)
    return model.eval()


CASES = {
    "cnn2d": (Cnn2d, (3, 8, 8)),
    "cnn1d": (Cnn1d, (2, 16)),
    "shapes": (Shapes, (2, 3, 3)),
}


def _model(name):
    torch.manual_seed(1)
    cls, shape = CASES[name]
    return _randomize_bn(cls()), shape


@pytest.mark.parametrize("name", sorted(CASES))
def test_close_to_float_at_generous_precision(name):
    model, shape = _model(name)
    x = torch.randn(200, *shape)
    design = fxflow.compile(model, x, {"model": {"precision": "ap_fixed<28,12,AP_RND_CONV,AP_SAT>"}})
    ref = model(x).detach().numpy()
    y = design.predict(x.numpy())
    assert y.shape == ref.shape
    assert np.abs(y - ref).max() < 2e-3 * max(1.0, np.abs(ref).max())


@needs_csim
@pytest.mark.parametrize("name,config", [
    ("cnn2d", {"model": {"precision": "ap_fixed<16,6>"}}),
    ("cnn1d", {"model": {"precision": "ap_fixed<10,4,AP_RND,AP_SAT>", "accum": "ap_fixed<14,6,AP_RND_ZERO,AP_SAT_SYM>"}}),
    ("shapes", {"model": {"precision": "ap_fixed<12,5,AP_RND_INF,AP_WRAP>", "accum": "auto"}}),
])
def test_predict_equals_csim(name, config, tmp_path):
    model, shape = _model(name)
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(48, *shape)) * rng.choice([0.3, 2.0, 12.0], size=(48,) + (1,) * len(shape))).astype(np.float32)
    design = fxflow.compile(model, torch.from_numpy(x), config, output_dir=tmp_path / name)
    y = design.predict(x, raw=True)
    yc = design.csim(x, raw=True, verbose=False)
    assert np.array_equal(y, yc), f"{int((y != yc).sum())} mismatching values"
    assert np.unique(y).size > 4, "the design's output is (nearly) constant: the test would prove little"


def test_batchnorm_folds_into_the_preceding_conv():
    model, shape = _model("cnn2d")
    design = fxflow.compile(model, torch.randn(2, *shape))
    fxp = design.mlir("fxp")
    assert "fxp.scale_shift" not in fxp and fxp.count('"fxp.conv"') == 4
    model1d, shape1d = _model("cnn1d")  # BatchNorm after the ReLU: nothing to fold into
    assert '"fxp.scale_shift"' in fxflow.compile(model1d, torch.randn(2, *shape1d)).mlir("fxp")
    from fxflow.examples import load  # BatchNorm right after a grouped 1-D conv (a 2-D conv behind a reshape)

    ex = load("cnn1d")
    assert '"fxp.scale_shift"' not in fxflow.compile(ex.make_model(), ex.make_inputs(1)).mlir("fxp")


# --- the op semantics against an independent scalar reference ------------------------------------------
def _scalar_conv(x, w, b, fmt_x, fmt_w, fmt_b, acc, out, stride, dil, pad, groups):
    """Straight from the fxp.conv docstring: one output at a time, acc += x*w with a requantization per step."""
    n_b, c_in, length = x.shape
    f_out, cg, kk = w.shape
    o_len = (length + 2 * pad - dil * (kk - 1) - 1) // stride + 1
    fg = f_out // groups
    pf = fmt_x.f + fmt_w.f
    y = np.zeros((n_b, f_out, o_len), dtype=object)
    for s in range(n_b):
        for f in range(f_out):
            for o in range(o_len):
                a = requantize_int(int(b[f]), fmt_b.f, acc)
                for c in range(cg):
                    for k in range(kk):
                        i = o * stride - pad + k * dil
                        if 0 <= i < length:
                            p = int(x[s, (f // fg) * cg + c, i]) * int(w[f, c, k])
                            f_sum = max(acc.f, pf)
                            total = (a << (f_sum - acc.f)) + (p << (f_sum - pf))
                            a = requantize_int(total, f_sum, acc)
                y[s, f, o] = requantize_int(a, acc.f, out)
    return y


_fmt = st.builds(lambda k, w, i, q, o: FixedFormat.parse(ap(k, w, i, q, o)),
                 st.booleans(), st.integers(4, 14), st.integers(-2, 6), st.sampled_from(ROUNDING),
                 st.sampled_from(OVERFLOW))


@settings(max_examples=25, deadline=None)
@given(fx=_fmt, fw=_fmt, facc=_fmt, fout=_fmt, stride=st.integers(1, 2), dil=st.integers(1, 2),
       pad=st.integers(0, 2), groups=st.sampled_from([1, 2]), seed=st.integers(0, 2**16))
def test_conv_emulation_matches_the_scalar_definition(fx, fw, facc, fout, stride, dil, pad, groups, seed):
    from fxflow.emulator import Tensor
    from fxflow.emulator.layers import _conv_step

    rng = np.random.default_rng(seed)
    c_in, f_out, kk, length = 2 * groups, 2 * groups, 3, 7
    x = rng.integers(fx.min_int, fx.max_int + 1, size=(3, c_in, length))
    w = rng.integers(fw.min_int, fw.max_int + 1, size=(f_out, c_in // groups, kk))
    b = rng.integers(fx.min_int, fx.max_int + 1, size=(f_out,))
    ref = _scalar_conv(x, w, b, fx, fw, fx, facc, fout, stride, dil, pad, groups)
    got = _run_conv_ir(x, w, b, fx, fw, facc, fout, stride, dil, pad, groups, ref.shape[2])
    assert np.array_equal(np.asarray(got).astype(object), ref)


def _type(fmt: FixedFormat) -> str:
    return f'!fxp.fixed<{fmt.k} : i32, {fmt.i} : i32, {fmt.f} : i32, "{fmt.rounding}", "{fmt.overflow}">'


def _run_conv_ir(x, w, b, fx, fw, facc, fout, stride, dil, pad, groups, o_len):
    """The emulator on a real fxp.conv op (textual IR), weights and bias as fxp.constant."""
    from fxflow.emulator import Tensor, compile_program
    from fxflow.dialects import new_context
    from fxflow.ir import ir

    c_in, length = x.shape[1], x.shape[2]
    f_out, cg, kk = w.shape
    tx, tw, tacc, to = _type(fx), _type(fw), _type(facc), _type(fout)
    text = f"""
    func.func @f(%x: tensor<1x{c_in}x{length}x{tx}>) -> tensor<1x{f_out}x{o_len}x{to}> {{
      %w = "fxp.constant"() {{value = dense<{w.tolist()}> : tensor<{f_out}x{cg}x{kk}xi64>}} : () -> tensor<{f_out}x{cg}x{kk}x{tw}>
      %b = "fxp.constant"() {{value = dense<{b.tolist()}> : tensor<{f_out}xi64>}} : () -> tensor<{f_out}x{tx}>
      %y = "fxp.conv"(%x, %w, %b) {{strides = array<i64: {stride}>, dilations = array<i64: {dil}>,
            padding = array<i64: {pad}, {pad}>, groups = {groups} : i64, accum = {tacc}}}
            : (tensor<1x{c_in}x{length}x{tx}>, tensor<{f_out}x{cg}x{kk}x{tw}>, tensor<{f_out}x{tx}>) -> tensor<1x{f_out}x{o_len}x{to}>
      return %y : tensor<1x{f_out}x{o_len}x{to}>
    }}"""
    with new_context():
        program = compile_program(ir.Module.parse(text))
    return program.run([Tensor(x.astype(np.int64), fx)])[0].data


@settings(max_examples=25, deadline=None)
@given(fx=_fmt, facc=_fmt, k=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_avg_pool_matches_the_scalar_definition(fx, facc, k, seed):
    """acc = 0; acc += x (requantized each step); acc /= n toward zero; result = acc."""
    from fxflow.emulator.layers import _average

    rng = np.random.default_rng(seed)
    n = k * k
    w = rng.integers(fx.min_int, fx.max_int + 1, size=(5, 2, n))
    got = _average(w, fx, facc, n)
    for r in range(w.shape[0]):
        for c in range(w.shape[1]):
            a = 0
            for t in range(n):
                f_sum = max(facc.f, fx.f)
                a = requantize_int((a << (f_sum - facc.f)) + (int(w[r, c, t]) << (f_sum - fx.f)), f_sum, facc)
            q = abs(a) // n
            assert int(got[r, c]) == (-q if a < 0 else q)


def test_conv_estimates_count_products_and_follow_the_reuse_factor():
    model, shape = _model("cnn1d")
    x = torch.randn(1, *shape)
    rows = {}
    for rf in (1, 4):
        report = fxflow.compile(model, x, {"model": {"precision": "ap_fixed<16,6>", "reuse_factor": rf}}).report()
        rows[rf] = {r["layer"]: r for r in report["layers"]}
    conv1 = rows[1]["conv1"]
    # 16 output positions x (6 filters x 2 channels x 5 taps), none of the random weights is zero
    assert conv1["multiplications"] == 16 * 6 * 2 * 5
    assert rows[4]["conv1"]["dsp"] < conv1["dsp"] and rows[4]["conv1"]["latency_cycles"] > conv1["latency_cycles"]
    assert rows[1]["pool"]["dsp"] == 0 and rows[1]["pool"]["lut"] > 0


@needs_csim
def test_pruned_conv_skips_zero_weights_and_stays_exact(tmp_path):
    model, shape = _model("cnn1d")
    with torch.no_grad():  # prune half of conv1's weights
        w = model.conv1.weight
        w[torch.rand(w.shape, generator=torch.Generator().manual_seed(0)) < 0.5] = 0.0
    x = np.random.default_rng(5).normal(size=(32, *shape)).astype(np.float32)
    design = fxflow.compile(model, torch.from_numpy(x[:1]), output_dir=tmp_path / "p")
    src = (tmp_path / "p" / "firmware" / "layers" / "conv1.cpp").read_text()
    assert "conv1_w[" in src and "!= 0) acc +=" in src
    assert np.array_equal(design.csim(x, raw=True, verbose=False), design.predict(x, raw=True))
    row = {r["layer"]: r for r in design.report()["layers"]}["conv1"]
    assert row["zero_weights"] > 0
