"""C++ for the body of one `df.kernel`: a dispatch table keyed by op class, one small printer per op
(kernels/<family>.py, imported by lower.py; kernels/stream.py for io_stream).

Each printer implements exactly the op's documented semantics with ap_fixed assignments:
an `ap_fixed` expression is exact (operator result types), and assigning it to a variable of the
op's result/accumulator type applies that type's rounding then overflow mode.  Tensors are flat
row-major C arrays (the leading batch dimension of 1 included).  Pragmas only annotate; the C code
alone defines the numbers, so every strategy / reuse factor computes identical results.
"""

from __future__ import annotations

import math
from typing import Callable

from fxflow.dialects.df import UNROLLED
from fxflow.dialects.df.graph import attr
from fxflow.dialects.fxp import OpRegistry, check_op_classes, op_class
from fxflow.errors import UnsupportedOpError
from fxflow.ir import ir

from fxflow.lowering.hls.cwriter import Lines, comment_text
from fxflow.lowering.hls.design import ConstArray, HlsDesign, KernelFn, block_ops, fixed_format, shape_of

OpPrinter = Callable[["KernelEmitter", object], None]
OP_PRINTERS: OpRegistry = OpRegistry("HLS printer")

# Ops no HLS kernel prints, with the reason (test_op_coverage.py asks every op of FXP_OPS).
UNSUPPORTED: dict = {}


def printer(*classes: type):
    return OP_PRINTERS.decorate(classes)


class KernelEmitter:
    """State while printing one kernel: value -> C array name / typedef, locals, emitted pragmas."""

    is_stream = False  # True in kernels.stream.StreamKernelEmitter: ports are hls::streams (io_stream)

    def __init__(self, design: HlsDesign, op, name: str, layer: str, arg_types: list[str], res_types: list[str]):
        self.design = design
        self.op = op
        self.name = name
        self.layer = layer
        self.rf = attr(op, "reuse_factor", 1)
        self.strategy = attr(op, "strategy", "latency")
        self.res_types = res_types
        self.body = Lines(1)
        self.consts: list[ConstArray] = []
        self.arrays: dict = {}  # mlir Value -> C array name
        self.ctypes: dict = {}  # mlir Value -> typedef name
        self.counter = 0
        self.partitioned: set[str] = set()
        self.mul_limit = 0  # latency kernels with RF > 1: multipliers allowed in the whole function
        block = op.regions[0].blocks[0]
        self.args = list(block.arguments)
        self.params = []
        for idx, (a, t) in enumerate(zip(self.args, arg_types)):
            self.arrays[a], self.ctypes[a] = f"x{idx}", t
            self.params.append(f"const {t} x{idx}[{self.size(a, f'input {idx}')}]")
        for idx, (r, t) in enumerate(zip(op.results, res_types)):
            self.params.append(f"{t} y{idx}[{self.size(r, f'result {idx}')}]")

    # --- helpers used by the op printers ------------------------------------------------------
    def where(self, op=None) -> str:
        s = f"kernel '{self.name}'"
        if self.layer:
            s += f" (layer '{comment_text(self.layer)}')"
        if op is not None:
            s = f"'{op.operation.name}' in " + s
        return s

    def error(self, op, message: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"HLS emitter: {message}: {self.where(op)}")

    def size(self, value, what: str) -> int:
        return math.prod(shape_of(value, f"{what} of {self.where()}"))

    def shape(self, value, op, what: str) -> tuple[int, ...]:
        return shape_of(value, f"{what} of {self.where(op)}")

    def fmt(self, value, op, what: str):
        return fixed_format(value, f"{what} of {self.where(op)}")

    def ref(self, value) -> str:
        return self.arrays[value]

    def fresh(self, base: str) -> str:
        name = f"{base}{self.counter}"
        self.counter += 1
        return name

    def dest(self, value, op, hint: str) -> str:
        """The array an op result is computed into: the output parameter `y<i>` when the result is only
        yielded (once), else a new local array with its own typedef."""
        uses = list(value.uses)
        fmt = self.fmt(value, op, "result")
        if len(uses) == 1 and uses[0].owner.name == "df.yield":
            idx = uses[0].operand_number
            name, ctype = f"y{idx}", self.res_types[idx]
        else:
            name = self.fresh("v")
            ctype = self.design.typedef(f"{self.name}_{hint}", fmt, f"kernel {self.name}")
            self.body(f"{ctype} {name}[{self.size(value, 'result')}];")
            self.partition(name)
        self.arrays[value], self.ctypes[value] = name, ctype
        return name

    def partition(self, array: str, how: str = "complete") -> None:
        if array not in self.partitioned:
            self.partitioned.add(array)
            self.body.pragma(f"ARRAY_PARTITION variable={array} {how}" + (" dim=0" if how == "complete" else ""))

    def is_const(self, value) -> bool:
        return isinstance(value, ir.OpResult) and value.owner.name == "fxp.constant"

    # --- the kernel function ------------------------------------------------------------------
    def emit(self) -> KernelFn:
        ops = block_ops(self.op)
        if self.strategy in UNROLLED:
            self.body.pragma(f"PIPELINE II={self.rf}")
        for op in ops[:-1]:
            fn = OP_PRINTERS.get(op.operation.name)
            if fn is None:
                supported = ", ".join(OP_PRINTERS.names())
                raise self.error(op, f"unsupported op '{op.operation.name}' (supported: {supported})")
            fn(self, op)
        if self.mul_limit:  # right after the function's PIPELINE pragma
            self.body.lines.insert(1, f"    #pragma HLS ALLOCATION operation instances=mul limit={self.mul_limit}")
        yield_op = ops[-1]
        for idx, v in enumerate(yield_op.operands):
            src = self.ref(v)
            dst = f"y{idx}"
            if src != dst:
                n = self.size(v, f"result {idx}")
                self.body(f"// result {idx}")
                self.body.loop("i", n)
                self.body(f"{dst}[i] = {src}[i];")
                self.body.close()
        stem = self.design.stem(self.name)
        return KernelFn(self.name, self.layer, self.rf, self.strategy, self.params, self.body, self.consts,
                        f"layers/{stem}.cpp")


