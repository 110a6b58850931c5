"""The fast dense kernels against the C++ k-loop computed one scalar at a time with Python integers.

Covers the per-product type of hls4ml configs (`acc += accum_t(x*w)`: modular kernel), the chunked BLAS
path in float32 and float64, and that the BLAS thread setting of the environment does not change results.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from fxflow.fixed.dense import Tensor, _modular_dtype, dense, plan_dense
from fxflow.fixed.format import FixedFormat
from fxflow.fixed.quantize import requantize_int


def _reference(x, w, b, x_fmt, w_fmt, b_fmt, acc, out, prod):
    """Sequential C++ semantics: acc = bias; acc = accum_t(acc + prod_t(x[k] * w[k])); result = out_t(acc)."""
    pf = x_fmt.f + w_fmt.f
    res = np.empty((x.shape[0], w.shape[1]), dtype=object)
    for r in range(x.shape[0]):
        for n in range(w.shape[1]):
            a = requantize_int(int(b[n]), b_fmt.f, acc)
            for k in range(w.shape[0]):
                p, fp = int(x[r, k]) * int(w[k, n]), pf
                if prod is not None:
                    p, fp = requantize_int(p, pf, prod), prod.f
                f = max(acc.f, fp)
                a = requantize_int((a << (f - acc.f)) + (p << (f - fp)), f, acc)
            res[r, n] = requantize_int(a, acc.f, out)
    return res


def _ints(rng, fmt, shape):
    return rng.integers(fmt.min_int, fmt.max_int + 1, size=shape, dtype=np.int64)


CASES = [  # (x, w, accumulator, product, modular kernel?): hls4ml's default and around every condition
    ("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", True),
    ("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6,AP_RND>", True),
    ("ap_fixed<12,4>", "ap_fixed<10,2>", "ap_fixed<20,6>", "ap_fixed<14,6>", True),  # acc grid finer than prod
    ("ap_fixed<8,4>", "ap_fixed<8,2>", "ap_fixed<24,2>", "ap_fixed<16,2>", True),  # prod grid finer: no rounding
    ("ap_ufixed<10,4>", "ap_fixed<10,2>", "ap_fixed<16,6>", "ap_fixed<16,6>", True),
    ("ap_fixed<24,8>", "ap_fixed<24,8>", "ap_fixed<40,16>", "ap_fixed<40,16>", True),  # needs int64
    ("ap_fixed<16,1>", "ap_fixed<10,2>", "ap_fixed<20,8>", "ap_fixed<18,10>", True),  # s=15: 16-bit, 2 k a block
    ("ap_fixed<20,2>", "ap_fixed<12,1>", "ap_fixed<20,8>", "ap_fixed<20,8,AP_RND>", True),  # s=17: 32-bit lanes
    ("ap_fixed<12,4>", "ap_fixed<10,2>", "ap_fixed<20,8>", "ap_fixed<14,6>", False),  # product wraps narrower
    ("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6,AP_TRN,AP_SAT>", "ap_fixed<16,6>", False),
    ("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<12,6,AP_RND_CONV>", False),
]


@pytest.mark.parametrize("case", CASES)
def test_product_paths_equal_the_sequential_loop(case):
    x_fmt, w_fmt, acc, prod = (FixedFormat.parse(t) for t in case[:4])
    modular = case[4]
    rng = np.random.default_rng(7)
    b_fmt, out = FixedFormat.parse("ap_fixed<16,6>"), FixedFormat.parse("ap_fixed<12,4,AP_RND,AP_SAT>")
    for kk, nn in ((1, 1), (37, 3), (70, 5)):
        x, w, b = _ints(rng, x_fmt, (23, kk)), _ints(rng, w_fmt, (kk, nn)), _ints(rng, b_fmt, (nn,))
        plan = plan_dense(x_fmt, w, w_fmt, b, b_fmt, acc, out, prod)
        assert plan.path == "product" and (plan.mod_dtype is not None) == modular
        got = dense(Tensor(x, x_fmt), plan)
        want = _reference(x, w, b, x_fmt, w_fmt, b_fmt, acc, out, prod)
        assert got.fmt == out
        assert [int(v) for v in got.data.ravel()] == [int(v) for v in want.ravel()], (case, kk, nn, plan.path)


def test_product_kernels_over_row_blocks():
    """Batches larger than one [n, rows] block of the batch-innermost kernels equal the per-k product path."""
    from fxflow.fixed.dense import PRODUCT_CHUNK, _dense_products, _dense_products_modular, _dense_products_split

    f = FixedFormat.parse
    rng = np.random.default_rng(11)
    for x_t, prod in (("ap_fixed<16,6>", f("ap_fixed<16,6>")), ("ap_fixed<16,6>", f("ap_fixed<16,6,AP_RND>")),
                      ("ap_fixed<16,1>", f("ap_fixed<16,6,AP_RND>"))):  # the last: s = 15, 2 k a block
        x_fmt, w_fmt = f(x_t), f("ap_fixed<16,6>")
        acc = w_fmt
        nn = 64
        x, w = _ints(rng, x_fmt, (PRODUCT_CHUNK // nn * 2 + 7, 9)), _ints(rng, w_fmt, (9, nn))
        b = _ints(rng, w_fmt, (nn,))
        plan = plan_dense(x_fmt, w, w_fmt, b, w_fmt, acc, acc, prod)
        assert plan.mod_dtype is not None and plan.low_dtype is np.uint16
        want = np.asarray(_dense_products(x, plan))
        assert np.array_equal(_dense_products_split(x, plan), want)
        assert np.array_equal(_dense_products_modular(x, plan), want)


def test_product_kernel_choice():
    """The split kernel (a float product minus the dropped low bits) when the exact sum fits a float64 and
    the shift 32 bits; the modular kernel otherwise."""
    f = FixedFormat.parse
    w = np.full((70, 3), -(2**15), dtype=np.int64)
    b = np.zeros(3, dtype=np.int64)

    def kernel(x_t, prod):
        plan = plan_dense(f(x_t), w, f("ap_fixed<16,6>"), b, f("ap_fixed<16,6>"), f(prod), f(prod), f(prod))
        return plan.low_dtype, plan.mod_dtype

    assert kernel("ap_fixed<16,6>", "ap_fixed<16,6>") == (np.uint16, np.int32)  # s = 10
    assert kernel("ap_fixed<16,6>", "ap_fixed<20,10>") == (np.uint16, np.int32)  # s = 10
    assert kernel("ap_fixed<30,2>", "ap_fixed<30,10>") == (np.uint32, np.int64)  # s = 18
    assert kernel("ap_fixed<40,20>", "ap_fixed<40,20>") == (None, np.int64)  # sums reach 2^53


def test_modular_dtype_choice():
    f = FixedFormat.parse
    assert _modular_dtype(f("ap_fixed<16,6>"), f("ap_fixed<16,6>"), 20) is np.int32
    assert _modular_dtype(f("ap_fixed<40,16>"), f("ap_fixed<40,16>"), 32) is np.int64
    assert _modular_dtype(f("ap_fixed<16,6>"), f("ap_fixed<16,6,AP_TRN,AP_SAT>"), 20) is None  # saturates
    assert _modular_dtype(f("ap_fixed<12,6,AP_RND_CONV>"), f("ap_fixed<16,6>"), 20) is None  # rounding mode
    assert _modular_dtype(f("ap_fixed<16,4>"), f("ap_fixed<16,6>"), 20) is None  # product wraps narrower


@pytest.mark.parametrize("x_t,w_t", [("ap_fixed<8,3>", "ap_fixed<6,1>"), ("ap_fixed<16,6>", "ap_fixed<16,6>")])
def test_blas_path_in_chunks(x_t, w_t):
    """float32 when every sum stays below 2^24, float64 otherwise; rows chunked: same integers as int64."""
    x_fmt, w_fmt = FixedFormat.parse(x_t), FixedFormat.parse(w_t)
    acc = FixedFormat.parse("ap_fixed<48,20>")
    rng = np.random.default_rng(3)
    x, w, b = _ints(rng, x_fmt, (1300, 40)), _ints(rng, w_fmt, (40, 33)), _ints(rng, w_fmt, (33,))
    plan = plan_dense(x_fmt, w, w_fmt, b, w_fmt, acc, acc)
    assert plan.path == "blas"
    assert plan.w_float.dtype == (np.float32 if plan.sum_bound < 2**24 else np.float64)
    got = dense(Tensor(x, x_fmt), plan).data
    shift = acc.f - x_fmt.f - w_fmt.f
    want = ((x @ w) << shift) + (b << (acc.f - w_fmt.f))
    assert np.array_equal(got, want)


@pytest.mark.parametrize("acc_t", ["ap_fixed<90,20>", "ap_fixed<86,20,AP_TRN,AP_SAT>"])
def test_split_path_equals_the_loop(acc_t):
    """Sums wider than int64 (32-bit activations times 40-bit weights): int64 products with the weights'
    digits, exactly the sequential loop's integers."""
    x_fmt, w_fmt = FixedFormat.parse("ap_fixed<32,4>"), FixedFormat.parse("ap_fixed<40,2>")
    acc = FixedFormat.parse(acc_t)
    rng = np.random.default_rng(7)
    x, w, b = _ints(rng, x_fmt, (9, 12)), _ints(rng, w_fmt, (12, 5)), _ints(rng, w_fmt, (5,))
    out = FixedFormat.parse("ap_fixed<24,8,AP_RND_CONV,AP_SAT>")
    plan = plan_dense(x_fmt, w, w_fmt, b, w_fmt, acc, out)
    assert plan.path == "split"
    got = dense(Tensor(x, x_fmt), plan).data
    want = _reference(x, w, b, x_fmt, w_fmt, w_fmt, acc, out, None)
    assert [int(v) for v in np.asarray(got).ravel()] == [int(v) for v in want.ravel()]


