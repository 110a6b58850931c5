"""Feature-map layers on the AI Engines: Conv2D (grouped and depthwise too), MaxPool and Add as a DAG.

A graph whose input is a [B, C, H, W] feature map becomes a DAG of AIE kernels, one node per layer (a ReLU
right after a conv or add, read by nothing else, is fused into its epilogue):
* conv: output channels split over `cas_num` tiles (no cascade: each tile reduces over every tap and input
  channel); each tile holds its [taps * Cp_in, n_slice] weight slice resident (one 16 KB bank) and receives the
  whole input feature map.  Groups are block-diagonal in that matrix (a grouped conv costs the MACs of the dense
  one); a depthwise conv (one input channel per output channel) is a lane-wise kernel with [taps, C] weights.  Integer form: `lower_dense` on the patch matrix (the emulator's definition of conv),
  so the same exactness proof holds.
* max pool: one tile, the maximum of the valid window taps per channel lane, then the SRS to the result format.
* average pool (global too): one tile, the exact window sum in acc32 lanes moved onto the accumulator's grid, divided
  by the window size truncating toward zero (`fxp.pool` avg's `acc /= n`), then the SRS to the result format.
* add: one tile, both operands shifted onto the finer grid in acc32 lanes, summed exactly, SRS to the result.
Feature maps are stored per sample channels-last, [H][W][Cp], channels zero-padded to a multiple of
`CHANNEL_STEP` (one 128-bit int8 vector).  Every layer's result goes through a memory tile: its tiles'
output-channel slices are joined there and re-laid out channels-last by the memory tile's `dimensionsToStream`,
and the one FIFO leaving the memory tile is broadcast to every layer reading the value (the DAG's fan-out) and/or
to the shim (graph output).  The host writes the input channels-last and reads the output the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fxflow.errors import UnsupportedOpError
from fxflow.ir import ir

CHANNEL_STEP = 16  # channels of a feature map are padded to whole 16-lane vectors
PIXELS = 4  # output pixels per microtile (M of every AIE-ML mmul mode fxflow uses)
FMAP_KINDS = ("conv", "pool", "add", "softmax")
CONVERT_PASS = "fxflow.lowering.aie.passes.convert_fxp_to_aie"  # its row_info: the softmax row kernel's spec


def up(v: int, step: int) -> int:
    return -(-v // step) * step


@dataclass
class FmapNode:
    """One AIE kernel of a feature-map DAG."""

    op: object  # the df.kernel holding the conv / pool / add
    kind: str  # conv / pool / add
    layer: str
    name: str
    inputs: list[int]  # producer node per operand; -1 = the graph input
    in_shapes: list[tuple[int, int, int]]  # (C, H, W) per operand
    out_shape: tuple[int, int, int]
    relu_op: object = None  # the fused ReLU kernel
    fxp: object = None  # the fxp op
    window: tuple = ()  # conv / pool: (kernel (kh, kw), strides, dilations, padding [t, l, b, r])
    groups: int = 1
    pool: str = ""  # pool: max / avg

    @property
    def depthwise(self) -> bool:
        """A conv with one input channel per output channel and group: a lane-wise kernel, not an mmul."""
        return self.kind == "conv" and self.groups == self.in_shapes[0][0] == self.out_shape[0]


@dataclass
class FmapGraph:
    nodes: list[FmapNode]
    output: int  # node producing the graph output
    in_shape: tuple[int, int, int]


def _body(kernel) -> list:
    return [o.operation for o in kernel.regions[0].blocks[0].operations
            if o.operation.name not in ("fxp.constant", "df.yield")]


def _source(value, graph_arg):
    """The df.kernel whose result `value` carries (through its df.channel); None for the graph input."""
    if value == graph_arg:
        return None
    owner = value.owner
    owner = owner if isinstance(owner, ir.Operation) else owner.operation
    if owner.name == "df.channel":
        owner = owner.operands[0].owner
        owner = owner if isinstance(owner, ir.Operation) else owner.operation
    return owner


def _readers(kernel) -> int:
    n = 0
    for use in kernel.results[0].uses:
        o = use.owner
        n += len(list(o.results[0].uses)) if o.name == "df.channel" else 1
    return n


def is_fmap_graph(graph) -> bool:
    """Whether the graph is a feature-map DAG for this module: a 4-D input, a conv / pool on a 4-D feature map, or a
    1-D one (`is_1d_fmap_graph`).  Otherwise a pool over 3-D [batch, tokens, features] rows (a transformer's mean
    over the tokens) leaves the graph a row graph, and the row path names the layer it cannot host."""
    from fxflow.dialects.df.graph import kernels_of

    block = graph.regions[0].blocks[0]
    if len(block.arguments) == 1 and len(ir.RankedTensorType(block.arguments[0].type).shape) == 4:
        return True
    return is_1d_fmap_graph(graph) or any(
        o.name in ("fxp.conv", "fxp.pool") and len(ir.RankedTensorType(o.operands[0].type).shape) == 4
        for k in kernels_of(graph) for o in _body(k))


def is_1d_fmap_graph(graph) -> bool:
    """A [batch, channels, length] input whose first layer is an fxp.conv / fxp.pool with one spatial dim: 1-D
    feature maps, run as maps of height 1 (decided by the op: a graph starting with a dense over the tokens of
    [batch, tokens, features] rows stays a row graph)."""
    from fxflow.dialects.df.graph import kernels_of

    block = graph.regions[0].blocks[0]
    if len(block.arguments) != 1 or len(ir.RankedTensorType(block.arguments[0].type).shape) != 3:
        return False
    for kernel in kernels_of(graph):  # the first layer past reshapes adding a unit dim
        ops = _body(kernel)
        if len(ops) == 1 and ops[0].name == "fxp.reshape" and layout_reshape(ops[0]):
            continue
        return len(ops) == 1 and ops[0].name in ("fxp.conv", "fxp.pool")
    return False


def _shape(value) -> tuple[int, int, int]:
    """(C, H, W) of a [batch, C, H, W] map; (C, 1, L) of a 1-D [batch, C, L] map."""
    s = ir.RankedTensorType(value.type).shape
    return tuple(s[1:]) if len(s) == 4 else (s[1], 1, s[2])


def layout_reshape(op) -> bool:
    """A reshape that keeps the batch and channels and only adds or drops spatial dims of size 1 ([B, C, L] <->
    [B, C, 1, L] <-> [B, C, L, 1], [B, C, 1, 1] -> [B, C]): the channels-last map's bytes do not change, so the
    feature-map DAG reads the producer's value through it (how the front end writes 1-D pools and dilated convs)."""
    a, b = (list(ir.RankedTensorType(v.type).shape) for v in (op.operands[0], op.results[0]))
    if len(a) < 3 or len(b) < 2 or a[:2] != b[:2]:
        return False
    return [d for d in a[2:] if d != 1] == [d for d in b[2:] if d != 1]


