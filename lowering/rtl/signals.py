"""Integer signals for the RTL backend: CIRCT `comb` values that know the exact range of their integers.

A `Wire` is a CIRCT value of a signless integer type plus the closed interval [lo, hi] of the integers it
can carry.  Its width and signedness follow from that interval (two's complement when lo < 0), so every
operation below sizes its result exactly: an adder never overflows, a product of a 16-bit input with the
constant 3 takes 18 bits, a ReLU output drops its sign bit.  Truncation happens only where the fixed-point
semantics asks for it (`fixed.assign`).  `Bit` is a 1-bit condition with `&`, `|`, `~`, which is what
`fxflow.fixed.quantize.round_increment` (the one rounding rule) is written in.

All builders insert at the current CIRCT insertion point (`with ir.InsertionPoint(...)`).
"""

from __future__ import annotations

from dataclasses import dataclass

from circt import ir
from circt.dialects import comb, hw

from fxflow.errors import UnsupportedOpError
from fxflow.fixed.addergraph import range_width as width_of
from fxflow.fixed.csd import csd_digits, is_shift


def _itype(width: int) -> ir.Type:
    return ir.IntegerType.get_signless(width)


@dataclass(frozen=True)
class Wire:
    value: ir.Value
    lo: int
    hi: int

    @property
    def width(self) -> int:
        return width_of(self.lo, self.hi)

    @property
    def signed(self) -> bool:
        return self.lo < 0

    @property
    def is_constant(self) -> bool:
        return self.lo == self.hi


class Bit:
    """A 1-bit condition: a CIRCT i1 value, or a Python bool folded at build time."""

    def __init__(self, v):
        self.v = v

    def __and__(self, o: "Bit") -> "Bit":
        if isinstance(self.v, bool) or isinstance(o.v, bool):
            a, b = (self, o) if isinstance(self.v, bool) else (o, self)
            return b if a.v else a
        return Bit(comb.AndOp([self.v, o.v]).result)

    def __or__(self, o: "Bit") -> "Bit":
        if isinstance(self.v, bool) or isinstance(o.v, bool):
            a, b = (self, o) if isinstance(self.v, bool) else (o, self)
            return a if a.v else b
        return Bit(comb.OrOp([self.v, o.v]).result)

    def __invert__(self) -> "Bit":
        if isinstance(self.v, bool):
            return Bit(not self.v)
        return Bit(comb.XorOp([self.v, const_value(1, 1)]).result)

    def value(self) -> ir.Value:
        return const_value(int(self.v), 1) if isinstance(self.v, bool) else self.v


MAX_CONSTANT_WIDTH = 1 << 16  # Verilator's widest number literal (--max-num-width's default)


def const_value(v: int, width: int) -> ir.Value:
    """hw.constant of v's low `width` bits (any width up to MAX_CONSTANT_WIDTH)."""
    if width > MAX_CONSTANT_WIDTH:  # a ROM of many wide entries (`rom`)
        raise UnsupportedOpError(f"the RTL backend cannot build a {width}-bit constant: Verilator's numbers stop "
                                 f"at {MAX_CONSTANT_WIDTH} bits (fewer or narrower table entries fit)")
    bits = v & ((1 << width) - 1)
    if width <= 64:
        signed = bits - (1 << width) if width > 1 and bits >> (width - 1) else bits
        attr = ir.IntegerAttr.get(_itype(width), signed)
    else:  # the builder takes an int64 and zero-extends it (-5 : i100 would be 2^64 - 5); the parser takes
        attr = ir.Attribute.parse(f"0x{bits:x} : i{width}")  # any width (hex: the bit pattern, no digit limit)
    return hw.ConstantOp(attr).result


_PREDICATES = {"eq": 0, "ne": 1, "slt": 2, "sle": 3, "sgt": 4, "sge": 5, "ult": 6, "ule": 7, "ugt": 8, "uge": 9}


def icmp(predicate: str, lhs: ir.Value, rhs: ir.Value) -> ir.Value:
    """comb.icmp with a named predicate (the Python builder takes the enum's integer)."""
    attr = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), _PREDICATES[predicate])
    return comb.ICmpOp(attr, lhs, rhs).result


def const(v: int) -> Wire:
    v = int(v)
    return Wire(const_value(v, width_of(v, v)), v, v)


def from_value(value: ir.Value, lo: int, hi: int) -> Wire:
    return Wire(value, int(lo), int(hi))


