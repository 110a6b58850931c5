"""convert-fxp-to-aie: make a `df.graph` of fixed-point kernels into AIE-ML tile-level integer kernels.

Each dense kernel followed (through its channel) only by a ReLU kernel absorbs it — one SRS into the ReLU's
format instead of two requantizations; the fxp ops stay in the kernel body, so the emulator still runs the
exact semantics.  Every dense kernel then gets its integer form (`fxflow.lowering.aie.arith.lower_dense`, which
proves it equal to the fxp semantics or rejects the layer with the reason) as a dictionary attribute:

    aie = {mode = "8x8", x = "i8", w = "i8", y = "i8", acc = "acc32",
           epilogue = ["srs shift=6 round=conv_even sat=saturate to=i8", "relu"]}

Anything else (convolutions, residual adds, stand-alone activations or casts) is rejected naming its layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fxflow.lowering.aie.arith import DenseInt, check_product, lower_dense, storage_of
from fxflow.lowering.aie.unhosted import unhosted
from fxflow.dialects.df import build_kernel, build_yield
from fxflow.dialects.df.graph import graph_of, kernels_of
from fxflow.dialects.fxp import (AddConstantOp, AddOp, CastOp, ClampOp, ConcatOp, ConstantOp, ConvOp, DenseOp, GatherOp,
                                 MinMaxOp, SelectOp,
                                 LayerNormOp, LutOp, MatmulOp, MulOp, PReluOp, PadOp, PoolOp, ReluOp, ReshapeOp, ResizeOp,
                                 RnnOp, ScaleShiftOp, SoftmaxOp, SubOp, ThresholdOp, TransposeOp,
                                 format_of)
from fxflow.errors import FxflowError, InternalError, UnsupportedOpError
from fxflow.fixed.hccs import B_MAX
from fxflow.ir import elements_array, ir, str_attr
from fxflow.passes.registry import register_pass

# The fxp ops an AIE design may hold, in the forms kernel_info / _is_relu / hccs_info accept.
SUPPORTED = {
    DenseOp: "int8/int16 dense on the AIE-ML vector unit (kernel_info)",
    ReluOp: "fused into the dense before it (_fuse_into_producer)",
    SoftmaxOp: "implementation hccs, stable or latency over the features, after a dense layer (row_info, "
               "aie_layers); stable or latency over the last dim anywhere in an attention DAG (lowering/aie/"
               "attention.py)",
    LayerNormOp: "over the features (dims = 1), after a dense layer (row_info, aie_layers) or anywhere in an "
                 "attention DAG",
    LutOp: "a table activation (GELU, sigmoid, tanh, ...) after a dense layer or anywhere in an attention DAG, as "
           "a row kernel (row_info)",
    MatmulOp: "two activations (attention scores, P·V), per head on aie::mmul in an attention DAG "
              "(lowering/aie/attention.py)",
    ScaleShiftOp: "by one scale and shift (the scores' 1/sqrt(d)), int64 scalars, in an attention DAG",
    GatherOp: "as the affine addressing of the attention kernel reading it (a head split / merge)",
    TransposeOp: "as the affine addressing of the attention kernel reading it",
    ReshapeOp: "as the addressing of the attention kernel reading it; on feature maps a unit-dim reshape or a flatten "
               "read by a dense (lowering/aie/fmap.py)",
    ConstantOp: "the weights and biases of a dense or conv",
    ConvOp: "2-D and 1-D conv (grouped, depthwise) on feature maps, + fused ReLU (lowering/aie/fmap.py)",
    PoolOp: "max and average pooling (global too) on 2-D and 1-D feature maps (lowering/aie/fmap.py); in an "
            "attention DAG an average pool over the whole last dim (the mean over the tokens, "
            "lowering/aie/attention.py)",
    AddOp: "on feature maps, + fused ReLU (lowering/aie/fmap.py), and as a residual in an attention DAG; in a "
           "dense chain a residual add of [batch, features] rows is refused: the chain has no two-input kernel",
}

_CHAIN = ("the AIE backend maps chains of dense layers (+ ReLU) and row kernels (HCCS or table softmax, LayerNorm, "
          "table activation), feature-map DAGs and attention DAGs; no AIE kernel for it")
# Every other op, with the reason (test_op_coverage.py asks every op of FXP_OPS).
UNSUPPORTED = {
    CastOp: _CHAIN, SubOp: _CHAIN, MulOp: _CHAIN,
    ConcatOp: _CHAIN, PadOp: _CHAIN, ResizeOp: _CHAIN,
    ClampOp: _CHAIN, PReluOp: _CHAIN, SelectOp: _CHAIN, MinMaxOp: _CHAIN,
    AddConstantOp: _CHAIN,
    RnnOp: _CHAIN,
    ThresholdOp: _CHAIN,
}


@dataclass
class DenseKernel:
    """What the AIE backend reads from one dense df.kernel."""

    op: object  # the df.kernel operation
    layer: str
    name: str
    x_fmt: object
    w: np.ndarray  # stored integers [K, N]
    w_fmt: object
    b: np.ndarray
    b_fmt: object
    acc: object
    out: object
    relu: object | None  # the fused ReLU's result format
    product: object | None = None  # hls4ml-style per-product type (acc += product_t(x*w)), if any
    tokens: int = 1  # a Linear applied per token of [batch, tokens, features]: tokens rows per sample

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.w.shape)

    def lower(self) -> DenseInt:
        check_product(self.layer, self.product, self.x_fmt, self.w_fmt)
        return lower_dense(self.layer, self.x_fmt, self.w, self.w_fmt, self.b, self.b_fmt, self.acc, self.out,
                           self.relu)


def _body(kernel) -> list:
    return [op.operation for op in kernel.regions[0].blocks[0].operations]


def _const(value) -> np.ndarray:
    owner = value.owner
    owner = owner if isinstance(owner, ir.Operation) else owner.operation
    return elements_array(owner.attributes["value"], ir.RankedTensorType(value.type).shape)


def kernel_info(kernel) -> DenseKernel | None:
    """The dense (+ReLU) content of a df.kernel, None when it holds anything else."""
    ops = [o for o in _body(kernel) if o.name not in ("fxp.constant", "df.yield")]
    names = [o.name for o in ops]
    if names not in (["fxp.dense"], ["fxp.dense", "fxp.relu"]):
        return None
    d = ops[0]
    x, w, b = d.operands
    tokens = _tokens(kernel, ir.RankedTensorType(x.type).shape)
    relu = format_of(ops[1].results[0].type) if len(ops) == 2 else None
    product = format_of(ir.TypeAttr(d.attributes["product"]).value) if "product" in d.attributes else None
    if "approx_mul" in d.attributes:  # fxflow.approx: AIE cores have exact multipliers only
        layer = ir.StringAttr(kernel.attributes["layer"]).value
        raise UnsupportedOpError(f"layer '{layer}': approximate multiplier "
                                 f"'{ir.StringAttr(d.attributes['approx_mul']).value}' is not available on AI "
                                 "Engines (exact int8/int16 multipliers only)", layer)
    return DenseKernel(kernel, ir.StringAttr(kernel.attributes["layer"]).value,
                       ir.StringAttr(kernel.attributes["sym_name"]).value, format_of(x.type), _const(w),
                       format_of(w.type), _const(b), format_of(b.type),
                       format_of(ir.TypeAttr(d.attributes["accum"]).value), format_of(d.results[0].type), relu,
                       product, tokens)


def _tokens(kernel, shape) -> int:
    """Rows per sample of a row-wise AIE kernel: 1 for [batch, features], T for [batch, T, features] (each token
    is one row of the kernel's M x K block); other ranks are rejected naming the layer."""
    if len(shape) == 2:
        return 1
    if len(shape) == 3:
        return shape[1]
    layer = ir.StringAttr(kernel.attributes["layer"]).value
    raise UnsupportedOpError(f"layer '{layer}': the AIE backend takes [batch, features] or [batch, tokens, features] "
                             f"tensors, not {list(shape)}", layer)


@dataclass
class RowKernel:
    """A row kernel on one tile over the features of the dense layer before it: an HCCS softmax (kind "hccs",
    `fxflow.fixed.hccs`), a LayerNorm ("layernorm") or a table softmax ("softmax"), the latter two in
    `fxflow.lowering.aie.rows`."""

    op: object
    layer: str
    name: str
    x_fmt: object
    out: object
    spec: object  # HccsSpec / program.LayerNormSpec / program.TableSoftmaxSpec
    n: int
    kind: str = "hccs"


HccsKernel = RowKernel


def hccs_info(kernel) -> HccsKernel | None:
    """The HCCS softmax content of a df.kernel, None when it holds anything else."""
    from fxflow.dialects.fxp.accessors import hccs_spec

    ops = [o for o in _body(kernel) if o.name not in ("fxp.constant", "df.yield")]
    if len(ops) != 1 or ops[0].name != "fxp.softmax" or \
            ir.StringAttr(ops[0].attributes["implementation"]).value != "hccs":
        return None
    sm = ops[0]
    layer = ir.StringAttr(kernel.attributes["layer"]).value
    shape = ir.RankedTensorType(sm.operands[0].type).shape
    if len(shape) not in (2, 3) or ir.IntegerAttr(sm.attributes["axis"]).value != len(shape) - 1:
        raise UnsupportedOpError(f"layer '{layer}': the AIE HCCS kernel takes a softmax over the last dim of a "
                                 f"[batch, N] or [batch, tokens, N] tensor, not {list(shape)}", layer)
    spec = hccs_spec(sm)
    x_fmt = format_of(sm.operands[0].type)
    if storage_of(x_fmt) != "i8":
        raise UnsupportedOpError(f"layer '{layer}': the AIE HCCS kernel takes int8 inputs (the dense epilogue's "
                                 f"int8 output); its input format {x_fmt} is not int8", layer)
    if max(spec.B) > B_MAX:
        raise UnsupportedOpError(f"layer '{layer}': HCCS B = {max(spec.B)} exceeds {B_MAX}; the AIE kernel holds "
                                 "scores in int16 lanes", layer)
    return HccsKernel(kernel, layer, ir.StringAttr(kernel.attributes["sym_name"]).value, x_fmt,
                      format_of(sm.results[0].type), spec, shape[-1])


def row_info(kernel, any_rank: bool = False) -> RowKernel | None:
    """The row-kernel content of a df.kernel (HCCS softmax, LayerNorm over the features, table softmax over the
    features), None when it holds anything else; UnsupportedOpError naming the layer when the AIE kernel cannot
    reproduce it.  `any_rank`: rows of the last dim of any tensor (the attention path's [heads, T, T] scores)."""
    from fxflow.dialects.fxp.accessors import norm_formats, softmax_formats
    from fxflow.lowering.aie.rows import layernorm_spec, table_softmax_spec

    tail = hccs_info(kernel)
    if tail is not None:
        return tail
    ops = [o for o in _body(kernel) if o.name not in ("fxp.constant", "df.yield")]
    if len(ops) != 1 or ops[0].name not in ("fxp.layernorm", "fxp.softmax", "fxp.lut"):
        return None
    op = ops[0]
    layer = ir.StringAttr(kernel.attributes["layer"]).value
    name = ir.StringAttr(kernel.attributes["sym_name"]).value
    shape = ir.RankedTensorType(op.operands[0].type).shape
    if not any_rank:
        _tokens(kernel, shape)
    x_fmt, out = format_of(op.operands[0].type), format_of(op.results[0].type)
    if x_fmt is None or out is None:
        raise UnsupportedOpError(f"layer '{layer}': the AIE backend needs fixed-point formats (run the precision "
                                 "pass)", layer)
    if op.name == "fxp.lut":
        return _lut_row(kernel, op, layer, name, x_fmt, out, shape[-1])
    if op.name == "fxp.layernorm":
        if ir.IntegerAttr(op.attributes["dims"]).value != 1:
            raise UnsupportedOpError(f"layer '{layer}': the AIE LayerNorm kernel normalizes the last dim only, not "
                                     f"the last {ir.IntegerAttr(op.attributes['dims']).value}", layer)
        g, b = op.operands[1], op.operands[2]
        spec = layernorm_spec(layer, shape[-1], x_fmt, _const(g), format_of(g.type), _const(b), format_of(b.type),
                              norm_formats(op), ir.FloatAttr(op.attributes["epsilon"]).value,
                              bool(ir.IntegerAttr(op.attributes["rms"]).value), out)
        return RowKernel(kernel, layer, name, x_fmt, out, spec, shape[-1], "layernorm")
    if ir.IntegerAttr(op.attributes["axis"]).value != len(shape) - 1:
        raise UnsupportedOpError(f"layer '{layer}': the AIE softmax kernel works over the last dim (features) of "
                                 f"{list(shape)}", layer)
    impl = ir.StringAttr(op.attributes["implementation"]).value
    if impl not in ("stable", "latency"):
        raise UnsupportedOpError(f"layer '{layer}': softmax implementation '{impl}' has no AIE kernel (stable, "
                                 "latency and hccs do)", layer)
    fm, exp_tab, inv_tab = softmax_formats(op)
    spec = table_softmax_spec(layer, x_fmt, out, impl, fm, exp_tab, inv_tab)
    return RowKernel(kernel, layer, name, x_fmt, out, spec, shape[-1], "softmax")


def _lut_row(kernel, op, layer: str, name: str, x_fmt, out, n: int) -> RowKernel:
    """A table activation (`fxp.lut` with its precision-pass table) as an elementwise row kernel."""
    from fxflow.dialects.fxp.accessors import lut_table
    from fxflow.lowering.aie.rows import lut_spec

    found = lut_table(op)
    if found is None:
        raise UnsupportedOpError(f"layer '{layer}': the table activation has no table (run the precision pass)", layer)
    return RowKernel(kernel, layer, name, x_fmt, out, lut_spec(layer, x_fmt, out, *found), n, "lut")


def _users(value) -> list:
    return [u.owner for u in value.uses]


def _describe(kernel) -> str:
    ops = [o.name for o in _body(kernel) if o.name not in ("fxp.constant", "df.yield")]
    return ", ".join(ops) or "nothing"


@register_pass("convert-fxp-to-aie", "Fuse dense+ReLU kernels and attach their exact AIE-ML integer form")
def convert_fxp_to_aie(module_op, options=None) -> None:
    graph = graph_of(module_op, "convert-fxp-to-aie")
    from fxflow.lowering.aie.fmap import is_fmap_graph

    if is_fmap_graph(graph):  # conv / pool / add on feature maps: a DAG of its own (lowering/aie/fmap.py)
        from fxflow.lowering.aie.fmap import convert

        convert(graph)
        return
    from fxflow.lowering.aie.dag_paths import attention_path

    path = attention_path(graph)
    if path is not None:  # matmuls of activations and head split / merge: lowering/aie/attention.py
        path.convert(graph)
        return
    block = graph.regions[0].blocks[0]
    for kernel in kernels_of(graph):  # the first layer the AI Engines cannot host, in program order
        if kernel_info(kernel) is None and not _is_relu(kernel) and row_info(kernel) is None:
            raise unhosted(kernel)
    if len(block.arguments) != 1 or len(list(block.operations)[-1].operation.operands) != 1:
        raise UnsupportedOpError("the AIE backend supports designs with one input and one output")
    for kernel in kernels_of(graph):
        if _is_relu(kernel):
            _fuse_into_producer(kernel)
    for kernel in kernels_of(graph):
        tail = row_info(kernel)
        if tail is not None:  # the integer definition itself: the kernel runs fxflow.fixed.hccs / layernorm / softmax
            kernel.attributes["aie"] = ir.DictAttr.get({
                "mode": str_attr(tail.kind), "x": str_attr(storage_of(tail.x_fmt)),
                "y": str_attr(storage_of(tail.out))})
            continue
        info = kernel_info(kernel)
        integer = info.lower()
        kernel.attributes["aie"] = ir.DictAttr.get({
            "mode": str_attr(integer.mode.name), "x": str_attr(integer.x_store), "w": str_attr(integer.w_store),
            "y": str_attr(integer.y_store), "acc": str_attr(integer.mode.acc),
            "epilogue": ir.ArrayAttr.get([str_attr(s) for s in integer.attr_epilogue()]),
        })


def _is_relu(kernel) -> bool:
    return [o.name for o in _body(kernel) if o.name not in ("fxp.constant", "df.yield")] == ["fxp.relu"]


def _fuse_into_producer(relu_kernel) -> None:
    layer = ir.StringAttr(relu_kernel.attributes["layer"]).value
    src = relu_kernel.operands[0]
    channel = src.owner if isinstance(src.owner, ir.Operation) else getattr(src.owner, "operation", None)
    producer = None
    if channel is not None and channel.name == "df.channel":
        p = channel.operands[0].owner
        producer = p if isinstance(p, ir.Operation) else getattr(p, "operation", None)
    info = kernel_info(producer) if producer is not None and producer.name == "df.kernel" else None
    if info is None or info.relu is not None or len(_users(producer.results[0])) != 1 \
            or len(_users(channel.results[0])) != 1:
        raise unhosted(relu_kernel, "a ReLU is supported by the AIE backend only directly after a dense layer whose "
                                    "result nothing else reads")
    relu_op = [o for o in _body(relu_kernel) if o.name == "fxp.relu"][0]
    with ir.InsertionPoint(producer), producer.location:
        fused = build_kernel(list(producer.operands), [relu_kernel.results[0].type],
                             ir.StringAttr(producer.attributes["sym_name"]).value, info.layer,
                             ir.IntegerAttr(producer.attributes["reuse_factor"]).value,
                             ir.StringAttr(producer.attributes["strategy"]).value)
        fused.operation.attributes["aie_fused"] = ir.ArrayAttr.get([str_attr(layer)])
        old = producer.regions[0].blocks[0]
        kblock = fused.body.blocks.append(*[a.type for a in old.arguments])
        local = {a: kblock.arguments[i] for i, a in enumerate(old.arguments)}
        with ir.InsertionPoint(kblock):
            last = None
            for o in _body(producer):
                if o.name == "df.yield":
                    last = local[o.operands[0]]
                    continue
                new = o.clone()
                for i, v in enumerate(o.operands):
                    new.operands[i] = local[v]
                for r_old, r_new in zip(o.results, new.results):
                    local[r_old] = r_new
            r = relu_op.clone()
            r.operands[0] = last
            build_yield([r.results[0]])
    relu_kernel.results[0].replace_all_uses_with(fused.operation.results[0])
    relu_kernel.erase()
    channel.erase()
    producer.erase()


def dense_chain(graph) -> list[DenseKernel]:
    """The graph's kernels as a linear chain of AIE dense kernels (input -> k0 -> k1 -> ... -> output)."""
    return aie_layers(graph)[0]


def aie_chain(graph) -> tuple[list[DenseKernel], HccsKernel | None]:
    """The linear chain of dense kernels and the HCCS softmax kernel ending it (None if there is none); an
    HCCS softmax between dense layers is an error here (callers that take them use `aie_layers`)."""
    chain, softmax = aie_layers(graph)
    inner = [t for i, t in softmax.items() if i != len(chain) - 1]
    if inner:
        raise InternalError(f"aie_chain on a graph with an HCCS softmax between dense layers "
                            f"('{inner[0].layer}'); read it with aie_layers")
    return chain, softmax.get(len(chain) - 1)


def aie_layers(graph) -> tuple[list[DenseKernel], dict[int, RowKernel]]:
    """The linear chain of dense kernels and the row kernels (HCCS softmax, LayerNorm, table softmax) in it:
    `softmax[i]` reads dense layer i's output (and the next dense layer, if any, reads the row kernel's)."""
    block = graph.regions[0].blocks[0]
    chain, softmax, expect = [], {}, block.arguments[0]
    for kernel in kernels_of(graph):
        src = kernel.operands[0]
        tail = row_info(kernel)
        if tail is not None:
            if not chain or src != expect or len(chain) - 1 in softmax:
                what = "HCCS" if tail.kind == "hccs" else tail.kind
                raise unhosted(kernel, f"the AIE {what} kernel must read a dense layer's output")
            softmax[len(chain) - 1] = tail
            expect = _next_value(kernel)
            continue
        if "aie" not in kernel.attributes:
            raise FxflowError(f"kernel '{ir.StringAttr(kernel.attributes['sym_name']).value}' has no integer form; "
                              "run convert-fxp-to-aie first")
        if src != expect:
            layer = ir.StringAttr(kernel.attributes["layer"]).value
            raise UnsupportedOpError(f"the AIE backend maps a linear chain of layers; layer '{layer}' does not read "
                                     "the previous layer's output", layer)
        info = kernel_info(kernel)
        if info is None:
            layer = ir.StringAttr(kernel.attributes["layer"]).value
            raise UnsupportedOpError(f"layer '{layer}' ({_describe(kernel)}) is not a dense layer", layer)
        if chain and info.tokens != chain[0].tokens:
            raise UnsupportedOpError(f"layer '{info.layer}' takes {info.tokens} rows (tokens) per sample, layer "
                                     f"'{chain[0].layer}' {chain[0].tokens}: the AIE chain keeps one row layout "
                                     "(no reshape kernel)", info.layer)
        chain.append(info)
        expect = _next_value(kernel)
    ret = list(block.operations)[-1].operation
    if not chain or ret.operands[0] != expect:
        raise UnsupportedOpError("the AIE backend maps a linear chain of layers ending at the graph output")
    return chain, softmax


def _next_value(kernel):
    """What the next kernel reads: the kernel's channel when it has one, else its result."""
    users = _users(kernel.results[0])
    return users[0].results[0] if len(users) == 1 and users[0].name == "df.channel" else kernel.results[0]


def aie_attr(kernel, key: str):
    """One entry of a kernel's `aie` / `aie_partition` dictionaries, as a Python value."""
    for name in ("aie", "aie_partition"):
        if name in kernel.attributes:
            d = ir.DictAttr(kernel.attributes[name])
            if key in d:
                return _py(d[key])
    raise KeyError(key)


def _py(attr):
    if isinstance(attr, ir.StringAttr):
        return attr.value
    if isinstance(attr, ir.IntegerAttr):
        return attr.value
    if isinstance(attr, ir.ArrayAttr):
        return [_py(a) for a in attr]
    try:
        return ir.StringAttr(attr).value
    except ValueError:
        pass
    try:
        return ir.IntegerAttr(attr).value
    except ValueError:
        return [_py(a) for a in ir.ArrayAttr(attr)]
