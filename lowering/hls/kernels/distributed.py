"""`strategy: distributed_arithmetic` (hls4ml's name): a dense layer's constant weight matrix as one shared
adder graph in C++, so the HLS tool builds adders, never multipliers.

The graph is `fxflow.fixed.addergraph.solve` (the one the RTL backend builds): every input's stored integer is
read into an integer of its width, every adder is `t = a +- (b << d)` in the integer type of its exact range
(arithmetic modulo 2^W whose result provably fits, so no step loses a bit), and each column's sum is added to the
accumulator's stored integer on its grid after `acc = bias`; `y = acc` is then the ordinary assignment.  That
is the layer's documented k-loop exactly where the emulator proves the loop equal to one exact sum and one
assignment (`plan_dense` paths blas/int64) with exact products; elsewhere (a rounding or saturating
accumulator that the sum can overflow, hls4ml's product type, an approximate multiplier, reuse factor > 1)
the kernel prints the latency loop and says why in a comment.
"""

from __future__ import annotations

import math

import numpy as np

from fxflow.dialects.fxp.accessors import accum_format, op_multiplier, result_format
from fxflow.emulator import constant_value
from fxflow.fixed.addergraph import range_width, solve
from fxflow.fixed.dense import plan_dense
from fxflow.lowering.hls.cwriter import index_expr


def _plan(k, op):
    """The emulator's plan of this dense op, or a reason (str) the adder graph cannot print it."""
    x, w, b = op.operands[0], op.operands[1], op.operands[2]
    if k.rf != 1:
        return f"reuse factor {k.rf} (the adder graph is fully parallel)"
    if not (k.is_const(w) and k.is_const(b)):
        return "non-constant weights or bias"
    if "approx_mul" in op.attributes:
        return "an approximate multiplier"
    x_fmt = k.fmt(x, op, "input")
    wt, bt = constant_value(w.owner), constant_value(b.owner)
    plan = plan_dense(x_fmt, wt.data, wt.fmt, bt.data, bt.fmt, accum_format(op), result_format(op),
                      accum_format(op, "product"), op_multiplier(op, x_fmt, wt.fmt))
    if plan.path not in ("blas", "int64"):
        return "the accumulator rounds or overflows within the sum (the k-loop order matters)"
    return plan


def print_dense(k, op) -> bool:
    """Print `op` (fxp.dense) as an adder graph into kernel `k`; False (after a comment saying why) when the
    latency loop must print it instead."""
    plan = _plan(k, op)
    if isinstance(plan, str):
        k.body(f"// distributed_arithmetic not applicable ({plan}): the latency loop")
        return False
    x, y = op.operands[0], op.results[0]
    *lead, kk = k.shape(x, op, "input")
    rows = math.prod(lead)
    nn = plan.w.shape[1]
    fl = k.design.flavour
    graph = solve(plan.w)
    x_fmt, acc = plan.x_fmt, plan.acc
    ranges = graph.ranges([(x_fmt.min_int, x_fmt.max_int)] * kk)
    depth = graph.depth()
    X, Bi = k.ref(x), k.ref(op.operands[2])
    body = k.body
    body(f"// fxp.dense [{rows}x{kk}] x [{kk}x{nn}] -> [{rows}x{nn}] as an adder graph (distributed_arithmetic): "
         f"{len(graph.adders)} adders ({graph.shared} shared subexpressions), depth {depth}, accumulator {acc}")
    Y = k.dest(y, op, "dense")
    acc_t = k.design.typedef(f"{k.name}_accum", acc, f"kernel {k.name}")
    if k.is_const(op.operands[2]):
        k.partition(Bi)
    used = {t.signal for t in graph.outputs if t is not None}
    for ad in graph.adders:
        used.update((ad.a, ad.b))

    def itype(sig: int) -> str:
        lo, hi = ranges[sig]
        return fl.int_type(range_width(lo, hi), lo < 0)

    if rows > 1:  # a Linear on tokens: the graph once per row, in the loop body's scope
        body.loop("b", rows)
    row = "b" if rows > 1 else 0
    names = {}
    for i in range(kk):
        if i in used:
            names[i] = f"x_{i}"
            xe = f"{X}[{index_expr((row, kk), (i, 1))}]"
            body(f"const {itype(i)} {names[i]} = {fl.stored_integer(xe, x_fmt)};")
    _print_adders(k, graph, ranges, names)
    up = acc.f - (x_fmt.f + plan.w_fmt.f)  # >= 0 on the exact paths
    at = fl.int_type(acc.width, bool(acc.signed))
    for n, term in enumerate(graph.outputs):
        a = f"a_{n}"
        body(f"{acc_t} {a} = {Bi}[{n}];")
        sh = term.shift + up if term is not None else 0
        if term is not None and sh < acc.width:  # a shift past the width adds 0 modulo 2^W
            col = f"{at}({names[term.signal]})" + (f" << {sh}" if sh else "")
            total = f"{at}({fl.stored_integer(a, acc)} {'-' if term.neg else '+'} ({col}))"
            body(fl.set_stored_bits(a, acc, total))
        body(f"{Y}[{index_expr((row, nn), (n, 1))}] = {a};")
    if rows > 1:
        body.close()
    return True


