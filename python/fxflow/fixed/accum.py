"""Accumulator formats: the narrowest format in which a sum of products is exact."""

from __future__ import annotations

import math

from .format import FixedFormat


def exact_accumulator(x: FixedFormat, w: FixedFormat, bias: FixedFormat, n_terms: int,
                      product: FixedFormat | None = None) -> FixedFormat:
    """A (TRN, WRAP) format holding bias + any sum of `n_terms` products x*w without rounding or overflow.

    Bit-width based (like hls4ml's `auto` accumulators): the product type of ap_fixed, plus
    ceil(log2(n_terms + 1)) integer bits for the n_terms + 1 addends.  WRAP is free in hardware and,
    since no partial sum can leave the range, never fires.  `product`: the format of every product when it
    is not the exact x*w (an approximate multiplier's range, `fxflow.approx`)."""
    p = product or x.mul_result(w)
    f = max(p.f, bias.f)
    signed = p.signed or bias.signed
    k = 1 if signed else 0
    # integer bits (excluding sign) each addend needs, in a signed/unsigned container of kind k
    ip = p.int_bits - p.k
    ib = bias.int_bits - bias.k
    grow = math.ceil(math.log2(n_terms + 1))
    i = max(ip, ib) + grow
    return FixedFormat(k, i, f)


def average_sum_bound(x: FixedFormat, acc: FixedFormat, n: int, wrapped: bool = False) -> int | None:
    """The bound on |window sum| at the accumulator's grid when `fxp.pool` avg's running sum of `n` inputs is exact
    (acc as fine as x and every partial sum of up to n inputs inside acc's range); None when the sum is instead each
    partial sum assigned to acc in window order (rounding / overflow per step).  `wrapped`: also when acc is as fine
    as x and WRAPs (then the running sum is the exact sum wrapped to acc's width, in any order)."""
    if acc.f < x.f:
        return None
    up = acc.f - x.f
    lo, hi = (min(x.min_int, 0) * n) << up, (max(x.max_int, 0) * n) << up
    if (acc.min_int <= lo and hi <= acc.max_int) or (wrapped and acc.overflow == "WRAP"):
        return max(-lo, hi)
    return None
