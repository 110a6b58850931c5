"""The native LayerNorm / RMSNorm (emulator/kernels/layernorm.cpp through emulator/transformer.py `norm_rows`):
equal bit for bit, and in the same layout, to fxflow/fixed/layernorm.py `layernorm` (NumPy) on random formats
(every rounding and overflow mode of every intermediate, signed and unsigned, widths, epsilon, 1 to ~70
elements per row, rows row-major, as the transposed view of [n, R] or strided), taken whenever every
intermediate fits int64; NumPy when FXFLOW_NATIVE=0; the bundled transformer's predict the same either way."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fxflow
import fxflow.emulator.transformer as tr
from fxflow.emulator import native
from fxflow.fixed import FixedFormat
from fxflow.fixed.layernorm import NormFormats, int64_plan, layernorm

from models import OVERFLOW, ROUNDING

_NATIVE_USE: list = []  # per example of the hypothesis test: whether the native kernel ran


@st.composite
def formats(draw, max_width=20, signed=None, min_f=-4):
    k = draw(st.booleans()) if signed is None else signed
    w = draw(st.integers(1 + k, max_width))
    f = draw(st.integers(min_f, w + 2))
    return FixedFormat(int(k), w - k - f, f, draw(st.sampled_from(ROUNDING)), draw(st.sampled_from(OVERFLOW)))


def _spy(monkeypatch) -> list:
    """Counts the native kernel's calls."""
    ran = []
    real = tr._layernorm_native

    def spy(*args):
        ran.append(1)
        return real(*args)

    monkeypatch.setattr(tr, "_layernorm_native", spy)
    return ran


