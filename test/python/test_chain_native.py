"""The native fused dense chains (emulator/kernels/chain.cpp through emulator/chain_kernel.py): equal bit for bit
to the NumPy chain (fixed/chain.py `DenseChain`) and to the unfused steps on random chains (2-4 dense layers,
ReLUs and casts between them in every rounding / overflow mode, signed and unsigned, up to 62 bits; inputs and
outputs in either layout), on the transformer example and the jet MLP, with the AVX2 build and the baseline one;
the NumPy chain when FXFLOW_NATIVE=0; only plain exact chains routed to it."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fxflow.emulator.chain_kernel as chain_kernel
from fxflow.emulator import native
from fxflow.fixed.chain import DenseChain, chainable, native_route
from fxflow.fixed.dense import Tensor, cast, dense, plan_dense, relu
from fxflow.fixed.format import OVERFLOW_MODES, ROUNDING_MODES, FixedFormat

_NATIVE_CHAIN = chain_kernel.native_chain
_NATIVE_USE: list = []  # per example of the hypothesis test: whether the native kernel ran
_INT64_USE: list = []  # per example of the int64 test: whether the kernel ran with int64 sums


def _fmt(draw, widths, modes=None) -> FixedFormat:
    k, w = draw(st.integers(0, 1)), draw(st.integers(*widths))
    f = draw(st.integers(-2, w + 2))
    q, o = modes or (draw(st.sampled_from(ROUNDING_MODES)), draw(st.sampled_from(OVERFLOW_MODES)))
    return FixedFormat(k, w - k - f, f, q, o)


def _ints(rng, fmt: FixedFormat, shape) -> np.ndarray:
    """Stored integers of `fmt`, a quarter of them its extremes."""
    x = rng.integers(fmt.min_int, fmt.max_int + 1, size=shape, dtype=np.int64)
    edge = rng.random(shape) < 0.25
    return np.where(edge, np.where(rng.random(shape) < 0.5, fmt.min_int, fmt.max_int), x)


@st.composite
def _chains(draw):
    """(ops, x format, seed): 2-4 dense layers of widths 1-20 on random formats (accumulators on the products'
    grid, wrapping or saturating), ReLUs and casts up to 62 bits between them, the last one before a dense
    layer narrow enough for its sums to stay exact."""
    widths = [draw(st.integers(1, 20)) for _ in range(draw(st.integers(2, 4)) + 1)]
    x_fmt = _fmt(draw, (2, 20))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ops, fmt = [], x_fmt
    for i, (kk, nn) in enumerate(zip(widths, widths[1:])):
        w_fmt, b_fmt = _fmt(draw, (2, 16)), _fmt(draw, (2, 24))
        pf = fmt.f + w_fmt.f
        acc_f, acc_k = pf + draw(st.integers(0, 4)), draw(st.integers(0, 1))
        acc_i = draw(st.integers(max(1 - acc_k - acc_f, -4), max(1 - acc_k - acc_f, min(24, 62 - acc_k - acc_f))))
        acc = FixedFormat(acc_k, acc_i, acc_f, draw(st.sampled_from(ROUNDING_MODES)),
                          draw(st.sampled_from(["WRAP"] * 9 + ["SAT"])))
        out = _fmt(draw, (2, 62))
        plan = plan_dense(fmt, _ints(rng, w_fmt, (kk, nn)), w_fmt, _ints(rng, b_fmt, (nn,)), b_fmt, acc, out)
        ops.append(("dense", plan))
        fmt = out
        if i + 1 < len(widths) - 1:
            for _ in range(draw(st.integers(0, 3))):
                fmt = _fmt(draw, (2, 62))
                ops.append((draw(st.sampled_from(["relu", "cast"])), fmt))
            if fmt.width > 20 or draw(st.booleans()):
                fmt = _fmt(draw, (2, 20))
                ops.append(("cast", fmt))
    return ops, x_fmt, draw(st.integers(0, 2**32 - 1))


def _steps(x: Tensor, ops) -> Tensor:
    for kind, arg in ops:
        x = dense(x, arg) if kind == "dense" else relu(x, arg) if kind == "relu" else cast(x, arg)
    return x


def _spy_factory(ran: list, lib=None):
    """native_chain whose runners record whether they ran (with `lib`: that build instead of the cached one)."""
    def factory(stages):
        run = _NATIVE_CHAIN(stages)
        if run is None:
            return None

        def spy(x, out):
            if lib is None:
                done = run(x, out)
            else:
                real = native.library
                native.library = lambda: lib
                try:
                    done = run(x, out)
                finally:
                    native.library = real
            ran.append(done)
            return done

        return spy

    return factory


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_chains(), st.integers(1, 700), st.booleans(), st.booleans())
def test_native_chain_equals_numpy_chain_and_steps(chain, rows, x_transposed, out_transposed):
    """Random chains on row blocks of every size (the last one partial), the input row-major or a transposed
    view, the result row-major or the transposed view."""
    ops, x_fmt, seed = chain
    if not all(chainable(arg) for kind, arg in ops if kind == "dense"):
        _NATIVE_USE.append(False)
        return
    data = _ints(np.random.default_rng(seed), x_fmt, (rows, ops[0][1].w.shape[0]))
    if x_transposed:
        data = np.ascontiguousarray(data.T).T
    x = Tensor(data, x_fmt)
    ran: list = []
    got = DenseChain(ops, _spy_factory(ran))(x, out_transposed)
    numpy_chain = DenseChain(ops)(x, out_transposed)
    want = _steps(x, ops)
    assert got.fmt == numpy_chain.fmt == want.fmt
    assert np.array_equal(got.data, numpy_chain.data) and np.array_equal(got.data, want.data)
    _NATIVE_USE.append(any(ran))


BIG = ("ap_fixed<24,6>", "ap_fixed<22,2>", "ap_fixed<60,16>")  # x, w, acc: sums of 2^51 and more


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(3, 10), min_size=3, max_size=4), st.data(), st.integers(1, 300), st.booleans())
def test_native_int64_sums_equal_numpy_chain_and_steps(widths, data, rows, out_transposed):
    """Chains whose sums reach 2^51 and beyond (the kernel's int64 sums): random result, ReLU and cast formats
    in every mode between the layers, back to the wide input format before each layer."""
    x_fmt, w_fmt, acc = map(FixedFormat.parse, BIG)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    ops, fmt = [], x_fmt
    for i, (kk, nn) in enumerate(zip(widths, widths[1:])):
        out = _fmt(data.draw, (2, 62))
        ops.append(("dense", plan_dense(fmt, _ints(rng, w_fmt, (kk, nn)), w_fmt, _ints(rng, w_fmt, (nn,)), w_fmt,
                                        acc, out)))
        if i + 2 < len(widths):
            ops.append((data.draw(st.sampled_from(["relu", "cast"])), _fmt(data.draw, (2, 62))))
            fmt = FixedFormat(1, 5, 18, data.draw(st.sampled_from(ROUNDING_MODES)),
                              data.draw(st.sampled_from(OVERFLOW_MODES)))
            ops.append(("cast", fmt))
    if not all(chainable(arg) for kind, arg in ops if kind == "dense"):
        _INT64_USE.append(False)
        return
    x = Tensor(_ints(rng, x_fmt, (rows, widths[0])), x_fmt)
    ran: list = []
    chain = DenseChain(ops, _spy_factory(ran))
    got = chain(x, out_transposed)
    assert np.array_equal(got.data, DenseChain(ops)(x).data) and np.array_equal(got.data, _steps(x, ops).data)
    route = native_route(chain.stages)
    _INT64_USE.append(any(ran) and any(e.mode == "int64" for e in route))


def test_native_chain_ran_in_most_examples():
    """Else the test above would compare the NumPy chain with itself."""
    if _NATIVE_USE:
        assert sum(_NATIVE_USE) >= 2 * len(_NATIVE_USE) // 3, (sum(_NATIVE_USE), len(_NATIVE_USE))
    if _INT64_USE:
        # (about half of those chains are beyond the exact bound 2^53 and stay on NumPy: a quarter is no fluke)
        assert sum(_INT64_USE) >= len(_INT64_USE) // 4, (sum(_INT64_USE), len(_INT64_USE))


def _chain(rng, k0=7, widths=(12, 9), formats=("ap_fixed<10,4>", "ap_fixed<8,2>", "ap_fixed<30,10>",
                                                "ap_fixed<10,4,AP_RND,AP_SAT>"), prod=None):
    x_fmt, w_fmt, acc, out = map(FixedFormat.parse, formats)
    ops, kk = [], k0
    for i, nn in enumerate(widths):
        plan = plan_dense(x_fmt if i == 0 else out, _ints(rng, w_fmt, (kk, nn)), w_fmt, _ints(rng, w_fmt, (nn,)),
                          w_fmt, acc, out, prod)
        ops += [("dense", plan), ("relu", out)]
        kk = nn
    return ops[:-1], x_fmt


def test_numpy_chain_when_switched_off(monkeypatch):
    rng = np.random.default_rng(1)
    ops, x_fmt = _chain(rng)
    x = Tensor(_ints(rng, x_fmt, (999, 7)), x_fmt)
    ran: list = []
    chain = DenseChain(ops, _spy_factory(ran))
    monkeypatch.setenv("FXFLOW_NATIVE", "0")
    assert native.library() is None
    got = chain(x)
    monkeypatch.setenv("FXFLOW_NATIVE", "1")
    assert ran == [False] and np.array_equal(got.data, chain(x).data) and ran == [False, True]
    assert np.array_equal(got.data, _steps(x, ops).data)


def test_only_plain_exact_narrow_chains_are_routed():
    """Per-product kernels ("product" with low bits), layers wider than NATIVE_MAX_WIDTH, and int64 sums (sums or
    inputs of 2^51 or more) wider than NATIVE_INT64_MAX_WIDTH stay on the NumPy path (measured faster there)."""
    from fxflow.fixed import chain as fixed_chain

    rng = np.random.default_rng(2)
    assert native_route(DenseChain(_chain(rng)[0]).stages) is not None
    hls4ml = ("ap_fixed<16,6>",) * 4  # hls4ml's per-product truncation, wrapping accumulator
    products, _ = _chain(rng, formats=hls4ml, prod=FixedFormat.parse("ap_fixed<16,6>"))
    assert any(st.lowbits for st in DenseChain(products).stages) and native_route(DenseChain(products).stages) is None
    wide = fixed_chain.NATIVE_MAX_WIDTH + 1
    assert native_route(DenseChain(_chain(rng, widths=(wide, 5))[0]).stages) is None
    big = ("ap_fixed<24,6>", "ap_fixed<22,2>", "ap_fixed<60,14>", "ap_fixed<24,6,AP_RND,AP_SAT>")
    for width, routed in ((fixed_chain.NATIVE_INT64_MAX_WIDTH, True), (fixed_chain.NATIVE_INT64_MAX_WIDTH + 1, False)):
        route = native_route(DenseChain(_chain(rng, 5, (width, 3), formats=big)[0]).stages)
        assert (route is not None) == routed and (not routed or {e.mode for e in route} == {"int64"})


def test_baseline_build_without_avx2_equals_too(monkeypatch, tmp_path):
    """The build for CPUs without AVX2 / FMA: the same bits."""
    monkeypatch.setattr(native, "cpu_flags", lambda: [])
    lib = ctypes.CDLL(str(native.build(native.SOURCES, tmp_path)))
    native._declare(lib)
    rng = np.random.default_rng(3)
    big = ("ap_fixed<24,6>", "ap_fixed<22,2>", "ap_fixed<60,14>", "ap_fixed<24,6,AP_RND,AP_SAT>")  # int64 sums
    for k0, widths, formats in ((7, (12, 9), None), (3, (1, 20, 2), None), (20, (17,), None), (9, (13, 4), big)):
        ops, x_fmt = _chain(rng, k0, widths, *([formats] if formats else []))
        x = Tensor(_ints(rng, x_fmt, (517, k0)), x_fmt)
        ran: list = []
        got = DenseChain(ops, _spy_factory(ran, lib))(x, True)
        assert ran == [True] and np.array_equal(got.data, DenseChain(ops)(x).data)


def _predict_three_ways(design, x, monkeypatch):
    """predict through the native chains (and how many chains ran natively), the NumPy chains, the unfused steps."""
    ran: list = []
    monkeypatch.setattr(chain_kernel, "native_chain", _spy_factory(ran))
    design.program._fused = None
    y_native = design.predict(x, raw=True)
    runs = sum(ran)
    monkeypatch.setenv("FXFLOW_NATIVE", "0")
    y_numpy = design.predict(x, raw=True)
    monkeypatch.setenv("FXFLOW_NATIVE", "1")
    program = design.program
    fused = program._fused
    program._fused = (program.steps, program.outputs)
    y_steps = design.predict(x, raw=True)
    program._fused = fused
    return y_native, y_numpy, y_steps, runs


def test_transformer_native_chains_equal_numpy_and_steps(monkeypatch):
    import fxflow
    from fxflow.examples import load

    ex = load("transformer")
    x = ex.make_inputs(700) * np.array([1.0, 4.0, 4.0, 1.0])  # wider inputs: some wraps and saturations
    design = fxflow.compile(ex.make_model(), x[:1], config=ex.DEFAULT_CONFIG)
    y_native, y_numpy, y_steps, runs = _predict_three_ways(design, x, monkeypatch)
    assert runs >= 13
    assert np.array_equal(y_native, y_numpy) and np.array_equal(y_native, y_steps)


@pytest.mark.parametrize("config", [{"model": {"precision": "ap_fixed<16,6>"}},
                                    {"Model": {"Precision": {"default": "ap_fixed<16,6>"}}}])
def test_jet_mlp_native_chains_equal_numpy_and_steps(monkeypatch, config):
    import fxflow
    from fxflow.examples import jet_tagger

    x = jet_tagger.make_inputs(3001)
    design = fxflow.compile(jet_tagger.make_model(), x[:1], config=config)
    y_native, y_numpy, y_steps, _ = _predict_three_ways(design, x, monkeypatch)
    assert np.array_equal(y_native, y_numpy) and np.array_equal(y_native, y_steps)


def _run_three_ways(ops, x: Tensor, out_transposed: bool = False):
    """(native chain, NumPy chain, unfused steps) on x, and whether the native kernel ran."""
    ran: list = []
    got = DenseChain(ops, _spy_factory(ran))(x, out_transposed)
    return got, DenseChain(ops)(x, out_transposed), _steps(x, ops), any(ran)


def test_sums_and_inputs_at_the_float64_limits():
    """Inputs of 50 to 52 bits at their extremes, weights of +-1 whose sums reach 2^51 and 1.5 * 2^52: float64 sums
    just below 2^51 (the rounding folded in, every mode and shift up to 52), int64 sums from there on; each
    result format in every mode."""
    rng = np.random.default_rng(11)
    w_fmt, modes = FixedFormat(1, 1, 0), set()
    for k, width in ((1, 51), (0, 51), (1, 52), (0, 50)):
        x_fmt = FixedFormat(k, width - k - 3, 3)
        ends = [x_fmt.min_int, x_fmt.max_int, x_fmt.min_int + 1, x_fmt.max_int - 1, 0, 1, -1]
        for weights in ([1], [-1], [1, 1], [1, -1], [-1, -1, 1]):
            kk = len(weights)
            ends_k = np.array(np.meshgrid(*[ends] * kk)).reshape(kk, -1).T
            x = Tensor(np.clip(ends_k, x_fmt.min_int, x_fmt.max_int), x_fmt)
            w = np.repeat(np.array(weights).reshape(kk, 1), 3, axis=1)
            for shift in (0, 1, 2, 30, 51, 52):
                for rounding, overflow in zip(ROUNDING_MODES, [*OVERFLOW_MODES] * 2):
                    signed, f = int(rng.integers(0, 2)), 3 - shift
                    out = FixedFormat(signed, int(rng.integers(1, 30)) - signed - f, f, rounding, overflow)
                    plan = plan_dense(x_fmt, w, w_fmt, np.array([0, 1, -1]), w_fmt, FixedFormat(1, 58, 3), out)
                    ops = [("dense", plan)] + [("relu", out)] * int(rng.random() < 0.3)
                    if not chainable(plan):
                        continue
                    got, numpy_chain, steps, ran = _run_three_ways(ops, x)
                    assert np.array_equal(got.data, numpy_chain.data) and np.array_equal(got.data, steps.data)
                    route = native_route(DenseChain(ops).stages)
                    modes.add((route[0].mode, DenseChain(ops).stages[0].rounded) if ran else None)
    assert {("float64", None), ("float64", True), ("float64", False), ("int64", None)} <= modes, modes


def _odd_layouts(a: np.ndarray):
    """Views equal to `a`: slices with steps, negative strides, broadcasts (zero strides)."""
    spaced = np.zeros((2 * a.shape[0], 3 * a.shape[1]), dtype=a.dtype)
    spaced[::2, ::3] = a
    yield spaced[::2, ::3]
    yield np.ascontiguousarray(a[::-1])[::-1]
    yield np.ascontiguousarray(a[::-1, ::-1])[::-1, ::-1]
    yield np.ascontiguousarray(a.T[::-1]).T[:, ::-1]  # transposed, the features reversed
    if a.size:
        yield np.broadcast_to(a[:1], a.shape)
        yield np.broadcast_to(a[:, :1], a.shape)


@pytest.mark.parametrize("k0, widths", [(1, (1,)), (1, (1, 1)), (1, (256,)), (256, (1,)), (256, (256, 3)),
                                        (3, (256, 200, 256)), (17, (1, 33))])
def test_widths_1_to_256_on_odd_input_layouts(k0, widths):
    """Layers 1 to 256 wide (the native kernel's block sizes from 512 rows down to 16), 0 to 33 rows (empty,
    single and partial blocks), inputs read through steps, negative and zero strides."""
    rng = np.random.default_rng(k0 * 1000 + sum(widths))
    ops, x_fmt = _chain(rng, k0, widths, ("ap_fixed<6,3>", "ap_fixed<4,1>", "ap_fixed<30,12>",
                                          "ap_fixed<6,3,AP_RND_CONV,AP_SAT_SYM>"))
    for rows in (0, 1, 16, 33):
        x0 = _ints(rng, x_fmt, (rows, k0))
        for view in _odd_layouts(x0):
            got, numpy_chain, steps, ran = _run_three_ways(ops, Tensor(view, x_fmt), bool(rows % 2))
            assert ran and np.array_equal(got.data, numpy_chain.data) and np.array_equal(got.data, steps.data)
