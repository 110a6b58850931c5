"""Consecutive dense layers and the per-tensor casts / ReLUs between them, run as one kernel on a batch.

Step by step, every dense layer converts its input to the BLAS dtype, forms the exact sum in a fresh int64
array, adds the bias, requantizes into another fresh array and the ReLU a third; each of those arrays is
about a megabyte per chunk and page-faults when it is allocated.  A `DenseChain` runs the same arithmetic
on a few flat buffers that all its layers share and that it keeps for its next calls (one set per
concurrent call): the layer input is written once into a float buffer whose last column is 1,
so the bias (on the accumulator's grid) is one more row of the weight matrix and the BLAS product yields
the accumulator directly; the casts are `requantize_into` on two int64 buffers.  It takes the exact paths
of `plan_dense` only ("blas", and "product" with `low_dtype`: the exact sum minus the dropped low bits), where
the bias row keeps every partial sum below 2^53 (2^24 for float32), so the result is the one `dense` gives.

A chain of plain exact layers (path "blas" only) can run in native code instead: `DenseChain(ops, native)` hands
the chain as `ExactStage`s (weights and bias row, the assignments in order, int64 or float64 sums) to the
`native` factory (the emulator's kernels/chain.cpp binding) when `native_route` admits it, and calls the
runner it returns; the NumPy path stays for every other chain, and when the runner declines a call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .dense import DensePlan, Tensor, matmul_cols_into, max_abs_int, subtract_low_bits_block
from .format import FixedFormat
from .quantize import MAX_INT64_WIDTH, Workspace, requantize_into

# samples per pass through the chain: every buffer of a 64-wide layer stays in L2; the per-product kernel
# (one NumPy call per k over [n, rows] blocks) needs longer rows to amortize its calls
ROWS, LOWBITS_ROWS = 512, 4096
# elements per row block of the widest buffer: narrower layers (a transformer's token rows, 8-16 features)
# run proportionally more rows per pass, up to MAX_BLOCK_ROWS, so the per-pass NumPy calls stay amortized
BLOCK_ELEMENTS, MAX_BLOCK_ROWS = ROWS * 64, 8192


@dataclass
class _Stage:
    """One dense layer and the elementwise steps after it."""

    plan: DensePlan
    w_aug_t: np.ndarray  # [N, K + 1]: the weights on the accumulator's grid, then the bias, transposed
    f_sum: int  # fractional bits of the BLAS result
    requant: list  # [(relu?, f_from, fmt | None)] applied in order to the int64 result
    lowbits: tuple | None = None  # (s, h, wl) for the per-product path
    rounded: bool | None = None  # the BLAS yields the first assignment's rounded integers (`_fold_rounding`);
    # True: their bit pattern still carries MAGIC_BITS (a wrapping format of at most 51 bits ignores it)


MAGIC = 1.5 * 2.0**52  # z + MAGIC, for |z| < 2^51, is the float64 whose low 52 bits hold 2^51 + rint(z)
MAGIC_BITS = int(np.float64(MAGIC).view(np.int64))


def _fold_rounding(st: _Stage, bound: int) -> None:
    """Fold the stage's first assignment (a TRN or RND right shift by s >= 0 of the float64 BLAS sum, no ReLU
    before it) into the product: with the weights scaled by 2^-s and the bias row by (bias + H) 2^-s - 1/2 +
    2^-(s+1) (H = 2^(s-1) for RND), the product is z = floor((acc + H) / 2^s) + a fraction in (-1/2, 1/2);
    every partial sum is a multiple of 2^-(s+1) below 2^52 in magnitude, so exact in any order.  z + MAGIC
    then has rint(z), the rounded integer, in its low bits: one float64 add instead of the conversion to
    int64, and only the overflow is left to apply."""
    if st.w_aug_t.dtype != np.float64 or st.lowbits is not None or not st.requant:
        return
    relu, f_from, fmt = st.requant[0]
    if relu or fmt is None or f_from != st.f_sum or fmt.rounding not in ("TRN", "RND") or f_from < fmt.f:
        return
    s = f_from - fmt.f
    h = 1 << (s - 1) if s > 0 and fmt.rounding == "RND" else 0
    if 2 * (bound + h) + (1 << (s + 1)) >= 2**53 or ((bound + h) >> s) + 2 >= 2**50:
        return
    kk = st.w_aug_t.shape[1] - 1
    w = st.w_aug_t.copy()
    w[:, :kk] *= 2.0**-s  # exact: powers of two
    bias = [int(b) for b in st.w_aug_t[:, kk]]  # exact integers (below 2^53)
    w[:, kk] = [float(2 * (b + h) - (1 << s) + 1) * 2.0 ** -(s + 1) for b in bias]  # exact: below 2^53 units
    st.w_aug_t = w
    st.requant[0] = (False, fmt.f, fmt)  # the overflow only
    st.rounded = not (fmt.overflow == "WRAP" and fmt.width <= 51)


@dataclass
class ExactStage:
    """A dense layer of a chain for a native kernel: acc = w[K] + sum_k w[k] x[k], then `requant` in order (a ReLU
    on the value before its entry's assignment, as `DenseChain._run_rows`).  "int64": w holds integers and every
    partial sum is below 2^53 (exact in int64); "float64": every input and partial sum is a double below 2^51 that
    the sum holds exactly in any order (fused or not), and the accumulator is rint(sum) (`_fold_rounding`'s folded
    rounding, or an integer sum)."""

    w: np.ndarray  # float64 [K + 1, N]: the weights, then the bias row (DenseChain's w_aug_t, transposed)
    requant: list  # [(relu?, f_from, fmt | None)]
    mode: str  # "int64" or "float64"


# the widest layer (input or output features) a chain routes to the native kernel, with float64 sums (measured
# faster than the NumPy chain up to 256 features) and with int64 sums (vector int64 products are slow on AVX2:
# measured faster up to 24 features, slower from 32)
NATIVE_MAX_WIDTH, NATIVE_INT64_MAX_WIDTH = 256, 24
FLOAT64_EXACT = 2**51


def native_route(stages: list[_Stage]) -> list[ExactStage] | None:
    """The chain's stages as `ExactStage`s when each takes the plain exact path (path "blas": the sum at once,
    below 2^53, on the accumulator's grid or with its first rounding folded in) and its layers are no wider than
    the native kernel runs faster; else None."""
    if any(st.plan.path != "blas" or st.lowbits is not None for st in stages):
        return None
    exact = []
    for st in stages:
        small = _fits(st.plan)[2] < FLOAT64_EXACT and max_abs_int(st.plan.x_fmt) < FLOAT64_EXACT
        if st.rounded is not None and not small:
            return None  # (folding keeps the sums below 2^50; the inputs may still be too wide)
        mode = "float64" if st.rounded is not None or small else "int64"
        exact.append(ExactStage(st.w_aug_t.T.astype(np.float64), list(st.requant), mode))
    widest = max(max(st.plan.w.shape) for st in stages)
    if widest > (NATIVE_INT64_MAX_WIDTH if any(e.mode == "int64" for e in exact) else NATIVE_MAX_WIDTH):
        return None
    return exact


def _fits(plan: DensePlan) -> tuple[int, int, int] | None:
    """(f_sum, bias shift, bound of every partial sum) when `plan` can run in a chain, else None."""
    pf = plan.x_fmt.f + plan.w_fmt.f
    if max(plan.acc.width, plan.out.width, plan.x_fmt.width) > MAX_INT64_WIDTH or plan.w.ndim != 2:
        return None
    bias = max((abs(int(v)) for v in np.asarray(plan.acc0).ravel()), default=0)
    if plan.path == "blas":
        d = plan.acc.f - pf  # >= 0 on this path
        return plan.acc.f, 0, (plan.sum_bound << d) + bias
    if plan.path == "product" and plan.low_dtype is not None and plan.acc.f <= pf:
        s = pf - plan.prod.f
        h = 1 << (s - 1) if s > 0 and plan.prod.rounding == "RND" else 0
        return pf, pf - plan.acc.f, plan.sum_bound + plan.w.shape[0] * h + (bias << (pf - plan.acc.f))
    return None


def chainable(plan: DensePlan) -> bool:
    return _fits(plan) is not None and _fits(plan)[2] < 2**53


class DenseChain:
    """`run(x: Tensor) -> Tensor` of dense layers with casts / ReLUs between them (see the module docstring).

    `ops`: [("dense", DensePlan) | ("relu", FixedFormat) | ("cast", FixedFormat)], starting with a dense
    layer whose input format is `ops[0][1].x_fmt`; each format a per-tensor format of at most 62 bits."""

    def __init__(self, ops: list, native=None):
        """`native`: a factory of native runners (`native(exact_stages)` -> `run(x, out) -> bool` or None);
        `run` fills `out` from the rows `x` and returns True, or False when it cannot run now."""
        self.stages: list[_Stage] = []
        fmt = None
        for kind, arg in ops:
            if kind == "dense":
                if fmt is not None and fmt != arg.x_fmt:
                    raise ValueError("chain: a dense layer's input format differs from its producer's")
                self.stages.append(self._stage(arg))
                fmt = arg.acc
                if arg.out != arg.acc:
                    self.stages[-1].requant.append((False, fmt.f, arg.out))
                fmt = arg.out
            elif kind in ("relu", "cast"):
                out = arg if arg != fmt else None
                self.stages[-1].requant.append((kind == "relu", fmt.f, out))
                fmt = arg
            else:
                raise ValueError(f"chain: unknown op '{kind}'")
        for st in self.stages:
            _fold_rounding(st, _fits(st.plan)[2])
        exact = native_route(self.stages) if native is not None else None
        self._native = native(exact) if exact is not None else None
        self.x_fmt, self.out_fmt = self.stages[0].plan.x_fmt, fmt
        self.rows = LOWBITS_ROWS if any(st.lowbits for st in self.stages) else ROWS
        width = max(max(st.plan.w.shape[0] + 1, st.plan.w.shape[1]) for st in self.stages)
        self.block = max(self.rows, min(MAX_BLOCK_ROWS, BLOCK_ELEMENTS // width))  # rows per pass
        self._lock, self._free = threading.Lock(), []

    @staticmethod
    def _stage(plan: DensePlan) -> _Stage:
        f_sum, bias_shift, bound = _fits(plan)
        dt = np.float32 if bound < 2**24 and max_abs_int(plan.x_fmt) < 2**24 else np.float64
        kk, nn = plan.w.shape
        w_aug = np.empty((kk + 1, nn), dtype=dt)
        w_aug[:kk] = plan.w.astype(np.float64) * 2.0 ** (f_sum - plan.x_fmt.f - plan.w_fmt.f)  # exact
        bias = np.broadcast_to(np.asarray(plan.acc0, dtype=np.int64), (nn,)).astype(object) << bias_shift
        lowbits = None
        if plan.path == "product":
            s = f_sum - plan.prod.f
            h = 1 << (s - 1) if s > 0 and plan.prod.rounding == "RND" else 0
            bias = bias + kk * h
            if s > 0:
                lowbits = (s, h, plan.w.astype(plan.low_dtype))
        w_aug[kk] = bias.astype(np.float64)
        requant = []
        if plan.path == "product" or not plan.acc_identity:
            requant.append((False, f_sum, plan.acc))  # overflow only on path "blas" (same grid)
        return _Stage(plan, np.ascontiguousarray(w_aug.T), f_sum, requant, lowbits)

    def _buffers(self, rows: int):
        """Flat buffers for `rows` samples, shared by the stages (each views them at its own shape and dtype)."""
        kmax = max(st.plan.w.shape[0] for st in self.stages) + 1
        nmax = max(st.plan.w.shape[1] for st in self.stages)
        flat = tuple(np.empty(rows * m * 8, dtype=np.uint8) for m in (kmax, nmax, nmax, nmax, kmax, nmax, nmax))
        return flat + (Workspace(1 << 15),)

    @staticmethod
    def _view(buf: np.ndarray, dtype, shape) -> np.ndarray:
        return buf.view(dtype)[:shape[0] * shape[1]].reshape(shape)

    def __call__(self, x: Tensor, transposed: bool = False) -> Tensor:
        """`transposed`: the result as the transposed view of a [features, rows] array (fxflow.fixed.layout),
        which _run_rows fills without a transposing copy."""
        data = x.data
        n, nn = data.shape[0], self.stages[-1].plan.w.shape[1]
        out = np.empty((nn, n), dtype=np.int64).T if transposed else np.empty((n, nn), dtype=np.int64)
        if self._native is not None and self._native(data, out):
            return Tensor(out, self.out_fmt)
        with self._lock:  # one set of buffers per concurrent call, kept for the next calls
            bufs = self._free.pop() if self._free else None
        if bufs is None:
            bufs = self._buffers(self.block)
        try:
            for a in range(0, n, self.block):
                b = min(n, a + self.block)
                self._run_rows(data[a:b], out[a:b], bufs)
        finally:
            with self._lock:
                self._free.append(bufs)
        return Tensor(out, self.out_fmt)

    def _run_rows(self, x: np.ndarray, out: np.ndarray, bufs) -> None:
        """One block of rows, features outermost: each layer's values are [features, rows], so the BLAS
        product is w_aug^T @ xa and the per-product kernel reads its inputs and subtracts its low bits
        without a transposed copy; only the block's input and output are transposed (the input without a
        copy when it is the transposed view of a [features, rows] array, as a LayerNorm hands on)."""
        rows, view = x.shape[0], self._view
        xa_b, acc_b, i0, i1, xt_b, part_b, p_b, ws = bufs
        cur = x.T
        for st in self.stages:
            kk, nn = st.plan.w.shape
            xa = view(xa_b, st.w_aug_t.dtype, (kk + 1, rows))
            np.copyto(xa[:kk], cur, casting="unsafe")  # exact: |x| < 2^24 (float32) or 2^53
            xa[kk] = 1  # times the bias column of w_aug_t
            if st.lowbits is not None:
                s, h, wl = st.lowbits
                xt = view(xt_b, wl.dtype, (kk, rows))
                np.copyto(xt, cur, casting="unsafe")  # a wrapping cast
            acc = view(acc_b, st.w_aug_t.dtype, (nn, rows))
            matmul_cols_into(st.w_aug_t, xa, acc)
            t = view(i0, np.int64, (nn, rows))
            if st.rounded is None:
                np.copyto(t, acc, casting="unsafe")  # exact integers
            else:  # rint(acc) + MAGIC: its bit pattern MAGIC_BITS + the integer (_fold_rounding)
                acc += MAGIC
                if st.rounded:
                    np.subtract(acc.view(np.int64), MAGIC_BITS, out=t)
                else:  # a wrap to <= 51 bits keeps the low bits, where MAGIC_BITS has none: no subtraction
                    t = acc.view(np.int64)
            if st.lowbits is not None:
                subtract_low_bits_block(t, xt, wl, s, h, view(part_b, wl.dtype, (nn, rows)),
                                        view(p_b, wl.dtype, (nn, rows)))
            other = view(i1, np.int64, (nn, rows))
            for relu, f_from, fmt in st.requant:
                if relu:
                    np.maximum(t, 0, out=t)
                if fmt is not None:
                    requantize_into(t, f_from, fmt, other, ws)
                    t, other = other, t
            cur = t
        np.copyto(out, cur.T)


def is_chain_format(fmt) -> bool:
    """A format a chain carries between its layers (per tensor, int64 stored integers)."""
    return isinstance(fmt, FixedFormat) and fmt.width <= MAX_INT64_WIDTH
