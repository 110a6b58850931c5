"""Per-channel / per-element fixed-point formats (`formats` on fxp.constant and fxp.cast).

The per-channel cast is checked against a scalar reference (each element assigned to its own format with
fxflow.fixed's scalar functions) over every rounding and overflow mode, then the emulator against the C
simulation of the emitted C++ (g++ + ap_types), and a pquant-ml model with per-channel weight quantizers
end to end: predict equal to its forward pass in float64, predict equal to the C simulation.
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fxflow
from fxflow.dialects import new_context
from fxflow.emulator import compile_program, run
from fxflow.errors import FormatError
from fxflow.fixed import OVERFLOW_MODES, ROUNDING_MODES, FixedFormat as F
from fxflow.fixed.channels import (ChannelFormats, cast_channels, channel_cast_interval, exact_channel_formats)
from fxflow.fixed.interval import Interval
from fxflow.fixed.quantize import quantize_scalar, requantize_int
from fxflow.ir import ir

sys.path.insert(0, str(Path(__file__).parent))
from hls_graphs import Graph, fmt_type, tensor_type  # noqa: E402
from toolchains import have, needs_module  # noqa: E402


needs_cxx = pytest.mark.needs("g++", "ap_types")


def reference_cast(x, f_from, kif, container: F) -> list[list[int]]:
    """Element by element: x (stored ints at 2^-f_from, or reals when f_from is None) assigned to
    its own format (the scalar functions), then written at the container's grid."""
    out = []
    for row in np.asarray(x, dtype=object).reshape(len(x), -1):
        r = []
        for v, (k, i, f) in zip(row, kif):
            fmt = F(int(k), int(i), int(f), container.rounding, container.overflow)
            n = quantize_scalar(float(v), fmt) if f_from is None else requantize_int(int(v), f_from, fmt)
            r.append(n << (container.f - fmt.f))
        out.append(r)
    return out


@st.composite
def channel_formats(draw, n: int):
    q = draw(st.sampled_from(ROUNDING_MODES))
    o = draw(st.sampled_from(OVERFLOW_MODES))
    kif = []
    for _ in range(n):
        k = draw(st.integers(0, 1))
        f = draw(st.integers(-2, 8))
        i = draw(st.integers(max(-f, 1 - k - f), 6))  # W = k + i + f >= 1
        kif.append((k, i, f))
    return ChannelFormats(np.array(kif).reshape(1, n, 3), q, o)


@settings(max_examples=150, deadline=None)
@given(cf=channel_formats(5), seed=st.integers(0, 2**32 - 1), fixed_input=st.booleans())
@example(cf=ChannelFormats(np.array([[[0, 0, 1], [1, 0, 0], [0, 0, 1], [1, 0, 0], [1, 0, 0]]]), "TRN", "SAT_SYM"),
         seed=0, fixed_input=False)  # SAT_SYM: the container's min_int is not assignable (one more bit)
def test_cast_channels_matches_scalar_reference(cf, seed, fixed_input):
    rng = np.random.default_rng(seed)
    container = cf.container()
    assert cf.uncovered(container) is None
    if fixed_input:  # stored integers at grid 2^-9: ties of every channel grid, overflow of every range
        f_from = 9
        x = rng.integers(-(2**17), 2**17, size=(64, 5))
        x[:8] = (rng.integers(-300, 300, size=(8, 5)) * 2 + 1) << 2  # half-LSB ties of coarse grids
    else:
        f_from = None
        x = rng.normal(size=(64, 5)) * 2.0 ** rng.integers(-3, 7, size=(64, 5))
        x[:8] = (rng.integers(-300, 300, size=(8, 5)) + 0.5) * 2.0 ** -rng.integers(-2, 9, size=(8, 5))
    got = cast_channels(x, f_from, cf, container, (1, 5))
    want = reference_cast(x, f_from, cf.expand((1, 5)).reshape(-1, 3), container)
    assert got.tolist() == want
    # the exact range analysis covers every result
    fmt_in = F(1, 8, 9)
    if fixed_input:
        xi = np.clip(x, fmt_in.min_int, fmt_in.max_int)
        rng_in = Interval.of_format(fmt_in, (1, 5))
        r = channel_cast_interval(rng_in, cf, container)
        y = cast_channels(xi, 9, cf, container, (1, 5))
        assert r.f == container.f and np.all(y >= r.lo) and np.all(y <= r.hi)


