"""Per-layer cost on both Versal targets and the LARE-style metric (docs/design.md, "Versal").

A *unit* is what one target runs as a whole: a df kernel, or a dense kernel together with the ReLU kernel
that alone reads it (the AIE backend fuses that pair).  Its PL cost comes from `fxflow.estimate` (latency,
II, DSP/LUT/FF/BRAM18 at the PL clock), its AIE cost from the AIE partitioner's cycle model (tiles,
interval, latency per batch of `batch` rows).  Both are expressed in ns per sample so they compare under
one throughput target.

    R_PL  = max_r  w_r * used_r / total_r            r in dsp, lut, ff, bram18 (the binding PL resource)
    R_AIE = max(w_tiles * tiles / compute_tiles, w_plio * ports / plio_ports)
    LARE  = (R_PL + R_AIE) * T        T = end-to-end latency in ns ("latency") or ns per sample ("interval")

Lower is better; a layer belongs on the target whose LARE is lower, a plan's LARE uses the whole system.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from fxflow.lowering.aie import cost as cycles
from fxflow.lowering.aie.device import AieFitError
from fxflow.dialects.df.graph import attr
from fxflow.errors import FxflowError, UnsupportedOpError
from fxflow.estimate import estimate_kernel
from fxflow.ir import ir

from fxflow.lowering.versal.device import VersalDevice

PL_RESOURCES = ("dsp", "lut", "ff", "bram18")


@dataclass
class Unit:
    """One plannable step of the chain: `kernels` (df.kernel ops) in order, named after the first."""

    name: str
    layers: list[str]
    kernels: list = field(default_factory=list)
    pl: dict = field(default_factory=dict)  # latency_cycles, ii, dsp, lut, ff, bram18
    aie: dict | None = None  # {"name", "mode", "K", "N", "x", "y"} for aie_partition.choose
    aie_reason: str = ""  # why the unit cannot run on the AI Engines


def _body_ops(kernel) -> list[str]:
    return [o.operation.name for o in kernel.regions[0].blocks[0].operations
            if o.operation.name not in ("fxp.constant", "df.yield")]


def _owner(value):
    o = value.owner
    return o if isinstance(o, ir.Operation) else getattr(o, "operation", None)


def _reader_kernels(kernel) -> list:
    """The kernels reading this kernel's results (through their channels)."""
    out = []
    for r in kernel.results:
        for use in r.uses:
            op = use.owner
            if op.name == "df.channel":
                out += [u.owner for v in op.results for u in v.uses]
            else:
                out.append(op)
    return out


def build_units(graph, device: VersalDevice, period_ns: float) -> list[Unit]:
    """The graph's kernels grouped into units, each with its PL cost and AIE form (or the reason it has none)."""
    from fxflow.dialects.df.graph import kernels_of

    kernels = kernels_of(graph)
    units, i = [], 0
    while i < len(kernels):
        k = kernels[i]
        group = [k]
        fmap = _body_ops(k) in (["fxp.conv"], ["fxp.add"]) and len(ir.RankedTensorType(k.results[0].type).shape) == 4
        if (_body_ops(k) == ["fxp.dense"] or fmap) and i + 1 < len(kernels):
            nxt = kernels[i + 1]
            readers = _reader_kernels(k)
            if _body_ops(nxt) == ["fxp.relu"] and len(readers) == 1 and readers[0] == nxt:
                group.append(nxt)
        while _per_token(k) and i + len(group) < len(kernels) and \
                attr(kernels[i + len(group)], "layer") == attr(group[-1], "layer"):
            group.append(kernels[i + len(group)])  # a token layer's kernels (an attention block) are one unit
        units.append(_unit(group, device, period_ns))
        i += len(group)
    return units


def _unit(group: list, device: VersalDevice, period_ns: float) -> Unit:
    unit = Unit(attr(group[0], "layer"), list(dict.fromkeys(attr(k, "layer") for k in group)), group)
    ests = [estimate_kernel(k, device.pl, period_ns) for k in group]
    unit.pl = {"latency_cycles": sum(e.latency_cycles for e in ests), "ii": max(e.ii for e in ests),
               **{r: sum(getattr(e, r) for e in ests) for r in PL_RESOURCES}}
    unit.aie, unit.aie_reason = _aie_form(group)
    return unit


