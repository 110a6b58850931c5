"""C++ for the body of one `df.kernel`: a dispatch table keyed by op name, one small printer per op.

Each printer implements exactly the op's documented semantics with ap_fixed assignments:
an `ap_fixed` expression is exact (operator result types), and assigning it to a variable of the
op's result/accumulator type applies that type's rounding then overflow mode.  Tensors are flat
row-major C arrays (the leading batch dimension of 1 included).  Pragmas only annotate; the C code
alone defines the numbers, so every strategy / reuse factor computes identical results.
"""

from __future__ import annotations

import math
from typing import Callable

from fxflow.dialects.fxp import AddOp, CastOp, ConstantOp, DenseOp, OpRegistry, ReluOp, check_op_classes, op_class
from fxflow.errors import IRError, UnsupportedOpError
from fxflow.ir import ir

from .cwriter import Lines, comment_text, index_expr
from .design import ConstArray, HlsDesign, KernelFn, block_ops, fixed_format, int_attr, shape_of, str_attr

OpPrinter = Callable[["KernelEmitter", object], None]
OP_PRINTERS: OpRegistry = OpRegistry("HLS printer")

# Ops no HLS kernel prints, with the reason (test_op_coverage.py asks every op of FXP_OPS).
UNSUPPORTED: dict = {}


def printer(*classes: type):
    return OP_PRINTERS.decorate(classes)


class KernelEmitter:
    """State while printing one kernel: value -> C array name / typedef, locals, emitted pragmas."""

    def __init__(self, design: HlsDesign, op, name: str, layer: str, arg_types: list[str], res_types: list[str]):
        self.design = design
        self.op = op
        self.name = name
        self.layer = layer
        self.rf = int_attr(op, "reuse_factor", 1)
        self.strategy = str_attr(op, "strategy", "latency")
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
        if self.strategy == "latency":
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


register_roles({(DenseOp, 1): ("w", "weight"), (DenseOp, 2): ("b", "bias")})


@printer(ConstantOp)
def _constant(k: KernelEmitter, op) -> None:
    v = op.results[0]
    fmt = k.fmt(v, op, "result")
    shape = k.shape(v, op, "result")
    attr = op.attributes["value"]
    if not isinstance(attr, ir.DenseIntElementsAttr):
        raise k.error(op, "a fixed-point constant must hold its stored integers in an integer dense attribute")
    import numpy as np

    values = [int(n) for n in np.asarray(ir.DenseIntElementsAttr(attr)).reshape(-1)]
    if len(values) != math.prod(shape):
        raise k.error(op, f"constant holds {len(values)} values for shape {list(shape)}")
    lo, hi = fmt.min_int, fmt.max_int
    bad = next((n for n in values if not lo <= n <= hi), None)
    if bad is not None:
        raise IRError(f"HLS emitter: stored integer {bad} is outside [{lo}, {hi}] of {fmt}: {k.where(op)}")
    uses = list(v.uses)
    short, role = ("c", "const")
    if uses:
        short, role = _ROLES.get((op_class(uses[0].owner.name), uses[0].operand_number), (short, role))
    name = k.design.ident(f"{k.name}_{short}")
    ctype = k.design.typedef(f"{k.name}_{role}", fmt, f"kernel {k.name}")
    header = f"weights/{k.design.stem(name)}.h"
    k.consts.append(ConstArray(name, ctype, fmt, shape, values, k.name, role, header))
    k.arrays[v], k.ctypes[v] = name, ctype
    if "formats" in op.attributes:  # --- per-channel formats (channels.py): typedef per channel group ---
        from .channels import declare_constant_channels

        declare_constant_channels(k, op, name, role, ctype)


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


@printer(CastOp)
def _cast(k: KernelEmitter, op) -> None:
    if "formats" in op.attributes:  # --- per-channel cast (channels.py): one type per channel group ---
        from .channels import print_channel_cast

        print_channel_cast(k, op)
        return
    print_elementwise(k, op, "cast", ("input",), "fxp.cast", lambda d, s: [f"{d}[i] = {s[0]}[i];"])


@printer(ReluOp)
def _relu(k: KernelEmitter, op) -> None:
    print_elementwise(k, op, "relu", ("input",), "fxp.relu: max(x, 0)",
                 lambda d, s: [f"if ({s[0]}[i] > 0) {d}[i] = {s[0]}[i];", f"else {d}[i] = 0;"])


@printer(AddOp)
def _add(k: KernelEmitter, op) -> None:
    print_elementwise(k, op, "add", ("lhs", "rhs"), "fxp.add: exact sum",
                 lambda d, s: [f"{d}[i] = {s[0]}[i] + {s[1]}[i];"])


def product_type(k: KernelEmitter, op) -> str | None:
    """hls4ml's per-product cast (`acc += accum_t(x * w)`), when the op carries a `product` type."""
    if "product" not in op.attributes:
        return None
    fmt = fixed_format(ir.TypeAttr(op.attributes["product"]).value, f"product type of {k.where(op)}")
    return k.design.typedef(f"{k.name}_product", fmt, f"kernel {k.name}")


