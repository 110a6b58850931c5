"""The input format a quantized model fixes itself: its first quantizer, pulled back to the graph input.

Brevitas' bnn_pynq networks reach their first quantizer through data movement and a constant affine
(`x.view(N, -1)`, then `2 * x - 1`, then an 8-bit, 2-bit or bipolar quantizer).  Without a configured
`model.input`, fxp-assign-precision casts such an input to the format this module derives, so a float input
is quantized once, as the model's own quantizer does, instead of first being cut to the default precision.

The path from the input may hold reshapes/transposes (`fxp.reshape`, `fxp.transpose`) and per-tensor
`fxp.scale_shift`s by a positive power of two s = 2^e and a shift t; it must end at

* a model cast to Q = (k, i, f_q, R, O): with T = t * 2^f_q an integer, the stored integers are
  n_y = n_x + T for x on the grid 2^-(f_q + e), so the cast of x with rounding R' and the range of Q shifted
  by -T gives exactly Q(s * x + t) when R(v + T) = R'(v) + T for every real v: floor-like modes (TRN, RND,
  RND_MIN_INF) always, RND_CONV for an even T, any mode for T = 0 (then Q is the identity after the affine).
  RND_CONV with an odd T (bnn_pynq's 2-bit input: 2x - 1 with an integer grid) is round-half-to-odd on x,
  which no ap_fixed mode is: the input then keeps FLOAT32_GUARD_BITS more fractional bits and rounds to
  nearest, so no float32 input (the ONNX graph's input type) other than a tie itself lands on one of Q's
  ties (a float32 neighbour of a tie >= 2^-(f_q + e + 1) lies at least 2^-(f_q + e + 25) away), and Q
  rounds once, as in the model; a float64 input that is no float32 value is rounded by that format first;
* a piecewise-constant `fxp.lut` (the bipolar quantizer: `x < 0 ? -s : s`) whose compares are all of the
  form `y < c` / `y >= c`: a truncating (AP_TRN) cast to a grid holding every threshold (c - t) / s keeps
  every decision for every real input.
Anything else returns None (the configured or default input format is used).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from fxflow.dialects.fxp import format_of
from fxflow.fixed import FixedFormat
from fxflow.fixed.interval import smallest_format
from fxflow.ir import defining_op, elements_array, ir

from fxflow.passes.assign_precision.model_exact import is_model_cast

MOVES = ("fxp.reshape", "fxp.transpose")
FLOAT32_GUARD_BITS = 25  # see the module docstring: float32 spacing near Q's ties, plus one
# arith.cmpf predicates (ogt 2, oge 3, olt 4, ole 5, ugt 9, uge 10, ult 11, ule 12) under which truncation
# keeps the decision: `y < c` / `y >= c` with y on the left, `c > y` / `c <= y` with y on the right
_TRUNCATION_SAFE = {"left": {3, 4, 10, 11}, "right": {2, 5, 9, 12}}


def model_input_format(arg) -> FixedFormat | None:
    """The format of float argument `arg` pulled back from the model's first quantizer, or None."""
    v, scale, shift = arg, Fraction(1), Fraction(0)
    while True:
        users = [u.owner if isinstance(u.owner, ir.Operation) else u.owner.operation for u in v.uses]
        if len(users) != 1 or len(users[0].results) != 1:
            return None
        u = users[0]
        if u.name in MOVES:
            v = u.results[0]
            continue
        if u.name == "fxp.scale_shift" and u.operands[0] == v:
            st = [_scalar(u.operands[i]) for i in (1, 2)]
            if None in st:
                return None
            scale, shift = scale * st[0], st[0] * shift + st[1]
            v = u.results[0]
            continue
        e = _log2(scale)
        if e is None or u.name == "fxp.threshold":  # a threshold quantizer's own boundary: _threshold_boundary
            return None
        if is_model_cast(u):
            return _through_affine(format_of(u.results[0].type), e, shift)
        if u.name == "fxp.lut":
            return _below_thresholds(u, scale, shift)
        return None


