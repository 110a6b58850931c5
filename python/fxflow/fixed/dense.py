"""Dense layers, and the cast/relu/add they are built with, on batches of fixed-point values.

`Tensor` is a batch of stored integers next to their `FixedFormat` (int64, or Python ints when a value may
need more than 62 bits), or of exact float64 reals (fmt None: the float reference).  A dense layer takes
exact fast paths where they provably give the sequential C++ result (`acc += x*w` in order): a BLAS
product when every partial sum fits in 53 bits (float32 below 2^24; in row chunks that keep the BLAS on the
calling thread), int64 otherwise, then one requantization — valid when every product lies on the
accumulator grid and the accumulator wraps or provably never overflows.  A per-product type (hls4ml's
`accum_t` products) is computed in wrapping int32/int64, batch innermost, when the accumulator's wrap
absorbs the product's.  Otherwise the k-loop is emulated step by step, exactly like the C++.  `plan_dense` chooses the path once
per layer; the emulator runs it on stored integers and the RTL backend builds the same accumulation.
Sums wider than int64 (exact accumulators of float-scale quantizers) are int64 products with the weights'
B-bit digits, shifted and added as Python ints ("split").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .format import FixedFormat
from .quantize import quantize, requantize, to_float

INT64_BITS = 62  # magnitudes below 2^62 leave headroom for one addition in int64


@dataclass
class Tensor:
    """A batch of values: stored integers with a format, or exact float64 reals (fmt None)."""

    data: np.ndarray
    fmt: FixedFormat | None


def int_bits(x: int) -> int:
    return int(x).bit_length()


def max_abs_int(fmt: FixedFormat) -> int:
    return max(-fmt.min_int, fmt.max_int)


def as_int(a: np.ndarray, bits: int) -> np.ndarray:
    """int64 while magnitudes stay below 2^INT64_BITS, else Python ints."""
    if bits <= INT64_BITS:
        return a if a.dtype == np.int64 else a.astype(np.int64)
    return a.astype(object)


def shift_left(a: np.ndarray, s: int, bits: int) -> np.ndarray:
    if s == 0:
        return a
    a = as_int(a, bits + s)
    return a << s if a.dtype != object else a * (1 << s)


def cast(x: Tensor, out: FixedFormat | None) -> Tensor:
    if out is None:
        return Tensor(x.data if x.fmt is None else to_float(x.data, x.fmt.f), None)
    if x.fmt is None:
        return Tensor(quantize(x.data, out), out)
    if x.fmt == out:
        return x
    return Tensor(requantize(x.data, x.fmt.f, out), out)


def relu(x: Tensor, out: FixedFormat | None) -> Tensor:
    if x.fmt is None:
        return Tensor(np.maximum(x.data, 0.0), None)
    return cast(Tensor(np.maximum(x.data, 0), x.fmt), out)


def add(a: Tensor, b: Tensor, out: FixedFormat | None) -> Tensor:
    if a.fmt is None:
        return Tensor(a.data + b.data, None)
    s = a.fmt.add_result(b.fmt)
    bits = s.width + 1
    lhs = shift_left(a.data, s.f - a.fmt.f, bits)
    rhs = shift_left(b.data, s.f - b.fmt.f, bits)
    total = as_int(lhs, bits) + as_int(rhs, bits)
    return cast(Tensor(total, s), out)


@dataclass
class DensePlan:
    """Compile-time analysis of one fixed-point dense layer: which exact path to take."""

    w: np.ndarray
    acc0: np.ndarray  # bias assigned to the accumulator (stored ints at acc.f)
    x_fmt: FixedFormat
    w_fmt: FixedFormat
    acc: FixedFormat
    out: FixedFormat
    path: str  # "blas", "int64", "split" (int64 digit products), "loop", "product", "table" (approximate products)
    prod: FixedFormat | None = None  # each product assigned to this type before it is added (hls4ml)
    acc_identity: bool = False  # the accumulator provably never overflows: assigning to it is a no-op
    sum_bound: int = 0  # max |sum of products| as an integer at scale 2^-(f_x + f_w)
    w_float: np.ndarray | None = None  # path "blas": the weights as float64, or float32 when sums < 2^24
    terms: object = None  # approximate multiplier: fxflow.approx.emulate.TermTable (paths "table", "loop")
    mod_dtype: type | None = None  # path "product" computed modulo 2^32 or 2^64 (see _modular_dtype)
    low_dtype: type | None = None  # path "product" as an exact float product minus low bits (see _subtract_low_bits)


def plan_dense(x_fmt, w, w_fmt, b, b_fmt, acc, out, prod: FixedFormat | None = None, mult=None) -> DensePlan:
    acc0 = np.asarray(requantize(b, b_fmt.f, acc))
    pf = x_fmt.f + w_fmt.f
    if prod is not None and not _holds_every_product(prod, x_fmt, w, pf):
        return _plan_products(DensePlan(w, acc0, x_fmt, w_fmt, acc, out, "product", prod=prod,
                                        mod_dtype=_modular_dtype(prod, acc, pf), sum_bound=_sum_bound(x_fmt, w)))
    on_grid = acc.f >= pf
    terms = None
    if mult is not None:  # approximate products (fxflow.approx): their own sum bound
        from ..approx.emulate import term_table

        terms = term_table(mult, x_fmt, w)
        sum_bound = terms.bound
    else:
        sum_bound = _sum_bound(x_fmt, w)
    never_overflows = False
    if on_grid:
        lim = sum_bound << (acc.f - pf)
        acc0_abs = [abs(int(v)) for v in acc0.ravel()] or [0]
        # signed accumulator: |every partial sum| <= |acc0| + lim; unsigned: negative terms could wrap
        never_overflows = acc.signed and max(acc0_abs) + lim <= acc.max_int
    exact_sum = on_grid and (acc.overflow == "WRAP" or never_overflows)
    if not exact_sum:
        path = "loop"
    elif terms is not None:
        fits = int_bits(sum_bound) + (acc.f - pf) <= INT64_BITS and int_bits(max_abs_int(acc)) <= INT64_BITS
        path = "table" if fits else "loop"
    elif sum_bound < 2**53:
        path = "blas"
    elif int_bits(sum_bound) + (acc.f - pf) <= INT64_BITS and int_bits(max_abs_int(acc)) <= INT64_BITS:
        path = "int64"
    elif _split_digit_bits(x_fmt, w) >= 8:
        path = "split"
    else:
        path = "loop"
    plan = DensePlan(w, acc0, x_fmt, w_fmt, acc, out, path, acc_identity=never_overflows, sum_bound=sum_bound,
                     terms=terms)
    if path == "blas":  # float32 sums are exact below 2^24 and twice as fast
        plan.w_float = w.astype(np.float32 if sum_bound < 2**24 else np.float64)
    return plan


def _sum_bound(x_fmt: FixedFormat, w: np.ndarray) -> int:
    """max |sum over k of x[k] * w[k, n]| as an integer at scale 2^-(f_x + f_w)."""
    col_l1 = np.abs(w.astype(object)).sum(axis=0) if w.size else np.zeros(w.shape[1], dtype=object)
    return max_abs_int(x_fmt) * int(max(col_l1, default=0))


def _plan_products(plan: DensePlan) -> DensePlan:
    """A modular product path whose exact sum of products fits a float BLAS product, and whose rounding shift
    s keeps the dropped bits within 32, runs as that product minus the dropped bits (`_subtract_low_bits`)."""
    s = plan.x_fmt.f + plan.w_fmt.f - plan.prod.f
    if plan.mod_dtype is None or plan.sum_bound >= 2**53 or s > 32 or plan.acc.width + max(s, 0) > INT64_BITS:
        return plan  # (the last: the bias on the products' grid stays an int64)
    plan.w_float = plan.w.astype(np.float32 if plan.sum_bound < 2**24 else np.float64)
    plan.low_dtype = np.uint16 if s <= 16 else np.uint32
    return plan


def _modular_dtype(prod: FixedFormat, acc: FixedFormat, pf: int):
    """The integer dtype in which `acc += prod_t(x*w)` may be computed modulo its width, or None.

    With both types wrapping and the accumulator's grid no coarser than the products', every wrap is a
    reduction modulo a power of two that the accumulator's final wrap (mod 2^W_acc on its grid) absorbs,
    provided the product type keeps at least the accumulator's integer bits.  What remains per product is
    the rounding shift by s = pf - prod.f (floor for TRN, floor(+1/2) for RND): computed in an n-bit
    wrapping integer it is right modulo 2^(n-s), enough when that covers the accumulator's width measured
    on the products' grid.  Integer overflow in NumPy arrays wraps, so this is exact by construction.
    """
    if prod.overflow != "WRAP" or acc.overflow != "WRAP" or acc.f < prod.f or acc.width > INT64_BITS:
        return None
    if prod.width - prod.f < acc.width - acc.f:
        return None
    s = pf - prod.f
    if s > 0 and prod.rounding not in ("TRN", "RND"):
        return None
    need = acc.width - (acc.f - prod.f) + max(s, 0)
    for dtype, bits in ((np.int32, 32), (np.int64, 64)):
        if need <= bits:
            return dtype
    return None


def _holds_every_product(prod: FixedFormat, x_fmt: FixedFormat, w: np.ndarray, pf: int) -> bool:
    """Assigning any product x*w to `prod` changes nothing: its grid is as fine and its range as wide."""
    if prod.f < pf:
        return False
    wmax = int(np.abs(w.astype(object)).max(initial=0))
    hi = (max_abs_int(x_fmt) * wmax) << (prod.f - pf)
    return hi <= prod.max_int and (hi == 0 or -hi >= prod.min_int)


def dense(x: Tensor, plan: DensePlan) -> Tensor:
    if x.data.ndim > 2:  # a Linear on tokens: every row of the last axis alike
        y = dense(Tensor(x.data.reshape(-1, x.data.shape[-1]), x.fmt), plan)
        return Tensor(y.data.reshape(*x.data.shape[:-1], -1), y.fmt)
    acc, pf = plan.acc, plan.x_fmt.f + plan.w_fmt.f
    if plan.path == "product":
        if plan.low_dtype is not None:
            return cast(Tensor(_dense_products_split(x.data, plan), acc), plan.out)
        if plan.mod_dtype is not None:
            return cast(Tensor(_dense_products_modular(x.data, plan), acc), plan.out)
        return cast(Tensor(np.asarray(_dense_products(x.data, plan)), acc), plan.out)
    if plan.path in ("blas", "int64", "table", "split"):
        if plan.path == "blas":
            s = _matmul_exact(x.data, plan.w_float)
        elif plan.path == "split":
            s = _matmul_split(x.data, plan.w, _split_digit_bits(plan.x_fmt, plan.w))
        elif plan.path == "table":
            from ..approx.emulate import sum_terms

            s = sum_terms(plan.terms, x.data)
        else:
            s = x.data.astype(np.int64) @ plan.w.astype(np.int64)
        # every partial sum and the bias lie within the accumulator's range (+1 bit for the sum itself)
        bits = max(int_bits(max_abs_int(acc)), int_bits(plan.sum_bound) + acc.f - pf) + 1
        total = as_int(shift_left(s, acc.f - pf, bits), bits)
        acc0 = as_int(plan.acc0, bits)
        if total.dtype == np.int64:
            total += acc0
        else:
            total = total + acc0
        a = total if plan.acc_identity else requantize(total, acc.f, acc)  # overflow only (same grid)
    else:
        a = _dense_loop(x.data, plan)
    return cast(Tensor(np.asarray(a), acc), plan.out)


# OpenBLAS runs a GEMM on one thread when m*n*k stays below about 2^18 (its SMP threshold); a larger
# product is split over BLAS threads whose start-up and spinning cost more than they save on small layers,
# and far more on a busy machine.  Row chunks below the threshold keep the kernels on the calling thread,
# whatever OPENBLAS_NUM_THREADS says, and small enough to stay in cache.
BLAS_CHUNK_MNK = 1 << 18
MAX_CHUNK_ROWS = 512
PRODUCT_CHUNK = 1 << 17  # elements of one [n, rows] block of products: 512 KB in int32


def _row_chunks(n_rows: int, per_row: int, budget: int, cap: int):
    step = max(1, min(cap, budget // max(per_row, 1)))
    for i in range(0, n_rows, step):
        yield slice(i, min(n_rows, i + step))


def _matmul_exact(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x @ w as int64, in w's float dtype (exact: plan_dense bounds every partial sum), chunked over rows
    so that the BLAS never spreads one product over its own threads."""
    out = np.empty((x.shape[0], w.shape[1]), dtype=np.int64)
    buf = np.empty((min(x.shape[0], MAX_CHUNK_ROWS), w.shape[1]), dtype=w.dtype)
    for sl in _row_chunks(x.shape[0], w.shape[0] * w.shape[1], BLAS_CHUNK_MNK, MAX_CHUNK_ROWS):
        n = sl.stop - sl.start
        np.matmul(x[sl].astype(w.dtype), w, out=buf[:n])
        out[sl] = buf[:n]
    return out


