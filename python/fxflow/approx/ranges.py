"""Range analysis with an approximate multiplier: the exact interval of a dense/conv/matmul layer, widened by
the multiplier's error bounds.

For each weight w, e(w) = [min, max] over every operand a of approx(a, w) - a*w (exhaustive); a term that is
not computed (zero weight, padding tap) contributes exactly 0, so each term's error lies in
[min(e_lo, 0), max(e_hi, 0)].  Summed over a layer's terms per output channel, this bounds every partial
sum, so `auto` and `exact` accumulators and results stay overflow-free with the approximate products.
"""

from __future__ import annotations

import numpy as np

from ..fixed.interval import Interval


def term_error_sums(mult, w: np.ndarray, out_axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel (along `out_axis` of the stored weights): sums of the term error bounds."""
    e_lo, e_hi = mult.error_bounds()
    codes = np.asarray(w, dtype=np.int64) - mult.b_range[0]
    lo = np.where(w == 0, 0, np.minimum(e_lo[codes], 0)).astype(object)
    hi = np.where(w == 0, 0, np.maximum(e_hi[codes], 0)).astype(object)
    axes = tuple(a for a in range(w.ndim) if a != out_axis)
    return lo.sum(axis=axes), hi.sum(axis=axes)


def widen(iv: Interval, mult, w: np.ndarray, pf: int, out_axis: int, channel_axis: int = 1) -> Interval:
    """`iv` (the exact products' interval at grid iv.f >= pf, output channels along `channel_axis`: 1 for a conv,
    -1 for a dense, whose input may be [1, tokens, K]) plus the error sums."""
    lo, hi = term_error_sums(mult, w, out_axis)
    s = 1 << (iv.f - pf)
    shape = [1] * iv.lo.ndim
    shape[channel_axis] = -1
    return Interval(iv.lo + (lo * s).reshape(shape), iv.hi + (hi * s).reshape(shape), iv.f)


def widen_matmul(iv: Interval, mult, a_fmt, b_fmt, k: int) -> Interval:
    """fxp.matmul: `iv` (the exact products' sums over k terms, grid f_a + f_b) plus k times the multiplier's
    error range over the operands' formats (both operands vary, and every term is computed)."""
    e_lo, e_hi = mult.error_range(a_fmt, b_fmt)
    return Interval(iv.lo + k * e_lo, iv.hi + k * e_hi, iv.f)


def product_bound(mult) -> int:
    """The largest |product| the multiplier returns."""
    lo, hi = mult.product_range()
    return max(-lo, hi)
