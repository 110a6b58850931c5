"""Exact value ranges of fixed-point tensors, and the narrowest formats that hold them.

An `Interval` is a per-element range of stored integers on the grid 2^-f (NumPy object arrays of Python
ints, so nothing can overflow).  Range propagation through the `fxp` ops is exact for their arithmetic
(dense, add, relu are monotone in each operand), so a format derived from an interval can never
overflow for any input inside the input format; see `passes/assign_precision/__init__.py` ("auto").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .format import FixedFormat
from .quantize import requantize


@dataclass
class Interval:
    lo: np.ndarray  # object arrays of Python ints, same shape
    hi: np.ndarray
    f: int

    @classmethod
    def of_format(cls, fmt: FixedFormat, shape) -> "Interval":
        return cls(np.full(shape, fmt.min_int, dtype=object), np.full(shape, fmt.max_int, dtype=object), fmt.f)

    @classmethod
    def of_constant(cls, stored: np.ndarray, f: int) -> "Interval":
        v = np.asarray(stored).astype(object)
        return cls(v, v.copy(), f)

    def aligned(self, f: int) -> "Interval":
        """The same range on the finer grid 2^-f (f >= self.f)."""
        s = 1 << (f - self.f)
        return Interval(self.lo * s, self.hi * s, f)


def smallest_format(lo: int, hi: int, f: int, rounding: str = "TRN", overflow: str = "WRAP") -> FixedFormat:
    """The narrowest (k, i, f) holding every stored integer in [lo, hi] at grid 2^-f exactly."""
    lo, hi = int(lo), int(hi)
    k = 1 if lo < 0 else 0
    need = max(hi.bit_length(), (-lo - 1).bit_length() if lo < 0 else 0)  # magnitude bits, sign excluded
    i = max(need - f, -f + (1 - k))  # keep W = k + i + f >= 1
    return FixedFormat(k, i, f, rounding, overflow)


def dense_interval(x: Interval, w: np.ndarray, w_f: int, b: np.ndarray, b_f: int) -> Interval:
    """Exact range of bias + sum_k x[k] * w[k, n] (x [B, K] intervals, w [K, N] and b [N] stored ints)."""
    wo = np.asarray(w).astype(object)
    lo_x, hi_x = x.lo[0], x.hi[0]  # the batch row (all rows alike)
    pos = np.where(wo > 0, wo, 0)
    neg = np.where(wo < 0, wo, 0)
    lo = lo_x @ pos + hi_x @ neg
    hi = hi_x @ pos + lo_x @ neg
    pf = x.f + w_f
    f = max(pf, b_f)
    sp, sb = 1 << (f - pf), 1 << (f - b_f)
    bo = np.asarray(b).astype(object) * sb
    return Interval((lo * sp + bo)[None, :], (hi * sp + bo)[None, :], f)


def add_interval(a: Interval, b: Interval) -> Interval:
    f = max(a.f, b.f)
    a, b = a.aligned(f), b.aligned(f)
    return Interval(a.lo + b.lo, a.hi + b.hi, f)


def relu_interval(x: Interval) -> Interval:
    zero = np.zeros_like(x.lo)
    return Interval(np.maximum(x.lo, zero), np.maximum(x.hi, zero), x.f)


def cast_interval(x: Interval, fmt: FixedFormat) -> Interval:
    """Range after assigning to `fmt`: rounded bounds when no value can overflow, else the whole format.
    The bounds are stored integers on x's grid, cast by `requantize` (exact integer arithmetic)."""
    sat = fmt.with_modes(overflow="SAT")
    lo = [int(v) for v in requantize(x.lo, x.f, sat).ravel()]
    hi = [int(v) for v in requantize(x.hi, x.f, sat).ravel()]
    lo_arr = np.array(lo, dtype=object).reshape(x.lo.shape)
    hi_arr = np.array(hi, dtype=object).reshape(x.hi.shape)
    in_range = all(fmt.min_int < v for v in lo) and all(v < fmt.max_int for v in hi)
    if not in_range and fmt.overflow != "SAT":
        return Interval.of_format(fmt, x.lo.shape)
    return Interval(lo_arr, hi_arr, fmt.f)


def fit_constants(values: np.ndarray, tolerance: float) -> FixedFormat:
    """The narrowest RND/SAT format representing every value within `tolerance` (absolute)."""
    v = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise ValueError("constants contain NaN or infinity")
    biggest = float(np.max(np.abs(v))) if v.size else 0.0
    if biggest == 0.0:
        return FixedFormat(0, 0, 1, "RND", "SAT")
    f = max(-60, -math.floor(math.log2(biggest)) - 1)
    while True:
        n = np.rint(v * 2.0**f)
        if np.max(np.abs(n * 2.0**-f - v)) <= tolerance or f >= 52:
            break
        f += 1
    lo, hi = int(n.min()), int(n.max())
    return smallest_format(lo, hi, f, "RND", "SAT")


def exact_constant_format(values: np.ndarray, max_width: int = 53) -> FixedFormat | None:
    """The narrowest RND/SAT format holding every value exactly (float32/float64 constants are dyadic
    rationals), or None when that takes more than `max_width` bits."""
    v = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        return None
    fmt = fit_constants(v, 0.0)
    if fmt.width > max_width or not np.array_equal(np.ldexp(np.rint(np.ldexp(v, fmt.f)), -fmt.f), v):
        return None
    return fmt


