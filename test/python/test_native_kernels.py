"""The native kernels' shared fixed-point assignment (emulator/kernels/fixed.h, parameters from
emulator/native.py `assignment`), element by element and over an array: equal to fxflow/fixed/quantize.py's
`requantize` for every rounding and overflow mode, signed and unsigned formats, right and left shifts, on any
int64 input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fxflow.emulator import native
from fxflow.fixed.format import OVERFLOW_MODES, ROUNDING_MODES, FixedFormat
from fxflow.fixed.quantize import requantize


@pytest.fixture(scope="module")
def lib():
    lib = native.library()
    assert lib is not None, "no native build on a machine with a compiler"
    return lib


def native_requantize(lib, n: np.ndarray, f_from: int, fmt: FixedFormat) -> np.ndarray:
    n = np.ascontiguousarray(n, dtype=np.int64)
    out = np.empty_like(n)
    params = native.assignment(f_from, fmt)
    lib.fxflow_assign(n.ctypes.data, out.ctypes.data, n.size, params.ctypes.data)
    each = n.copy()  # the array version (fx_assign_each_of: its own loops per rounding table) agrees
    lib.fxflow_assign_each(each.ctypes.data, each.size, params.ctypes.data)
    assert np.array_equal(each, out), (fmt, f_from)
    return out


EDGES = [0, 1, -1, 2, -2, 3, -3, 2**62 - 1, -(2**62), 2**63 - 1, -(2**63), 2**31, -(2**31) - 1]


@st.composite
def cases(draw):
    width = draw(st.integers(1, 62))
    signed = draw(st.booleans())
    f = draw(st.integers(-8, 70))
    fmt = FixedFormat(int(signed), width - int(signed) - f, f, draw(st.sampled_from(ROUNDING_MODES)),
                      draw(st.sampled_from(OVERFLOW_MODES)))
    shift = draw(st.integers(-70, native.MAX_SHIFT))
    scale = draw(st.integers(0, 63))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    vals = rng.integers(-(2**63), 2**63 - 1, size=300, dtype=np.int64, endpoint=True) >> (63 - scale)
    ties = (rng.integers(-(2**20), 2**20, size=100) << max(shift, 0)) + (1 << max(shift - 1, 0))
    return np.concatenate([vals, np.asarray(EDGES, dtype=np.int64), ties.astype(np.int64)]), fmt.f + shift, fmt


@settings(max_examples=600, deadline=None)
@given(cases())
def test_native_assignment_equals_requantize(lib, case):
    n, f_from, fmt = case
    assert np.array_equal(native_requantize(lib, n, f_from, fmt), requantize(n, f_from, fmt)), (fmt, f_from)


@pytest.mark.parametrize("rounding", ROUNDING_MODES)
@pytest.mark.parametrize("overflow", OVERFLOW_MODES)
def test_every_mode_on_small_formats_exhaustively(lib, rounding, overflow):
    """Every input of 10 bits into every 4-bit format, shifts -3..6."""
    n = np.arange(-512, 512, dtype=np.int64)
    for signed in (0, 1):
        fmt = FixedFormat(signed, 2, 2, rounding, overflow)
        for shift in range(-3, 7):
            assert np.array_equal(native_requantize(lib, n, fmt.f + shift, fmt), requantize(n, fmt.f + shift, fmt))


def test_what_the_int64_kernels_do_not_take_is_refused():
    with pytest.raises(ValueError):
        native.assignment(0, FixedFormat(1, 70, 0))
    with pytest.raises(ValueError):
        native.assignment(63 + 4, FixedFormat(1, 4, 4))


@st.composite
def lut_cases(draw):
    from fxflow.fixed.table import table_index

    width = draw(st.integers(1, 18))
    signed = draw(st.booleans())
    f = draw(st.integers(-4, 24))
    in_fmt = FixedFormat(int(signed), width - int(signed) - f, f)
    size = 1 << draw(st.integers(0, width))
    lo_bin = draw(st.integers(-(1 << 12), 1 << 12))
    if draw(st.booleans()):  # a table_range of bins of 2^k stored integers
        k = draw(st.integers(0, 6))
        index = table_index(in_fmt, size, (lo_bin * 2.0 ** (k - f), (lo_bin + size) * 2.0 ** (k - f)))
    else:
        index = table_index(in_fmt, size)
    if draw(st.booleans()):
        index = dataclasses.replace(index, identity_from=draw(st.integers(in_fmt.min_int, in_fmt.max_int)))
    out_w = draw(st.integers(1, 62))
    out_f = draw(st.integers(-8, 40))
    out_s = draw(st.booleans())
    out = FixedFormat(int(out_s), out_w - int(out_s) - out_f, out_f, draw(st.sampled_from(ROUNDING_MODES)),
                      draw(st.sampled_from(OVERFLOW_MODES)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    table = rng.integers(out.min_int, out.max_int, size=index.size, endpoint=True)
    raw = rng.integers(in_fmt.min_int, in_fmt.max_int, size=(5, 7), endpoint=True)
    return raw if draw(st.booleans()) else np.ascontiguousarray(raw.T).T, index, table, in_fmt, out


@settings(max_examples=300, deadline=None)
@given(lut_cases())
def test_native_table_lookup_equals_bin_lookup(lib, case):
    """fxp.lut's native lookup (kernels/table.cpp) against fixed/table.py's bin_lookup, row-major and transposed
    inputs, with and without the identity region."""
    from fxflow.emulator.tables import _native_bin_lookup
    from fxflow.fixed.table import bin_lookup, bin_table

    raw, index, table, in_fmt, out = case
    by_bin = bin_table(index, table, in_fmt)
    run = _native_bin_lookup(index, by_bin, in_fmt, out)
    if by_bin is None or run is None:
        return
    y = run(raw)
    expect = bin_lookup(raw, index, by_bin, in_fmt, out)
    assert np.array_equal(y, expect) and y.strides == expect.strides


def _formats(draw, max_width: int = 40):
    width = draw(st.integers(1, max_width))
    signed = draw(st.booleans())
    f = draw(st.integers(-6, 30))
    return FixedFormat(int(signed), width - int(signed) - f, f, draw(st.sampled_from(ROUNDING_MODES)),
                       draw(st.sampled_from(OVERFLOW_MODES)))


@st.composite
def add_cases(draw):
    fa, fb = _formats(draw), _formats(draw)
    out = fa.add_result(fb) if draw(st.booleans()) else _formats(draw, 62)  # (the sum kept: no assignment)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = rng.integers(fa.min_int, fa.max_int, size=(4, 6, 5), endpoint=True)
    b = rng.integers(fb.min_int, fb.max_int, size=(4, 6, 5), endpoint=True)
    if draw(st.booleans()):  # both the transposed view of a [features, ...] array, as the chains hand on
        a, b = (np.ascontiguousarray(v.transpose(2, 0, 1)).transpose(1, 2, 0) for v in (a, b))
    return a, fa, b, fb, out


@settings(max_examples=300, deadline=None)
@given(add_cases())
def test_native_add_equals_add(lib, case):
    """fxp.add's native kernel (kernels/elementwise.cpp) against fixed/dense.py's add, in both layouts."""
    from fxflow.emulator.elementwise import NativeAdd
    from fxflow.fixed.dense import Tensor, add

    a, fa, b, fb, out = case
    got = NativeAdd(out)(Tensor(a, fa), Tensor(b, fb))
    expect = add(Tensor(a, fa), Tensor(b, fb), out)
    s = fa.add_result(fb)
    if s.width > 61 or (out != s and s.f - out.f > native.MAX_SHIFT):
        assert got is None  # the NumPy path (Python ints past 62 bits)
        return
    assert got is not None and np.array_equal(got.data, expect.data) and got.fmt == expect.fmt
    assert got.data.strides == a.strides  # the inputs' layout kept


# --- adversarial layouts and formats (the kernels read flat arrays: the routing must hand them the right ones) ---
def odd_layouts(a: np.ndarray):
    """(name, view) pairs of arrays equal to the 2-D array `a`: row-major, the transposed view of a
    [features, rows] array, slices with steps, negative strides, broadcasts (zero strides)."""
    yield "row-major", a
    yield "transposed", np.ascontiguousarray(a.T).T
    spaced = np.zeros((2 * a.shape[0], 3 * a.shape[1]), dtype=a.dtype)
    spaced[::2, ::3] = a
    yield "steps", spaced[::2, ::3]
    yield "reversed rows", np.ascontiguousarray(a[::-1])[::-1]
    yield "reversed both", np.ascontiguousarray(a[::-1, ::-1])[::-1, ::-1]
    if a.size:
        yield "broadcast rows", np.broadcast_to(a[:1], a.shape)
        yield "broadcast columns", np.broadcast_to(a[:, :1], a.shape)


def extreme_format(rng, max_width: int = 62) -> FixedFormat:
    """1-bit to max_width-bit formats, f far negative or large, every mode."""
    k = int(rng.integers(0, 2))
    w = int(rng.choice([1, 2, max_width, int(rng.integers(1, max_width + 1))]))
    f = int(rng.choice([-40, -1, 0, w, w + 20, int(rng.integers(-8, w + 8))]))
    return FixedFormat(k, w - k - f, f, str(rng.choice(ROUNDING_MODES)), str(rng.choice(OVERFLOW_MODES)))


def at_limits(rng, fmt: FixedFormat, shape) -> np.ndarray:
    """Stored integers of fmt, 40% of them its extremes."""
    x = rng.integers(fmt.min_int, fmt.max_int, size=shape, endpoint=True)
    edge = rng.random(shape) < 0.4
    return np.where(edge, np.where(rng.random(shape) < 0.5, fmt.min_int, fmt.max_int), x)


def test_native_add_in_odd_layouts_and_extreme_formats(lib):
    """Operands in the same odd layout (equal strides: the native path), aliased operands, 1-row / 1-column /
    empty arrays, sums up to 61 bits: equal to fixed/dense.py's add, in the operands' shape."""
    from fxflow.emulator.elementwise import NativeAdd
    from fxflow.fixed.dense import Tensor, add

    rng = np.random.default_rng(7)
    ran = 0
    for _ in range(160):
        fa, fb = extreme_format(rng, 40), extreme_format(rng, 40)
        out = fa.add_result(fb) if rng.random() < 0.3 else extreme_format(rng)
        shape = [(3, 4), (1, 5), (5, 1), (0, 4)][int(rng.integers(0, 4))]
        pairs = zip(odd_layouts(at_limits(rng, fa, shape)), odd_layouts(at_limits(rng, fb, shape)))
        if fa == fb:
            a = at_limits(rng, fa, shape)
            pairs = [(("aliased", a), ("aliased", a)), *pairs]
        for (name, a), (_, b) in pairs:
            got = NativeAdd(out)(Tensor(a, fa), Tensor(b, fb))
            if got is None:
                assert fa.add_result(fb).width > 61 or fa.add_result(fb).f - out.f > native.MAX_SHIFT
                continue
            ran += 1
            want = add(Tensor(a.copy(), fa), Tensor(b.copy(), fb), out)
            assert got.data.shape == a.shape and np.array_equal(got.data, want.data), (fa, fb, out, name)
    assert ran > 300


def test_native_table_lookup_in_odd_layouts_and_at_the_identity_edges(lib):
    """fxp.lut's native lookup on odd layouts, 1-D and 3-D inputs, identity_from at and beyond the input
    format's ends, results of 1 to 62 bits: equal to bin_lookup."""
    from fxflow.emulator.tables import _native_bin_lookup
    from fxflow.fixed.table import bin_lookup, bin_table, table_index

    rng = np.random.default_rng(8)
    ran = 0
    for _ in range(120):
        in_fmt = extreme_format(rng, 18)
        index = table_index(in_fmt, 1 << int(rng.integers(0, in_fmt.width + 1)))
        if rng.random() < 0.8:
            edge = rng.choice([in_fmt.min_int, in_fmt.min_int - 1, in_fmt.max_int, in_fmt.max_int + 1, 0])
            index = dataclasses.replace(index, identity_from=int(edge))
        out = extreme_format(rng)
        by_bin = bin_table(index, at_limits(rng, out, index.size), in_fmt)
        run = _native_bin_lookup(index, by_bin, in_fmt, out)
        if run is None:
            continue
        raw = at_limits(rng, in_fmt, (6, 5))
        stacked = np.ascontiguousarray(np.stack([raw, raw[::-1]]).transpose(2, 0, 1)).transpose(1, 2, 0)
        for name, x in [*odd_layouts(raw), ("1-D steps", raw[::2, 0]), ("3-D transposed", stacked)]:
            y = run(x)
            ran += 1
            assert y.shape == x.shape and np.array_equal(y, bin_lookup(x, index, by_bin, in_fmt, out)), name
    assert ran > 500