@printer(DenseOp)
def _dense(k: KernelEmitter, op) -> None:
    """acc[n] = accum(bias[n]); acc[n] += x[k] * w[k][n] for k = 0..K-1 in order; y[n] = acc[n].

    latency: every loop unrolled inside the function pipeline (II = reuse factor); with RF > 1 the
    weights are partitioned cyclically and the multipliers limited to ceil(K*N/RF).
    resource: the K*N products are folded into ceil(K*N/P) pipelined steps of P = ceil(K*N/RF)
    consecutive (k, n) pairs (k-major), the weights reshaped so one ROM word feeds one step.  Both
    keep, for every n, the order k = 0..K-1 of the accumulation, so the C semantics are unchanged."""
    x, w, b = op.operands[0], op.operands[1], op.operands[2]
    y = op.results[0]
    for v, what in ((x, "input"), (w, "weight"), (b, "bias")):
        k.fmt(v, op, what)
    acc_fmt = fixed_format(ir.TypeAttr(op.attributes["accum"]).value, f"accumulator of {k.where(op)}")
    *lead, kk = k.shape(x, op, "input")
    bsz = math.prod(lead)  # rows: the sample, or the tokens of a Linear applied per token
    nn = k.shape(w, op, "weight")[1]
    X, W, Bi = k.ref(x), k.ref(w), k.ref(b)
    body = k.body
    body(f"// fxp.dense [{bsz}x{kk}] x [{kk}x{nn}] -> [{bsz}x{nn}], accumulator {acc_fmt}")
    Y = k.dest(y, op, "dense")
    acc_t = k.design.typedef(f"{k.name}_accum", acc_fmt, f"kernel {k.name}")
    acc = k.fresh("acc")
    total = kk * nn
    per_step = -(-total // k.rf)  # multiplications per cycle, P = ceil(K*N/RF)
    body(f"{acc_t} {acc}[{nn}];")
    k.partition(acc)
    if k.is_const(b):
        k.partition(Bi)
    if k.strategy == "resource":
        if k.is_const(w):
            body.pragma(f"ARRAY_RESHAPE variable={W} cyclic factor={per_step} dim=1")
            body.pragma(f"BIND_STORAGE variable={W} type=rom_2p impl=bram")
            k.partitioned.add(W)
    elif k.rf == 1:
        if k.is_const(w):
            k.partition(W)
    else:
        if k.is_const(w):
            k.partition(W, f"cyclic factor={per_step} dim=1")
        k.mul_limit += per_step
    if bsz > 1:
        body.loop("b", bsz, unroll=k.strategy == "latency")
    row = "b" if bsz > 1 else 0
    body.loop("n", nn)
    body(f"{acc}[n] = {Bi}[n];")
    body.close()
    prod_t = product_type(k, op)

    def product(expr: str) -> str:
        return f"{prod_t}({expr})" if prod_t else expr

    from .approx import multiply  # x * w, or the layer's approximate multiplier

    if k.strategy == "resource":
        steps = -(-total // per_step)
        body.loop("r", steps, unroll=False)
        body.pragma("PIPELINE II=1")
        body.loop("j", per_step)
        body(f"const int t = r * {per_step} + j;")
        x_t = f"{X}[{index_expr((row, kk), (f't / {nn}', 1))}]"
        stmt = f"{acc}[t % {nn}] += {product(multiply(k, op, x_t, f'{W}[t]'))};"
        if steps * per_step != total:
            body(f"if (t < {total}) {stmt}")
        else:
            body(stmt)
        body.close()
        body.close()
    else:
        body.loop("k", kk)
        body.loop("n", nn)
        w_kn = f"{W}[{index_expr(('k', nn), ('n', 1))}]"
        x_k = f"{X}[{index_expr((row, kk), ('k', 1))}]"
        mac = f"{acc}[n] += {product(multiply(k, op, x_k, w_kn))};"
        # Pruned weights: acc += x*0 leaves acc (already of accum_t) unchanged under every mode, so the
        # guard keeps the C semantics; unrolled over a constant array it folds away the multiplier.
        w_const = next((c for c in k.consts if c.name == W), None)
        if w_const is not None and 0 in w_const.values:
            mac = f"if ({w_kn} != 0) {mac}"
        body(mac)
        body.close()
        body.close()
    body.loop("n", nn)
    body(f"{Y}[{index_expr((row, nn), ('n', 1))}] = {acc}[n];")
    body.close()
    if bsz > 1:
        body.close()


from . import kernels_layers  # noqa: E402,F401  (registers the conv/pool/affine/data-movement printers)
from . import kernels_tables  # noqa: E402,F401  (registers the clamp/prelu/lut/softmax printers)
from . import kernels_transformer  # noqa: E402,F401  (registers the matmul/layernorm printers)
from . import kernels_recurrent  # noqa: E402,F401  (registers the fxp.rnn printer)
