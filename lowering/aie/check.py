"""Structural checker of an `AieProgram` against its device (aie-ml.md §10).

Checks tile kinds per coordinate, one core per compute tile, data memory per tile (buffers, both ends of
every FIFO, stack) and per memory tile, one weight slice per 16 KB bank, DMA channels / buffer descriptors /
locks per tile, memory tile and shim (shim DMA only on NoC columns), cascade adjacency (east or south
neighbour, one in and one out per core) and roles, every FIFO with one producer and distinct consumers that
are all reached, link offsets and sizes, and kernel/buffer/FIFO shapes.  `problems` lists every violation;
`check` raises AieCheckError with them.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from fxflow.errors import FxflowError

from fxflow.lowering.aie import cost
from fxflow.lowering.aie.program import AieProgram
from fxflow.lowering.aie.rows import row_tables


class AieCheckError(FxflowError):
    """An AIE program that violates the device's structural rules."""


def problems(prog: AieProgram) -> list[str]:
    dev = prog.device
    errs: list[str] = []
    names = Counter([f.name for f in prog.fifos])
    errs += [f"FIFO @{n} is defined {c} times" for n, c in names.items() if c > 1]
    fifos = {f.name: f for f in prog.fifos}
    bufs = {b.name: b for b in prog.buffers}
    kernels = {k.name: k for k in prog.kernels}
    mem = Counter()  # bytes per tile
    dma = defaultdict(lambda: [0, 0])  # tile -> [S2MM, MM2S]
    bds, locks = Counter(), Counter()
    plio_fifos = {p.fifo for p in prog.inputs + prog.outputs if p.plio}
    errs += plio_problems(prog)
    for b in prog.buffers:
        if dev.kind(*b.tile) != "compute":
            errs.append(f"buffer {b.name} is on {b.tile}, not a compute tile")
        mem[b.tile] += b.nbytes
        if b.bank is not None and b.nbytes > dev.bank_bytes:
            errs.append(f"buffer {b.name} ({b.nbytes} bytes) does not fit one {dev.bank_bytes}-byte bank")
    for f in prog.fifos:
        if not f.consumers:
            errs.append(f"FIFO @{f.name} has no consumer")
        if len(set(f.consumers)) != len(f.consumers):
            errs.append(f"FIFO @{f.name} lists a consumer twice")
        if f.producer in f.consumers:
            errs.append(f"FIFO @{f.name} consumes its own output")
        for t in [f.producer, *f.consumers]:
            if not dev.kind(*t):
                errs.append(f"FIFO @{f.name} uses {t}, outside {dev.name}")
            if dev.kind(*t) in ("compute", "mem"):
                mem[t] += f.depth * f.nbytes
                bds[t] += f.depth
                locks[t] += 2
        if f.name not in plio_fifos:  # a PLIO port's shim end is a stream switch port, not a shim DMA channel
            dma[f.producer][1] += 1
        for t in f.consumers:
            if f.name not in plio_fifos or dev.kind(*t) != "shim":
                dma[t][0] += 1
    linked = Counter()
    for link in prog.links:
        if dev.kind(*link.memtile) != "mem":
            errs.append(f"link {link.srcs} -> {link.dsts} is on {link.memtile}, not a memory tile")
        for n in link.srcs + link.dsts:
            if n not in fifos:
                errs.append(f"link refers to unknown FIFO @{n}")
                break
        else:
            ends = [fifos[s] for s in link.srcs] + [fifos[d] for d in link.dsts]
            if any(link.memtile not in f.consumers for f in ends[:len(link.srcs)]) or \
                    any(f.producer != link.memtile for f in ends[len(link.srcs):]):
                errs.append(f"link {link.srcs} -> {link.dsts} does not pass through its memory tile {link.memtile}")
            many, offs = (link.dsts, link.dst_offsets) if len(link.srcs) == 1 else (link.srcs, link.src_offsets)
            one = fifos[link.srcs[0]] if len(link.srcs) == 1 else fifos[link.dsts[0]]
            if len(link.srcs) > 1 and len(link.dsts) > 1:
                errs.append(f"link {link.srcs} -> {link.dsts} joins and distributes at once")
            elif len(many) > 1 or offs:
                sizes = [fifos[n].size for n in many]
                expect = list(np.cumsum([0] + sizes[:-1]))
                if list(offs) != expect or sum(sizes) != one.size:
                    errs.append(f"link {link.srcs} -> {link.dsts}: offsets {list(offs)} / sizes {sizes} do not tile "
                                f"the {one.size} elements of @{one.name}")
            elif fifos[link.dsts[0]].size != fifos[link.srcs[0]].size:
                errs.append(f"link {link.srcs} -> {link.dsts} forwards FIFOs of different sizes")
        linked.update(link.srcs + link.dsts)
    # compute tiles: cores, kernels, cascades
    core_at = Counter(c.tile for c in prog.cores)
    errs += [f"tile {t} has {n} cores" for t, n in core_at.items() if n > 1]
    cas_out, cas_in = Counter(s for s, _ in prog.cascades), Counter(d for _, d in prog.cascades)
    for s, d in prog.cascades:
        if (d[0] - s[0], d[1] - s[1]) not in dev.cascade_steps:
            errs.append(f"cascade {s} -> {d} is not a step {dev.cascade_steps} of {dev.name}'s cascade")
        for t in (s, d):
            if dev.kind(*t) != "compute" or t not in core_at:
                errs.append(f"cascade {s} -> {d} ends at {t}, which has no core")
    errs += [f"tile {t} has {n} cascade outputs" for t, n in cas_out.items() if n > 1]
    errs += [f"tile {t} has {n} cascade inputs" for t, n in cas_in.items() if n > 1]
    for c in prog.cores:
        if dev.kind(*c.tile) != "compute":
            errs.append(f"core {c.fn} is on {c.tile}, not a compute tile")
        k = kernels.get(c.fn)
        if k is None:
            errs.append(f"core {c.tile} calls undeclared kernel @{c.fn}")
            continue
        bias_on, out_on, cin, cout = cost.ROLES[k.role]
        if cin != (c.tile in cas_in) or cout != (c.tile in cas_out):
            errs.append(f"core {c.tile} runs a '{k.role}' kernel but its cascade connections do not match")
        x = fifos.get(c.x_fifo)
        if x is None or c.tile not in x.consumers or x.size != k.m * k.k:
            errs.append(f"core {c.tile}: input FIFO @{c.x_fifo} does not reach it with {k.m}x{k.k} elements")
        for name in c.inputs:
            if name not in fifos or c.tile not in fifos[name].consumers:
                errs.append(f"core {c.tile}: input FIFO @{name} does not reach it")
        w = bufs.get(c.weights)
        if k.role in cost.ROW_ROLES:
            if c.weights or k.row is None or k.k != k.n or k.row.slices * k.row.slice_len != k.k \
                    or not 0 < k.row.n <= k.k:
                errs.append(f"core {c.tile}: {k.role} kernel @{k.name} has weights or an inconsistent row layout")
            want = [len(t) for _, t in row_tables(k.role, k.row.spec)] if k.row is not None else []
            if [bufs[t].shape[0] if t in bufs and bufs[t].tile == c.tile else None for t in c.tables] != want:
                errs.append(f"core {c.tile}: {k.role} kernel @{k.name} does not get its local tables {want}")
        elif k.role in cost.WEIGHTLESS:
            if c.weights:
                errs.append(f"core {c.tile}: a '{k.role}' kernel takes no weights")
        elif w is None or w.tile != c.tile or w.shape != (k.w_shape or (k.k, k.n)):
            shape = "x".join(map(str, k.w_shape or (k.k, k.n)))
            errs.append(f"core {c.tile}: weight buffer {c.weights} is not a local {shape} buffer")
        if bias_on != (c.bias is not None) or (c.bias and (c.bias not in bufs or bufs[c.bias].tile != c.tile)):
            errs.append(f"core {c.tile}: a '{k.role}' kernel {'needs' if bias_on else 'takes no'} local bias")
        if out_on:
            y = fifos.get(c.y_fifo or "")
            if y is None or y.producer != c.tile or y.size != k.m * k.n:
                errs.append(f"core {c.tile}: output FIFO @{c.y_fifo} is not produced here with {k.m}x{k.n} elements")
        elif c.y_fifo is not None:
            errs.append(f"core {c.tile}: a '{k.role}' kernel writes no FIFO")
    for f in prog.fifos:
        if f.dims and (dev.kind(*f.producer) != "mem" or int(np.prod([a for a, _ in f.dims])) != f.size
                       or f.stream_order().max() >= f.size or f.dims[-1][1] != 1):
            errs.append(f"FIFO @{f.name}: dimensionsToStream {f.dims} is not a re-layout of its {f.size} elements "
                        "by a memory tile (innermost stride 1)")
    for f in prog.fifos:
        for t in [f.producer, *f.consumers]:
            kind = dev.kind(*t)
            if kind == "compute" and t not in core_at:
                errs.append(f"FIFO @{f.name} reaches {t}, which has no core")
            if kind == "mem" and f.name not in linked:
                errs.append(f"FIFO @{f.name} ends in memory tile {t} without a link")
            if kind == "shim" and t[0] not in dev.shim_dma_cols and f.name not in plio_fifos:
                errs.append(f"FIFO @{f.name} uses shim {t}, which has no DMA (NoC columns: {dev.shim_dma_cols})")
    # per-tile budgets
    for t in sorted(set(mem) | set(dma)):
        kind = dev.kind(*t)
        if kind == "compute":
            limit, (s2mm, mm2s), nbd, nlock = dev.tile_memory, dev.tile_dma, dev.tile_bds, dev.tile_locks
            used = mem[t] + (dev.stack_bytes if t in core_at else 0)
        elif kind == "mem":
            limit, (s2mm, mm2s), nbd, nlock = dev.memtile_memory, dev.memtile_dma, dev.memtile_bds, dev.memtile_locks
            used = mem[t]
        elif kind == "shim":
            limit, (s2mm, mm2s), nbd, nlock = None, dev.shim_dma, None, None
            used = 0
        else:
            continue
        if limit is not None and used > limit:
            errs.append(f"{kind} tile {t} needs {used} bytes of data memory; it has {limit}")
        if dma[t][0] > s2mm or dma[t][1] > mm2s:
            errs.append(f"{kind} tile {t} needs {dma[t][0]} S2MM + {dma[t][1]} MM2S DMA channels; it has "
                        f"{s2mm} + {mm2s}")
        if nbd is not None and bds[t] > nbd:
            errs.append(f"{kind} tile {t} needs {bds[t]} buffer descriptors; it has {nbd}")
        if nlock is not None and locks[t] > nlock:
            errs.append(f"{kind} tile {t} needs {locks[t]} locks; it has {nlock}")
    ports = {p.fifo for p in prog.inputs + prog.outputs}
    for p in prog.inputs + prog.outputs:
        if p.fifo not in fifos or p.shim not in [fifos[p.fifo].producer, *fifos[p.fifo].consumers]:
            errs.append(f"host port @{p.fifo} is not a FIFO of shim {p.shim}")
    for f in prog.fifos:
        if any(dev.kind(*t) == "shim" for t in [f.producer, *f.consumers]) and f.name not in ports:
            errs.append(f"FIFO @{f.name} reaches a shim but no host transfer feeds or drains it")
    return errs