def test_results_do_not_depend_on_blas_threads():
    code = ("import numpy as np; from fxflow.fixed.dense import Tensor, dense, plan_dense; "
            "from fxflow.fixed.format import FixedFormat as F; f = F.parse('ap_fixed<16,6>'); "
            "r = np.random.default_rng(1); x = r.integers(-2**15, 2**15, (5000, 64)); "
            "w = r.integers(-2**15, 2**15, (64, 32)); b = np.zeros(32, dtype=np.int64); "
            "a = F.parse('ap_fixed<40,20>'); p = plan_dense(f, w, f, b, f, a, f); "
            "q = plan_dense(f, w, f, b, f, f, f, f); "
            "print(int(dense(Tensor(x, f), p).data.sum()), int(dense(Tensor(x, f), q).data.sum()))")
    outs = set()
    for threads in ("1", "2"):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads)
        outs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                check=True).stdout)
    assert len(outs) == 1


def test_predict_threads_give_the_same_integers(monkeypatch):
    import fxflow
    from fxflow.emulator import CHUNK
    from fxflow.errors import FxflowError
    from fxflow.examples import jet_tagger

    x = jet_tagger.make_inputs(2 * CHUNK + 5)
    design = fxflow.compile(jet_tagger.make_model(), x[:1], config={"model": {"precision": "ap_fixed<16,6>"}})
    one = design.predict(x, raw=True, threads=1)
    monkeypatch.setattr("fxflow.emulator.idle_cores", lambda: 8)  # the threads asked for, whatever the load
    assert np.array_equal(design.predict(x, raw=True, threads=3), one)
    monkeypatch.setenv("FXFLOW_THREADS", "2")
    assert np.array_equal(design.predict(x, raw=True), one)
    monkeypatch.setenv("FXFLOW_THREADS", "two")
    with pytest.raises(FxflowError, match="FXFLOW_THREADS must be a positive integer, got 'two'"):
        design.predict(x[:3])
    with pytest.raises(FxflowError, match="predict threads must be a positive integer, got 0"):
        design.predict(x[:3], threads=0)
    with pytest.raises(FxflowError, match="predict threads must be a positive integer, got '2'"):
        design.predict(x[:3], threads="2")


