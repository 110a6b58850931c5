"""Approximate multipliers in hardware: the multiplier's one bit-level definition (`fxflow.approx.expr`),
printed node by node into CIRCT comb logic — the same DAG the emulator interprets and the HLS C++ prints.

Every node becomes a range-sized wire: its range is the exact set of values it takes over every operand
pair the inputs' ranges allow (`expr.node_ranges`, exhaustive, bounded memory), so constant subexpressions (all of a
constant weight's bits) fold away and the rest is as narrow as it can be.
"""

from __future__ import annotations

import numpy as np

from circt.dialects import comb

from fxflow.approx import expr
from fxflow.errors import UnsupportedOpError

from . import signals as s

MAX_PAIRS = 1 << 22  # operand pairs evaluated to size one multiplier's wires


def approx_product(a: s.Wire, b: s.Wire, mult, layer: str = "") -> s.Wire:
    """mult(a, b) as comb logic (a: the input's stored integer, b: the weight's, constant or multiplexed)."""
    pairs = (a.hi - a.lo + 1) * (b.hi - b.lo + 1)
    if pairs > MAX_PAIRS:
        raise UnsupportedOpError(f"the RTL backend sizes approximate multipliers exhaustively; layer '{layer}' "
                                 f"has {pairs} operand pairs (at most {MAX_PAIRS})", layer=layer)
    av, bv = np.meshgrid(np.arange(a.lo, a.hi + 1), np.arange(b.lo, b.hi + 1), indexing="ij")
    ranges = expr.node_ranges(mult.node, av.ravel(), bv.ravel())
    wires: dict[int, s.Wire] = {}
    for n in expr.topo(mult.node):
        lo, hi = ranges[id(n)]
        if lo == hi:
            wires[id(n)] = s.const(lo)
            continue
        x = [wires[id(c)] for c in n.args]
        wires[id(n)] = s.narrow(_node(n, x, a, b, lo, hi), lo, hi)
    return wires[id(mult.node)]


def _bits_wire(bit: s.Bit) -> s.Wire:
    return s.const(int(bit.v)) if isinstance(bit.v, bool) else s.Wire(bit.v, 0, 1)


def _node(n, x: list[s.Wire], a: s.Wire, b: s.Wire, lo: int, hi: int) -> s.Wire:
    op = n.op
    if op == "a":
        return a
    if op == "b":
        return b
    if op == "add":
        return s.add(x[0], x[1])
    if op == "sub":
        return s.sub(x[0], x[1])
    if op == "mul":
        return s.mul(x[0], x[1])
    if op in ("and", "or", "xor"):  # on two's complement words wide enough for operands and result
        w = max(x[0].width, x[1].width, s.width_of(lo, hi))  # bitwise ops commute with taking the low w bits
        cls = {"and": comb.AndOp, "or": comb.OrOp, "xor": comb.XorOp}[op]
        return s.from_bits(cls([s.extend(x[0], w), s.extend(x[1], w)]).result, w, lo, hi)
    if op in ("lt", "le", "eq", "ne"):
        return _bits_wire(s.compare(op, x[0], x[1]))
    if op == "bit":
        return _bits_wire(s.bit(x[0], n.value))
    if op == "shift":  # by a constant or by a (small) range of amounts: one candidate per amount
        amount = x[1]
        out = None
        for t in range(amount.lo, amount.hi + 1):
            cand = s.shl(x[0], t) if t >= 0 else s.shr_floor(x[0], -t)
            out = cand if out is None else s.mux(s.compare("eq", amount, s.const(t)), cand, out)
        return out
    if op == "select":
        return s.mux(s.compare("ne", x[0], s.const(0)), x[1], x[2])
    if op == "msb":  # priority encoder: the highest set bit below n.value, -1 for none
        out = s.const(-1)
        for i in range(n.value):
            out = s.mux(s.bit(x[0], i), s.const(i), out)
        return out
    if op in ("rom", "call"):  # a product table: one ROM column per weight value
        if not b.is_constant:
            raise UnsupportedOpError("the RTL backend needs constant weights for table-defined multipliers")
        column = [int(v) for v in n.table[:, b.lo - n.offsets[1]]]
        return s.rom(s.sub(x[0], s.const(n.offsets[0])), column)
    raise UnsupportedOpError(f"the RTL backend cannot print multiplier node '{op}'")
