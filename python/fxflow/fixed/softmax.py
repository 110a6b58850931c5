"""Softmax on stored integers: the table-based algorithms of hls4ml 1.3 (`nnet_activation.h`), exactly.

Formats (`SoftmaxFormats`): X the input, Y the result, and the intermediates
  norm    (stable only) x_max - x is assigned to it (hls4ml's inp_norm_t, default ap_ufixed<W-1, I-1>)
  exp     the entries of the exp table (exp_table_t), accum the sum of exponentials (accum_t),
  inv_in  the sum is assigned to it before it indexes the inverse table (inv_inp_t),
  inv     the entries of the inverse table (inv_table_t).
A table of 2^n entries is indexed by the top n bits of the stored word (two's complement, W bits):
index(raw) = (raw mod 2^W) >> (W - n).  Entry i holds the function at the *lowest* value with those top
bits (hls4ml's `softmax_real_val_from_idx`; for a signed word, i >= 2^(n-1) is negative), evaluated as hls4ml
does in single precision: v = float32(value); exp entries float32(exp(+-v)) (correctly rounded; glibc's
expf is within 0.502 ULP of it), inverse entries float32(1) / v, each then assigned to the entry format
(an infinite float saturates under SAT modes and gives 0 otherwise, as the ap_types headers do).

  stable:  d = norm(x_max - x); e = accum(exp[index(d)]); s = tree sum of e in accum;
           y = Y(e * inv[index(inv_in(s))])                       with exp(-v) entries
  latency: the same without the max: e = accum(exp[index(x)])    with exp(+v) entries
  argmax:  Y(1) at the first maximum, Y(0) elsewhere.
The tree sum is hls4ml's `reduce`: split n into the largest power of two below n and the rest, sum
each half recursively, every partial sum assigned to accum.

`accurate_formats` sizes the stable algorithm's tables from the input format and range instead of hls4ml's
fixed ap_fixed<18,8> tables: every table is indexed by *all* bits of its index word (so the only index error is
the rounding of d and of the sum onto those words), and `error_bound` states what that leaves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .format import FixedFormat
from .quantize import quantize, requantize, saturation_bounds, to_float

IMPLEMENTATIONS = ("stable", "latency", "argmax")
HLS4ML_TABLE = FixedFormat.parse("ap_fixed<18,8,AP_RND,AP_SAT>")  # exp/inv table, inv input defaults
DEFAULT_TABLE_SIZE = 1024
ACCURATE_INDEX_BITS = 12  # accurate tables have at most 2^12 entries unless a table size is configured
FLOAT32_EPS = 2.0**-24  # entries are evaluated in single precision (as hls4ml does) before they are rounded


@dataclass(frozen=True)
class SoftmaxFormats:
    exp: FixedFormat
    inv: FixedFormat
    inv_in: FixedFormat
    accum: FixedFormat
    norm: FixedFormat | None  # stable only
    exp_size: int
    inv_size: int


def default_norm(x: FixedFormat) -> FixedFormat:
    """hls4ml's inp_norm_t: the input's magnitude bits, unsigned (ap_ufixed<W-k, I-k>), TRN/WRAP."""
    return FixedFormat(0, x.i, x.f)


def exact_accum(exp: FixedFormat, n: int) -> FixedFormat:
    """An accumulator that holds the sum of n exp entries exactly (exp's grid, ceil(log2 n) more bits)."""
    grow = max(n - 1, 0).bit_length()
    return FixedFormat(exp.k, exp.i + grow, exp.f, exp.rounding, exp.overflow)


def capped_size(size: int, fmt: FixedFormat) -> int:
    """A table indexed by fmt's top bits has at most 2^W entries."""
    return min(size, 1 << fmt.width)


def index_bits(size: int) -> int:
    return size.bit_length() - 1


def top_bits(raw: np.ndarray, fmt: FixedFormat, n: int) -> np.ndarray:
    """The top n bits of the W-bit two's complement word of each stored integer, as an unsigned index."""
    w = fmt.width
    u = np.asarray(raw, dtype=np.int64) & ((1 << w) - 1)
    return u >> (w - n)


def top_bits_values(fmt: FixedFormat, n: int) -> np.ndarray:
    """float64 value of the word whose top n bits are i and the others 0, for every i < 2^n."""
    w = fmt.width
    u = np.arange(1 << n, dtype=np.int64) << (w - n)
    if fmt.signed:
        u = np.where(u >= (1 << (w - 1)), u - (1 << w), u)
    return to_float(u, fmt.f)


def _float32_to_format(v32: np.ndarray, fmt: FixedFormat) -> np.ndarray:
    """A float32 array assigned to fmt; infinities saturate (SAT, SAT_SYM) or give 0 (other modes)."""
    v = np.asarray(v32, dtype=np.float64)
    inf = np.isinf(v)
    out = quantize(np.where(inf, 0.0, v), fmt).astype(np.int64)
    if inf.any():
        if fmt.overflow in ("SAT", "SAT_SYM"):
            lo = -fmt.max_int if fmt.overflow == "SAT_SYM" and fmt.signed and fmt.width > 1 else fmt.min_int
            out = np.where(inf & (v > 0), fmt.max_int, np.where(inf, lo, out))
        else:
            out = np.where(inf, 0, out)
    return out


def exp_table(index_fmt: FixedFormat, size: int, entry: FixedFormat, negative: bool) -> np.ndarray:
    """Stored integers of exp(-v) (negative, stable) or exp(v) (latency) over index_fmt's top bits."""
    v = top_bits_values(index_fmt, index_bits(size)).astype(np.float32)
    if negative:
        v = -v
    with np.errstate(over="ignore"):
        e = np.exp(v.astype(np.float64)).astype(np.float32)
    return _float32_to_format(e, entry)


def inv_table(index_fmt: FixedFormat, size: int, entry: FixedFormat) -> np.ndarray:
    """Stored integers of 1 / v over index_fmt's top bits (v = 0 gives +inf)."""
    v = top_bits_values(index_fmt, index_bits(size)).astype(np.float32)
    with np.errstate(divide="ignore"):
        r = np.float32(1.0) / v
    return _float32_to_format(r, entry)


def tree_sum(terms: list[np.ndarray], fmt: FixedFormat) -> np.ndarray:
    """hls4ml's balanced `reduce` with Op_add: every partial sum assigned to fmt (terms on fmt's grid)."""
    n = len(terms)
    if n == 1:
        return terms[0]
    left = 1 << ((n - 1).bit_length() - 1)  # the largest power of two below n
    a, b = tree_sum(terms[:left], fmt), tree_sum(terms[left:], fmt)
    return requantize(a + b, fmt.f, fmt)


def _row_max(raw: np.ndarray) -> np.ndarray:
    """raw.max(axis=-1, keepdims=True) as one running elementwise maximum over the columns (a NumPy reduction
    along a short last axis, or maxima of column halves, which allocate strided temporaries, are several times
    slower)."""
    n = raw.shape[-1]
    if n == 1:
        return raw.copy()
    m = np.asarray(np.maximum(raw[..., 0], raw[..., 1]))  # (a 0-d array for one row)
    for j in range(2, n):
        np.maximum(m, raw[..., j], out=m)
    return m[..., None]


ROW_SUM_EXACT, ROW_SUM_WRAP, ROW_SUM_TREE = "exact", "wrap", "tree"


def row_sum_mode(n: int, entries: np.ndarray, acc: FixedFormat) -> str:
    """How `_row_sum` adds n terms drawn from `entries` (stored integers of acc).  Every partial sum is on acc's
    grid, so its assignment only applies the overflow mode: when no partial sum can leave acc's range (n times
    the largest entry magnitude, and no negative entry for an unsigned acc) the plain sum is exact (EXACT); when
    acc wraps (the wrap commutes with the sum) it is the plain sum assigned once (WRAP); else the tree sum (TREE).
    The plain sums stay below 2^62 in magnitude."""
    lo, hi = (int(entries.min()), int(entries.max())) if entries.size else (0, 0)
    lo_acc, hi_acc = saturation_bounds(acc)
    fits = n * max(hi, 0) <= hi_acc and n * min(lo, 0) >= lo_acc
    if acc.width <= 62 and n * max(hi, -lo, 1) < 2**62 and (fits or acc.overflow == "WRAP"):
        return ROW_SUM_EXACT if fits else ROW_SUM_WRAP
    return ROW_SUM_TREE


def _row_sum(e: np.ndarray, entries: np.ndarray, acc: FixedFormat) -> np.ndarray:
    """tree_sum of the last axis of e (stored integers of acc, drawn from `entries`), the plain sum when
    `row_sum_mode` allows."""
    mode = row_sum_mode(e.shape[-1], entries, acc)
    if mode == ROW_SUM_TREE:
        return tree_sum([e[..., j] for j in range(e.shape[-1])], acc)
    total = np.einsum("...k->...", e)
    return total if mode == ROW_SUM_EXACT else requantize(total, acc.f, acc)


@lru_cache(maxsize=64)
def _accum_table(exp_bytes: bytes, exp_f: int, accum: FixedFormat) -> np.ndarray:
    """The exp entries (int64 bytes) assigned to accum."""
    return np.asarray(requantize(np.frombuffer(exp_bytes, dtype=np.int64), exp_f, accum), dtype=np.int64)


MAX_DIFF_TABLE = 1 << 16


@lru_cache(maxsize=64)
def _diff_table(exp_bytes: bytes, x: FixedFormat, norm: FixedFormat, exp_f: int, accum: FixedFormat):
    """accum(exp[index(norm(delta))]) for delta = x_max - x = 0, 1, ..., D (stored integers of x's grid), every
    delta >= D taking entry D: the stable softmax's per-element chain as one gather.  D is where a saturating
    norm reaches its maximum (rounding and saturation are monotone, so every larger delta gives it too), or
    the largest delta x's range allows; None when that table would exceed MAX_DIFF_TABLE entries."""
    limit = min(1 << x.width, MAX_DIFF_TABLE)  # x_max - x < 2^W
    d = np.asarray(requantize(np.arange(limit, dtype=np.int64), x.f, norm), dtype=np.int64)
    if norm.overflow in ("SAT", "SAT_SYM") and not norm.signed:
        hit = np.flatnonzero(d == saturation_bounds(norm)[1])
        if hit.size:
            d = d[:hit[0] + 1]
        elif limit < 1 << x.width:
            return None
    elif limit < 1 << x.width:
        return None
    exp_tab = np.frombuffer(exp_bytes, dtype=np.int64)
    return _accum_table(exp_bytes, exp_f, accum)[top_bits(d, norm, index_bits(len(exp_tab)))]


@dataclass(frozen=True)
class PreparedTables:
    """The gathers of a table softmax: `accum` the exp entries assigned to accum (indexed by the top exp_bits
    bits), `by_diff` the stable softmax's entry by x_max - x (`_diff_table`, None when not built), `inv` the
    inverse entries (indexed by the top inv_bits bits of inv_in)."""
    accum: np.ndarray
    by_diff: np.ndarray | None
    inv: np.ndarray
    exp_bits: int
    inv_bits: int


def prepared_tables(x: FixedFormat, implementation: str, fm: SoftmaxFormats, exp_tab: np.ndarray | None = None,
                    inv_tab: np.ndarray | None = None) -> PreparedTables:
    """The tables `softmax` gathers from (the attached ones, or built from fm)."""
    stable = implementation == "stable"
    if exp_tab is None:
        exp_tab = exp_table(fm.norm if stable else x, fm.exp_size, fm.exp, negative=stable)
    if inv_tab is None:
        inv_tab = inv_table(fm.inv_in, fm.inv_size, fm.inv)
    exp_bytes = np.asarray(exp_tab, dtype=np.int64).tobytes()
    # each entry assigned to accum: done on the table (elementwise, so the same as on the gathered entries)
    acc_tab = _accum_table(exp_bytes, fm.exp.f, fm.accum)
    by_diff = _diff_table(exp_bytes, x, fm.norm, fm.exp.f, fm.accum) if stable else None
    return PreparedTables(acc_tab, by_diff, np.asarray(inv_tab, dtype=np.int64), index_bits(len(exp_tab)),
                          index_bits(len(inv_tab)))


def softmax(raw: np.ndarray, x: FixedFormat, y: FixedFormat, implementation: str,
            fm: SoftmaxFormats | None, exp_tab: np.ndarray | None = None, inv_tab: np.ndarray | None = None):
    """Softmax along the last axis of stored integers `raw` (format x) -> stored integers of y.

    The tables may be passed in (as attached to the op); by default they are built from `fm`."""
    raw = np.asarray(raw, dtype=np.int64)
    if implementation == "argmax":
        first = np.argmax(raw, axis=-1)
        hot = np.arange(raw.shape[-1]) == first[..., None]
        one, zero = (int(v) for v in quantize(np.array([1.0, 0.0]), y))
        return np.where(hot, one, zero).astype(np.int64)
    stable = implementation == "stable"
    t = prepared_tables(x, implementation, fm, exp_tab, inv_tab)
    if t.by_diff is not None:  # the entry of every x_max - x at once
        e = t.by_diff.take(_row_max(raw) - raw, mode="clip")  # x_max - x >= 0; the last entry from D on
    else:
        if stable:
            d = requantize(_row_max(raw) - raw, x.f, fm.norm)
            idx = top_bits(d, fm.norm, t.exp_bits)
        else:
            idx = top_bits(raw, x, t.exp_bits)
        e = t.accum[idx]
    s = _row_sum(e, t.accum, fm.accum)
    s_in = requantize(s, fm.accum.f, fm.inv_in)
    inv = t.inv[top_bits(s_in, fm.inv_in, t.inv_bits)]
    if fm.accum.width + fm.inv.width > 62:  # the exact product needs Python ints
        e, inv = e.astype(object), inv.astype(object)
        return requantize(e * inv[..., None], fm.accum.f + fm.inv.f, y)
    np.multiply(e, inv[..., None], out=e)  # e is this function's gather: no fresh megabyte-sized product
    return requantize(e, fm.accum.f + fm.inv.f, y)


# --- accurate default tables (stable) ---------------------------------------------------------------------
def accurate_formats(x: FixedFormat, d_max: float, n: int, target_f: int, exp_bits: int = ACCURATE_INDEX_BITS,
                     inv_bits: int = ACCURATE_INDEX_BITS) -> SoftmaxFormats:
    """Table formats of the stable softmax aiming at an error of 2^-target_f (see `error_bound`).

    d = max - x lies in [0, d_max] (from the input format or the calibration range); exp(-d) below
    2^-target_f / (8 (n+1)) is cut off by a saturating norm word.  The norm word keeps x's grid when it fits
    in `exp_bits` (and is not finer than the target needs), else rounds d to nearest; the sum, which lies in
    [1, n], is rounded to nearest onto a word of at most `inv_bits` bits.  Entries carry enough fractional bits that their rounding adds <= 2^-target_f / 8."""
    grow = max(n, 1).bit_length()  # ceil(log2(n + 1))
    exp = FixedFormat(0, 1, target_f + 2 + grow, "RND", "SAT")
    cut = math.log(8 * (n + 1)) + target_f * math.log(2)  # exp(-cut) * (n+1) <= 2^-target_f / 8
    span = min(max(d_max, 0.0), cut)
    i_n = max(0, math.floor(math.log2(span)) + 1) if span > 0 else 0
    f_n = min(x.f, exp_bits - i_n, target_f + 3)  # 2a <= 2^-(f_n) <= 2^-target_f / 8
    norm = FixedFormat(0, i_n, f_n, "TRN" if f_n >= x.f else "RND", "SAT")
    accum = exact_accum(exp, n)
    i_in = max(n, 1).bit_length()  # 2^i_in > n >= the sum
    inv_in = FixedFormat(0, i_in, min(exp.f, inv_bits - i_in, target_f + 2), "RND", "SAT")  # g/2 <= 2^-target_f / 8
    inv = FixedFormat(0, 1, target_f + 3, "RND", "SAT")
    return SoftmaxFormats(exp, inv, inv_in, accum, norm, 1 << norm.width, 1 << inv_in.width)


def error_bound(fm: SoftmaxFormats, x: FixedFormat, n: int, d_max: float) -> float:
    """B with |y - softmax(x)| <= B + LSB(y) (LSB/2 for a round-to-nearest y) for every row of n inputs
    whose d = max - x lies in [0, d_max], for tables indexed by all bits of their index words (as
    `accurate_formats` builds them; exp(0) = 1 and sums >= 1 are then exact):
        B = e_inv + g/2 + 2a + (n + 1) (e_exp + t)
    e_exp, e_inv: an entry's rounding (2^-(f+1), plus float32 evaluation); g: the LSB of the inverse's index
    word; a = exp(h/2) - 1 with h the LSB of the norm word when it rounds d (else 0); t = exp(-D) when d can
    exceed the norm word's maximum D (else 0).  Derivation: docs/layers.md, "Softmax accuracy"."""
    norm = fm.norm
    e_exp = 2.0 ** -(fm.exp.f + 1) + FLOAT32_EPS
    e_inv = 2.0 ** -(fm.inv.f + 1) + FLOAT32_EPS
    g = 2.0 ** -fm.inv_in.f
    a = math.expm1(2.0 ** -(norm.f + 1)) if norm.f < x.f else 0.0
    t = math.exp(-norm.max_value) if d_max > norm.max_value else 0.0
    return e_inv + g / 2 + 2 * a + (n + 1) * (e_exp + t)


def exact_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """The real softmax along `axis` in float64: the reference every fixed-point softmax (table-based or
    HCCS) is measured against, and what the float program evaluates."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