def test_predict_threads_leave_busy_cores(monkeypatch):
    """Worker processes only on cores other work leaves idle (oversubscribed cores make each share slower)."""
    from fxflow import emulator

    monkeypatch.setattr(emulator.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    for load, idle in ((0.2, 2), (1.0, 2), (2.0, 1), (9.5, 1)):
        monkeypatch.setattr(emulator.os, "getloadavg", lambda load=load: (load, load, load))
        assert emulator.idle_cores() == idle
    shares = []
    parallel = emulator.workers.run_parallel
    monkeypatch.setattr(emulator.workers, "run_parallel",
                        lambda p, xs, n, serial: shares.append(n) or parallel(p, xs, n, serial))
    x = np.zeros((3 * emulator.CHUNK, 16))
    import fxflow
    from fxflow.examples import jet_tagger

    design = fxflow.compile(jet_tagger.make_model(), x[:1], config={"model": {"precision": "ap_fixed<16,6>"}})
    design.predict(x, threads=2)  # load 9.5: one share, no workers
    monkeypatch.setattr(emulator.os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    design.predict(x, threads=2)
    assert shares == [2]


CHAIN_CASES = [  # (x, w, acc, prod, out, relu format, a cast after it or None)
    ("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<37,17>", None, "ap_fixed<16,6>", "ap_fixed<16,6>", None),
    ("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>",
     None),  # hls4ml's config: per-product truncation, wrapping accumulator
    ("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6,AP_RND>", "ap_fixed<12,4,AP_RND,AP_SAT>",
     "ap_ufixed<10,3,AP_RND_CONV,AP_SAT>", "ap_fixed<8,3,AP_TRN_ZERO,AP_SAT_SYM>"),
    ("ap_fixed<8,3>", "ap_fixed<6,1>", "ap_fixed<14,4>", None, "ap_fixed<8,3,AP_RND_ZERO,AP_SAT_ZERO>",
     "ap_fixed<8,3,AP_RND_INF>", None),  # float32 sums, a wrapping accumulator that may overflow
    ("ap_fixed<10,4>", "ap_fixed<8,2>", "ap_fixed<24,8,AP_TRN,AP_SAT>", None, "ap_fixed<10,4,AP_RND_MIN_INF>",
     "ap_fixed<10,4>", "ap_fixed<12,2>"),
]


@pytest.mark.parametrize("case", CHAIN_CASES)
def test_dense_chain_equals_the_steps(case):
    """A fused chain (dense, relu, cast, dense, relu, dense) gives the integers of the steps one by one, over
    several row blocks, for every path it takes and casts in every rounding / overflow mode."""
    from fxflow.fixed.chain import DenseChain, chainable
    from fxflow.fixed.dense import cast, relu

    x_fmt, w_fmt, acc, prod, out, rf = (FixedFormat.parse(t) if t else None for t in case[:6])
    cf = FixedFormat.parse(case[6]) if case[6] else None
    rng = np.random.default_rng(3)
    ops, fmt = [], x_fmt
    for kk, nn in ((7, 12), (12, 9), (9, 3)):
        w = _ints(rng, w_fmt, (kk, nn))
        b = _ints(rng, w_fmt, (nn,))
        plan = plan_dense(fmt, w, w_fmt, b, w_fmt, acc, out, prod)
        assert chainable(plan), plan.path
        ops += [("dense", plan), ("relu", rf)] + ([("cast", cf)] if cf else [])
        fmt = cf or rf
    ops = ops[:-2 if cf else -1]  # the chain ends with the last dense layer
    x = Tensor(_ints(rng, x_fmt, (1300, 7)), x_fmt)
    ref = x
    for kind, arg in ops:
        ref = dense(ref, arg) if kind == "dense" else relu(ref, arg) if kind == "relu" else cast(ref, arg)
    chain = DenseChain(ops)
    chain.rows = 512  # several row blocks, the last one partial
    got = chain(x)
    assert got.fmt == ref.fmt and np.array_equal(got.data, ref.data)


def test_predict_fuses_dense_chains():
    """predict runs the jet MLP as one fused step in both configs, with the integers of the unfused steps."""
    import fxflow
    from fxflow.examples import jet_tagger

    model = jet_tagger.make_model()
    x = jet_tagger.make_inputs(3000)
    prod = {"Precision": {"default": "ap_fixed<16,6>"}}
    for cfg in ({"model": {"precision": "ap_fixed<16,6>"}}, {"Model": prod}):
        design = fxflow.compile(model, x[:1], config=cfg)
        y = design.predict(x, raw=True)
        program = design.program
        assert len(program._fused[0]) == 1  # one DenseChain step
        program._fused = (program.steps, program.outputs)
        assert np.array_equal(design.predict(x, raw=True), y)


def test_dense_chain_over_tokens():
    """Linear, ReLU, Linear over [batch, tokens, features]: one fused step over the batch x token rows."""
    import torch

    import fxflow

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)).eval()
    x = np.random.default_rng(0).normal(0, 2, size=(300, 5, 8))
    design = fxflow.compile(model, x[:1], config={"model": {"precision": "ap_fixed<10,4>"}})
    y = design.predict(x, raw=True)
    program = design.program
    assert len(program._fused[0]) == 1
    program._fused = (program.steps, program.outputs)
    assert y.shape == (300, 5, 4) and np.array_equal(design.predict(x, raw=True), y)



