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
* Accurate default (`accurate_table`): the range and the bin width are derived from the function and the
  formats so that the error has a stated bound (docs/layers.md, "Activation table accuracy"); optionally the
  inputs from `identity_from` on bypass the table, y = out(x), for functions that become x (GELU, SiLU, ...).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np

from ..errors import ConfigError
from .format import FixedFormat
from .layout import memory_order
from .quantize import quantize, requantize, to_float
from .softmax import ACCURATE_INDEX_BITS

MAX_TABLE_SIZE = 1 << 16
EXHAUSTIVE_BITS = 20  # accurate tables are checked at every input value of formats up to 2^20 values
TARGET_LSBS = 0.75  # accurate tables aim at |y - f(x)| <= 3/4 LSB(y): rounding 1/2, tails 1/4, bins the rest


@dataclass(frozen=True)
class TableIndex:
    """How a stored integer addresses a table: index = clamp((raw >> shift) - offset, 0, size - 1)."""

    shift: int
    offset: int
    size: int
    first: int | None = None  # first stored integer of entry 0 when it is not offset << shift (see table_index)
    identity_from: int | None = None  # stored integers >= it bypass the table: y = out(x) (see accurate_table)
    toward_zero: bool = False  # the shift truncates toward zero (hls4ml's int conversion), not down

    def lookup_index(self, raw: np.ndarray) -> np.ndarray:
        idx = np.asarray(raw, dtype=np.int64)
        if self.toward_zero:
            idx = np.where(idx < 0, idx + ((1 << self.shift) - 1), idx)
        idx = idx >> self.shift
        idx -= self.offset
        return np.clip(idx, 0, self.size - 1, out=idx)

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


def evaluate(fn, x: np.ndarray, where: str, saturate: bool = False) -> np.ndarray:
    """fn at x in float64; a value that is not finite is an error (or, with `saturate`, an infinity is kept
    for the caller to clip to its format)."""
    with np.errstate(all="ignore"):
        values = np.asarray(fn(x), dtype=np.float64)
    bad = np.isnan(values) if saturate else ~np.isfinite(values)
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


def lookup(raw: np.ndarray, index: TableIndex, table: np.ndarray, in_fmt: FixedFormat | None = None,
           out_fmt: FixedFormat | None = None) -> np.ndarray:
    """The entries the stored integers `raw` select (and out(x) from `index.identity_from` on, which needs
    the input and entry formats)."""
    y = np.asarray(table, dtype=np.int64)[index.lookup_index(raw)]
    if getattr(index, "identity_from", None) is None:  # (recurrent tables may use hls4ml's own index)
        return y
    raw = np.asarray(raw, dtype=np.int64)
    passed = np.asarray(requantize(raw, in_fmt.f, out_fmt)).astype(np.int64)
    return np.where(raw >= index.identity_from, passed, y)


MAX_BIN_TABLE = 1 << 17  # 1 MB of int64 entries; a gather touches only the bins its inputs reach


def bin_table(index: TableIndex, table: np.ndarray, in_fmt: FixedFormat) -> np.ndarray | None:
    """The entry of every bin q = raw >> shift of in_fmt (the clamp and the offset applied once), at position
    q (a negative q from the end, as NumPy indexes): `lookup` becomes one shift and one gather
    (`bin_lookup`).  None for indices that truncate toward zero or tables above MAX_BIN_TABLE positions."""
    if not isinstance(index, TableIndex) or index.toward_zero or in_fmt.width > 62:
        return None
    q_lo, q_hi = in_fmt.min_int >> index.shift, in_fmt.max_int >> index.shift
    size = max(q_hi - q_lo + 1, q_hi + 1, -q_lo)
    if size > MAX_BIN_TABLE:
        return None
    q = np.arange(q_lo, q_hi + 1, dtype=np.int64)
    out = np.zeros(size, dtype=np.int64)
    out[q % size] = np.asarray(table, dtype=np.int64)[np.clip(q - index.offset, 0, index.size - 1)]
    return out


def bin_lookup(raw: np.ndarray, index: TableIndex, by_bin: np.ndarray, in_fmt: FixedFormat | None = None,
               out_fmt: FixedFormat | None = None) -> np.ndarray:
    """`lookup` through the table of `bin_table` (the result in raw's layout: `memory_order`)."""
    dense, back = memory_order(np.asarray(raw, dtype=np.int64))
    y = _bin_lookup(dense, index, by_bin, in_fmt, out_fmt)
    return y if back == sorted(back) else y.transpose(back)


