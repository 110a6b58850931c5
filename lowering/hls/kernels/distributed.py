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
    for j, ad in enumerate(graph.adders):
        sig = kk + j
        names[sig] = f"t_{j}"
        t = itype(sig)
        b_expr = f"{t}({names[ad.b]})" + (f" << {ad.shift}" if ad.shift else "")
        if ad.a_neg:
            body(f"const {t} {names[sig]} = ({b_expr}) - {t}({names[ad.a]});")
        else:
            body(f"const {t} {names[sig]} = {t}({names[ad.a]}) {'-' if ad.b_neg else '+'} ({b_expr});")
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
