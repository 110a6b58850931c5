"""A small bit-level expression language: the one definition of every multiplier.

A multiplier is a DAG of integer operations on its two operands' stored integers (`A`, `B`: the
two's-complement bit patterns, sign-extended).  The same DAG is *interpreted* into NumPy (`evaluate`, int64
arrays, vectorized over operand pairs) and *printed* into C++ (`c_function`, `long long` arithmetic, one
`const` per node); every node is a plain combinational operation (bit select, and/or/xor, add, shifts,
compare, select, priority encoder, ROM, a user C function), so a Verilog printer can be added the same way.
Values must stay inside int64; the families keep every intermediate below 2^62.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

_BINARY = {"add": "+", "sub": "-", "mul": "*", "and": "&", "or": "|", "xor": "^",
           "lt": "<", "le": "<=", "eq": "==", "ne": "!="}


@dataclass(frozen=True, eq=False)
class Node:
    """One operation; `args` are Nodes, `value` an int parameter (constant, bit index, width)."""

    op: str
    args: tuple = ()
    value: int = 0
    table: np.ndarray | None = None  # op "rom": product table indexed [a - a_min, b - b_min]
    offsets: tuple[int, int] = (0, 0)
    symbol: str = ""  # op "call": a user C function (its products tabulated in `table` for NumPy)

    def _bin(self, op, other):
        return Node(op, (self, lift(other)))

    def __add__(self, o): return self._bin("add", o)
    def __radd__(self, o): return lift(o)._bin("add", self)
    def __sub__(self, o): return self._bin("sub", o)
    def __rsub__(self, o): return lift(o)._bin("sub", self)
    def __mul__(self, o): return self._bin("mul", o)
    def __and__(self, o): return self._bin("and", o)
    def __or__(self, o): return self._bin("or", o)
    def __xor__(self, o): return self._bin("xor", o)
    def __lt__(self, o): return self._bin("lt", o)
    def __le__(self, o): return self._bin("le", o)

    def eq(self, o) -> "Node":
        return self._bin("eq", o)

    def bit(self, i: int) -> "Node":
        """Bit i of the two's-complement pattern (0 or 1)."""
        return Node("bit", (self,), i)

    def shift(self, s) -> "Node":
        """x * 2^s for s >= 0, floor(x / 2^-s) for s < 0 (arithmetic right shift); `s` a Node or int."""
        return Node("shift", (self, lift(s)))


A = Node("a")
B = Node("b")


def lift(v) -> Node:
    return v if isinstance(v, Node) else Node("const", (), int(v))


def const(v: int) -> Node:
    return Node("const", (), int(v))


def select(cond, if_true, if_false) -> Node:
    return Node("select", (lift(cond), lift(if_true), lift(if_false)))


def msb(x: Node, width: int) -> Node:
    """Index of the leading one of a non-negative x below 2^width (a priority encoder); -1 for x = 0."""
    return Node("msb", (x,), width)


def wrap(x: Node, bits: int, signed: bool) -> Node:
    """x modulo 2^bits, read as a `bits`-bit two's-complement (signed) or unsigned number."""
    low = x & ((1 << bits) - 1)
    if not signed:
        return low
    sign = 1 << (bits - 1)
    return (low ^ sign) - sign


def rom(table: np.ndarray, a_min: int, b_min: int) -> Node:
    """A product ROM: table[a - a_min, b - b_min]."""
    return Node("rom", (A, B), table=np.ascontiguousarray(table, dtype=np.int64), offsets=(a_min, b_min))


def total(terms: list[Node]) -> Node:
    """A balanced adder tree over `terms` (0 when empty)."""
    terms = list(terms)
    if not terms:
        return const(0)
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    return terms[0]