def flatten_reshape(op) -> bool:
    """[B, C, *S] -> [B, C * prod(S)]: a map flattened channels-first (torch.flatten before a Linear)."""
    a, b = (list(ir.RankedTensorType(v.type).shape) for v in (op.operands[0], op.results[0]))
    return len(a) in (3, 4) and len(b) == 2 and a[0] == b[0] and math.prod(a[1:]) == b[1]


def _as_2d(values: list[int], pad: bool = False) -> list[int]:
    """A 1-D window attribute as the 2-D one of a height-1 map: [k] -> [1, k]; padding [l, r] -> [0, l, 0, r]."""
    if pad:
        return [0, values[0], 0, values[1]] if len(values) == 2 else list(values)
    return [1, values[0]] if len(values) == 1 else list(values)


def kernel_node(kernel, relu_kernel=None, flat_map: tuple | None = None) -> FmapNode:
    """The conv / pool / add of one df.kernel as a DAG node (its `inputs` left empty), or a dense reading a flattened
    map `flat_map` (C, H, W) as a conv whose window is the whole map; UnsupportedOpError naming the layer
    otherwise."""
    from fxflow.dialects.fxp import i64_array
    from fxflow.lowering.aie.unhosted import unhosted

    layer = ir.StringAttr(kernel.attributes["layer"]).value
    ops = _body(kernel)
    names = [o.name for o in ops]
    if len(ops) == 1 and names[0] == "fxp.dense" and flat_map is not None:
        o = ops[0]
        c, h, w = flat_map
        f = ir.RankedTensorType(o.results[0].type).shape[-1]
        return FmapNode(kernel, "conv", layer, ir.StringAttr(kernel.attributes["sym_name"]).value, [], [flat_map],
                        (f, 1, 1), relu_op=relu_kernel, fxp=o, window=((h, w), [1, 1], [1, 1], [0, 0, 0, 0]))
    if len(ops) == 1 and names[0] == "fxp.softmax" and flat_map is not None and flat_map[1:] == (1, 1):
        return FmapNode(kernel, "softmax", layer, ir.StringAttr(kernel.attributes["sym_name"]).value, [], [flat_map],
                        flat_map, fxp=ops[0])
    if len(ops) != 1 or names[0] not in ("fxp.conv", "fxp.pool", "fxp.add"):
        raise unhosted(kernel, "not supported on the AI Engines yet: the AIE feature-map backend maps Conv2D / Conv1D "
                               "(grouped/depthwise too, + ReLU), max and average pools, Add (+ ReLU) on feature maps "
                               "and a dense (+ ReLU) reading a flattened map")
    o = ops[0]
    kind = names[0].split(".")[1]
    operands = [o.operands[0]] if kind != "add" else [o.operands[0], o.operands[1]]
    for v in operands:
        if len(ir.RankedTensorType(v.type).shape) not in (3, 4):
            raise unhosted(kernel, f"the AIE {kind} kernel takes feature maps [batch, channels, height, width] or "
                                   f"[batch, channels, length], not {list(ir.RankedTensorType(v.type).shape)}")
    node = FmapNode(kernel, kind, layer, ir.StringAttr(kernel.attributes["sym_name"]).value, [],
                    [_shape(v) for v in operands], _shape(o.results[0]), relu_op=relu_kernel, fxp=o)
    if kind == "conv":
        kh, kw = _as_2d(ir.RankedTensorType(o.operands[1].type).shape[2:])
        node.window = ((kh, kw), _as_2d(i64_array(o, "strides")),
                       _as_2d(i64_array(o, "dilations")) if "dilations" in o.attributes else [1, 1],
                       _as_2d(i64_array(o, "padding"), pad=True))
        node.groups = ir.IntegerAttr(o.attributes["groups"]).value
    elif kind == "pool":
        node.pool = ir.StringAttr(o.attributes["kind"]).value
        node.window = (tuple(_as_2d(i64_array(o, "kernel"))), _as_2d(i64_array(o, "strides")), [1, 1],
                       _as_2d(i64_array(o, "padding"), pad=True))
    return node


