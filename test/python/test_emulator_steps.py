"""The emulator's step machinery and small kernels against their plain definitions (hypothesis): a program run
that drops intermediates after their last reader against one that keeps every value, the softmax row maximum
against NumPy's, and a global pool's window rows against the general patch gather."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fxflow.emulator import Program, _identity, last_reads
from fxflow.fixed.dense import Tensor


@st.composite
def programs(draw):
    """A random straight-line program: each step reads 1-3 earlier slots (inputs or results, some twice, some
    through identity steps), the outputs any slots, possibly also read by later steps or repeated."""
    n_in = draw(st.integers(1, 3))
    steps, n = [], n_in
    for j in range(draw(st.integers(0, 12))):
        args = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3))
        if draw(st.booleans()) and len(args) == 1:
            fn = _identity
        else:
            def fn(*ts, c=j):
                return Tensor(sum(t.data for t in ts) * 3 + c, None)
        steps.append((fn, args, n))
        n += 1
    outputs = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4))
    return Program([((2,), None)] * n_in, [((2,), None)] * len(outputs), steps, list(range(n_in)), outputs, n), n_in


@settings(max_examples=200, deadline=None)
@given(programs())
def test_dropping_intermediates_after_their_last_read_changes_no_result(case):
    program, n_in = case
    inputs = [Tensor(np.arange(2, dtype=np.int64) + 10 * i, None) for i in range(n_in)]
    kept: list = []
    ref = program.run(inputs, kept)  # every value kept
    got = program.run(inputs)  # fused, intermediates dropped
    assert [t.data.tolist() for t in got] == [t.data.tolist() for t in ref]
    steps, outputs = program._fused
    release = last_reads(steps, outputs)
    for i, slots in enumerate(release):  # never an output, never read again
        for s in slots:
            assert s not in outputs
            assert all(s not in args for _, args, _ in steps[i + 1:])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.integers(0, 2**30), st.integers(1, 62))
def test_softmax_row_max_is_numpys(shape, seed, bits):
    from fxflow.fixed.softmax import _row_max

    a = np.random.default_rng(seed).integers(-(2**bits), 2**bits, size=shape)
    m = _row_max(a)
    assert m.shape == a.shape[:-1] + (1,) and np.array_equal(m, a.max(axis=-1, keepdims=True))
    assert not np.shares_memory(m, a)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=3), st.integers(1, 3), st.integers(1, 4), st.integers(0, 99))
def test_global_pool_rows_are_the_patch_gather(spatial, channels, batch, seed):
    """With one window over the whole spatial extent (kernel = spatial, no padding, any stride), the patch
    gather's rows per channel are the channel's elements in row-major order: what the pool step reads
    without gathering."""
    from fxflow.fixed.window import patches

    x = np.random.default_rng(seed).integers(-100, 100, size=[batch, channels] + spatial)
    rng = np.random.default_rng(seed + 1)
    strides = [int(v) for v in rng.integers(1, 4, size=len(spatial))]
    rows, out = patches(x, spatial, strides, [1] * len(spatial), [0] * (2 * len(spatial)))
    n = int(np.prod(spatial))
    assert out == [1] * len(spatial)
    assert np.array_equal(rows.reshape(batch, channels, n), x.reshape(batch, channels, n))
