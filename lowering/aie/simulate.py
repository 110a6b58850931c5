"""Bit-exact functional simulation of a placed `AieProgram`.

Each batch of M rows goes through the program as emitted: host slices into the shim FIFOs, memory-tile
links distribute / join at their element offsets, every core runs its kernel function on its own buffers
(accumulator = bias or the cascade input, + x·w in the lane width of its mode, wrapping like the
hardware; first/middle kernels put the accumulator on the cascade to their east neighbour -- the kernel C++
moves it one microtile block at a time in the same loop order at both ends, so it is the same data --, last/single
ones run the SRS epilogue; a row kernel runs `fxflow.fixed.hccs` / `layernorm` / `softmax` on its rows), and
results leave through the output links.  Nothing is read from the fxp IR, so `simulate == Design.predict` checks
the integer lowering, the slicing, the padding and the wiring.
"""

from __future__ import annotations

import numpy as np

from fxflow.errors import FxflowError

from fxflow.lowering.aie import cost
from fxflow.lowering.aie.arith import int_format, run_epilogue
from fxflow.lowering.aie.program import AieProgram
from fxflow.lowering.aie.rows import run_row
from fxflow.fixed.quantize import apply_overflow


class SimulationError(FxflowError):
    """The program cannot execute (a FIFO never filled, a cascade never arrived): a broken program."""


def _acc_wrap(acc: np.ndarray, bits: int) -> np.ndarray:
    if bits >= 64:
        return acc  # int64 arithmetic already wraps modulo 2^64
    return np.asarray(apply_overflow(acc, int_format(1, bits, "WRAP")), dtype=np.int64)


# role -> executor(prog, core, kernel, inputs) -> output buffer (flat): the kernels that are DAG nodes with their
# own arithmetic (no cascade); each layer family registers its own (`register_executor`).
EXECUTORS: dict = {}


def register_executor(role: str):
    def wrap(fn):
        EXECUTORS[role] = fn
        return fn
    return wrap


def _run_row_core(prog: AieProgram, core, fn, ins: list) -> np.ndarray:
    """A row kernel (HCCS softmax, LayerNorm, table softmax): rows.run_row on its slice-major buffer."""
    return run_row(fn.role, fn.row, ins[0], fn.m)


for _role in cost.ROW_ROLES:
    register_executor(_role)(_run_row_core)


def _host_in(prog: AieProgram, port, xb: np.ndarray) -> np.ndarray:
    """What the host writes into an input port's FIFO for one batch: feature slices, or feature maps
    channels-last (channels zero-padded)."""
    m = prog.batch
    if port.fmap is not None:
        c, h, w, cp = port.fmap
        out = np.zeros((m, h, w, cp), dtype=np.int64)
        out[..., :c] = xb.reshape(m, c, h, w).transpose(0, 2, 3, 1)
        if port.rows:  # row bands, one after the other
            return np.concatenate([out[:, i0:i1].ravel() for i0, i1 in port.rows])
        return out.ravel()
    width = (port.first_slice + port.slices) * port.slice_len
    padded = np.zeros((m, width), dtype=np.int64)
    lo = port.first_slice * port.slice_len
    hi = min(width, prog.in_features)
    if hi > lo:
        padded[:, lo:hi] = xb[:, lo:hi]
    parts = [padded[:, (port.first_slice + s) * port.slice_len:(port.first_slice + s + 1) * port.slice_len]
             for s in range(port.slices)]
    return np.concatenate([p.ravel() for p in parts])


def _deliver(prog: AieProgram, data: dict, name: str, stored: np.ndarray) -> None:
    """A FIFO's buffer as its consumers receive it (the producer's `dimensionsToStream` order)."""
    f = prog.fifo(name)
    data[name] = stored[f.stream_order()] if f.dims else stored