def extend(w: Wire, width: int) -> ir.Value:
    """w's value at `width` bits: sign/zero extended, or its low bits when its range fits that width."""
    have = w.width
    if width == have:
        return w.value
    if w.is_constant:
        return const_value(w.lo, width)
    if width < have:
        return comb.ExtractOp(_itype(width), w.value, 0).result
    top = comb.ExtractOp(_itype(1), w.value, have - 1).result if w.signed else const_value(0, 1)
    fill = top if width - have == 1 else comb.ReplicateOp(_itype(width - have), top).result
    return comb.ConcatOp([fill, w.value]).result


def _fit(value: ir.Value, width: int, lo: int, hi: int) -> Wire:
    """A value computed at `width` bits whose integers lie in [lo, hi], narrowed to that range's width."""
    need = width_of(lo, hi)
    if lo == hi:
        return const(lo)
    if need < width:
        value = comb.ExtractOp(_itype(need), value, 0).result
    return Wire(value, lo, hi)


def from_bits(value: ir.Value, width: int, lo: int, hi: int) -> Wire:
    """A `width`-bit value known to carry integers in [lo, hi] (two's complement), at that range's width."""
    return _fit(value, width, lo, hi)


def compare(predicate: str, a: Wire, b: Wire) -> Bit:
    """a <op> b for "lt", "le", "eq", "ne" (signed comparison at a common width; folded by range)."""
    if predicate == "lt" and a.hi < b.lo or predicate == "le" and a.hi <= b.lo:
        return Bit(True)
    if predicate in ("lt", "le") and (a.lo > b.hi or predicate == "lt" and a.lo >= b.hi):
        return Bit(False)
    if a.is_constant and b.is_constant:
        return Bit({"lt": a.lo < b.lo, "le": a.lo <= b.lo, "eq": a.lo == b.lo, "ne": a.lo != b.lo}[predicate])
    if predicate in ("eq", "ne") and (a.hi < b.lo or b.hi < a.lo):
        return Bit(predicate == "ne")
    w = max(width_of(min(a.lo, b.lo, -1), max(a.hi, b.hi)), 2)
    pred = {"lt": "slt", "le": "sle", "eq": "eq", "ne": "ne"}[predicate]
    return Bit(icmp(pred, extend(a, w), extend(b, w)))


def narrow(w: Wire, lo: int, hi: int) -> Wire:
    """w, known (proven by the caller) to carry only integers in [lo, hi], at that range's width."""
    lo, hi = max(lo, w.lo), min(hi, w.hi)
    return _fit(w.value, w.width, lo, hi) if not w.is_constant else w


def add(a: Wire, b: Wire) -> Wire:
    if b.is_constant and b.lo == 0:
        return a
    if a.is_constant and a.lo == 0:
        return b
    lo, hi = a.lo + b.lo, a.hi + b.hi
    if lo == hi:
        return const(lo)
    w = width_of(lo, hi)
    return _fit(comb.AddOp([extend(a, w), extend(b, w)]).result, w, lo, hi)


def sub(a: Wire, b: Wire) -> Wire:
    if b.is_constant and b.lo == 0:
        return a
    lo, hi = a.lo - b.hi, a.hi - b.lo
    if lo == hi:
        return const(lo)
    w = width_of(lo, hi)
    return _fit(comb.SubOp(extend(a, w), extend(b, w)).result, w, lo, hi)


def add_shifted(a: Wire, b: Wire, k: int, negate: bool = False) -> Wire:
    """a + (b << k), or a - (b << k): the low k bits of `a` pass through as wires, only the bits above them
    go through an adder (k fewer LUTs and carry bits than adding the zero-extended shift)."""
    if b.is_constant and b.lo == 0:
        return a
    if k == 0 or a.is_constant:
        return (sub if negate else add)(a, shl(b, k))
    lo, hi = (a.lo - (b.hi << k), a.hi - (b.lo << k)) if negate else (a.lo + (b.lo << k), a.hi + (b.hi << k))
    if lo == hi:
        return const(lo)
    top = (sub if negate else add)(shr_floor(a, k), b)  # floor(a / 2^k) +- b
    low = comb.ExtractOp(_itype(min(k, a.width)), a.value, 0).result
    if k > a.width:  # a's sign (or zero) fills the bits between its width and k
        low = extend(Wire(low, a.lo, a.hi), k)
    if top.is_constant:
        tv = const_value(top.lo, max(top.width, 1))
        tw = max(top.width, 1)
    else:
        tv, tw = top.value, top.width
    return _fit(comb.ConcatOp([tv, low]).result, tw + k, lo, hi)


