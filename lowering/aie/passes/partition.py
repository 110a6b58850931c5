"""aie-partition: split each AIE dense kernel into a cas_length x cas_num grid, chosen by the cycle model.

cas_length kernels along a cascade chain split the input features K (each adds its K-slice to the
accumulator it receives and passes it on); cas_num parallel chains split the output features N.  Slices
are padded to the kernel's K / N steps (`cost.k_block` / `cost.n_block`: 2x2 microtiles of the device's mmul
mode, whole 128-bit vectors), each weight slice must fit one 16 KB bank, each tile's
buffers its data memory, and the batch is padded to the microtile rows.  Layer i+1 reads chain j of layer
i directly (one FIFO broadcast down its column j), so its cas_length and K-slice are those of layer i's
cas_num and N-slice.

The choice is a dynamic programme over layers keeping the Pareto front of (bottleneck interval, tiles)
per live-tensor split: objective `throughput` takes the fewest tiles within `tolerance` of the best
interval, `resource` the fewest tiles; both within `max_tiles` (default: the device's compute tiles).
The result is an `aie_partition` dictionary on each kernel and `aie_device` / `aie_batch` on the graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fxflow.lowering.aie import cost
from fxflow.lowering.aie.arith import device_mode
from fxflow.lowering.aie.device import AieFitError, get_device
from fxflow.errors import ConfigError
from fxflow.ir import i64_attr, ir, str_attr
from fxflow.lowering.aie.options import AieOptions

from fxflow.passes.registry import register_pass

OBJECTIVES = ("throughput", "resource")


@dataclass
class PartitionOptions:  # defaults: the AIE backend's (lowering/aie/options.py)
    device: str = AieOptions.device
    batch: int = AieOptions.batch
    max_tiles: int = AieOptions.max_tiles  # 0: every compute tile of the device
    objective: str = AieOptions.objective
    tolerance: float = 0.05
    max_io_ports: int = 0  # > 0: I/O channels or PLIO ports per direction (each carries <= one memory tile's slices)


@dataclass(frozen=True)
class Split:
    cas_length: int
    cas_num: int
    k_slice: int
    n_slice: int
    batch: int
    interval: int
    latency: int

    @property
    def tiles(self) -> int:
        return self.cas_length * self.cas_num


def _up(v: int, step: int) -> int:
    return -(-v // step) * step


def layer_cost(mode, device, m: int, k: int, n: int, pk: int, x_store: str, y_store: str) -> tuple[int, int] | None:
    """(interval, latency) of one layer split, None when a tile's weights or buffers do not fit."""
    if k * n * (mode.w_bits // 8) > device.bank_bytes:
        return None
    cycles = 0
    for role in set(cost.roles(pk)):
        bias, out, cin, cout = cost.ROLES[role]
        if cost.tile_bytes(mode, m, k, n, x_store, y_store, bias, out, device) > device.tile_memory:
            return None
        cycles = max(cycles, cost.kernel_cycles(mode, m, k, n, cin, cout))
    leg_in, leg_out = cost.fifo_cycles(m * k, x_store), cost.fifo_cycles(m * n, y_store)
    interval = max(cycles, leg_in, leg_out)
    return interval, leg_in + cycles + (pk - 1) * cost.CASCADE_HOP


def candidates(mode, device, batch: int, K: int, N: int, x_store: str, y_store: str, fixed_k=None,
               n_align: int = 0) -> list[Split]:
    """Every legal split of one layer; `fixed_k` = (cas_length, k_slice) inherited from the producer;
    N-slices are multiples of `n_align` (default: the kernel's N step)."""
    m = cost.padded_batch(batch, mode)
    kb = cost.k_block(mode, x_store)
    n_align = n_align or cost.n_block(mode, y_store)
    out = []
    if fixed_k is not None:
        ks = [fixed_k] if fixed_k[1] % kb == 0 else []
    else:
        ks = []
        for pk in range(1, device.cols + 1):
            k = _up(math.ceil(K / pk), kb)
            if (pk - 1) * k < K:
                ks.append((pk, k))
    for pk, k in ks:
        if pk > device.cols:
            continue
        for pn in range(1, len(device.compute_rows) + 1):
            n = _up(math.ceil(N / pn), n_align)
            if (pn - 1) * n >= N:
                continue
            c = layer_cost(mode, device, m, k, n, pk, x_store, y_store)
            if c is not None:
                out.append(Split(pk, pn, k, n, m, c[0], c[1]))
    return out


def choose(layers: list[dict], device, batch: int, max_tiles: int, objective: str, tolerance: float,
           max_io_ports: int = 0) -> list[Split]:
    """layers: [{"name", "mode", "K", "N", "x", "y"[, "max_chains"]}] in chain order -> one Split per layer
    (at most "max_chains" output chains: a layer followed by an HCCS softmax, whose memory tile joins them).
    `max_io_ports` > 0 bounds the first layer's input slices and the last layer's output chains to what that many
    ports can carry (one memory tile's DMA channels of slices each, as `build.io_groups` groups them)."""
    io_in, io_out = (max_io_ports * device.memtile_dma[1], max_io_ports * device.memtile_dma[0]) if max_io_ports \
        else (0, 0)
    # front: state (cas_num, n_slice) -> list of (interval, tiles, latency, splits)
    fronts: dict = {None: [(0, 0, 0, ())]}
    for i, L in enumerate(layers):
        mode = device_mode(L["mode"], device)
        # chain j's N-slice is the next layer's K-slice j: align it to both layers' kernel steps
        align = cost.n_block(mode, L["y"])
        if i + 1 < len(layers):
            align = math.lcm(align, cost.k_block(device_mode(layers[i + 1]["mode"], device), layers[i + 1]["x"]))
        nxt: dict = {}
        for state, front in fronts.items():
            cands = candidates(mode, device, batch, L["K"], L["N"], L["x"], L["y"], fixed_k=state, n_align=align)
            cands = [s for s in cands if (not io_in or i > 0 or s.cas_length <= io_in)
                     and (not io_out or i + 1 < len(layers) or s.cas_num <= io_out)
                     and s.cas_num <= L.get("max_chains", s.cas_num)]
            for s in cands:
                for interval, tiles, lat, splits in front:
                    item = (max(interval, s.interval), tiles + s.tiles, lat + s.latency, splits + (s,))
                    if item[1] <= max_tiles:
                        nxt.setdefault((s.cas_num, s.n_slice), []).append(item)
        if not nxt:
            own = candidates(mode, device, batch, L["K"], L["N"], L["x"], L["y"])
            if not own:
                raise AieFitError(_why_not(L, mode, device, batch))
            if "max_chains" in L and all(s.cas_num > L["max_chains"] for s in own):
                raise AieFitError(f"layer '{L['name']}' ({L['K']}x{L['N']}) needs at least "
                                  f"{min(s.cas_num for s in own)} output chains; the HCCS softmax after it joins at "
                                  f"most {L['max_chains']} in one memory tile")
            if io_in or io_out:
                ok = [s for s in own if (i > 0 or not io_in or s.cas_length <= io_in)
                      and (i + 1 < len(layers) or not io_out or s.cas_num <= io_out)]
                if not ok:
                    what = "input slices" if i == 0 else "output chains"
                    raise AieFitError(f"layer '{L['name']}' ({L['K']}x{L['N']}) cannot be split so that "
                                      f"{max_io_ports} I/O ports carry its {what} (at most "
                                      f"{io_in if i == 0 else io_out}); its smallest split needs "
                                      f"{min(s.cas_length if i == 0 else s.cas_num for s in own)}")
            need = sum(min((c.tiles for c in candidates(device_mode(P["mode"], device), device, batch, P["K"],
                                                         P["N"], P["x"], P["y"])), default=1)
                       for P in layers[:i + 1])
            raise AieFitError(f"the layers up to '{L['name']}' ({L['K']}x{L['N']}) need at least {need} compute tiles; "
                              f"{device.name} offers {max_tiles}")
        fronts = {k: _pareto(v) for k, v in nxt.items()}
    final = [item for front in fronts.values() for item in front]
    if objective == "resource":
        best = min(final, key=lambda t: (t[1], t[0], t[2], _key(t[3])))
    else:
        fastest = min(t[0] for t in final)
        ok = [t for t in final if t[0] <= fastest * (1 + tolerance)]
        best = min(ok, key=lambda t: (t[1], t[0], t[2], _key(t[3])))
    return list(best[3])


def _why_not(L: dict, mode, device, batch: int) -> str:
    """Why layer L has no split on the device: the limit its smallest slices (the widest grid) still break."""
    cols, rows = device.cols, len(device.compute_rows)
    m = cost.padded_batch(batch, mode)
    k = _up(math.ceil(L["K"] / cols), cost.k_block(mode, L["x"]))
    n = _up(math.ceil(L["N"] / rows), cost.n_block(mode, L["y"]))
    head = f"layer '{L['name']}' ({L['K']}x{L['N']}, {L['mode']}) does not fit {device.name}"
    if k * n * (mode.w_bits // 8) > device.bank_bytes:
        kb = L["K"] * L["N"] * (mode.w_bits // 8) / 1024
        least = math.ceil(kb * 1024 / device.bank_bytes)
        return (f"{head}: its {kb:g} KB of weights need at least {least} tiles of one {device.bank_bytes // 1024} KB "
                f"bank each, as cascade grids of at most {cols} columns x {rows} rows; the device has "
                f"{device.compute_tiles}")
    need = max(cost.tile_bytes(mode, m, k, n, L["x"], L["y"], *cost.ROLES[r][:2], device) for r in ("single", "first",
                                                                                                  "last"))
    return (f"{head}: even its smallest slices ({k}x{n} on a {cols}x{rows} grid) need {need} bytes of data memory per "
            f"tile for batch {batch} (padded to {m}; {cost.FIFO_DEPTH}-deep input and output FIFO buffers of {m} rows, "
            f"weights, bias, stack), over the {device.tile_memory}-byte tile memory; use a smaller batch")


def _key(splits) -> tuple:
    return tuple((s.cas_length, s.cas_num, s.k_slice, s.n_slice) for s in splits)


def _pareto(items: list) -> list:
    items = sorted(items, key=lambda t: (t[0], t[1], t[2], _key(t[3])))
    out, best_tiles = [], None
    for t in items:
        if best_tiles is None or t[1] < best_tiles:
            out.append(t)
            best_tiles = t[1]
    return out


@register_pass("aie-partition", "Split each AIE dense kernel into a cas_length x cas_num grid by the cycle model",
               PartitionOptions)
def aie_partition(module_op, options: PartitionOptions | None = None) -> None:
    from fxflow.dialects.df.graph import graph_of
    from fxflow.lowering.aie.passes.convert_fxp_to_aie import aie_attr, aie_layers, dense_chain
    from fxflow.lowering.aie.rows import row_tables

    options = options or PartitionOptions()
    device = get_device(options.device)
    if options.objective not in OBJECTIVES:
        raise ConfigError(f"unknown partition objective '{options.objective}' (expected {', '.join(OBJECTIVES)})")
    if options.batch < 1:
        raise ConfigError(f"batch must be >= 1, got {options.batch}")
    budget = options.max_tiles or device.compute_tiles
    if budget > device.compute_tiles:
        raise ConfigError(f"max_tiles {budget} exceeds the {device.compute_tiles} compute tiles of {device.name}")
    graph = graph_of(module_op, "aie-partition")
    from fxflow.lowering.aie.fmap import is_fmap_graph

    if is_fmap_graph(graph):
        from fxflow.lowering.aie.fmap_build import partition

        partition(graph, device, budget, options.objective, options.tolerance)
        return
    from fxflow.lowering.aie.dag_paths import attention_path

    path = attention_path(graph)
    if path is not None:
        path.partition(graph, device, budget)
        return
    chain = dense_chain(graph)
    layers = [{"name": k.layer, "mode": aie_attr(k.op, "mode"), "K": k.shape[0], "N": k.shape[1],
               "x": aie_attr(k.op, "x"), "y": aie_attr(k.op, "y")} for k in chain]
    softmax = aie_layers(graph)[1]
    for i in softmax:  # build.assign_memtiles: the chains join (and, between layers, fan out) in one memory tile
        layers[i]["max_chains"] = min(device.memtile_dma) - 1
    rows = options.batch * chain[0].tokens  # a per-token Linear runs every token of a sample as one row
    splits = choose(layers, device, rows, budget, options.objective, options.tolerance, options.max_io_ports)
    for i, tail in softmax.items():  # a row-kernel tile holds layer i's whole rows, in and out, and its tables
        width = splits[i].cas_num * splits[i].n_slice
        tables = sum(4 * len(t) for _, t in row_tables(tail.kind, tail.spec))
        need = cost.row_tile_bytes(splits[i].batch, width, aie_attr(tail.op, "x"), aie_attr(tail.op, "y"), tables,
                                   device)
        if need > device.tile_memory:
            what = "HCCS" if tail.kind == "hccs" else tail.kind
            raise AieFitError(f"layer '{tail.layer}': the {what} kernel's input and output buffers for batch "
                              f"{options.batch} (padded to {splits[i].batch}) x {width} features"
                              f"{f' and its {tables}-byte tables' if tables else ''} need {need} bytes of "
                              f"data memory, over the {device.tile_memory}-byte tile memory; use a smaller batch")
    for k, s in zip(chain, splits):
        k.op.attributes["aie_partition"] = ir.DictAttr.get({
            "cas_length": i64_attr(s.cas_length), "cas_num": i64_attr(s.cas_num), "k_slice": i64_attr(s.k_slice),
            "n_slice": i64_attr(s.n_slice), "batch": i64_attr(s.batch), "interval": i64_attr(s.interval),
            "latency": i64_attr(s.latency)})
    graph.attributes["aie_device"] = str_attr(device.name)
    graph.attributes["aie_batch"] = i64_attr(options.batch)