def _exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b on Python ints, through int64 when no partial sum can reach 2^62 (exact either way)."""
    amax = max((abs(int(v)) for v in (a.min(initial=0), a.max(initial=0))), default=0)
    bmax = max((abs(int(v)) for v in (b.min(initial=0), b.max(initial=0))), default=0)
    if (amax * bmax * max(a.shape[-1], 1)).bit_length() < 62:
        return (a.astype(np.int64) @ b.astype(np.int64)).astype(object)
    return a.astype(object) @ b.astype(object)


def conv_interval(x: Interval, w: np.ndarray, w_f: int, b: np.ndarray, b_f: int, groups: int,
                  strides, dilations, padding) -> Interval:
    """Exact range of every output of `fxp.conv` (x intervals [1, C, *S]; w [F, C/g, *K], b [F] stored ints):
    per output position, a dense interval over that position's window (padding taps are exactly 0)."""
    from .window import from_rows, patches

    w = np.asarray(w)
    f_total, cg = w.shape[0], w.shape[1]
    fg = f_total // groups
    kernel = list(w.shape[2:])
    pf = x.f + w_f
    f = max(pf, b_f)
    sp, sb = 1 << (f - pf), 1 << (f - b_f)
    los, his = [], []
    for g in range(groups):
        lo_rows, out = patches(x.lo[:, g * cg:(g + 1) * cg], kernel, strides, dilations, padding, 0)
        hi_rows, _ = patches(x.hi[:, g * cg:(g + 1) * cg], kernel, strides, dilations, padding, 0)
        wm = w[g * fg:(g + 1) * fg].reshape(fg, -1).T.astype(object)
        pos, neg = np.where(wm > 0, wm, 0), np.where(wm < 0, wm, 0)
        bo = np.asarray(b[g * fg:(g + 1) * fg]).astype(object) * sb
        los.append((_exact_matmul(lo_rows, pos) + _exact_matmul(hi_rows, neg)) * sp + bo)
        his.append((_exact_matmul(hi_rows, pos) + _exact_matmul(lo_rows, neg)) * sp + bo)
    lo = from_rows(np.concatenate(los, axis=1), 1, out)
    hi = from_rows(np.concatenate(his, axis=1), 1, out)
    return Interval(np.ascontiguousarray(lo), np.ascontiguousarray(hi), f)


def pool_windows(x: Interval, kernel, strides, padding, fill_lo, fill_hi):
    """(lo, hi) windows [positions, C, taps] of a channels-first interval, and the output spatial shape."""
    from .window import patches

    c = x.lo.shape[1]
    n = len(kernel)
    lo, out = patches(x.lo, kernel, strides, [1] * n, padding, fill_lo)
    hi, _ = patches(x.hi, kernel, strides, [1] * n, padding, fill_hi)
    return lo.reshape(lo.shape[0], c, -1), hi.reshape(hi.shape[0], c, -1), out


def max_pool_interval(x: Interval, kernel, strides, padding) -> Interval:
    from .window import from_rows

    sentinel_lo = min(x.lo.min(initial=0), 0) - 1
    sentinel_hi = min(x.hi.min(initial=0), 0) - 1
    lo, hi, out = pool_windows(x, kernel, strides, padding, sentinel_lo, sentinel_hi)
    return Interval(from_rows(lo.max(axis=2), 1, out), from_rows(hi.max(axis=2), 1, out), x.f)


def avg_pool_sum_interval(x: Interval, kernel, strides, padding) -> Interval:
    """Range of the window sums (before the division), on x's grid."""
    from .window import from_rows

    lo, hi, out = pool_windows(x, kernel, strides, padding, 0, 0)
    return Interval(from_rows(lo.sum(axis=2), 1, out), from_rows(hi.sum(axis=2), 1, out), x.f)


def divide_toward_zero(x: Interval, n: int, f: int) -> Interval:
    """Range of trunc(v / n) on the grid 2^-f (f >= x.f): monotone, so the bounds map to the bounds."""
    s = 1 << (f - x.f)

    def div(v):
        q = abs(int(v) * s) // n
        return -q if v < 0 else q

    vdiv = np.vectorize(div, otypes=[object])
    return Interval(vdiv(x.lo), vdiv(x.hi), f)


def channel_view(p: np.ndarray, rank: int) -> np.ndarray:
    """A [C] or [1] parameter shaped to broadcast along dim 1 of a [B, C, ...] tensor."""
    p = np.asarray(p).astype(object)
    return p.reshape([1, -1] + [1] * (rank - 2)) if rank >= 2 else p


def scale_shift_interval(x: Interval, s: np.ndarray, s_f: int, t: np.ndarray, t_f: int) -> Interval:
    rank = x.lo.ndim
    sv, tv = channel_view(s, rank), channel_view(t, rank)
    pf = x.f + s_f
    f = max(pf, t_f)
    a, b = x.lo * sv, x.hi * sv
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    k, kt = 1 << (f - pf), 1 << (f - t_f)
    return Interval(lo * k + tv * kt, hi * k + tv * kt, f)


def sub_interval(a: Interval, b: Interval) -> Interval:
    f = max(a.f, b.f)
    a, b = a.aligned(f), b.aligned(f)
    return Interval(a.lo - b.hi, a.hi - b.lo, f)


def mul_interval(a: Interval, b: Interval) -> Interval:
    c = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
    lo = np.minimum(np.minimum(c[0], c[1]), np.minimum(c[2], c[3]))
    hi = np.maximum(np.maximum(c[0], c[1]), np.maximum(c[2], c[3]))
    return Interval(lo, hi, a.f + b.f)
