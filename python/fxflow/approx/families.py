"""The multiplier families, each written once as a bit-level expression (`expr.Node`) from its published
definition, for operand widths (wa, wb) and signedness (sa, sb), plus a stated gate-count cost.

Operands are two's-complement (signed) or plain binary (unsigned) bit patterns.  Partial-product arrays
(exact, truncated, broken-array) use the generalized Baugh-Wooley form: a cell a_i b_j whose weight is
negative (exactly one of the two bits is a sign bit) is built as NOT(a_i b_j) at its column c, plus the
constant -2^c folded into one correction constant; the sum is read modulo 2^(wa+wb).  Dropping a cell drops
its correction too, so the array is exactly the circuit that would be built (-128 x -128 included).
Sign-magnitude families (DRUM, Mitchell) take |a| and |b| (the magnitude of -2^(w-1) needs all w bits),
approximate the unsigned product and negate it when exactly one operand is negative.

Cost model (two-input gate equivalents, `gates`): AND/NAND cell 1, full adder 5, half adder 2, 2:1 mux 3;
a partial-product array costs its cells plus one full adder per bit its reduction must absorb (bits in the
array minus result columns); a w-bit priority encoder 2w, a w-bit barrel shifter over s positions
3 w ceil(log2 s), a w-bit adder or incrementer 5w, a w-bit conditional negation 6w.  It ranks multipliers
consistently; the RTL flow's LUT counts can replace it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ..errors import ConfigError
from .expr import A, B, Node, const, msb, select, total, wrap

FA, HA, MUX, AND = 5, 2, 3, 1


@dataclass(frozen=True)
class Family:
    """A parametrized multiplier definition: `build(params, wa, sa, wb, sb) -> (Node, gates)`."""

    name: str
    params: dict  # parameter -> default (None: required)
    build: Callable
    doc: str


FAMILIES: dict[str, Family] = {}


def family(name: str, params: dict, doc: str):
    def wrap_fn(fn):
        FAMILIES[name] = Family(name, params, fn, doc)
        return fn

    return wrap_fn


def _range(name: str, value: int, lo: int, hi: int, spec: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"multiplier '{spec}': parameter {name}={value!r} is out of range [{lo}, {hi}] for "
                          f"these operand widths")
    return value


# --- partial-product arrays ------------------------------------------------------------------------
def pp_array(wa: int, sa: bool, wb: int, sb: bool, keep, compensate: bool = False) -> tuple[Node, int]:
    """The Baugh-Wooley array of the cells (i, j) with keep(i, j); with `compensate`, plus the constant
    nearest to the expected value of the dropped cells (uniform independent operand bits), rounded to the
    lowest kept column's grid (a constant-correction truncated multiplier)."""
    out_bits = wa + wb
    terms, correction, dropped_mean, kept_cols = [], 0, 0.0, []
    for i in range(wa):
        for j in range(wb):
            c = i + j
            negative = (sa and i == wa - 1) != (sb and j == wb - 1)
            if not keep(i, j):
                dropped_mean += (-1 if negative else 1) * (2.0 ** c) / 4
                continue
            cell = A.bit(i) & B.bit(j)
            if negative:
                cell = cell ^ 1
                correction -= 1 << c
            terms.append(cell * (1 << c) if c else cell)
            kept_cols.append(c)
    if compensate and kept_cols:
        grid = 1 << min(kept_cols)
        correction += int(math.floor(dropped_mean / grid + 0.5)) * grid
    correction %= 1 << out_bits
    node = total(terms + ([const(correction)] if correction else []))
    const_bits = bin(correction).count("1")
    cols = (out_bits - min(kept_cols)) if kept_cols else 0
    gates = len(terms) * AND + FA * max(0, len(terms) + const_bits - cols)
    return wrap(node, out_bits, sa or sb), gates


@family("exact", {}, "the exact product (a full Baugh-Wooley / unsigned array)")
def _exact(p, wa, sa, wb, sb, spec):
    return pp_array(wa, sa, wb, sb, lambda i, j: True)


