"""Latency and resource estimates of a `df.graph` before any vendor tool runs (model: docs/estimates.md).

    est = estimate(module, part="xcvu9p-flga2104-2L-e", clock="200MHz")
    est["layers"][i]   {"layer", "kernel", "op", "latency_cycles", "ii", "dsp", "lut", "ff", "bram18", ...}
    est["channels"]    stream FIFOs: depth, token width, memory
    est["total"]       the design: latency (cycles and ns), II, resources, utilization of the part

The model is written per fxp op, one file per op family (estimate_<family>.py): `@op_model(DenseOp, work=...)`
registers a function `cost(ctx, op) -> OpCost` (and, for ops with multiplications, the work the reuse factor
divides).  An op with no model (listed in `DEFAULT_COST`) costs no multiplications, one adder level of delay
(latency 1) and one LUT and one FF per result bit (element-wise work).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Callable

from .devices import Device, bram18_for, clock_period, device_for
from .dialects.fxp import AddConstantOp, ClampOp, ConstantOp, MulOp, OpRegistry, SubOp
from .errors import IRError

CLOCK_UNCERTAINTY = 0.27  # Vitis HLS default: 27 % of the period is kept free for routing
DSP_MIN_WIDTH = 9  # a product goes to DSPs only when both operands are at least this wide (hls4ml: weight >= 9)
DSP_ADD_MAX = 48  # widest sum a DSP post-adder holds (not used for LUT savings: see docs)
SRL_MAX_DEPTH = 64  # FIFOs up to this depth are shift registers (LUTs), deeper ones block RAM
RESOURCES = ("dsp", "lut", "ff", "bram18", "uram")


@dataclass
class OpCost:
    """What one op of a kernel costs.  `delay_ns` chains inside a pipeline; `cycles` is set instead by
    sequential (loop-based) implementations whose latency does not come from a combinational path."""

    work: int = 0  # multiplications the reuse factor divides (K*N for dense)
    multiplications: int = 0  # products computed per sample (zero weights skipped when unrolled)
    zero_weights: int = 0
    multipliers: int = 0
    dsp: int = 0
    lut: int = 0
    ff: int = 0
    bram18: int = 0
    uram: int = 0
    delay_ns: float = 0.0
    cycles: int | None = None
    tokens_in: int = 1  # stream tokens per sample on each input / output (1: the whole tensor)
    tokens_out: int = 1


@dataclass(frozen=True)
class Ctx:
    """What an op model sees: the part, the clock and the kernel's parallelism knobs."""

    device: Device
    period: float
    reuse_factor: int
    strategy: str
    where: str

    @property
    def usable(self) -> float:
        return self.period * (1.0 - CLOCK_UNCERTAINTY)

    def t_add(self, width: int) -> float:
        fam = self.device.family
        return fam.t_add + fam.t_add_bit * width


CostFn = Callable[[Ctx, object], OpCost]
WorkFn = Callable[[object], int]


@dataclass(frozen=True)
class OpModel:
    cost: CostFn
    work: WorkFn | None = None


OP_MODELS: OpRegistry = OpRegistry("estimate model")

# Ops without a model of their own, with the reason; they take `_default`'s cost (one LUT and one FF per
# result bit, one adder delay).  test_op_coverage.py asks every op of FXP_OPS.
DEFAULT_COST = {
    ConstantOp: "no cost of its own: kernels skip constants; their readers' models count the weights",
    SubOp: "default cost: one LUT and one FF per result bit, one adder delay",
    MulOp: "default cost (one LUT and one FF per result bit): no multiplier counted yet",
    ClampOp: "default cost: one LUT and one FF per result bit, one adder delay",
    AddConstantOp: "default cost: one LUT and one FF per result bit, one adder delay",
}


def op_model(*classes: type, work: WorkFn | None = None):
    """Register the cost model of the fxp op classes (and the work its reuse factor divides)."""

    return OP_MODELS.decorate(classes, lambda fn: OpModel(fn, work))


# --- IR helpers -----------------------------------------------------------------------------------

def _ir():
    from .ir import ir

    return ir


def fmt_of(value_or_type, where: str):
    from .dialects.fxp import format_of

    ir = _ir()
    t = value_or_type if isinstance(value_or_type, ir.Type) else value_or_type.type
    fmt = format_of(t)
    if fmt is None:
        raise IRError(f"estimator: {where} is not a fixed-point tensor ({t}); run fxp-assign-precision first")
    return fmt


