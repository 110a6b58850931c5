"""df.graph -> CIRCT hw/comb/seq: one `hw.module` per df.kernel plus a top, in CIRCT's own MLIR context.

CIRCT ships its own MLIR build, so nothing is shared with fxflow's (torch-mlir) context: this walks the
df/fxp IR and *builds* the hardware with CIRCT's Python builders.

Timing (documented in docs/rtl.md): a fixed-latency pipeline.  A kernel with reuse factor 1 is
combinational logic followed by `pipeline` register stages (default 1); a dense kernel with reuse factor
R > 1 latches its input on `start`, runs ceil(K / ceil(K/R)) cycles on ceil(K/R) * N shared multipliers and
registers its result: latency R + 1.  The top aligns every kernel's inputs to its start time with delay
registers, shifts `in_valid` along the same schedule to produce `out_valid`, and accepts a new sample
every II cycles (II = the largest R; `in_ready` says when).  Every value is then stable for II cycles
after its arrival, which is what each kernel needs.
"""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass

import numpy as np

import circt
from circt import ir, passmanager
from circt.dialects import comb, hw, seq

from fxflow.dialects.df.graph import element_ranges
from fxflow.dialects.fxp import format_of
from fxflow.emulator import constant_value
from fxflow.errors import ConfigError, FxflowError, InternalError, UnsupportedOpError
from fxflow.fixed import FixedFormat
from fxflow.ir import ir as fir
from fxflow.names import c_identifier

from . import signals as s
from .approx import approx_product
from .fixed import assign, port
from .ops import OpContext, Value, accumulate, build_op, constant, dense_plan, product
from .options import RtlOptions


@dataclass
class KernelInfo:
    name: str  # hw.module name
    layer: str
    ops: list[str]
    reuse_factor: int  # effective: cycles one sample occupies the kernel
    latency: int  # cycles from its inputs to its registered outputs
    start: int = 0  # cycle (after the top accepts a sample) its inputs are valid
    multipliers: int = 0  # non-constant products (time-multiplexed dense)
    levels: int = 0  # clock_mhz: adder levels on the longest path of one register stage of its adder graph


@dataclass
class RtlDesign:
    """The built hardware: CIRCT module (own context), the schedule, and the top's port layout."""

    context: ir.Context
    module: ir.Module
    top: str
    kernels: list[KernelInfo]
    latency: int
    interval: int
    inputs: list[tuple[tuple[int, ...], FixedFormat]]
    outputs: list[tuple[tuple[int, ...], FixedFormat]]
    _verilog: str | None = None

    def circt_text(self) -> str:
        with self.context:
            return str(self.module)

    def verilog(self) -> str:
        """SystemVerilog of the whole design (a lowered clone; the hw/comb/seq module stays as built).
        Exported once: rtl_sim, synth and write all read the same text."""
        if self._verilog is not None:
            return self._verilog
        with self.context, _ours_rejected(f"the CIRCT IR fxflow built for {self.top} (ExportVerilog)"):
            clone = ir.Module.parse(str(self.module))
            # no source locations in the text; no block-local variables (yosys' SystemVerilog subset)
            clone.operation.attributes["circt.loweringOptions"] = ir.StringAttr.get(
                "locationInfoStyle=none,disallowLocalVariables")
            passmanager.PassManager.parse(
                "builtin.module(lower-seq-to-sv,canonicalize,cse,hw.module(prettify-verilog))").run(clone.operation)
            buf = io.StringIO()
            circt.export_verilog(clone, buf)
            self._verilog = buf.getvalue()
            return self._verilog


def port_names(prefix: str, index: int, count: int) -> list[str]:
    return [f"{prefix}{index}_{j}" for j in range(count)]


def clock_type():
    return seq.ClockType.get()


def itype(w: int) -> ir.Type:
    return ir.IntegerType.get_signless(w)


def check_port(fmt: FixedFormat | None, what: str, layer: str) -> FixedFormat:
    """A port's format.  Any fixed-point width works (formats stop at 1,024 bits; the testbench passes ports
    above 64 bits as Verilator's VlWide word arrays)."""
    if fmt is None:
        raise UnsupportedOpError(f"the RTL backend needs fixed-point {what} (layer '{layer}')", layer=layer)
    return fmt


@contextlib.contextmanager
def _in_layer(layer: str):
    """A builder's UnsupportedOpError that does not know its layer (signals.py) names `layer`."""
    try:
        yield
    except UnsupportedOpError as e:
        if e.layer is not None:
            raise
        raise UnsupportedOpError(f"{e} (layer '{layer}')", layer=layer) from None


