"""Sums in a declared accumulator, in order, and the product of two activation tensors (`fxp.matmul`).

`ordered_sum(terms, f, acc)` is `acc = acc_t(0); for k: acc = acc_t(acc + terms[..., k])` on stored integers
of the grid 2^-f — the C++ `acc += t` loop.  When every partial sum is exact in acc (its grid is as fine and
the whole range fits) or acc wraps on a fine enough grid (wrapping commutes with the sum), the sum is taken
at once and assigned once; otherwise step by step.  `matmul` builds the exact products a[m, k] * b[k, n]
and sums them over k in order.  Intervals and the exact accumulator format live here too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .format import FixedFormat
from .interval import Interval
from .quantize import requantize

INT64_SAFE_BITS = 62


def _max_abs(a: np.ndarray) -> int:
    a = np.asarray(a)
    if not a.size:
        return 0
    if a.dtype != object:  # Python ints of the extremes: no int64 overflow in abs
        return max(-int(a.min()), int(a.max()), 0)
    return int(np.abs(a).max(initial=0))


def _ints(a: np.ndarray, bits: int) -> np.ndarray:
    return np.asarray(a).astype(np.int64 if bits <= INT64_SAFE_BITS else object)


def _format_abs(fmt: FixedFormat) -> int:
    """The largest |stored integer| of fmt."""
    return max(-fmt.min_int, fmt.max_int)


def _scaled(a: np.ndarray, s: int) -> np.ndarray:
    """a * 2^s (s >= 0) exactly."""
    return a if s == 0 else a * (1 << s)


def ordered_sum(terms: np.ndarray, f: int, acc: FixedFormat, terms_fmt: FixedFormat | None = None,
                axis: int = -1) -> np.ndarray:
    """Stored integers of acc after adding terms[..., 0], terms[..., 1], ... (grid 2^-f) to acc_t(0) in order.
    `terms_fmt`: a format holding every term (its range bounds the sum without a pass over the data); `axis`:
    the summed axis (0 for terms laid out [k, ...], whose sum adds long contiguous rows)."""
    n = terms.shape[axis]
    if terms_fmt is not None:
        bound, nonneg = format_sum_bound(terms_fmt, n)
    else:
        bound, nonneg = _max_abs(terms) * max(n, 1), _min(terms) >= 0
    g, bits = ordered_sum_grid(bound, f, acc)
    t = _scaled(_ints(terms, bits), g - f)
    if sum_at_once(bound, nonneg, f, acc):  # einsum: several times faster than sum on short rows
        last = axis in (-1, t.ndim - 1) and t.dtype != object
        return requantize(np.einsum("...k->...", t) if last else t.sum(axis=axis), acc.f, acc)
    a = np.zeros(tuple(np.delete(terms.shape, axis)), dtype=t.dtype)
    for k in range(n):
        a = _ints(requantize(_scaled(_ints(a, bits), g - acc.f) + np.take(t, k, axis=axis), g, acc), bits)
    return a


def format_sum_bound(terms_fmt: FixedFormat, n: int) -> tuple[int, bool]:
    """(bound on the sum of n |terms| of terms_fmt, whether every term is >= 0): an ordered sum's arguments
    from the terms' format, without a pass over the data."""
    return _format_abs(terms_fmt) * max(n, 1), terms_fmt.min_int >= 0


def ordered_sum_grid(bound: int, f: int, acc: FixedFormat) -> tuple[int, int]:
    """(g, bits): an ordered sum adds on the grid 2^-g (the finer of the terms' 2^-f and acc's), where `bits`
    hold every term, every partial sum and the sum at once (|sum of |terms|| <= bound)."""
    g = max(f, acc.f)
    return g, max(bound.bit_length(), _format_abs(acc).bit_length()) + (g - min(f, acc.f)) + 2


def sum_at_once(bound: int, nonnegative: bool, f: int, acc: FixedFormat) -> bool:
    """Whether an ordered sum of terms on grid 2^-f with |sum of |terms|| <= bound equals the exact sum assigned
    to acc once: acc's grid is as fine, and either every partial sum fits or acc wraps (wrapping commutes)."""
    if acc.f < f:
        return False
    fits = bound << (acc.f - f) <= acc.max_int and (acc.signed or nonnegative)
    return fits or acc.overflow == "WRAP"


def _min(a: np.ndarray) -> int:
    a = np.asarray(a)
    return min(int(a.min()), 0) if a.size else 0