def graph_input(graph):
    """The graph's one input argument (the AIE DAG paths take one input); UnsupportedOpError otherwise."""
    block = graph.regions[0].blocks[0]
    if len(block.arguments) != 1:
        raise UnsupportedOpError("the AIE backend supports designs with one input and one output")
    return block.arguments[0]


def fmap_graph(graph) -> FmapGraph:
    """The graph's kernels as a feature-map DAG; UnsupportedOpError naming the layer that does not fit."""
    from fxflow.dialects.df.graph import kernels_of

    block = graph.regions[0].blocks[0]
    arg = graph_input(graph)
    nodes: list[FmapNode] = []
    index: dict = {}  # df.kernel operation -> node index (fused ReLUs map to their producer)
    flat: dict = {}  # flattening reshape kernel -> the (C, H, W) map it flattens
    fg_in = _shape(arg)
    for kernel in kernels_of(graph):
        layer = ir.StringAttr(kernel.attributes["layer"]).value
        ops = _body(kernel)
        names = [o.name for o in ops]
        srcs = [_source(v, arg) for v in kernel.operands]

        def node_of(src):
            if src is None:
                return -1
            return index[src]


        if names == ["fxp.reshape"] and layout_reshape(ops[0]):  # the same channels-last bytes: an alias
            index[kernel] = node_of(srcs[0])
            continue
        if names == ["fxp.reshape"] and flatten_reshape(ops[0]):  # read by a dense as its whole-map window
            index[kernel] = node_of(srcs[0])
            flat[kernel] = fg_in if index[kernel] < 0 else nodes[index[kernel]].out_shape
            continue
        if names == ["fxp.relu"]:
            src = srcs[0]
            prod = nodes[index[src]] if src is not None and index[src] >= 0 else None
            if prod is None or prod.kind not in ("conv", "add") or prod.relu_op is not None or _readers(src) != 1:
                raise UnsupportedOpError(f"layer '{layer}': a ReLU runs on the AI Engines only fused into the conv "
                                         "or add before it, whose result nothing else reads", layer)
            prod.relu_op = kernel
            index[kernel] = index[src]
            continue
        flat_map = flat.get(srcs[0]) if srcs else None
        if flat_map is None and names[:1] in (["fxp.dense"], ["fxp.softmax"]) and srcs[0] is not None \
                and index.get(srcs[0], -1) >= 0:
            prod = nodes[index[srcs[0]]]  # a [B, C, 1, 1] map as [B, C] rows (a pooled map, a dense's result)
            flat_map = prod.out_shape if prod.out_shape[1:] == (1, 1) else None
        node = kernel_node(kernel, flat_map=flat_map)
        kargs = list(kernel.regions[0].blocks[0].arguments)
        operands = [node.fxp.operands[0]] if node.kind != "add" else list(node.fxp.operands[:2])
        node.inputs = [node_of(srcs[next(i for i, a in enumerate(kargs) if a == v)]) for v in operands]
        index[kernel] = len(nodes)
        nodes.append(node)
    if len(ir.RankedTensorType(arg.type).shape) != 4 and not is_1d_fmap_graph(graph):
        raise UnsupportedOpError(f"the AIE feature-map layers take a [batch, channels, height, width] input (or a "
                                 f"[batch, channels, length] one read by a conv / pool), not "
                                 f"{list(ir.RankedTensorType(arg.type).shape)}")
    ret = list(block.operations)[-1].operation
    if len(ret.operands) != 1:
        raise UnsupportedOpError("the AIE backend supports designs with one input and one output")
    src = _source(ret.operands[0], arg)
    if src is None or not nodes:
        raise UnsupportedOpError("the AIE feature-map program needs at least one layer between input and output")
    return FmapGraph(nodes, index[src], tuple(_shape(arg)))