def _shape_fmt(v, what: str, layer: str) -> tuple[tuple[int, ...], FixedFormat]:
    t = fir.RankedTensorType(v.type)
    return tuple(t.shape), check_port(format_of(t.element_type), what, layer)


# --- kernels --------------------------------------------------------------------------------------------
def _kernel_ops(kernel) -> list:
    return [op.operation for op in kernel.regions[0].blocks[0].operations]


def _register(w: s.Wire, clk, stages: int, name: str, enable=None) -> s.Wire:
    v = w.value
    for i in range(stages):
        if enable is None:
            v = seq.CompRegOp(v.type, v, clk, name=f"{name}_r{i}").result
        else:
            v = seq.CompRegClockEnabledOp(v.type, v, clk, enable, name=f"{name}_r{i}").result
    return s.Wire(v, w.lo, w.hi)


def _build_kernel(kernel, name: str, layer: str, opts: RtlOptions) -> tuple[hw.HWModuleOp, KernelInfo]:
    products, stages = opts.for_layer(layer)
    strategy = fir.StringAttr(kernel.attributes["strategy"]).value if "strategy" in kernel.attributes else ""
    if strategy == "distributed_arithmetic":
        products = "adder_graph"  # the layer's strategy asks for the shared adder graph in every backend
    block = kernel.regions[0].blocks[0]
    in_types = [_shape_fmt(a, "inputs", layer) for a in block.arguments]
    in_ranges = [element_ranges(v) for v in kernel.operands]
    ops = _kernel_ops(kernel)
    out_vals = list(ops[-1].operands)
    out_types = [_shape_fmt(v, "outputs", layer) for v in out_vals]
    compute = [o for o in ops[:-1] if o.name != "fxp.constant"]
    rf = fir.IntegerAttr(kernel.attributes["reuse_factor"]).value if "reuse_factor" in kernel.attributes else 1
    tdm = rf > 1 and [o.name for o in compute] == ["fxp.dense"]
    if rf > 1 and not tdm and any(o.name in ("fxp.dense", "fxp.conv") for o in compute):
        raise UnsupportedOpError(f"the RTL backend time-multiplexes dense layers only; layer '{layer}' "
                                 f"({', '.join(o.name for o in compute)}) needs reuse_factor 1", layer=layer)
    # a clock target pipelines a kernel that is one dense adder graph inside the graph (registers by delay)
    timed = (bool(opts.clock_mhz) and not tdm and products == "adder_graph"
             and [o.name for o in compute] == ["fxp.dense"])
    clocked = tdm or stages > 0 or timed
    inputs = [(n, itype(f.width)) for i, (sh, f) in enumerate(in_types)
              for n in port_names("x", i, math.prod(sh))]
    if clocked:
        inputs.append(("clk", clock_type()))
    if tdm:
        inputs.append(("start", itype(1)))
    outputs = [(n, itype(f.width)) for i, (sh, f) in enumerate(out_types) for n in port_names("y", i, math.prod(sh))]
    info = KernelInfo(name, layer, [o.name for o in compute], 1, stages)

    def body(mod):
        args = list(mod.entry_block.arguments)
        values, pos = {}, 0
        for a, (sh, f), r in zip(block.arguments, in_types, in_ranges):
            n = math.prod(sh)
            wires = np.empty(n, dtype=object)
            for j in range(n):
                wires[j] = (s.Wire(args[pos + j], f.min_int, f.max_int) if r is None else
                            s.from_bits(args[pos + j], f.width, int(r[0][j]), int(r[1][j])))
            values[a] = Value(wires.reshape(sh), f)
            pos += n
        clk = args[pos] if clocked else None
        if tdm:
            y = _tdm_dense(compute[0], values[block.arguments[0]], clk, args[pos + 1], products, info)
            results = [y]
        else:
            consts = {}
            for o in ops[:-1]:
                if o.name == "fxp.constant":
                    consts[o.results[0]] = constant_value(o)
                    continue
                args_in = [values[v] for v in o.operands if v not in consts]
                octx = OpContext(consts, products, clk=clk if timed else None,
                                 budget_ns=clock_budget_ns(opts.clock_mhz) if timed else None)
                values[o.results[0]] = build_op(o, args_in, octx)
                info.latency += octx.stages
                info.levels = octx.levels
            results = [values[v] for v in out_vals]
        ports = {}
        for i, (val, (sh, f)) in enumerate(zip(results, out_types)):
            flat = val.wires.reshape(-1)
            for j, nm in enumerate(port_names("y", i, flat.size)):
                w = port(flat[j], f)
                ports[nm] = w.value if tdm else _register(w, clk, stages, f"{nm}").value
        return ports

    with _in_layer(layer):
        mod = hw.HWModuleOp(name, inputs, outputs, body_builder=body)
    return mod, info


