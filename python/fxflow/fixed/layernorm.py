"""LayerNorm and RMSNorm on stored integers (`fxp.layernorm`), and their float64 reference.

Per row of n normalized elements x_j (formats in `NormFormats`; `derived_formats` gives the two exact
intermediates both executors declare):
  s = accum(0); s = accum(s + x_j) in order j        (LayerNorm only)
  m = mean_t(s); m = trunc(m / n)                     (in place: mean_t holds the sum; toward zero on its grid,
                                                        as ap_fixed's `/= n`)
  d_j = x_j - m  exactly, in diff_t                   (RMSNorm: d_j = x_j, m = 0)
  q = sq_t(0); q = sq_t(q + d_j * d_j)                (sq_t exact: no rounding, no overflow)
  v = var_t(q); v = trunc(v / n)                     (in place likewise)
  r = inv_sqrt(v)  = inv_std_t(floor(1 / sqrt(v + eps'))), eps' = epsilon rounded up onto var_t's grid,
                     by bisection over r's bits (r^2 (V + E) <= 2^(2 f_r + f_v) on the stored integers; a value
                     above inv_std_t's range gives its maximum)
  t_j = norm_t(d_j * r);  y_j = result(t_j * gamma_j + beta_j)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from .format import FixedFormat
from .matmul import exact_matmul_accum, format_sum_bound, ordered_sum, ordered_sum_grid, sum_at_once
from .quantize import requantize

INT64_SAFE_BITS = 62


@dataclass(frozen=True)
class NormFormats:
    accum: FixedFormat  # the row sum (LayerNorm)
    mean: FixedFormat
    var: FixedFormat  # unsigned
    inv_std: FixedFormat  # unsigned
    norm: FixedFormat  # (x - mean) * inv_std


@lru_cache(maxsize=256)  # (per call of a predict chunk: the formats' arithmetic costs more than a small chunk)
def derived_formats(x: FixedFormat, fm: NormFormats, n: int, rms: bool) -> tuple[FixedFormat, FixedFormat]:
    """(diff_t, sq_t): the exact type of x - mean (x itself for RMSNorm) and the exact sum of n squares."""
    diff = x if rms else x.add_result(fm.mean, subtract=True)
    return diff, exact_matmul_accum(diff, diff, n)


@lru_cache(maxsize=256)
def epsilon_units(eps: float, var: FixedFormat) -> int:
    """E: epsilon in units of var's LSB, rounded up (so a zero variance stays finite when epsilon > 0)."""
    e = Fraction(eps) * (Fraction(2) ** var.f)
    return -((-e.numerator) // e.denominator)


def divide_toward_zero(a: np.ndarray, n: int) -> np.ndarray:
    """a / n truncated toward zero (integers): ap_fixed's division by an unsigned integer on its own grid.
    For n = 2^k on int64 an arithmetic shift of a + (n - 1 where a < 0): no integer division."""
    a = np.asarray(a)
    if a.dtype == np.int64 and n > 0 and n & (n - 1) == 0:
        k = n.bit_length() - 1
        if k == 0:
            return a.copy()
        q = a >> 63  # -1 where a < 0
        q &= n - 1
        q += a  # |a| < 2^62 (int64 stored integers of at most 62 bits): no overflow
        q >>= k
        return q
    q = np.abs(a) // n
    return np.where(a < 0, -q, q)


def _ints(a, bits: int) -> np.ndarray:
    """int64 (or Python ints past 62 bits); no copy when `a` already is int64."""
    return np.asarray(a).astype(np.int64 if bits <= INT64_SAFE_BITS else object, copy=False)


def inv_sqrt(v: np.ndarray, var: FixedFormat, eps_units: int, inv: FixedFormat) -> np.ndarray:
    """Stored integers r of inv (unsigned): the largest r < 2^W with r^2 (v + E) <= 2^(2 f_r + f_v)."""
    w = inv.width
    p = 2 * inv.f + var.f
    if closed_form_power(var, eps_units, inv) is not None:
        return _inv_sqrt_int64(np.asarray(v).astype(np.int64) + int(eps_units), p, w)
    bits = 2 * w + var.width + 2 + max(int(eps_units).bit_length(), 0)
    big = bits > INT64_SAFE_BITS or p > INT64_SAFE_BITS or p < 0
    ve = _ints(v, bits) + eps_units
    if big:
        ve = ve.astype(object)
    # compared exactly in integers: r^2 (V + E) <= 2^p, i.e. r^2 (V + E) 2^-p <= 1 when p < 0
    lim, scale = (1 << p, 1) if p >= 0 else (1, 1 << -p)
    r = np.zeros(np.shape(v), dtype=object if big else np.int64)
    for b in reversed(range(w)):
        t = r | (1 << b)
        prod = t * t * ve
        ok = (prod * scale if scale != 1 else prod) <= lim
        r = np.where(ok, t, r)
    return r


def closed_form_power(var: FixedFormat, eps_units: int, inv: FixedFormat) -> int | None:
    """p = 2 f_r + f_v when inv_sqrt takes its int64 closed form (2^p and v + E fit int64), else None."""
    p = 2 * inv.f + var.f
    fits = 0 <= p <= INT64_SAFE_BITS and max(var.width, int(eps_units).bit_length()) + 1 <= INT64_SAFE_BITS
    return p if fits else None


def _inv_sqrt_int64(ve: np.ndarray, p: int, w: int) -> np.ndarray:
    """inv_sqrt in closed form when 2^p fits int64: r^2 ve <= 2^p  <=>  r <= isqrt(floor(2^p / ve)), so r is
    that integer square root (a float64 estimate corrected by exact int64 comparisons) capped at 2^w - 1;
    ve = 0 gives the cap.  Same result as the bisection, without w passes."""
    top = (1 << w) - 1
    positive = ve.size == 0 or ve.min() > 0  # always when epsilon > 0 (E >= 1): no masking passes
    q = (1 << p) // ve if positive else np.where(ve > 0, (1 << p) // np.maximum(ve, 1), 0)
    # q <= 2^62; float64(q) and the rounded sqrt are each within a relative 2^-53, so the estimate is within
    # 2^31 2^-51 of sqrt(q) and its floor within 1 of isqrt(q): one correction each way (r^2 < 2^63)
    r = np.floor(np.sqrt(q, dtype=np.float64)).astype(np.int64)
    r -= r * r > q
    r += (r + 1) * (r + 1) <= q
    return np.minimum(r, top, out=r) if positive else np.where(ve > 0, np.minimum(r, top), top)


def layernorm(rows: np.ndarray, x: FixedFormat, gamma: np.ndarray, g_fmt: FixedFormat, beta: np.ndarray,
              b_fmt: FixedFormat, fm: NormFormats, eps: float, rms: bool, out: FixedFormat) -> np.ndarray:
    """Stored integers of out for rows [R, n] of stored integers of x (see the module doc).  Computed on the
    columns [n, R]: the per-row mean and inverse root and the per-column gamma and beta then broadcast along
    long contiguous rows (NumPy runs a broadcast over a short last axis n times slower).  The result is the
    transposed view of that [n, R] array; rows given as such a view are read without a copy."""
    n = rows.shape[-1]
    diff, sq = derived_formats(x, fm, n, rms)
    wide = _wide_bits(x, diff, n)
    xi = _ints(rows, wide).T
    if xi.dtype == np.int64:
        xi = np.ascontiguousarray(xi)
    if rms:
        d = xi
    else:
        s = ordered_sum(xi, x.f, fm.accum, x, axis=0)
        m = divide_toward_zero(_ints(requantize(s, fm.accum.f, fm.mean), wide), n)
        d = _to_exact(xi, x, diff, wide)
        d -= _to_exact(m, fm.mean, diff, wide)[None, :]
    if d.dtype == np.int64:  # sq_t holds the sum exactly (derived_formats) and |d|^2 n < 2^62 (`wide`)
        q = np.einsum("ij,ij->j", d, d)
    else:
        q = ordered_sum(d * d, 2 * diff.f, sq, axis=0)
    v = divide_toward_zero(_ints(requantize(q, sq.f, fm.var), wide), n)
    r = inv_sqrt(v, fm.var, epsilon_units(eps, fm.var), fm.inv_std)
    bits = _product_bits(diff, fm.inv_std)
    dr = _ints(d, bits)
    if dr.dtype == np.int64 and not rms:  # d is a temporary of this function: multiplied in place
        dr *= np.asarray(r, dtype=np.int64)[None, :]
    else:
        dr = dr * _ints(r, bits)[None, :]
    t = requantize(dr, diff.f + fm.inv_std.f, fm.norm)
    f, bits = _affine_grid(fm.norm, g_fmt, b_fmt)
    g_scaled, b_scaled = scaled_affine(gamma, g_fmt, beta, b_fmt, fm.norm)  # per column: costs nothing per row
    total = _ints(t, bits)
    if total.dtype == np.int64:
        total *= g_scaled[:, None]
        total += b_scaled[:, None]
    else:
        total = total * g_scaled[:, None] + b_scaled[:, None]
    return requantize(total, f, out).T


def _wide_bits(x: FixedFormat, diff: FixedFormat, n: int) -> int:
    """Bits holding x, the mean, the differences and the sum of their squares (the int64 path when <= 62)."""
    return max(diff.width * 2 + n.bit_length(), x.width + n.bit_length()) + 4


def _product_bits(diff: FixedFormat, inv: FixedFormat) -> int:
    """Bits holding d * r."""
    return diff.width + inv.width + 2


def _affine_grid(norm: FixedFormat, g_fmt: FixedFormat, b_fmt: FixedFormat) -> tuple[int, int]:
    """(f, bits): t * gamma + beta is summed on the grid 2^-f, where `bits` hold |t gamma| + |beta|."""
    pf = norm.f + g_fmt.f
    f = max(pf, b_fmt.f)
    return f, max(norm.width + g_fmt.width + f - pf, b_fmt.width + f - b_fmt.f) + 1


def scaled_affine(gamma: np.ndarray, g_fmt: FixedFormat, beta: np.ndarray, b_fmt: FixedFormat,
                  norm: FixedFormat) -> tuple[np.ndarray, np.ndarray]:
    """Stored gamma and beta scaled onto the grid of t * gamma + beta (`_affine_grid`)."""
    f, bits = _affine_grid(norm, g_fmt, b_fmt)
    return _ints(gamma, bits) * (1 << (f - norm.f - g_fmt.f)), _ints(beta, bits) * (1 << (f - b_fmt.f))


@dataclass(frozen=True)
class Int64Plan:
    """`layernorm`'s int64 path spelled out for a native kernel (emulator/kernels/layernorm.cpp): every
    assignment as (the grid f_from of its operand, the format), every exact conversion into diff_t as a left
    shift or None (an assignment), and the decisions on exactness taken here."""

    sum_shifts: tuple  # (g - f_x, g - f_accum): the ordered sum assigns (accum << s_a) + (x << s_x) from grid g
    sum_at_once: bool  # the exact sum assigned once equals the ordered sum (`sum_at_once`)
    diff_x: int | None  # x into diff_t: a left shift, or None: the assignment `assign["diff_x"]`
    diff_mean: int | None
    power: int  # r = min(isqrt(2^power // (v + E)), top), top for v + E <= 0
    eps_units: int
    top: int
    assign: dict  # name -> (f_from, format): accum, mean, diff_x, diff_mean, var, norm, out


@lru_cache(maxsize=256)
def int64_plan(x: FixedFormat, fm: NormFormats, n: int, rms: bool, eps: float, g_fmt: FixedFormat,
               b_fmt: FixedFormat, out: FixedFormat) -> Int64Plan | None:
    """The plan when every intermediate of `layernorm` on rows of n elements fits int64 (the conditions of its
    int64 path, checked on the formats), else None."""
    diff, sq = derived_formats(x, fm, n, rms)
    e = epsilon_units(eps, fm.var)
    p = closed_form_power(fm.var, e, fm.inv_std)
    bound, nonneg = format_sum_bound(x, n)
    g, sum_bits = ordered_sum_grid(bound, x.f, fm.accum)
    bits = (_wide_bits(x, diff, n), _product_bits(diff, fm.inv_std), _affine_grid(fm.norm, g_fmt, b_fmt)[1],
            0 if rms else sum_bits)
    if n < 1 or p is None or max(bits) > INT64_SAFE_BITS:
        return None
    f = _affine_grid(fm.norm, g_fmt, b_fmt)[0]
    assign = {"accum": (g, fm.accum), "mean": (fm.accum.f, fm.mean), "diff_x": (x.f, diff),
              "diff_mean": (fm.mean.f, diff), "var": (sq.f, fm.var), "norm": (diff.f + fm.inv_std.f, fm.norm),
              "out": (f, out)}
    return Int64Plan((g - x.f, g - fm.accum.f), sum_at_once(bound, nonneg, x.f, fm.accum), _exact_shift(x, diff),
                     _exact_shift(fm.mean, diff), p, e, (1 << fm.inv_std.width) - 1, assign)


def _exact_shift(fmt: FixedFormat, to: FixedFormat) -> int | None:
    """`_to_exact`'s left shift from fmt to `to`, or None when `to` does not cover fmt (an assignment)."""
    return to.f - fmt.f if to.covers(fmt) else None


def _to_exact(a: np.ndarray, fmt: FixedFormat, to: FixedFormat, bits: int) -> np.ndarray:
    """Stored integers of fmt assigned to a format that holds all of fmt's values (a shift), as a new array."""
    s = _exact_shift(fmt, to)
    if s is not None:
        a = _ints(a, bits)
        return a << s if a.dtype == np.int64 else a * (1 << s)
    return _ints(requantize(a, fmt.f, to), bits)


def layernorm_float(x: np.ndarray, dims: int, gamma: np.ndarray, beta: np.ndarray, eps: float,
                    rms: bool) -> np.ndarray:
    """The float64 function: (x - mean) / sqrt(var + eps) * gamma + beta over the last `dims` dims."""
    axes = tuple(range(x.ndim - dims, x.ndim))
    d = x if rms else x - x.mean(axis=axes, keepdims=True)
    var = (d * d).mean(axis=axes, keepdims=True)
    with np.errstate(divide="ignore"):
        return d / np.sqrt(var + eps) * gamma + beta


def error_bound(rows: np.ndarray, x: FixedFormat, gamma: np.ndarray, fm: NormFormats, eps: float, rms: bool,
                out: FixedFormat) -> np.ndarray:
    """Per element B with |y - layernorm_float(x)| <= B, for rows [R, n] of the (quantized) input values and
    the real gamma the design holds (derivation: docs/layers.md, "LayerNorm accuracy"):
        B = LSB(y) + |gamma| (LSB(norm)/2 + |delta| / sqrt(a) + |d| (2^-f_r + |Delta| / (2 a^1.5)))
    delta = mean error (< 2 LSB(mean): assignment and division; 0 for RMSNorm), Delta = the error of var + eps' against var + eps
    (in (-2^(1-f_v), LSB(mean)^2 + 2^-f_v)), a = var + eps - 2^(1-f_v) <= both (LSB(norm) for a truncating norm).
    Rows whose variance is too small for this first-order bound (a <= 0) get an infinite bound."""
    mu = 0.0 if rms else rows.mean(axis=-1, keepdims=True)
    d = rows - mu
    var = (d * d).mean(axis=-1, keepdims=True)
    e_mean = 0.0 if rms else 2.0 ** (1 - fm.mean.f)  # the assignment to mean_t and the truncating division
    lsb_v, lsb_r = 2.0 ** -fm.var.f, 2.0 ** -fm.inv_std.f
    delta_hi = max(2 * lsb_v, e_mean ** 2 + lsb_v)
    a = var + eps - 2 * lsb_v
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(a > 0, 1.0 / np.sqrt(np.maximum(a, 1e-300)), np.inf)
        slope = np.where(a > 0, delta_hi / (2 * np.maximum(a, 1e-300) ** 1.5), np.inf)
    norm_err = 2.0 ** -fm.norm.f / (1 if fm.norm.rounding in ("TRN", "TRN_ZERO") else 2)
    y_err = 2.0 ** -out.f
    with np.errstate(invalid="ignore"):
        b = y_err + np.abs(gamma) * (norm_err + e_mean * r + np.abs(d) * (lsb_r + slope))
    return np.where(np.isfinite(slope) & (a > 0), b, np.inf)


# --- hls4ml 1.3's LayerNorm (`style = "hls4ml"`) ---------------------------------------------------------
HLS4ML_TABLE_T = FixedFormat.parse("ap_ufixed<8,5,AP_RND_CONV,AP_SAT>")  # hls4ml's default table_t
HLS4ML_TABLE_SIZE = 4096
HLS4ML_RANGE_POWER2 = 0


@dataclass(frozen=True)
class Hls4mlNorm:
    """hls4ml 1.3's LayerNorm (nnet_layernorm.h, io_parallel): every intermediate in accum_t, 1/sqrt from a
    table of `table_size` table_t entries over [10^-e, 10^-e + 2^-range_power2), e = -round(log10 epsilon).
    Per row of n elements, a_j = accum(x_j), k = accum(1.0 / n) (from the double):
      s = accum(s + a_j) in order; m = accum(s * k); d_j = accum(a_j - m); q = accum(q + accum(d_j * d_j))
      v = accum(q * k); i = int(v * table_size * 2^range_power2) (toward zero, low 32 bits), clamped to
      [0, table_size - 1]; y_j = result(d_j * table[i] * gamma_j + beta_j) (exact before the assignment)."""

    accum: FixedFormat
    table: FixedFormat
    table_size: int = HLS4ML_TABLE_SIZE
    range_power2: int = HLS4ML_RANGE_POWER2


def hls4ml_epsilon_power(eps: float) -> int:
    """hls4ml's epsilon_power_of_10 (its PyTorch converter): -round(log10(epsilon)), which must be positive."""
    import math

    if not eps > 0:
        raise ValueError(f"hls4ml's LayerNorm needs a positive epsilon, got {eps}")
    p = -round(math.log10(eps))
    if p <= 0:
        raise ValueError(f"hls4ml's LayerNorm needs epsilon below 1e-1, got {eps}")
    return p


def hls4ml_inv_sqrt_table(hm: Hls4mlNorm, eps: float) -> np.ndarray:
    """Stored integers (table_t) of hls4ml's init_invert_sqr_table: in_val = min + step * j in float (min =
    float(pow(10.0, -e)), step = float(2^-p) / float(N)), entry = table_t(1.0 / sqrtf(in_val))."""
    from .quantize import quantize

    lo = np.float32(10.0 ** -hls4ml_epsilon_power(eps))
    step = np.float32(2.0 ** -hm.range_power2) / np.float32(hm.table_size)
    x = lo + step * np.arange(hm.table_size, dtype=np.float32)  # float32 products and sums, as the C++ does
    return quantize(1.0 / np.sqrt(x).astype(np.float64), hm.table)


def hls4ml_k_inv(hm: Hls4mlNorm, n: int) -> int:
    """Stored integer of hls4ml's `const accum_t k_inv = 1.0 / dim`."""
    from .quantize import quantize

    return int(quantize(np.float64(1.0 / n), hm.accum))


def hls4ml_table_index(v: np.ndarray, hm: Hls4mlNorm) -> np.ndarray:
    """hls4ml's `int index = var * table_size * 2^range_power2`: toward zero, the low 32 bits (ap_fixed's
    to_int), then clamped to [0, table_size - 1]; v the stored integers of var (accum_t)."""
    s = hm.accum.f - hm.range_power2
    t = _ints(v, _hls4ml_index_bits(hm)) * hm.table_size
    if s <= 0:
        t = t * (1 << -s)
    else:
        t = np.where(t < 0, -((-t) >> s), t >> s)
    t = (t + (1 << 31)) % (1 << 32) - (1 << 31)  # the low 32 bits, signed
    return np.clip(np.asarray(t, dtype=np.int64), 0, hm.table_size - 1)


def _hls4ml_index_bits(hm: Hls4mlNorm) -> int:
    """Bits holding v * table_size * 2^(range_power2 - f_accum) before its truncation (`hls4ml_table_index`)."""
    return hm.accum.width + hm.table_size.bit_length() + max(hm.range_power2 - hm.accum.f, 0) + 2


def _hls4ml_wide_bits(acc: FixedFormat) -> int:
    """Bits holding hls4ml's accum values and their products."""
    return 2 * acc.width + 2


def hls4ml_layernorm(rows: np.ndarray, x: FixedFormat, gamma: np.ndarray, g_fmt: FixedFormat, beta: np.ndarray,
                     b_fmt: FixedFormat, hm: Hls4mlNorm, eps: float, out: FixedFormat) -> np.ndarray:
    """Stored integers of out for rows [R, n] of stored integers of x, as hls4ml 1.3 computes (`Hls4mlNorm`)."""
    n = rows.shape[-1]
    acc = hm.accum
    f = acc.f
    wide = _hls4ml_wide_bits(acc)
    a = _ints(requantize(rows, x.f, acc), wide)
    k = hls4ml_k_inv(hm, n)
    s = ordered_sum(a, f, acc, acc)
    m = _ints(requantize(_ints(s, wide) * k, 2 * f, acc), wide)
    d = _ints(requantize(a - m[:, None], f, acc), wide)
    sq = requantize(d * d, 2 * f, acc)
    q = ordered_sum(_ints(sq, wide), f, acc, acc)
    v = requantize(_ints(q, wide) * k, 2 * f, acc)
    r = hls4ml_inv_sqrt_table(hm, eps)[hls4ml_table_index(v, hm)]
    fo, bits = _hls4ml_affine_grid(hm, g_fmt, b_fmt)
    g_scaled, b_scaled = hls4ml_scaled_affine(gamma, g_fmt, beta, b_fmt, hm)
    total = _ints(d, bits) * _ints(r, bits)[:, None]
    total = total * g_scaled[None, :]
    total = total + b_scaled[None, :]
    return requantize(total, fo, out)


def _hls4ml_affine_grid(hm: Hls4mlNorm, g_fmt: FixedFormat, b_fmt: FixedFormat) -> tuple[int, int]:
    """(fo, bits): d * r * gamma + beta is summed on the grid 2^-fo, where `bits` hold it."""
    pf = hm.accum.f + hm.table.f + g_fmt.f
    fo = max(pf, b_fmt.f)
    return fo, max(hm.accum.width + hm.table.width + g_fmt.width + fo - pf, b_fmt.width + fo - b_fmt.f) + 2


def hls4ml_scaled_affine(gamma: np.ndarray, g_fmt: FixedFormat, beta: np.ndarray, b_fmt: FixedFormat,
                         hm: Hls4mlNorm) -> tuple[np.ndarray, np.ndarray]:
    """Stored gamma and beta scaled onto the grid of d * r * gamma + beta (`_hls4ml_affine_grid`)."""
    fo, bits = _hls4ml_affine_grid(hm, g_fmt, b_fmt)
    pf = hm.accum.f + hm.table.f + g_fmt.f
    return _ints(gamma, bits) * (1 << (fo - pf)), _ints(beta, bits) * (1 << (fo - b_fmt.f))


# hls4ml's table index as an assignment: toward zero onto the integers, then the low 32 bits (signed)
HLS4ML_INDEX_T = FixedFormat(1, 31, 0, "TRN_ZERO", "WRAP")


@dataclass(frozen=True)
class Hls4mlInt64Plan:
    """`hls4ml_layernorm` on int64 spelled out for a native kernel (emulator/kernels/layernorm.cpp): each
    assignment as (the grid f_from of its operand, the format); the table index is the assignment of
    v * table_size to HLS4ML_INDEX_T from the grid f_accum - range_power2, clamped into the table."""

    sum_at_once: bool  # both ordered sums of accum terms equal the exact sum assigned once (`sum_at_once`)
    k_inv: int
    assign: dict  # name -> (f_from, format): input, sum (also a - m), product (s k, d d, q k), index, out


@lru_cache(maxsize=256)
def hls4ml_int64_plan(x: FixedFormat, hm: Hls4mlNorm, n: int, g_fmt: FixedFormat, b_fmt: FixedFormat,
                      out: FixedFormat) -> Hls4mlInt64Plan | None:
    """The plan when every intermediate of `hls4ml_layernorm` on rows of n elements fits int64, else None."""
    acc, f = hm.accum, hm.accum.f
    bound, nonneg = format_sum_bound(acc, n)
    fo, out_bits = _hls4ml_affine_grid(hm, g_fmt, b_fmt)
    bits = (_hls4ml_wide_bits(acc), ordered_sum_grid(bound, f, acc)[1], _hls4ml_index_bits(hm), out_bits)
    if n < 1 or max(bits) > INT64_SAFE_BITS:
        return None
    assign = {"input": (x.f, acc), "sum": (f, acc), "product": (2 * f, acc),
              "index": (f - hm.range_power2, HLS4ML_INDEX_T), "out": (fo, out)}
    return Hls4mlInt64Plan(sum_at_once(bound, nonneg, f, acc), hls4ml_k_inv(hm, n), assign)