# ---- integer forms ------------------------------------------------------------------------------------------------

def relu_format(node: FmapNode):
    from fxflow.dialects.fxp import format_of

    return format_of(_body(node.relu_op)[0].results[0].type) if node.relu_op is not None else None


def _const(value) -> np.ndarray:
    from fxflow.ir import elements_array

    owner = value.owner
    owner = owner if isinstance(owner, ir.Operation) else owner.operation
    return elements_array(owner.attributes["value"], ir.RankedTensorType(value.type).shape)


def conv_matrix(node: FmapNode) -> tuple[np.ndarray, object]:
    """The conv weights as the [taps, C, F] block-diagonal matrix of its patch form (tap-major rows) and format."""
    from fxflow.dialects.fxp import format_of

    w = _const(node.fxp.operands[1])  # [F, C/g, kh, kw] or [F, C/g, k]; a dense's [C * H * W, F]
    if node.fxp.name == "fxp.dense":  # feature c * H * W + h * W + w of the flattened map: tap (h, w), channel c
        w = w.T.reshape(w.shape[1], *node.in_shapes[0])
    (kh, kw), f_total, cg = node.window[0], w.shape[0], w.shape[1]
    c = node.in_shapes[0][0]
    g = node.groups
    fg = f_total // g
    mat = np.zeros((kh * kw, c, f_total), dtype=np.int64)
    for gi in range(g):
        blk = w[gi * fg:(gi + 1) * fg].reshape(fg, cg, kh * kw).transpose(2, 1, 0)  # [taps, cg, fg]
        mat[:, gi * cg:(gi + 1) * cg, gi * fg:(gi + 1) * fg] = blk
    return mat, format_of(node.fxp.operands[1].type)


@dataclass
class ConvKernel:
    """A conv as the dense layer over its patch matrix (the emulator's definition): what its integer form needs."""

    layer: str
    x_fmt: object
    w: np.ndarray  # stored integers [taps * C, F]
    w_fmt: object
    b: np.ndarray
    b_fmt: object
    acc: object
    out: object
    relu: object
    product: object

    def lower(self):
        from fxflow.lowering.aie.arith import check_product, lower_dense

        check_product(self.layer, self.product, self.x_fmt, self.w_fmt)
        return lower_dense(self.layer, self.x_fmt, self.w, self.w_fmt, self.b, self.b_fmt, self.acc, self.out,
                           self.relu)


def conv_info(node: FmapNode) -> ConvKernel:
    """The conv's exactness conditions and integer form are those of its patch matrix."""
    from fxflow.dialects.fxp import format_of

    o = node.fxp
    if "approx_mul" in o.attributes:
        raise UnsupportedOpError(f"layer '{node.layer}': approximate multiplier "
                                 f"'{ir.StringAttr(o.attributes['approx_mul']).value}' is not available on AI Engines "
                                 "(exact int8/int16 multipliers only)", node.layer)
    mat, w_fmt = conv_matrix(node)
    product = format_of(ir.TypeAttr(o.attributes["product"]).value) if "product" in o.attributes else None
    return ConvKernel(node.layer, format_of(o.operands[0].type), mat.reshape(-1, mat.shape[2]), w_fmt,
                      _const(o.operands[2]), format_of(o.operands[2].type),
                      format_of(ir.TypeAttr(o.attributes["accum"]).value), format_of(o.results[0].type),
                      relu_format(node), product)


def _dict(d: dict):
    from fxflow.ir import i64_attr, str_attr

    def attr(v):
        if isinstance(v, str):
            return str_attr(v)
        if isinstance(v, int):
            return i64_attr(v)
        return ir.ArrayAttr.get([attr(x) for x in v])
    return ir.DictAttr.get({k: attr(v) for k, v in d.items()})


def convert(graph) -> None:
    """convert-fxp-to-aie on a feature-map graph: the `aie` integer form on each layer's kernel."""
    fg = fmap_graph(graph)
    check_shapes(fg)
    for node in fg.nodes:
        node.op.attributes["aie"] = _dict(integer_form(node))