def plio_problems(prog: AieProgram) -> list[str]:
    """PLIO ports (graph I/O streamed to/from the PL): on a shim tile, distinct port numbers below the
    device's per-column count in each direction."""
    dev, errs = prog.device, []
    used: dict = defaultdict(list)
    for ports, d, what in ((prog.inputs, 0, "PL->AIE"), (prog.outputs, 1, "AIE->PL")):
        for p in ports:
            if not p.plio:
                continue
            if dev.kind(*p.shim) != "shim":
                errs.append(f"PLIO port @{p.fifo} is on {p.shim}, not a shim tile")
            if not 0 <= p.channel < dev.plio[d]:
                errs.append(f"PLIO port @{p.fifo} uses {what} port {p.channel} of column {p.shim[0]}; "
                            f"{dev.name} has {dev.plio[d]} per column")
            used[(p.shim, d)].append(p.channel)
    for (tile, d), chans in sorted(used.items()):
        if len(set(chans)) != len(chans):
            errs.append(f"shim {tile} assigns a PLIO port twice: {sorted(chans)}")
    return errs


def check(prog: AieProgram) -> None:
    errs = problems(prog)
    if errs:
        more = f" (and {len(errs) - 10} more)" if len(errs) > 10 else ""
        raise AieCheckError(f"the AIE program for {prog.device.name} is invalid:\n  " + "\n  ".join(errs[:10]) + more)