def test_zero_dimensional_operands_keep_their_shape(lib):
    """A 0-d array stays 0-d (fixed/layout.py memory_order: np.ascontiguousarray makes it 1-d): the native add
    and lookup give the NumPy shape, and requantize takes a scalar."""
    from fxflow.emulator.elementwise import NativeAdd
    from fxflow.emulator.tables import _native_bin_lookup
    from fxflow.fixed.dense import Tensor, add
    from fxflow.fixed.table import bin_lookup, bin_table, table_index

    fmt, out = FixedFormat(1, 3, 4), FixedFormat(1, 2, 2, "RND", "SAT")
    a, b = np.array(100, dtype=np.int64), np.array(-7, dtype=np.int64)
    got, want = NativeAdd(out)(Tensor(a, fmt), Tensor(b, fmt)), add(Tensor(a, fmt), Tensor(b, fmt), out)
    assert got.data.shape == np.shape(want.data) == () and got.data == want.data
    index = dataclasses.replace(table_index(fmt, 16), identity_from=50)
    by_bin = bin_table(index, np.arange(16), fmt)
    y = _native_bin_lookup(index, by_bin, fmt, out)(a)
    assert y.shape == bin_lookup(a, index, by_bin, fmt, out).shape == () and y == requantize(a, fmt.f, out)
    assert requantize(np.int64(100), fmt.f, out).shape == () and requantize(100, fmt.f, out) == 15