def integer_form(node: FmapNode) -> dict:
    """The node's `aie` attribute values: mode, storage types, epilogue (and add's operand shifts)."""
    from fxflow.dialects.fxp import format_of
    from fxflow.lowering.aie.arith import plan_srs, relu_epilogue, storage_of

    layer = node.layer
    if node.kind == "softmax":
        r = row_softmax(node)
        return {"mode": "softmax", "x": storage_of(r.x_fmt), "y": storage_of(r.out), "epilogue": []}
    if node.kind == "conv":
        integer = conv_info(node).lower()
        return {"mode": integer.mode.name, "x": integer.x_store, "w": integer.w_store, "y": integer.y_store,
                "acc": integer.mode.acc, "epilogue": integer.attr_epilogue()}
    o = node.fxp
    ins = [format_of(v.type) for v in (o.operands[:1] if node.kind == "pool" else o.operands[:2])]
    out = format_of(o.results[0].type)
    for fmt in ins:
        s = storage_of(fmt)
        if s is None or int(s.lstrip("iu")) > 16:
            raise UnsupportedOpError(f"layer '{layer}': input format {fmt} is {fmt.width} bits wide; the AIE "
                                     f"{node.kind} kernel takes int8 or int16 feature maps", layer)
    f = max(fmt.f for fmt in ins)
    shifts = [f - fmt.f for fmt in ins]
    avg = {}
    if node.kind == "pool" and node.pool == "avg":  # (an attention residual add node has no pool field)
        f, shifts, avg = average_form(node, ins[0])
    if node.kind == "add":
        bound = sum(max(-fmt.min_int, fmt.max_int) << s for fmt, s in zip(ins, shifts))
        if bound.bit_length() >= 32:
            raise UnsupportedOpError(f"layer '{layer}': the exact sum of {ins[0]} and {ins[1]} needs "
                                     f"{bound.bit_length() + 1} bits at 2^-{f}, more than the 32-bit accumulator "
                                     "lanes of the AIE add kernel", layer)
    first = plan_srs(f, out, layer)
    if first.shift < 0 and (max(-ins[0].min_int, ins[0].max_int) << (-first.shift + max(shifts))).bit_length() >= 32:
        raise UnsupportedOpError(f"layer '{layer}': the result {out} has so many more fractional bits than the "
                                 "inputs that the up-shifted values exceed 32 bits", layer)
    epilogue = relu_epilogue(first, out, relu_format(node), layer)
    final = relu_format(node) or out
    d = {"mode": "8x8" if all(storage_of(fmt) in ("i8", "u8") for fmt in ins) else "16x16",
         "x": storage_of(ins[0]), "y": storage_of(final), "acc": "acc32",
         "epilogue": [s if isinstance(s, str) else s.text() for s in epilogue]}
    if node.kind == "add":
        d["x2"] = storage_of(ins[1])
        d["shifts"] = shifts
    return {**d, **avg}


def row_softmax(node: FmapNode):
    """The table softmax over the channels of a 1 x 1 map (a classifier's scores): the row kernel
    (lowering/aie/rows.py) on one row of C features stored in Cp lanes; UnsupportedOpError naming the layer when
    that kernel cannot reproduce it.  The pass module that reads this one is named by string (as dag_paths does):
    no import circle."""
    import importlib

    r = importlib.import_module(CONVERT_PASS).row_info(node.op)
    if r.kind != "softmax":
        raise UnsupportedOpError(f"layer '{node.layer}': on a feature map the AIE runs the table softmax (stable, "
                                 f"latency), not '{r.kind}'", node.layer)
    return r


def average_form(node: FmapNode, x_fmt) -> tuple[int, list[int], dict]:
    """An average pool's grid (the accumulator's), the up-shift of its window sum onto it and its `aie` values
    (`up`, window size `n`, `wrap` = [signed, width] of a WRAP accumulator the sum can leave, else []): the kernel sums
    exactly in acc32 lanes, so `fxp.pool` avg must define the exact sum, or its wrap
    (fxflow.fixed.accum.average_sum_bound), and the exact sum must fit 32 bits; UnsupportedOpError naming the layer
    otherwise."""
    from fxflow.dialects.fxp import format_of
    from fxflow.fixed.accum import average_sum_bound

    acc = format_of(ir.TypeAttr(node.fxp.attributes["accum"]).value)
    n = math.prod(node.window[0])
    bound = average_sum_bound(x_fmt, acc, n, wrapped=True) if acc is not None else None
    if bound is None:
        raise UnsupportedOpError(f"layer '{node.layer}': the average pool's accumulator {acc} does not hold the exact "
                                 f"sum of {n} inputs {x_fmt} (its running sum rounds or saturates step by step); the "
                                 "AIE average-pool kernel sums exactly, then wraps to a WRAP accumulator's width (give "
                                 "the layer a wider or a WRAP accumulator)", node.layer)
    if bound.bit_length() >= 32:
        raise UnsupportedOpError(f"layer '{node.layer}': the average pool's window sum of {n} inputs {x_fmt} on the "
                                 f"accumulator grid 2^-{acc.f} needs {bound.bit_length() + 1} bits, more than the "
                                 "32-bit lanes of the AIE average-pool kernel", node.layer)
    exact = average_sum_bound(x_fmt, acc, n) is not None
    if not exact and acc.width > 31:
        raise UnsupportedOpError(f"layer '{node.layer}': the average pool's window sums leave its {acc.width}-bit WRAP "
                                 f"accumulator {acc}; the AIE average-pool kernel wraps in 32-bit lanes only to "
                                 "narrower accumulators", node.layer)
    return acc.f, [acc.f - x_fmt.f], {"up": acc.f - x_fmt.f, "n": n,
                                      "wrap": [] if exact else [acc.k, acc.width]}


