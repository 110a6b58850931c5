"""Lookup tables of pointwise functions (`fxp.lut`): which input values share an entry, and what it holds.

The single definition used by the precision pass (building the table), the emulator (`lookup`) and,
through the attributes, the C++ emitter.  For an input format X (W bits, f fractional bits, stored
integer `raw`) and a table of N = 2^n entries:

    index = clamp((raw >> shift) - offset, 0, N - 1)        (arithmetic shift: floor)
    entry[j] = out_fmt(fn(centre_j)),  centre_j = the midpoint of the smallest and the largest input
               value whose index is j, ignoring the clamping

* Whole input format (the default): shift = W - n, offset = min_int >> shift; no index is ever clamped.
  A table never has more entries than the format has values (shift >= 0).
* `table_range = [lo, hi)`: N equal bins of width (hi - lo) / N, which must be a power of two (a bit slice
  of the stored integer) with lo a multiple of it; inputs below lo / from hi on take the first / last
  entry.  A bin narrower than the input LSB is widened to one LSB (fewer entries).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np

from ..errors import ConfigError
from .format import FixedFormat
from .quantize import quantize, to_float

MAX_TABLE_SIZE = 1 << 16


@dataclass(frozen=True)
class TableIndex:
    """How a stored integer addresses a table: index = clamp((raw >> shift) - offset, 0, size - 1)."""

    shift: int
    offset: int
    size: int
    first: int | None = None  # first stored integer of entry 0 when it is not offset << shift (see table_index)

    def lookup_index(self, raw: np.ndarray) -> np.ndarray:
        idx = (np.asarray(raw, dtype=np.int64) >> self.shift) - self.offset
        return np.clip(idx, 0, self.size - 1)

    def centres(self, in_fmt: FixedFormat) -> np.ndarray:
        """float64 midpoint of the input values of each entry (exact: 2*raw + 2^shift - 1 at f + 1)."""
        start = self.first if self.first is not None else self.offset * (1 << self.shift)
        base = np.arange(self.size, dtype=object) * (1 << self.shift) + start
        twice = 2 * base + ((1 << self.shift) - 1)
        return to_float(np.array([int(v) for v in twice], dtype=object), in_fmt.f + 1)


def check_table_size(size, where: str) -> int:
    """A configured table size: a power of two in [1, MAX_TABLE_SIZE]."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size & (size - 1) or size > MAX_TABLE_SIZE:
        raise ConfigError(f"config '{where}' must be a power of two between 1 and {MAX_TABLE_SIZE}, got {size!r}")
    return size


def table_index(in_fmt: FixedFormat, size: int, table_range: tuple[float, float] | None = None,
                where: str = "the lut") -> TableIndex:
    """The index function of a table of `size` entries over `in_fmt` (see module doc)."""
    n = size.bit_length() - 1
    w = in_fmt.width
    if table_range is None:
        shift = max(w - n, 0)
        if shift == w:  # one entry for every input: raw >> w is -1 or 0, both clamp to entry 0
            return TableIndex(shift, in_fmt.min_int >> shift, 1, first=in_fmt.min_int)
        return TableIndex(shift, in_fmt.min_int >> shift, 1 << (w - shift))
    lo, hi = (Fraction(v) for v in table_range)
    step = (hi - lo) / size  # real width of one bin
    step_raw = _raw(step, in_fmt.f)
    num, den = step_raw.numerator, step_raw.denominator
    if step_raw <= 0 or num & (num - 1) or den & (den - 1):
        raise ConfigError(f"table_range [{float(lo)}, {float(hi)}) of {where} with {size} entries gives bins of "
                          f"width {float(step)}, which is not a power of two: choose hi - lo = size * 2^k")
    shift = num.bit_length() - 1 if den == 1 else 0  # bins below one LSB are widened to one LSB
    bin_raw = 1 << shift
    lo_raw = _raw(lo, in_fmt.f)
    if lo_raw.denominator != 1 or lo_raw.numerator % bin_raw:
        raise ConfigError(f"table_range start {float(lo)} of {where} is not a multiple of its bin width "
                          f"{float(bin_raw * _raw(1, -in_fmt.f))} (input {in_fmt})")
    count = max(1, -(-(_raw(hi, in_fmt.f) - lo_raw) // bin_raw))
    return TableIndex(shift, int(lo_raw.numerator) >> shift, int(count))


def _raw(v, f: int) -> Fraction:
    """The real v in units of 2^-f."""
    return Fraction(v) * (1 << f) if f >= 0 else Fraction(v) / (1 << -f)


def build_table(fn: Callable[[np.ndarray], np.ndarray], in_fmt: FixedFormat, out_fmt: FixedFormat,
                index: TableIndex, where: str = "the lut") -> np.ndarray:
    """The stored integers (out_fmt) of fn at every entry's centre.  fn maps float64 arrays elementwise."""
    values = evaluate(fn, index.centres(in_fmt), where)
    return np.asarray(quantize(values, out_fmt), dtype=np.int64)


def evaluate(fn, x: np.ndarray, where: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        values = np.asarray(fn(x), dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ConfigError(f"the function of {where} is not finite at input {float(x[bad][0])}: restrict its "
                          "table_range or the input format")
    return values


def auto_entry_format(values: np.ndarray, f: int) -> FixedFormat:
    """The narrowest RND format on the grid 2^-f holding every value rounded to it ("auto" lut results)."""
    from .interval import smallest_format

    wide = FixedFormat(1, max(1, 61 - f), f, "RND", "SAT")
    stored = quantize(values, wide)
    lo, hi = (int(stored.min()), int(stored.max())) if stored.size else (0, 0)
    return smallest_format(lo, hi, f, "RND", "SAT")


def lookup(raw: np.ndarray, index: TableIndex, table: np.ndarray) -> np.ndarray:
    """The entries the stored integers `raw` select."""
    return np.asarray(table, dtype=np.int64)[index.lookup_index(raw)]