def matmul(a: np.ndarray, a_fmt: FixedFormat, b: np.ndarray, b_fmt: FixedFormat, acc: FixedFormat,
           out: FixedFormat, products=None) -> np.ndarray:
    """Stored integers of out for a [..., M, K] @ b [..., K, N], accumulated in acc in order k.  `products(a, b)`
    (broadcast stored integers -> products at the grid 2^-(f_a + f_b)) replaces the exact a * b: an
    approximate multiplier's table (`fxflow.approx.emulate.table_products`)."""
    f = a_fmt.f + b_fmt.f
    if products is None and np.ndim(a) >= 2:  # exact products: one integer matmul when the sum is taken at once
        # the formats' bound first (no pass over the data); the data's when that one is too wide
        bound = _format_abs(a_fmt) * _format_abs(b_fmt) * np.shape(a)[-1]
        nonneg = a_fmt.min_int >= 0 and b_fmt.min_int >= 0
        if not (bound < 2**53 and sum_at_once(bound, nonneg, f, acc)):
            bound = _max_abs(a) * _max_abs(b) * np.shape(a)[-1]
            nonneg = _min(a) >= 0 and _min(b) >= 0
        if bound < 2**53 and sum_at_once(bound, nonneg, f, acc):  # float64 sums of integers: exact
            # astype keeps the operands' memory order (a transposed view costs no transposing copy)
            total = np.matmul(np.asarray(a).astype(np.float64), np.asarray(b).astype(np.float64)).astype(np.int64)
            sh = acc.f - f
            if (bound << sh).bit_length() <= INT64_SAFE_BITS:
                if sh:
                    total <<= sh
                fits = bound << sh <= acc.max_int and (acc.signed or nonneg)  # every sum is in acc's range
                s = total if fits else requantize(total, acc.f, acc)
                return requantize(s, acc.f, out)
    bits = _max_abs(a).bit_length() + _max_abs(b).bit_length() + 1
    ai, bi = _ints(a, bits), _ints(b, bits)
    mul = products or np.multiply
    prods = mul(ai[..., :, :, None], bi[..., None, :, :])  # [..., M, K, N]
    s = ordered_sum(np.moveaxis(prods, -2, -1), f, acc)
    return requantize(s, acc.f, out)


@dataclass(frozen=True)
class Int64Sum:
    """How the exact products of a matmul are summed on int64 without overflow (`int64_sum`): at once (the sum
    shifted left by term_shift onto acc's grid, assigned to acc unless it always fits) or step by step
    (acc << acc_shift plus product << term_shift, assigned to acc from grid `grid`, as `ordered_sum`)."""
    at_once: bool
    assign_acc: bool
    term_shift: int
    acc_shift: int
    grid: int


def int64_sum(a_fmt: FixedFormat, b_fmt: FixedFormat, k: int, acc: FixedFormat) -> Int64Sum | None:
    """The int64 plan of `matmul`'s exact products for operands in a_fmt and b_fmt (their stored integers within
    the formats' ranges) and k terms, or None when a product, a sum or a shift could leave 62 bits."""
    f = a_fmt.f + b_fmt.f
    prod = _format_abs(a_fmt) * _format_abs(b_fmt)
    bound, nonneg = prod * max(k, 1), a_fmt.min_int >= 0 and b_fmt.min_int >= 0
    if sum_at_once(bound, nonneg, f, acc):
        sh = acc.f - f
        fits = bound << sh <= acc.max_int and (acc.signed or nonneg)
        ok = (bound << sh).bit_length() <= INT64_SAFE_BITS
        return Int64Sum(True, not fits, sh, 0, acc.f) if ok else None
    g = max(f, acc.f)
    step = (_format_abs(acc) << (g - acc.f)) + (prod << (g - f))
    return Int64Sum(False, True, g - f, g - acc.f, g) if step.bit_length() <= INT64_SAFE_BITS else None


def exact_matmul_accum(a: FixedFormat, b: FixedFormat, k: int, product: FixedFormat | None = None) -> FixedFormat:
    """A (TRN, WRAP) accumulator holding every sum of k products a*b exactly (bit widths, ceil(log2 k) more);
    `product`: the products' format when they are not the exact a*b (an approximate multiplier's range)."""
    p = product or a.mul_result(b)
    return FixedFormat(p.k, p.i + max(k - 1, 0).bit_length(), p.f)


def matmul_interval(a: Interval, b: Interval) -> Interval:
    """Exact range of each sum over k of a[..., m, k] * b[..., k, n] (each product's range by its corners)."""
    al, ah = a.lo[..., :, :, None], a.hi[..., :, :, None]
    bl, bh = b.lo[..., None, :, :], b.hi[..., None, :, :]
    c = [al * bl, al * bh, ah * bl, ah * bh]
    lo = np.minimum(np.minimum(c[0], c[1]), np.minimum(c[2], c[3])).sum(axis=-2)
    hi = np.maximum(np.maximum(c[0], c[1]), np.maximum(c[2], c[3])).sum(axis=-2)
    return Interval(lo, hi, a.f + b.f)
