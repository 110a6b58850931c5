"""The emulator's approximate products: per layer, a table of every term it can add.

For a dense layer (a conv is one over its patch rows) with input format X and stored weights w [K, N], the
term table G[k, x - x_min, n] = approx(x, w[k, n]) for every input code, with a zero column for pruned
weights and an extra all-zero row for padding taps (the fill code `x_max + 1`): both are skipped by the
C++, so they contribute nothing.  A layer is then K row gathers vectorized over the batch and an integer
accumulation (exactly once, or assigned to the accumulator after every term when it may round or
saturate), the same k order as the C++ loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fixed import FixedFormat

MAX_TABLE_ELEMENTS = 1 << 25  # a per-layer term table of at most 256 MB; beyond it, gather per distinct weight


@dataclass
class TermTable:
    """The terms of one layer: `terms(k, codes)` -> approx(x, w[k, :]) for the input codes of row k."""

    x_min: int
    pad_code: int
    full: np.ndarray | None  # [K, codes + 1, N]
    columns: np.ndarray | None  # [codes + 1, distinct weights] (when `full` would be too large)
    index: np.ndarray | None  # [K, N] -> column
    bound: int  # max over n of sum_k max |term| (the integer sum bound)

    def terms(self, k: int, codes: np.ndarray) -> np.ndarray:
        if self.full is not None:
            return self.full[k][codes]
        return self.columns[codes][:, self.index[k]]

    def codes(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.int64) - self.x_min


def term_table(mult, x_fmt: FixedFormat, w: np.ndarray) -> TermTable:
    w = np.asarray(w, dtype=np.int64)
    xs = np.arange(x_fmt.min_int, x_fmt.max_int + 1, dtype=np.int64)
    distinct, index = np.unique(w, return_inverse=True)
    index = index.reshape(w.shape)
    cols = np.zeros((xs.size + 1, distinct.size), dtype=np.int64)
    cols[:-1] = mult.products(xs[:, None], distinct[None, :])
    cols[:, distinct == 0] = 0  # pruned weights are skipped
    col_max = np.abs(cols).max(axis=0, initial=0)
    bound = int(col_max[index].sum(axis=0).max(initial=0))
    if w.size * cols.shape[0] <= MAX_TABLE_ELEMENTS:
        full = np.ascontiguousarray(cols[:, index].transpose(1, 0, 2))  # [K, codes + 1, N]
        return TermTable(x_fmt.min_int, xs.size, full, None, None, bound)
    return TermTable(x_fmt.min_int, xs.size, None, cols, index, bound)


def table_products(mult):
    """`products(a, b)` for `fxflow.fixed.matmul.matmul`: both operands vary, vectorized over the whole batch
    (`Multiplier.products`: gathered from the full table, or evaluated when it is too wide to store)."""
    return mult.products


def pad_fill(x_fmt: FixedFormat) -> int:
    """The stored value that marks a padding tap in conv patch rows (one past the largest code)."""
    return x_fmt.max_int + 1


def sum_terms(table: TermTable, x: np.ndarray) -> np.ndarray:
    """sum_k term(k, x[:, k]) in int64 (the caller proved it cannot overflow)."""
    codes = table.codes(x)
    n = (table.full.shape[2] if table.full is not None else table.index.shape[1])
    total = np.zeros((codes.shape[0], n), dtype=np.int64)
    for k in range(codes.shape[1]):
        total += table.terms(k, codes[:, k])
    return total