# run in a subprocess on a build with -fsanitize=undefined (a report aborts it): every kernel on the edges
_SANITIZED_CALLS = """
import ctypes, sys
import numpy as np
from fxflow.emulator import native
lib = ctypes.CDLL(sys.argv[1])
native._declare(lib)
native._loaded["lib"] = lib
from fxflow.fixed.format import FixedFormat
from fxflow.emulator.elementwise import NativeAdd
from fxflow.emulator.tables import _native_bin_lookup
from fxflow.fixed.dense import Tensor
from fxflow.fixed.table import bin_table, table_index
import dataclasses

edges = np.array([0, 1, -1, 2**62 - 1, -2**62, 2**63 - 1, -2**63, 12345, -12345], dtype=np.int64)
out = np.empty_like(edges)
for shift in (-70, -63, -62, -61, -1, 0, 1, 2, 61, 62):
    for w in (1, 2, 61, 62):
        for k in (0, 1):
            for o in ("WRAP", "SAT", "SAT_SYM", "SAT_ZERO"):
                for q in ("TRN", "RND_CONV", "TRN_ZERO"):
                    fmt = FixedFormat(k, w - k, 0, q, o)
                    p = native.assignment(shift, fmt)
                    lib.fxflow_assign(edges.ctypes.data, out.ctypes.data, edges.size, p.ctypes.data)
for fa, fb in ((FixedFormat(1, 29, 0), FixedFormat(1, 0, 30)), (FixedFormat(1, 0, 0), FixedFormat(0, -31, 59))):
    a = np.array([fa.min_int, fa.max_int, -1, 0], dtype=np.int64)
    b = np.array([fb.min_int, fb.max_int, fb.max_int, -1 if fb.signed else 0], dtype=np.int64)
    for res in (fa.add_result(fb), FixedFormat(1, 3, 2, "RND", "SAT")):
        assert NativeAdd(res)(Tensor(a, fa), Tensor(b, fb)) is not None
fmt = FixedFormat(1, 11, 0)
for size in (1, 16, 1 << 12):
    index = dataclasses.replace(table_index(fmt, size), identity_from=-5)
    by_bin = bin_table(index, np.arange(size), fmt)
    _native_bin_lookup(index, by_bin, fmt, FixedFormat(1, 1, 60, "RND", "SAT_SYM"))(
        np.array([fmt.min_int, fmt.max_int, -1, 0], dtype=np.int64))
from fxflow.emulator.chain_kernel import native_chain
from fxflow.fixed.chain import DenseChain
from fxflow.fixed.dense import plan_dense
rng = np.random.default_rng(0)
for names in (("ap_fixed<10,4>", "ap_fixed<8,2>", "ap_fixed<30,10>", "ap_fixed<10,4,AP_RND,AP_SAT>"),
              ("ap_fixed<24,6>", "ap_fixed<22,2>", "ap_fixed<60,14>", "ap_fixed<24,6,AP_RND_CONV,AP_SAT_SYM>")):
    x_fmt, w_fmt, acc, res = map(FixedFormat.parse, names)
    w, bias = (rng.integers(w_fmt.min_int, w_fmt.max_int, size, endpoint=True) for size in ((5, 3), (3,)))
    chain = DenseChain([("dense", plan_dense(x_fmt, w, w_fmt, bias, w_fmt, acc, res)), ("relu", res)], native_chain)
    assert chain._native is not None
    x = rng.choice([x_fmt.min_int, x_fmt.max_int, -1, 0], size=(37, 5))
    chain(Tensor(x, x_fmt))
    chain(Tensor(np.ascontiguousarray(x.T).T, x_fmt), True)
print("clean")
"""


def test_kernels_free_of_undefined_behaviour(lib, tmp_path, monkeypatch):
    """Negative values shifted left, shifts by the whole width, the int64 extremes: a build with
    -fsanitize=undefined (aborting on its first report) runs the assignment, add, lookup and chain kernels
    clean."""
    import subprocess
    import sys

    monkeypatch.setattr(native, "cpu_flags", lambda: ["-fsanitize=undefined", "-fno-sanitize-recover=all"])
    try:
        path = native.build(native.SOURCES, tmp_path)
    except OSError as e:  # a compiler without the sanitizer's runtime
        pytest.skip(f"no -fsanitize=undefined build: {e}")
    r = subprocess.run([sys.executable, "-c", _SANITIZED_CALLS, str(path)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and "clean" in r.stdout, r.stderr[-3000:]
