"""Fixed-point assignment in hardware, derived from `fxflow.fixed.quantize` (the one semantics module).

`assign(w, f_from, fmt)` is the RTL form of `requantize`: the integer w on the grid 2^-f_from is rounded to
fmt's grid with `round_increment` (the same guard/sticky/sign/lsb rule the emulator's exact path runs) and
then overflowed with `saturation_bounds` / two's complement wrapping, as ap_fixed assignment does.
Logic is only built where the ranges say it can matter: an assignment that can neither round nor
overflow is a plain wire.
"""

from __future__ import annotations

from fxflow.fixed import FixedFormat
from fxflow.fixed.quantize import round_increment, saturation_bounds

from . import signals as s


def round_to(w: s.Wire, shift: int, mode: str) -> s.Wire:
    """w * 2**-shift rounded to an integer with `mode` (shift <= 0 is an exact left shift)."""
    if shift <= 0:
        return s.shl(w, -shift)
    q = s.shr_floor(w, shift)
    if mode == "TRN":
        return q
    inc = round_increment(mode, s.bit(w, shift - 1), s.any_low(w, shift - 1), s.sign(w), s.bit(w, shift))
    if isinstance(inc.v, bool):
        return s.add(q, s.const(1)) if inc.v else q
    return s.add(q, s.Wire(inc.v, 0, 1))


def overflow(q: s.Wire, fmt: FixedFormat) -> s.Wire:
    """fmt's overflow mode applied to an integer on fmt's grid."""
    lo, hi = saturation_bounds(fmt)
    if lo <= q.lo and q.hi <= hi:
        return q
    if fmt.overflow == "WRAP":
        return s.reinterpret(q, fmt.width, fmt.signed)
    if fmt.overflow == "SAT_ZERO":
        bad = s.less_than(q, lo) | s.greater_than(q, hi)
        inside = s.clip(q, lo, hi)  # the in-range values, narrowed (the clipped ones are replaced by 0)
        return s.mux(bad, s.const(0), inside)
    return s.clip(q, lo, hi)  # SAT, SAT_SYM


def assign(w: s.Wire, f_from: int, fmt: FixedFormat) -> s.Wire:
    """The value w * 2**-f_from assigned to fmt -> fmt's stored integer (round, then overflow)."""
    return overflow(round_to(w, f_from - fmt.f, fmt.rounding), fmt)


def port(w: s.Wire, fmt: FixedFormat) -> s.Wire:
    """A stored integer of fmt at exactly fmt's width (how values cross module ports and registers)."""
    return s.Wire(s.extend(w, fmt.width), fmt.min_int, fmt.max_int)
