"""aie-place: place each partitioned layer as a rectangle of tiles on the device, deterministically.

A layer's grid is cas_length columns x cas_num rows: chain j runs east along one row (cascade neighbours
adjacent), column i holds K-slice i.  Beam search over layers in order (AIE4ML's placer, aie-ml.md §6):
cost = sum over consecutive layers of |Δcol| (producer's east face to consumer's west face) + λ·|Δrow|,
plus μ·row per layer; ties by compactness then coordinates, so the result never depends on hashing.
Each complete placement is accepted only when its graph I/O finds memory tiles and shim DMA channels
(`fxflow.lowering.aie.build.assign_io`, the same assignment the program builder makes).  Writes
`placement = "tile(col,row)"` (the rectangle's west-most column and first chain's row) on each kernel.
An HCCS softmax kernel takes the free compute tile nearest its dense layer's output (`build.hccs_tile`).
`first_column`/`columns` confine everything (compute, memory and shim tiles) to a window of columns, so several
programs can share one array (Versal AIE segments); the window is kept as `aie_columns` on the graph for the builder.
"""

from __future__ import annotations

from dataclasses import dataclass

from fxflow.lowering.aie.device import AieFitError, get_device
from fxflow.ir import ir, str_attr

from fxflow.passes.registry import register_pass

LAMBDA, MU = 1.0, 0.05


@dataclass
class PlaceOptions:
    device: str = ""  # default: the device aie-partition chose (graph attribute aie_device)
    beam: int = 16
    first_column: int = 0  # the window of columns the program may use: first_column .. first_column + columns - 1
    columns: int = 0  # 0: up to the device's last column
    io: str = "host"  # the graph I/O the builder will make: shim DMA ("host") or PLIO ports ("plio")


def search(device, rects: list[tuple[int, int]], beam: int = 16, columns: range | None = None):
    """Yield complete placements (anchor (col, row index) per rectangle, inside `columns`: default every column)
    from cheapest to dearest."""
    cols = range(device.cols) if columns is None else columns
    rows = len(device.compute_rows)
    states = [(0.0, 0, (), 0)]  # (cost, compactness, anchors, occupied bitmask)
    for i, (w, h) in enumerate(rects):
        children = []
        for cost, compact, anchors, occ in states:
            for c in range(cols.start, cols.stop - w + 1):
                for r in range(rows - h + 1):
                    mask = 0
                    for dc in range(w):
                        mask |= ((1 << h) - 1) << ((c + dc) * rows + r)
                    if occ & mask:
                        continue
                    edge = 0.0
                    if i:
                        (pc, pr), (pw, _) = anchors[-1], rects[i - 1]
                        edge = abs(c - (pc + pw)) + LAMBDA * abs(r - pr)
                    children.append((cost + edge + MU * r, compact + c * h + r, anchors + ((c, r),), occ | mask))
        if not children:
            return
        children.sort(key=lambda s: (s[0], s[1], s[2]))
        states = children[:beam]
    yield from ((s[2]) for s in states)