def _scalar(v) -> Fraction | None:
    """A per-tensor float constant (every element equal), exactly."""
    d = defining_op(v)
    if d is None or d.name != "fxp.constant" or format_of(v.type) is not None:
        return None
    arr = np.asarray(elements_array(d.attributes["value"], list(ir.RankedTensorType(v.type).shape)), np.float64)
    if arr.size == 0 or not np.all(arr == arr.reshape(-1)[0]) or not np.isfinite(arr.reshape(-1)[0]):
        return None
    return Fraction(float(arr.reshape(-1)[0]))


def _log2(s: Fraction) -> int | None:
    """e with s = 2^e (positive powers of two only)."""
    if s <= 0 or s.numerator & (s.numerator - 1) or s.denominator & (s.denominator - 1):
        return None
    return s.numerator.bit_length() - s.denominator.bit_length()


def _shift_invariant(rounding: str, t: int) -> bool:
    """R(v + t) = R(v) + t for every real v."""
    return t == 0 or rounding in ("TRN", "RND", "RND_MIN_INF") or (rounding == "RND_CONV" and t % 2 == 0)


def _through_affine(q: FixedFormat, e: int, t: Fraction) -> FixedFormat | None:
    """The input format for the model cast q of y = 2^e * x + t (module docstring)."""
    f_x = q.f + e
    if t == 0:  # y = 2^e x: q's own format, shifted
        return FixedFormat(q.k, q.i - e, f_x, q.rounding, q.overflow)
    shift = t * (1 << q.f) if q.f >= 0 else t / (1 << -q.f)
    if shift.denominator != 1 or q.overflow not in ("SAT", "SAT_SYM"):
        return None
    shift = int(shift)
    lo = -q.max_int if q.overflow == "SAT_SYM" and q.signed else q.min_int
    lo, hi = lo - shift, q.max_int - shift
    if _shift_invariant(q.rounding, shift):
        return smallest_format(lo, hi, f_x, q.rounding, "SAT")
    if q.rounding in ("RND_CONV", "RND_INF", "RND_ZERO"):  # ties never on a float32 input's neighbours
        g = FLOAT32_GUARD_BITS
        return smallest_format(lo << g, hi << g, f_x + g, "RND_CONV", "SAT")
    return None


def _below_thresholds(lut, scale: Fraction, shift: Fraction) -> FixedFormat | None:
    """A truncating format keeping every `y < c` / `y >= c` decision of a piecewise-constant lut on y = s*x + t."""
    body = list(lut.regions[0].blocks[0].operations)
    arg = lut.regions[0].blocks[0].arguments[0]
    thresholds = []
    for o in body[:-1]:
        o = o.operation
        if o.name in ("arith.constant", "arith.select"):
            continue
        if o.name != "arith.cmpf":
            return None
        pred = ir.IntegerAttr(o.attributes["predicate"]).value
        a, b = o.operands
        if (a == arg) == (b == arg) or pred not in _TRUNCATION_SAFE["left" if a == arg else "right"]:
            return None
        c = _float_constant(b if a == arg else a)
        if c is None:
            return None
        thresholds.append((Fraction(c) - shift) / scale)
    if not thresholds:
        return None
    f = 0
    while any((th * (1 << f)).denominator != 1 for th in thresholds):
        f += 1  # the thresholds are dyadic (float constants over a power-of-two scale)
    n = [int(th * (1 << f)) for th in thresholds]
    return smallest_format(min(n) - 1, max(n), f, "TRN", "SAT")


def _float_constant(v) -> float | None:
    d = defining_op(v)
    if d is None or d.name != "arith.constant" or not isinstance(d.attributes["value"], ir.FloatAttr):
        return None
    return ir.FloatAttr(d.attributes["value"]).value


__all__ = ["model_input_format", "FLOAT32_GUARD_BITS"]