def run_block(prog: AieProgram, xb: np.ndarray) -> np.ndarray:
    """One kernel invocation round: xb [M, in_features] stored ints -> [M, out_features] stored ints.
    A dataflow execution of the program's DAG: a link or core fires once all its input FIFOs (and its cascade
    input) hold data; a FIFO with several consumers broadcasts."""
    m = prog.batch
    data: dict[str, np.ndarray] = {}
    for port in prog.inputs:
        _deliver(prog, data, port.fifo, _host_in(prog, port, xb))
    cascade_dst = dict(prog.cascades)
    cascade_in: dict = {}
    links, cores = list(prog.links), list(prog.cores)
    progress = True
    while (links or cores) and progress:
        progress = False
        for link in list(links):
            if all(s in data for s in link.srcs):
                if len(link.srcs) == 1:  # distribute (or forward)
                    src = data[link.srcs[0]]
                    offs = link.dst_offsets or [0]
                    for d, off in zip(link.dsts, offs):
                        _deliver(prog, data, d, src[off:off + prog.fifo(d).size])
                else:  # join
                    out = np.zeros(prog.fifo(link.dsts[0]).size, dtype=np.int64)
                    for s, off in zip(link.srcs, link.src_offsets):
                        out[off:off + data[s].size] = data[s]
                    _deliver(prog, data, link.dsts[0], out)
                links.remove(link)
                progress = True
        for core in list(cores):
            fn = prog.kernel(core.fn)
            if any(f not in data for f in core.in_fifos):
                continue
            if fn.role in EXECUTORS:
                _deliver(prog, data, core.y_fifo, EXECUTORS[fn.role](prog, core, fn, [data[f] for f in core.in_fifos]))
                cores.remove(core)
                progress = True
                continue
            if fn.role not in ("single", "first", "middle", "last"):
                raise SimulationError(f"no simulation executor for '{fn.role}' kernels (@{fn.name}); the module "
                                      "that builds them registers one (simulate.register_executor)")
            bias_on, out_on, cin, cout = cost.ROLES[fn.role]
            if cin and core.tile not in cascade_in:
                continue
            x = data[core.x_fifo].reshape(fn.m, fn.k)
            w = prog.buffer(core.weights).data
            acc = (np.broadcast_to(prog.buffer(core.bias).data, (fn.m, fn.n)) if bias_on
                   else cascade_in.pop(core.tile))
            acc = _acc_wrap(acc + x @ w, fn.acc_bits)
            if cout:
                cascade_in[cascade_dst[core.tile]] = acc
            else:
                _deliver(prog, data, core.y_fifo, run_epilogue(acc, fn.epilogue).ravel())
            cores.remove(core)
            progress = True
    if links or cores:
        stuck = [c.fn + str(c.tile) for c in cores] + ["link " + ",".join(link.srcs) for link in links]
        raise SimulationError(f"the AIE program deadlocks: {', '.join(stuck[:5])} never get their inputs")
    return _host_out(prog, data)


def _host_out(prog: AieProgram, data: dict) -> np.ndarray:
    """The output ports' FIFOs as graph output rows [M, out_features] (channels-first for feature maps)."""
    m = prog.batch
    if prog.outputs[0].fmap is not None:
        c, h, w, cp = prog.outputs[0].fmap
        return data[prog.outputs[0].fifo].reshape(m, h, w, cp)[..., :c].transpose(0, 3, 1, 2).reshape(m, -1)
    width = max(p.first_slice + p.slices for p in prog.outputs) * prog.outputs[0].slice_len
    y = np.zeros((m, width), dtype=np.int64)
    for port in prog.outputs:
        flat = data[port.fifo].reshape(port.slices, m, port.slice_len)
        for s in range(port.slices):
            c = (port.first_slice + s) * port.slice_len
            y[:, c:c + port.slice_len] = flat[s]
    return y[:, :prog.out_features]


def simulate(prog: AieProgram, x: np.ndarray) -> np.ndarray:
    """x: [N, in_features] stored integers of the input format -> [N, out_features] stored integers."""
    x = np.asarray(x, dtype=np.int64).reshape(len(x), -1)
    if x.shape[1] != prog.in_features:
        raise FxflowError(f"the AIE program takes {prog.in_features} input features, got {x.shape[1]}")
    m, n = prog.batch, len(x)
    out = np.zeros((n, prog.out_features), dtype=np.int64)
    for s in range(0, n, m):
        block = np.zeros((m, prog.in_features), dtype=np.int64)
        block[:min(m, n - s)] = x[s:s + m]
        out[s:s + m] = run_block(prog, block)[:min(m, n - s)]
    return out