# ---- geometry and cycle model -------------------------------------------------------------------------------------

@dataclass
class ConvGeo:
    """The conv's loops as the kernel runs them: output pixels (flattened, in blocks of PIXELS), taps, channel
    chunks; `cp` input channels (padded), `n_slice` output channels per tile."""

    h: int
    w: int
    cp: int
    oh: int
    ow: int
    taps: int
    n_slice: int

    @property
    def pixels(self) -> int:
        return self.oh * self.ow


def conv_cycles(mode, g: ConvGeo, x_store: str) -> int:
    """One conv tile call: max(loads / 32 B, padded MACs / MAC-per-cycle) + call overhead.  Loads per pixel block and
    tap: the PIXELS input rows of cp channels once, then the weight rows of every output block."""
    from fxflow.lowering.aie import cost

    blocks = -(-g.pixels // PIXELS)
    xb = cost.nbytes(x_store)
    loads = blocks * g.taps * (PIXELS * g.cp * xb + g.cp * g.n_slice * (mode.w_bits // 8))
    macs = blocks * PIXELS * g.taps * g.cp * g.n_slice
    return max(math.ceil(loads / cost.LOAD_BYTES_PER_CYCLE), math.ceil(macs / mode.macs)) + cost.CALL_OVERHEAD


def dw_cycles(g: ConvGeo, x_store: str, w_store: str) -> int:
    """One depthwise conv tile call: per pixel, tap and 16-channel chunk one vector load of x and of w and one
    16-lane multiply-accumulate; max(loads / 32 B, vector steps) + call overhead."""
    from fxflow.lowering.aie import cost

    steps = g.pixels * g.taps * (g.n_slice // CHANNEL_STEP)
    loads = steps * CHANNEL_STEP * (cost.nbytes(x_store) + cost.nbytes(w_store))
    return max(math.ceil(loads / cost.LOAD_BYTES_PER_CYCLE), steps) + cost.CALL_OVERHEAD


def vector_cycles(pixels: int, cp: int, taps: int) -> int:
    """A pool (taps > 1) or add kernel: one 16-lane vector step per tap and channel chunk of each pixel."""
    from fxflow.lowering.aie import cost

    return pixels * (cp // CHANNEL_STEP) * taps + cost.CALL_OVERHEAD


def divide_steps(n: int) -> int:
    """The average pool's division of one 16-lane chunk by the window size n toward zero: n a power of two, three
    vector steps (sign select, add n - 1 to negative lanes, arithmetic shift); otherwise a scalar division by the
    constant per lane (a multiply-high and shifts, cost.SCALAR_DIVIDE_BY_CONSTANT cycles each)."""
    from fxflow.lowering.aie import cost

    return 3 if n & (n - 1) == 0 else CHANNEL_STEP * cost.SCALAR_DIVIDE_BY_CONSTANT


@dataclass
class NodePlan:
    """Partition of one node: output channels split into `parts` slices of `n_slice` (cp_out = parts * n_slice),
    or, with `bands`, output rows split over `parts` tiles that each compute every channel (cp_out = n_slice):
    tile t computes output rows [o0, o1) = bands[t] from input rows `in_rows(node, o0, o1)` (its rows and halo)."""

    parts: int
    n_slice: int
    interval: int
    latency: int
    cp_in: list[int] = field(default_factory=list)
    memory: int = 0  # data memory of the node's tiles (FIFO buffers, weights, bias; stacks not included)
    bands: list[tuple[int, int]] = field(default_factory=list)

    @property
    def cp_out(self) -> int:
        return self.n_slice if self.bands else self.parts * self.n_slice


def row_bands(oh: int, parts: int) -> list[tuple[int, int]]:
    """`oh` output rows in `parts` bands of ceil(oh / parts) rows (the last one shorter)."""
    step = -(-oh // parts)
    return [(o, min(oh, o + step)) for o in range(0, oh, step)]


def in_rows(node: FmapNode, o0: int, o1: int) -> tuple[int, int]:
    """The input rows [i0, i1) output rows [o0, o1) of a conv or pool window read (the band and its halo; rows
    outside the map are padding, which the kernel supplies)."""
    (kh, _), strides, dil, pad = node.window
    h = node.in_shapes[0][1]
    return max(0, o0 * strides[0] - pad[0]), min(h, (o1 - 1) * strides[0] - pad[0] + (kh - 1) * dil[0] + 1)


def band_window(node: FmapNode, o0: int, o1: int) -> tuple[int, int, int]:
    """A band's kernel geometry: (input rows it holds, output rows, top padding relative to its first row)."""
    i0, i1 = in_rows(node, o0, o1)
    return i1 - i0, o1 - o0, node.window[3][0] - o0 * node.window[1][0] + i0


def row_split_allowed(fg: FmapGraph, index: int) -> bool:
    """Output rows split only for a conv / pool that is the graph input's one reader: the shim (host DMA or PL
    bridge) then sends each tile's input rows with their halo, overlapping, one band after the other, and the
    memory tile distributes them at consecutive offsets.  A layer inside the graph reads a memory tile's joined
    result, which an object FIFO can only broadcast whole (a FIFO belongs to one link; a distribute's pieces do
    not overlap), so its halo rows could not be delivered."""
    node = fg.nodes[index]
    return node.kind in ("conv", "pool") and node.inputs == [-1] and sum(-1 in n.inputs for n in fg.nodes) == 1


def out_window(node: FmapNode) -> tuple[int, int]:
    return node.out_shape[1], node.out_shape[2]


def plan_nodes(fg: FmapGraph, attrs: list[dict], device, max_tiles: int, objective: str,
               tolerance: float = 0.05) -> list[NodePlan]:
    """Each node's split and cycle figures, in graph order (every input's channel padding is its producer's).
    Convs take the fewest tiles (`resource`) or the fewest within `tolerance` of their fastest split
    (`throughput`) whose weights fit one bank and whose buffers fit a tile; AieFitError naming the layer and
    the limit otherwise."""
    from fxflow.lowering.aie import cost
    from fxflow.lowering.aie.arith import device_mode
    from fxflow.lowering.aie.device import AieFitError
    from fxflow.lowering.aie.rows import row_tables

    plans: list[NodePlan] = []
    budget = device.tile_memory - device.stack_bytes
    c_in = fg.in_shape[0]
    for node, a in zip(fg.nodes, attrs):
        cps = [up(c_in, CHANNEL_STEP) if i < 0 else plans[i].cp_out for i in node.inputs]
        oh, ow = out_window(node)
        f = node.out_shape[0]
        x_store, y_store = a["x"], a["y"]
        max_parts = min(device.memtile_dma[0], len(device.compute_rows))
        max_rows = min(max_parts, device.memtile_dma[1], oh) if row_split_allowed(fg, len(plans)) else 1
        if node.kind == "conv":
            mode = device_mode(a["mode"], device)
            _, h, w = node.in_shapes[0]
            taps = node.window[0][0] * node.window[0][1]
            dw = node.depthwise
            options = []

            def conv_plan(pn: int, n: int, bands: list[tuple[int, int]]) -> NodePlan | None:
                """The split's figures, None when a tile's weights overflow a bank or its buffers the tile."""
                wbytes = taps * (1 if dw else cps[0]) * n * (mode.w_bits // 8)
                if wbytes > device.bank_bytes:
                    return None
                worst = None
                for hb, ohb, _ in [band_window(node, *b) for b in bands] or [(h, oh, 0)]:
                    need = (cost.FIFO_DEPTH * hb * w * cps[0] * cost.nbytes(x_store) + wbytes
                            + n * mode.acc_bits // 8 + cost.FIFO_DEPTH * ohb * ow * n * cost.nbytes(y_store))
                    if need > budget:
                        return None
                    g = ConvGeo(hb, w, cps[0], ohb, ow, taps, n)
                    kc = dw_cycles(g, x_store, f"i{mode.w_bits}") if dw else conv_cycles(mode, g, x_store)
                    leg_in = cost.fifo_cycles(hb * w * cps[0], x_store)
                    leg_out = cost.fifo_cycles(oh * ow * n * (1 if bands else pn), y_store)  # the joined map out
                    p = NodePlan(pn, n, max(kc, leg_in, leg_out), leg_in + kc + leg_out, cps, need, bands)
                    worst = p if worst is None or (p.interval, p.memory) > (worst.interval, worst.memory) else worst
                worst.memory *= pn
                return worst

            for pn in range(1, max_parts + 1):
                n = up(-(-f // pn), CHANNEL_STEP)
                if (pn - 1) * n >= f or (dw and pn * n > cps[0]):  # a depthwise tile reads its output's channels
                    continue
                options.append(conv_plan(pn, n, []))
            options = [p for p in options if p is not None]
            if not options:  # output rows over tiles, each with every output channel (the graph input's reader)
                for rn in range(2, max_rows + 1):
                    bands = row_bands(oh, rn)
                    plan = conv_plan(len(bands), up(f, CHANNEL_STEP), bands)
                    if plan is not None:
                        options.append(plan)
                        break
            if not options:
                n = up(-(-f // max_parts), CHANNEL_STEP)
                wbytes = taps * cps[0] * n * (mode.w_bits // 8)
                fx = cost.FIFO_DEPTH * h * w * cps[0] * cost.nbytes(x_store)
                all_w = taps * (1 if dw else cps[0]) * up(f, CHANNEL_STEP) * (mode.w_bits // 8)
                rows = (f"; nor do its output rows split over {max_rows} tiles (each tile needs the weights of all "
                        f"{up(f, CHANNEL_STEP)} output channels, {all_w} bytes, and its input rows with their halo)"
                        if max_rows > 1 else
                        "; its output rows are split over tiles only when it is the graph input's one reader (a "
                        "memory tile broadcasts a layer's joined result whole)")
                raise AieFitError(
                    f"layer '{node.layer}' (conv {node.in_shapes[0]} -> {node.out_shape}) does not fit {device.name}: "
                    f"even split over {max_parts} tiles, a tile needs "
                    f"{wbytes} bytes of weights (one bank holds {device.bank_bytes}) and {fx} bytes for the "
                    f"double-buffered input feature map {h}x{w}x{cps[0]} (tile data memory {device.tile_memory} "
                    f"bytes, stack included){rows}")
            if objective == "resource":
                best = min(options, key=lambda p: (p.parts, p.interval))
            else:
                fastest = min(p.interval for p in options)
                best = min((p for p in options if p.interval <= fastest * (1 + tolerance)),
                           key=lambda p: (p.parts, p.interval))
            plans.append(best)
            continue
        if node.kind == "softmax":
            r = row_softmax(node)
            kc = cost.row_cycles("softmax", 1, r.spec, r.n, cps[0])
            leg_in = cost.fifo_cycles(cps[0], x_store)
            leg_out = cost.fifo_cycles(cps[0], y_store)
            need = cost.FIFO_DEPTH * cps[0] * (cost.nbytes(x_store) + cost.nbytes(y_store)) + 4 * sum(
                len(t) for _, t in row_tables("softmax", r.spec))
            plans.append(NodePlan(1, cps[0], max(kc, leg_in, leg_out), leg_in + kc + leg_out, cps, need))
            continue
        _, h, w = node.in_shapes[0]
        cp = max(cps) if node.kind == "add" else cps[0]
        taps = node.window[0][0] * node.window[0][1] if node.kind == "pool" else 1
        steps = taps + (divide_steps(taps) if node.pool == "avg" else 0)  # per pixel and 16-channel chunk

        def vector_plan(bands: list[tuple[int, int]]) -> NodePlan:
            worst = None
            for hb, ohb, _ in [band_window(node, *b) for b in bands] or [(h, oh, 0)]:
                need = cost.FIFO_DEPTH * (sum(hb * w * c * cost.nbytes(s) for c, s in
                                              zip(cps, [x_store, a.get("x2", x_store)]))
                                          + ohb * ow * cp * cost.nbytes(y_store))
                kc = vector_cycles(ohb * ow, cp, steps)
                leg_in = sum(cost.fifo_cycles(hb * w * c, x_store) for c in cps)
                leg_out = cost.fifo_cycles(oh * ow * cp, y_store)
                p = NodePlan(max(1, len(bands)), cp, max(kc, leg_in, leg_out), leg_in + kc + leg_out, cps, need,
                             bands)
                worst = p if worst is None or (p.memory, p.interval) > (worst.memory, worst.interval) else worst
            return worst

        plan = vector_plan([])
        for rn in range(2, max_rows + 1):  # a max pool reading the graph input: output rows over tiles
            if plan.memory <= budget:
                break
            plan = vector_plan(row_bands(oh, rn))
        if plan.memory > budget:
            raise AieFitError(f"layer '{node.layer}' ({node.kind} {node.in_shapes[0]} -> {node.out_shape}) needs "
                              f"{plan.memory} bytes of double-buffered feature maps in one tile"
                              f"{f' (its output rows split over {plan.parts} tiles)' if plan.bands else ''}; the "
                              f"tile data memory holds {budget} besides the stack")
        plan.memory *= plan.parts
        plans.append(plan)
    tiles = sum(p.parts for p in plans)
    if tiles > max_tiles:
        raise AieFitError(f"the feature-map layers need {tiles} compute tiles; {device.name} offers {max_tiles}")
    return plans


def check_shapes(fg: FmapGraph) -> None:
    """Shapes the kernels take: 2-D windows with padding below the window."""
    for node in fg.nodes:
        if node.kind in ("conv", "pool"):
            (kh, kw), strides, dil, pad = node.window
            if len(strides) != 2 or len(pad) != 4:
                raise UnsupportedOpError(f"layer '{node.layer}': the AIE {node.kind} kernel takes 2-D windows",
                                         node.layer)
            if node.kind == "pool" and (pad[0] >= kh or pad[1] >= kw or pad[2] >= kh or pad[3] >= kw):
                raise UnsupportedOpError(f"layer '{node.layer}': padding {pad} leaves windows with no input",
                                         node.layer)
        if node.kind == "add" and node.in_shapes[0] != node.in_shapes[1]:
            raise UnsupportedOpError(f"layer '{node.layer}': add operands {node.in_shapes} differ (no broadcast on "
                                     "the AIE add kernel)", node.layer)
