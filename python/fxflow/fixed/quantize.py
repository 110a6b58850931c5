"""The numeric core of fixed-point semantics: exact, vectorized casts into a `FixedFormat`.

Every value fxflow computes with is a *stored integer* n of a format with f fractional bits
(value = n * 2**-f).  Casting a value into a format follows `ap_fixed` assignment exactly
(reference: docs "fixed-point.md" sections 1-2): scale onto the target's LSB grid, ROUND with the
target's Q mode, THEN apply the target's O mode to the rounded integer.

Public API (the rest of fxflow calls only these):

* `quantize(x, fmt)`             real inputs (float arrays, ints, Fractions) -> stored integers
* `requantize(n, f_from, fmt)`   stored integers of another grid (n * 2**-f_from) -> stored integers
* `to_float(n, f)`               stored integers -> float64 values
* `round_shift(n, s, mode)`      n * 2**-s rounded to an integer with one rounding mode
* `apply_overflow(n, fmt)`       an integer already on fmt's grid -> fmt's overflow mode applied
* `round_increment(mode, ...)`   the rounding rule as logic on guard/sticky/sign/lsb bits (NumPy bool
  arrays or hardware signals: the RTL backend builds its rounding from this one definition)
* `saturation_bounds(fmt)`       [lo, hi] of the stored integer a saturating assignment produces
* `storage_dtype(fmt)`           int64 when fmt.width <= 62, else object (Python ints)
* scalar versions on Python ints: `quantize_scalar`, `requantize_int`, `round_shift_int`,
  `overflow_int`.

Results are int64 arrays when the target width W <= 62, object arrays of Python ints otherwise.

Implementation notes (why this is exact):

* int64 path.  A right shift by s rounds with the identity
  ``round(n / 2**s) = (m + x) >> 1`` where ``m = n >> (s-1)`` (floor of n / 2**(s-1), whose low bit is
  the guard bit) and x is a 0/1 "bump" that only matters when the guard bit is set; x depends on the
  mode through ONE mask test ``(n & M) != c`` (sticky bits, sign bit, parity bit).  |m| <= 2**62 for
  s >= 2, so nothing can overflow for ANY int64 input.  Left shifts clamp n first (SAT modes) or work
  modulo 2**64 in uint64 (WRAP modes: the low W <= 62 bits are unaffected), so nothing overflows
  silently either.  WRAP for signed formats is a shift pair ``(q << (64-W)) >> (64-W)``, fused with the
  rounding shift.
* float path (quantize).  For float64 x, ``v = x * 2**f`` is exact (power-of-two scaling) unless it
  overflows or underflows; floor / trunc / rint are exact; ``d = v - rint(v)`` is exact (Sterbenz),
  so ties are detected exactly as ``d == +-0.5``.  A block is taken on the float path only when every
  rounded value lies in (-2**62, 2**62); otherwise (huge values, inf, NaN, f > 1023) the exact
  integer path decomposes x = M * 2**E (frexp, |M| < 2**53) and rounds with integer shifts.  An
  underflow of v to 0 can only change the result of TRN (a tiny negative floors to -1); that case is
  repaired explicitly.
* Large arrays are processed in cache-sized blocks so the few NumPy passes stay in cache.

NaN and +-inf inputs raise `FxflowError` (ap_fixed's behaviour for them is a warning and an arbitrary
bit pattern).  Subnormal doubles are treated as their exact values (the ap_fixed(double) constructor
mis-decodes them, which can only matter for formats with f > 1021).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..errors import FxflowError
from .format import ROUNDING_MODES, FixedFormat
from .layout import memory_order

__all__ = [
    "quantize",
    "requantize",
    "to_float",
    "round_shift",
    "apply_overflow",
    "storage_dtype",
    "quantize_scalar",
    "requantize_int",
    "round_shift_int",
    "overflow_int",
    "saturation_bounds",
    "round_increment",
    "requantize_into",
    "Workspace",
    "MAX_INT64_WIDTH",
]

MAX_INT64_WIDTH = 62  # widest format whose stored integers are returned as int64
_BLOCK = 1 << 15  # elements per block on the vectorized paths (fits L2 with the temporaries)
_SIGN = np.int64(-(1 << 63))
_U64 = np.uint64
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def storage_dtype(fmt: FixedFormat) -> np.dtype:
    """dtype of the stored integers of `fmt`: int64 when W <= 62, object (Python ints) otherwise."""
    return np.dtype(np.int64) if fmt.width <= MAX_INT64_WIDTH else np.dtype(object)


def _check_mode(mode: str) -> str:
    if mode not in ROUNDING_MODES:
        raise FxflowError(f"unknown rounding mode '{mode}' (expected one of {', '.join(ROUNDING_MODES)})")
    return mode


def _i64(v: int) -> np.int64:
    """A Python int taken modulo 2**64 as an int64 (two's complement bit pattern)."""
    v &= (1 << 64) - 1
    return np.int64(v - (1 << 64) if v >> 63 else v)


# =====================================================================================================
# Scalar exact core (Python ints).  Small, obviously-correct, used for W > 62 and odd inputs.
# =====================================================================================================

def _round_rational(p: int, q: int, mode: str) -> int:
    """p / q (q > 0) rounded to an integer with `mode`."""
    fl, rem = divmod(p, q)
    if rem == 0 or mode == "TRN":
        return fl
    if mode == "TRN_ZERO":
        return fl + (p < 0)
    c = 2 * rem - q  # <0: below the half, 0: tie, >0: above
    if c > 0:
        return fl + 1
    if c < 0:
        return fl
    if mode == "RND":
        return fl + 1
    if mode == "RND_MIN_INF":
        return fl
    if mode == "RND_ZERO":
        return fl + (p < 0)
    if mode == "RND_INF":
        return fl + (p > 0)
    if mode == "RND_CONV":
        return fl + (fl & 1)
    raise FxflowError(f"unknown rounding mode '{mode}'")


def round_shift_int(n: int, s: int, mode: str) -> int:
    """n * 2**-s rounded to an integer with `mode` (s <= 0 is an exact left shift)."""
    n, s = int(n), int(s)
    if s <= 0:
        return n << -s
    return _round_rational(n, 1 << s, mode)


def saturation_bounds(fmt: FixedFormat) -> tuple[int, int]:
    """[lo, hi] of the stored integer after SAT / SAT_SYM / SAT_ZERO.

    SAT_SYM on a signed format excludes min_int (clamps to [-max_int, max_int]), EXCEPT for a 1-bit
    signed format: there the ap_types headers set the underflow pattern to 1 (= min_int = -1), so
    SAT_SYM behaves like SAT (checked against the headers; the definition would give [0, 0]).
    """
    lo, hi = fmt.min_int, fmt.max_int
    if fmt.overflow == "SAT_SYM" and fmt.signed and fmt.width > 1:
        lo = -hi
    return lo, hi


def overflow_int(n: int, fmt: FixedFormat) -> int:
    """fmt's overflow mode applied to the integer n (already on fmt's grid)."""
    n = int(n)
    lo, hi = saturation_bounds(fmt)
    o = fmt.overflow
    if lo <= n <= hi:
        return n
    if o == "WRAP":
        return ((n - fmt.min_int) & ((1 << fmt.width) - 1)) + fmt.min_int
    if o == "SAT_ZERO":
        return 0
    return lo if n < lo else hi  # SAT, SAT_SYM


def requantize_int(n: int, f_from: int, fmt: FixedFormat) -> int:
    """The exact value n * 2**-f_from assigned to fmt (round, then overflow) -> stored integer."""
    return overflow_int(round_shift_int(n, int(f_from) - fmt.f, fmt.rounding), fmt)


def _as_ratio(x) -> tuple[int, int]:
    if isinstance(x, (bool, np.bool_)):
        return int(x), 1
    if isinstance(x, (int, np.integer)):
        return int(x), 1
    if isinstance(x, (float, np.floating)):
        if not np.isfinite(x):
            raise FxflowError(f"cannot quantize a non-finite value ({x}) to a fixed-point format")
        return x.as_integer_ratio()  # exact (also for np.longdouble)
    if isinstance(x, Fraction):
        return x.numerator, x.denominator
    try:
        fr = Fraction(x)
    except (TypeError, ValueError) as e:
        raise FxflowError(f"cannot quantize {x!r} ({type(x).__name__}): not a real number") from e
    return fr.numerator, fr.denominator


def quantize_scalar(x, fmt: FixedFormat) -> int:
    """One real value (float, int, Fraction) assigned to fmt -> stored integer (a Python int)."""
    p, q = _as_ratio(x)
    if fmt.f >= 0:
        p <<= fmt.f
    else:
        q <<= -fmt.f
    return overflow_int(_round_rational(p, q, fmt.rounding), fmt)


def _map_object(fn, arr: np.ndarray, out_dtype) -> np.ndarray:
    res = np.frompyfunc(fn, 1, 1)(arr) if arr.ndim else np.array(fn(arr.item()), dtype=object)
    res = np.asarray(res, dtype=object)
    if out_dtype == np.dtype(np.int64):
        return res.astype(np.int64)
    return res


# =====================================================================================================
# int64 kernels.  Each works on 1-D contiguous blocks; `nb` is the source, `qb` the destination.
# =====================================================================================================

class _Scratch:
    """Reusable temporaries for the block kernels (fresh large temporaries per block cost page faults)."""

    def __init__(self, size: int):
        self.size = size
        self._bufs: dict = {}

    def get(self, name: str, dtype, n: int) -> np.ndarray:
        buf = self._bufs.get(name)
        if buf is None:
            buf = self._bufs[name] = np.empty(self.size, dtype=dtype)
        return buf[:n]


def _round_stage(nb: np.ndarray, s: int, mode: str, qb: np.ndarray, sc: _Scratch):
    """Start rounding nb * 2**-s (1 <= s <= 62).  Returns (p, r): the rounded result is p >> r.

    p is either nb itself (untouched) or qb.  Deferring the last right shift lets a signed WRAP fuse
    it with its own shift pair.  Safe for every int64 input.
    """
    if mode == "TRN":
        return nb, s
    if mode == "TRN_ZERO":  # negatives: add 2**s - 1 before the floor shift (only negatives: no overflow)
        np.right_shift(nb, 63, out=qb)
        np.bitwise_and(qb, (1 << s) - 1, out=qb)
        np.add(qb, nb, out=qb)
        return qb, s
    if s == 1:  # q = floor + guard * x   ((m + x) >> 1 with m = n could overflow at INT64_MAX)
        if mode == "RND_MIN_INF":  # ties down and there are no sticky bits: floor
            return nb, 1
        g = np.bitwise_and(nb, 1, out=sc.get("i", np.int64, nb.size))  # guard bit
        if mode != "RND":
            x = sc.get("b", np.bool_, nb.size)
            if mode == "RND_ZERO":
                np.less(nb, 0, out=x)
            elif mode == "RND_INF":
                np.greater_equal(nb, 0, out=x)
            else:  # RND_CONV: bump if the floor (bit 1) is odd; qb is a free temporary here
                np.not_equal(np.bitwise_and(nb, 2, out=qb), 0, out=x)
            np.bitwise_and(g, x, out=g)
        np.right_shift(nb, 1, out=qb)
        np.add(qb, g, out=qb)
        return qb, 0
    np.right_shift(nb, s - 1, out=qb)  # m: floor(n / 2**(s-1)), |m| <= 2**62
    if mode == "RND":
        np.add(qb, 1, out=qb)
        return qb, 1
    low = (1 << (s - 1)) - 1  # sticky bits
    if mode == "RND_MIN_INF":
        mask, c = _i64(low), 0
    elif mode == "RND_ZERO":  # bump when sticky or negative
        mask, c = _i64(low | (1 << 63)), 0
    elif mode == "RND_INF":  # bump when sticky or non-negative
        mask, c = _i64(low | (1 << 63)), _SIGN
    elif mode == "RND_CONV":  # bump when sticky or the floor (bit s) is odd
        mask, c = _i64(low | (1 << s)), 0
    else:
        raise FxflowError(f"unknown rounding mode '{mode}'")
    t = np.bitwise_and(nb, mask, out=sc.get("i", np.int64, nb.size))
    x = np.not_equal(t, c, out=sc.get("b", np.bool_, nb.size))
    np.add(qb, x, out=qb)
    return qb, 1


def _overflow_stage(p: np.ndarray, r: int, fmt: FixedFormat, qb: np.ndarray, sc: _Scratch) -> None:
    """qb = overflow(p >> r) for fmt (W <= 62).  p may be qb or a separate (read-only) array."""
    w, o = fmt.width, fmt.overflow
    if o == "WRAP" and fmt.signed:
        sh = 64 - w
        if r <= sh:
            np.left_shift(p.view(_U64), _U64(sh - r), out=qb.view(_U64))
        else:
            np.right_shift(p, r, out=qb)
            np.left_shift(qb.view(_U64), _U64(sh), out=qb.view(_U64))
        np.right_shift(qb, sh, out=qb)
        return
    if r:
        np.right_shift(p, r, out=qb)
        p = qb
    if o == "WRAP":
        np.bitwise_and(p, (1 << w) - 1, out=qb)
        return
    lo, hi = saturation_bounds(fmt)
    if o in ("SAT", "SAT_SYM"):
        np.clip(p, lo, hi, out=qb)
        return
    # SAT_ZERO: out of range <=> (q - lo) mod 2**64 > hi - lo  (unsigned compare)
    if p is not qb:
        np.copyto(qb, p)
    t = np.subtract(qb.view(_U64), _U64(lo % (1 << 64)), out=sc.get("i", np.int64, qb.size).view(_U64))
    bad = np.greater(t, _U64(hi - lo), out=sc.get("b", np.bool_, qb.size))
    np.putmask(qb, bad, 0)


def _left_shift_stage(nb: np.ndarray, t: int, fmt: FixedFormat, qb: np.ndarray, sc: _Scratch) -> None:
    """qb = overflow(nb << t) for t >= 1 and W <= 62, never overflowing int64 internally."""
    w, o = fmt.width, fmt.overflow
    if o == "WRAP":  # exact modulo 2**64, hence modulo 2**W
        if t >= w:
            qb.fill(0)
        elif fmt.signed:
            sh = 64 - w
            np.left_shift(nb.view(_U64), _U64(t + sh), out=qb.view(_U64))
            np.right_shift(qb, sh, out=qb)
        else:
            np.left_shift(nb.view(_U64), _U64(t), out=qb.view(_U64))
            np.bitwise_and(qb, (1 << w) - 1, out=qb)
        return
    # Saturating modes: clamp n to [ceil(lo/2^t) - 1, floor(hi/2^t) + 1] first; that keeps the in/out of
    # range classification and the sign, and the shifted bounds fit int64 (|.| <= 2**62 + 2**62).
    lo, hi = fmt.min_int, fmt.max_int
    a, b = -((-lo) >> t), hi >> t
    np.clip(nb, a - 1, b + 1, out=qb)
    np.left_shift(qb, min(t, 62), out=qb)
    _overflow_stage(qb, 0, fmt, qb, sc)


def _sticky_shift(nb: np.ndarray, k: int) -> np.ndarray:
    """(n >> k) with the OR of the k dropped bits folded into bit 0 (a 'sticky' right shift).

    Rounding the result by a further s' >= 2 bits gives the same answer as rounding n by k + s'.
    """
    low = _i64((1 << min(k, 64)) - 1)
    out = np.right_shift(nb, min(k, 63))
    np.bitwise_or(out, np.bitwise_and(nb, low) != 0, out=out)
    return out


def _requantize_block_i64(nb: np.ndarray, s: int, fmt: FixedFormat, qb: np.ndarray, sc: _Scratch) -> None:
    if s < 0:
        _left_shift_stage(nb, -s, fmt, qb, sc)
        return
    if s == 0:
        _overflow_stage(nb, 0, fmt, qb, sc)
        return
    if s > 62:
        nb = _sticky_shift(nb, s - 62)
        s = 62
    p, r = _round_stage(nb, s, fmt.rounding, qb, sc)
    _overflow_stage(p, r, fmt, qb, sc)


def _blocked(src: np.ndarray, out: np.ndarray, fn) -> None:
    """Apply fn(src_block, out_block, scratch) over flat cache-sized blocks."""
    n = src.size
    if n <= 2 * _BLOCK:
        fn(src, out, _Scratch(n))
        return
    sc = _Scratch(_BLOCK)
    for a in range(0, n, _BLOCK):
        fn(src[a:a + _BLOCK], out[a:a + _BLOCK], sc)


# =====================================================================================================
# Per-element shifts (exact integer path of quantize): n * 2**-s with s an array, |n| < 2**62.
# =====================================================================================================

def _round_shift_var(n: np.ndarray, s: np.ndarray, mode: str) -> np.ndarray:
    """Round n * 2**-s, s an int64 array with 1 <= s <= 61, |n| < 2**62 (guard/sticky formulation)."""
    q = np.right_shift(n, s)
    if mode == "TRN":
        return q
    one = np.int64(1)
    guard = (np.right_shift(n, s - one) & one) != 0
    sticky = (n & (np.left_shift(one, s - one) - one)) != 0
    q += round_increment(mode, guard, sticky, n < 0, (q & one) != 0)
    return q


def round_increment(mode: str, guard, sticky, negative, odd):
    """Whether floor(n / 2**s) must be bumped by one to round n / 2**s with `mode`.

    `guard` is bit s-1 of n, `sticky` the OR of the bits below it, `negative` the sign of n and `odd`
    bit s (the floor's LSB).  Written with `&`, `|`, `~` only, so the same rule runs on NumPy bool
    arrays (the emulator's exact integer path) and on 1-bit hardware signals (the RTL backend)."""
    if mode == "TRN":
        return guard & ~guard  # never
    if mode == "TRN_ZERO":
        return negative & (guard | sticky)
    if mode == "RND":
        return guard
    if mode == "RND_MIN_INF":
        return guard & sticky
    if mode == "RND_ZERO":
        return guard & (sticky | negative)
    if mode == "RND_INF":
        return guard & (sticky | ~negative)
    if mode == "RND_CONV":
        return guard & (sticky | odd)
    raise FxflowError(f"unknown rounding mode '{mode}'")


def _quantize_block_exact(xb: np.ndarray, fmt: FixedFormat, qb: np.ndarray) -> None:
    """Exact integer path: x = M * 2**E with |M| < 2**53, value * 2**f = M * 2**(E+f)."""
    xb = np.asarray(xb, dtype=np.float64)
    if not np.all(np.isfinite(xb)):
        bad = xb[~np.isfinite(xb)][0]
        raise FxflowError(f"cannot quantize a non-finite value ({bad}) to {fmt}: inputs contain NaN or inf")
    mant, ex = np.frexp(xb)
    m = np.ldexp(mant, 53).astype(np.int64)  # exact; |M| in [2**52, 2**53) or 0
    e = ex.astype(np.int64) + (fmt.f - 53)  # E + f
    right = e < 0
    # right shifts: s >= 55 gives |y| < 1/4, the same result as any larger s (no tie possible)
    s = np.clip(-e, 1, 55)
    q = _round_shift_var(m, s, fmt.rounding)
    # left shifts: WRAP works modulo 2**64 (t >= 63 leaves no low bits); saturating modes only need
    # |M << t| >= 2**62 to be recognised as out of range, which t = 10 already guarantees.
    if fmt.overflow == "WRAP":
        t = np.clip(e, 0, 63)
        left = np.left_shift(m.view(_U64), t.view(_U64)).view(np.int64)
    else:
        left = np.left_shift(m, np.clip(e, 0, 10))
    np.copyto(q, left, where=~right)
    _overflow_stage(q, 0, fmt, qb, _Scratch(q.size))


_FLOAT_LIMIT = float(1 << 62)


def _quantize_block_float(xb: np.ndarray, fmt: FixedFormat, qb: np.ndarray, sc: _Scratch) -> bool:
    """Float fast path for one block; returns False when the block needs the exact path."""
    f, mode, size = fmt.f, fmt.rounding, xb.size
    v = np.multiply(xb, math.ldexp(1.0, f), dtype=np.float64, out=sc.get("f1", np.float64, size))
    # ^ exact unless it over/underflows
    if mode == "TRN":
        r = np.floor(v, out=v)
    elif mode == "TRN_ZERO":
        r = np.trunc(v, out=v)
    elif mode == "RND_CONV":
        r = np.rint(v, out=v)
    elif mode in ("RND", "RND_MIN_INF"):
        r = np.rint(v, out=sc.get("f2", np.float64, size))
        np.subtract(v, r, out=v)  # d = v - rint(v), exact, in [-1/2, 1/2]
        tie = sc.get("b", np.bool_, size)
        if mode == "RND":  # tie resolved downward by rint -> up
            np.add(r, np.equal(v, 0.5, out=tie), out=r)
        else:  # tie resolved upward by rint -> down
            np.subtract(r, np.equal(v, -0.5, out=tie), out=r)
    else:  # RND_ZERO / RND_INF: round |v| with ties down / up, then restore the sign
        a = np.abs(v, out=sc.get("f2", np.float64, size))
        r = np.rint(a, out=sc.get("f3", np.float64, size))
        np.subtract(a, r, out=a)
        tie = sc.get("b", np.bool_, size)
        if mode == "RND_INF":
            np.add(r, np.equal(a, 0.5, out=tie), out=r)
        else:
            np.subtract(r, np.equal(a, -0.5, out=tie), out=r)
        np.copysign(r, v, out=r)
    if r.size:
        lo_v, hi_v = r.min(), r.max()
        if not (lo_v > -_FLOAT_LIMIT and hi_v < _FLOAT_LIMIT):  # also false for NaN
            return False
    if mode == "TRN" and f < 0:  # x * 2**f may underflow to -0.0 for tiny negative x: floor is -1
        fix = (r == 0) & (xb < 0)
        if fix.any():
            r[fix] = -1.0
    np.copyto(qb, r, casting="unsafe")
    _overflow_stage(qb, 0, fmt, qb, sc)
    return True


def _quantize_block(xb: np.ndarray, fmt: FixedFormat, qb: np.ndarray, sc: _Scratch) -> None:
    if fmt.f > 1023:
        _quantize_block_exact(xb, fmt, qb)
        return
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        ok = _quantize_block_float(xb, fmt, qb, sc)
    if not ok:
        _quantize_block_exact(xb, fmt, qb)


# =====================================================================================================
# Public vectorized API
# =====================================================================================================

def quantize(x, fmt: FixedFormat) -> np.ndarray:
    """Real inputs assigned to fmt exactly like C++ `ap_fixed<...> y = (double)x;` -> stored integers.

    x: float16/32/64 array (each float is an exact dyadic rational), integer or bool array, or an
    object array of Python ints / floats / Fractions.  Returns int64 when fmt.width <= 62, else an
    object array of Python ints.  NaN or inf raise `FxflowError`.
    """
    fmt = FixedFormat.parse(fmt)
    x = np.asarray(x)
    out_dtype = storage_dtype(fmt)
    if x.dtype.kind in "iub":
        if x.dtype == np.uint64 and x.size and int(x.max()) > _I64_MAX:
            return requantize(x.astype(object), 0, fmt)
        return requantize(x.astype(np.int64, copy=False), 0, fmt)
    if x.dtype.kind == "f" and x.dtype.itemsize <= 8 and out_dtype == np.dtype(np.int64):
        if x.dtype.itemsize < 4:
            x = x.astype(np.float64)
        src = np.ascontiguousarray(x).reshape(-1)
        out = np.empty(src.shape, dtype=np.int64)
        _blocked(src, out, lambda a, b, sc: _quantize_block(a, fmt, b, sc))
        return out.reshape(x.shape)
    if x.dtype.kind == "f" and x.dtype.itemsize <= 8:  # wide target: exact Python ints
        if x.size and not np.all(np.isfinite(x)):
            bad = x[~np.isfinite(x)].reshape(-1)[0]
            raise FxflowError(f"cannot quantize a non-finite value ({bad}) to {fmt}: inputs contain NaN or inf")
        return _map_object(lambda v: quantize_scalar(float(v), fmt), x.astype(np.float64).astype(object), out_dtype)
    if x.dtype.kind in "fcO":  # long double, complex (rejected by _as_ratio), objects
        return _map_object(lambda v: quantize_scalar(v, fmt), x.astype(object), out_dtype)
    raise FxflowError(f"cannot quantize an array of dtype {x.dtype} to {fmt}")


def _as_int_array(n) -> np.ndarray:
    """n as int64 when every value fits, else as an object array of Python ints."""
    n = np.asarray(n)
    if n.dtype == np.int64:
        return n
    if n.dtype.kind in "ib" or (n.dtype.kind == "u" and n.dtype.itemsize < 8):
        return n.astype(np.int64)
    if n.dtype.kind == "u":
        if n.size == 0 or int(n.max()) <= _I64_MAX:
            return n.astype(np.int64)
        return n.astype(object)
    if n.dtype.kind == "O":
        ints = np.frompyfunc(_to_pyint, 1, 1)(n) if n.ndim else np.array(_to_pyint(n.item()), dtype=object)
        ints = np.asarray(ints, dtype=object)
        try:
            return ints.astype(np.int64)
        except OverflowError:
            return ints
    raise FxflowError(f"stored integers must be an integer array, got dtype {n.dtype}")


def _to_pyint(v) -> int:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return int(v)
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    raise FxflowError(f"stored integers must be integers, got {v!r} ({type(v).__name__})")


def requantize(n, f_from: int, fmt: FixedFormat) -> np.ndarray:
    """The exact values n * 2**-f_from assigned to fmt (round on fmt's grid, then overflow).

    n: int64 (or any integer) array, or an object array of Python ints; f_from: any int.
    Returns int64 when fmt.width <= 62, else an object array.  Never overflows int64 internally.
    """
    fmt = FixedFormat.parse(fmt)
    f_from = int(f_from)
    n = _as_int_array(n)
    s = f_from - fmt.f
    out_dtype = storage_dtype(fmt)
    if n.dtype == np.int64 and out_dtype == np.dtype(np.int64):
        dense, back = memory_order(n)  # the result in n's layout
        src = dense.reshape(-1)
        out = np.empty(src.shape, dtype=np.int64)
        _blocked(src, out, lambda a, b, sc: _requantize_block_i64(a, s, fmt, b, sc))
        return out.reshape(dense.shape).transpose(back)
    return _map_object(lambda v: requantize_int(v, f_from, fmt), n.astype(object), out_dtype)


class Workspace(_Scratch):
    """Temporaries reused across calls of `requantize_into` (one per thread: fresh large temporaries
    page-fault on every call)."""


def requantize_into(n: np.ndarray, f_from: int, fmt: FixedFormat, out: np.ndarray, ws: Workspace) -> np.ndarray:
    """`requantize(n, f_from, fmt)` written into `out`, for int64 `n` and `out` of the same shape (C-contiguous,
    distinct arrays) and fmt.width <= 62: no allocation once `ws` holds its temporaries."""
    if fmt.width > MAX_INT64_WIDTH or n.dtype != np.int64 or out.dtype != np.int64:
        raise FxflowError(f"requantize_into takes int64 arrays and a format of at most {MAX_INT64_WIDTH} bits")
    s = int(f_from) - fmt.f
    src, dst = n.reshape(-1), out.reshape(-1)
    for a in range(0, src.size, ws.size):
        _requantize_block_i64(src[a:a + ws.size], s, fmt, dst[a:a + ws.size], ws)
    return out


def round_shift(n, s: int, mode: str) -> np.ndarray:
    """n * 2**-s rounded to an integer with `mode` (no overflow handling); s <= 0 shifts left exactly.

    int64 in, s >= 0: int64 out.  A left shift that could exceed int64 returns an object array.
    """
    _check_mode(mode)
    s = int(s)
    n = _as_int_array(n)
    if n.dtype == np.int64:
        if s == 0:
            return n.copy()
        if s > 0:
            src = np.ascontiguousarray(n).reshape(-1)
            out = np.empty(src.shape, dtype=np.int64)

            def blk(a, b, sc):
                ss = s
                if ss > 62:
                    a, ss = _sticky_shift(a, ss - 62), 62
                p, r = _round_stage(a, ss, mode, b, sc)
                if r:
                    np.right_shift(p, r, out=b)
                elif p is not b:
                    np.copyto(b, p)

            _blocked(src, out, blk)
            return out.reshape(n.shape)
        t = -s
        if n.size == 0 or (t < 63 and -(1 << (63 - t)) <= int(n.min()) and int(n.max()) < (1 << (63 - t))):
            return np.left_shift(n, t)
    return _map_object(lambda v: round_shift_int(v, s, mode), n.astype(object), np.dtype(object))


def apply_overflow(n, fmt: FixedFormat) -> np.ndarray:
    """fmt's overflow mode applied to integers already on fmt's grid (no rounding)."""
    fmt = FixedFormat.parse(fmt)
    n = _as_int_array(n)
    out_dtype = storage_dtype(fmt)
    if n.dtype == np.int64 and out_dtype == np.dtype(np.int64):
        src = np.ascontiguousarray(n).reshape(-1)
        out = np.empty(src.shape, dtype=np.int64)
        _blocked(src, out, lambda a, b, sc: _overflow_stage(a, 0, fmt, b, sc))
        return out.reshape(n.shape)
    return _map_object(lambda v: overflow_int(v, fmt), n.astype(object), out_dtype)


def _int_to_float(v: int, f: int) -> float:
    v = int(v)
    try:
        return v / (1 << f) if f >= 0 else float(v << -f)  # int / int is correctly rounded
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def to_float(n, f: int) -> np.ndarray:
    """float64 values n * 2**-f (exact when |n| < 2**53 and the result is a normal float)."""
    f = int(f)
    n = np.asarray(n)
    if n.dtype.kind in "iub":
        return np.ldexp(n.astype(np.float64), -f)
    if n.dtype.kind == "f":
        return np.ldexp(n.astype(np.float64), -f)
    out = np.frompyfunc(lambda v: _int_to_float(v, f), 1, 1)(n) if n.ndim else _int_to_float(n.item(), f)
    return np.asarray(out, dtype=np.float64)


# =====================================================================================================
# Micro-benchmark
# =====================================================================================================

def _bench(rows: int = 100_000, cols: int = 64, repeat: int = 5) -> dict:
    """Throughput (elements/s) of requantize / quantize on a (rows, cols) array, per mode pair."""
    import time

    rng = np.random.default_rng(0)
    acc = rng.integers(-(1 << 30), 1 << 30, size=(rows, cols), dtype=np.int64)
    xf = rng.normal(0, 4, size=(rows, cols))
    res = {}
    for q, o in [("TRN", "WRAP"), ("RND", "SAT"), ("RND_CONV", "SAT"), ("RND_ZERO", "SAT_ZERO"),
                 ("TRN_ZERO", "SAT_SYM")]:
        fmt = FixedFormat(1, 5, 10, q, o)
        for name, fn in (("requantize", lambda: requantize(acc, 20, fmt)), ("quantize", lambda: quantize(xf, fmt))):
            best = math.inf
            for _ in range(repeat):
                t0 = time.perf_counter()
                fn()
                best = min(best, time.perf_counter() - t0)
            res[f"{name} {q}/{o}"] = acc.size / best
    return res


if __name__ == "__main__":  # pragma: no cover
    for k, v in _bench().items():
        print(f"{k:32s} {v / 1e6:8.1f} M elem/s")