def topo(root: Node) -> list[Node]:
    """Nodes in dependency order (each shared node once)."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        n, done = stack.pop()
        if done:
            order.append(n)
            continue
        if id(n) in seen:
            continue
        seen.add(id(n))
        stack.append((n, True))
        stack.extend((c, False) for c in reversed(n.args) if id(c) not in seen)
    return order


# --- NumPy interpreter ------------------------------------------------------------------------------
CHUNK = 1 << 15  # operand pairs evaluated at once: every live intermediate is one such int64 block


def evaluate(root: Node, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The expression on int64 operand arrays (broadcast against each other).

    Memory stays bounded whatever the operand count: structurally equal nodes (a bit read by many cells) are
    computed once, pairs go through in blocks of `CHUNK`, and each intermediate is dropped after its last
    use (a 16x8 truncated array has hundreds of nodes: kept whole over 2^24 pairs, they needed ~100 GB)."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
    out = np.empty(a.size, dtype=np.int64)
    for start, vals in _chunks(root, a.reshape(-1), b.reshape(-1)):
        out[start:start + CHUNK] = vals[-1]  # the root's values (the last node)
    return out.reshape(a.shape)


def node_ranges(root: Node, a: np.ndarray, b: np.ndarray) -> dict[int, tuple[int, int]]:
    """id(node) -> (min, max) of its values over the operand pairs (broadcast), for every node of the DAG, in
    the same bounded memory as `evaluate` (the RTL printer sizes its wires by them)."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
    lo: dict[int, int] = {}
    hi: dict[int, int] = {}
    for _, vals in _chunks(root, a.reshape(-1), b.reshape(-1), every=True):
        for i, v in vals.items():
            vmin, vmax = int(np.min(v)), int(np.max(v))
            lo[i], hi[i] = min(lo.get(i, vmin), vmin), max(hi.get(i, vmax), vmax)
    pos = _plan(root)[3]
    return {key: (lo[i], hi[i]) for key, i in pos.items()}


def _chunks(root: Node, a: np.ndarray, b: np.ndarray, every: bool = False):
    """(start, values) per chunk of `CHUNK` flat operand pairs: values[position] of the root (position -1), or
    with `every` of each distinct node as it is computed (then freed after its last use)."""
    order, args, last, _ = _plan(root)
    for start in range(0, max(a.size, 1), CHUNK):
        ca, cb = a[start:start + CHUNK], b[start:start + CHUNK]
        vals: dict[int, np.ndarray] = {}
        seen: dict[int, np.ndarray] = {}
        for i, n in enumerate(order):
            vals[i] = _eval_node(n, [vals[j] for j in args[i]], ca, cb)
            if every:
                seen[i] = np.broadcast_to(vals[i], ca.shape)
            for j in last.get(i, ()):
                del vals[j]
            if every and len(seen) > 64:  # hand the finished ranges over in batches
                yield start, seen
                seen = {}
        if every:
            yield start, seen
        else:
            yield start, {-1: vals[len(order) - 1]}


@functools.lru_cache(maxsize=64)  # per multiplier DAG (the RTL printer sizes one multiplier per weight)
def _plan(root: Node) -> tuple[list[Node], list[tuple[int, ...]], dict[int, list[int]], dict[int, int]]:
    """The distinct nodes in dependency order (structural duplicates merged), each one's argument positions,
    position -> the positions whose last use it is (the root is never freed), and id(node) -> position."""
    order: list[Node] = []
    args: list[tuple[int, ...]] = []
    pos: dict[int, int] = {}
    keys: dict[tuple, int] = {}
    for n in topo(root):
        a = tuple(pos[id(c)] for c in n.args)
        key = (n.op, n.value, a, id(n.table) if n.table is not None else None, n.offsets, n.symbol)
        if key not in keys:
            keys[key] = len(order)
            order.append(n)
            args.append(a)
        pos[id(n)] = keys[key]
    final: dict[int, int] = {}
    for i, a in enumerate(args):
        for j in a:
            final[j] = i
    last: dict[int, list[int]] = {}
    for j, i in final.items():
        if j != len(order) - 1:
            last.setdefault(i, []).append(j)
    return order, args, last, pos


def evaluate_nodes(root: Node, a: np.ndarray, b: np.ndarray) -> dict[int, np.ndarray]:
    """Every node's values on the operand arrays, keyed by id(node) (the RTL printer sizes its wires by
    them)."""
    vals: dict[int, np.ndarray] = {}
    for n in topo(root):
        x = [vals[id(c)] for c in n.args]
        vals[id(n)] = _eval_node(n, x, a, b)
    return vals