def test_transformer_steps_hand_on_transposed_views():
    """The transformer example: its chains before adds and LayerNorms, the adds and the LayerNorms hand on
    transposed views (fxflow.fixed.layout); predict equals the unfused steps (row-major chains) bit for bit
    and returns row-major arrays."""
    import fxflow
    from fxflow.examples import load

    ex = load("transformer")
    x = ex.make_inputs(300) * np.array([1.0, 4.0, 4.0, 1.0])  # wider inputs: some wraps and saturations
    design = fxflow.compile(ex.make_model(), x[:1], config=ex.DEFAULT_CONFIG)
    program = design.program
    y = design.predict(x, raw=True)
    views = [fn for fn, _, _ in program._fused[0] if getattr(fn, "rows", 0)]
    assert views and y.flags.c_contiguous
    program._fused = (program.steps, program.outputs)
    assert np.array_equal(design.predict(x, raw=True), y)


def _fmt(draw, max_w: int, modes=None):
    from hypothesis import strategies as st

    from fxflow.fixed.format import OVERFLOW_MODES, ROUNDING_MODES

    k, w = draw(st.integers(0, 1)), draw(st.integers(2, max_w))
    f = draw(st.integers(-2, w + 2))
    q, o = modes or (draw(st.sampled_from(ROUNDING_MODES)), draw(st.sampled_from(OVERFLOW_MODES)))
    return FixedFormat(k, w - k - f, f, q, o)


