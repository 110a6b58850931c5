"""The integer rule of `fxp.threshold`: affine quantizers with any float scale and zero point, exactly.

A float32 scale s is a dyadic rational, so for a fixed-point x the quantizer

    q = clip(R(x / s + a) + b, qmin, qmax),   y = (q - z) * s

(ONNX QuantizeLinear: a = 0, b = z, R = round half to even on x / s; QONNX Quant: a = z, b = 0, R its
`rounding_mode` applied to x / s + z) is a count of exactly representable thresholds that x passes —
FINN's MultiThreshold — and y an exact product:

    q = qmin + #{k : x >= T_k (inclusive k) or x > T_k (strict k)},   T_k = (t_k - a) * s

where t_k is where R steps from n - 1 to n (n = qmin + 1 - b + k), and a tie (x exactly on T_k) goes up
(inclusive) or stays (strict) as R decides it.  Every T_k and level (q - z) * s is exact in float64 for
quantizers up to 16 bits (a 24-bit mantissa times a 17-bit integer).

On a fixed-point input of grid 2^-f the thresholds become stored-integer bounds (`grid_thresholds`), so the
count is integer comparisons only; the same bounds serve the emulator, the C++ and the RTL.
QONNX's BipolarQuant is the same rule with one threshold (`bipolar_thresholds`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from fxflow.fixed.format import FixedFormat

# rounding modes: name -> (offset of the step point from n, tie goes up?) as a function of n
ROUNDINGS = ("HALF_EVEN", "HALF_ODD", "HALF_UP", "HALF_DOWN", "FLOOR", "CEIL", "DOWN", "UP")
MAX_LEVELS = 1 << 16  # thresholds per quantizer: 16-bit integer ranges at most


@dataclass(frozen=True)
class Thresholds:
    """The exact real thresholds T (ascending), whether each is inclusive, and the N + 1 output levels."""

    thresholds: tuple  # Fraction, ascending
    inclusive: tuple  # bool per threshold
    levels: tuple  # Fraction, one per count 0..N

    def as_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """float64 arrays (exact: `affine_thresholds` checks it)."""
        return (np.array([float(t) for t in self.thresholds], dtype=np.float64),
                np.array(self.inclusive, dtype=bool),
                np.array([float(v) for v in self.levels], dtype=np.float64))


def _step(n: int, mode: str) -> tuple[Fraction, bool]:
    """R(u) >= n  <=>  u >= t (inclusive) or u > t (strict): (t, inclusive)."""
    half = Fraction(2 * n - 1, 2)
    if mode == "FLOOR":
        return Fraction(n), True
    if mode == "CEIL":
        return Fraction(n - 1), False
    if mode == "DOWN":  # toward zero
        return (Fraction(n), True) if n >= 1 else (Fraction(n - 1), False)
    if mode == "UP":  # away from zero
        return (Fraction(n - 1), False) if n >= 1 else (Fraction(n), True)
    if mode == "HALF_UP":  # ties away from zero
        return half, half > 0
    if mode == "HALF_DOWN":  # ties toward zero
        return half, half < 0
    if mode == "HALF_EVEN":
        return half, n % 2 == 0
    if mode == "HALF_ODD":
        return half, n % 2 == 1
    raise ValueError(f"unknown rounding '{mode}' (known: {', '.join(ROUNDINGS)})")


def affine_thresholds(scale: float, zero_point: float, qmin: int, qmax: int, rounding: str,
                      offset_inside: bool) -> Thresholds:
    """The thresholds of q = clip(R(x/s + a) + b, qmin, qmax), y = (q - z)*s; `offset_inside`: a = z, b = 0
    (QONNX: the zero point is added before rounding), else a = 0, b = z (ONNX QuantizeLinear)."""
    s = Fraction(float(scale))
    if not s > 0:
        raise ValueError(f"the scale must be positive, got {scale}")
    if not qmin < qmax:
        raise ValueError(f"the integer range [{qmin}, {qmax}] must hold two values at least")
    if qmax - qmin >= MAX_LEVELS:
        raise ValueError(f"the integer range [{qmin}, {qmax}] has more than {MAX_LEVELS} values")
    z = Fraction(float(zero_point))  # QONNX allows a fractional zero point (added before rounding)
    if not offset_inside and z.denominator != 1:
        raise ValueError(f"the zero point {zero_point} of an ONNX quantizer must be an integer")
    a, b = (z, 0) if offset_inside else (0, int(z))
    ts, incl = [], []
    for q in range(qmin + 1, qmax + 1):
        t, inc = _step(q - b, rounding)
        ts.append((t - a) * s)
        incl.append(inc)
    levels = tuple((q - z) * s for q in range(qmin, qmax + 1))
    out = Thresholds(tuple(ts), tuple(incl), levels)
    for v in out.thresholds + out.levels:
        if Fraction(float(v)) != v:
            raise ValueError(f"the threshold or level {v} is not exact in float64")
    return out


def bipolar_thresholds(scale: float) -> Thresholds:
    """QONNX BipolarQuant (and a 1-bit signed Quant, which qonnx executes so): y = s if x >= 0 else -s, one
    inclusive threshold at 0 (so -0.0 gives +s, as qonnx's `x >= 0`); exact for every float scale."""
    s = Fraction(float(scale))
    if not s > 0:
        raise ValueError(f"the scale must be positive, got {scale}")
    return Thresholds((Fraction(0),), (True,), (-s, s))


def grid_thresholds(thresholds: np.ndarray, inclusive: np.ndarray, f: int) -> list[int]:
    """Stored-integer bounds on the grid 2^-f: x passes T_k  <=>  raw >= c_k (ascending)."""
    scale = Fraction(2) ** f
    out = []
    for t, inc in zip(np.asarray(thresholds, dtype=np.float64).ravel(), np.asarray(inclusive).ravel()):
        v = Fraction(float(t)) * scale
        out.append(math.ceil(v) if inc else math.floor(v) + 1)
    return out


def count(raw: np.ndarray, bounds: list[int]) -> np.ndarray:
    """#{k : raw >= bounds[k]} per element (bounds ascending), as int64."""
    raw = np.asarray(raw)
    if raw.dtype == object or any(abs(c) >= 1 << 62 for c in bounds):
        b = np.array(bounds, dtype=object)
        return np.vectorize(lambda r: int(np.sum(b <= r)), otypes=[np.int64])(raw) if raw.size else \
            np.zeros(raw.shape, np.int64)
    return np.searchsorted(np.asarray(bounds, dtype=np.int64), raw.astype(np.int64), side="right").astype(np.int64)


def levels_format(levels) -> FixedFormat:
    """The narrowest format holding every level exactly (the quantizer's result format)."""
    from fxflow.fixed.interval import smallest_format

    f = fraction_bits(levels)
    raw = [int(Fraction(float(v)) * (Fraction(2) ** f)) for v in np.asarray(levels, dtype=np.float64).ravel()]
    return smallest_format(min(raw), max(raw), f, "RND_CONV", "SAT")


def stored_levels(levels, fmt) -> list[int]:
    """The levels' stored integers in `fmt` (assigned with its rounding and overflow: exact for
    `levels_format`)."""
    from fxflow.fixed.quantize import quantize

    return [int(v) for v in np.asarray(quantize(np.asarray(levels, dtype=np.float64), fmt)).ravel()]


def threshold(raw: np.ndarray, f: int, thresholds, inclusive, levels, out) -> np.ndarray:
    """The stored integers of fxp.threshold on stored integers `raw` of grid 2^-f, result format `out`."""
    c = count(raw, grid_thresholds(thresholds, inclusive, f))
    table = stored_levels(levels, out)
    if max(abs(v) for v in table) >= 1 << 62:
        return np.array(table, dtype=object)[c]
    return np.asarray(table, dtype=np.int64)[c]


def float32_inclusive(thresholds: np.ndarray, inclusive: np.ndarray) -> np.ndarray:
    """Thresholds equivalent on every float32 x with all of them inclusive: x > T <=> x >= the least float32
    above T; x >= T <=> x >= the least float32 not below T.  Used where a float32 model input meets a
    threshold quantizer directly: a truncating input cast on the grid of these values then loses nothing."""
    out = []
    for t, inc in zip(np.asarray(thresholds, dtype=np.float64).ravel(), np.asarray(inclusive).ravel()):
        c = np.float32(t)
        if float(c) < t or (not inc and float(c) == t):
            c = np.nextafter(c, np.float32(np.inf))
        out.append(float(c))
    return np.array(out, dtype=np.float64)


def fraction_bits(values) -> int:
    """The least f with every value on the grid 2^-f."""
    f = 0
    for v in np.asarray(values, dtype=np.float64).ravel():
        if v == 0:
            continue
        m, e = math.frexp(float(v))
        k = 0
        while m != int(m):
            m *= 2
            k += 1
        f = max(f, k - e)
    return f


__all__ = ["ROUNDINGS", "Thresholds", "affine_thresholds", "bipolar_thresholds", "grid_thresholds", "count",
           "float32_inclusive", "fraction_bits", "levels_format", "stored_levels", "threshold"]
