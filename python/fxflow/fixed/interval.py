"""Exact value ranges of fixed-point tensors, and the narrowest formats that hold them.

An `Interval` is a per-element range of stored integers on the grid 2^-f (NumPy object arrays of Python
ints, so nothing can overflow).  Range propagation through the `fxp` ops is exact for their arithmetic
(dense, add, relu are monotone in each operand), so a format derived from an interval can never
overflow for any input inside the input format; see `passes/fxp_assign_precision.py` ("auto").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .format import FixedFormat
from .quantize import quantize


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
    """Range after assigning to `fmt`: rounded bounds when no value can overflow, else the whole format."""
    lo = [int(v) for v in np.asarray(quantize(_exact(x.lo, x.f), fmt.with_modes(overflow="SAT")).astype(object)).ravel()]
    hi = [int(v) for v in np.asarray(quantize(_exact(x.hi, x.f), fmt.with_modes(overflow="SAT")).astype(object)).ravel()]
    lo_arr = np.array(lo, dtype=object).reshape(x.lo.shape)
    hi_arr = np.array(hi, dtype=object).reshape(x.hi.shape)
    in_range = all(fmt.min_int < v for v in lo) and all(v < fmt.max_int for v in hi)
    if not in_range and fmt.overflow != "SAT":
        return Interval.of_format(fmt, x.lo.shape)
    return Interval(lo_arr, hi_arr, fmt.f)


def _exact(stored: np.ndarray, f: int) -> np.ndarray:
    from fractions import Fraction

    scale = Fraction(1, 1 << f) if f >= 0 else Fraction(1 << -f)
    return np.array([Fraction(int(v)) * scale for v in np.asarray(stored).ravel()], dtype=object).reshape(
        np.asarray(stored).shape)


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
