"""Approximate multipliers through the whole flow: config -> fxp `approx_mul` -> emulator / HLS C++.

Random MLPs and CNNs with random per-layer multipliers (every family), formats, accumulators, reuse
factors, io types and flavours: predict == C simulation bit for bit; the approximate design really differs
from the exact one; bad configs are errors naming the layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fxflow

from models import OVERFLOW, ap, inputs, mlp

pytestmark = pytest.mark.needs("g++", "ap_types")

SPECS = ["trunc(k=3)", "trunc(k=4, compensate=1)", "bam(hbl=1, vbl=4)", "drum(k=3)", "mitchell", "exact"]


def _fmt(draw, lo=3, hi=8, signed=None):
    s = draw(st.booleans()) if signed is None else signed
    w = draw(st.integers(max(lo, 2 if s else 1), hi))
    return ap(s, w, draw(st.integers(0, 3)), draw(st.sampled_from(["TRN", "RND"])), draw(st.sampled_from(OVERFLOW)))


def _check(design, x):
    y = np.asarray(design.predict(x, raw=True))
    yc = np.asarray(design.csim(x, raw=True, verbose=False))
    bad = np.argwhere(y != yc)
    assert bad.size == 0, f"{len(bad)} mismatches, first at {bad[0]}: predict {y[tuple(bad[0])]} csim {yc[tuple(bad[0])]}"
    return y


def _layer(draw, name, work):
    layer = {"weight": _fmt(draw, signed=True), "bias": _fmt(draw, hi=10), "result": _fmt(draw, hi=10),
             "multiplier": draw(st.sampled_from(SPECS))}
    if draw(st.booleans()):
        layer["accum"] = _fmt(draw, 6, 16, signed=True)  # narrow: per-term rounding / overflow path
    layer["reuse_factor"] = draw(st.sampled_from([d for d in (1, 2) if work % d == 0]))
    layer["strategy"] = draw(st.sampled_from(["latency", "resource"]))
    return layer


@st.composite
def random_mlp(draw):
    widths = [draw(st.integers(1, 6)) for _ in range(draw(st.integers(2, 3)))]
    cfg = {"model": {"precision": "ap_fixed<12,5>", "input": _fmt(draw)}, "layers": {}}
    for i in range(len(widths) - 1):
        cfg["layers"][f"fc{i}"] = _layer(draw, f"fc{i}", widths[i] * widths[i + 1])
    return widths, cfg, draw(st.integers(0, 2**16)), draw(st.sampled_from(["io_parallel", "io_stream"])), \
        draw(st.sampled_from(["vitis", "catapult"]))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(random_mlp())
def test_random_mlps_with_multipliers_predict_equals_csim(case):
    widths, cfg, seed, io_type, backend = case
    model = mlp(widths, seed=seed)
    d = fxflow.compile(model, torch.zeros(1, widths[0]), config=cfg, io_type=io_type, backend=backend)
    _check(d, inputs(np.random.default_rng(seed), 60, widths[0]))


class SmallCNN(torch.nn.Module):
    def __init__(self, groups: int, padding: int, stride: int):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 4, 3, padding=padding, stride=stride, groups=groups)
        self.relu = torch.nn.ReLU()
        self.flat = torch.nn.Flatten()
        side = (6 + 2 * padding - 3) // stride + 1
        self.fc = torch.nn.Linear(4 * side * side, 3)

    def forward(self, x):
        return self.fc(self.flat(self.relu(self.conv(x))))


@st.composite
def random_cnn(draw):
    cfg = {"model": {"precision": "ap_fixed<12,5>", "input": _fmt(draw)},
           "layers": {"conv": _layer(draw, "conv", 4), "fc": _layer(draw, "fc", 6)}}
    cfg["layers"]["conv"]["strategy"] = "latency"
    return (draw(st.sampled_from([1, 2])), draw(st.sampled_from([0, 1])), draw(st.sampled_from([1, 2])), cfg,
            draw(st.integers(0, 2**16)), draw(st.sampled_from(["io_parallel", "io_stream"])),
            draw(st.sampled_from(["vitis", "catapult"])))


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_cnn())
def test_random_cnns_with_multipliers_predict_equals_csim(case):
    groups, padding, stride, cfg, seed, io_type, backend = case
    torch.manual_seed(seed)
    model = SmallCNN(groups, padding, stride).eval()
    d = fxflow.compile(model, torch.zeros(1, 2, 6, 6), config=cfg, io_type=io_type, backend=backend)
    x = np.random.default_rng(seed).normal(size=(40, 2, 6, 6)) * 2
    _check(d, x)


def test_padding_and_pruned_weights_contribute_nothing():
    """A compensated truncated multiplier returns its constant for 0 x w: padding taps and zero weights must
    still add nothing (they are skipped in the C++), in the emulator as in the C-sim."""
    torch.manual_seed(3)
    model = SmallCNN(1, 1, 1).eval()
    with torch.no_grad():
        model.conv.weight[:, :, 0, :] = 0.0  # pruned taps
    cfg = {"model": {"precision": "ap_fixed<12,5>", "input": "ap_fixed<6,2>", "multiplier": "trunc(k=5, compensate=1)"},
           "layers": {"conv": {"weight": "ap_fixed<6,1>"}, "fc": {"weight": "ap_fixed<6,1>"}}}
    from fxflow import approx

    assert approx.build("trunc(k=5, compensate=1)", 6, True, 6, True)(0, 0) != 0
    d = fxflow.compile(model, torch.zeros(1, 2, 6, 6), config=cfg)
    x = np.random.default_rng(0).normal(size=(30, 2, 6, 6))
    y = _check(d, x)
    exact = fxflow.compile(model, torch.zeros(1, 2, 6, 6), config={**cfg, "model": {**cfg["model"], "multiplier": "exact"}})
    assert (exact.predict(x, raw=True) != y).any()
    assert 'approx_mul = "trunc(k=5, compensate=1)"' in d.mlir("df")


def test_drum_signed_corner_through_the_design():
    """-128 x -128 with DRUM: 144 * 144, not 16384 — the emulator and the C++ both compute the circuit."""
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(-1.0)
    cfg = {"model": {"precision": "ap_fixed<24,12>", "input": "ap_fixed<8,1>", "weight": "ap_fixed<8,1>",
                     "multiplier": "mul8s_drum4"}}
    d = fxflow.compile(model, torch.zeros(1, 1), config=cfg)
    y = _check(d, np.array([[-1.0], [0.5]]))
    assert y[0, 0] == 144 * 144 * 2 ** (12 - 14)  # result grid 2^-12, product grid 2^-14


@pytest.mark.parametrize("cfg, message", [
    ({"model": {"multiplier": "wallace"}}, "config 'model.multiplier': unknown multiplier 'wallace'"),
    ({"layers": {"fc0": {"multiplier": "drum(k=9)"}}}, "layer 'fc0': multiplier 'drum\\(k=9\\)'.*out of range"),
    ({"model": {"input": "ap_fixed<12,4>"}, "layers": {"fc0": {"multiplier": "mul8s_drum4"}}},
     "layer 'fc0': multiplier 'mul8s_drum4' cannot be used: its input format ap_fixed<12,4>"),
    ({"layers": {"act0": {"multiplier": "drum(k=4)"}}}, "multiplier on layer\\(s\\) 'act0', which have no mult"),
    ({"model": {"arithmetic": "hls4ml", "multiplier": "drum(k=3)"}}, "layer 'fc0': approximate multipliers cannot"),
    ({"model": {"precision": "ap_fixed<20,8>", "multiplier": "drum(k=3)"}}, "layer 'fc0'.*operands of 20 bits"),
    ({"model": {"precision": "ap_fixed<14,6>", "multiplier": "drum(k=3)"}}, "layer 'fc0'.*14 \\+ 14 operand bits"),
])
def test_bad_multiplier_configs(cfg, message):
    cfg.setdefault("model", {}).setdefault("precision", "ap_fixed<8,3>")
    with pytest.raises(fxflow.ConfigError, match=message):
        fxflow.compile(mlp([3, 4, 2]), torch.zeros(1, 3), config=cfg)


def test_aie_backend_rejects_approximate_multipliers():
    with pytest.raises(fxflow.UnsupportedOpError, match="layer 'fc0': approximate multiplier 'drum\\(k=3\\)' is not"):
        fxflow.compile(mlp([4, 4]), torch.zeros(1, 4), backend="aie",
                       config={"model": {"precision": "ap_fixed<8,3>", "multiplier": "drum(k=3)"}})


def test_multiplier_function_names_never_clash_with_layer_names(tmp_path):
    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fxam_mitchell_8s8s = torch.nn.Linear(3, 2)  # the multiplier function's own name

        def forward(self, x):
            return self.fxam_mitchell_8s8s(x)

    d = fxflow.compile(M().eval(), torch.zeros(1, 3), config={"model": {"precision": "ap_fixed<8,3>",
                                                                       "multiplier": "mitchell"}})
    project = d.write(tmp_path / "p")
    _check(d, np.random.default_rng(0).normal(size=(20, 3)))
    header = (project / "firmware" / "approx_mul.h").read_text()
    assert "static inline long long fxam_mitchell_8s8s_2(long long a, long long b)" in header


def test_wide_approximate_layers_compile_in_bounded_memory(tmp_path):
    """16-bit activations x 8-bit weights (the jet tagger's later layers): the 2^24 operand pairs of a
    truncated array are reduced in blocks and the emulator's terms gathered per occurring weight, so the
    compile stays far below the GBs the whole-table intermediates once took; still bit-exact with the C-sim."""
    import resource

    cfg = {"model": {"precision": "ap_fixed<16,6>", "input": "ap_fixed<8,3>", "weight": "ap_fixed<8,2>",
                     "multiplier": "trunc(k=4)"}}
    model = mlp([5, 6, 3], seed=4)
    with open("/proc/self/status") as f:  # the address space in use now, plus 1.5 GB at most for the compile
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (vm + int(1.5e9), hard))
    try:
        d = fxflow.compile(model, torch.zeros(1, 5), config=cfg)
        y = d.predict(inputs(np.random.default_rng(4), 40, 5), raw=True)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    cpp = "".join(p.read_text() for p in d.write(tmp_path / "prj").rglob("*.h"))
    assert "fxam_trunc_k_4_compensate_0_16s8s(" in cpp  # the later layer really multiplies 16 x 8 bits
    np.testing.assert_array_equal(_check(d, inputs(np.random.default_rng(4), 40, 5)), y)