def print_conv(k, op, xst: list[int], yst: list[int]) -> bool:
    """Print `op` (fxp.conv, 1-D or 2-D, any groups/strides/dilations/padding) as one adder graph per group,
    evaluated at every output position (the same constant matrix-vector product per position: the window's
    taps in the op's order, a padding tap 0); False (after a comment) where the latency loop must print it.
    `xst` / `yst`: the row-major strides of the input / result without the batch dimension."""
    from fxflow.dialects.fxp import i64_array
    from fxflow.ir import ir

    x, w, b, y = op.operands[0], op.operands[1], op.operands[2], op.results[0]
    if k.rf != 1 or not (k.is_const(w) and k.is_const(b)) or "approx_mul" in op.attributes:
        k.body("// distributed_arithmetic not applicable (reuse factor > 1, non-constant weights or an approximate "
               "multiplier): the latency loops")
        return False
    x_fmt = k.fmt(x, op, "input")
    wt, bt = constant_value(w.owner), constant_value(b.owner)
    groups = ir.IntegerAttr(op.attributes["groups"]).value
    ws = list(wt.data.shape)
    fg, cg = ws[0] // groups, ws[1]
    plans = []
    for g in range(groups):
        mat = wt.data[g * fg:(g + 1) * fg].reshape(fg, -1).T
        plan = plan_dense(x_fmt, mat, wt.fmt, bt.data[g * fg:(g + 1) * fg], bt.fmt, accum_format(op),
                          result_format(op), accum_format(op, "product"), op_multiplier(op, x_fmt, wt.fmt))
        if plan.path not in ("blas", "int64"):
            k.body("// distributed_arithmetic not applicable (the accumulator rounds or overflows within the sum): "
                   "the latency loops")
            return False
        plans.append(plan)
    xs, ys = k.shape(x, op, "input"), k.shape(y, op, "result")
    kernel, n = ws[2:], len(ws) - 2
    strides, dilations, padding = (i64_array(op, nm) for nm in ("strides", "dilations", "padding"))
    fl, acc = k.design.flavour, plans[0].acc
    X, Bi = k.ref(x), k.ref(b)
    graphs = [solve(p.w) for p in plans]
    k.body(f"// fxp.conv {list(xs)} * {ws} (groups {groups}) -> {list(ys)} as {groups} adder graph(s) per position "
           f"(distributed_arithmetic): {sum(len(g.adders) for g in graphs)} adders, depth "
           f"{max(g.depth() for g in graphs)}, accumulator {acc}")
    Y = k.dest(y, op, "conv")
    acc_t = k.design.typedef(f"{k.name}_accum", acc, f"kernel {k.name}")
    k.partition(Bi)
    names = [str(d) for d in range(n)]  # output position loops o0 (, o1)
    for d, s in enumerate(names):
        k.body.loop(f"o{s}", ys[2 + d])
    taps = [t for t in np.ndindex(*kernel)] if n else [()]
    up = acc.f - (x_fmt.f + wt.fmt.f)
    at = fl.int_type(acc.width, bool(acc.signed))
    for g, graph in enumerate(graphs):
        pre = f"g{g}_"
        ranges = graph.ranges([(x_fmt.min_int, x_fmt.max_int)] * graph.n_inputs)
        used = {t.signal for t in graph.outputs if t is not None}
        for ad in graph.adders:
            used.update((ad.a, ad.b))
        names_of = {}
        for idx in range(graph.n_inputs):
            if idx not in used:
                continue
            c, tap = divmod(idx, len(taps))
            coords, conds = [], []
            for d in range(n):
                e = index_expr((f"o{names[d]}", strides[d]), (taps[tap][d], dilations[d]))
                e = f"({e} - {padding[d]})" if padding[d] else f"({e})"
                coords.append(e)
                if padding[d] or padding[n + d]:
                    conds.append(f"{e} >= 0 && {e} < {xs[2 + d]}")
            xe = f"{X}[" + index_expr((g * cg + c, xst[0]), *[(coords[d], xst[1 + d]) for d in range(n)]) + "]"
            it = fl.int_type(range_width(*ranges[idx]), ranges[idx][0] < 0)
            val = fl.stored_integer(xe, x_fmt)
            names_of[idx] = f"{pre}x_{idx}"
            k.body(f"const {it} {names_of[idx]} = " + (f"({' && '.join(conds)}) ? {it}({val}) : {it}(0);"
                                                         if conds else f"{val};"))
        _print_adders(k, graph, ranges, names_of, pre)
        for m, term in enumerate(graph.outputs):
            f = g * fg + m
            a = f"{pre}a_{m}"
            k.body(f"{acc_t} {a} = {Bi}[{f}];")
            sh = term.shift + up if term is not None else 0
            if term is not None and sh < acc.width:
                col = f"{at}({names_of[term.signal]})" + (f" << {sh}" if sh else "")
                total = f"{at}({fl.stored_integer(a, acc)} {'-' if term.neg else '+'} ({col}))"
                k.body(fl.set_stored_bits(a, acc, total))
            k.body(f"{Y}[" + index_expr((f, yst[0]), *[(f"o{names[d]}", yst[1 + d]) for d in range(n)]) + f"] = {a};")
    for _ in range(n):
        k.body.close()
    return True


def _print_adders(k, graph, ranges, names: dict, pre: str = "") -> None:
    """One `const intW t = ...;` per adder (names: signal -> C++ name, filled in)."""
    fl = k.design.flavour
    for j, ad in enumerate(graph.adders):
        sig = graph.n_inputs + j
        names[sig] = f"{pre}t_{j}"
        lo, hi = ranges[sig]
        t = fl.int_type(range_width(lo, hi), lo < 0)
        b_expr = f"{t}({names[ad.b]})" + (f" << {ad.shift}" if ad.shift else "")
        if ad.a_neg:
            k.body(f"const {t} {names[sig]} = ({b_expr}) - {t}({names[ad.a]});")
        else:
            k.body(f"const {t} {names[sig]} = {t}({names[ad.a]}) {'-' if ad.b_neg else '+'} ({b_expr});")