def _layouts(rows: np.ndarray, rng) -> list[np.ndarray]:
    """The rows row-major, as the transposed view of a [n, R] array, and as a strided view of a larger array."""
    big = rng.integers(-5, 5, size=(rows.shape[0] * 2, rows.shape[1] + 3)).astype(np.int64)
    big[::2, 1:1 + rows.shape[1]] = rows
    return [rows, np.ascontiguousarray(rows.T).T, big[::2, 1:1 + rows.shape[1]]]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_native_equals_numpy(monkeypatch, data):
    rms = data.draw(st.booleans())
    x = data.draw(formats(max_width=18))
    fm = NormFormats(data.draw(formats(max_width=24)), data.draw(formats(max_width=22)),
                     data.draw(formats(max_width=24, signed=data.draw(st.sampled_from([False, False, True])))),
                     data.draw(formats(max_width=20, signed=False, min_f=0)), data.draw(formats(max_width=18)))
    g_fmt, b_fmt, out = (data.draw(formats(max_width=16)) for _ in range(3))
    n = data.draw(st.sampled_from([1, 2, 3, 8, data.draw(st.integers(1, 70))]))
    count = data.draw(st.sampled_from([1, 31, 32, 33, data.draw(st.integers(0, 100))]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    rows = rng.integers(x.min_int, x.max_int, size=(count, n), endpoint=True, dtype=np.int64)
    if data.draw(st.booleans()):  # rows of one value (zero variance) and rows at the extremes
        rows[: count // 2] = rng.choice([x.min_int, x.max_int, 0], size=(count // 2, 1))
    g = rng.integers(g_fmt.min_int, g_fmt.max_int, size=n, endpoint=True, dtype=np.int64)
    b = rng.integers(b_fmt.min_int, b_fmt.max_int, size=n, endpoint=True, dtype=np.int64)
    eps = data.draw(st.sampled_from([0.0, 1e-5, 0.25, 3.0]))
    ran = _spy(monkeypatch)
    monkeypatch.setenv("FXFLOW_NATIVE", "1")
    for given_rows in _layouts(rows, rng):
        want = layernorm(given_rows, x, g, g_fmt, b, b_fmt, fm, eps, rms, out)
        got = tr.norm_rows(given_rows, x, g, g_fmt, b, b_fmt, fm, eps, rms, out)
        assert got.dtype == want.dtype and got.strides == want.strides
        assert np.array_equal(got, want), (x, fm, g_fmt, b_fmt, out, eps, rms)
    planned = int64_plan(x, fm, n, rms, eps, g_fmt, b_fmt, out) is not None
    assert ran == ([1] * 3 if planned and tr._native_norm_params(x, fm, n, rms, eps, g_fmt, b_fmt, out) is not None
                   else [])
    _NATIVE_USE.append(bool(ran))


def test_native_ran_in_most_examples():
    """Else the test above would compare the NumPy path with itself."""
    if _NATIVE_USE:
        assert sum(_NATIVE_USE) >= 0.6 * len(_NATIVE_USE), (sum(_NATIVE_USE), len(_NATIVE_USE))


def test_numpy_when_native_is_off(monkeypatch):
    x = FixedFormat.parse("ap_fixed<10,4>")
    fm = NormFormats(FixedFormat.parse("ap_fixed<16,8>"), FixedFormat.parse("ap_fixed<16,4>"),
                     FixedFormat.parse("ap_ufixed<16,4>"), FixedFormat.parse("ap_ufixed<16,6>"),
                     FixedFormat.parse("ap_fixed<12,3,AP_RND,AP_SAT>"))
    rows = np.random.default_rng(0).integers(-512, 512, size=(50, 8))
    g, b = np.full(8, 64), np.arange(8)
    out = FixedFormat.parse("ap_fixed<10,4>")
    ran = _spy(monkeypatch)
    monkeypatch.setenv("FXFLOW_NATIVE", "0")
    want = tr.norm_rows(rows, x, g, x, b, x, fm, 1e-5, False, out)
    assert ran == []
    monkeypatch.setenv("FXFLOW_NATIVE", "1")
    assert native.library() is not None, "no native build on a machine with a compiler"
    assert native.library().fxflow_layernorm_lanes() == tr.NORM_LANES  # the scratch the kernel takes
    assert np.array_equal(tr.norm_rows(rows, x, g, x, b, x, fm, 1e-5, False, out), want) and ran == [1]


def test_transformer_predict_native_equals_numpy(monkeypatch):
    """The bundled transformer (5 LayerNorm steps, n = 8, the transposed views its chains hand on)."""
    from fxflow.examples import transformer as ex

    x = ex.make_inputs(1100).astype(np.float32)  # two chunks, the second partial
    design = fxflow.compile(ex.make_model(), x[:1], config=ex.DEFAULT_CONFIG)
    ran = _spy(monkeypatch)
    monkeypatch.setenv("FXFLOW_NATIVE", "0")
    want = design.predict(x, raw=True)
    assert ran == []
    monkeypatch.setenv("FXFLOW_NATIVE", "1")
    got = design.predict(x, raw=True)
    assert len(ran) == 10  # every LayerNorm step of both chunks
    assert np.array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize("n", [1, 8, 1500])
def test_long_and_single_element_rows(monkeypatch, n):
    """Rows of thousands of elements (other models) and of one (zero variance: the inverse root's cap)."""
    x = FixedFormat.parse("ap_fixed<12,4,AP_RND,AP_SAT>")
    fm = NormFormats(FixedFormat.parse("ap_fixed<20,14,AP_RND,AP_SAT>"), FixedFormat.parse("ap_fixed<16,4>"),
                     FixedFormat.parse("ap_ufixed<20,6,AP_RND_CONV,AP_SAT>"), FixedFormat.parse("ap_ufixed<18,8>"),
                     FixedFormat.parse("ap_fixed<14,4,AP_RND_ZERO,AP_SAT_SYM>"))
    rng = np.random.default_rng(n)
    rows = rng.integers(x.min_int, x.max_int, size=(70, n), endpoint=True)
    g, b = rng.integers(-200, 200, size=n), rng.integers(-200, 200, size=n)
    out = FixedFormat.parse("ap_fixed<12,5,AP_RND_INF,AP_SAT_ZERO>")
    ran = _spy(monkeypatch)
    monkeypatch.setenv("FXFLOW_NATIVE", "1")
    for rms in (False, True):
        want = layernorm(rows, x, g, x, b, x, fm, 0.0, rms, out)
        assert np.array_equal(tr.norm_rows(rows, x, g, x, b, x, fm, 0.0, rms, out), want)
    assert ran == [1, 1]


def test_baseline_build_without_avx2_equals_too(monkeypatch, tmp_path):
    """The build for CPUs without AVX2 (SSE2 on x86-64, other vector loops): the same bits."""
    import ctypes

    monkeypatch.setattr(native, "cpu_flags", lambda: [])
    lib = ctypes.CDLL(str(native.build(native.SOURCES, tmp_path)))
    native._declare(lib)
    monkeypatch.setattr(native, "library", lambda: lib)
    ran = _spy(monkeypatch)
    x = FixedFormat.parse("ap_fixed<14,6>")
    rng = np.random.default_rng(3)
    for rounding in ROUNDING:
        for overflow in OVERFLOW:
            fm = NormFormats(FixedFormat.parse(f"ap_fixed<12,8,AP_{rounding},AP_{overflow}>"),
                             FixedFormat(1, 6, 9, rounding, overflow), FixedFormat(0, 10, 8, rounding, overflow),
                             FixedFormat(0, 6, 10, rounding, overflow), FixedFormat(1, 3, 9, rounding, overflow))
            out = FixedFormat(1, 4, 8, rounding, overflow)
            rows = rng.integers(x.min_int, x.max_int, size=(45, 8), endpoint=True)
            g, b = rng.integers(-300, 300, size=8), rng.integers(-300, 300, size=8)
            for rms in (False, True):
                want = layernorm(rows, x, g, x, b, x, fm, 1e-3, rms, out)
                assert np.array_equal(tr.norm_rows(rows, x, g, x, b, x, fm, 1e-3, rms, out), want)
    assert len(ran) == 2 * len(ROUNDING) * len(OVERFLOW)


_HLS4ML_USE: list = []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hls4ml_native_equals_numpy(monkeypatch, data):
    """hls4ml 1.3's LayerNorm (`hls4ml_layernorm`): random accum_t and table_t (every mode), table sizes and
    range powers, the ordered sums at once or step by step; the result row-major."""
    from fxflow.fixed.layernorm import Hls4mlNorm, hls4ml_layernorm

    x = data.draw(formats(max_width=18))
    hm = Hls4mlNorm(data.draw(formats(max_width=24)), data.draw(formats(max_width=12, signed=False, min_f=0)),
                    data.draw(st.sampled_from([16, 1024, 4096])), data.draw(st.integers(-2, 3)))
    g_fmt, b_fmt, out = (data.draw(formats(max_width=16)) for _ in range(3))
    n = data.draw(st.sampled_from([1, 8, data.draw(st.integers(1, 70))]))
    count = data.draw(st.sampled_from([1, 33, data.draw(st.integers(0, 100))]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    rows = rng.integers(x.min_int, x.max_int, size=(count, n), endpoint=True, dtype=np.int64)
    g = rng.integers(g_fmt.min_int, g_fmt.max_int, size=n, endpoint=True, dtype=np.int64)
    b = rng.integers(b_fmt.min_int, b_fmt.max_int, size=n, endpoint=True, dtype=np.int64)
    eps = data.draw(st.sampled_from([1e-5, 1e-3, 0.01]))
    ran = _spy(monkeypatch)
    monkeypatch.setenv("FXFLOW_NATIVE", "1")
    for given_rows in _layouts(rows, rng):
        want = hls4ml_layernorm(given_rows, x, g, g_fmt, b, b_fmt, hm, eps, out)
        got = tr.hls4ml_norm_rows(given_rows, x, g, g_fmt, b, b_fmt, hm, eps, out)
        assert got.dtype == want.dtype and got.flags.c_contiguous  # (NumPy's follows the rows' layout)
        assert np.array_equal(got, want), (x, hm, g_fmt, b_fmt, out, eps)
    _HLS4ML_USE.append(bool(ran))


def test_hls4ml_native_ran_in_most_examples():
    if _HLS4ML_USE:
        assert sum(_HLS4ML_USE) >= 0.6 * len(_HLS4ML_USE), (sum(_HLS4ML_USE), len(_HLS4ML_USE))
