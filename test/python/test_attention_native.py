"""The native attention steps (emulator/attention.py: kernels/softmax.cpp, kernels/matmul.cpp): the table softmax
("stable", "latency") and fxp.matmul with exact products equal, bit for bit, fxflow/fixed/softmax.py `softmax` and
fxflow/fixed/matmul.py `matmul` on random formats (every rounding and overflow mode of every intermediate,
signed and unsigned, widths up to 62 bits, table sizes, 1-element rows, transposed and broadcast operands); the
native path ran in most examples; FXFLOW_NATIVE=0 runs the NumPy functions; the transformer example predicts
the same either way."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fxflow.emulator.attention as att
from fxflow.emulator import native
from fxflow.fixed.format import OVERFLOW_MODES, ROUNDING_MODES, FixedFormat
from fxflow.fixed.matmul import matmul
from fxflow.fixed.softmax import SoftmaxFormats, capped_size, exp_table, inv_table, softmax

_RAN: dict = {"softmax": [], "matmul": []}  # per example: whether the native kernel ran
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


_PLANS: dict = {"softmax": set(), "matmul": set()}  # the kernels' branches the examples took


@pytest.fixture(scope="module", params=["default", "baseline"])
def build(request, tmp_path_factory):
    """The cached build (AVX2 where the CPU has it) and the build for CPUs without AVX2 (the other code paths)."""
    if native.library() is None:
        pytest.skip("no native build (no C++ compiler)")
    if request.param == "default":
        return native.library()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(native, "cpu_flags", lambda: [])
        lib = ctypes.CDLL(str(native.build(native.SOURCES, tmp_path_factory.mktemp("baseline"))))
    native._declare(lib)
    return lib


@pytest.fixture(autouse=True)
def _native(monkeypatch, build):
    monkeypatch.setenv("FXFLOW_NATIVE", "1")
    monkeypatch.setattr(native, "library", lambda: build if native.enabled() else None)


def _spy(monkeypatch, name: str) -> list:
    ran, real = [], getattr(att, name)

    def spy(*args):
        ran.append(1)
        kernel, plan = ("softmax", (args[2][0], args[2][4])) if name == "_run_softmax" else \
            ("matmul", (args[3][0], args[3][1], args[3][4]))
        _PLANS[kernel].add(tuple(int(v) for v in plan))
        return real(*args)

    monkeypatch.setattr(att, name, spy)
    return ran


@st.composite
def formats(draw, max_width: int = 62, min_width: int = 1):
    width = draw(st.integers(min_width, max_width))
    signed = draw(st.booleans()) if width > 1 else False
    f = draw(st.integers(-4, width + 4))
    return FixedFormat(int(signed), width - int(signed) - f, f, draw(st.sampled_from(ROUNDING_MODES)),
                       draw(st.sampled_from(OVERFLOW_MODES)))


def _stored(rng, fmt: FixedFormat, shape) -> np.ndarray:
    """Random stored integers of fmt, a quarter of them its extremes (saturation, the largest differences)."""
    v = rng.integers(fmt.min_int, fmt.max_int, size=shape, endpoint=True)
    ends = rng.choice(np.array([fmt.min_int, fmt.max_int, 0 if fmt.min_int <= 0 else fmt.min_int]), size=shape)
    return np.where(rng.random(shape) < 0.25, ends, v).astype(np.int64)


def _layout(rng, a: np.ndarray) -> np.ndarray:
    """a itself, or the same values in a transposed memory layout (a strided view)."""
    if a.ndim >= 2 and rng.random() < 0.4:
        return np.ascontiguousarray(np.swapaxes(a, -1, -2)).swapaxes(-1, -2)
    return a


@SETTINGS
@given(x=formats(40), y=formats(), norm=formats(24), exp=formats(30), inv=formats(30), inv_in=formats(24),
       accum=formats(40), exp_size=st.sampled_from([2, 8, 64, 1024]), inv_size=st.sampled_from([2, 16, 256, 1024]),
       impl=st.sampled_from(["stable", "latency"]), n=st.integers(1, 12), lead=st.sampled_from([(), (3,), (5, 2)]),
       seed=st.integers(0, 2**32 - 1))
def test_native_softmax_equals_numpy(monkeypatch, x, y, norm, exp, inv, inv_in, accum, exp_size, inv_size, impl, n,
                                     lead, seed):
    rng = np.random.default_rng(seed)
    index = norm if impl == "stable" else x
    fm = SoftmaxFormats(exp, inv, inv_in, accum, norm, capped_size(exp_size, index), capped_size(inv_size, inv_in))
    exp_tab = exp_table(index, fm.exp_size, exp, negative=impl == "stable")
    inv_tab = inv_table(inv_in, fm.inv_size, inv)
    raw = _layout(rng, _stored(rng, x, lead + (4, n)))
    if rng.random() < 0.3:  # rows of equal values
        raw = np.broadcast_to(raw[..., :1], raw.shape).copy()
    ran = _spy(monkeypatch, "_run_softmax")
    got = att.softmax(raw, x, y, impl, fm, exp_tab, inv_tab)
    want = softmax(raw, x, y, impl, fm, exp_tab, inv_tab)
    assert got.shape == want.shape and np.array_equal(got, want)
    _RAN["softmax"].append(bool(ran))


@SETTINGS
@given(a_fmt=formats(40), b_fmt=formats(40), acc=formats(), out=formats(), m=st.integers(1, 9), k=st.integers(1, 9),
       n=st.integers(1, 9), batch=st.sampled_from([((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 1), (1, 3)),
                                                   ((), (4,))]), seed=st.integers(0, 2**32 - 1))
def test_native_matmul_equals_numpy(monkeypatch, a_fmt, b_fmt, acc, out, m, k, n, batch, seed):
    rng = np.random.default_rng(seed)
    a = _layout(rng, _stored(rng, a_fmt, batch[0] + (m, k)))
    b = _layout(rng, _stored(rng, b_fmt, batch[1] + (k, n)))
    ran = _spy(monkeypatch, "_run_matmul")
    got = att.matmul(a, a_fmt, b, b_fmt, acc, out)
    want = matmul(a, a_fmt, b, b_fmt, acc, out)
    assert got.shape == want.shape and np.array_equal(got, want)
    _RAN["matmul"].append(bool(ran))


@pytest.mark.parametrize("kernel", ["softmax", "matmul"])
def test_native_path_ran_in_most_examples(kernel):
    """Else the tests above would compare the NumPy functions with themselves; and every branch of the kernels
    ran (softmax: each of the three gathers and of the three row sums; matmul: at once with and without the
    accumulator's assignment, and in order; narrow and wide operands)."""
    use = _RAN[kernel]
    if use:
        assert sum(use) >= len(use) // 2, (sum(use), len(use))
        plans = _PLANS[kernel]
        if kernel == "softmax":
            assert {g for g, _ in plans} == {0, 1, 2} and {m for _, m in plans} == {0, 1, 2}, plans
        else:
            assert {(1, 0), (1, 1), (0, 1)} <= {p[:2] for p in plans} and {p[2] for p in plans} == {0, 1}, plans


@pytest.mark.parametrize("signed", [False, True])
def test_matmul_of_32_bit_extremes(monkeypatch, signed):
    """Operands at the ends of 32-bit formats (an unsigned one does not fit int32: the wide products)."""
    fmt, b_fmt = FixedFormat(int(signed), 32 - int(signed) - 16, 16), FixedFormat(1, 9, 10)
    a = np.array([[fmt.max_int, fmt.min_int, fmt.max_int]] * 8, dtype=np.int64)
    b = np.array([[b_fmt.max_int] * 8, [b_fmt.min_int] * 8, [b_fmt.max_int - 1] * 8], dtype=np.int64)
    acc, out = FixedFormat(1, 30, 26), FixedFormat(1, 30, 20)
    ran = _spy(monkeypatch, "_run_matmul")
    for bv in (b, np.ascontiguousarray(b.T).T):
        assert np.array_equal(att.matmul(a, fmt, bv, b_fmt, acc, out), matmul(a, fmt, bv, b_fmt, acc, out))
    assert len(ran) == 2


def test_fxflow_native_0_runs_numpy(monkeypatch):
    x = FixedFormat.parse("ap_fixed<18,8>")
    fm = SoftmaxFormats(x, x, x, x, FixedFormat(0, x.i, x.f), 1024, 1024)
    raw = _stored(np.random.default_rng(0), x, (6, 8))
    runs = [_spy(monkeypatch, "_run_softmax"), _spy(monkeypatch, "_run_matmul")]
    monkeypatch.setenv("FXFLOW_NATIVE", "0")
    assert np.array_equal(att.softmax(raw, x, x, "stable", fm), softmax(raw, x, x, "stable", fm))
    assert np.array_equal(att.matmul(raw, x, raw.T, x, x, x), matmul(raw, x, raw.T, x, x, x))
    assert runs == [[], []]
    monkeypatch.setenv("FXFLOW_NATIVE", "1")
    att.softmax(raw, x, x, "stable", fm), att.matmul(raw, x, raw.T, x, x, x)
    assert runs == [[1], [1]]


@settings(max_examples=60, deadline=None)
@given(dims=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data())
def test_gather_views_equal_the_gathers(dims, data):
    """A gather that is a reshape + transpose (+ slice) of a row-major sample is handed on as a strided view
    (fixed/shape.py affine_gather / gather_view, the attention heads' split and merge): the same values; other
    index lists (shuffled) are not views."""
    from fxflow.fixed import shape as mv

    perm = data.draw(st.permutations(range(len(dims))))
    size, offset = int(np.prod(dims)), data.draw(st.integers(0, 3))
    idx = offset + np.arange(size).reshape(dims).transpose(perm).reshape(-1)
    out = [dims[p] for p in perm]
    a = np.arange(5 * (size + offset + 2), dtype=np.int64).reshape(5, -1)
    view = mv.affine_gather(idx, out)
    assert view is not None
    assert np.array_equal(mv.gather_view(a, *view, out), mv.gather(a, idx, out))
    shuffled = np.random.default_rng(size).permutation(idx)
    got = mv.affine_gather(shuffled, out)
    if got is not None:  # (a shuffle may still be affine: then it is the same gather)
        assert np.array_equal(mv.gather_view(a, *got, out), mv.gather(a, shuffled, out))
    assert mv.affine_gather(np.array([0, 2, 1, 3]), [4]) is None


def test_transformer_predicts_the_same_natively(monkeypatch):
    import fxflow
    from fxflow.examples import transformer as ex

    x = ex.make_inputs(1100).astype(np.float32)  # a full chunk and a short one
    design = fxflow.compile(ex.make_model(), x[:1], config=ex.DEFAULT_CONFIG)
    runs = [_spy(monkeypatch, "_run_softmax"), _spy(monkeypatch, "_run_matmul")]
    y_native = design.predict(x, raw=True)
    assert len(runs[0]) == 2 * 3 and len(runs[1]) == 2 * 4  # every softmax and matmul step, both chunks
    monkeypatch.setenv("FXFLOW_NATIVE", "0")
    assert np.array_equal(y_native, design.predict(x, raw=True))