def _bin_lookup(raw: np.ndarray, index: TableIndex, by_bin: np.ndarray, in_fmt: FixedFormat | None,
                out_fmt: FixedFormat | None) -> np.ndarray:
    bins = raw >> index.shift if index.shift else raw
    y = np.asarray(by_bin.take(bins, mode="wrap"))  # negative bins from the end (a 0-d raw: take gives a scalar)
    if index.identity_from is None:
        return y
    if out_fmt.f == in_fmt.f and out_fmt.covers(in_fmt):  # out(x) = x
        np.copyto(y, raw, where=raw >= index.identity_from)
        return y
    passed = np.asarray(requantize(raw, in_fmt.f, out_fmt)).astype(np.int64)
    return np.where(raw >= index.identity_from, passed, y)


# --- hls4ml 1.3's tables (nnet_activation.h) -------------------------------------------------------------
HLS4ML_TABLE_T = FixedFormat.parse("ap_fixed<18,8>")  # the default table_t of hls4ml's activations
HLS4ML_SPANS = {"sigmoid": 16, "tanh": 8, "elu": 8}  # sigmoid/tanh cover [-span/2, span/2), elu [-span, 0]


def hls4ml_index(in_fmt: FixedFormat, size: int, span: int, centre: int) -> tuple[TableIndex, np.ndarray]:
    """hls4ml's index clamp(int(x * size / span) + centre, 0, size - 1) (the int conversion truncating toward
    zero) as a TableIndex, and the positions in hls4ml's table of its entries.  Bins of 2^k stored integers
    (k = f + log2(span / size) >= 0) keep hls4ml's table; bins below one LSB (k < 0) keep only the entries some
    input reaches (every 2^-k-th, plus the clamped ends)."""
    k = in_fmt.f + (span.bit_length() - 1) - (size.bit_length() - 1)
    if k >= 0:
        return TableIndex(k, -centre, size, toward_zero=True), np.arange(size)
    m = -k  # index = raw * 2^m + centre, exact
    lo_raw = -((centre) >> m)  # smallest raw whose index is >= 0: ceil(-centre / 2^m)
    hi_raw = (size - 1 - centre) >> m
    lo_raw, hi_raw = max(lo_raw, in_fmt.min_int), min(hi_raw, in_fmt.max_int)
    pos = [r * (1 << m) + centre for r in range(lo_raw, hi_raw + 1)]
    low = bool(in_fmt.min_int < lo_raw and pos and pos[0] > 0)
    high = bool(in_fmt.max_int > hi_raw and pos and pos[-1] < size - 1)
    pos = [0] * low + pos + [size - 1] * high
    return TableIndex(0, lo_raw - low, len(pos)), np.asarray(pos, dtype=np.int64)


def hls4ml_function(fn: Callable[[np.ndarray], np.ndarray]) -> tuple[str, float] | None:
    """Which of hls4ml's table activations fn is — ("sigmoid" | "tanh", 1.0) or ("elu", alpha) — by its
    values; None for any other function."""
    x = np.linspace(-6.0, 6.0, 97)
    with np.errstate(all="ignore"):
        y = np.asarray(fn(x), dtype=np.float64)
    if not np.isfinite(y).all():
        return None
    tol = 1e-6
    if np.allclose(y, 1.0 / (1.0 + np.exp(-x)), rtol=0, atol=tol):
        return "sigmoid", 1.0
    if np.allclose(y, np.tanh(x), rtol=0, atol=tol):
        return "tanh", 1.0
    alpha = float(y[0] / np.expm1(x[0]))
    if np.allclose(y, np.where(x > 0, x, alpha * np.expm1(x)), rtol=0, atol=tol * max(1.0, abs(alpha))):
        return "elu", alpha
    return None


def hls4ml_float_entries(name: str, size: int) -> np.ndarray:
    """hls4ml's init_<name>_table values in single precision: the function at each entry's input (sigmoid,
    tanh: span * (j - size/2) / size; elu: -8 j / size), computed as its C++ does."""
    if name == "elu":  # float in_val = -8.0 * ii / float(N); std::exp(float) - 1. (double) -> float
        x = (-8.0 * np.arange(size) / np.float32(size)).astype(np.float32)
        return (np.exp(x.astype(np.float64)).astype(np.float32).astype(np.float64) - 1.0).astype(np.float32)
    span = HLS4ML_SPANS[name]
    x = (2 * (span / 2) * (np.arange(size) - size / 2.0) / float(size)).astype(np.float32)
    if name == "sigmoid":  # 1.0 / (1 + std::exp(-x)): expf, a float sum, a double quotient returned as float
        e = np.exp(-x.astype(np.float64)).astype(np.float32)
        return (1.0 / (np.float32(1) + e).astype(np.float64)).astype(np.float32)
    return np.tanh(x.astype(np.float64)).astype(np.float32)


