"""Bit-exact NumPy emulation of `fxp` / `df` programs (what `Design.predict` runs).

The IR is compiled once into a list of Python steps over a value table, so repeated predictions do not
walk MLIR.  Fixed-point tensors are arrays of stored integers (int64, or Python ints when a value may need
more than 62 bits) next to their `FixedFormat`; float tensors (a program before precision assignment) are
float64 and mean exact reals, which gives the float reference of the same IR.  All rounding and overflow
goes through `fxflow.fixed.quantize` — the single source of fixed-point semantics; dense layers and the
cast/relu/add steps (emulator/layers.py, emulator/elementwise.py) are `fxflow.fixed.dense`, which also chooses
their exact fast paths.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from fxflow.dialects.fxp import COMPUTE_OPS, ConstantOp, OpRegistry, format_of
from fxflow.errors import FxflowError, ShapeError
from fxflow.fixed.dense import Tensor
from fxflow.fixed.quantize import quantize, to_float
from fxflow.ir import elements_array, ir, layer_name
from fxflow.emulator import workers


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

    _fused: tuple | None = None
    _released: tuple | None = None  # (the fused steps, per step the slots read for the last time there)
    _workers: object | None = None  # forked worker processes of parallel runs (workers.py)

    def run(self, inputs: list[Tensor], values: list | None = None) -> list[Tensor]:
        """Run; pass a list as `values` to keep every intermediate (indexed by slot).  Without it, chains of
        dense layers and their casts / ReLUs run fused (`fuse_chains`: same results, no intermediates) and
        each intermediate is dropped after its last reader (`last_reads`)."""
        if values is None:
            if self._fused is None:
                self._fused = fuse_chains(self.steps, self.outputs)
            steps, outputs = self._fused
            if self._released is None or self._released[0] is not steps:
                self._released = (steps, last_reads(steps, outputs))
            release = self._released[1]
            values = [None] * self.n_values
        else:
            steps, outputs, release = self.steps, self.outputs, None
            values[:] = [None] * self.n_values
        for slot, t in zip(self.inputs, inputs):
            values[slot] = t
        for i, (fn, args, out) in enumerate(steps):
            values[out] = fn(*[values[a] for a in args])
            if release is not None:
                for a in release[i]:
                    values[a] = None
        # (steps may hand on transposed views, fxflow.fixed.layout: the outputs in row-major order)
        return [Tensor(np.ascontiguousarray(values[o].data), values[o].fmt) for o in outputs]


    def chunk_rows(self) -> int:
        """Samples per chunk of `run`: CHUNK, or more for a fused chain that runs longer row blocks."""
        if self._fused is None:
            self._fused = fuse_chains(self.steps, self.outputs)
        return max([CHUNK] + [getattr(fn, "rows", 0) for fn, _, _ in self._fused[0]])


def last_reads(steps: list, outputs: list[int]) -> list[list[int]]:
    """Per step, the slots no later step reads and that are no output: dropped right after it, so a chunk
    keeps a few arrays alive instead of every intermediate.  The allocator then reuses their (cache-warm,
    already mapped) memory; fresh megabyte arrays for every step cost as much in page faults as the arithmetic."""
    last: dict[int, int] = {}
    for i, (_, args, _) in enumerate(steps):
        for a in args:
            last[a] = i
    keep = set(outputs)
    release: list[list[int]] = [[] for _ in steps]
    for slot, i in last.items():
        if slot not in keep:
            release[i].append(slot)
    return release


def fuse_chains(steps: list, outputs: list[int]) -> tuple[list, list[int]]:
    """`steps` without the identity steps (df channels, kernel ports), and every run of consecutive steps
    "dense, then relu / cast / dense ..." in which each step only feeds the next replaced by one
    `fxflow.fixed.chain.DenseChain` step (its intermediates are never stored)."""
    from fxflow.emulator.chain_kernel import native_chain
    from fxflow.fixed.chain import DenseChain, chainable, is_chain_format

    alias: dict[int, int] = {}
    plain = []
    for fn, args, out in steps:
        args = [alias.get(a, a) for a in args]
        if fn is _identity and len(args) == 1:
            alias[out] = args[0]
        else:
            plain.append((fn, args, out))
    outputs = [alias.get(o, o) for o in outputs]
    uses: dict[int, int] = {}
    readers: dict[int, list] = {}
    for fn, args, _ in plain:
        for a in args:
            uses[a] = uses.get(a, 0) + 1
            readers.setdefault(a, []).append(fn)
    for o in outputs:
        uses[o] = uses.get(o, 0) + 1
    plain = [(_as_view(fn, readers.get(out, []), out in outputs), args, out) for fn, args, out in plain]

    def link(fn):
        plan = getattr(fn, "dense_plan", None)
        if plan is not None:
            return ("dense", plan) if chainable(plan) else None
        op = getattr(fn, "chain_op", None)
        return op if op is not None and is_chain_format(op[1]) else None

    fused, i = [], 0
    while i < len(plain):
        fn, args, out = plain[i]
        first = link(fn)
        if first is None or first[0] != "dense" or len(args) != 1:
            fused.append(plain[i])
            i += 1
            continue
        ops, j, fmt = [first], i, first[1].out
        while j + 1 < len(plain) and uses.get(plain[j][2], 0) == 1 and plain[j + 1][1] == [plain[j][2]]:
            nxt = link(plain[j + 1][0])
            if nxt is None or (nxt[0] == "dense" and nxt[1].x_fmt != fmt):
                break
            ops.append(nxt)
            fmt = nxt[1].out if nxt[0] == "dense" else nxt[1]
            j += 1
        if j == i and first[1].path == "blas" and first[1].acc_identity and first[1].out == first[1].acc:
            fused.append(plain[i])  # nothing to fuse
        else:
            transposed = all(_any_layout(r) for r in readers.get(plain[j][2], []))
            chain = DenseChain(ops, native_chain)
            fused.append((_chain_step(chain, [plain[k][0] for k in range(i, j + 1)], transposed), args, plain[j][2]))
        i = j + 1
    return fused, outputs


def _as_view(fn, readers: list, is_output: bool):
    """A movement step that offers its strided view (`fn.view`, a transpose) hands it on when every reader
    takes any layout: no copy."""
    view = getattr(fn, "view", None)
    return view if view is not None and readers and not is_output and all(map(_any_layout, readers)) else fn


def _any_layout(fn) -> bool:
    """Whether step `fn` reads a transposed view as fast as a row-major array (fxflow.fixed.layout): dense
    layers (a chain's input), elementwise adds, LayerNorms."""
    return getattr(fn, "dense_plan", None) is not None or getattr(fn, "any_layout", False)


def _chain_step(chain, fns, transposed: bool = False):
    """The fused step (tokens [batch, ..., features] as rows, as `dense` takes them), falling back to the
    steps themselves for inputs it does not take.  `transposed`: hand on the chain's [features, rows] result
    as its transposed view (no transposing copy), for readers that take any layout."""
    def step(x: Tensor) -> Tensor:
        d = x.data
        if d.ndim >= 2 and d.dtype == np.int64 and x.fmt == chain.x_fmt:
            y = chain(Tensor(d.reshape(-1, d.shape[-1]), x.fmt), transposed)
            return Tensor(y.data.reshape(*d.shape[:-1], -1), y.fmt)
        for fn in fns:
            x = fn(x)
        return x

    step.rows = chain.rows
    return step


# the modules registering more @op_step builders, one per op family
FAMILIES = ["fxflow.emulator.elementwise", "fxflow.emulator.layers", "fxflow.emulator.shape",
            "fxflow.emulator.tables", "fxflow.emulator.transformer", "fxflow.emulator.recurrent"]


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
# families add theirs with `@op_step(OpClass, ...)` in emulator/<family>.py (FAMILIES).
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


def constant_operand(o, index: int, consts, what: str) -> "Tensor":
    """The compile-time Tensor of operand `index` (weights, biases, per-channel parameters)."""
    try:
        return consts[_value_key(o.operands[index])]
    except KeyError:
        where = layer_name(o.location) or str(o.location)
        raise FxflowError(f"the {what} of '{o.name}' in layer '{where}' must be a constant") from None


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


CHUNK = 1024  # samples per pass: a transformer's [batch, 2, 8, 8] intermediates stay about 1 MB (in L2 and below
# glibc's mmap threshold once it adapts), so freed arrays are reused warm instead of page-faulted fresh each step


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


def predict_threads(threads: int | None = None) -> int:
    """Threads predict may run its batch chunks on: `threads`, else $FXFLOW_THREADS, else 1.  fxflow's own
    choice, never the BLAS library's: its kernels keep every BLAS call on the calling thread."""
    if threads is None:
        env = os.environ.get("FXFLOW_THREADS", "").strip()
        try:
            threads = int(env) if env else 1
        except ValueError:
            raise FxflowError(f"FXFLOW_THREADS must be a positive integer, got '{env}'") from None
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise FxflowError(f"predict threads must be a positive integer, got {threads!r}")
    return threads


def idle_cores() -> int:
    """Cores this process may use that other work leaves idle: the CPUs of its affinity mask minus the 1-minute
    load average, counting the calling thread's own core as idle (at least 1)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return n
    return max(1, min(n, round(n - load + 1)))


def run(program: Program, xs: list[np.ndarray], threads: int | None = None) -> list[Tensor]:
    """Quantize float inputs to the program's input formats, run, return output Tensors (batched).
    The batch runs on up to `predict_threads(threads)` cores, and no more than `idle_cores()` (on cores busy
    with other work, more processes only slow each other down): in shares of whole chunks, the first here
    and the others in forked worker processes (`workers.py`: threads do not scale over short NumPy calls)."""
    xs = check_inputs(program, xs)
    shares = min(predict_threads(threads), idle_cores(), -(-xs[0].shape[0] // program.chunk_rows()))
    if shares > 1 and workers.can_fork():
        return workers.run_parallel(program, xs, shares, run_serial)
    return run_serial(program, xs)


def run_serial(program: Program, xs: list[np.ndarray]) -> list[Tensor]:
    """The batch in chunks of `program.chunk_rows()` samples, one after the other, in this thread."""
    n, chunk = xs[0].shape[0], program.chunk_rows()
    if n <= chunk:  # (a step may return a view in its own layout, e.g. the LSTM kernel's [N, T, H])
        return [Tensor(np.ascontiguousarray(t.data), t.fmt) for t in run_chunk(program, xs)]
    return workers.concat_outputs([run_chunk(program, [x[i:i + chunk] for x in xs]) for i in range(0, n, chunk)])


def run_chunk(program: Program, xs: list[np.ndarray], values: list | None = None) -> list[Tensor]:
    ins = []
    for x, (shape, fmt) in zip(xs, program.input_types):
        flat = x.reshape(x.shape[0], -1) if len(shape) == 1 else x
        ins.append(Tensor(quantize(flat, fmt), fmt) if fmt is not None else Tensor(flat, None))
    return program.run(ins, values)