def _chain_formats():
    """(x, w, acc, prod, out, relu) of hls4ml-style layers: half of them meet the per-product kernel's
    conditions (wrapping TRN/RND products with the accumulator's integer bits or more, a wrapping accumulator
    on a grid as fine), the rest anything."""
    from hypothesis import strategies as st

    @st.composite
    def build(draw):
        x, w, out, rf = (_fmt(draw, 16) for _ in range(4))
        if draw(st.booleans()):
            acc = _fmt(draw, 24, ("TRN", "WRAP"))
            pf = draw(st.integers(acc.f - 4, acc.f))
            extra = max(draw(st.integers(0, 6)), 1 - acc.k - acc.i - pf)
            prod = FixedFormat(acc.k, acc.i + extra, pf, draw(st.sampled_from(["TRN", "RND"])), "WRAP")
        else:
            acc, prod = _fmt(draw, 24), _fmt(draw, 24)
        return x, w, acc, prod, out, rf

    return build()


def test_dense_chain_matches_the_scalar_loop_on_random_formats():
    """Property: for random hls4ml-style formats, two dense layers with a ReLU between them give the scalar C++
    loop's integers through `dense` always, and through the fused DenseChain whenever `chainable` admits both
    layers; a per-product type the kernels cannot absorb (saturating or narrower products, other rounding
    modes, a coarser accumulator) is never admitted."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from fxflow.fixed.chain import DenseChain, chainable

    @settings(max_examples=150, deadline=None)
    @given(_chain_formats(), st.integers(1, 9), st.integers(1, 6), st.integers(0, 2**32 - 1))
    def check(fmts, kk, nn, seed):
        x_fmt, w_fmt, acc, prod, out, rf = fmts
        rng = np.random.default_rng(seed)
        x = _ints(rng, x_fmt, (37, kk))
        ops, cur, fmt = [], x, x_fmt
        for k, n, last in ((kk, nn, False), (nn, 3, True)):
            w, b = _ints(rng, w_fmt, (k, n)), _ints(rng, w_fmt, (n,))
            plan = plan_dense(fmt, w, w_fmt, b, w_fmt, acc, out, prod)
            if plan.path == "product" and _modular_dtype(prod, acc, fmt.f + w_fmt.f) is None:
                assert not chainable(plan)
            want = _reference(cur, w, b, fmt, w_fmt, w_fmt, acc, out, prod)
            got = dense(Tensor(np.asarray(cur, dtype=np.int64), fmt), plan)
            assert [int(v) for v in np.asarray(got.data).ravel()] == [int(v) for v in want.ravel()]
            ops.append(("dense", plan))
            cur, fmt = want, out
            if not last:
                cur = np.array([[requantize_int(max(int(v), 0), out.f, rf) for v in row] for row in want])
                ops.append(("relu", rf))
                fmt = rf
        if all(chainable(arg) for kind, arg in ops if kind == "dense"):
            got = DenseChain(ops)(Tensor(x, x_fmt))
            assert got.fmt == out and [int(v) for v in got.data.ravel()] == [int(v) for v in cur.ravel()]

    check()


def test_dense_chain_folded_rounding_on_random_formats():
    """The chain's first assignment folded into the float64 product (`_fold_rounding`: a TRN / RND shift read
    off the product + 1.5 * 2^52) gives the integers of the unfused steps on random formats, every overflow
    mode and result widths up to 60 bits (the wrap without the subtraction only up to 51), sums near the
    2^53 limit included; some examples take the fold (float64 sums whose first assignment is a right shift)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from fxflow.fixed.chain import DenseChain, chainable
    from fxflow.fixed.dense import cast, relu
    from fxflow.fixed.format import OVERFLOW_MODES

    folded = []

    @settings(max_examples=200, deadline=None)
    @given(st.data(), st.integers(1, 9), st.integers(1, 6), st.integers(0, 2**32 - 1))
    def check(data, kk, nn, seed):
        x_fmt, w_fmt = (_fmt(data.draw, data.draw(st.integers(8, 26))) for _ in range(2))
        modes = (data.draw(st.sampled_from(["TRN", "RND"])), data.draw(st.sampled_from(OVERFLOW_MODES)))
        acc = _fmt(data.draw, data.draw(st.integers(20, 60)), ("TRN", data.draw(st.sampled_from(["WRAP", "SAT"]))))
        out = _fmt(data.draw, data.draw(st.integers(2, 60)), modes)
        rf = _fmt(data.draw, data.draw(st.integers(2, 24)))
        rng = np.random.default_rng(seed)
        x = Tensor(_ints(rng, x_fmt, (41, kk)), x_fmt)
        ops, fmt = [], x_fmt
        for k, n, last in ((kk, nn, False), (nn, 3, True)):
            w, b = _ints(rng, w_fmt, (k, n)), _ints(rng, w_fmt, (n,))
            plan = plan_dense(fmt, w, w_fmt, b, w_fmt, acc, out)
            if not chainable(plan):
                return
            ops.append(("dense", plan))
            if not last:
                ops.append(("relu", rf))
                fmt = rf
        want = x
        for kind, arg in ops:
            want = dense(want, arg) if kind == "dense" else relu(want, arg) if kind == "relu" else cast(want, arg)
        chain = DenseChain(ops)
        folded.append(any(s.rounded is not None for s in chain.stages))
        got = chain(x)
        assert got.fmt == want.fmt and np.array_equal(got.data, want.data)

    check()
    assert sum(folded) >= 3
