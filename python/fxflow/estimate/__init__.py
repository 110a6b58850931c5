"""Latency and resource estimates of a `df.graph` before any vendor tool runs (model: docs/estimates.md).

    est = estimate(module, part="xcvu9p-flga2104-2L-e", clock="200MHz")
    est["layers"][i]   {"layer", "kernel", "op", "latency_cycles", "ii", "dsp", "lut", "ff", "bram18", ...}
    est["channels"]    stream FIFOs: depth, token width, memory
    est["total"]       the design: latency (cycles and ns), II, resources, utilization of the part

The model is written per fxp op, one module per op family (estimate/<family>.py):
`@op_model(DenseOp)` registers a function `cost(ctx, op) -> OpCost` (the work the reuse factor divides is the
dialect's `accessors.work`).  An op with no model (listed in `DEFAULT_COST`) costs no multiplications, one
adder level of delay (latency 1) and one LUT and one FF per result bit (element-wise work).  The framework
(registry, cost record, shared helpers) is estimate/base.py; the families import only it, never this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from fxflow.devices import DEFAULT_CLOCK_NS, DEFAULT_PART, Device, bram18_for, clock_period, device_for
from fxflow.dialects.df import UNROLLED
from fxflow.dialects.df.graph import attr
from fxflow.dialects.fxp.accessors import work as op_work
from fxflow.errors import IRError
from fxflow.estimate.base import ADDITIVE, CLOCK_UNCERTAINTY, OP_MODELS, SRL_MAX_DEPTH, Ctx, OpCost, fmt_of, size_of
# read as fxflow.estimate.<name> by tests and tools/op_support (the model families use estimate.base)
from fxflow.estimate.base import DEFAULT_COST, dsp_per_multiplier, lut_multiplier_luts  # noqa: F401

# The model families register their @op_model functions when imported. They import estimate.base, never this
# package, so importing them at the top is safe.
from fxflow.estimate import (elementwise as estimate_elementwise, layers as estimate_layers,
                             recurrent as estimate_recurrent, shape as estimate_shape, tables as estimate_tables,
                             transformer as estimate_transformer)  # noqa: F401  isort: skip


# --- IR helpers -----------------------------------------------------------------------------------

def _kernel_ops(kernel) -> list:
    return [o.operation for o in kernel.regions[0].blocks[0].operations
            if o.operation.name not in ("fxp.constant", "df.yield")]


# --- op models ------------------------------------------------------------------------------------

def _default(ctx: Ctx, op) -> OpCost:
    """An op without a model: no multiplications, one LUT and one FF per result bit, one adder delay."""
    if not op.results:
        return OpCost()
    y = op.results[0]
    try:
        width = fmt_of(y, f"result of {ctx.where}").width
    except IRError:
        width = 32
    bits = size_of(y) * width
    return OpCost(lut=bits, ff=bits, delay_ns=ctx.t_add(width))


# --- kernels and the graph ------------------------------------------------------------------------

@dataclass
class KernelEstimate:
    layer: str
    kernel: str
    op: str
    reuse_factor: int
    strategy: str
    work: int = 0
    multiplications: int = 0
    zero_weights: int = 0
    multipliers: int = 0
    dsp: int = 0
    lut: int = 0
    ff: int = 0
    bram18: int = 0
    uram: int = 0
    latency_cycles: int = 1
    ii: int = 1
    delay_ns: float = 0.0  # chained combinational delay (used when the top function is one pipeline)
    sequential: int = 0  # cycles that do not chain (RF > 1 sharing, resource loops)
    tokens_in: int = 1
    tokens_out: int = 1

    def row(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["delay_ns"] = round(self.delay_ns, 3)
        return d


def estimate_kernel(kernel, device: Device, period: float, lut_costs=None) -> KernelEstimate:
    name = attr(kernel, "sym_name", "kernel")
    layer = attr(kernel, "layer", name) or name
    rf = int(attr(kernel, "reuse_factor", 1))
    strategy = attr(kernel, "strategy", "latency")
    ops = _kernel_ops(kernel)
    main = next((o.name for o in ops if op_work(o) is not None),
                ops[0].name if ops else "")
    est = KernelEstimate(layer, name, main.split(".", 1)[-1], rf, strategy)
    ctx = Ctx(device, period, rf, strategy, f"kernel '{name}' (layer '{layer}')", lut_costs, kernel)
    chained, first = 0.0, True
    for o in ops:
        model = OP_MODELS.get(o.name)
        c = model.cost(ctx, o) if model is not None else _default(ctx, o)
        for key in ADDITIVE:
            setattr(est, key, getattr(est, key) + getattr(c, key))
        if c.cycles is not None:
            est.sequential += c.cycles
        else:
            chained += c.delay_ns
        if first:
            est.tokens_in = c.tokens_in
            first = False
        est.tokens_out = c.tokens_out
    est.delay_ns = chained
    chain_cycles = math.ceil(chained / ctx.usable - 1e-9) if chained else 0
    est.latency_cycles = max(1, est.sequential + chain_cycles)
    # latency strategy: the function pipeline restarts every RF cycles; resource: no function
    # pipeline, the kernel restarts when it is done
    est.ii = rf if strategy in UNROLLED else est.latency_cycles
    return est


def _find_graph(module):
    from fxflow.dialects.df.graph import find_graph

    return find_graph(module, "estimator")


def _defaults():
    return DEFAULT_PART, DEFAULT_CLOCK_NS


def estimate(module, part: str | None = None, clock=None, lut_costs=None) -> dict:
    """Per-kernel and total estimates of the module's df.graph; `part` / `clock` default to the module's
    `fxflow.part` / `fxflow.clock_period` attributes, else xcvu13p at 5 ns."""
    from fxflow.ir import ir
    mop, graph = _find_graph(module)
    attrs = {}
    for holder in (mop, graph):
        if holder is not None:
            for key in ("fxflow.part", "fxflow.clock_period"):
                if key in holder.attributes:
                    attrs[key] = holder.attributes[key]
    default_part, default_clock = _defaults()
    if part is None:
        part = ir.StringAttr(attrs["fxflow.part"]).value if "fxflow.part" in attrs else default_part
    if clock is None:
        a = attrs.get("fxflow.clock_period")
        clock = (ir.FloatAttr(a).value if isinstance(a, ir.FloatAttr) else ir.IntegerAttr(a).value
                 if isinstance(a, ir.IntegerAttr) else default_clock)
    device = device_for(part)
    period = clock_period(clock, device)
    io_type = attr(graph, "io_type", "io_parallel")
    block = graph.regions[0].blocks[0]
    ops = [o.operation for o in block.operations]
    kernels: list[KernelEstimate] = []
    ready: dict = {}  # value -> (cycles, chained ns, sequential cycles) at which it is available
    for a in block.arguments:
        ready[a] = (0, 0.0, 0)
    channels = []
    by_value: dict = {}
    streamed = _stream_tokens(ops) if io_type == "io_stream" else {}
    last: dict = {a: 0 for a in block.arguments}  # io_stream: cycle of a value's last token
    for o in ops:
        if o.name == "df.kernel":
            k = estimate_kernel(o, device, period, lut_costs)
            kernels.append(k)
            start = max((ready[v] for v in o.operands), default=(0, 0.0, 0))
            tokens = streamed.get(o, 1)
            if tokens > 1:  # one position per step: hardware for one token, latency = fill + tokens steps
                fill = _stream_kernel(k, tokens)
                end = max(max((last.get(v, 0) for v in o.operands), default=0) + fill, start[0] + k.latency_cycles)
                for r in o.results:
                    ready[r] = (start[0] + fill, start[1], start[2])
                    last[r] = end
                    by_value[r] = k
                continue
            for r in o.results:
                ready[r] = (start[0] + k.latency_cycles, start[1] + k.delay_ns, start[2] + k.sequential)
                last[r] = max(ready[r][0], max((last.get(v, 0) for v in o.operands), default=0) + k.latency_cycles)
                by_value[r] = k
        elif o.name == "df.channel":
            src = o.operands[0]
            ready[o.results[0]] = ready.get(src, (0, 0.0, 0))
            last[o.results[0]] = last.get(src, 0)
            by_value[o.results[0]] = by_value.get(src)
            if attr(o, "kind", "array") == "stream":
                channels.append(_channel(o, by_value.get(src), device))
    ret = ops[-1] if ops else None
    finish = max((ready.get(v, (0, 0.0, 0)) for v in (ret.operands if ret is not None else [])), default=(0, 0.0, 0))
    one_pipeline = io_type == "io_parallel" and all(k.strategy in UNROLLED for k in kernels)
    usable = period * (1.0 - CLOCK_UNCERTAINTY)
    if one_pipeline:
        # the top PIPELINE inlines the kernels: their combinational paths chain across layer boundaries
        # (+1: the registered ap_vld input ports)
        latency = 1 + finish[2] + math.ceil(finish[1] / usable - 1e-9)
        ii = max((k.ii for k in kernels), default=1)
        schedule = "pipeline"
    else:
        latency = max(1, finish[0], max((last.get(v, 0) for v in (ret.operands if ret is not None else [])),
                                        default=0))
        ii = max((k.ii for k in kernels), default=1)
        schedule = "dataflow"
    total = {key: sum(getattr(k, key) for k in kernels) for key in ADDITIVE}
    for ch in channels:
        for key in ("lut", "ff", "bram18", "uram"):
            total[key] += ch[key]
    total.update({
        "latency_cycles": latency, "ii": ii, "latency_ns": round(latency * period, 3),
        "interval_ns": round(ii * period, 3), "schedule": schedule,
        "fifo_bits": sum(ch["bits"] for ch in channels),
        "part": part, "device": device.name, "clock_ns": period, "clock_mhz": round(1e3 / period, 3),
        "utilization": {r: round(100.0 * total[r] / cap, 2) if cap else (0.0 if total[r] == 0 else math.inf)
                        for r, cap in device.totals().items()},
    })
    return {"layers": [k.row() for k in kernels], "channels": channels, "total": total}


def _stream_tokens(ops) -> dict:
    """io_stream: kernel -> tokens (spatial positions) it consumes or produces per sample, from the
    `tokens` of its stream channels (the larger of input and output)."""
    from fxflow.ir import ir
    tokens: dict = {}
    producer = {}
    for o in ops:
        if o.name == "df.kernel":
            for r in o.results:
                producer[r] = o
        elif o.name == "df.channel" and attr(o, "kind", "array") == "stream":
            t = int(attr(o, "tokens", 1))
            src = o.operands[0]
            if isinstance(src, ir.OpResult) and src.owner.name == "df.kernel":
                tokens[src.owner] = max(tokens.get(src.owner, 1), t)
            for use in o.results[0].uses:
                if use.owner.name == "df.kernel":
                    tokens[use.owner] = max(tokens.get(use.owner, 1), t)
    return tokens


def _stream_kernel(k: KernelEstimate, tokens: int) -> int:
    """Rescale a kernel estimated for a whole tensor to io_stream, where it handles one token (all channels of
    one position) per step: its datapath is 1/tokens of the whole-tensor one, a sample takes `tokens` steps
    of II = reuse factor, and its results start after the datapath's own latency (the fill, returned)."""
    for key in ("multipliers", "dsp", "lut", "ff"):
        setattr(k, key, math.ceil(getattr(k, key) / tokens))
    fill = k.latency_cycles
    step = max(1, k.reuse_factor if k.strategy in UNROLLED else k.ii)
    k.ii = tokens * step
    k.latency_cycles = fill + tokens * step
    k.tokens_in = k.tokens_out = tokens
    return fill


def token_width(value, tokens: int) -> int:
    """Bits of one stream token: the tensor's bits spread over its tokens."""
    return math.ceil(size_of(value) * fmt_of(value, "stream channel").width / max(tokens, 1))


def _channel(op, producer: KernelEstimate | None, device: Device) -> dict:
    """A stream FIFO: shift registers (LUTs) up to SRL_MAX_DEPTH tokens, block RAM beyond."""
    depth = int(attr(op, "depth", 1))
    tokens = int(attr(op, "tokens", producer.tokens_out if producer is not None else 1))
    width = token_width(op.results[0], tokens)
    row = {"channel": producer.kernel if producer is not None else "", "depth": depth, "width": width,
           "bits": depth * width, "lut": 0, "ff": width, "bram18": 0, "uram": 0}
    if depth <= SRL_MAX_DEPTH:
        row["lut"] = math.ceil(depth / 32) * width
    else:
        row["bram18"] = bram18_for(width, depth)
    return row


def check_options(part, clock) -> None:
    """Validate a part / clock pair early (CLI), with the estimator's own errors."""
    dev = device_for(part if part is not None else DEFAULT_PART)
    if clock is not None:
        clock_period(clock, dev)

