"""Bit-exact NumPy emulation of `fxp` / `df` programs (what `Design.predict` runs).

The IR is compiled once into a list of Python steps over a value table, so repeated predictions do not
walk MLIR.  Fixed-point tensors are arrays of stored integers (int64, or Python ints when a value may need
more than 62 bits) next to their `FixedFormat`; float tensors (a program before precision assignment) are
float64 and mean exact reals, which gives the float reference of the same IR.  All rounding and overflow
goes through `fxflow.fixed.quantize` — the single source of fixed-point semantics.

Dense layers take exact fast paths where they provably give the sequential C++ result (`acc += x*w` in
order): a float64 BLAS product when every partial sum fits in 53 bits, int64 otherwise, then one
requantization — valid when every product lies on the accumulator grid and the accumulator wraps or
provably never overflows.  Otherwise the k-loop is emulated step by step, exactly like the C++.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .dialects.fxp import COMPUTE_OPS, ConstantOp, OpRegistry, format_of
from .errors import FxflowError, ShapeError
from .fixed import FixedFormat
from .fixed.quantize import quantize, requantize, to_float
from .ir import elements_array, ir, layer_name

INT64_BITS = 62  # magnitudes below 2^62 leave headroom for one addition in int64


@dataclass
class Tensor:
    """A batch of values: stored integers with a format, or exact float64 reals (fmt None)."""

    data: np.ndarray
    fmt: FixedFormat | None


def int_bits(x: int) -> int:
    return int(x).bit_length()


def max_abs_int(fmt: FixedFormat) -> int:
    return max(-fmt.min_int, fmt.max_int)


def as_int(a: np.ndarray, bits: int) -> np.ndarray:
    """int64 while magnitudes stay below 2^INT64_BITS, else Python ints."""
    if bits <= INT64_BITS:
        return a if a.dtype == np.int64 else a.astype(np.int64)
    return a.astype(object)


def shift_left(a: np.ndarray, s: int, bits: int) -> np.ndarray:
    if s == 0:
        return a
    a = as_int(a, bits + s)
    return a << s if a.dtype != object else a * (1 << s)


# ------------------------------------------------------------------------------------------------
# Op semantics
# ------------------------------------------------------------------------------------------------
def cast(x: Tensor, out: FixedFormat | None) -> Tensor:
    if out is None:
        return Tensor(x.data if x.fmt is None else to_float(x.data, x.fmt.f), None)
    if x.fmt is None:
        return Tensor(quantize(x.data, out), out)
    if x.fmt == out:
        return x
    return Tensor(requantize(x.data, x.fmt.f, out), out)


def relu(x: Tensor, out: FixedFormat | None) -> Tensor:
    if x.fmt is None:
        return Tensor(np.maximum(x.data, 0.0), None)
    return cast(Tensor(np.maximum(x.data, 0), x.fmt), out)


def add(a: Tensor, b: Tensor, out: FixedFormat | None) -> Tensor:
    if a.fmt is None:
        return Tensor(a.data + b.data, None)
    s = a.fmt.add_result(b.fmt)
    bits = s.width + 1
    lhs = shift_left(a.data, s.f - a.fmt.f, bits)
    rhs = shift_left(b.data, s.f - b.fmt.f, bits)
    total = as_int(lhs, bits) + as_int(rhs, bits)
    return cast(Tensor(total, s), out)


@dataclass
class DensePlan:
    """Compile-time analysis of one fixed-point dense layer: which exact path to take."""

    w: np.ndarray
    acc0: np.ndarray  # bias assigned to the accumulator (stored ints at acc.f)
    x_fmt: FixedFormat
    w_fmt: FixedFormat
    acc: FixedFormat
    out: FixedFormat
    path: str  # "blas", "int64", "loop", "product", "table" (approximate products summed exactly)
    prod: FixedFormat | None = None  # each product assigned to this type before it is added (hls4ml)
    acc_identity: bool = False  # the accumulator provably never overflows: assigning to it is a no-op
    sum_bound: int = 0  # max |sum of products| as an integer at scale 2^-(f_x + f_w)
    w_float: np.ndarray | None = None
    terms: object = None  # approximate multiplier: fxflow.approx.emulate.TermTable (paths "table", "loop")


def plan_dense(x_fmt, w, w_fmt, b, b_fmt, acc, out, prod: FixedFormat | None = None, mult=None) -> DensePlan:
    acc0 = np.asarray(requantize(b, b_fmt.f, acc))
    pf = x_fmt.f + w_fmt.f
    if prod is not None and not _holds_every_product(prod, x_fmt, w, pf):
        return DensePlan(w, acc0, x_fmt, w_fmt, acc, out, "product", prod=prod)
    on_grid = acc.f >= pf
    terms = None
    if mult is not None:  # approximate products (fxflow.approx): their own sum bound
        from .approx.emulate import term_table

        terms = term_table(mult, x_fmt, w)
        sum_bound = terms.bound
    else:
        col_l1 = np.abs(w.astype(object)).sum(axis=0) if w.size else np.zeros(w.shape[1], dtype=object)
        max_col = int(max(col_l1, default=0))
        sum_bound = max_abs_int(x_fmt) * max_col  # |sum of products| at scale 2^-pf
    never_overflows = False
    if on_grid:
        lim = sum_bound << (acc.f - pf)
        acc0_abs = [abs(int(v)) for v in acc0.ravel()] or [0]
        # signed accumulator: |every partial sum| <= |acc0| + lim; unsigned: negative terms could wrap
        never_overflows = acc.signed and max(acc0_abs) + lim <= acc.max_int
    exact_sum = on_grid and (acc.overflow == "WRAP" or never_overflows)
    if not exact_sum:
        path = "loop"
    elif terms is not None:
        fits = int_bits(sum_bound) + (acc.f - pf) <= INT64_BITS and int_bits(max_abs_int(acc)) <= INT64_BITS
        path = "table" if fits else "loop"
    elif sum_bound < 2**53:
        path = "blas"
    elif int_bits(sum_bound) + (acc.f - pf) <= INT64_BITS and int_bits(max_abs_int(acc)) <= INT64_BITS:
        path = "int64"
    else:
        path = "loop"
    plan = DensePlan(w, acc0, x_fmt, w_fmt, acc, out, path, acc_identity=never_overflows, sum_bound=sum_bound,
                     terms=terms)
    if path == "blas":
        plan.w_float = w.astype(np.float64)
    return plan


def _holds_every_product(prod: FixedFormat, x_fmt: FixedFormat, w: np.ndarray, pf: int) -> bool:
    """Assigning any product x*w to `prod` changes nothing: its grid is as fine and its range as wide."""
    if prod.f < pf:
        return False
    wmax = int(np.abs(w.astype(object)).max(initial=0))
    hi = (max_abs_int(x_fmt) * wmax) << (prod.f - pf)
    return hi <= prod.max_int and (hi == 0 or -hi >= prod.min_int)


def dense(x: Tensor, plan: DensePlan) -> Tensor:
    if x.data.ndim > 2:  # a Linear on tokens: every row of the last axis alike
        y = dense(Tensor(x.data.reshape(-1, x.data.shape[-1]), x.fmt), plan)
        return Tensor(y.data.reshape(*x.data.shape[:-1], -1), y.fmt)
    acc, pf = plan.acc, plan.x_fmt.f + plan.w_fmt.f
    if plan.path == "product":
        return cast(Tensor(np.asarray(_dense_products(x.data, plan)), acc), plan.out)
    if plan.path in ("blas", "int64", "table"):
        if plan.path == "blas":
            s = (x.data.astype(np.float64) @ plan.w_float).astype(np.int64)
        elif plan.path == "table":
            from .approx.emulate import sum_terms

            s = sum_terms(plan.terms, x.data)
        else:
            s = x.data.astype(np.int64) @ plan.w.astype(np.int64)
        # every partial sum and the bias lie within the accumulator's range (+1 bit for the sum itself)
        bits = max(int_bits(max_abs_int(acc)), int_bits(plan.sum_bound) + acc.f - pf) + 1
        total = as_int(shift_left(s, acc.f - pf, bits), bits)
        acc0 = as_int(plan.acc0, bits)
        if total.dtype == np.int64:
            total += acc0
        else:
            total = total + acc0
        a = total if plan.acc_identity else requantize(total, acc.f, acc)  # overflow only (same grid)
    else:
        a = _dense_loop(x.data, plan)
    return cast(Tensor(np.asarray(a), acc), plan.out)


def _dense_products(x: np.ndarray, plan: DensePlan) -> np.ndarray:
    """acc += prod_t(x[k] * w[k]) for k in order.  With a wrapping accumulator on a grid at least as fine
    as the products', the partial sums' wraps commute with the sum: add exactly, wrap once."""
    acc, prod, pf = plan.acc, plan.prod, plan.x_fmt.f + plan.w_fmt.f
    kk = plan.w.shape[0]
    raw_bits = int_bits(max_abs_int(plan.x_fmt)) + int_bits(int(np.abs(plan.w.astype(object)).max(initial=0))) + 1
    xi, wi = as_int(x, raw_bits), as_int(plan.w, raw_bits)
    f = max(acc.f, prod.f)
    bits = max(int_bits(max_abs_int(prod)) + int_bits(kk), int_bits(max_abs_int(acc))) + (f - min(acc.f, prod.f)) + 2
    a = np.broadcast_to(as_int(shift_left(plan.acc0, f - acc.f, bits), bits), (x.shape[0], plan.w.shape[1])).copy()
    exact_sum = acc.overflow == "WRAP" and acc.f >= prod.f
    for k in range(kk):
        p = shift_left(as_int(requantize(xi[:, k:k + 1] * wi[k][None, :], pf, prod), bits), f - prod.f, bits)
        a = a + p
        if not exact_sum:
            a = shift_left(as_int(requantize(a, f, acc), bits), f - acc.f, bits)
    return requantize(a, f, acc)  # the final wrap, or (stepwise) back to the accumulator's grid


def _dense_loop(x: np.ndarray, plan: DensePlan) -> np.ndarray:
    """The C++ k-loop, step by step: acc = accum_t(acc + x[k] * w[k])."""
    acc, pf = plan.acc, plan.x_fmt.f + plan.w_fmt.f
    f = max(acc.f, pf)
    prod_bits = int_bits(max_abs_int(plan.x_fmt)) + int_bits(int(np.abs(plan.w.astype(object)).max(initial=0)))
    bits = max(prod_bits + (f - pf), int_bits(max_abs_int(acc)) + (f - acc.f)) + 1
    if plan.terms is not None:  # approximate products: their own magnitude
        bits = max(int_bits(plan.sum_bound) + (f - pf), bits)
        codes = plan.terms.codes(x)
    xi = as_int(x, bits)
    wi = as_int(plan.w, bits)
    a = np.broadcast_to(as_int(plan.acc0, bits), (x.shape[0], plan.w.shape[1])).copy()
    for k in range(plan.w.shape[0]):
        if plan.terms is not None:
            p = as_int(plan.terms.terms(k, codes[:, k]), bits)
        else:
            p = xi[:, k:k + 1] * wi[k][None, :]
        s = shift_left(as_int(a, bits), f - acc.f, bits) + shift_left(p, f - pf, bits)
        a = requantize(s, f, acc)
    return a


def dense_float(x: Tensor, w: np.ndarray, b: np.ndarray) -> Tensor:
    return Tensor(x.data @ w + b, None)


# ------------------------------------------------------------------------------------------------
# Compiling the IR into steps
# ------------------------------------------------------------------------------------------------
@dataclass
class Program:
    """A compiled program: `run(list of input Tensors) -> list of output Tensors`."""

    input_types: list  # (sample shape, FixedFormat | None) per input
    output_types: list
    steps: list[tuple[Callable, list[int], int]]
    inputs: list[int]
    outputs: list[int]
    n_values: int
    taps: dict[str, int] = None  # layer name -> slot of the value that layer produces (for trace)

    def run(self, inputs: list[Tensor], values: list | None = None) -> list[Tensor]:
        """Run; pass a list as `values` to keep every intermediate (indexed by slot)."""
        if values is None:
            values = []
        values[:] = [None] * self.n_values
        for slot, t in zip(self.inputs, inputs):
            values[slot] = t
        for fn, args, out in self.steps:
            values[out] = fn(*[values[a] for a in args])
        return [values[o] for o in self.outputs]


# the modules registering more @op_step builders, one per op family
FAMILIES = ["fxflow.emulator_elementwise", "fxflow.emulator_layers", "fxflow.emulator_shape",
            "fxflow.emulator_tables", "fxflow.emulator_transformer", "fxflow.emulator_recurrent"]


def compile_program(module: ir.Module) -> Program:
    """Compile the single `df.graph` or `func.func` of `module`."""
    import importlib

    for mod in FAMILIES:
        importlib.import_module(mod)
    top = [op for op in module.body.operations if op.operation.name in ("df.graph", "func.func")]
    if len(top) != 1:
        raise FxflowError(f"expected one df.graph or func.func in the module, found {len(top)}")
    block = top[0].regions[0].blocks[0]
    slots: dict = {}
    steps: list = []

    def slot(v) -> int:
        key = _value_key(v)
        if key not in slots:
            slots[key] = len(slots)
        return slots[key]

    inputs = [slot(a) for a in block.arguments]
    input_types = [(_sample_shape(a.type), format_of(a.type)) for a in block.arguments]
    outputs = _compile_block(block, slot, steps)
    out_vals = _terminator(block).operands
    return Program(input_types, [(_sample_shape(v.type), format_of(v.type)) for v in out_vals],
                   steps, inputs, outputs, len(slots), _taps(block, slot))


def _taps(block, slot) -> dict[str, int]:
    """Layer name -> slot of its result: df kernels by their `layer`, fxp ops by their location."""
    taps: dict[str, int] = {}
    for op in block.operations:
        o = op.operation
        if o.name == "df.kernel":
            taps[ir.StringAttr(o.attributes["layer"]).value] = slot(o.results[0])
        elif o.name in COMPUTE_OPS and o.name != "fxp.cast":
            name = layer_name(o.location)
            if name:
                taps[name] = slot(o.results[0])
    return taps


def _terminator(block):
    return list(block.operations)[-1].operation


def _compile_block(block, slot, steps) -> list[int]:
    consts: dict = {}
    for op in block.operations:
        o = op.operation
        name = o.name
        if name in ("df.return", "func.return", "df.yield"):
            return [slot(v) for v in o.operands]
        if name == "fxp.constant":
            consts[_value_key(o.results[0])] = constant_value(o)
            continue
        if name == "df.channel":
            steps.append((_identity, [slot(o.operands[0])], slot(o.results[0])))
            continue
        if name == "df.kernel":
            kblock = o.regions[0].blocks[0]
            for arg, v in zip(kblock.arguments, o.operands):
                steps.append((_identity, [slot(v)], slot(arg)))
            outs = _compile_block(kblock, slot, steps)
            for res, inner in zip(o.results, outs):
                steps.append((_identity_slot, [inner], slot(res)))
            continue
        steps.append(_compile_op(o, slot, consts))
    raise FxflowError("block without terminator")


def _identity(x):
    return x


_identity_slot = _identity


# Step builders, keyed by op class: `build(o, args, consts) -> callable`, where `args` are the slots
# of the op's non-constant operands (in operand order) and the callable takes their Tensors.  Op
# families add theirs with `@op_step(OpClass, ...)` in emulator_<family>.py (FAMILIES).
OP_STEPS: OpRegistry = OpRegistry("emulator step")

# Ops that get no step of their own, with the reason (test_op_coverage.py asks every op of FXP_OPS).
UNSUPPORTED = {ConstantOp: "no step: the program reads constants into its readers' operands (constant_value)"}


def op_step(*classes: type):
    return OP_STEPS.decorate(classes)


def _compile_op(o, slot, consts):
    name = o.name
    build = OP_STEPS.get(name)
    if build is None:
        where = layer_name(o.location) or str(o.location)
        raise FxflowError(f"the emulator does not support '{name}' (layer '{where}')")
    operands = [v for v in o.operands if _value_key(v) not in consts]
    return build(o, consts), [slot(v) for v in operands], slot(o.results[0])


def result_format(o) -> FixedFormat | None:
    return format_of(o.results[0].type)


def constant_operand(o, index: int, consts, what: str) -> "Tensor":
    """The compile-time Tensor of operand `index` (weights, biases, per-channel parameters)."""
    try:
        return consts[_value_key(o.operands[index])]
    except KeyError:
        where = layer_name(o.location) or str(o.location)
        raise FxflowError(f"the {what} of '{o.name}' in layer '{where}' must be a constant") from None


def accum_format(o, name: str = "accum") -> FixedFormat | None:
    attr = o.attributes[name] if name in o.attributes else None
    return format_of(ir.TypeAttr(attr).value) if attr is not None else None


def op_multiplier(o, x_fmt, w_fmt, roles: tuple[str, str] = ("input", "weight")):
    """The `approx_mul` multiplier of a dense/conv/matmul op (None: exact products)."""
    if "approx_mul" not in o.attributes:
        return None
    from .approx import resolve

    return resolve(ir.StringAttr(o.attributes["approx_mul"]).value, x_fmt, w_fmt, layer_name(o.location) or o.name,
                   roles)


def has_constant_operand(o, consts) -> bool:
    """Whether an operand of `o` is a constant (its step reads it from `consts`, not from a slot)."""
    return any(_value_key(v) in consts for v in o.operands)


def constant_value(o) -> Tensor:
    fmt = format_of(o.results[0].type)
    arr = elements_array(o.attributes["value"], ir.RankedTensorType(o.results[0].type).shape)
    return Tensor(arr.astype(np.int64) if fmt is not None else arr.astype(np.float64), fmt)


def _sample_shape(t) -> tuple[int, ...]:
    return tuple(ir.RankedTensorType(t).shape[1:])


def _value_key(v):
    return v


# ------------------------------------------------------------------------------------------------
# Batch entry point
# ------------------------------------------------------------------------------------------------
def check_inputs(program: Program, xs: list[np.ndarray]) -> list[np.ndarray]:
    if len(xs) != len(program.input_types):
        raise ShapeError(f"the design takes {len(program.input_types)} input(s), got {len(xs)}")
    out = []
    for i, (x, (shape, _)) in enumerate(zip(xs, program.input_types)):
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise ShapeError(f"input {i} is not a numeric array: {e}") from None
        if x.shape == shape:
            x = x[None]
        if x.shape[1:] != shape:
            raise ShapeError(f"input {i} has shape {x.shape}; expected (N, {', '.join(map(str, shape))})"
                             f" or ({', '.join(map(str, shape))})")
        if x.shape[0] == 0:
            raise ShapeError(f"input {i} holds no samples (shape {x.shape})")
        if not np.all(np.isfinite(x)):
            raise ShapeError(f"input {i} contains NaN or infinity")
        out.append(x)
    return out


CHUNK = 4096  # samples per pass: keeps the working set in cache and avoids page-faulting huge temporaries


def trace(program: Program, xs: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Every layer's output (float64 values, batch first) for inputs `xs`."""
    xs = check_inputs(program, xs)
    values: list = []
    run_chunk(program, xs, values)
    out = {}
    for name, s in (program.taps or {}).items():
        t = values[s]
        data = t.data if t.fmt is None else to_float(t.data, t.fmt.f)
        out[name] = np.asarray(data, dtype=np.float64)
    return out


def run(program: Program, xs: list[np.ndarray]) -> list[Tensor]:
    """Quantize float inputs to the program's input formats, run, return output Tensors (batched)."""
    xs = check_inputs(program, xs)
    n = xs[0].shape[0]
    if n <= CHUNK:
        return run_chunk(program, xs)
    parts = [run_chunk(program, [x[i:i + CHUNK] for x in xs]) for i in range(0, n, CHUNK)]
    return [Tensor(np.concatenate([p[j].data for p in parts]), parts[0][j].fmt) for j in range(len(parts[0]))]


def run_chunk(program: Program, xs: list[np.ndarray], values: list | None = None) -> list[Tensor]:
    ins = []
    for x, (shape, fmt) in zip(xs, program.input_types):
        flat = x.reshape(x.shape[0], -1) if len(shape) == 1 else x
        ins.append(Tensor(quantize(flat, fmt), fmt) if fmt is not None else Tensor(flat, None))
    return program.run(ins, values)