def _aie_form(group: list) -> tuple[dict | None, str]:
    from fxflow.dialects.fxp import format_of
    from fxflow.lowering.aie.arith import storage_of
    from fxflow.lowering.aie.passes.convert_fxp_to_aie import kernel_info, row_info
    from fxflow.lowering.aie.unhosted import unhosted

    layer = attr(group[0], "layer")
    if _per_token(group[0]):
        return _token_form(group)
    if _body_ops(group[0]) in (["fxp.conv"], ["fxp.pool"], ["fxp.add"]):
        return _fmap_form(group)
    rank = len(ir.RankedTensorType(group[0].operands[0].type).shape)
    if rank == 4:  # a feature map that is not a conv / pool / add (a flatten, a table activation, ...)
        return None, (f"layer '{layer}' ({', '.join(_body_ops(group[0])) or 'a reshape'}) reads a feature map "
                      "[C, H, W]; the AIE feature-map kernels are conv, max and average pool and add, so it stays in "
                      "the PL")
    try:
        info = kernel_info(group[0])
        softmax = row_info(group[0]) if info is None else None
    except UnsupportedOpError as e:
        return None, str(e)
    if softmax is not None:  # a row core (HCCS / table softmax, LayerNorm) after a dense layer of the same AIE part
        return {"name": layer, "mode": softmax.kind, "N": softmax.n, "x": storage_of(softmax.x_fmt),
                "y": storage_of(softmax.out), "spec": softmax.spec,
                **({"reciprocal": softmax.spec.reciprocal} if softmax.kind == "hccs" else {})}, ""
    if info is None:
        return None, str(unhosted(group[0]))
    if len(group) == 2:
        info = replace(info, relu=format_of(group[1].results[0].type))
    try:
        integer = info.lower()
    except UnsupportedOpError as e:
        return None, str(e)
    K, N = info.shape
    return {"name": layer, "mode": integer.mode.name, "K": K, "N": N, "x": integer.x_store,
            "y": integer.y_store}, ""


def _per_token(kernel) -> bool:
    """A kernel on [batch, tokens, features] (or per-head [batch, heads, tokens, d]) values: the AIE attention path's
    (lowering/aie/attention.py), not a conv's feature map."""
    ops = _body_ops(kernel)
    if not ops or ops[0] in ("fxp.conv", "fxp.pool"):
        return False
    r_in, r_out = (len(ir.RankedTensorType(v.type).shape) for v in (kernel.operands[0], kernel.results[0]))
    if 3 in (r_in, r_out):
        return True
    return min(r_in, r_out) == 4 and ops[0] not in ("fxp.add", "fxp.relu")  # per head [batch, heads, tokens, d]


def _token_form(group: list) -> tuple[dict | None, str]:
    """A token layer's kernels as nodes of the AIE attention path: each a kernel it hosts (mmdense, matmul, scale,
    row kernels, add), a data move folded into its readers' addressing, or a ReLU fused into the dense before it.
    Whether they form one program (integer forms, tile memory) is the segment's cost (`token_cost`)."""
    from fxflow.lowering.aie.attention import MOVES, _body, _kind
    from fxflow.lowering.aie.unhosted import unhosted

    kinds = []
    for k in group:
        names = [o.name for o in _body(k)]
        if names == ["fxp.relu"] or (len(names) == 1 and names[0] in MOVES):
            continue
        try:
            kind = _kind(k, _body(k))
        except UnsupportedOpError as e:
            return None, str(e)
        if kind is None:
            return None, str(unhosted(k))
        kinds.append(kind)
    return {"name": attr(group[0], "layer"), "token": True, "mode": "token", "kinds": kinds}, ""