def shape_of(value) -> tuple[int, ...]:
    ir = _ir()
    return tuple(int(d) for d in ir.RankedTensorType(value.type).shape)


def size_of(value) -> int:
    return math.prod(shape_of(value))


def _attr(op, name: str, default=None):
    ir = _ir()
    attrs = op.attributes
    if name not in attrs:
        return default
    a = attrs[name]
    if isinstance(a, ir.IntegerAttr):
        return ir.IntegerAttr(a).value
    if isinstance(a, ir.StringAttr):
        return ir.StringAttr(a).value
    return a


def constant_values(value):
    """The stored integers of a value defined by `fxp.constant` (numpy, its shape), else None."""
    from .ir import defining_op, elements_array

    owner = defining_op(value)
    if owner is None or owner.name != "fxp.constant":
        return None
    return elements_array(owner.attributes["value"], shape_of(value))


def _kernel_ops(kernel) -> list:
    return [o.operation for o in kernel.regions[0].blocks[0].operations
            if o.operation.name not in ("fxp.constant", "df.yield")]


def kernel_work(kernel) -> int | None:
    """The multiplications of a kernel that its reuse factor divides; None when no op has any."""
    works = [OP_MODELS[o.name].work(o) for o in _kernel_ops(kernel)
             if o.name in OP_MODELS and OP_MODELS[o.name].work is not None]
    return sum(works) if works else None


# --- op models ------------------------------------------------------------------------------------


def dsp_per_multiplier(device: Device, wx: int, sx: bool, ww: int, sw: bool) -> int:
    """DSP slices of one wx x ww product, or 0 when it stays in LUTs (an operand narrower than
    DSP_MIN_WIDTH).  Unsigned operands need one more bit on the signed DSP ports; wide products tile."""
    if min(wx, ww) < DSP_MIN_WIDTH:
        return 0
    a, b = wx + (not sx), ww + (not sw)
    fam = device.family
    return min(math.ceil(a / fam.dsp_a) * math.ceil(b / fam.dsp_b), math.ceil(b / fam.dsp_a) * math.ceil(a / fam.dsp_b))


def lut_multiplier_luts(wa: int, wb: int) -> int:
    """LUTs of a generic (exact) wa x wb LUT multiplier: one LUT6_2 per two partial products."""
    return math.ceil(wa * wb / 2)


def approx_products(ctx: Ctx, op, count: int, fa, fb, roles: tuple[str, str] = ("input", "weight")):
    """(lut, delay) of `count` parallel approximate multipliers of `op` (its `approx_mul`, fxflow.approx), or None
    for exact products.  An approximate multiplier is logic, never a DSP: each costs its multiplier's LUTs
    (`fxflow.approx.cost.lut_cost`: yosys-measured, else the gate model scaling the exact LUT multiplier)."""
    if "approx_mul" not in op.attributes:
        return None
    from .approx.cost import lut_cost
    from .emulator import op_multiplier

    mult = op_multiplier(op, fa, fb, roles)
    each, _ = lut_cost(mult, lut_multiplier_luts(mult.wa, mult.wb))
    fam = ctx.device.family
    return count * each, fam.t_lut_mul + fam.t_lut_mul_bit * (mult.wa + mult.wb)


def rounds(fmt) -> bool:
    return fmt.rounding != "TRN" or fmt.overflow != "WRAP"


def per_element_product(ctx: Ctx, op, param_index: int) -> OpCost:
    x, p, y = op.operands[0], op.operands[param_index], op.results[0]
    fx, fp, fy = (fmt_of(x, f"input of {ctx.where}"), fmt_of(p, f"parameter of {ctx.where}"),
                  fmt_of(y, f"result of {ctx.where}"))
    mults = size_of(y)
    dsp_each = dsp_per_multiplier(ctx.device, fx.width, fx.signed, fp.width, fp.signed)
    fam = ctx.device.family
    c = OpCost(multiplications=mults, multipliers=mults, dsp=mults * dsp_each,
               lut=(0 if dsp_each else mults * math.ceil(fx.width * fp.width / 2)) + mults * fy.width,
               ff=mults * fy.width)
    c.delay_ns = (fam.t_dsp if dsp_each else fam.t_lut_mul + fam.t_lut_mul_bit * (fx.width + fp.width)) + \
        ctx.t_add(fy.width)
    return c


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