def test_channel_formats_errors_and_groups():
    with pytest.raises(FormatError, match="triples"):
        ChannelFormats(np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(FormatError, match="width"):
        ChannelFormats(np.array([[0, -3, 2]]))
    cf = ChannelFormats(np.array([[[1, 0, 4], [1, 2, 6], [1, 0, 4]]]), "RND", "SAT")
    assert cf.shape_error((1, 3)) is None and "broadcast" in cf.shape_error((1, 4))
    groups = cf.groups((2, 3))
    assert [(str(f), idx.tolist()) for f, idx in groups] == [
        ("ap_fixed<9,3,AP_RND,AP_SAT>", [1, 4]), ("ap_fixed<5,1,AP_RND,AP_SAT>", [0, 2, 3, 5])]
    assert cf.container() == F(1, 2, 6, "RND", "SAT") and cf.total_bits((2, 3)) == 2 * 9 + 4 * 5
    sym = ChannelFormats(np.array([[[1, 0, 0], [0, 0, 1]]]), "TRN", "SAT_SYM")  # -1 and [0, 0.5]
    assert sym.container() == F(1, 1, 1, "TRN", "SAT_SYM") and sym.uncovered(F(1, 0, 1, "TRN", "SAT_SYM"))
    assert cf.misfit(np.array([16, 255, -64, 0, 0, 0]), 6, (2, 3)) is None
    assert cf.misfit(np.array([16, 255, 68, 0, 0, 0]), 6, (2, 3))[:2] == (2, 68)  # off channel 2's grid


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_exact_channel_formats_are_exact_and_narrowest(seed):
    rng = np.random.default_rng(seed)
    f = 8
    cols = [rng.integers(-2**e, 2**e, size=5) << s for e, s in zip(rng.integers(0, 7, 4), rng.integers(0, 4, 4))]
    stored = np.stack(cols, axis=1)
    container = exact_channel_formats(stored, f, 1, F(1, 10, f, "RND", "SAT")).container()
    cf = exact_channel_formats(stored, f, 1, container)
    assert cf.shape == (1, 4) and cf.misfit(stored, f, stored.shape) is None
    for c, (k, i, ff) in enumerate(cf.kif.reshape(-1, 3).tolist()):
        col = stored[:, c]
        if not np.any(col):
            continue  # an all-zero channel takes one bit anyway
        narrower = [(k, i - 1, ff), (k, i, ff - 1)] + ([(0, i, ff)] if k else [])  # one bit less, each way
        for t in narrower:
            if sum(t) >= 1:
                single = ChannelFormats(np.array([t]))
                assert single.misfit(col.reshape(-1, 1), f, (5, 1)) is not None, (col.tolist(), t)


# --- emulator == C simulation of the emitted C++ ---------------------------------------------------------

def _with_formats(line: str, kif: np.ndarray) -> str:
    """Add a `formats` attribute to one generic-form op line."""
    lit = str(np.asarray(kif).tolist()).replace(" ", "")
    attr = f"formats = dense<{lit}> : tensor<{'x'.join(map(str, kif.shape))}xi64>"
    head, sep, rest = line.partition('"(')
    args, _, tail = rest.partition(") ")
    if tail.startswith("{"):
        return f"{head}{sep}{args}) {{{attr}, {tail[1:]}"
    return f"{head}{sep}{args}) {{{attr}}} {tail}"


def channel_cast(k, x, cf: ChannelFormats) -> str:
    container = cf.container()
    v = k._new(k.types[x][0], container)
    line = f'{v} = "fxp.cast"({x}) : ({k._t(x)}) -> {k._t(v)}'
    k.lines.append(_with_formats(line, cf.kif))
    return v


COMMON = F(1, 6, 8)  # covers every container below: results are re-cast to it exactly (df ports share a type)


def per_channel_graph(seed: int = 0):
    """One kernel per overflow mode holding a per-channel cast per rounding mode, and a dense layer whose
    weights carry per-channel formats followed by a per-element cast."""
    rng = np.random.default_rng(seed)
    c = 6
    x_fmt = F(1, 5, 10)
    g = Graph("perchan", [((1, c), x_fmt)])
    formats = {}

    def casts(overflow):
        def build(k, a):
            outs = []
            for q in ROUNDING_MODES:
                kif = np.array([(kk, max(ii, 1 - kk - ff), ff) for kk, ii, ff in zip(
                    rng.integers(0, 2, c), rng.integers(-1, 4, c), rng.integers(0, 7, c))]).reshape(1, c, 3)
                cf = ChannelFormats(kif, q, overflow)
                formats[len(formats)] = cf
                outs.append(k.cast(channel_cast(k, a, cf), COMMON))  # exact: one port type for all
            return outs
        return build

    results = []
    for o in OVERFLOW_MODES:
        results += g.kernel(f"casts_{o.lower()}", ["%x0"], casts(o))

    def dense(k, a):
        w_cf = ChannelFormats(np.array([[[1, 1, 3], [1, 0, 6], [0, 2, 2]] * 2]), "RND", "SAT")
        w_fmt = w_cf.container()
        w = np.stack([rng.integers(-16, 16, c) << 3, rng.integers(-64, 64, c), rng.integers(0, 16, c) << 4] * 2, axis=1)
        wv = k.const(w, w_fmt)
        k.lines[-1] = _with_formats(k.lines[-1], w_cf.kif)
        b = k.const(np.array([3, -5, 7, 0, 1, -1]) << 4, w_fmt)
        y = k.dense(a, wv, b, F(1, 12, 16), F(1, 6, 10, "RND", "SAT"))
        e_cf = ChannelFormats(np.array([[[1, 3, 2], [1, 5, 5], [0, 2, 6]] * 2]), "RND_CONV", "SAT_SYM")
        return k.cast(channel_cast(k, y, e_cf), COMMON)

    results += g.kernel("dense", ["%x0"], dense)
    g.ret(*results)
    return g, formats


def per_channel_inputs(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)) * 2.0 ** rng.integers(-2, 6, size=(n, 6))
    x[: n // 4] = np.round(x[: n // 4] * 64) / 64 + 2.0 ** -rng.integers(1, 8, size=(n // 4, 6))  # ties
    return np.clip(x, -31.9, 31.9)


def test_graph_emulator_matches_scalar_reference():
    g, formats = per_channel_graph()
    ctx = new_context()
    with ctx:
        m = ir.Module.parse(g.text())
        program = compile_program(m)
    x = per_channel_inputs(300)
    outs = run(program, [x])
    xq = np.array([[quantize_scalar(v, F(1, 5, 10)) for v in row] for row in x])
    for j, cf in formats.items():
        assert COMMON.covers(cf.container())
        want = reference_cast(xq, 10, cf.kif.reshape(-1, 3), cf.container())
        shift = COMMON.f - cf.container().f
        assert outs[j].data.tolist() == [[n << shift for n in r] for r in want], f"cast {j} ({cf})"


@needs_cxx
def test_graph_csim_equals_predict(tmp_path):
    from fxflow.lowering.hls.csim import run as csim_run
    from fxflow.lowering.hls import emit_cpp, write_project

    g, _ = per_channel_graph()
    ctx = new_context()
    with ctx:
        m = ir.Module.parse(g.text())
        program = compile_program(m)
        text = emit_cpp(m)
        d = write_project(m, tmp_path / "p")
    x = per_channel_inputs(400, seed=2)
    want = np.concatenate([np.asarray(t.data, dtype=np.int64).reshape(len(x), -1) for t in run(program, [x])], axis=1)
    assert np.array_equal(csim_run(d, x), want)
    # one type per channel group, the casts assigned through them, the weight's channel types declared
    assert re.search(r"typedef ap_fixed<5,2,AP_RND,AP_SAT> \w+_weight_ch\d_t;", text)
    assert re.search(r"typedef ap_ufixed<4,2,AP_RND,AP_SAT> \w+_weight_ch\d_t;", text)
    assert text.count("_cast_ch") > 4 * 7 and "index 2, 5 of dimension 1" in text


# --- models -------------------------------------------------------------------------------------------

def test_per_channel_power_of_two_activation_quantizer_is_exact():
    """A hand-written activation quantizer with one power-of-two scale per channel."""
    import torch
    from torch import nn

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.fc = nn.Linear(3, 3)
            with torch.no_grad():  # weights on a 2^-6 grid: "auto" weight formats hold them exactly
                self.fc.weight.copy_(torch.round(self.fc.weight * 64) / 64)
                self.fc.bias.copy_(torch.round(self.fc.bias * 64) / 64)
            self.register_buffer("s", torch.tensor([4.0, 16.0, 2.0]))

        def forward(self, x):
            return torch.clamp(torch.floor(self.fc(x) * self.s + 0.5), -8, 7) / self.s

    model = M().eval()
    x = np.random.default_rng(0).normal(size=(500, 3)) * 3
    # exact intermediates ("auto": no rounding before the model's own quantizer), as in the float64 pass;
    # the per-channel scales become fxp.scale_shift around one integer cast
    design = fxflow.compile(model, x[:1], config={"model": {"precision": "auto", "input": "ap_fixed<18,6>"}})
    xq = np.round(x * 2**12) / 2**12  # inputs on the input format's grid: the model sees the same values
    assert np.array_equal(design.predict(xq), _float64_forward(model, xq))
    codes = design.predict(xq) * [4, 16, 2]  # each channel on its own grid 1/s, clamped to [-8, 7]
    assert np.array_equal(np.unique(codes), np.arange(-8, 8)) and len(np.unique(design.predict(xq)[:, 1])) > 8



def _pquant():
    """pquant-ml (the optional `qat` extra) with its Keras backend set to torch; skips the test without it."""
    return needs_module("pquant")


def _pquant_per_channel_model(seed: int = 0):
    import torch
    from torch import nn

    pquant = _pquant()
    cfg = pquant.ap_config()
    cfg.pruning_parameters.enable_pruning = False
    cfg.quantization_parameters.granularity = "per_channel"
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 12), nn.ReLU(), nn.Linear(12, 4))
    model = pquant.add_compression_layers(model, cfg, input_shape=(1, 8)).eval()
    rng = np.random.default_rng(seed)
    for layer in (model[0], model[2]):
        q = layer.weight_quantizer
        n = q.i.shape[0]
        assert tuple(q.i.shape) == (n, 1)  # really one (i, f) per output channel
        q.i.data = torch.tensor(rng.integers(-1, 3, size=(n, 1)), dtype=torch.float32)
        q.f.data = torch.tensor(rng.integers(1, 7, size=(n, 1)), dtype=torch.float32)
        with torch.no_grad():
            layer._weight.mul_(6.0)  # reach the larger channels' integer bits
    return model


