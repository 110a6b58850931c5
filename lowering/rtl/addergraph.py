"""A constant matrix-vector product as one shared adder graph in hardware (`products: "adder_graph"`).

The graph comes from `fxflow.fixed.addergraph.solve` (signed digits, common subexpressions shared across the
whole matrix, depth-balanced column trees); here every adder becomes one `comb.add`/`comb.sub` as wide as the
exact integer range it carries (`signals.add_shifted`: the low bits of a shifted sum are wires).  A convolution
builds the graph once per output position, on that position's taps; a padding tap is a constant 0 and every
adder it feeds folds away.
"""

from __future__ import annotations

import numpy as np

from circt.dialects import seq

from fxflow.fixed.addergraph import AdderGraph, column_ranges, live_weights, schedule, solve

from . import signals as s
from .fixed import assign


def eligible(plan) -> bool:
    """The graph sums the products in its own order: exact only where the emulator proves the k-loop equal to
    one exact sum and one assignment (paths blas/int64) and the products are exact."""
    return plan.mult is None and plan.path in ("blas", "int64")


class Staged:
    """The graph's signals with register stages: `at(x, k)` is signal x as seen in stage k (registered once per
    stage it crosses; constants need no register)."""

    def __init__(self, stage: list[int] | None, clk, name: str):
        self.stage, self.clk, self.name = stage, clk, name
        self.sig: list[s.Wire] = []
        self.delayed: dict = {}

    def at(self, x: int, k: int) -> s.Wire:
        w = self.sig[x]
        if self.stage is None or self.stage[x] >= k or w.is_constant:
            return w
        if (x, k) not in self.delayed:
            prev = self.at(x, k - 1)
            reg = seq.CompRegOp(prev.value.type, prev.value, self.clk, name=f"{self.name}_{x}_s{k}").result
            self.delayed[(x, k)] = s.Wire(reg, prev.lo, prev.hi)
        return self.delayed[(x, k)]


def graph_signals(graph: AdderGraph, inputs: list[s.Wire], staged: Staged) -> Staged:
    """Every signal of the graph (inputs first, then one per adder), each at its exact width, each adder fed by
    its operands as registered up to its own stage."""
    staged.sig = list(inputs)
    for i, ad in enumerate(graph.adders):
        k = staged.stage[graph.n_inputs + i] if staged.stage is not None else 0
        a, b = staged.at(ad.a, k), staged.at(ad.b, k)
        if ad.a_neg:  # (b << d) - a: a full-width subtraction
            staged.sig.append(s.sub(s.shl(b, ad.shift), a))
        else:
            staged.sig.append(s.add_shifted(a, b, ad.shift, ad.b_neg))
    return staged


def input_ranges(rows: np.ndarray) -> list[tuple[int, int]]:
    """Each input's integer range over all rows of wires (None: a padding tap, 0), as `addergraph.column_ranges`
    takes them: per-element formats each their own, so adder widths and delays follow the real ranges."""
    lo = np.vectorize(lambda w: 0 if w is None else w.lo, otypes=[object])(rows)
    hi = np.vectorize(lambda w: 0 if w is None else w.hi, otypes=[object])(rows)
    return column_ranges(lo, hi)


def dense_rows(rows: np.ndarray, plan, ctx=None) -> np.ndarray:
    """fxp.dense over rows [P, K] of wires (None: a padding tap) -> [P, N] wires of the result format: the
    bias at the accumulator's grid plus the column's graph output, assigned to the accumulator, then to the
    result (the emulator's exact path).  With a clock budget in `ctx` (rtl `clock_mhz`), registers go where
    the adder delays fill the budget (`addergraph.schedule`); ctx.stages / ctx.levels say how many stages and
    adder levels per stage that took."""
    ranges = input_ranges(rows)
    graph = solve(live_weights(plan.w, ranges))
    acc, out = plan.acc, plan.out
    up = acc.f - (plan.x_fmt.f + plan.w_fmt.f)
    stage, last = None, 0
    if ctx is not None and ctx.budget_ns:
        from fxflow.devices import ULTRASCALE_PLUS as fam  # the family yosys maps to (synth_xilinx -family xcup)

        stage, ctx.levels = schedule(graph, ranges, ctx.budget_ns, fam.t_add, fam.t_add_bit)
        last = max((stage[t.signal] for t in graph.outputs if t is not None), default=0)
        ctx.stages = last
    res = np.empty((rows.shape[0], len(graph.outputs)), dtype=object)
    for r in range(rows.shape[0]):
        staged = graph_signals(graph, [s.const(0) if w is None else w for w in rows[r]],
                               Staged(stage, ctx.clk if ctx is not None else None, f"ag{r}"))
        for n, t in enumerate(graph.outputs):
            a0 = s.const(int(plan.acc0[n]))
            total = a0 if t is None else s.add_shifted(a0, staged.at(t.signal, last), t.shift + up, t.neg)
            res[r, n] = assign(assign(total, acc.f, acc), acc.f, out)
    return res