def clock_budget_ns(clock_mhz: float) -> float:
    """The delay one register stage may take at `clock_mhz`: the period less the estimator's clock uncertainty."""
    from fxflow.estimate.base import CLOCK_UNCERTAINTY

    return 1000.0 / clock_mhz * (1.0 - CLOCK_UNCERTAINTY)


def _placeholder(width: int):
    return hw.ConstantOp(ir.IntegerAttr.get(itype(width), 0))


def _feedback_reg(width: int, clk, name: str):
    """A register whose input is connected later (`_connect`): counters and accumulators."""
    ph = _placeholder(width)
    reg = seq.CompRegOp(itype(width), ph.result, clk, name=name)
    return reg, ph


def _connect(reg, ph, value) -> None:
    reg.operation.operands[0] = value
    ph.operation.erase()


def _tdm_dense(o, x: Value, clk, start, products: str, info: KernelInfo) -> Value:
    """Reuse factor R: ceil(K/R) products per output and cycle on shared multipliers, in k order."""
    ctx = OpContext({v: constant_value(v.owner) for v in o.operands[1:]}, products)
    w, b = constant(o, 1, ctx, "weight"), constant(o, 2, ctx, "bias")
    plan = dense_plan(o, x.fmt, w, b)
    out = format_of(fir.RankedTensorType(o.results[0].type).element_type)
    rf = fir.IntegerAttr(o.parent.attributes["reuse_factor"]).value
    xs = x.wires.reshape(-1)
    kk, nn = plan.w.shape
    per = -(-kk // rf)  # products per output and cycle
    cycles = -(-kk // per)
    info.reuse_factor, info.latency, info.multipliers = cycles, cycles + 1, per * nn
    xr = [_register(xw, clk, 1, f"x_{k}", enable=start) for k, xw in enumerate(xs)]
    cw = max((cycles - 1).bit_length(), 1)
    creg, cph = _feedback_reg(cw, clk, "step")
    c = s.Wire(creg.result, 0, (1 << cw) - 1)
    last = s.Wire(s.icmp("eq", creg.result, s.const_value(cycles - 1, cw)), 0, 1)
    first = s.icmp("eq", creg.result, s.const_value(0, cw))
    step = s.mux(s.Bit(start), s.const(0), s.reinterpret(s.add(c, s.const(1)), cw, False))
    _connect(creg, cph, s.extend(step, cw))
    acc, pf = plan.acc, plan.x_fmt.f + plan.w_fmt.f
    ys = np.empty(nn, dtype=object)
    for n in range(nn):
        areg, aph = _feedback_reg(acc.width, clk, f"acc_{n}")
        a_prev = s.Wire(areg.result, acc.min_int, acc.max_int)
        base = s.mux(s.Bit(first), s.const(int(plan.acc0[n])), a_prev)
        terms = []
        for p in range(per):
            ks = [t * per + p for t in range(cycles)]
            xsel = s.select(c, [xr[k] if k < kk else s.const(0) for k in ks])
            wsel = s.rom(c, [int(plan.w[k, n]) if k < kk else 0 for k in ks])
            term = product(xsel, wsel, plan, products, info.layer)
            if plan.mult is not None and wsel.lo <= 0 <= wsel.hi:  # a zero weight adds nothing (the C++ skips it)
                term = s.mux(s.compare("eq", wsel, s.const(0)), s.const(0), term)
            terms.append(term)
        a_next = accumulate(base, terms, pf, plan)
        _connect(areg, aph, s.extend(a_next, acc.width))
        y = port(assign(a_next, acc.f, out), out)
        ys[n] = _register(y, clk, 1, f"y_{n}", enable=last.value)
    return Value(ys.reshape(fir.RankedTensorType(o.results[0].type).shape), out)


# --- the graph -------------------------------------------------------------------------------------------
def lower_to_rtl(module, options: RtlOptions | dict | None = None) -> RtlDesign:
    """Build the RTL of the single df.graph in `module` (fxflow's context; io_parallel designs)."""
    opts = RtlOptions.from_dict(options)
    graphs = [op.operation for op in module.body.operations if op.operation.name == "df.graph"]
    if len(graphs) != 1:
        raise FxflowError(f"the RTL backend expects one df.graph, found {len(graphs)}")
    graph = graphs[0]
    io_type = fir.StringAttr(graph.attributes["io_type"]).value if "io_type" in graph.attributes else "io_parallel"
    if io_type != "io_parallel":
        raise ConfigError(f"the RTL backend builds io_parallel designs (got io_type '{io_type}')")
    top = c_identifier(fir.StringAttr(graph.attributes["sym_name"]).value)
    gblock = graph.regions[0].blocks[0]
    with new_circt_module() as (ctx, cmod):
        kernels = []
        for op in gblock.operations:
            o = op.operation
            if o.name == "df.kernel":
                layer = fir.StringAttr(o.attributes["layer"]).value
                name = f"{top}_{c_identifier(fir.StringAttr(o.attributes['sym_name']).value)}"
                mod, info = _build_kernel(o, name, layer, opts)
                kernels.append((o, mod, info))
        in_types = [_shape_fmt(a, "inputs", "input") for a in gblock.arguments]
        ret = list(gblock.operations)[-1].operation
        out_types = [_shape_fmt(v, "outputs", "output") for v in ret.operands]
        design = _build_top(top, gblock, kernels, in_types, out_types, ret)
    return RtlDesign(ctx, cmod, top, [k[2] for k in kernels], design[0], design[1], in_types, out_types)


@contextlib.contextmanager
def new_circt_module():
    """A fresh CIRCT context and module to build into (insertion point at its body); verified and
    canonicalized (canonicalize, cse) when the `with` ends."""
    ctx = ir.Context()
    circt.register_dialects(ctx)
    with ctx, ir.Location.unknown():
        cmod = ir.Module.create()
        with ir.InsertionPoint(cmod.body):
            yield ctx, cmod
        with _ours_rejected("the CIRCT IR fxflow built"):
            cmod.operation.verify()
            passmanager.PassManager.parse("builtin.module(canonicalize,cse)").run(cmod.operation)


@contextlib.contextmanager
def _ours_rejected(what: str):
    """CIRCT rejecting IR that fxflow generated is a bug in fxflow: an InternalError, not a raw MLIRError."""
    try:
        yield
    except ir.MLIRError as e:
        raise InternalError(f"CIRCT rejects {what}: {e}", where=what) from None


def _build_top(top, gblock, kernels, in_types, out_types, ret):
    interval = max([k[2].reuse_factor for k in kernels] + [1])
    inputs = [("clk", clock_type()), ("rst", itype(1)), ("in_valid", itype(1))]
    inputs += [(n, itype(f.width)) for i, (sh, f) in enumerate(in_types) for n in port_names("x", i, math.prod(sh))]
    outputs = [("in_ready", itype(1)), ("out_valid", itype(1))]
    outputs += [(n, itype(f.width)) for i, (sh, f) in enumerate(out_types) for n in port_names("y", i, math.prod(sh))]
    sched = {}

    def body(mod):
        args = list(mod.entry_block.arguments)
        clk, rst, in_valid = args[:3]
        vals, pos = {}, 3  # MLIR value -> (list of i<w> values, arrival cycle)
        for a, (sh, f) in zip(gblock.arguments, in_types):
            n = math.prod(sh)
            vals[a] = (args[pos:pos + n], 0)
            pos += n
        ready, accept = input_control(clk, rst, in_valid, interval)
        valid_taps = [accept]  # valid_taps[t]: the accepted sample's valid bit, t cycles later

        def valid_at(t):
            while len(valid_taps) <= t:
                prev = valid_taps[-1]
                valid_taps.append(seq.CompRegOp(prev.type, prev, clk, reset=rst, reset_value=s.const_value(0, 1),
                                                name=f"valid_{len(valid_taps)}").result)
            return valid_taps[t]

        order = iter(kernels)  # the kernels in graph order, as built
        for op in gblock.operations:
            o = op.operation
            if o.name == "df.channel":
                vals[o.results[0]] = vals[o.operands[0]]
            elif o.name == "df.kernel":
                _, kmod, info = next(order)
                start = max([vals[v][1] for v in o.operands] + [0])
                info.start = start
                mapping = {}
                for i, v in enumerate(o.operands):
                    wires, t = vals[v]
                    for j, nm in enumerate(port_names("x", i, len(wires))):
                        mapping[nm] = _delay(wires[j], clk, start - t, f"{info.name}_{nm}")
                if "clk" in kmod.type.input_names:
                    mapping["clk"] = clk
                if "start" in kmod.type.input_names:
                    mapping["start"] = valid_at(start)
                inst = kmod.instantiate(f"u_{info.name}", **mapping)
                results = list(inst.operation.results)
                pos = 0
                for i, r in enumerate(o.results):
                    n = math.prod(fir.RankedTensorType(r.type).shape)
                    vals[r] = (results[pos:pos + n], start + info.latency)
                    pos += n
        latency = max([vals[v][1] for v in ret.operands] + [0])
        sched["latency"] = latency
        ports = {"in_ready": ready, "out_valid": valid_at(latency)}
        for i, v in enumerate(ret.operands):
            wires, t = vals[v]
            for j, nm in enumerate(port_names("y", i, len(wires))):
                ports[nm] = _delay(wires[j], clk, latency - t, f"out_{nm}")
        return ports

    hw.HWModuleOp(top, inputs, outputs, body_builder=body)
    return sched["latency"], interval


def _delay(v, clk, cycles: int, name: str):
    for i in range(cycles):
        v = seq.CompRegOp(v.type, v, clk, name=f"{name}_d{i}").result
    return v


def input_control(clk, rst, in_valid, interval: int):
    """(in_ready, accept): a new sample every `interval` cycles."""
    if interval == 1:
        return s.const_value(1, 1), in_valid
    w = max((interval - 1).bit_length(), 1)
    creg, cph = _feedback_reg(w, clk, "wait")
    idle = s.icmp("eq", creg.result, s.const_value(0, w))
    accept = comb.AndOp([in_valid, idle]).result
    down = comb.SubOp(creg.result, s.const_value(1, w)).result
    nxt = comb.MuxOp(accept, s.const_value(interval - 1, w), comb.MuxOp(idle, creg.result, down).result).result
    nxt = comb.MuxOp(rst, s.const_value(0, w), nxt).result
    _connect(creg, cph, nxt)
    return idle, accept


def multiplier_design(mults: list, top: str = "multipliers"):
    """A stand-alone RtlDesign of approximate multipliers on shared operands: inputs x0_0 = a, x1_0 = b (stored
    integers), one output y<i>_0 per multiplier, each multiplier its own hw.module (yosys counts each), no
    registers (latency 0).  For exhaustive Verilator checks against the tables and for cost characterisation."""
    if not mults:
        raise UnsupportedOpError("multiplier_design needs at least one multiplier")
    wa, sa, wb, sb = mults[0].wa, mults[0].sa, mults[0].wb, mults[0].sb
    if any((m.wa, m.sa, m.wb, m.sb) != (wa, sa, wb, sb) for m in mults):
        raise UnsupportedOpError("multiplier_design takes multipliers of one operand shape")
    fa, fb = FixedFormat(int(sa), wa - int(sa), 0), FixedFormat(int(sb), wb - int(sb), 0)
    outs = []
    for m in mults:
        lo, hi = m.product_range()
        outs.append(check_port(FixedFormat(int(lo < 0), s.width_of(lo, hi) - int(lo < 0), 0), "products", m.spec))
    with new_circt_module() as (ctx, cmod):
        mods = []
        for m, fp in zip(mults, outs):
            def body(mod, m=m, fp=fp):
                a, b = mod.entry_block.arguments
                p = approx_product(s.Wire(a, fa.min_int, fa.max_int), s.Wire(b, fb.min_int, fb.max_int), m, m.spec)
                return {"p": s.extend(p, fp.width)}
            mods.append(hw.HWModuleOp(f"{top}_{m.c_name}", [("a", itype(wa)), ("b", itype(wb))],
                                      [("p", itype(fp.width))], body_builder=body))

        def top_body(mod):
            clk, rst, in_valid, a, b = mod.entry_block.arguments
            ready, accept = input_control(clk, rst, in_valid, 1)
            ports = {"in_ready": ready, "out_valid": accept}
            for i, km in enumerate(mods):
                ports[f"y{i}_0"] = km.instantiate(f"u{i}", a=a, b=b).operation.results[0]
            return ports

        hw.HWModuleOp(top, [("clk", clock_type()), ("rst", itype(1)), ("in_valid", itype(1)),
                            ("x0_0", itype(wa)), ("x1_0", itype(wb))],
                      [("in_ready", itype(1)), ("out_valid", itype(1))]
                      + [(f"y{i}_0", itype(fp.width)) for i, fp in enumerate(outs)], body_builder=top_body)
    return RtlDesign(ctx, cmod, top, [], 0, 1, [((1,), fa), ((1,), fb)], [((1,), fp) for fp in outs])