def add_tree(terms: list[Wire]) -> Wire:
    """The exact sum of `terms` as a balanced adder tree (exact, so the order of additions is free)."""
    terms = [t for t in terms if not (t.is_constant and t.lo == 0)]
    if not terms:
        return const(0)
    while len(terms) > 1:
        terms = [add(terms[i], terms[i + 1]) if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    return terms[0]


def mul(a: Wire, b: Wire) -> Wire:
    """The exact product of two signals (a multiplier)."""
    if b.is_constant:
        return mul_const(a, b.lo, "mul")
    if a.is_constant:
        return mul_const(b, a.lo, "mul")
    corners = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
    lo, hi = min(corners), max(corners)
    w = width_of(lo, hi)
    return _fit(comb.MulOp([extend(a, w), extend(b, w)]).result, w, lo, hi)


def mul_const(a: Wire, c: int, style: str = "mul") -> Wire:
    """a * c for a constant c: a `comb.mul` by a constant ("mul", which synthesis maps to DSPs or LUTs) or a
    canonical-signed-digit shift-add tree ("shift_add")."""
    c = int(c)
    if c == 0 or (a.is_constant and a.lo == 0):
        return const(0)
    if a.is_constant:
        return const(a.lo * c)
    if c == 1:
        return a
    if style != "mul" or is_shift(c):  # "shift_add" (a single product of an "adder_graph" too)
        pos = [shl(a, k) for k, d in csd_digits(c) if d > 0]
        neg = [shl(a, k) for k, d in csd_digits(c) if d < 0]
        total = add_tree(pos)
        return sub(total, add_tree(neg)) if neg else total
    lo, hi = sorted((a.lo * c, a.hi * c))
    if a.signed or c < 0:
        return _signed_product(a, c, lo, hi)
    w = width_of(lo, hi)
    return _fit(comb.MulOp([extend(a, w), const_value(c, w)]).result, w, lo, hi)


def _signed_product(a: Wire, c: int, lo: int, hi: int) -> Wire:
    """a * c through an unsigned multiplier: with a = a_u - a_s * 2^wa (a_u its bits read as unsigned, a_s its
    sign bit), a * |c| = a_u * |c| - (a_s ? |c| << wa : 0).  Synthesis sees a zero-extended product (one DSP
    for a 27x18 one instead of the several a sign-extended operand costs) and a gated-constant subtraction."""
    wa, m = a.width, abs(c)
    unsigned = mul_const(Wire(a.value, 0, (1 << wa) - 1), m, "mul")
    if a.signed:
        wc = width_of(0, m << wa)
        gate = comb.ReplicateOp(_itype(wc), bit(a, wa - 1).value()).result if wc > 1 else bit(a, wa - 1).value()
        corr = Wire(comb.AndOp([gate, const_value(m << wa, wc)]).result, 0, m << wa)
    else:
        corr = const(0)
    p = sub(unsigned, corr) if c > 0 else sub(corr, unsigned)
    return narrow(p, lo, hi)  # exact identity: the product's own range


def neg(a: Wire) -> Wire:
    return sub(const(0), a)


def shl(a: Wire, k: int) -> Wire:
    """a * 2**k (k >= 0): zeros appended."""
    if k == 0 or a.is_constant:
        return const(a.lo << k) if a.is_constant else a
    lo, hi = a.lo << k, a.hi << k
    return Wire(comb.ConcatOp([a.value, const_value(0, k)]).result, lo, hi)


def shr_floor(a: Wire, k: int) -> Wire:
    """floor(a / 2**k) (k >= 0): the low bits dropped (an arithmetic shift)."""
    if k == 0:
        return a
    lo, hi = a.lo >> k, a.hi >> k
    if lo == hi:
        return const(lo)
    if k >= a.width:  # only the sign is left: -1 or 0 (a signed a; an unsigned one folded to 0 above)
        return Wire(comb.ExtractOp(_itype(1), a.value, a.width - 1).result, -1, 0)
    return _fit(comb.ExtractOp(_itype(a.width - k), a.value, k).result, a.width - k, lo, hi)


def bit(a: Wire, i: int) -> Bit:
    """Bit i of a's two's complement pattern (bits above the width repeat the sign)."""
    if a.is_constant:
        return Bit(bool((a.lo >> i) & 1))
    if i >= a.width:
        return Bit(comb.ExtractOp(_itype(1), a.value, a.width - 1).result) if a.signed else Bit(False)
    return Bit(comb.ExtractOp(_itype(1), a.value, i).result)


def any_low(a: Wire, k: int) -> Bit:
    """OR of bits [0, k) of a."""
    if k <= 0:
        return Bit(False)
    if a.is_constant:
        return Bit(bool(a.lo & ((1 << k) - 1)))
    if k > a.width:
        return any_low(a, a.width) | bit(a, a.width) if a.signed else any_low(a, a.width)
    low = comb.ExtractOp(_itype(k), a.value, 0).result
    return Bit(icmp("ne", low, const_value(0, k)))


def sign(a: Wire) -> Bit:
    return bit(a, a.width - 1) if a.signed else Bit(False)


def less_than(a: Wire, c: int) -> Bit:
    """a < c for a constant c, folded when a's range decides it."""
    if a.hi < c:
        return Bit(True)
    if a.lo >= c:
        return Bit(False)
    w = max(width_of(min(a.lo, c, -1), max(a.hi, c)), 2)
    return Bit(icmp("slt", extend(a, w), const_value(c, w)))


def greater_than(a: Wire, c: int) -> Bit:
    if a.lo > c:
        return Bit(True)
    if a.hi <= c:
        return Bit(False)
    w = max(width_of(min(a.lo, c, -1), max(a.hi, c)), 2)
    return Bit(icmp("sgt", extend(a, w), const_value(c, w)))


def greater(a: Wire, b: Wire) -> Bit:
    """a > b for two signals."""
    if a.lo > b.hi:
        return Bit(True)
    if a.hi <= b.lo:
        return Bit(False)
    w = max(width_of(min(a.lo, b.lo, -1), max(a.hi, b.hi)), 2)
    return Bit(icmp("sgt", extend(a, w), extend(b, w)))


def mux(sel: Bit, if_true: Wire, if_false: Wire) -> Wire:
    if isinstance(sel.v, bool):
        return if_true if sel.v else if_false
    lo, hi = min(if_true.lo, if_false.lo), max(if_true.hi, if_false.hi)
    w = width_of(lo, hi)
    return Wire(comb.MuxOp(sel.v, extend(if_true, w), extend(if_false, w)).result, lo, hi)


def maximum(a: Wire, b: Wire) -> Wire:
    return mux(greater(a, b), a, b)


def clip(a: Wire, lo: int, hi: int) -> Wire:
    """min(max(a, lo), hi), narrowed to the clipped range."""
    if a.lo >= lo and a.hi <= hi:
        return a
    out = mux(less_than(a, lo), const(lo), a) if a.lo < lo else a
    out = mux(greater_than(out, hi), const(hi), out) if out.hi > hi else out
    nlo, nhi = max(a.lo, lo), min(a.hi, hi)
    if nlo > nhi:  # a lies wholly outside [lo, hi]
        return const(lo if a.hi < lo else hi)
    return _fit(extend(out, out.width), out.width, nlo, nhi)


def reinterpret(a: Wire, width: int, signed: bool) -> Wire:
    """The low `width` bits of a read as a `width`-bit two's complement (signed) or unsigned integer."""
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    if a.is_constant:
        v = a.lo & ((1 << width) - 1)
        return const(v - (1 << width) if signed and v >> (width - 1) else v)
    if lo <= a.lo and a.hi <= hi:  # the target holds every value: nothing wraps
        return a
    return Wire(extend(a, width) if a.width != width else a.value, lo, hi)


def rom(index: Wire, entries: list[int]) -> Wire:
    """entries[index] for 0 <= index < len(entries): one wide constant shifted right by index * width (a
    ROM that synthesis maps to LUTs; only the entries the index's range can reach are kept)."""
    first, last = max(index.lo, 0), min(index.hi, len(entries) - 1)
    entries = [int(v) for v in entries[first:last + 1]]
    lo, hi = min(entries), max(entries)
    if lo == hi:
        return const(lo)
    index = sub(index, const(first))
    w = width_of(lo, hi)
    bits = 0
    for i, v in enumerate(entries):
        bits |= (v & ((1 << w) - 1)) << (i * w)
    total = w * len(entries)
    offset = extend(mul_const(index, w, "shift_add"), total) if total > 1 else None
    word = comb.ShrUOp(const_value(bits, total), offset).result
    return _fit(comb.ExtractOp(_itype(w), word, 0).result, w, lo, hi) if w < total else Wire(word, lo, hi)


def select(index: Wire, options: list[Wire]) -> Wire:
    """options[index] for a counter `index`: a binary tree of 2:1 multiplexers on the index bits (no
    hw arrays: yosys' SystemVerilog reader takes no packed-array literals)."""
    level = list(options)
    bit_no = 0
    while len(level) > 1:
        sel = bit(index, bit_no)
        level = [mux(sel, level[i + 1], level[i]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
        bit_no += 1
    return level[0]