# --- op printers --------------------------------------------------------------------------------

_ROLES = {}


def register_roles(roles: dict) -> None:
    """Name the constant operands of an op family: {(op class, operand number): (short name, precision role)}."""
    check_op_classes([c for c, _ in roles], "HLS constant roles")
    _ROLES.update(roles)


def constant_role(value) -> tuple[str, str]:
    """(short name, precision role) of a constant, from the roles its first reader's family registered."""
    uses = list(value.uses)
    if not uses:
        return "c", "const"
    return _ROLES.get((op_class(uses[0].owner.name), uses[0].operand_number), ("c", "const"))


def print_elementwise(k: KernelEmitter, op, what: str, roles: tuple, comment: str, statement) -> None:
    """One loop over the result: `statement(dst, srcs)` gives the C++ lines for element i."""
    for v, role in zip(op.operands, roles):
        k.fmt(v, op, role)
    srcs = [k.ref(v) for v in op.operands]
    y = op.results[0]
    k.body(f"// {comment} -> {k.fmt(y, op, 'result')}")
    dst = k.dest(y, op, what)
    k.body.loop("i", k.size(y, "result"))
    for line in statement(dst, srcs):
        k.body(line)
    k.body.close()


def product_type(k: KernelEmitter, op) -> str | None:
    """hls4ml's per-product cast (`acc += accum_t(x * w)`), when the op carries a `product` type."""
    if "product" not in op.attributes:
        return None
    fmt = fixed_format(ir.TypeAttr(op.attributes["product"]).value, f"product type of {k.where(op)}")
    return k.design.typedef(f"{k.name}_product", fmt, f"kernel {k.name}")


def product_cast(k: KernelEmitter, op) -> Callable[[str], str]:
    """The per-product cast as a function of a product expression: `product_t(x * w)` when the op carries a
    `product` type, else the product itself (dense, conv and the recurrent cells alike)."""
    prod_t = product_type(k, op)
    return (lambda e: f"{prod_t}({e})") if prod_t else (lambda e: e)


