"""Canonical signed-digit (CSD) form of integer constants: how a product by a constant becomes shifts and adds.

Shared by the RTL backend (shift-add constant multipliers) and the estimator (the LUT cost of a constant
product), so both count the same adders."""

from __future__ import annotations


def csd_digits(c: int) -> list[tuple[int, int]]:
    """[(shift, +1 | -1)] with c = sum(d << shift): the fewest nonzero digits of any signed-binary form."""
    c = int(c)
    digits, k = [], 0
    while c:
        if c & 1:
            d = 2 - (c & 3)  # +1 when c = 1 (mod 4), -1 when c = 3 (mod 4)
            digits.append((k, d))
            c -= d
        c >>= 1
        k += 1
    return digits


def is_shift(c: int) -> bool:
    """c = +-2^k: a product by c is wiring (and a negation), no multiplier."""
    return len(csd_digits(c)) == 1


def shift_add_luts(x_width: int, c: int) -> int:
    """LUTs of x * c as a CSD adder tree: one adder per extra digit, as wide as the shifted operand."""
    n = len(csd_digits(c))
    return 0 if n <= 1 else (n - 1) * (x_width + abs(int(c)).bit_length())