def _float64_forward(model, x):
    import torch

    with torch.no_grad():
        return copy.deepcopy(model).double()(torch.as_tensor(x, dtype=torch.float64)).numpy()


def test_pquant_per_channel_model_bit_exact(tmp_path):
    model = _pquant_per_channel_model()
    x = np.random.default_rng(0).normal(size=(1000, 8)) * 2
    design = fxflow.compile(model, x[:1], config={"model": {"precision": "auto"}}, output_dir=tmp_path / "p")
    assert np.array_equal(design.predict(x), _float64_forward(model, x))
    fxp = design.mlir("fxp")
    weights = [line for line in fxp.splitlines() if "fxp.constant" in line and "formats" in line and "x3xi64" in line]
    assert len(weights) >= 2  # both weight matrices carry their channels' formats
    # each weight channel's format is at most the model's (k=1, i, f) for that channel
    ctx = new_context()
    with ctx:
        m = ir.Module.parse(fxp)
        from fxflow.dialects.fxp.channels import channel_formats
        consts = [o for o in m.body.operations[0].regions[0].blocks[0].operations
                  if o.operation.name == "fxp.constant" and "formats" in o.operation.attributes
                  and len(ir.RankedTensorType(o.results[0].type).shape) == 2]
        for op, layer in zip(consts, (model[0], model[2])):
            kif = channel_formats(op).kif.reshape(-1, 3)
            qi, qf = layer.weight_quantizer.i.detach().numpy().ravel(), layer.weight_quantizer.f.detach().numpy().ravel()
            assert np.all(kif[:, 2] <= qf) and np.all(kif[:, 1] + kif[:, 2] <= qi + qf)
            assert len({tuple(r) for r in kif.tolist()}) > 1
    if have("g++", "ap_types"):
        assert np.array_equal(design.predict(x[:300], raw=True), design.csim(x[:300], raw=True, verbose=False))
        defines = (tmp_path / "p" / "firmware" / "defines.h").read_text()
        assert "weight channel formats" in defines
    # the estimate counts the channels' real bits: fewer LUTs than the container-wide weights would need for
    # multiplexed weights (reuse factor 2: generic multipliers); unrolled constant products cost their values'
    # shift-add adders whatever the declared format, so there the channel formats change nothing
    from fxflow.estimate import estimate

    with design.ctx:
        text = design.mlir("df")
        for rf, better in (("2", True), ("1", False)):
            mlir = text.replace("reuse_factor = 1 : i64", f"reuse_factor = {rf} : i64")
            full = estimate(ir.Module.parse(mlir))
            plain = estimate(ir.Module.parse(mlir.replace("formats = dense", "fxflow.unused = dense")))
            if better:
                assert full["layers"][0]["lut"] < plain["layers"][0]["lut"]
            else:
                assert full["layers"][0]["lut"] == plain["layers"][0]["lut"]