def _eval_node(n: Node, x: list, a, b):
    op = n.op
    if op == "a":
        return a
    if op == "b":
        return b
    if op == "const":
        return np.int64(n.value)
    if op in ("add", "sub", "mul", "and", "or", "xor"):
        f = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "and": np.bitwise_and,
             "or": np.bitwise_or, "xor": np.bitwise_xor}[op]
        return f(x[0], x[1])
    if op in ("lt", "le", "eq", "ne"):
        f = {"lt": np.less, "le": np.less_equal, "eq": np.equal, "ne": np.not_equal}[op]
        return f(x[0], x[1]).astype(np.int64)
    if op == "bit":
        return (x[0] >> n.value) & 1
    if op == "shift":
        s = x[1]
        left = x[0] << np.clip(s, 0, 62)
        right = x[0] >> np.clip(-s, 0, 62)
        return np.where(s >= 0, left, right)
    if op == "select":
        return np.where(x[0] != 0, x[1], x[2])
    if op == "msb":
        v = np.asarray(x[0])
        out = np.full(v.shape, -1, dtype=np.int64)
        for i in range(n.value):
            out = np.where((v >> i) & 1 == 1, i, out)
        return out
    if op in ("rom", "call"):
        return n.table[x[0] - n.offsets[0], x[1] - n.offsets[1]]
    raise ValueError(f"unknown expression op {op!r}")


# --- C++ printer ----------------------------------------------------------------------------------
C_HELPERS = """// Priority encoder: index of the leading one of x >= 0 below 2^width, -1 for 0.
static inline long long fxam_msb(long long x, int width) {
    long long r = -1;
    for (int i = 0; i < width; i++) {
        if ((x >> i) & 1) r = i;
    }
    return r;
}
// x * 2^s (s >= 0) or an arithmetic right shift by -s (s < 0).
static inline long long fxam_shift(long long x, long long s) {
    return s >= 0 ? (long long) ((unsigned long long) x << s) : (x >> -s);
}
"""


def c_function(root: Node, name: str, comment: str = "") -> str:
    """`static inline long long name(long long a, long long b)`: the expression, one `const` per node."""
    head = [f"// {comment}"] if comment else []
    head.append(f"static inline long long {name}(long long a, long long b) {{")
    names: dict[int, str] = {}
    roms: list[str] = []
    stmts = []
    shared: dict[str, str] = {}  # structurally equal nodes (a bit used by many cells) are printed once
    for n in topo(root):
        expr = _c_node(n, [names.get(id(c)) for c in n.args], roms)
        if n.op in ("a", "b", "const"):
            names[id(n)] = expr
            continue
        if expr not in shared:
            shared[expr] = f"t{len(stmts)}"
            stmts.append(f"    const long long {shared[expr]} = {expr};")
        names[id(n)] = shared[expr]
    return "\n".join(head + roms + stmts + [f"    return {names[id(root)]};", "}"]) + "\n"


def _c_node(n: Node, x: list, roms: list) -> str:
    op = n.op
    if op == "a":
        return "a"
    if op == "b":
        return "b"
    if op == "const":
        return f"{n.value}LL" if n.value >= 0 else f"({n.value}LL)"
    if op in _BINARY:
        return f"{x[0]} {_BINARY[op]} {x[1]}"
    if op == "bit":
        return f"({x[0]} >> {n.value}) & 1"
    if op == "shift":
        return f"fxam_shift({x[0]}, {x[1]})"
    if op == "select":
        return f"{x[0]} ? {x[1]} : {x[2]}"
    if op == "msb":
        return f"fxam_msb({x[0]}, {n.value})"
    if op == "rom":
        rows, cols = n.table.shape
        flat = n.table.reshape(-1)
        body = ",\n        ".join(", ".join(str(int(v)) for v in flat[i:i + 16]) for i in range(0, flat.size, 16))
        roms.append(f"    static const long long rom[{flat.size}] = {{\n        {body}}};")
        return f"rom[({x[0]} - ({n.offsets[0]})) * {cols} + ({x[1]} - ({n.offsets[1]}))]"
    if op == "call":
        return f"(long long) {n.symbol}({x[0]}, {x[1]})"
    raise ValueError(f"unknown expression op {op!r}")