@family("trunc", {"k": None, "compensate": 0},
        "truncated: the k least significant partial-product columns dropped; compensate=1 adds the rounded "
        "expected value of the dropped cells as a constant")
def _trunc(p, wa, sa, wb, sb, spec):
    k = _range("k", p["k"], 0, wa + wb - 1, spec)
    comp = _range("compensate", p["compensate"], 0, 1, spec)
    return pp_array(wa, sa, wb, sb, lambda i, j: i + j >= k, compensate=bool(comp))


@family("bam", {"hbl": 0, "vbl": 0},
        "broken-array (Mahdiani et al.): rows b_j with j < hbl and cells in columns i + j < vbl omitted")
def _bam(p, wa, sa, wb, sb, spec):
    hbl = _range("hbl", p["hbl"], 0, wb - 1, spec)
    vbl = _range("vbl", p["vbl"], 0, wa + wb - 1, spec)
    return pp_array(wa, sa, wb, sb, lambda i, j: j >= hbl and i + j >= vbl)


# --- sign-magnitude families ------------------------------------------------------------------------
def _magnitude(x: Node, signed: bool) -> Node:
    return select(x < 0, 0 - x, x) if signed else x


def sign_magnitude(wa, sa, wb, sb, unsigned_product) -> tuple[Node, int]:
    """unsigned_product(|a|, |b|) -> (magnitude Node, gates); negated when exactly one operand is negative."""
    ma, mb = _magnitude(A, sa), _magnitude(B, sb)
    mag, gates = unsigned_product(ma, mb)
    gates += 6 * wa * sa + 6 * wb * sb
    if not (sa or sb):
        return mag, gates
    negative = ((A < 0) if sa else const(0)) ^ ((B < 0) if sb else const(0))
    return select(negative, 0 - mag, mag), gates + 6 * (wa + wb)


def _log2c(n: int) -> int:
    return max(1, math.ceil(math.log2(max(n, 2))))


@family("drum", {"k": None},
        "DRUM (Hashemi et al.): each magnitude of k or more bits keeps its k leading bits with the last one "
        "set to 1 (unbiased); a k x k exact product shifted back")
def _drum(p, wa, sa, wb, sb, spec):
    k = _range("k", p["k"], 2, min(wa, wb), spec)

    def approx(x: Node, w: int) -> Node:
        t = msb(x, w)
        s = select(t < k, 0, t - (k - 1))
        return select(t < k, x, (x.shift(0 - s) | 1).shift(s))

    def product(ma, mb):
        core, core_gates = pp_array(k, False, k, False, lambda i, j: True)
        gates = core_gates + sum(2 * w + 3 * k * _log2c(w) for w in (wa, wb)) + 3 * 2 * k * _log2c(wa + wb)
        return approx(ma, wa) * approx(mb, wb), gates

    return sign_magnitude(wa, sa, wb, sb, product)


@family("mitchell", {},
        "Mitchell's logarithmic multiplier: log2 x ~ t + m for x = 2^t (1 + m), the logs added, the antilog "
        "2^t' (1 + m') taken the same way; truncating shifts, 0 for a zero operand")
def _mitchell(p, wa, sa, wb, sb, spec):
    f = max(wa, wb) - 1  # fraction bits of the mantissas

    def product(ma, mb):
        ta, tb = msb(ma, wa), msb(mb, wb)
        fa = (ma - const(1).shift(ta)).shift(f - ta)
        fb = (mb - const(1).shift(tb)).shift(f - tb)
        s = fa + fb
        carry = select(s < (1 << f), 0, 1)
        mant = select(carry, s, s + (1 << f))
        mag = mant.shift(ta + tb + carry - f)
        zero = ma.eq(0) | mb.eq(0)
        gates = sum(2 * w + 3 * w * _log2c(w) for w in (wa, wb)) + FA * (f + 1) + 3 * (wa + wb) * _log2c(wa + wb)
        return select(zero, 0, mag), gates

    return sign_magnitude(wa, sa, wb, sb, product)