def matmul_rows_into(x: np.ndarray, w: np.ndarray, out: np.ndarray, cap: int = MAX_CHUNK_ROWS) -> np.ndarray:
    """out = x @ w in w's float dtype (x already of that dtype; the caller bounds every sum below 2^53 or 2^24),
    in the row chunks of _matmul_exact (the BLAS stays on the calling thread), without temporaries.  `cap`:
    the most rows per chunk (a caller whose block of narrow rows already fits the cache passes its block)."""
    for sl in _row_chunks(x.shape[0], w.shape[0] * w.shape[1], BLAS_CHUNK_MNK, cap):
        np.matmul(x[sl], w, out=out[sl])
    return out


def matmul_cols_into(w: np.ndarray, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = w @ x (x [K, B], batch innermost) in column chunks, as `matmul_rows_into` does in rows."""
    for sl in _row_chunks(x.shape[1], w.shape[0] * w.shape[1], BLAS_CHUNK_MNK, 1 << 30):
        np.matmul(w, x[:, sl], out=out[:, sl])
    return out


def _split_digit_bits(x_fmt: FixedFormat, w: np.ndarray) -> int:
    """B such that x @ d is exact in int64 for every weight digit |d| < 2^B (wide exact sums, e.g. the
    float-scale quantizers' levels times their weights); 0 when x itself needs more than int64."""
    if int_bits(max_abs_int(x_fmt)) > INT64_BITS or w.ndim != 2:
        return 0
    return INT64_BITS - int_bits(max_abs_int(x_fmt)) - int_bits(max(w.shape[0], 1))


def _matmul_split(x: np.ndarray, w: np.ndarray, b: int) -> np.ndarray:
    """The exact x @ w (Python ints) from int64 products with the weights' B-bit digits:
    w = sign(w) * sum_j d_j 2^(jB), each x @ (sign * d_j) exact in int64."""
    mag = np.abs(w.astype(object))
    sign = np.sign(w.astype(np.float64)).astype(np.int64)
    xi = x.astype(np.int64)
    total = np.zeros((x.shape[0], w.shape[1]), dtype=object)
    shift = 0
    while np.any(mag != 0):
        digit = (mag % (1 << b)).astype(np.int64) * sign
        total = total + (xi @ digit).astype(object) * (1 << shift)
        mag = mag // (1 << b)
        shift += b
    return total


def _dense_products_modular(x: np.ndarray, plan: DensePlan) -> np.ndarray:
    """acc += prod_t(x[k] * w[k]) for every k at once, modulo 2^32 (or 2^64): see _modular_dtype.

    The batch is the innermost axis: for each k, the products w[k, n] * x[b, k] of all n and b are one
    [n, b] block with long contiguous rows, rounded by one shift and added into the [n, b] accumulator —
    three passes of SIMD integer arithmetic per product and one Python step per k, about 20x faster than
    forming [b, n, k] products and reducing over their short k rows.  The accumulator wraps once."""
    acc, prod, dt = plan.acc, plan.prod, plan.mod_dtype
    s = plan.x_fmt.f + plan.w_fmt.f - prod.f
    kk, nn = plan.w.shape
    w = plan.w.astype(dt)  # a wrapping cast: only the value mod 2^bits matters
    half = dt(1 << (s - 1)) if s > 0 and prod.rounding == "RND" else None
    out = np.empty((x.shape[0], nn), dtype=np.int64)
    step = max(1, PRODUCT_CHUNK // max(nn, 1))
    for i in range(0, x.shape[0], step):
        xt = x[i:i + step].T.astype(dt, order="C")  # [k, b], b contiguous
        total = np.zeros((nn, xt.shape[1]), dtype=dt)
        p = np.empty_like(total)
        for k in range(kk):
            np.multiply(w[k][:, None], xt[k][None, :], out=p)
            if half is not None:
                p += half
            if s > 0:
                p >>= s
            elif s < 0:
                p <<= -s
            total += p
        out[i:i + step] = total.T  # int64 arithmetic wraps modulo 2^64: still exact modulo 2^W_acc
    if acc.f > prod.f:
        out <<= acc.f - prod.f
    out += as_int(plan.acc0, INT64_BITS)
    return requantize(out, acc.f, acc)  # the accumulator's one wrap (same grid)


def _dense_products_split(x: np.ndarray, plan: DensePlan) -> np.ndarray:
    """acc += prod_t(x[k] * w[k]) for every k at once, as sum_k floor((x[k] w[k] + h) / 2^s) =
    (sum_k x[k] w[k] + K h - sum_k ((x[k] w[k] + h) mod 2^s)) / 2^s: one exact BLAS product (plan.sum_bound
    < 2^53) minus the dropped low bits, which only need 16-bit (or 32-bit) wrapping products.  The sum is
    exact, so it is assigned to the accumulator once from the products' grid (every rounding mode leaves an
    exact quotient alone); the product type's wrap is absorbed by the accumulator's (_modular_dtype)."""
    acc, prod = plan.acc, plan.prod
    pf = plan.x_fmt.f + plan.w_fmt.f
    s = pf - prod.f
    total = _matmul_exact(x, plan.w_float)
    if s > 0:
        h = 1 << (s - 1) if prod.rounding == "RND" else 0
        _subtract_low_bits(total, x, plan.w, s, h, plan.low_dtype)
        if h:
            total += plan.w.shape[0] * h
    f = max(pf, acc.f)
    if f > pf:
        total <<= f - pf  # int64 arithmetic wraps modulo 2^64: still exact modulo 2^W_acc
    total += as_int(shift_left(plan.acc0, f - acc.f, INT64_BITS), INT64_BITS)
    return requantize(total, f, acc)  # the accumulator's one wrap


def _subtract_low_bits(total: np.ndarray, x: np.ndarray, w: np.ndarray, s: int, h: int, dt) -> None:
    """total[:, n] -= sum_k ((x[:, k] * w[k, n] + h) mod 2^s), for s <= the bits of the unsigned `dt`.

    (x w + h) mod 2^s only depends on x and w modulo 2^bits, so the products are formed in wrapping `dt`
    (16-bit lanes: twice the SIMD width of int32) and masked; up to (2^bits - 1) // (2^s - 1) of them are
    summed in `dt` without overflow, longer sums per block of k in int64.  Batch innermost, as in
    _dense_products_modular."""
    kk, nn = w.shape
    wl = w.astype(dt)  # wrapping casts
    step = max(1, PRODUCT_CHUNK // max(nn, 1))
    for i in range(0, x.shape[0], step):
        xt = np.ascontiguousarray(x[i:i + step].astype(dt).T)  # [k, b], b contiguous
        part = np.empty((nn, xt.shape[1]), dtype=dt)
        subtract_low_bits_block(total[i:i + step].T, xt, wl, s, h, part, np.empty_like(part))


def subtract_low_bits_block(total: np.ndarray, xt: np.ndarray, wl: np.ndarray, s: int, h: int, part: np.ndarray,
                            p: np.ndarray) -> None:
    """One block of `_subtract_low_bits` on total [n, b] (a transposed view or batch-innermost values): xt [k, b]
    and wl [k, n] already in the wrapping dtype, part and p [n, b] buffers of that dtype (the caller may reuse
    them)."""
    dt = wl.dtype.type
    bits = np.dtype(dt).itemsize * 8
    kk = wl.shape[0]
    mask, half = dt((1 << s) - 1), dt(h)
    per_block = max(1, ((1 << bits) - 1) // ((1 << s) - 1))
    for k in range(kk):
        first = k % per_block == 0  # the block's first term goes straight into `part`
        q = part if first else p
        np.multiply(wl[k][:, None], xt[k][None, :], out=q)
        if h:
            q += half
        q &= mask
        if not first:
            part += p
        if (k + 1) % per_block == 0 and k + 1 < kk:  # the next term could overflow `dt`
            total -= part
    if kk:
        total -= part


def _dense_products(x: np.ndarray, plan: DensePlan) -> np.ndarray:
    """acc += prod_t(x[k] * w[k]) for k in order.  With a wrapping accumulator on a grid at least as fine
    as the products', the partial sums' wraps commute with the sum: add exactly, wrap once."""
    acc, prod, pf = plan.acc, plan.prod, plan.x_fmt.f + plan.w_fmt.f
    kk = plan.w.shape[0]
    raw_bits = int_bits(max_abs_int(plan.x_fmt)) + int_bits(int(np.abs(plan.w.astype(object)).max(initial=0))) + 1
    xi, wi = as_int(x, raw_bits), as_int(plan.w, raw_bits)
    f = max(acc.f, prod.f)
    bits = max(int_bits(max_abs_int(prod)) + int_bits(kk), int_bits(max_abs_int(acc))) + (f - min(acc.f, prod.f)) + 2
    a = np.broadcast_to(as_int(shift_left(plan.acc0, f - acc.f, bits), bits), (x.shape[0], plan.w.shape[1])).copy()
    exact_sum = acc.overflow == "WRAP" and acc.f >= prod.f
    for k in range(kk):
        p = shift_left(as_int(requantize(xi[:, k:k + 1] * wi[k][None, :], pf, prod), bits), f - prod.f, bits)
        a = a + p
        if not exact_sum:
            a = shift_left(as_int(requantize(a, f, acc), bits), f - acc.f, bits)
    return requantize(a, f, acc)  # the final wrap, or (stepwise) back to the accumulator's grid


def _dense_loop(x: np.ndarray, plan: DensePlan) -> np.ndarray:
    """The C++ k-loop, step by step: acc = accum_t(acc + x[k] * w[k])."""
    acc, pf = plan.acc, plan.x_fmt.f + plan.w_fmt.f
    f = max(acc.f, pf)
    prod_bits = int_bits(max_abs_int(plan.x_fmt)) + int_bits(int(np.abs(plan.w.astype(object)).max(initial=0)))
    bits = max(prod_bits + (f - pf), int_bits(max_abs_int(acc)) + (f - acc.f)) + 1
    if plan.terms is not None:  # approximate products: their own magnitude
        bits = max(int_bits(plan.sum_bound) + (f - pf), bits)
        codes = plan.terms.codes(x)
    xi = as_int(x, bits)
    wi = as_int(plan.w, bits)
    a = np.broadcast_to(as_int(plan.acc0, bits), (x.shape[0], plan.w.shape[1])).copy()
    for k in range(plan.w.shape[0]):
        if plan.terms is not None:
            p = as_int(plan.terms.terms(k, codes[:, k]), bits)
        else:
            p = xi[:, k:k + 1] * wi[k][None, :]
        s = shift_left(as_int(a, bits), f - acc.f, bits) + shift_left(p, f - pf, bits)
        a = requantize(s, f, acc)
    return a


def dense_float(x: Tensor, w: np.ndarray, b: np.ndarray) -> Tensor:
    return Tensor(x.data @ w + b, None)
