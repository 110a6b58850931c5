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
