"""The AIE partition, placement and `AieProgram` of a feature-map DAG (lowering/aie/fmap.py), and its simulation
executors.

(fmap.convert: `aie` integer form per layer) -> partition (`aie_partition`: output-channel tiles per conv, cycle figures)
-> place (each layer a column of `parts` compute tiles, beam search in graph order as the dense placer; accepted when
the memory tiles and shim channels of `assign` fit) -> build.  Every value (graph input, each layer's result) is
one FIFO leaving a memory tile, broadcast to all its readers; so a layer read twice (a residual) costs nothing but a
consumer on that FIFO.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fxflow.errors import UnsupportedOpError
from fxflow.ir import i64_attr, ir, str_attr
from fxflow.lowering.aie import cost
from fxflow.lowering.aie.arith import MODES, bias_on_product_grid, parse_epilogue, run_epilogue
from fxflow.lowering.aie.device import AieFitError, Device, IoPorts, get_device
from fxflow.lowering.aie.fmap import CHANNEL_STEP, FmapGraph, NodePlan, _dict, band_window, conv_info, fmap_graph, \
    in_rows, out_window, plan_nodes, row_softmax, up
from fxflow.lowering.aie.program import AieProgram, Buffer, Core, Fifo, HostPort, KernelFn, LayerPlan, Link, RowTile
from fxflow.lowering.aie.rows import TABLE_STORE, row_tables
from fxflow.lowering.aie.simulate import _acc_wrap, register_executor
from fxflow.names import c_identifier


def _attrs(fg: FmapGraph) -> list[dict]:
    from fxflow.lowering.aie.passes.convert_fxp_to_aie import aie_attr

    out = []
    for node in fg.nodes:
        try:
            d = {k: aie_attr(node.op, k) for k in ("mode", "x", "y", "epilogue")}
        except KeyError:
            raise AieFitError(f"kernel '{node.name}' has no integer form; run convert-fxp-to-aie first") from None
        if node.kind == "add":
            d["x2"], d["shifts"] = aie_attr(node.op, "x2"), aie_attr(node.op, "shifts")
        if node.kind == "conv":
            d["w"] = aie_attr(node.op, "w")
        out.append(d)
    return out


def partition(graph, device: Device, max_tiles: int, objective: str, tolerance: float) -> None:
    fg = fmap_graph(graph)
    plans = plan_nodes(fg, _attrs(fg), device, max_tiles, objective, tolerance)
    for node, p in zip(fg.nodes, plans):
        node.op.attributes["aie_partition"] = _dict({"cas_length": 1, "cas_num": p.parts, "n_slice": p.n_slice,
                                                     "batch": 1, "interval": p.interval, "latency": p.latency,
                                                     "rows": [r for band in p.bands for r in band]})
    graph.attributes["aie_device"] = str_attr(device.name)
    graph.attributes["aie_batch"] = i64_attr(1)


def _plans(fg: FmapGraph) -> list[NodePlan]:
    from fxflow.lowering.aie.passes.convert_fxp_to_aie import aie_attr

    plans = []
    c_in = up(fg.in_shape[0], CHANNEL_STEP)
    try:
        for node in fg.nodes:
            cps = [c_in if i < 0 else plans[i].cp_out for i in node.inputs]
            rows = aie_attr(node.op, "rows")
            plans.append(NodePlan(aie_attr(node.op, "cas_num"), aie_attr(node.op, "n_slice"),
                                  aie_attr(node.op, "interval"), aie_attr(node.op, "latency"), cps,
                                  bands=list(zip(rows[::2], rows[1::2]))))
    except KeyError:
        raise AieFitError("the AIE feature-map program needs partitioned kernels: run aie-partition first") from None
    return plans


@dataclass
class Io:
    """Memory tile per value (-1 = graph input) and the shim channels of the graph input and output."""

    memtile: dict
    shim_in: tuple
    shim_out: tuple


def assign(device: Device, fg: FmapGraph, plans: list[NodePlan], anchors: list[tuple[int, int]], io: str = "host",
           columns: range | None = None) -> Io:
    """Memory tiles (nearest to the producer's column with the DMA channels and memory left) and shim DMA channels
    (nearest NoC column) or, with `io="plio"`, PLIO ports (any shim column, `device.plio` per column: the graph
    input and output streamed to/from the PL); all inside `columns` (default every column).  AieFitError when they
    run out."""
    use: dict = {}
    window = range(device.cols) if columns is None else columns
    memtiles = [(c, r) for r in device.mem_rows for c in window]

    def take(col: int, s2mm: int, nbytes: int, mm2s: int = 1):
        for t in sorted(memtiles, key=lambda t: (abs(t[0] - col), t[0], t[1])):
            u = use.get(t, [0, 0, 0])
            if u[0] + s2mm <= device.memtile_dma[0] and u[1] + mm2s <= device.memtile_dma[1] \
                    and u[2] + nbytes <= device.memtile_memory:
                use[t] = [u[0] + s2mm, u[1] + mm2s, u[2] + nbytes]
                return t
        raise AieFitError(f"no memory tile has {s2mm} S2MM + {mm2s} MM2S channels and {nbytes} bytes left")

    def readers_col(v: int) -> int:
        cols = [anchors[i][0] for i, n in enumerate(fg.nodes) if v in n.inputs]
        return cols[0] if cols else anchors[v][0]

    c, h, w = fg.in_shape
    bands = input_bands(fg, plans)
    rows = sum(i1 - i0 for i0, i1 in bands) if bands else h
    in_bytes = rows * w * up(c, CHANNEL_STEP) * cost.nbytes(_attrs_x(fg))
    mt = {-1: take(readers_col(-1), 1, 2 * cost.FIFO_DEPTH * in_bytes, max(1, len(bands)))}
    for i, (node, p) in enumerate(zip(fg.nodes, plans)):
        oh, ow = out_window(node)
        nbytes = oh * ow * p.cp_out * cost.nbytes(_y_store(node))
        mt[i] = take(anchors[i][0], p.parts, 2 * cost.FIFO_DEPTH * nbytes)
    shim = IoPorts(device, io, window).take

    return Io(mt, shim(mt[-1][0], 1), shim(mt[fg.output][0], 0))


def input_bands(fg: FmapGraph, plans: list[NodePlan]) -> list[tuple[int, int]]:
    """The input rows [i0, i1) of each tile of the graph input's row-split reader (fmap.row_split_allowed), in
    tile order: what the shim sends, overlapping bands one after the other; [] = the whole map once."""
    for node, p in zip(fg.nodes, plans):
        if p.bands and node.inputs == [-1]:
            return [in_rows(node, *b) for b in p.bands]
    return []


def _attrs_x(fg: FmapGraph) -> str:
    from fxflow.lowering.aie.passes.convert_fxp_to_aie import aie_attr

    return next(aie_attr(n.op, "x") for n in fg.nodes if -1 in n.inputs)


def _y_store(node) -> str:
    from fxflow.lowering.aie.passes.convert_fxp_to_aie import aie_attr

    return aie_attr(node.op, "y")


def place_layers(graph, device: Device) -> tuple[FmapGraph, list[NodePlan], list[tuple[int, int]]]:
    """The feature-map DAG, its partition and each layer's rectangle (one column of `parts` tiles) for aie-place."""
    fg = fmap_graph(graph)
    plans = _plans(fg)
    if sum(p.parts for p in plans) > device.compute_tiles:
        raise AieFitError(f"the design needs {sum(p.parts for p in plans)} compute tiles; {device.name} has "
                          f"{device.compute_tiles}")
    return fg, plans, [(1, p.parts) for p in plans]


@dataclass
class WindowParams:
    """What a conv or max-pool kernel and its executor loop over (a conv tile computes `n_slice` output channels;
    a pool keeps the cp channels)."""

    h: int
    w: int
    cp: int
    oh: int
    ow: int
    kernel: tuple[int, int]
    strides: tuple[int, int]
    dilations: tuple[int, int]
    pad: tuple[int, int]  # top, left
    n_slice: int
    c0: int = 0  # depthwise: the tile's first channel (input and output)


@dataclass
class AvgPoolParams(WindowParams):
    """An average pool's window plus the up-shift of its window sum onto the accumulator grid and the window size."""

    up: int = 0
    n: int = 1
    wrap: tuple = ()  # (signed, width) of a WRAP accumulator the sum is wrapped to; () = the exact sum


@dataclass
class AddParams:
    pixels: int
    cps: tuple[int, int]  # channel padding of each operand
    cp: int  # of the result
    shifts: tuple[int, int]
    x2_store: str


def build(graph, anchors: list[tuple[int, int]], io: str = "host", columns: range | None = None) -> AieProgram:
    """The AieProgram of a placed feature-map DAG (`anchors`: each layer's first tile, in graph order); its graph
    input and output by shim DMA (`io="host"`) or PLIO ports (`io="plio"`), memory tiles and shims in `columns`."""
    from fxflow.lowering.aie.passes.convert_fxp_to_aie import aie_attr

    device = get_device(ir.StringAttr(graph.attributes["aie_device"]).value)
    fg = fmap_graph(graph)
    plans = _plans(fg)
    io_ = assign(device, fg, plans, anchors, io, columns)
    plio = io == "plio"
    m = 1
    c_in, h_in, w_in = fg.in_shape
    out_node = fg.nodes[fg.output]
    cp_in = up(c_in, CHANNEL_STEP)
    x_store = _attrs_x(fg)
    y_store = _y_store(out_node)
    from fxflow.dialects.fxp import format_of

    block = graph.regions[0].blocks[0]
    in_fmt = format_of(block.arguments[0].type)
    out_fmt = format_of(list(block.operations)[-1].operation.operands[0].type)
    prog = AieProgram(device, c_identifier(ir.StringAttr(graph.attributes["sym_name"]).value, prefix="top"), m,
                      c_in * h_in * w_in, int(np.prod(out_node.out_shape)), in_fmt, out_fmt, x_store, y_store)
    taken: set[str] = {"in", "out", "in0", "out0"}
    idents = [c_identifier(n.name, taken) for n in fg.nodes]
    # value FIFOs: graph input and each layer's result, leaving its memory tile
    value = {-1: "in_fm"}
    for i, ident in enumerate(idents):
        value[i] = "out0" if i == fg.output else f"{ident}_fm"
    readers: dict = {v: [] for v in value}
    rows = device.compute_rows
    tiles = {}
    for i, (node, p) in enumerate(zip(fg.nodes, plans)):
        c0, r0 = anchors[i]
        tiles[i] = [(c0, rows[rows.index(r0) + j]) for j in range(p.parts)]
        for v in node.inputs:
            if not p.bands:  # a row-split reader gets its own bands of the graph input
                readers[v] += tiles[i]
    # graph input: shim -> memory tile -> readers (broadcast), or -> each tile of a row-split reader its band
    shim_in, ch_in = io_.shim_in
    bands_in = input_bands(fg, plans)
    band_fifos: list[str] = []
    if bands_in:
        reader = next(i for i, n in enumerate(fg.nodes) if n.inputs == [-1])
        sizes = [m * (i1 - i0) * w_in * cp_in for i0, i1 in bands_in]
        prog.fifos.append(Fifo("in0", shim_in, [io_.memtile[-1]], cost.FIFO_DEPTH, x_store, (sum(sizes),)))
        for t, size in enumerate(sizes):
            band_fifos.append(f"{idents[reader]}_x{t}")
            prog.fifos.append(Fifo(band_fifos[-1], io_.memtile[-1], [tiles[reader][t]], cost.FIFO_DEPTH, x_store,
                                   (size,)))
        prog.links.append(Link(["in0"], band_fifos, [], [int(o) for o in np.cumsum([0] + sizes[:-1])],
                               io_.memtile[-1]))
    else:
        in_size = m * h_in * w_in * cp_in
        prog.fifos.append(Fifo("in0", shim_in, [io_.memtile[-1]], cost.FIFO_DEPTH, x_store, (in_size,)))
        prog.fifos.append(Fifo("in_fm", io_.memtile[-1], readers[-1], cost.FIFO_DEPTH, x_store, (in_size,)))
        prog.links.append(Link(["in0"], ["in_fm"], [], [], io_.memtile[-1]))
    in_rows_sent = sum(i1 - i0 for i0, i1 in bands_in) if bands_in else h_in
    prog.inputs.append(HostPort("in0", shim_in, ch_in, 0, 1, in_rows_sent * w_in * cp_in, plio,
                               fmap=(c_in, h_in, w_in, cp_in), rows=bands_in))
    for i, (node, p, ident) in enumerate(zip(fg.nodes, plans, idents)):
        a = {k: aie_attr(node.op, k) for k in ("mode", "x", "y", "epilogue")}
        mode = MODES.get(a["mode"])  # None for a row kernel (softmax)
        epilogue = parse_epilogue(a["epilogue"])
        oh, ow = out_window(node)
        _, h, w = node.in_shapes[0]
        px = oh * ow
        n_out = px * p.n_slice
        # per tile: (input rows it holds, output rows, top padding) and its input FIFO
        geo = [band_window(node, *b) for b in p.bands] if p.bands else [(h, oh, node.window[3][0] if
                                                                         node.window else 0)] * p.parts
        x_fifos = band_fifos if p.bands else [value[node.inputs[0]]] * p.parts
        ys, y_sizes = [], []
        for j, tile in enumerate(tiles[i]):
            y = f"{ident}_y{j}"
            y_sizes.append(m * geo[j][1] * ow * p.n_slice)
            prog.fifos.append(Fifo(y, tile, [io_.memtile[i]], cost.FIFO_DEPTH, a["y"], (y_sizes[-1],)))
            ys.append(y)
        macs = 0
        if node.kind == "conv":
            info = conv_info(node)
            (kh, kw), strides, dil, pad = node.window
            taps = kh * kw
            cin = node.in_shapes[0][0]
            wmat = np.zeros((taps, p.cp_in[0], p.cp_out), dtype=np.int64)
            wmat[:, :cin, :node.out_shape[0]] = info.w.reshape(taps, cin, -1)
            wmat = wmat.reshape(taps * p.cp_in[0], p.cp_out)
            pf = info.x_fmt.f + info.w_fmt.f
            bias = np.zeros(p.cp_out, dtype=np.int64)
            bias[:node.out_shape[0]] = bias_on_product_grid(info.b, info.b_fmt, info.acc, pf, node.layer).astype(
                np.int64)
            w_store = f"i{mode.w_bits}" if mode.w_bits == 16 else aie_attr(node.op, "w")
            dw = node.depthwise
            if dw:  # per channel: its taps (the diagonal of each tap's block-diagonal matrix)
                wmat = np.stack([np.diagonal(wmat[t * p.cp_in[0]:(t + 1) * p.cp_in[0], :p.cp_in[0]])
                                 for t in range(taps)])
            own = dw or bool(p.bands)  # a kernel per tile: its channel offset (depthwise) or its rows
            for j, tile in enumerate(tiles[i]):
                hb, ohb, pt = geo[j]
                c0 = 0 if p.bands else j * p.n_slice
                params = WindowParams(hb, w, p.cp_in[0], ohb, ow, (kh, kw), tuple(strides), tuple(dil),
                                      (pt, pad[1]), p.n_slice, c0 if dw else 0)
                role = "dwconv" if dw else "conv"
                fn = KernelFn(f"{ident}_{role}{j if own else ''}", node.layer, role, mode.name, m,
                              hb * w * p.cp_in[0], ohb * ow * p.n_slice, a["x"], w_store, a["y"], mode.acc_bits,
                              epilogue, f"{ident}.o", params=params,
                              w_shape=(taps, p.n_slice) if dw else (taps * p.cp_in[0], p.n_slice))
                if own or j == 0:
                    prog.kernels.append(fn)
                wname, bname = f"{ident}_w{j}", f"{ident}_b{j}"
                sl = slice(c0, c0 + p.n_slice)
                prog.buffers.append(Buffer(wname, tile, w_store, fn.w_shape, wmat[:, sl], 2))
                prog.buffers.append(Buffer(bname, tile, f"i{mode.acc_bits}", (p.n_slice,), bias[sl], 1))
                prog.cores.append(Core(tile, fn.name if own else f"{ident}_{role}", node.layer, j, 0, x_fifos[j],
                                       wname, bname, ys[j]))
            g = node.groups
            macs = px * node.out_shape[0] * (cin // g) * taps
            k_dim = taps * cin
        elif node.kind == "pool":
            (kh, kw), strides, _, pad = node.window
            role = "avgpool" if node.pool == "avg" else "pool"
            avg = {k: aie_attr(node.op, k) for k in ("up", "n", "wrap")} if node.pool == "avg" else None
            for j, tile in enumerate(tiles[i]):
                hb, ohb, pt = geo[j]
                geo_j = (hb, w, p.cp_in[0], ohb, ow, (kh, kw), tuple(strides), (1, 1), (pt, pad[1]), p.cp_in[0])
                params = AvgPoolParams(*geo_j, **avg) if avg else WindowParams(*geo_j)
                fn = KernelFn(f"{ident}_{role}{j if p.bands else ''}", node.layer, role, a["mode"], m,
                              hb * w * p.cp_in[0], ohb * ow * p.n_slice, a["x"], "", a["y"], 32, epilogue,
                              f"{ident}.o", params=params)
                prog.kernels.append(fn)
                prog.cores.append(Core(tile, fn.name, node.layer, j, 0, x_fifos[j], "", None, ys[j]))
            k_dim = kh * kw
        elif node.kind == "softmax":  # the row kernel on one row of C features in Cp lanes per sample
            r = row_softmax(node)
            cp = p.cp_in[0]
            fn = KernelFn(f"{ident}_softmax", node.layer, "softmax", "softmax", m, cp, cp, a["x"], "", a["y"], 32, [],
                          f"{ident}.o", row=RowTile(r.spec, r.n, 1, cp))
            tables = []
            for suffix, values in row_tables("softmax", r.spec):
                prog.buffers.append(Buffer(f"{ident}_{suffix}", tiles[i][0], TABLE_STORE, (len(values),),
                                           np.asarray(values, dtype=np.int64)))
                tables.append(f"{ident}_{suffix}")
            prog.kernels.append(fn)
            prog.cores.append(Core(tiles[i][0], fn.name, node.layer, 0, 0, x_fifos[0], "", None, ys[0],
                                   tables=tables))
            k_dim = r.n
        else:
            if node.inputs[0] == node.inputs[1]:
                raise UnsupportedOpError(f"layer '{node.layer}': an add of a value to itself has no AIE kernel (one "
                                         "FIFO cannot be acquired twice by a core)", node.layer)
            params = AddParams(px, tuple(p.cp_in), p.cp_out, tuple(aie_attr(node.op, "shifts")),
                               aie_attr(node.op, "x2"))
            fn = KernelFn(f"{ident}_add", node.layer, "add", a["mode"], m, h * w * p.cp_in[0], n_out, a["x"], "",
                          a["y"], 32, epilogue, f"{ident}.o", params=params)
            prog.kernels.append(fn)
            prog.cores.append(Core(tiles[i][0], fn.name, node.layer, 0, 0, value[node.inputs[0]], "", None, ys[0],
                                   [value[node.inputs[1]]]))
            k_dim = 2
        # the layer's result: joined (and re-laid out channels-last) in its memory tile, broadcast to its readers
        cons = list(readers[i])
        if i == fg.output:
            cons.append(io_.shim_out[0])
        dims = []
        if p.parts > 1 and not p.bands:  # output-channel slices re-laid out channels-last (row bands need none)
            dims = [(m, px * p.n_slice), (px, p.n_slice), (p.parts, m * px * p.n_slice), (p.n_slice, 1)]
        prog.fifos.append(Fifo(value[i], io_.memtile[i], cons, cost.FIFO_DEPTH, a["y"], (m * px * p.cp_out,), dims))
        prog.links.append(Link(ys, [value[i]], [int(o) for o in np.cumsum([0] + y_sizes[:-1])] if p.parts > 1
                               else [], [], io_.memtile[i]))
        prog.layers.append(LayerPlan(ident, node.layer, k_dim, node.out_shape[0], 1, p.parts,
                                     p.cp_in[0] if node.kind != "conv" else fn.w_shape[0], p.n_slice,
                                     anchors[i], fn.mode, p.interval, p.latency, macs, kind=node.kind))
    oc, ohh, oww = out_node.out_shape
    shim_out, ch_out = io_.shim_out
    prog.outputs.append(HostPort("out0", shim_out, ch_out, 0, 1, ohh * oww * plans[fg.output].cp_out, plio,
                                 fmap=(oc, ohh, oww, plans[fg.output].cp_out)))
    return prog


# ---- simulation executors: the kernels' integer steps ------------------------------------------------------------

def _windows(x: np.ndarray, kernel, strides, dilations, pad, oh: int, ow: int, fill: int):
    """x [m, h, w, c] -> [taps, m, oh, ow, c], out-of-range positions = fill (row-major taps)."""
    m, h, w, c = x.shape
    (kh, kw), (sh, sw), (dh, dw), (pt, pl) = kernel, strides, dilations, pad
    need_h = (oh - 1) * sh + (kh - 1) * dh + 1
    need_w = (ow - 1) * sw + (kw - 1) * dw + 1
    xp = np.full((m, max(need_h, pt + h), max(need_w, pl + w), c), fill, dtype=np.int64)
    xp[:, pt:pt + h, pl:pl + w] = x
    out = np.empty((kh * kw, m, oh, ow, c), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            out[i * kw + j] = xp[:, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw]
    return out


@register_executor("conv")
def run_conv(prog: AieProgram, core: Core, fn: KernelFn, ins: list) -> np.ndarray:
    """acc = bias + sum over taps of the window's channels times the weight rows (the tile's output channels),
    wrapped to the accumulator width, then the epilogue."""
    p: WindowParams = fn.params
    x = ins[0].reshape(fn.m, p.h, p.w, p.cp)
    win = _windows(x, p.kernel, p.strides, p.dilations, p.pad, p.oh, p.ow, 0)
    wmat = prog.buffer(core.weights).data.reshape(len(win), p.cp, p.n_slice)
    acc = np.broadcast_to(prog.buffer(core.bias).data, (fn.m, p.oh, p.ow, p.n_slice)).astype(np.int64)
    for t in range(len(win)):
        acc = acc + win[t] @ wmat[t]
    return run_epilogue(_acc_wrap(acc, fn.acc_bits), fn.epilogue).ravel()


@register_executor("dwconv")
def run_dwconv(prog: AieProgram, core: Core, fn: KernelFn, ins: list) -> np.ndarray:
    """acc = bias + sum over taps of each channel's window value times its own tap weight (lane-wise), wrapped to
    the accumulator width, then the epilogue; the tile's channels are [c0, c0 + n_slice)."""
    p: WindowParams = fn.params
    x = ins[0].reshape(fn.m, p.h, p.w, p.cp)[..., p.c0:p.c0 + p.n_slice]
    win = _windows(x, p.kernel, p.strides, p.dilations, p.pad, p.oh, p.ow, 0)
    wmat = prog.buffer(core.weights).data
    acc = np.broadcast_to(prog.buffer(core.bias).data, (fn.m, p.oh, p.ow, p.n_slice)).astype(np.int64)
    for t in range(len(win)):
        acc = acc + win[t] * wmat[t]
    return run_epilogue(_acc_wrap(acc, fn.acc_bits), fn.epilogue).ravel()


@register_executor("pool")
def run_pool(prog: AieProgram, core: Core, fn: KernelFn, ins: list) -> np.ndarray:
    """The maximum of the window's in-range taps per channel lane (padding is never a tap), then the epilogue."""
    p: WindowParams = fn.params
    x = ins[0].reshape(fn.m, p.h, p.w, p.cp)
    low = -(1 << 40)
    win = _windows(x, p.kernel, p.strides, p.dilations, p.pad, p.oh, p.ow, low)
    return run_epilogue(win.max(axis=0), fn.epilogue).ravel()


@register_executor("avgpool")
def run_avgpool(prog: AieProgram, core: Core, fn: KernelFn, ins: list) -> np.ndarray:
    """The window sum per channel lane (padding adds 0) in 32-bit lanes, shifted onto the accumulator grid (wrapped
    to a WRAP accumulator's width), divided
    by the window size toward zero, then the epilogue."""
    p: AvgPoolParams = fn.params
    x = ins[0].reshape(fn.m, p.h, p.w, p.cp)
    a = _acc_wrap(_windows(x, p.kernel, p.strides, p.dilations, p.pad, p.oh, p.ow, 0).sum(axis=0), 32) << p.up
    if p.wrap:  # the accumulator's WRAP at its width
        signed, width = p.wrap
        a = _acc_wrap(a, width) if signed else a & ((1 << width) - 1)
    q = np.abs(a) // p.n
    return run_epilogue(np.where(a < 0, -q, q), fn.epilogue).ravel()


@register_executor("add")
def run_add(prog: AieProgram, core: Core, fn: KernelFn, ins: list) -> np.ndarray:
    """Both operands on the finer grid (left shifts), padded to the result's channels, summed in 32-bit lanes."""
    p: AddParams = fn.params
    acc = np.zeros((fn.m, p.pixels, p.cp), dtype=np.int64)
    for v, cp, s in zip(ins, p.cps, p.shifts):
        acc[..., :cp] += v.reshape(fn.m, p.pixels, cp) << s
    return run_epilogue(_acc_wrap(acc, 32), fn.epilogue).ravel()