def hls4ml_table(name: str, alpha: float, in_fmt: FixedFormat, out_fmt: FixedFormat, size: int,
                 table_t: FixedFormat = HLS4ML_TABLE_T, param_t: FixedFormat | None = None
                 ) -> tuple[TableIndex, np.ndarray]:
    """hls4ml 1.3's table of sigmoid / tanh / elu over in_fmt (`hls4ml_function`'s name and parameter): its
    index, and its entries assigned to table_t and then to out_fmt (elu: alpha, assigned to param_t, times the
    entry, then out_fmt; x >= 0 passes x).  Without a param_t (an "auto" weight) alpha is assigned to table_t."""
    stored = quantize(hls4ml_float_entries(name, size).astype(np.float64), table_t)
    if name == "elu":  # index = int(x * N / -8) for x < 0: reversed, it is int(x * N / 8) + N - 1
        index, pos = hls4ml_index(in_fmt, size, HLS4ML_SPANS[name], size - 1)
        pos = (size - 1) - pos
        fa = param_t if param_t is not None else table_t
        a = int(quantize(np.float64(alpha), fa))
        values = requantize(np.asarray(stored).astype(object) * a, table_t.f + fa.f, out_fmt)
        index = dataclasses.replace(index, identity_from=0)
    else:
        index, pos = hls4ml_index(in_fmt, size, HLS4ML_SPANS[name], size // 2)
        values = requantize(stored, table_t.f, out_fmt)
    return index, np.asarray(values, dtype=np.int64)[pos]


# --- accurate default tables ------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccurateTable:
    """A default table sized by `accurate_table`: its index, stored entries (format `entry`) and the largest
    error |y - f(x)| over the checked inputs where f(x) (and x, where it bypasses the table) lies in the entry
    format's range."""

    index: TableIndex
    values: np.ndarray
    entry: FixedFormat
    error: float
    exhaustive: bool  # every input value was checked (else 2^EXHAUSTIVE_BITS evenly spaced ones)


def entry_format(out_fmt: FixedFormat) -> FixedFormat:
    """Accurate tables round their entries to nearest, whatever the result's rounding mode (an entry is a
    constant: only its value matters, and round-to-nearest halves its error)."""
    return out_fmt.with_modes(rounding="RND")


def tail_tolerance(out_fmt: FixedFormat) -> float:
    """tau: outside the table range the function is within LSB(out) / 4 of the value it is given there."""
    return 2.0 ** -out_fmt.f / 4


def accurate_table(fn: Callable[[np.ndarray], np.ndarray], in_fmt: FixedFormat, out_fmt: FixedFormat,
                   where: str = "the lut", max_entries: int = 1 << ACCURATE_INDEX_BITS,
                   identity: bool = True) -> AccurateTable | None:
    """The default table of fn from in_fmt to out_fmt (None when fn is NaN at some input).

    Range: the table covers [lo, hi) with lo the largest bin edge below which fn stays within tau
    (`tail_tolerance`) of f(lo), and hi the smallest bin edge from which on fn stays within tau of
    f(hi - LSB) (those inputs take the last entry) or, with `identity`, of x itself (they bypass the table:
    y = out(x)).  Values outside out's range count as saturated (f clipped to it).  Bins: the widest
    power-of-two bin (of at most `max_entries` entries) whose table is within TARGET_LSBS * LSB(out) of fn at
    every checked input, or, when even the narrowest bin that fits misses that, the narrowest bin that fits
    (its error is `error`, bounded by `error_bound`)."""
    w = in_fmt.width
    if w > 62:  # the checked inputs are int64 stored integers
        return None
    sb = max(w - EXHAUSTIVE_BITS, 0)  # the checked inputs are every 2^sb-th stored integer
    raws = np.arange(in_fmt.min_int >> sb, (in_fmt.max_int >> sb) + 1, dtype=np.int64) << sb
    xs = to_float(raws, in_fmt.f)
    with np.errstate(all="ignore"):
        f_x = np.asarray(fn(xs), dtype=np.float64)
    if np.isnan(f_x).any():
        return None
    entry = entry_format(out_fmt)
    lo_v, hi_v = entry.min_value, entry.max_value
    f_c = np.clip(f_x, lo_v, hi_v)  # what a saturating result can hold
    tau = tail_tolerance(out_fmt)
    # lo_ok[i]: every input below x_i is within tau of f(x_i); hi_ok[i]: every input above x_i is within tau of
    # f(x_i); id_ok[i]: every input from x_i on is within tau of x_i's own value
    pre_hi, pre_lo = np.maximum.accumulate(f_c), np.minimum.accumulate(f_c)
    lo_ok = np.maximum(pre_hi - f_c, f_c - pre_lo) <= tau
    suf_hi, suf_lo = (np.maximum.accumulate(f_c[::-1])[::-1], np.minimum.accumulate(f_c[::-1])[::-1])
    hi_ok = np.maximum(suf_hi - f_c, f_c - suf_lo) <= tau
    id_ok = np.maximum.accumulate(np.abs(f_c - np.clip(xs, lo_v, hi_v))[::-1])[::-1] <= tau if identity else None
    in_range = (f_x >= lo_v) & (f_x <= hi_v)
    chosen, target = None, None
    for shift in range(sb, w + 1):  # from the finest bins that fit to wider ones while the error allows
        index = _accurate_index(raws, sb, shift, lo_ok, hi_ok, id_ok, in_fmt)
        if index.size > max_entries:
            continue
        values = np.asarray(quantize(np.clip(evaluate(fn, index.centres(in_fmt), where, saturate=True),
                                             lo_v, hi_v), entry), dtype=np.int64)
        y = lookup(raws, index, values, in_fmt, out_fmt)
        inside = in_range if index.identity_from is None else in_range & (
            (raws < index.identity_from) | ((xs >= lo_v) & (xs <= hi_v)))  # a bypassed x must fit out too
        err = float(np.max(np.abs(to_float(y, entry.f) - f_x)[inside], initial=0.0))
        if target is None:
            target = max(err, TARGET_LSBS * 2.0 ** -out_fmt.f)
        elif err > target:
            break
        chosen = AccurateTable(index, values, entry, err, sb == 0)
    return chosen


def _accurate_index(raws, sb: int, shift: int, lo_ok, hi_ok, id_ok, in_fmt: FixedFormat) -> TableIndex:
    """The table range of `accurate_table` for bins of 2^shift stored integers."""
    bin_raw = 1 << shift
    aligned = (raws & (bin_raw - 1)) == 0
    cand = np.flatnonzero(aligned & lo_ok)
    lo = int(raws[cand[-1]]) if cand.size else (in_fmt.min_int >> shift) << shift
    end = ((in_fmt.max_int >> shift) + 1) << shift  # a table up to the format's end needs no tail
    # constant tail from hi: the last point inside, hi - 2^sb, must be hi_ok
    last_inside = np.concatenate([[False], hi_ok[:-1]]) & aligned  # at index i: hi = raws[i] with raws[i-1] ok
    cand = np.flatnonzero(last_inside & (raws > lo))
    hi = int(raws[cand[0]]) if cand.size else end
    identity_from = None
    if id_ok is not None:
        cand = np.flatnonzero(aligned & id_ok & (raws > lo))
        if cand.size and int(raws[cand[0]]) < hi:
            hi = identity_from = int(raws[cand[0]])
    return TableIndex(shift, lo >> shift, max(1, (hi - lo) >> shift), identity_from=identity_from)


def error_bound(index: TableIndex, in_fmt: FixedFormat, out_fmt: FixedFormat, slope: float) -> float:
    """B with |y - f(x)| <= B for every input x whose f(x) (and x, where it bypasses the table) lies in out's
    range, for an `accurate_table` of
    a function with |f'| <= slope on the table's range:  B = LSB/2 + tau + slope * w / 2 (w the bin width),
    and for inputs that bypass the table tau plus the rounding of x onto out.  Derivation: docs/layers.md."""
    lsb = 2.0 ** -out_fmt.f
    w = 2.0 ** (index.shift - in_fmt.f)
    b = lsb / 2 + tail_tolerance(out_fmt) + slope * w / 2
    if index.identity_from is not None and out_fmt.f < in_fmt.f:
        b = max(b, tail_tolerance(out_fmt) + (lsb if out_fmt.rounding in ("TRN", "TRN_ZERO") else lsb / 2))
    return b
