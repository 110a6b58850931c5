"""The integer rules of `fxp.select` (x compared with a constant threshold picks x or a constant) and
`fxp.minmax` (the larger or smaller of two tensors), shared by the emulator, the HLS printers and the RTL
builders: a comparison of the real x with the real threshold is a comparison of x's stored integer with
one integer, and a branch is x assigned to the result format or the constant quantized to it."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .format import FixedFormat
from .quantize import quantize, requantize, storage_dtype

# A test of a stored integer r: (">", c) r > c, ("<", c) r < c, ("==", c), ("!=", c), ("true", 0), ("false", 0).
RawTest = tuple[str, int]


def raw_test(predicate: str, threshold: float, f: int) -> RawTest:
    """x `predicate` threshold for every x on the grid 2^-f, as a test of x's stored integer."""
    t = Fraction(threshold) * (Fraction(2) ** f)
    lo, hi = math.floor(t), math.ceil(t)
    exact = t.denominator == 1
    return {"gt": (">", lo), "ge": (">", hi - 1), "lt": ("<", hi), "le": ("<", lo + 1),
            "eq": ("==", lo) if exact else ("false", 0), "ne": ("!=", lo) if exact else ("true", 0)}[predicate]


def fold_test(test: RawTest, fmt: FixedFormat) -> RawTest:
    """The test decided by the format's range, ("true" | "false", 0), or the test itself; afterwards the
    integer of a comparison lies inside the format's range (printable as a value of x's type)."""
    kind, c = test
    lo, hi = fmt.min_int, fmt.max_int
    if kind == ">" and (c >= hi or c < lo):
        return ("false", 0) if c >= hi else ("true", 0)
    if kind == "<" and (c <= lo or c > hi):
        return ("false", 0) if c <= lo else ("true", 0)
    if kind in ("==", "!=") and not lo <= c <= hi:
        return ("false", 0) if kind == "==" else ("true", 0)
    return test


def apply_test(raw: np.ndarray, test: RawTest) -> np.ndarray:
    kind, c = test
    if kind in ("true", "false"):
        return np.full(np.shape(raw), kind == "true")
    r = np.asarray(raw)
    return {">": r > c, "<": r < c, "==": r == c, "!=": r != c}[kind]


def branch_value(v: float, out: FixedFormat) -> int:
    """A constant branch's stored integer in the result format (quantized as the C++ assignment does)."""
    return int(quantize(np.float64(v), out))


def select(raw: np.ndarray, fmt: FixedFormat, predicate: str, threshold: float, on_true: float, on_false: float,
           out: FixedFormat) -> np.ndarray:
    """The stored integers of (x predicate threshold) ? on_true : on_false in `out` (NaN branch: x)."""
    mask = apply_test(raw, raw_test(predicate, threshold, fmt.f))
    x_out = None

    def branch(v):
        nonlocal x_out
        if math.isnan(v):
            if x_out is None:
                x_out = np.asarray(requantize(raw, fmt.f, out))
            return x_out
        return np.full(np.shape(raw), branch_value(v, out), dtype=storage_dtype(out))

    return np.where(mask, branch(on_true), branch(on_false)).astype(storage_dtype(out))


def select_exact(x: np.ndarray, predicate: str, threshold: float, on_true: float, on_false: float) -> np.ndarray:
    """The real function (float tensors): what the model computes."""
    cmp = {"gt": np.greater, "ge": np.greater_equal, "lt": np.less, "le": np.less_equal, "eq": np.equal,
           "ne": np.not_equal}[predicate]
    a = x if math.isnan(on_true) else np.full(np.shape(x), on_true)
    b = x if math.isnan(on_false) else np.full(np.shape(x), on_false)
    return np.where(cmp(x, threshold), a, b)


def minmax(a: np.ndarray, fa: int, b: np.ndarray, fb: int, kind: str, out: FixedFormat) -> np.ndarray:
    """The stored integers of max(a, b) (kind "max") or min(a, b) in `out`, compared exactly on the finer
    grid of the two."""
    f = max(fa, fb)
    wide = np.asarray(a).astype(object) * (1 << (f - fa)), np.asarray(b).astype(object) * (1 << (f - fb))
    pick = np.maximum(*wide) if kind == "max" else np.minimum(*wide)
    return np.asarray(requantize(pick, f, out))
