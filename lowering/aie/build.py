"""Build the `AieProgram` of a partitioned, placed `df.graph` (read only from the IR's attributes and
constants, so `fxflow-translate --emit-aie` and `Design.simulate` see the same program).

Data movement:
* graph input: host rows [M, K] -> shim DMA MM2S -> memory tile (`@in<g>`) -> `objectfifo.link` distribute
  -> one FIFO per K-slice of the first layer (`@<layer>_x<i>`), broadcast down its column;
* between layers: chain j of layer L writes `@<L>_y<j>`, broadcast to column j of layer L+1 (whose
  K-slice j is exactly L's N-slice j) — no memory tile needed; with an HCCS softmax between them, L's chain
  FIFOs join in a memory tile into the softmax core (`@<sm>_x`), whose result (`@<sm>_y`) the same memory tile
  distributes as L+1's K-slices (`@<L+1>_x<i>`);
* graph output: the last layer's chain FIFOs -> memory tile join -> shim DMA S2MM (`@out<g>`).
Input and output are sharded into groups, one memory tile and one shim channel each, when a memory tile's
6 DMA channels or one shim channel's bandwidth would not suffice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fxflow.lowering.aie import cost
from fxflow.lowering.aie.arith import MODES, bias_on_product_grid, parse_epilogue
from fxflow.lowering.aie.device import AieFitError, Device, IoPorts, get_device
from fxflow.lowering.aie.arith import storage_of
from fxflow.lowering.aie.program import AieProgram, Buffer, Core, Fifo, HostPort, KernelFn, LayerPlan, Link, RowTile
from fxflow.lowering.aie.rows import TABLE_STORE, row_tables
from fxflow.errors import FxflowError, UnsupportedOpError
from fxflow.ir import ir
from fxflow.names import c_identifier

WEIGHT_BANK, BIAS_BANK = 2, 1  # AIE4ML bank pinning: weights bank 2, bias + stack bank 1
IO_KINDS = ("host", "plio")  # graph I/O through shim DMA from/to DDR, or PLIO streams from/to the PL


@dataclass
class Geometry:
    layer: str
    cas_length: int
    cas_num: int
    k_slice: int
    n_slice: int
    batch: int
    x_store: str
    y_store: str
    interval: int  # the layer's cycle-model interval: shim transfers should not be slower
    anchor: tuple[int, int] = (0, 0)


@dataclass
class IoGroup:
    first_slice: int
    slices: int
    memtile: tuple[int, int]
    shim: tuple[int, int]
    channel: int


def io_groups(n_slices: int, slice_cycles: int, target: int, channels: int, ports: int) -> list[tuple[int, int]]:
    """Consecutive (first, count) slice groups, each moved by one shim channel or PLIO port through one memory
    tile: as few as keep every channel's transfer (4 B/cycle) within `target` cycles, at most `ports` slices
    per memory tile and at most `channels` groups; [] when impossible.  The one rule for the program builder
    and the Versal planner's PLIO count (lowering/versal/cost.py)."""
    size = max(1, min(ports, target // max(1, slice_cycles), n_slices))
    while math.ceil(n_slices / size) > channels and size < ports:
        size += 1
    if math.ceil(n_slices / size) > channels:
        return []
    return [(s, min(size, n_slices - s)) for s in range(0, n_slices, size)]


def assign_io(device: Device, geo: list[Geometry], io: str = "host",
              hccs: bool = False, max_ports: int = 0) -> tuple[list[IoGroup], list[IoGroup]]:
    """The graph input and output groups of `assign_memtiles` (no HCCS softmax between dense layers)."""
    return assign_memtiles(device, geo, io, hccs, max_ports)[:2]


def columns_of(graph, device: Device) -> range:
    """The array columns a program may use: the graph's `aie_columns = "first:end"` (set by aie-place when it
    was given a column window, e.g. one Versal AIE segment of several sharing the array), else every column."""
    if "aie_columns" not in graph.attributes:
        return range(device.cols)
    text = ir.StringAttr(graph.attributes["aie_columns"]).value
    try:
        lo, hi = (int(v) for v in text.split(":"))
    except ValueError:
        raise FxflowError(f"malformed aie_columns '{text}' (expected first:end)") from None
    if not 0 <= lo < hi <= device.cols:
        raise FxflowError(f"aie_columns '{text}' lies outside {device.name}'s {device.cols} columns")
    return range(lo, hi)


def assign_memtiles(device: Device, geo: list[Geometry], io: str = "host", hccs: bool = False, max_ports: int = 0,
                    bridges: dict | None = None,
                    columns: range | None = None) -> tuple[list[IoGroup], list[IoGroup], dict]:
    """Memory tiles and shim DMA channels (io="host") or PLIO ports (io="plio": streams to/from the PL, on any
    shim column, `device.plio` per column) for the graph input and output; AieFitError when they run out.
    With a final HCCS kernel (`hccs`) every output chain joins in one memory tile, which also forwards the
    HCCS kernel's result to the shim (one more S2MM and MM2S channel).  `max_ports` (> 0) caps the channels or
    ports used per direction (the Versal `max_plio` option).  `bridges` maps the index i of each dense layer
    followed by an HCCS softmax and another dense layer to the HCCS output's storage: layer i's chains join in
    one memory tile into the HCCS core, whose result the same memory tile distributes to layer i+1's K-slices;
    the third result maps i to that memory tile.  Memory tiles and shim columns come from `columns` (default:
    every column of the device)."""
    if io not in IO_KINDS:
        raise FxflowError(f"unknown AIE I/O kind '{io}' (expected {', '.join(IO_KINDS)})")
    mem_use: dict = {}  # memtile -> [s2mm, mm2s, bytes]
    window = range(device.cols) if columns is None else columns
    memtiles = [(c, r) for r in device.mem_rows for c in window]

    def take_memtile(col: int, s2mm: int, mm2s: int, nbytes: int) -> tuple[int, int]:
        for t in sorted(memtiles, key=lambda t: (abs(t[0] - col), t[0], t[1])):
            u = mem_use.get(t, [0, 0, 0])
            if (u[0] + s2mm <= device.memtile_dma[0] and u[1] + mm2s <= device.memtile_dma[1]
                    and u[2] + nbytes <= device.memtile_memory):
                mem_use[t] = [u[0] + s2mm, u[1] + mm2s, u[2] + nbytes]
                return t
        raise AieFitError(f"no memory tile has {s2mm} S2MM + {mm2s} MM2S channels and {nbytes} bytes left")

    ports = IoPorts(device, io, window)
    take_shim = ports.take

    first, last = geo[0], geo[-1]
    avail = [len(ports.cols) * ports.per_col[d] for d in (0, 1)]
    if max_ports > 0:
        avail = [min(a, max_ports) for a in avail]
    ins, outs = [], []
    parts = io_groups(first.cas_length, cost.fifo_cycles(first.batch * first.k_slice, first.x_store), first.interval,
                      avail[1], device.memtile_dma[1])
    if not parts:
        raise AieFitError(f"layer '{first.layer}' needs {first.cas_length} input slices; the memory tiles and shim "
                          "channels cannot distribute that many")
    for s, n in parts:
        col = first.anchor[0] + s + n // 2
        nbytes = cost.FIFO_DEPTH * n * first.batch * first.k_slice * cost.nbytes(first.x_store)
        mt = take_memtile(col, 1, n, 2 * nbytes)  # the link's source and destination buffers
        shim, ch = take_shim(col, 1)
        ins.append(IoGroup(s, n, mt, shim, ch))
    parts = io_groups(last.cas_num, cost.fifo_cycles(last.batch * last.n_slice, last.y_store), last.interval,
                      avail[0], device.memtile_dma[0])
    if hccs:
        parts = [(0, last.cas_num)] if last.cas_num < device.memtile_dma[0] else []
    if not parts:
        raise AieFitError(f"layer '{last.layer}' has {last.cas_num} output chains; the memory tiles and shim "
                          "channels cannot join that many")
    col = last.anchor[0] + last.cas_length - 1
    for s, n in parts:
        nbytes = cost.FIFO_DEPTH * n * last.batch * last.n_slice * cost.nbytes(last.y_store)
        mt = take_memtile(col, n + hccs, 1 + hccs, (2 + 2 * hccs) * nbytes)
        shim, ch = take_shim(col, 0)
        outs.append(IoGroup(s, n, mt, shim, ch))
    mids = {}
    for i, y_store in sorted((bridges or {}).items()):
        g, nxt = geo[i], geo[i + 1]
        if g.cas_num + 1 > min(device.memtile_dma) or nxt.cas_length != g.cas_num:
            raise AieFitError(f"layer '{g.layer}' has {g.cas_num} output chains; the HCCS softmax after it joins "
                              f"them and feeds the next layer through one memory tile of {min(device.memtile_dma)} "
                              "DMA channels per direction (at most "
                              f"{min(device.memtile_dma) - 1} chains)")
        width = g.cas_num * g.n_slice
        nbytes = cost.FIFO_DEPTH * g.batch * width * (cost.nbytes(g.y_store) + cost.nbytes(y_store))
        mids[i] = take_memtile(g.anchor[0] + g.cas_length - 1, g.cas_num + 1, nxt.cas_length + 1, nbytes)
    return ins, outs, mids


def hccs_tile(device: Device, geo: list[Geometry], index: int = -1, taken=(),
              columns: range | None = None) -> tuple[int, int]:
    """The free compute tile (not in `taken`, in `columns`: default every column) nearest to the east end of
    layer `index`'s first chain (ties: column, row)."""
    used = {(g.anchor[0] + i, device.compute_rows[device.compute_rows.index(g.anchor[1]) + j])
            for g in geo for i in range(g.cas_length) for j in range(g.cas_num)} | set(taken)
    last = geo[index]
    col, row = last.anchor[0] + last.cas_length - 1, last.anchor[1]
    free = [(c, r) for c in (range(device.cols) if columns is None else columns) for r in device.compute_rows
            if (c, r) not in used]
    if not free:
        raise AieFitError("no compute tile is left for the HCCS softmax kernel")
    return min(free, key=lambda t: (abs(t[0] - col) + abs(t[1] - row), t))


def _placement(kernel) -> tuple[int, int]:
    if "placement" not in kernel.attributes:
        raise FxflowError("the AIE program needs placed kernels: run aie-partition and aie-place first")
    text = ir.StringAttr(kernel.attributes["placement"]).value
    try:
        c, r = text[len("tile("):-1].split(",")
        return int(c), int(r)
    except ValueError:
        raise FxflowError(f"malformed placement '{text}' (expected tile(col,row))") from None


def build_program(module, io: str = "host", max_ports: int = 0) -> AieProgram:
    """The AieProgram of the module's single partitioned and placed df.graph; `io="plio"` connects its input
    and output to the PL through PLIO ports instead of shim DMA from/to DDR (Versal PL/AIE designs), at most
    `max_ports` (> 0) per direction."""
    from fxflow.dialects.df.graph import graph_of
    from fxflow.lowering.aie.passes.convert_fxp_to_aie import aie_attr, aie_layers

    graph = graph_of(module, "AIE build")
    if "aie_device" not in graph.attributes:
        raise FxflowError("the AIE program needs a partitioned graph: run aie-partition and aie-place first")
    from fxflow.lowering.aie.fmap import is_fmap_graph

    device = get_device(ir.StringAttr(graph.attributes["aie_device"]).value)
    if is_fmap_graph(graph):  # conv / pool / add: a DAG of feature maps
        from fxflow.lowering.aie.fmap import fmap_graph
        from fxflow.lowering.aie.fmap_build import build

        return build(graph, [_placement(n.op) for n in fmap_graph(graph).nodes], io, columns_of(graph, device))
    from fxflow.lowering.aie.dag_paths import attention_path

    path = attention_path(graph)
    if path is not None:  # matmuls of activations, head split / merge: a DAG of single-tile kernels
        return path.build(graph, io, columns_of(graph, device))
    chain, softmax = aie_layers(graph)
    tail = softmax.get(len(chain) - 1)
    mid = {i: t for i, t in softmax.items() if i < len(chain) - 1}  # HCCS softmaxes between dense layers
    try:
        geo = [Geometry(k.layer, aie_attr(k.op, "cas_length"), aie_attr(k.op, "cas_num"), aie_attr(k.op, "k_slice"),
                        aie_attr(k.op, "n_slice"), aie_attr(k.op, "batch"), aie_attr(k.op, "x"), aie_attr(k.op, "y"),
                        aie_attr(k.op, "interval"), _placement(k.op)) for k in chain]
    except KeyError:
        raise FxflowError("the AIE program needs partitioned kernels: run aie-partition first") from None
    ins, outs, mids = assign_memtiles(device, geo, io, tail is not None, max_ports,
                                      {i: aie_attr(t.op, "y") for i, t in mid.items()}, columns_of(graph, device))
    m = geo[0].batch
    final = tail.out if tail is not None else chain[-1].relu or chain[-1].out
    out_store = aie_attr(tail.op, "y") if tail is not None else geo[-1].y_store
    prog = AieProgram(device, c_identifier(ir.StringAttr(graph.attributes["sym_name"]).value, prefix="top"), m,
                      chain[0].shape[0], chain[-1].shape[1], chain[0].x_fmt, final, geo[0].x_store, out_store,
                      tokens=chain[0].tokens)
    taken: set[str] = {"in", "out"}
    idents = [c_identifier(k.name, taken) for k in chain]
    tail_ident = c_identifier(tail.name, taken) if tail is not None else None
    mid_idents = {i: c_identifier(t.name, taken) for i, t in sorted(mid.items())}
    for li, (k, g, ident) in enumerate(zip(chain, geo, idents)):
        mode = MODES[aie_attr(k.op, "mode")]
        epilogue = parse_epilogue(aie_attr(k.op, "epilogue"))
        K, N = k.shape
        kp, np_ = g.cas_length * g.k_slice, g.cas_num * g.n_slice
        w = np.zeros((kp, np_), dtype=np.int64)
        w[:K, :N] = k.w
        pf = k.x_fmt.f + k.w_fmt.f
        bias = np.zeros(np_, dtype=np.int64)
        bias[:N] = bias_on_product_grid(k.b, k.b_fmt, k.acc, pf, k.layer).astype(np.int64)
        acc_store = f"i{mode.acc_bits}"
        w_store = f"i{mode.w_bits}" if mode.w_bits == 16 else aie_attr(k.op, "w")
        for role in sorted(set(cost.roles(g.cas_length)), key=list(cost.ROLES).index):
            prog.kernels.append(KernelFn(f"{ident}_{role}", k.layer, role, mode.name, m, g.k_slice, g.n_slice,
                                         g.x_store, w_store, g.y_store, mode.acc_bits, epilogue, f"{ident}.o"))
        bridged = li - 1 in mid  # an HCCS softmax between the previous layer and this one
        if bridged:
            add_bridge(prog, mid[li - 1], mid_idents[li - 1], _placement(mid[li - 1].op), mids[li - 1],
                       idents[li - 1], geo[li - 1], ident, g, aie_attr(mid[li - 1].op, "y"))
        c0, r0 = g.anchor
        rows = device.compute_rows
        r0i = rows.index(r0)
        for i in range(g.cas_length):  # K-slice i: input FIFO broadcast down column c0 + i
            name = f"{ident}_x{i}"
            consumers = [(c0 + i, rows[r0i + j]) for j in range(g.cas_num)]
            if li == 0:
                grp = next(gr for gr in ins if gr.first_slice <= i < gr.first_slice + gr.slices)
                prog.fifos.append(Fifo(name, grp.memtile, consumers, cost.FIFO_DEPTH, g.x_store, (m, g.k_slice)))
            elif bridged:
                prog.fifos.append(Fifo(name, mids[li - 1], consumers, cost.FIFO_DEPTH, g.x_store, (m, g.k_slice)))
            else:
                prev = prog.fifo(f"{idents[li - 1]}_y{i}")
                prev.consumers = consumers
        roles = cost.roles(g.cas_length)
        for j in range(g.cas_num):
            row = rows[r0i + j]
            for i, role in enumerate(roles):
                tile = (c0 + i, row)
                bias_on, out_on, _, cout = cost.ROLES[role]
                wname = f"{ident}_w{j}_{i}"
                prog.buffers.append(Buffer(wname, tile, w_store, (g.k_slice, g.n_slice),
                                           w[i * g.k_slice:(i + 1) * g.k_slice, j * g.n_slice:(j + 1) * g.n_slice],
                                           WEIGHT_BANK))
                x_fifo = f"{ident}_x{i}" if li == 0 or bridged else f"{idents[li - 1]}_y{i}"
                core = Core(tile, f"{ident}_{role}", k.layer, j, i, x_fifo, wname)
                if bias_on:
                    core.bias = f"{ident}_b{j}"
                    prog.buffers.append(Buffer(core.bias, tile, acc_store, (g.n_slice,),
                                               bias[j * g.n_slice:(j + 1) * g.n_slice], BIAS_BANK))
                if out_on:
                    core.y_fifo = f"{ident}_y{j}"
                    prog.fifos.append(Fifo(core.y_fifo, tile, [], cost.FIFO_DEPTH, g.y_store, (m, g.n_slice)))
                if cout:
                    prog.cascades.append((tile, (c0 + i + 1, row)))
                prog.cores.append(core)
        macs = m * K * N
        prog.layers.append(LayerPlan(ident, k.layer, K, N, g.cas_length, g.cas_num, g.k_slice, g.n_slice, g.anchor,
                                     mode.name, aie_attr(k.op, "interval"), aie_attr(k.op, "latency"), macs))
    first, last = geo[0], geo[-1]
    for gi, grp in enumerate(ins):
        name = f"in{gi}"
        size = grp.slices * m * first.k_slice
        prog.fifos.append(Fifo(name, grp.shim, [grp.memtile], cost.FIFO_DEPTH, first.x_store, (size,)))
        dsts = [f"{idents[0]}_x{i}" for i in range(grp.first_slice, grp.first_slice + grp.slices)]
        prog.links.append(Link([name], dsts, [], [s * m * first.k_slice for s in range(grp.slices)], grp.memtile))
        prog.inputs.append(HostPort(name, grp.shim, grp.channel, grp.first_slice, grp.slices, first.k_slice,
                                    io == "plio"))
    for gi, grp in enumerate(outs):
        name = f"out{gi}"
        srcs = [f"{idents[-1]}_y{j}" for j in range(grp.first_slice, grp.first_slice + grp.slices)]
        for s in srcs:
            prog.fifo(s).consumers = [grp.memtile]
        size = grp.slices * m * last.n_slice
        joined = name if tail is None else add_hccs(prog, tail, tail_ident, _placement(tail.op), grp, size, name)
        prog.fifos.append(Fifo(joined, grp.memtile, [grp.shim] if tail is None else [_placement(tail.op)],
                               cost.FIFO_DEPTH, last.y_store, (size,)))
        prog.links.append(Link(srcs, [joined], [s * m * last.n_slice for s in range(grp.slices)], [], grp.memtile))
        prog.outputs.append(HostPort(name, grp.shim, grp.channel, grp.first_slice, grp.slices, last.n_slice,
                                     io == "plio"))
    return prog


def _hccs_core(prog: AieProgram, tail, ident: str, tile, memtile, slices: int, before, y_store: str) -> tuple:
    """The row core (HCCS softmax, LayerNorm, table softmax) at `tile` on the joined rows of layer plan `before`
    ([slices][M][slice_len] in memory tile `memtile`), with its resident tables and its result FIFO back to that
    memory tile: the names of its input and output FIFOs and size."""
    m = prog.batch
    if tail.kind == "hccs" and before.n_slice % cost.HCCS_LANES:
        raise UnsupportedOpError(f"layer '{tail.layer}': the HCCS kernel reads whole {cost.HCCS_LANES}-lane vectors; "
                                 f"layer '{before.layer}' has output slices of {before.n_slice}", tail.layer)
    x, y, size = f"{ident}_x", f"{ident}_y", slices * m * before.n_slice
    x_store = storage_of(tail.x_fmt)
    prog.kernels.append(KernelFn(f"{ident}_{tail.kind}", tail.layer, tail.kind, tail.kind, m, size // m, size // m,
                                 x_store, "", y_store, 32, [], f"{ident}.o",
                                 RowTile(tail.spec, tail.n, slices, before.n_slice)))
    prog.fifos.append(Fifo(y, tile, [memtile], cost.FIFO_DEPTH, y_store, (size,)))
    for suffix, values in row_tables(tail.kind, tail.spec):
        prog.buffers.append(Buffer(f"{ident}_{suffix}", tile, TABLE_STORE, (len(values),),
                                   np.asarray(values, dtype=np.int64)))
    return x, y, size


def _hccs_plan(prog: AieProgram, tail, ident: str, tile, slices: int, before) -> None:
    m = prog.batch
    size = slices * m * before.n_slice
    tables = [f"{ident}_{suffix}" for suffix, _ in row_tables(tail.kind, tail.spec)]
    prog.cores.append(Core(tile, f"{ident}_{tail.kind}", tail.layer, 0, 0, f"{ident}_x", "", None, f"{ident}_y",
                           tables=tables))
    kc = cost.row_cycles(tail.kind, m, tail.spec, tail.n, slices * before.n_slice, before.n_slice)
    prog.layers.append(LayerPlan(ident, tail.layer, tail.n, tail.n, 1, 1, size // m, size // m, tile, tail.kind, kc,
                                 kc, 0))


def add_hccs(prog: AieProgram, tail, ident: str, tile, grp: IoGroup, size: int, out_name: str) -> str:
    """The HCCS core at `tile` between the output join (its input FIFO, whose name is returned) and the host
    output FIFO `out_name` (forwarded by the same memory tile)."""
    last = prog.layers[-1]
    x, y, _ = _hccs_core(prog, tail, ident, tile, grp.memtile, grp.slices, last, prog.out_store)
    prog.fifos.append(Fifo(out_name, grp.memtile, [grp.shim], cost.FIFO_DEPTH, prog.out_store, (size,)))
    prog.links.append(Link([y], [out_name], [], [], grp.memtile))
    _hccs_plan(prog, tail, ident, tile, grp.slices, last)
    return x


def add_bridge(prog: AieProgram, tail, ident: str, tile, memtile, prev: str, pg: Geometry, nxt: str,
               ng: Geometry, y_store: str) -> None:
    """An HCCS softmax between dense layers `prev` and `nxt`: prev's chain FIFOs join in `memtile` into the HCCS
    core at `tile`; its result goes back to `memtile`, which distributes it as nxt's K-slices (nxt's K-slice j is
    prev's N-slice j, so the slice-major layout splits at whole slices)."""
    before = prog.layers[-1]
    if ng.x_store != y_store or ng.k_slice != pg.n_slice or ng.cas_length != pg.cas_num:
        raise FxflowError(f"layer '{ng.layer}' does not read the HCCS softmax '{tail.layer}' slice for slice")
    x, y, size = _hccs_core(prog, tail, ident, tile, memtile, pg.cas_num, before, y_store)
    srcs = [f"{prev}_y{j}" for j in range(pg.cas_num)]
    for name in srcs:
        prog.fifo(name).consumers = [memtile]
    step = prog.batch * pg.n_slice
    prog.fifos.append(Fifo(x, memtile, [tile], cost.FIFO_DEPTH, pg.y_store, (size,)))
    prog.links.append(Link(srcs, [x], [j * step for j in range(pg.cas_num)], [], memtile))
    prog.links.append(Link([y], [f"{nxt}_x{i}" for i in range(ng.cas_length)], [],
                           [i * step for i in range(ng.cas_length)], memtile))
    _hccs_plan(prog, tail, ident, tile, pg.cas_num, before)