def token_cost(part: list[Unit], arg, result, device: VersalDevice, max_tiles: int) -> dict:
    """`aie_cost` of token units reading the tensor `arg` and producing `result` (the values crossing its ends): the
    AIE attention path's program of their kernels (one tile per node, one sample per call, `attention.dag_cost`),
    one PLIO port each way carrying a sample's whole [tokens, features] value row-major (the layout of the
    program's input and output FIFOs)."""
    from fxflow.lowering.aie.attention import dag_cost, token_dag

    if not all(u.aie.get("token") for u in part):
        raise AieFitError(f"layers '{part[0].name}'..'{part[-1].name}': an AIE part runs either token layers "
                          "([batch, tokens, features]) or layers on [batch, features] rows / feature maps, not both")
    try:
        c = dag_cost(token_dag([k for u in part for k in u.kernels], arg, result), device.aie, arg)
    except UnsupportedOpError as e:
        raise AieFitError(str(e)) from None
    limit = max_tiles or device.aie.compute_tiles
    if c["tiles"] > limit:
        raise AieFitError(f"layers '{part[0].name}'..'{part[-1].name}' on the AIE need {c['tiles']} compute tiles "
                          f"(one per kernel: {', '.join(c['kinds'])}); {device.name} offers {limit}")
    ns = 1.0 / device.aie.clock_ghz
    interval, latency = c["interval_cycles"], c["latency_cycles"]
    return {"tiles": c["tiles"], "plio_in": 1, "plio_out": 1, "batch": 1,
            "columns": max(1, -(-c["tiles"] // max(1, len(device.aie.compute_rows)))),
            "memory_bytes": c["memory_bytes"], "interval_cycles": interval, "latency_cycles": latency,
            "latency_ns": latency * ns, "interval_ns": interval * ns, "batch_interval_ns": interval * ns,
            "splits": [f"1x1 {kind}" for kind in c["kinds"]], "plio_bytes_in": c["bytes_in"],
            "plio_bytes_out": c["bytes_out"]}


def _fmap_form(group: list) -> tuple[dict | None, str]:
    """A conv / max pool / add (+ ReLU) unit as an AIE feature-map node (lowering/aie/fmap.py)."""
    from fxflow.lowering.aie.fmap import integer_form, kernel_node

    try:
        node = kernel_node(group[0], group[1] if len(group) == 2 else None)
        form = integer_form(node)
    except UnsupportedOpError as e:
        return None, str(e)
    return {"name": node.layer, "kind": node.kind, "mode": form["mode"], "x": form["x"], "y": form["y"],
            "node": node, "form": form}, ""


def fmap_cost(units: list[Unit], device: VersalDevice, max_tiles: int, objective: str) -> dict:
    """`aie_cost` of units that are feature-map layers: the AIE partition's plan of their DAG (one sample per kernel
    call, every feature map through a memory tile), one PLIO port each way carrying a whole channels-last map."""
    from fxflow.lowering.aie.fmap import CHANNEL_STEP, FmapGraph, plan_nodes, up
    from fxflow.lowering.aie.fmap_build import input_bands
    from fxflow.lowering.aie.passes.partition import PartitionOptions

    if any("node" not in u.aie for u in units):
        raise AieFitError(f"layers '{units[0].name}'..'{units[-1].name}': an AIE part runs either dense layers or "
                          "feature-map layers (conv, pool, add), not both")
    nodes, index = [], {}
    for u in units:
        node = u.aie["node"]
        operands = [node.fxp.operands[0]] if node.kind != "add" else list(node.fxp.operands[:2])
        kargs = list(u.kernels[0].regions[0].blocks[0].arguments)
        node.inputs = []
        for v in operands:
            src = _owner(u.kernels[0].operands[next(i for i, a in enumerate(kargs) if a == v)])
            if src is not None and src.name == "df.channel":
                src = _owner(src.operands[0])
            node.inputs.append(index.get(src, -1))
        for k in u.kernels:
            index[k] = len(nodes)
        nodes.append(node)
    first = nodes[0]
    fg = FmapGraph(nodes, len(nodes) - 1, first.in_shapes[0])
    plans = plan_nodes(fg, [u.aie["form"] for u in units], device.aie, max_tiles or device.aie.compute_tiles,
                       objective, PartitionOptions.tolerance)
    c, h, w = first.in_shapes[0]
    oc, oh, ow = nodes[-1].out_shape
    bands = input_bands(fg, plans)  # a row-split first layer: the bridge sends its bands, halo rows twice
    rows = sum(i1 - i0 for i0, i1 in bands) if bands else h
    bytes_in = rows * w * up(c, CHANNEL_STEP) * cycles.nbytes(units[0].aie["x"])
    bytes_out = oh * ow * plans[-1].cp_out * cycles.nbytes(units[-1].aie["y"])
    in_cycles, out_cycles = cycles.fifo_cycles(bytes_in, "i8"), cycles.fifo_cycles(bytes_out, "i8")
    interval = max([p.interval for p in plans] + [in_cycles, out_cycles])
    latency = in_cycles + sum(p.latency for p in plans) + out_cycles
    ns = 1.0 / device.aie.clock_ghz
    tiles = sum(p.parts for p in plans)
    return {"tiles": tiles, "plio_in": 1, "plio_out": 1, "batch": 1,
            "columns": max(1, -(-tiles // max(1, len(device.aie.compute_rows)))),
            "memory_bytes": sum(p.memory for p in plans), "interval_cycles": interval, "latency_cycles": latency,
            "latency_ns": latency * ns, "interval_ns": interval * ns, "batch_interval_ns": interval * ns,
            "splits": [f"{p.parts}x1 rows" if p.bands else f"1x{p.parts}" for p in plans],
            "plio_bytes_in": bytes_in, "plio_bytes_out": bytes_out}


# --- costs of groups of units ---------------------------------------------------------------------

def pl_cost(units: list[Unit], device: VersalDevice, period_ns: float) -> dict:
    """Resources, latency (ns) and per-sample interval (ns) of units run in PL one after another."""
    res = {r: sum(u.pl[r] for u in units) for r in PL_RESOURCES}
    cycles = sum(u.pl["latency_cycles"] for u in units)
    ii = max((u.pl["ii"] for u in units), default=0)
    return {**res, "latency_cycles": cycles, "ii": ii, "latency_ns": cycles * period_ns,
            "interval_ns": ii * period_ns, "fractions": pl_fractions(res, device)}


def pl_fractions(res: dict, device: VersalDevice) -> dict:
    totals = device.pl.totals()
    return {r: res[r] / totals[r] for r in PL_RESOURCES}


def plio_groups(n_slices: int, slice_cycles: int, interval: int, limit: int, per_memtile: int) -> tuple[int, int]:
    """(ports, cycles per port) of one end of an AIE program: the program builder's grouping
    (`lowering/aie/build.io_groups`) within `limit` ports; when even `limit` cannot carry the slices (at most
    `per_memtile` per memory tile and port), the fewest ports that could (the plan reports it as a problem)."""
    from fxflow.lowering.aie.build import io_groups

    groups = io_groups(n_slices, slice_cycles, interval, limit, per_memtile)
    if not groups:
        return math.ceil(n_slices / per_memtile), per_memtile * slice_cycles
    return len(groups), max(n for _, n in groups) * slice_cycles


def aie_cost(units: list[Unit], device: VersalDevice, batch: int, max_tiles: int, objective: str,
             max_plio: int = 0) -> dict:
    """Tiles, PLIO ports, latency and interval of units run as one AIE program with PLIO at both ends (at most
    `max_plio` ports per direction when > 0, as the builder then uses); AieFitError when the array cannot hold them."""
    from fxflow.lowering.aie.passes.partition import PartitionOptions, choose

    if any(u.aie.get("kind") for u in units):  # conv / pool / add: the feature-map DAG's plan
        return fmap_cost(units, device, max_tiles, objective)
    layers, softmax = [], {}  # dense layers; HCCS softmax after dense layer i (as aie_layers reads the graph)
    for u in units:
        if u.aie["mode"] not in cycles.ROW_ROLES:
            layers.append(dict(u.aie))
        elif not layers or len(layers) - 1 in softmax:
            what = "an HCCS softmax" if u.aie["mode"] == "hccs" else f"a {u.aie['mode']} kernel"
            raise AieFitError(f"layer '{u.name}': {what} on the AI Engines must read a dense layer's output in the "
                              "same AIE part")
        else:
            softmax[len(layers) - 1] = u.aie
            layers[-1]["max_chains"] = min(device.aie.memtile_dma) - 1  # the join in one memory tile
    splits = choose(layers, device.aie, batch, max_tiles or device.aie.compute_tiles, objective,
                    PartitionOptions.tolerance, max_plio)
    m = splits[0].batch
    first, last = splits[0], splits[-1]
    interval = max(s.interval for s in splits)
    sm_latency, sm_memory = 0, 0
    for i, sm in softmax.items():  # one core each: the join leg and cost.row_cycles (as aie/cycles.py reports it)
        from fxflow.lowering.aie.rows import row_tables

        width = splits[i].cas_num * splits[i].n_slice
        kc = cycles.row_cycles(sm["mode"], m, sm["spec"], sm["N"], width, splits[i].n_slice)
        interval, sm_latency = max(interval, kc), sm_latency + cycles.fifo_cycles(m * width, sm["x"]) + kc
        tables = sum(4 * len(t) for _, t in row_tables(sm["mode"], sm["spec"]))
        need = cycles.row_tile_bytes(m, width, sm["x"], sm["y"], tables, device.aie)
        if need > device.aie.tile_memory:
            raise AieFitError(f"layer '{sm['name']}': the {sm['mode']} kernel's buffers for batch {m} x {width} "
                              f"features need {need} bytes, over the {device.aie.tile_memory}-byte tile memory")
        sm_memory += need
    out_store = softmax[len(layers) - 1]["y"] if len(layers) - 1 in softmax else layers[-1]["y"]
    lim_in, lim_out = device.plio_in, device.plio_out
    if max_plio > 0:
        lim_in, lim_out = min(lim_in, max_plio), min(lim_out, max_plio)
    ports_in, in_cycles = plio_groups(first.cas_length, cycles.fifo_cycles(m * first.k_slice, layers[0]["x"]),
                                      first.interval, lim_in, device.aie.memtile_dma[1])
    if len(layers) - 1 in softmax:  # the final softmax's result leaves as one stream (build.assign_memtiles)
        ports_out, out_cycles = 1, cycles.fifo_cycles(m * last.cas_num * last.n_slice, out_store)
    else:
        ports_out, out_cycles = plio_groups(last.cas_num, cycles.fifo_cycles(m * last.n_slice, out_store),
                                            last.interval, lim_out, device.aie.memtile_dma[0])
    interval = max(interval, in_cycles, out_cycles)
    latency = in_cycles + sum(s.latency for s in splits) + sm_latency + out_cycles
    ns = 1.0 / device.aie.clock_ghz
    tiles = sum(s.tiles for s in splits) + len(softmax)
    return {"tiles": tiles, "plio_in": ports_in, "plio_out": ports_out,
            "columns": min_columns(splits, tiles, ports_in, ports_out, device.aie),
            "batch": m, "memory_bytes": sum(split_memory(L, s, device) for L, s in zip(layers, splits)) + sm_memory,
            "interval_cycles": interval, "latency_cycles": latency, "latency_ns": latency * ns,
            "interval_ns": interval * ns / m, "batch_interval_ns": interval * ns,
            "splits": [f"{s.cas_length}x{s.cas_num}" for s in splits],
            "plio_bytes_in": m * first.cas_length * first.k_slice * cycles.nbytes(layers[0]["x"]),
            "plio_bytes_out": m * last.cas_num * last.n_slice * cycles.nbytes(out_store)}


def min_columns(splits, tiles: int, ports_in: int, ports_out: int, aie) -> int:
    """The fewest array columns an AIE program can be placed in: its widest layer (a cascade chain runs along a
    row), its compute tiles over the compute rows, its PLIO ports over the ports per shim column.  A lower bound
    (the placement may need more); AIE segments sharing the array need these columns side by side."""
    per_col = max(1, len(aie.compute_rows))
    return max([s.cas_length for s in splits] + [-(-tiles // per_col), -(-ports_in // max(1, aie.plio[0])),
                                                 -(-ports_out // max(1, aie.plio[1]))])


def split_memory(layer: dict, split, device: VersalDevice) -> int:
    """Data memory of one layer's tiles (FIFO buffers, weights, bias, stack; aie/cost.py tile_bytes)."""
    from fxflow.lowering.aie.arith import MODES

    mode = MODES[layer["mode"]]
    total = 0
    for role in cycles.roles(split.cas_length):
        bias, out, _, _ = cycles.ROLES[role]
        total += split.cas_num * cycles.tile_bytes(mode, split.batch, split.k_slice, split.n_slice, layer["x"],
                                                   layer["y"], bias, out, device.aie)
    return total


def boundary_fill_ns(batch: int, sample_ns: float) -> float:
    """The wait of a batch's first sample for the rest: (batch - 1) sample periods."""
    return (batch - 1) * sample_ns


@dataclass(frozen=True)
class Metric:
    weights: dict
    time: str  # "latency" or "interval"

    def r_pl(self, fractions: dict) -> float:
        return max((self.weights[r] * fractions[r] for r in PL_RESOURCES), default=0.0)

    def r_aie(self, tiles: int, ports: int, device: VersalDevice) -> float:
        if not tiles:
            return 0.0
        return max(self.weights["tiles"] * tiles / device.aie.compute_tiles,
                   self.weights["plio"] * ports / (device.plio_in + device.plio_out))

    def lare(self, r: float, latency_ns: float, interval_ns: float) -> float:
        return r * (latency_ns if self.time == "latency" else interval_ns)


def require_aie(unit: Unit) -> None:
    if unit.aie is None:
        reason = unit.aie_reason.removeprefix(f"layer '{unit.name}': ")
        raise UnsupportedOpError(f"layer '{unit.name}' cannot be placed on the AI Engines: {reason}", unit.name)


def no_cut(left: str, right: str) -> FxflowError:
    return FxflowError(f"the design cannot be split between layers '{left}' and '{right}': more than one tensor "
                       "crosses there, and a PL/AIE boundary carries exactly one stream")