def estimate_kernel(kernel, device: Device, period: float) -> KernelEstimate:
    name = _attr(kernel, "sym_name", "kernel")
    layer = _attr(kernel, "layer", name) or name
    rf = int(_attr(kernel, "reuse_factor", 1))
    strategy = _attr(kernel, "strategy", "latency")
    ops = _kernel_ops(kernel)
    main = next((o.name for o in ops if o.name in OP_MODELS and OP_MODELS[o.name].work is not None),
                ops[0].name if ops else "")
    est = KernelEstimate(layer, name, main.split(".", 1)[-1], rf, strategy)
    ctx = Ctx(device, period, rf, strategy, f"kernel '{name}' (layer '{layer}')")
    chained, first = 0.0, True
    for o in ops:
        model = OP_MODELS.get(o.name)
        c = model.cost(ctx, o) if model is not None else _default(ctx, o)
        for key in ("work", "multiplications", "zero_weights", "multipliers", *RESOURCES):
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
    est.ii = rf if strategy == "latency" else est.latency_cycles
    return est


def _find_graph(module):
    from fxflow.lowering.hls.design import find_graph

    return find_graph(module)


def _defaults():
    from fxflow.lowering.hls.design import DEFAULT_CLOCK_NS, DEFAULT_PART

    return DEFAULT_PART, DEFAULT_CLOCK_NS


def estimate(module, part: str | None = None, clock=None) -> dict:
    """Per-kernel and total estimates of the module's df.graph; `part` / `clock` default to the module's
    `fxflow.part` / `fxflow.clock_period` attributes, else xcvu13p at 5 ns."""
    ir = _ir()
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
    io_type = _attr(graph, "io_type", "io_parallel")
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
            k = estimate_kernel(o, device, period)
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
            if _attr(o, "kind", "array") == "stream":
                channels.append(_channel(o, by_value.get(src), device))
    ret = ops[-1] if ops else None
    finish = max((ready.get(v, (0, 0.0, 0)) for v in (ret.operands if ret is not None else [])), default=(0, 0.0, 0))
    one_pipeline = io_type == "io_parallel" and all(k.strategy == "latency" for k in kernels)
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
    total = {key: sum(getattr(k, key) for k in kernels) for key in ("work", "multiplications", "zero_weights",
                                                                   "multipliers", *RESOURCES)}
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
    ir = _ir()
    tokens: dict = {}
    producer = {}
    for o in ops:
        if o.name == "df.kernel":
            for r in o.results:
                producer[r] = o
        elif o.name == "df.channel" and _attr(o, "kind", "array") == "stream":
            t = int(_attr(o, "tokens", 1))
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
    step = max(1, k.reuse_factor if k.strategy == "latency" else k.ii)
    k.ii = tokens * step
    k.latency_cycles = fill + tokens * step
    k.tokens_in = k.tokens_out = tokens
    return fill


def token_width(value, tokens: int) -> int:
    """Bits of one stream token: the tensor's bits spread over its tokens."""
    return math.ceil(size_of(value) * fmt_of(value, "stream channel").width / max(tokens, 1))


def _channel(op, producer: KernelEstimate | None, device: Device) -> dict:
    """A stream FIFO: shift registers (LUTs) up to SRL_MAX_DEPTH tokens, block RAM beyond."""
    depth = int(_attr(op, "depth", 1))
    tokens = int(_attr(op, "tokens", producer.tokens_out if producer is not None else 1))
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
    from fxflow.lowering.hls.design import DEFAULT_PART

    dev = device_for(part if part is not None else DEFAULT_PART)
    if clock is not None:
        clock_period(clock, dev)


from . import estimate_elementwise  # noqa: E402,F401  (registers the relu/cast/add/scale_shift models)
from . import estimate_layers  # noqa: E402,F401  (registers the dense/conv/pool models)
from . import estimate_shape  # noqa: E402,F401  (registers the data-movement model)
from . import estimate_tables  # noqa: E402,F401  (registers the prelu/lut/softmax models)
from . import estimate_transformer  # noqa: E402,F401  (registers the matmul/layernorm models)
from . import estimate_recurrent  # noqa: E402,F401  (registers the fxp.rnn model)