@register_pass("aie-place", "Place partitioned AIE layers on the device (beam search, deterministic)", PlaceOptions)
def aie_place(module_op, options: PlaceOptions | None = None) -> None:
    from fxflow.lowering.aie.build import Geometry, assign_memtiles, hccs_tile
    from fxflow.dialects.df.graph import graph_of
    from fxflow.lowering.aie.passes.convert_fxp_to_aie import aie_attr, aie_layers

    options = options or PlaceOptions()
    graph = graph_of(module_op, "aie-place")
    name = options.device or (ir.StringAttr(graph.attributes["aie_device"]).value
                              if "aie_device" in graph.attributes else "")
    if not name:
        raise AieFitError("aie-place needs a device: run aie-partition first or pass device=...")
    device = get_device(name)
    lo = options.first_column
    hi = lo + options.columns if options.columns else device.cols
    if not 0 <= lo < hi <= device.cols:
        raise AieFitError(f"aie-place: columns {lo}..{hi - 1} lie outside {device.name}'s {device.cols} columns")
    window = range(lo, hi)
    from fxflow.lowering.aie.fmap import is_fmap_graph

    if is_fmap_graph(graph):  # one column of tiles per layer; accepted when its memory tiles and shims fit
        from fxflow.lowering.aie.fmap_build import assign, place_layers

        fg, plans, rects = place_layers(graph, device)
        reason = "no arrangement of the layer columns fits the array"
        for anchors in search(device, rects, options.beam, window):
            placed = [(c, device.compute_rows[r]) for c, r in anchors]
            try:
                assign(device, fg, plans, placed, options.io, window)
            except AieFitError as e:
                reason = str(e)
                continue
            for node, (c, r) in zip(fg.nodes, placed):
                node.op.attributes["placement"] = str_attr(f"tile({c},{r})")
            graph.attributes["aie_device"] = str_attr(device.name)
            _mark_window(graph, window, lo, hi, device)
            return
        raise AieFitError(f"cannot place the feature-map design on {device.name}: {reason}")
    from fxflow.lowering.aie.dag_paths import attention_path

    path = attention_path(graph)
    if path is not None:  # one tile per kernel, in graph order
        path.place(graph, device, window)
        _mark_window(graph, window, lo, hi, device)
        return
    chain, softmax = aie_layers(graph)
    last = len(chain) - 1
    try:
        geo = [Geometry(k.layer, aie_attr(k.op, "cas_length"), aie_attr(k.op, "cas_num"), aie_attr(k.op, "k_slice"),
                        aie_attr(k.op, "n_slice"), aie_attr(k.op, "batch"), aie_attr(k.op, "x"), aie_attr(k.op, "y"),
                        aie_attr(k.op, "interval"))
               for k in chain]
    except KeyError:
        raise AieFitError("aie-place needs partitioned kernels: run aie-partition first") from None
    rects = [(g.cas_length, g.cas_num) for g in geo]
    need = sum(w * h for w, h in rects) + len(softmax)
    have = len(window) * len(device.compute_rows)
    if need > have:
        raise AieFitError(f"the design needs {need} compute tiles; {device.name} has {have}"
                          + (f" in columns {lo}..{hi - 1}" if len(window) < device.cols else ""))
    reason = "no arrangement of the layer rectangles fits the array"
    for anchors in search(device, rects, options.beam, window):
        for g, (c, r) in zip(geo, anchors):
            g.anchor = (c, device.compute_rows[r])
        try:
            assign_memtiles(device, geo, options.io, hccs=last in softmax,
                            bridges={i: aie_attr(t.op, "y") for i, t in softmax.items() if i < last}, columns=window)
            extra = []
            for i, t in sorted(softmax.items()):
                extra.append((t, hccs_tile(device, geo, i, [tile for _, tile in extra], window)))
        except AieFitError as e:
            reason = str(e)
            continue
        for k, g in zip(chain, geo):
            k.op.attributes["placement"] = str_attr(f"tile({g.anchor[0]},{g.anchor[1]})")
        for k, (c, r) in extra:  # an HCCS softmax: the free tile nearest its dense layer's output
            k.op.attributes["placement"] = str_attr(f"tile({c},{r})")
        graph.attributes["aie_device"] = str_attr(device.name)
        _mark_window(graph, window, lo, hi, device)
        return
    shapes = ", ".join(f"{g.layer} {g.cas_length}x{g.cas_num}" for g in geo)
    where = f"columns {lo}..{hi - 1} of {device.name}" if len(window) < device.cols else device.name
    raise AieFitError(f"cannot place the design on {where} ({len(window)} columns x "
                      f"{len(device.compute_rows)} compute rows; layers as columns x rows: {shapes}): {reason}")


def _mark_window(graph, window: range, lo: int, hi: int, device) -> None:
    """Keep a column window as the graph's `aie_columns` (the builder's columns_of reads it)."""
    if len(window) < device.cols:
        graph.attributes["aie_columns"] = str_attr(f"{lo}:{hi}")
    elif "aie_columns" in graph.attributes:
        del graph.attributes["aie_columns"]
