"""Attention blocks on the AI Engines: a DAG of single-tile kernels over one sample's token tensors.

A graph with a matmul of two activations (attention scores Q·Kᵀ, P·V) or a head split / merge (`fxp.gather`,
`fxp.transpose`, `fxp.reshape`) on [batch, tokens, features] becomes a DAG of AIE kernels, one compute tile each:
* dense (`fxp.dense` per token, in_proj / out_proj): the dense template (`aie::mmul`) on the whole [T, K] x [K, N]
  block, weights and bias resident; integer form `arith.lower_dense`;
* matmul (two activations, per head): the same template per head with the second operand staged as its weights,
  zero accumulator start; integer form `matmul_int` (exact products, no partial sum leaves accum, one SRS);
* scale (`fxp.scale_shift` by scalars: the 1/sqrt(d) of the scores as fxp IR has it): x * s + t assigned to the
  result on int64 scalars (`requant` of the row-kernel header);
* layernorm / softmax / lut (GELU, ...): the row kernels (`rows.py`) on rows of the last dim, anywhere in the graph;
* mean (`fxp.pool` avg over a whole last dim: `x.transpose(1, 2).mean(-1)`, the mean over the tokens): per row,
  the window summed into the accumulator format element by element, divided toward zero, assigned to the result
  (int64 scalars, `mean_int`), the transpose being its operand's access.
Data movement ops are no kernels: each operand of a kernel is read through an affine access (offset, (size, stride)
dims) into its producer's buffer, composed from the gathers / transposes between them (`Access`), so a head split
is the scores kernel's own addressing (in-kernel addressing: the operand is staged into the kernel's padded local
block through it).  Every value is one FIFO from its producer tile broadcast to its readers; the graph input and
output pass a memory tile to / from the shim.  Batch: one sample per kernel call (M = its tokens).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fxflow.errors import UnsupportedOpError
from fxflow.fixed import FixedFormat
from fxflow.fixed.quantize import requantize
from fxflow.ir import ir, str_attr
from fxflow.lowering.aie import cost
from fxflow.lowering.aie.arith import MODES, STORAGE, bias_on_product_grid, device_mode, parse_epilogue, plan_srs, \
    run_epilogue, storage_of
from fxflow.lowering.aie.device import AieFitError, Device, IoPorts, get_device
from fxflow.lowering.aie.fmap import vector_cycles
from fxflow.lowering.aie.program import AieProgram, Buffer, Core, Fifo, HostPort, KernelFn, LayerPlan, Link, RowTile
from fxflow.lowering.aie.rows import INT64_BITS, TABLE_STORE, row_tables
from fxflow.lowering.aie.simulate import _acc_wrap, register_executor
from fxflow.names import c_identifier

MOVES = ("fxp.gather", "fxp.transpose", "fxp.reshape")  # data movement: folded into the readers' accesses
TOKEN_ROLES = ("mmdense", "matmul", "scale", "mean")


@dataclass(frozen=True)
class Access:
    """Element e of an operand (row-major) is element offset + sum_d i_d * stride_d of its producer's buffer,
    i_d the digits of e in `dims` ((size, stride) pairs, outermost first): how the kernel addresses it."""

    offset: int
    dims: tuple[tuple[int, int], ...]

    def order(self) -> np.ndarray:
        idx = np.full(1, self.offset, dtype=np.int64)
        for size, stride in self.dims:
            idx = (idx[:, None] + np.arange(size, dtype=np.int64)[None, :] * stride).ravel()
        return idx

    @property
    def identity(self) -> bool:
        return self.offset == 0 and len(self.dims) == 1 and self.dims[0][1] == 1


def affine_access(idx: np.ndarray) -> Access | None:
    """The affine access equal to the index array `idx` (None when there is none): dims found innermost first, each
    the longest run of whole copies of the block so far shifted by one stride."""
    idx = np.asarray(idx, dtype=np.int64)
    n, period, dims = len(idx), 1, []
    while period < n:
        stride = int(idx[period] - idx[0])
        c = 1
        while (c + 1) * period <= n and np.array_equal(idx[c * period:(c + 1) * period], idx[:period] + c * stride):
            c += 1
        if c == 1 or n % (c * period):
            return None
        dims.append((c, stride))
        period *= c
    acc = Access(int(idx[0]), tuple(reversed(dims)) or ((1, 1),))
    return acc if np.array_equal(acc.order(), idx) else None


@dataclass
class TokenNode:
    op: object  # the df.kernel
    kind: str  # mmdense / matmul / scale / layernorm / softmax
    layer: str
    name: str
    fxp: object
    operands: list[tuple[int, Access]] = field(default_factory=list)  # (producer node, -1 graph input; access)
    out_shape: tuple[int, ...] = ()  # without the batch dim
    relu_op: object = None  # (fmap.integer_form reads it for an add: never fused here)
    siblings: list = field(default_factory=list)  # mmdense: the df.kernels whose columns follow op's (`sibling_denses`)


@dataclass
class TokenGraph:
    nodes: list[TokenNode]
    output: int
    in_shape: tuple[int, ...]


def _body(kernel) -> list:
    return [o.operation for o in kernel.regions[0].blocks[0].operations
            if o.operation.name not in ("fxp.constant", "df.yield")]


def _is_constant(v) -> bool:
    o = v.owner
    o = o if isinstance(o, ir.Operation) else getattr(o, "operation", None)
    return o is not None and o.name == "fxp.constant"


TOKEN_DAG = "aie_token_dag"  # graph attribute: run the graph on this path (a Versal segment of token layers)


def is_attention_graph(graph) -> bool:
    """A graph with a matmul of two activations or a data-movement op, or one marked `TOKEN_DAG` (a Versal planner's
    token segment, e.g. a per-token Linear and LayerNorm: one sample per call, as the planner costed it): the
    attention path, not the dense chain."""
    from fxflow.dialects.df.graph import kernels_of

    return TOKEN_DAG in graph.attributes or any(o.name in MOVES or (o.name == "fxp.matmul" and not any(_is_constant(v) for v in o.operands[:2]))
               for k in kernels_of(graph) for o in _body(k))


def _shape(value) -> tuple[int, ...]:
    return tuple(ir.RankedTensorType(value.type).shape[1:])


def _move_indices(o, size_in: int) -> np.ndarray:
    """Per sample: result element j is input element idx[j] (the op's own semantics, `fxflow.fixed.shape`)."""
    if o.name == "fxp.gather":
        return np.asarray(list(ir.DenseI64ArrayAttr(o.attributes["indices"])), dtype=np.int64)
    if o.name == "fxp.transpose":
        perm = list(ir.DenseI64ArrayAttr(o.attributes["permutation"]))
        return np.arange(size_in).reshape(_shape(o.operands[0])).transpose([p - 1 for p in perm[1:]]).ravel()
    return np.arange(size_in)


def token_graph(graph) -> TokenGraph:
    """The graph's kernels as an attention DAG; UnsupportedOpError naming the first layer the AIE cannot host."""
    from fxflow.dialects.df.graph import kernels_of
    from fxflow.lowering.aie.fmap import graph_input

    block = graph.regions[0].blocks[0]
    ret = list(block.operations)[-1].operation
    if len(ret.operands) != 1:
        raise UnsupportedOpError("the AIE backend supports designs with one input and one output")
    return token_dag(kernels_of(graph), graph_input(graph), ret.operands[0])


def token_dag(kernels: list, arg, result) -> TokenGraph:
    """`kernels` (in dataflow order) as an attention DAG reading `arg` and producing `result`: a whole graph, or a
    run of a larger graph's kernels (a Versal segment: whatever they read from outside the run is `arg`)."""
    from fxflow.lowering.aie.fmap import _readers, _source
    from fxflow.lowering.aie.unhosted import unhosted

    inside = list(kernels)
    nodes: list[TokenNode] = []
    views: dict = {None: (-1, np.arange(int(np.prod(_shape(arg)))))}  # kernel -> (node, index array)

    def source(v):  # the producing kernel of the run, None for the run's input
        s = _source(v, arg)
        return s if s is not None and any(s == k for k in inside) else None

    groups = sibling_denses(inside, arg)
    for kernel in inside:
        if kernel in views:  # a sibling dense: columns of an earlier node
            continue
        ops = _body(kernel)
        names = [o.name for o in ops]
        kargs = list(kernel.regions[0].blocks[0].arguments)
        srcs = [source(v) for v in kernel.operands]

        def view_of(value):
            return views[srcs[next(i for i, a in enumerate(kargs) if a == value)]]

        if names == ["fxp.relu"]:  # fused into the dense before it when nothing else reads that
            src, idx = view_of(ops[0].operands[0])
            prod = nodes[src] if src >= 0 else None
            if prod is None or prod.kind != "mmdense" or prod.relu_op is not None or _readers(prod.op) != 1 \
                    or not np.array_equal(idx, np.arange(len(idx))):
                raise unhosted(kernel, "a ReLU runs on the AI Engines only fused into the dense layer before it, "
                                       "whose result nothing else reads")
            prod.relu_op = kernel
            prod.out_shape = _shape(ops[0].results[0])
            views[kernel] = views[srcs[0]]
            continue
        if len(ops) == 1 and names[0] in MOVES:
            src, idx = view_of(ops[0].operands[0])
            if perm_batch(ops[0]):
                raise unhosted(kernel, "a transpose that moves the batch dim has no AIE form")
            views[kernel] = (src, idx[_move_indices(ops[0], len(idx))])
            continue
        kind = _kind(kernel, ops)
        if kind is None:
            raise unhosted(kernel)
        o = ops[0]
        node = TokenNode(kernel, kind, ir.StringAttr(kernel.attributes["layer"]).value,
                         ir.StringAttr(kernel.attributes["sym_name"]).value, o, out_shape=_shape(o.results[0]))
        for v in (o.operands[:2] if kind in ("matmul", "add") else o.operands[:1]):
            src, idx = view_of(v)
            acc = affine_access(idx)
            if acc is None:
                raise unhosted(kernel, "its operand is a re-layout (gather) that no affine (offset, size, stride) "
                                       "access expresses")
            if kind in (*cost.ROW_ROLES, "add") and not (acc.identity and len(idx) == _size(src, nodes, arg)):
                raise unhosted(kernel, f"the AIE {kind} kernel reads a whole contiguous value, not a gathered or "
                                       "transposed one")
            node.operands.append((src, acc))
        views[kernel] = (len(nodes), np.arange(int(np.prod(node.out_shape))))
        if kind == "mmdense" and kernel in groups:
            node.siblings = groups[kernel]
            widths = [node.out_shape[-1]] + [_shape(_body(k)[0].results[0])[-1] for k in node.siblings]
            rows, total = int(np.prod(node.out_shape[:-1])), sum(widths)
            node.out_shape = (*node.out_shape[:-1], total)
            for k, first, n in zip([kernel, *node.siblings], np.cumsum([0, *widths[:-1]]), widths):
                views[k] = (len(nodes), (np.arange(rows)[:, None] * total + first + np.arange(n)[None, :]).ravel())
        nodes.append(node)
    last = source(result)
    src, idx = views[last]
    if src < 0 or not np.array_equal(idx, np.arange(int(np.prod(nodes[src].out_shape)))):
        reason = ("the AIE attention program must end with a kernel's own result (not the graph input or a re-layout "
                  "of a result)")
        raise unhosted(last, reason) if last is not None else UnsupportedOpError(reason)
    return TokenGraph(nodes, src, _shape(arg))


def sibling_denses(kernels: list, arg) -> dict:
    """Dense layers over the tokens reading the same value with the same formats (an attention's q / k / v
    projections) as one mmdense node, their weight columns side by side (each column's integer steps are its
    own, so the joined kernel computes each layer exactly): first kernel -> the others.  A dense whose result a
    ReLU reads stays alone (the ReLU fuses into its own dense)."""
    from fxflow.lowering.aie.fmap import _source
    from fxflow.lowering.aie.passes.convert_fxp_to_aie import kernel_info

    def key(kernel):
        ops = _body(kernel)
        if [o.name for o in ops] != ["fxp.dense"] or len(kernel.operands) != 1 or any(
                [o.name for o in _body(r)] == ["fxp.relu"] for r in _reader_kernels(kernel)):
            return None
        info = kernel_info(kernel)
        return (_source(kernel.operands[0], arg), str(ops[0].operands[0].type), len(_shape(ops[0].results[0])),
                info.w_fmt, info.b_fmt, info.acc, info.out, info.product, info.tokens)

    by_key: dict = {}
    for kernel in kernels:
        k = key(kernel)
        if k is not None:
            by_key.setdefault(k, []).append(kernel)
    return {g[0]: g[1:] for g in by_key.values() if len(g) > 1}


def _reader_kernels(kernel) -> list:
    out = []
    for use in kernel.results[0].uses:
        o = use.owner
        out += [u.owner for u in o.results[0].uses] if o.name == "df.channel" else [o]
    return [o for o in out if o.name == "df.kernel"]


def perm_batch(o) -> bool:
    return o.name == "fxp.transpose" and list(ir.DenseI64ArrayAttr(o.attributes["permutation"]))[0] != 0


def _size(src: int, nodes: list, arg) -> int:
    return int(np.prod(nodes[src].out_shape if src >= 0 else _shape(arg)))


def _kind(kernel, ops) -> str | None:
    from fxflow.lowering.aie.passes.convert_fxp_to_aie import kernel_info, row_info

    names = [o.name for o in ops]
    if names == ["fxp.matmul"] and not any(_is_constant(v) for v in ops[0].operands[:2]):
        return "matmul"
    if names == ["fxp.scale_shift"]:
        return "scale"
    if names == ["fxp.pool"] and is_mean(ops[0]):
        return "mean"
    if names == ["fxp.add"] and not any(_is_constant(v) for v in ops[0].operands[:2]):
        return "add"  # a residual: the feature-map Add kernel over the flat value
    if names == ["fxp.dense"] and kernel_info(kernel) is not None:
        return "mmdense"
    row = row_info(kernel, any_rank=True) if len(ops) == 1 else None
    return row.kind if row is not None else None  # hccs / layernorm / softmax


def is_mean(o) -> bool:
    """An average pool whose one window is the whole last dim of [batch, rows, n] (x.mean(-1) lowers to it)."""
    from fxflow.dialects.fxp import i64_array

    shape = ir.RankedTensorType(o.operands[0].type).shape
    return (ir.StringAttr(o.attributes["kind"]).value == "avg" and len(shape) == 3
            and i64_array(o, "kernel") == [shape[-1]] and not any(i64_array(o, "padding")))


# ---- integer forms ------------------------------------------------------------------------------------------------

def _mode(layer: str, fa: FixedFormat, fb: FixedFormat, bound: int):
    """The mmul mode of operands `fa` x `fb` (8-bit ones widened when the other is 16-bit) whose accumulator holds
    `bound`; UnsupportedOpError naming the layer otherwise."""
    bits = []
    for what, fmt in (("first operand", fa), ("second operand", fb)):
        s = storage_of(fmt)
        if s is None or STORAGE[s][1] > 16:
            raise UnsupportedOpError(f"layer '{layer}': {what} format {fmt} is {fmt.width} bits wide; AIE-ML matmul "
                                     "kernels take int8 or int16 operands", layer)
        bits.append(STORAGE[s][1])
    mode = MODES["8x8" if bits == [8, 8] else "16x8" if bits == [16, 8] else "16x16"]
    if bound.bit_length() >= mode.acc_bits:
        mode = MODES["16x16"]
    if bound.bit_length() >= mode.acc_bits:
        raise UnsupportedOpError(f"layer '{layer}': partial sums need {bound.bit_length() + 1} bits, more than the "
                                 "64-bit AIE accumulator", layer)
    return mode


@dataclass
class MatmulInt:
    mode: object
    a_store: str
    b_store: str
    y_store: str
    epilogue: list


def matmul_int(node: TokenNode) -> MatmulInt:
    """`fxp.matmul` a @ b as exact integer products summed in an AIE accumulator and one SRS: only when no partial
    sum (any order) leaves accum and accum keeps every product bit; otherwise UnsupportedOpError naming the layer."""
    from fxflow.dialects.fxp import format_of

    o, layer = node.fxp, node.layer
    if "approx_mul" in o.attributes:
        raise UnsupportedOpError(f"layer '{layer}': approximate multipliers are not available on AI Engines", layer)
    fa, fb = (format_of(v.type) for v in o.operands[:2])
    acc, out = format_of(ir.TypeAttr(o.attributes["accum"]).value), format_of(o.results[0].type)
    if fa is None or fb is None or out is None:
        raise UnsupportedOpError(f"layer '{layer}': the AIE backend needs fixed-point formats", layer)
    pf = fa.f + fb.f
    if acc.f < pf:
        raise UnsupportedOpError(f"layer '{layer}': accumulator {acc} keeps {acc.f} fractional bits but the products "
                                 f"have {pf}; an exact integer accumulator cannot reproduce its rounding", layer)
    k = _shape(o.operands[0])[-1]
    bound = max(abs(fa.min_int), fa.max_int) * max(abs(fb.min_int), fb.max_int) * k
    if (bound << (acc.f - pf)) > acc.max_int or (-bound << (acc.f - pf)) < acc.min_int:
        raise UnsupportedOpError(f"layer '{layer}': partial sums of {k} products may leave the accumulator {acc}; the "
                                 "AIE accumulates exactly (use a wider accum or 'exact')", layer)
    mode = _mode(layer, fa, fb, bound)
    first = plan_srs(pf, out, layer)
    if first.shift < 0 and (bound << -first.shift).bit_length() >= mode.acc_bits:
        raise UnsupportedOpError(f"layer '{layer}': the up-shifted accumulator for {out} exceeds {mode.acc_bits} bits",
                                 layer)
    b_store = storage_of(fb) if mode.w_bits == 8 or storage_of(fb) == "u16" else "i16"
    return MatmulInt(mode, storage_of(fa), b_store, storage_of(out), [first])


@dataclass
class ScaleInt:
    """y = out(x * s * 2^up_x + t * 2^up_t) at grid 2^-f: `fxp.scale_shift` by scalars."""

    s: int
    t: int
    up_x: int
    up_t: int
    f: int
    out: FixedFormat
    x_store: str
    y_store: str


def _int16_values(layer: str, kernel: str, fx: FixedFormat, out: FixedFormat) -> None:
    """The scalar kernels (scale, mean) read and write int8/int16 values: UnsupportedOpError naming the layer."""
    for what, fmt in (("input", fx), ("result", out)):
        st = storage_of(fmt)
        if st is None or STORAGE[st][1] > 16:
            raise UnsupportedOpError(f"layer '{layer}': {what} format {fmt} needs more than 16-bit storage; the AIE "
                                     f"{kernel} kernel takes int8/int16 values", layer)


def scale_int(node: TokenNode) -> ScaleInt:
    from fxflow.dialects.fxp import format_of
    from fxflow.lowering.aie.fmap import _const

    o, layer = node.fxp, node.layer
    s, t = (_const(v).reshape(-1) for v in o.operands[1:3])
    if s.size != 1 or t.size != 1:
        raise UnsupportedOpError(f"layer '{layer}': the AIE scale kernel takes one scale and one shift (a per-channel "
                                 "scale_shift is not supported)", layer)
    fx, fs, ft, out = (format_of(v.type) for v in (*o.operands[:3], o.results[0]))
    pf = fx.f + fs.f
    f = max(pf, ft.f)
    bits = max((max(abs(fx.min_int), fx.max_int) * abs(int(s[0]))).bit_length() + f - pf,
               abs(int(t[0])).bit_length() + f - ft.f) + 1
    if bits > INT64_BITS or f - out.f > INT64_BITS or out.f - f > INT64_BITS:
        raise UnsupportedOpError(f"layer '{layer}': x * scale + shift needs {bits} bits; the AIE scale kernel computes "
                                 f"in int64 scalars (at most {INT64_BITS})", layer)
    _int16_values(layer, "scale", fx, out)
    return ScaleInt(int(s[0]), int(t[0]), f - pf, f - ft.f, f, out, storage_of(fx), storage_of(out))


@dataclass
class MeanInt:
    """`fxp.pool` avg over rows of n: a = 0; a = acc(a + x_k) at grid 2^-f for each k (x_k * 2^up_x, a * 2^up_a);
    a = a / n toward zero on the accumulator's grid; y = out(a)."""

    rows: int
    n: int
    up_x: int
    up_a: int
    acc: FixedFormat
    out: FixedFormat
    x_store: str
    y_store: str


def mean_int(node: TokenNode) -> MeanInt:
    """The mean kernel's integer steps (the element-by-element assignment to the accumulator is the op's own
    definition, so it holds for every accumulator format); UnsupportedOpError naming the layer when they leave the
    int64 scalars or the values int8/int16 storage."""
    from fxflow.dialects.fxp import format_of
    from fxflow.dialects.fxp.accessors import accum_format

    o, layer = node.fxp, node.layer
    fx, out, acc = format_of(o.operands[0].type), format_of(o.results[0].type), accum_format(o)
    if fx is None or out is None or acc is None:
        raise UnsupportedOpError(f"layer '{layer}': the AIE mean kernel needs fixed-point formats (run the precision "
                                 "pass)", layer)
    rows, n = ir.RankedTensorType(o.operands[0].type).shape[1:]
    f = max(acc.f, fx.f)
    bits = max(max(-acc.min_int, acc.max_int).bit_length() + f - acc.f,
               max(-fx.min_int, fx.max_int).bit_length() + f - fx.f) + 1
    if bits > INT64_BITS or abs(acc.f - out.f) > INT64_BITS \
            or max(-acc.min_int, acc.max_int).bit_length() + max(out.f - acc.f, 0) > INT64_BITS:
        raise UnsupportedOpError(f"layer '{layer}': the mean's running sum needs {bits} bits; the AIE mean kernel "
                                 f"computes in int64 scalars (at most {INT64_BITS})", layer)
    _int16_values(layer, "mean", fx, out)
    return MeanInt(rows, n, f - fx.f, f - acc.f, acc, out, storage_of(fx), storage_of(out))


def add_form(node: TokenNode) -> dict:
    """The residual add's integer form: the feature-map Add's (operands shifted onto the finer grid, summed exactly
    in acc32 lanes, SRS), over the flat value in 16-lane chunks, so its size must be whole chunks."""
    from fxflow.lowering.aie.fmap import CHANNEL_STEP, integer_form as fmap_integer_form

    size = int(np.prod(node.out_shape))
    if size % CHANNEL_STEP or any(_shape(v) != node.out_shape for v in node.fxp.operands[:2]):
        raise UnsupportedOpError(f"layer '{node.layer}': the AIE add kernel adds two values of the same shape in whole "
                                 f"{CHANNEL_STEP}-lane vectors; {[list(_shape(v)) for v in node.fxp.operands[:2]]} "
                                 f"({size} elements) are not", node.layer)
    return fmap_integer_form(node)


def dense_int(node: TokenNode):
    from fxflow.lowering.aie.passes.convert_fxp_to_aie import kernel_info

    info = kernel_info(node.op)
    if node.siblings:
        from dataclasses import replace

        infos = [info, *(kernel_info(k) for k in node.siblings)]
        info = replace(info, w=np.concatenate([i.w for i in infos], axis=1), b=np.concatenate([i.b for i in infos]))
    if node.relu_op is not None:
        from dataclasses import replace

        from fxflow.lowering.aie.fmap import relu_format

        info = replace(info, relu=relu_format(node))
    return info, info.lower()


def row_kernel(node: TokenNode):
    """The row kernel's spec; the HCCS kernel reads whole vectors and the attention path's rows are unpadded."""
    from fxflow.lowering.aie.passes.convert_fxp_to_aie import row_info

    r = row_info(node.op, any_rank=True)
    if r.kind == "hccs" and r.n % cost.HCCS_LANES:
        raise UnsupportedOpError(f"layer '{node.layer}': the HCCS kernel reads whole {cost.HCCS_LANES}-lane vectors; "
                                 f"in an attention graph its rows of {r.n} are not padded (use a table softmax or "
                                 f"a multiple of {cost.HCCS_LANES} features)", node.layer)
    return r


def integer_form(node: TokenNode) -> dict:
    """The node's `aie` attribute: mode and storage types (raises naming the layer when it has none)."""
    if node.kind == "matmul":
        i = matmul_int(node)
        return {"mode": i.mode.name, "x": i.a_store, "y": i.y_store}
    if node.kind == "scale":
        i = scale_int(node)
        return {"mode": "scale", "x": i.x_store, "y": i.y_store}
    if node.kind == "mean":
        i = mean_int(node)
        return {"mode": "mean", "x": i.x_store, "y": i.y_store}
    if node.kind == "mmdense":
        _, i = dense_int(node)
        return {"mode": i.mode.name, "x": i.x_store, "y": i.y_store}
    if node.kind == "add":
        return add_form(node)
    r = row_kernel(node)
    return {"mode": node.kind, "x": storage_of(r.x_fmt), "y": storage_of(r.out)}


def convert(graph) -> None:
    """convert-fxp-to-aie on an attention graph: every node's integer form (errors name the layer)."""
    from fxflow.lowering.aie.fmap import _dict

    for node in token_graph(graph).nodes:
        node.op.attributes["aie"] = _dict(integer_form(node))


def partition(graph, device: Device, max_tiles: int) -> None:
    """One tile per node (the blocks of one sample are small); AieFitError when the array has too few."""
    from fxflow.ir import i64_attr

    tg = token_graph(graph)
    check_memory(tg, device, graph.regions[0].blocks[0].arguments[0])
    if len(tg.nodes) > max_tiles:
        raise AieFitError(f"the attention design needs {len(tg.nodes)} compute tiles (one per kernel); "
                          f"{device.name} offers {max_tiles}")
    graph.attributes["aie_device"] = str_attr(device.name)
    graph.attributes["aie_batch"] = i64_attr(1)


def place(graph, device: Device, window: range) -> None:
    """Nodes on the window's compute tiles in graph order, column by column (neighbours stay close)."""
    tg = token_graph(graph)
    tiles = [(c, r) for c in window for r in device.compute_rows]
    if len(tg.nodes) > len(tiles):
        raise AieFitError(f"the attention design needs {len(tg.nodes)} compute tiles; {device.name} has "
                          f"{len(tiles)} in columns {window.start}..{window.stop - 1}")
    for node, (c, r) in zip(tg.nodes, tiles):
        node.op.attributes["placement"] = str_attr(f"tile({c},{r})")


# ---- program ------------------------------------------------------------------------------------------------------

@dataclass
class Blocks:
    """An mmul kernel's loops: `heads` blocks of [m, k] x [k, n], each padded to [mp, kp] x [kp, np_] for the dense
    template."""

    heads: int
    m: int
    k: int
    n: int
    mp: int
    kp: int
    np_: int


@dataclass
class MmParams(Blocks):
    """The blocks and the operand accesses into the input FIFOs (the weights of an mmdense node are resident)."""

    access: tuple[Access, ...] = ()
    b_store: str = ""


@dataclass
class ScaleParams:
    size: int
    access: Access
    integer: ScaleInt


@dataclass
class MeanParams:
    access: Access
    integer: MeanInt


def _up(v: int, step: int) -> int:
    return -(-v // step) * step


@dataclass
class MmGeometry(Blocks):
    """An mmul node's blocks (padded to the dense template's steps) and integer form."""

    integer: object = None  # MatmulInt / arith.DenseInt
    info: object = None  # the dense layer (mmdense) or None
    a_store: str = ""
    y_store: str = ""

    def tile_bytes(self, kind: str) -> int:
        """The kernel's own arrays: staged operand, staged second operand (matmul) or resident weights and bias,
        padded result (the FIFO buffers are counted by the caller)."""
        mode = self.integer.mode
        xb = cost.nbytes(self.a_store)
        return (self.mp * self.kp * xb + self.kp * self.np_ * mode.w_bits // 8
                + self.np_ * mode.acc_bits // 8 + self.mp * self.np_ * cost.nbytes(self.y_store))


def mm_geometry(node: TokenNode, device: Device) -> MmGeometry:
    if node.kind == "matmul":
        integer, info = matmul_int(node), None
        a_store = integer.a_store
        sa, sb = _shape(node.fxp.operands[0]), _shape(node.fxp.operands[1])
        heads, (m, k), n = int(np.prod(sa[:-2])), sa[-2:], sb[-1]
    else:
        info, integer = dense_int(node)
        a_store = integer.x_store
        k, n = info.w.shape
        heads, m = 1, int(np.prod(node.out_shape)) // n
    dm = device_mode(integer.mode.name, device)
    return MmGeometry(heads, m, k, n, _up(m, dm.microtile[0]), _up(k, cost.k_block(dm, a_store)),
                      _up(n, cost.n_block(dm, integer.y_store)), integer, info, a_store, integer.y_store)


def check_memory(tg: TokenGraph, device: Device, arg) -> int:
    """Each node's tile holds its input and output FIFO buffers (double-buffered), its kernel's arrays and tables
    and the stack: AieFitError naming the layer otherwise (the AIE path never splits a node over tiles).  Returns
    the data memory of all the tiles."""
    total = 0
    for node in tg.nodes:
        form = integer_form(node)
        stores = [integer_form(tg.nodes[s])["y"] if s >= 0 else storage_of_input(arg) for s, _ in node.operands]
        fifo = sum(_size(s, tg.nodes, arg) * cost.nbytes(st) for (s, _), st in zip(node.operands, stores))
        fifo += int(np.prod(node.out_shape)) * cost.nbytes(form["y"])
        own = 0
        if node.kind in ("matmul", "mmdense"):
            g = mm_geometry(node, device)
            own = g.tile_bytes(node.kind)
            wbytes = g.kp * g.np_ * g.integer.mode.w_bits // 8
            if node.kind == "mmdense" and wbytes > device.bank_bytes:
                raise AieFitError(f"layer '{node.layer}' (dense kernel '{node.name}'): its {g.kp}x{g.np_} weights "
                                  f"take {wbytes} bytes; one {device.name} memory bank holds {device.bank_bytes} "
                                  "(the AIE attention path keeps a dense layer's weights on one tile)")
        elif node.kind in cost.ROW_ROLES:
            r = row_kernel(node)
            own = sum(4 * len(t) for _, t in row_tables(node.kind, r.spec)) + 8 * r.n  # tables, int64 row
        need = cost.FIFO_DEPTH * fifo + own + device.stack_bytes
        if need > device.tile_memory:
            raise AieFitError(f"layer '{node.layer}' ({node.kind} kernel '{node.name}') needs {need} bytes of data "
                              f"memory: its double-buffered input and output FIFOs ({cost.FIFO_DEPTH * fifo} bytes), "
                              f"its own arrays ({own}) and the stack; a {device.name} tile has {device.tile_memory}")
        total += need
    return total


def storage_of_input(arg) -> str:
    from fxflow.dialects.fxp import format_of

    fmt = format_of(arg.type)
    store = storage_of(fmt) if fmt is not None else None
    if store is None or STORAGE[store][1] > 16:
        raise UnsupportedOpError(f"the graph input format {fmt} needs more than 16-bit storage; the AIE kernels "
                                 "take int8/int16 values")
    return store


def build(graph, io: str = "host", columns: range | None = None) -> AieProgram:
    """The AieProgram of a placed attention DAG."""
    from fxflow.dialects.fxp import format_of
    from fxflow.lowering.aie.build import _placement

    device = get_device(ir.StringAttr(graph.attributes["aie_device"]).value)
    window = range(device.cols) if columns is None else columns
    tg = token_graph(graph)
    block = graph.regions[0].blocks[0]
    in_fmt = format_of(block.arguments[0].type)
    out_fmt = format_of(list(block.operations)[-1].operation.operands[0].type)
    forms = [integer_form(n) for n in tg.nodes]
    in_store = storage_of_input(block.arguments[0])
    in_size = int(np.prod(tg.in_shape))
    out_size = int(np.prod(tg.nodes[tg.output].out_shape))
    prog = AieProgram(device, c_identifier(ir.StringAttr(graph.attributes["sym_name"]).value, prefix="top"), 1,
                      in_size, out_size, in_fmt, out_fmt, in_store, forms[tg.output]["y"])
    taken: set[str] = {"in", "out", "in0", "out0"}
    idents = [c_identifier(n.name, taken) for n in tg.nodes]
    tiles = [_placement(n.op) for n in tg.nodes]
    readers: dict = {-1: []}
    for i, node in enumerate(tg.nodes):
        readers[i] = []
        for src, _ in node.operands:
            if tiles[i] not in readers[src]:
                readers[src].append(tiles[i])
    value = {-1: "in_x", **{i: f"{ident}_y" for i, ident in enumerate(idents)}}
    # graph input: shim -> memory tile -> the readers; graph output: its tile -> memory tile -> shim
    ports = IoPorts(device, io, window)
    mem = [(c, r) for r in device.mem_rows for c in window]
    first_col = min(t[0] for t in readers[-1])
    mt_in = min(mem, key=lambda t: (abs(t[0] - first_col), t))
    mt_out = min(mem, key=lambda t: (abs(t[0] - tiles[tg.output][0]), t))
    shim_in, ch_in = ports.take(mt_in[0], 1)
    shim_out, ch_out = ports.take(mt_out[0], 0)
    plio = io == "plio"
    prog.fifos.append(Fifo("in0", shim_in, [mt_in], cost.FIFO_DEPTH, in_store, (in_size,)))
    prog.fifos.append(Fifo("in_x", mt_in, readers[-1], cost.FIFO_DEPTH, in_store, (in_size,)))
    prog.links.append(Link(["in0"], ["in_x"], [], [], mt_in))
    prog.inputs.append(HostPort("in0", shim_in, ch_in, 0, 1, in_size, plio))
    stores = {-1: in_store, **{i: f["y"] for i, f in enumerate(forms)}}
    kcs, legs = zip(*(node_cycles(node, tg, stores, device) for node in tg.nodes))
    for i, (node, ident, form) in enumerate(zip(tg.nodes, idents, forms)):
        tile = tiles[i]
        size_in = _size(node.operands[0][0], tg.nodes, block.arguments[0])
        y_size = int(np.prod(node.out_shape))
        ins = [value[src] for src, _ in node.operands]
        cons = list(readers[i]) + ([mt_out] if i == tg.output else [])
        prog.fifos.append(Fifo(value[i], tile, cons, cost.FIFO_DEPTH, form["y"], (y_size,)))
        obj = f"{ident}.o"
        leg = legs[i]
        if node.kind in cost.ROW_ROLES:
            r = row_kernel(node)
            rows = y_size // r.n
            fn = KernelFn(f"{ident}_{node.kind}", node.layer, node.kind, node.kind, rows, r.n, r.n, form["x"], "",
                          form["y"], 32, [], obj, row=RowTile(r.spec, r.n, 1, r.n))
            tables = []
            for suffix, values in row_tables(node.kind, r.spec):
                prog.buffers.append(Buffer(f"{ident}_{suffix}", tile, TABLE_STORE, (len(values),),
                                           np.asarray(values, dtype=np.int64)))
                tables.append(f"{ident}_{suffix}")
            prog.kernels.append(fn)
            prog.cores.append(Core(tile, fn.name, node.layer, 0, 0, ins[0], "", None, value[i], tables=tables))
            kc = kcs[i]
            prog.layers.append(LayerPlan(ident, node.layer, r.n, r.n, 1, 1, r.n, r.n, tile, node.kind,
                                         max(kc, leg), leg + kc, 0, kind=node.kind))
            continue
        if node.kind == "add":
            from fxflow.lowering.aie.fmap import CHANNEL_STEP
            from fxflow.lowering.aie.fmap_build import AddParams

            if ins[0] == ins[1]:
                raise UnsupportedOpError(f"layer '{node.layer}': an add of a value to itself has no AIE kernel (one "
                                         "FIFO cannot be acquired twice by a core)", node.layer)
            px = y_size // CHANNEL_STEP
            params = AddParams(px, (CHANNEL_STEP, CHANNEL_STEP), CHANNEL_STEP, tuple(form["shifts"]), form["x2"])
            fn = KernelFn(f"{ident}_add", node.layer, "add", form["mode"], 1, y_size, y_size, form["x"], "",
                          form["y"], 32, parse_epilogue(form["epilogue"]), obj, params=params)
            prog.kernels.append(fn)
            prog.cores.append(Core(tile, fn.name, node.layer, 0, 0, ins[0], "", None, value[i], [ins[1]]))
            kc = kcs[i]
            prog.layers.append(LayerPlan(ident, node.layer, 2, y_size, 1, 1, y_size, y_size, tile, form["mode"],
                                         max(kc, leg), leg + kc, 0, kind="add"))
            continue
        if node.kind == "scale":
            integer = scale_int(node)
            params = ScaleParams(y_size, node.operands[0][1], integer)
            fn = KernelFn(f"{ident}_scale", node.layer, "scale", "scale", 1, size_in, y_size, form["x"], "",
                          form["y"], 64, [], obj, params=params)
            prog.kernels.append(fn)
            prog.cores.append(Core(tile, fn.name, node.layer, 0, 0, ins[0], "", None, value[i]))
            kc = kcs[i]
            prog.layers.append(LayerPlan(ident, node.layer, 1, y_size, 1, 1, 1, y_size, tile, "int64",
                                         max(kc, leg), leg + kc, 0, kind="scale"))
            continue
        if node.kind == "mean":
            integer = mean_int(node)
            fn = KernelFn(f"{ident}_mean", node.layer, "mean", "mean", 1, size_in, y_size, form["x"], "",
                          form["y"], 64, [], obj, params=MeanParams(node.operands[0][1], integer))
            prog.kernels.append(fn)
            prog.cores.append(Core(tile, fn.name, node.layer, 0, 0, ins[0], "", None, value[i]))
            kc = kcs[i]
            prog.layers.append(LayerPlan(ident, node.layer, integer.n, 1, 1, 1, integer.n, 1, tile, "int64",
                                         max(kc, leg), leg + kc, 0, kind="mean"))
            continue
        g = mm_geometry(node, device)
        integer, mode, epilogue, a_store, y_store = g.integer, g.integer.mode, g.integer.epilogue, g.a_store, g.y_store
        heads, m, k, n, mp, kp, np_ = g.heads, g.m, g.k, g.n, g.mp, g.kp, g.np_
        info = g.info
        params = MmParams(heads, m, k, n, mp, kp, np_, tuple(a for _, a in node.operands))
        if node.kind == "matmul":
            params.b_store = integer.b_store
            fn = KernelFn(f"{ident}_matmul", node.layer, "matmul", mode.name, 1, size_in, y_size, a_store,
                          integer.b_store, y_store, mode.acc_bits, epilogue, obj, params=params)
            prog.kernels.append(fn)
            prog.cores.append(Core(tile, fn.name, node.layer, 0, 0, ins[0], "", None, value[i], [ins[1]]))
            macs = heads * m * k * n
        else:
            w_store = f"i{mode.w_bits}" if mode.w_bits == 16 else integer.w_store
            params.b_store = w_store
            w = np.zeros((kp, np_), dtype=np.int64)
            w[:k, :n] = info.w
            bias = np.zeros(np_, dtype=np.int64)
            bias[:n] = bias_on_product_grid(info.b, info.b_fmt, info.acc, info.x_fmt.f + info.w_fmt.f,
                                            node.layer).astype(np.int64)
            fn = KernelFn(f"{ident}_mmdense", node.layer, "mmdense", mode.name, 1, size_in, y_size, a_store, w_store,
                          y_store, mode.acc_bits, epilogue, obj, params=params, w_shape=(kp, np_))
            prog.kernels.append(fn)
            prog.buffers.append(Buffer(f"{ident}_w", tile, w_store, (kp, np_), w, 2))
            prog.buffers.append(Buffer(f"{ident}_b", tile, f"i{mode.acc_bits}", (np_,), bias, 1))
            prog.cores.append(Core(tile, fn.name, node.layer, 0, 0, ins[0], f"{ident}_w", f"{ident}_b", value[i]))
            macs = m * k * n
        kc = kcs[i]
        prog.layers.append(LayerPlan(ident, node.layer, k, n, 1, 1, k, n, tile, mode.name, max(kc, leg), leg + kc,
                                     macs, kind=node.kind))
    prog.fifos.append(Fifo("out0", mt_out, [shim_out], cost.FIFO_DEPTH, forms[tg.output]["y"], (out_size,)))
    prog.links.append(Link([value[tg.output]], ["out0"], [], [], mt_out))
    prog.outputs.append(HostPort("out0", shim_out, ch_out, 0, 1, out_size, plio))
    return prog


def node_cycles(node: TokenNode, tg: TokenGraph, stores: dict, device: Device) -> tuple[int, int]:
    """(kernel cycles of one call, cycles of its input FIFO legs) of a node: what its LayerPlan records and the
    Versal planner costs.  `stores`: the storage type of every value (-1 the input)."""
    from fxflow.lowering.aie.fmap import CHANNEL_STEP

    sizes = {-1: int(np.prod(tg.in_shape)), **{i: int(np.prod(n.out_shape)) for i, n in enumerate(tg.nodes)}}
    leg = sum(cost.fifo_cycles(sizes[s], stores[s]) for s, _ in node.operands)
    y_size = int(np.prod(node.out_shape))
    if node.kind in cost.ROW_ROLES:
        r = row_kernel(node)
        return cost.row_cycles(node.kind, y_size // r.n, r.spec, r.n, r.n), leg
    if node.kind == "add":
        return vector_cycles(y_size // CHANNEL_STEP, CHANNEL_STEP, 1), leg
    if node.kind == "scale":
        return y_size + cost.CALL_OVERHEAD, leg  # one int64 scalar step per element
    if node.kind == "mean":  # int64 scalar steps: an add and a requantization per element, a division per row
        return 2 * sizes[node.operands[0][0]] + mean_int(node).rows + cost.CALL_OVERHEAD, leg
    g = mm_geometry(node, device)
    dm = device_mode(g.integer.mode.name, device)
    staged = g.heads * (g.m * g.k + (g.k * g.n if node.kind == "matmul" else 0) + g.m * g.n)  # scalar copies
    kc = g.heads * (cost.kernel_cycles(dm, g.mp, g.kp, g.np_, False, False) - cost.CALL_OVERHEAD) + staged \
        + cost.CALL_OVERHEAD
    return kc, leg


def dag_cost(tg: TokenGraph, device: Device, arg) -> dict:
    """The program `build` would make of `tg` (reading `arg`), costed without building it: one tile per node, one
    sample per call; interval = the slowest node or shim transfer, latency = shim in + every node's leg and kernel +
    shim out (as `cycles.design_cycles` adds the LayerPlans up); bytes per sample through each PLIO port; data memory
    (AieFitError naming the layer when a tile cannot hold its node)."""
    memory = check_memory(tg, device, arg)
    forms = [integer_form(n) for n in tg.nodes]
    stores = {-1: storage_of_input(arg), **{i: f["y"] for i, f in enumerate(forms)}}
    per = [node_cycles(n, tg, stores, device) for n in tg.nodes]
    in_size, out_size = int(np.prod(tg.in_shape)), int(np.prod(tg.nodes[tg.output].out_shape))
    shim_in, shim_out = cost.fifo_cycles(in_size, stores[-1]), cost.fifo_cycles(out_size, stores[tg.output])
    return {"tiles": len(tg.nodes), "memory_bytes": memory,
            "interval_cycles": max([max(kc, leg) for kc, leg in per] + [shim_in, shim_out]),
            "latency_cycles": shim_in + sum(kc + leg for kc, leg in per) + shim_out,
            "bytes_in": in_size * cost.nbytes(stores[-1]), "bytes_out": out_size * cost.nbytes(stores[tg.output]),
            "kinds": [n.kind for n in tg.nodes]}


def tiles_used(graph) -> int:
    return len(token_graph(graph).nodes)


# ---- simulation executors: the kernels' integer steps ------------------------------------------------------------

def _operands(p: MmParams, ins: list, b=None) -> tuple[np.ndarray, np.ndarray]:
    a = ins[0][p.access[0].order()].reshape(p.heads, p.m, p.k)
    if b is None:
        b = ins[1][p.access[1].order()].reshape(p.heads, p.k, p.n)
    return a, b


@register_executor("matmul")
def run_matmul(prog: AieProgram, core: Core, fn: KernelFn, ins: list) -> np.ndarray:
    """Per head: acc = a @ b in the mode's accumulator lanes (wrapping like the hardware), then the SRS."""
    a, b = _operands(fn.params, ins)
    return run_epilogue(_acc_wrap(a @ b, fn.acc_bits), fn.epilogue).ravel()


@register_executor("mmdense")
def run_mmdense(prog: AieProgram, core: Core, fn: KernelFn, ins: list) -> np.ndarray:
    """acc = bias + x @ w over the tokens, wrapped to the accumulator width, then the epilogue."""
    p: MmParams = fn.params
    w = prog.buffer(core.weights).data[:p.k, :p.n]
    x, _ = _operands(p, ins, w)
    acc = prog.buffer(core.bias).data[:p.n] + x[0] @ w
    return run_epilogue(_acc_wrap(acc, fn.acc_bits), fn.epilogue).ravel()


@register_executor("scale")
def run_scale(prog: AieProgram, core: Core, fn: KernelFn, ins: list) -> np.ndarray:
    """x * s * 2^up_x + t * 2^up_t assigned to the result format (int64 scalars: bounded by scale_int)."""
    p: ScaleParams = fn.params
    i = p.integer
    x = ins[0][p.access.order()]
    total = (x * i.s << i.up_x) + (i.t << i.up_t)
    return np.asarray(requantize(total, i.f, i.out), dtype=np.int64)


@register_executor("mean")
def run_mean(prog: AieProgram, core: Core, fn: KernelFn, ins: list) -> np.ndarray:
    """Per row: each element added to the running sum and the sum assigned to the accumulator format, then the
    division toward zero and the assignment to the result (int64 scalars: bounded by mean_int)."""
    p: MeanParams = fn.params
    i = p.integer
    x = ins[0][p.access.order()].reshape(i.rows, i.n) << i.up_x
    a = np.zeros(i.rows, dtype=np.int64)
    for k in range(i.n):
        a = np.asarray(requantize((a << i.up_a) + x[:, k], i.acc.f + i.up_a, i.acc), dtype=np.int64)
    q = np.abs(a) // i.n
    return np.asarray(requantize(np.where(a < 0, -q, q), i.acc.f, i.out), dtype=np.int64)
