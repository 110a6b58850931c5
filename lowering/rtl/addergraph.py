"""A constant matrix-vector product as one shared adder graph in hardware (`products: "adder_graph"`).

The graph comes from `fxflow.fixed.addergraph.solve` (signed digits, common subexpressions shared across the
whole matrix, depth-balanced column trees); here every adder becomes one `comb.add`/`comb.sub` as wide as the
exact integer range it carries (`signals.add_shifted`: the low bits of a shifted sum are wires).  A convolution
builds the graph once per output position, on that position's taps; a padding tap is a constant 0 and every
adder it feeds folds away.
"""

from __future__ import annotations

import numpy as np

from fxflow.fixed.addergraph import AdderGraph, solve

from . import signals as s
from .fixed import assign


def eligible(plan) -> bool:
    """The graph sums the products in its own order: exact only where the emulator proves the k-loop equal to
    one exact sum and one assignment (paths blas/int64) and the products are exact."""
    return plan.mult is None and plan.path in ("blas", "int64")


def graph_signals(graph: AdderGraph, inputs: list[s.Wire]) -> list[s.Wire]:
    """Every signal of the graph (inputs first, then one per adder), each at its exact width."""
    sig = list(inputs)
    for ad in graph.adders:
        if ad.a_neg:  # (b << d) - a: a full-width subtraction
            sig.append(s.sub(s.shl(sig[ad.b], ad.shift), sig[ad.a]))
        else:
            sig.append(s.add_shifted(sig[ad.a], sig[ad.b], ad.shift, ad.b_neg))
    return sig


def dense_rows(rows: np.ndarray, plan) -> np.ndarray:
    """fxp.dense over rows [P, K] of wires (None: a padding tap) -> [P, N] wires of the result format: the
    bias at the accumulator's grid plus the column's graph output, assigned to the accumulator, then to the
    result (the emulator's exact path)."""
    graph = solve(plan.w)
    acc, out = plan.acc, plan.out
    up = acc.f - (plan.x_fmt.f + plan.w_fmt.f)
    res = np.empty((rows.shape[0], len(graph.outputs)), dtype=object)
    for r in range(rows.shape[0]):
        sig = graph_signals(graph, [s.const(0) if w is None else w for w in rows[r]])
        for n, t in enumerate(graph.outputs):
            a0 = s.const(int(plan.acc0[n]))
            total = a0 if t is None else s.add_shifted(a0, sig[t.signal], t.shift + up, t.neg)
            res[r, n] = assign(assign(total, acc.f, acc), acc.f, out)
    return res
