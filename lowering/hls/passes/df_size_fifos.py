"""df-size-fifos: size every `df.channel kind="stream"` FIFO by a cycle-level simulation of the df.graph.

Model (per kernel, from fxflow.estimate: II, latency, tokens): an invocation (one sample) reads its
input tokens one per cycle, all inputs in lockstep (an input with fewer tokens is done earlier), at most
one new invocation every II cycles and at most ceil(latency/II)+1 invocations in flight; D = max(1,
latency - tokens read) cycles after its last read its output tokens are written one per cycle, all
outputs in lockstep, in order, each write blocking while its FIFO is full (a blocked write stalls the
kernel).  A token written in cycle t is readable in cycle t+1.  Graph inputs always have data; graph
results always accept.  Tokens per sample of a channel: its `tokens` attribute, else the producer's.

Sizing: a run with unbounded FIFOs gives every sample's finishing cycle and each FIFO's peak
occupancy (a FIFO that deep never blocks, so it reproduces that run exactly).  Then, channel by
channel, the smallest depth whose run finishes every sample in the same cycle (no stall relative to
unbounded) and does not deadlock is found by bisection.  Depths the user fixed (`override`, or a
`fxflow.fixed_depth` attribute) are kept; if they deadlock, the error names the cycle and the channel.
Every run has a cycle budget; hitting it is an error that says so.  The graph gets
`fxflow.fifo_bits` (sized) and `fxflow.fifo_bits_naive` (every stream FIFO at one uniform depth: by
default the smallest that works everywhere, i.e. the largest sized depth).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from fxflow.dialects.df.graph import attr
from fxflow.errors import ConfigError, FxflowError
from fxflow.ir import i64_attr, ir

from fxflow.passes.registry import register_pass

INF = math.inf


class FifoDeadlock(FxflowError):
    """The graph cannot make progress with the given FIFO depths."""


class CycleBudgetExceeded(FxflowError):
    """A simulation ran out of its cycle budget."""


@dataclass
class SizeFifosOptions:
    part: str = ""  # default: the module's fxflow.part, else the emitter's default
    clock: str = ""  # ns or e.g. 200MHz; default: the module's fxflow.clock_period, else 5 ns
    samples: int = 8  # samples streamed through the graph per simulation
    max_cycles: int = 0  # cycle budget per simulation; 0: derived from the graph (see _budget)
    naive_depth: int = 0  # the uniform depth the savings are reported against; 0: the smallest uniform depth
    # that works (the largest sized depth, at least one sample's tokens)
    override: str = ""  # "channel=depth,...": depths to keep (channel names: producer->consumer)
    report: bool = False  # print a table of the sized FIFOs to stderr


@dataclass
class Proc:
    name: str
    ii: int
    latency: int
    inputs: list[int]  # channel indices
    outputs: list[int]
    tin: list[int] = field(default_factory=list)
    tout: list[int] = field(default_factory=list)


@dataclass
class Chan:
    name: str
    op: object  # the df.channel op (None for a graph input / result edge)
    tokens: int
    width: int
    depth: float  # INF while unbounded
    source: bool = False  # fed by the graph's input: always has data
    sink: bool = False  # read by df.return: always accepts
    fixed: bool = False


@dataclass
class Run:
    finish: list[int]  # per sample: cycle its last result token was written (max over results)
    peak: list[int]  # per channel: highest occupancy
    cycles: int


def simulate(procs: list[Proc], chans: list[Chan], samples: int, budget: int) -> Run:
    """Cycle-level run of `samples` samples; raises FifoDeadlock / CycleBudgetExceeded."""
    occ = [0] * len(chans)
    peak = [0] * len(chans)
    finish = [0] * samples
    sink_count = {i: 0 for i, c in enumerate(chans) if c.sink}
    st = []
    for p in procs:
        cap = max(1, math.ceil(p.latency / max(p.ii, 1))) + 1
        st.append({"inv": 0, "tok": 0, "last": -10**18, "pending": deque(), "cap": cap,
                   "rmax": max(p.tin, default=1), "wmax": max(p.tout, default=1)})
    t = 0
    while True:
        if all(n >= samples * chans[i].tokens for i, n in sink_count.items()):
            return Run(finish, peak, t)
        if t >= budget:
            raise CycleBudgetExceeded(f"df-size-fifos: the simulation hit its cycle budget of {budget} cycles "
                                      f"before {samples} samples left the graph (raise max-cycles)")
        snap = list(occ)
        progress = False
        waiting = False
        blocked_full, blocked_empty = None, None
        for p, s in zip(procs, st):
            # write the oldest finished invocation's next token on every output that still needs one
            if s["pending"]:
                inv, ready, done = s["pending"][0]
                if ready > t:
                    waiting = True
                else:
                    need = [c for c, n in zip(p.outputs, p.tout) if done < n]
                    full = [c for c in need if not chans[c].sink and snap[c] >= chans[c].depth]
                    if full:
                        blocked_full = blocked_full or (p.name, full[0])
                    else:
                        for c in need:
                            if chans[c].sink:
                                sink_count[c] += 1
                                if done == chans[c].tokens - 1:
                                    finish[inv] = max(finish[inv], t)
                            else:
                                occ[c] += 1
                                peak[c] = max(peak[c], occ[c])
                        progress = True
                        done += 1
                        if done >= s["wmax"]:
                            s["pending"].popleft()
                        else:
                            s["pending"][0] = (inv, ready, done)
            # read the next token of the current invocation on every input that still needs one
            if s["inv"] < samples and len(s["pending"]) < s["cap"] and (s["tok"] > 0 or t >= s["last"] + p.ii):
                need = [c for c, n in zip(p.inputs, p.tin) if s["tok"] < n]
                empty = [c for c in need if not chans[c].source and snap[c] <= 0]
                if empty:
                    blocked_empty = blocked_empty or (p.name, empty[0])
                else:
                    for c in need:
                        if not chans[c].source:
                            occ[c] -= 1
                    if s["tok"] == 0:
                        s["last"] = t
                    s["tok"] += 1
                    progress = True
                    if s["tok"] >= s["rmax"]:
                        delay = max(1, p.latency - s["rmax"])
                        s["pending"].append((s["inv"], t + delay, 0))
                        s["inv"] += 1
                        s["tok"] = 0
            elif s["inv"] < samples and s["tok"] == 0 and t < s["last"] + p.ii:
                waiting = True
        if not progress and not waiting:
            if blocked_full is not None:
                who, c = blocked_full
                raise FifoDeadlock(f"df-size-fifos: deadlock at cycle {t}: kernel '{who}' cannot write to the full "
                                   f"channel '{chans[c].name}' (depth {chans[c].depth:g})")
            who, c = blocked_empty if blocked_empty is not None else ("?", 0)
            raise FifoDeadlock(f"df-size-fifos: deadlock at cycle {t}: kernel '{who}' waits on the empty channel "
                               f"'{chans[c].name}'")
        t += 1


def _budget(procs: list[Proc], chans: list[Chan], samples: int) -> int:
    """Enough cycles for a fully serialized run (every kernel one after the other), times four."""
    per = sum(p.latency + p.ii + max(p.tin, default=1) + max(p.tout, default=1) for p in procs)
    return 4 * samples * per + 1000


# --- building the model from the IR ---------------------------------------------------------------

def build_model(graph, device, period) -> tuple[list[Proc], list[Chan]]:
    from fxflow.estimate import estimate_kernel, token_width

    block = graph.regions[0].blocks[0]
    ops = [o.operation for o in block.operations]
    producer: dict = {}  # value -> (kernel name, estimate)
    chans: list[Chan] = []
    chan_of: dict = {}  # value -> channel index (channel results and direct edges)
    procs: list[Proc] = []
    consumers: dict = {}
    for o in ops:
        if o.name in ("df.kernel", "df.return"):
            label = attr(o, "sym_name", "kernel") if o.name == "df.kernel" else "return"
            for v in o.operands:
                consumers.setdefault(v, []).append(label)
    ests = {}
    for o in ops:
        if o.name == "df.kernel":
            e = estimate_kernel(o, device, period)
            ests[o] = e
            for i, r in enumerate(o.results):
                producer[r] = (e.kernel + (f"#{i}" if len(o.results) > 1 else ""), e)
    for a in block.arguments:
        chans.append(Chan("input", None, 1, 0, INF, source=True))
        chan_of[a] = len(chans) - 1
    for o in ops:
        if o.name != "df.channel":
            continue
        src = o.operands[0]
        pname, pe = producer.get(src, ("input", None))
        tokens = attr(o, "tokens", pe.tokens_out if pe is not None else 1)
        name = f"{pname}->{','.join(consumers.get(o.results[0], ['?']))}"
        stream = attr(o, "kind", "array") == "stream"
        ch = Chan(name, o, max(1, tokens), token_width(o.results[0], tokens), INF if stream else attr(o, "depth", 1),
                  fixed=not stream or "fxflow.fixed_depth" in o.attributes)
        if ch.fixed and stream:
            ch.depth = attr(o, "depth", 1)
        chans.append(ch)
        chan_of[o.results[0]] = len(chans) - 1
    for o in ops:
        if o.name == "df.kernel":
            e = ests[o]
            ins = []
            for v in o.operands:
                if v not in chan_of:  # a kernel result used directly (no channel): an unbounded wire
                    chans.append(Chan(f"{producer[v][0]}->{e.kernel}", None, producer[v][1].tokens_out, 0, INF,
                                      fixed=True))
                    chan_of[v] = len(chans) - 1
                ins.append(chan_of[v])
            procs.append(Proc(e.kernel, max(1, e.ii), max(1, e.latency_cycles), ins, []))
    # outputs: every channel (or direct edge) whose source is this kernel's result
    index = {p.name: p for p in procs}
    for v, ci in list(chan_of.items()):
        if isinstance(v, ir.OpResult) and v.owner.name == "df.channel":
            src = v.owner.operands[0]
        else:
            src = v
        if src in producer:
            index[producer[src][1].kernel].outputs.append(ci)
    ret = ops[-1]
    for v in ret.operands:
        ci = chan_of.get(v)
        if ci is None:
            continue
        # the value read by df.return: results always accept; model as a sink edge after the channel
        chans.append(Chan(f"{chans[ci].name}->return", None, chans[ci].tokens, 0, INF, sink=True, fixed=True))
        _reroute_sink(procs, chans, ci, len(chans) - 1)
    for p in procs:
        p.outputs = sorted(set(p.outputs))
        p.tin = [chans[c].tokens for c in p.inputs]
        p.tout = [chans[c].tokens for c in p.outputs]
    return procs, chans


def _reroute_sink(procs, chans, ci, sink) -> None:
    """df.return reads channel `ci`: a pass-through process (latency 1) moves its tokens to the sink."""
    procs.append(Proc(f"return<-{chans[ci].name}", 1, 1, [ci], [sink]))


def _parse_overrides(text: str) -> dict[str, int]:
    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, sep, value = item.rpartition("=")
        try:
            depth = int(value)
        except ValueError:
            depth = 0
        if not sep or not name or depth < 1:
            raise ConfigError(f"df-size-fifos: override '{item}' must be channel=depth with depth >= 1")
        out[name.strip()] = depth
    return out


def size_fifos(graph, options: SizeFifosOptions | None = None, mop=None) -> dict:
    """Size the stream FIFOs of a df.graph op in place; returns {channels: [...], fifo_bits, fifo_bits_naive}."""
    from fxflow.devices import clock_period, device_for
    from fxflow.devices import DEFAULT_CLOCK_NS, DEFAULT_PART
    from fxflow.lowering.hls.design import design_attr

    options = options or SizeFifosOptions()
    if options.samples < 1:
        raise ConfigError(f"df-size-fifos: samples must be >= 1, got {options.samples}")
    part = options.part or (ir.StringAttr(design_attr(mop, graph, "fxflow.part")).value
                            if design_attr(mop, graph, "fxflow.part") is not None else DEFAULT_PART)
    clock = options.clock or DEFAULT_CLOCK_NS
    device = device_for(part)
    period = clock_period(clock, device)
    procs, chans = build_model(graph, device, period)
    overrides = _parse_overrides(options.override)
    by_name = {c.name: i for i, c in enumerate(chans) if c.op is not None}
    for name, depth in overrides.items():
        matches = [i for n, i in by_name.items() if n == name or n.split("->")[0] == name]
        if len(matches) != 1:
            known = ", ".join(sorted(by_name)) or "(none)"
            raise ConfigError(f"df-size-fifos: override names channel '{name}', which matches {len(matches)} "
                              f"channels; channels: {known}")
        ch = chans[matches[0]]
        ch.depth, ch.fixed = depth, True
    budget = options.max_cycles or _budget(procs, chans, options.samples)
    sized = [i for i, c in enumerate(chans) if c.op is not None and not c.fixed]
    # 1. unbounded (overrides kept): the reference schedule and peak occupancies
    ref = simulate(procs, chans, options.samples, budget)
    for i in sized:
        chans[i].depth = max(1, ref.peak[i])
    # 2. shrink channel by channel while every sample still finishes on time
    for i in sized:
        lo, hi = 1, int(chans[i].depth)
        while lo < hi:
            mid = (lo + hi) // 2
            chans[i].depth = mid
            try:
                ok = simulate(procs, chans, options.samples, budget).finish == ref.finish
            except FifoDeadlock:
                ok = False
            if ok:
                hi = mid
            else:
                lo = mid + 1
        chans[i].depth = lo
    final = simulate(procs, chans, options.samples, budget)
    streams = [c for c in chans if c.op is not None and attr(c.op, "kind", "") == "stream"]
    naive = options.naive_depth or max((max(c.tokens, int(c.depth)) for c in streams), default=1)
    rows = []
    for c in streams:
        c.op.attributes["depth"] = i64_attr(int(c.depth))
        rows.append({"channel": c.name, "depth": int(c.depth), "width": c.width, "tokens": c.tokens,
                     "bits": int(c.depth) * c.width, "fixed": c.fixed})
    bits = sum(r["bits"] for r in rows)
    naive_bits = sum(naive * c.width for c in streams)
    graph.attributes["fxflow.fifo_bits"] = i64_attr(bits)
    graph.attributes["fxflow.fifo_bits_naive"] = i64_attr(naive_bits)
    return {"channels": rows, "fifo_bits": bits, "fifo_bits_naive": naive_bits, "naive_depth": naive,
            "cycles": final.cycles, "finish": final.finish}


@register_pass("df-size-fifos", "Size stream FIFOs by a cycle-level simulation of the df.graph (no stall, "
               "no deadlock)", SizeFifosOptions)
def size_fifos_pass(module_op, options: SizeFifosOptions | None = None) -> None:
    import sys

    options = options or SizeFifosOptions()
    graphs = [o.operation for o in module_op.regions[0].blocks[0].operations if o.operation.name == "df.graph"]
    for g in graphs:
        res = size_fifos(g, options, module_op)
        if options.report:
            saved = res["fifo_bits_naive"] - res["fifo_bits"]
            for r in res["channels"]:
                print(f"df-size-fifos: {r['channel']}: depth {r['depth']} x {r['width']} bits"
                      + (" (fixed)" if r["fixed"] else ""), file=sys.stderr)
            print(f"df-size-fifos: {res['fifo_bits']} FIFO bits, {saved} fewer than depth {res['naive_depth']} "
                  f"everywhere ({res['fifo_bits_naive']} bits)", file=sys.stderr)
