"""Plan each unit of a df graph on PL or AIE: any number of AIE segments (each a contiguous run of units, one AIE
program with PLIO at both ends) between PL parts, e.g. PL -> AIE -> PL -> AIE.  `partition="auto"` evaluates
every legal set of segments (and none) and keeps the feasible plan of lowest LARE (ties: fewer AIE units, fewer
segments, then the earlier segments); a forced `{layer: "pl" | "aie"}` is checked and evaluated the same way
(each contiguous run of AIE layers is one segment).  Infeasible requests name the layer and the limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice

from fxflow.lowering.aie.device import AieFitError
from fxflow.errors import ConfigError, FxflowError

from fxflow.lowering.versal.cost import (Metric, Unit, aie_cost, boundary_fill_ns, build_units, no_cut, pl_cost,
                                         require_aie, token_cost)
from fxflow.lowering.versal.device import VersalDevice, get_versal_device
from fxflow.lowering.versal.options import VersalOptions

MAX_PLANS = 10_000  # auto: candidate segment sets evaluated at most (the fewest-segment sets first)


class VersalFitError(AieFitError):
    """A Versal plan that the device or the throughput target cannot accommodate; names layer and limit."""


Segment = tuple[int, int]  # units [a, b) on the AI Engines


@dataclass
class Plan:
    segments: tuple[Segment, ...]  # in dataflow order, never adjacent (adjacent AIE units are one segment)
    placement: dict[str, str]  # layer -> "pl" | "aie"
    pl: dict
    aie: dict | None  # the AIE parts together (one segment: its own figures), None when all on PL
    latency_ns: float
    interval_ns: float
    fill_ns: float
    r_pl: float
    r_aie: float
    lare: float
    problems: list[str] = field(default_factory=list)
    aie_segments: list[dict] = field(default_factory=list)  # per segment: aie_cost figures and its fill

    @property
    def feasible(self) -> bool:
        return not self.problems

    @property
    def segment(self) -> Segment | None:
        """The first AIE segment (the whole AIE part of a one-segment plan), None when all on PL."""
        return self.segments[0] if self.segments else None

    def segment_of(self, unit: int) -> int | None:
        """Index of the segment holding unit `unit`, None when it runs on PL."""
        return next((i for i, (a, b) in enumerate(self.segments) if a <= unit < b), None)

    def summary(self) -> dict:
        return {"placement": self.placement, "segment": list(self.segment) if self.segment else None,
                "segments": [list(s) for s in self.segments], "aie_segments": self.aie_segments,
                "latency_ns": self.latency_ns, "interval_ns": self.interval_ns,
                "rate_mhz": 1e3 / self.interval_ns if self.interval_ns else float("inf"), "fill_ns": self.fill_ns,
                "r_pl": self.r_pl, "r_aie": self.r_aie, "lare": self.lare, "pl": self.pl, "aie": self.aie,
                "problems": list(self.problems)}


def _as_segments(segments) -> tuple[Segment, ...]:
    """None, one (a, b) or a sequence of them -> a tuple of segments (the old one-segment calls keep working)."""
    if not segments:
        return ()
    if isinstance(segments[0], int):
        return (tuple(segments),)
    return tuple(tuple(s) for s in segments)


def combine(costs: list[dict]) -> dict:
    """The AIE parts of a plan together: tiles, ports, memory and latency add up, the interval is the slowest
    part's (they run concurrently on one array).  One segment: its own figures."""
    if len(costs) == 1:
        return costs[0]
    first = costs[0]
    out = {k: sum(c[k] for c in costs) for k in ("tiles", "plio_in", "plio_out", "columns", "memory_bytes",
                                                 "latency_cycles", "latency_ns", "plio_bytes_in", "plio_bytes_out")}
    out.update({k: max(c[k] for c in costs) for k in ("interval_cycles", "interval_ns", "batch_interval_ns")})
    out.update(batch=first["batch"], splits=[s for c in costs for s in c["splits"]])
    return out


class Planner:
    """The units of one df graph with their costs, and the evaluation of segment sets for them."""

    def __init__(self, graph, options: VersalOptions):
        self.options = options
        self.device: VersalDevice = get_versal_device(options.device)
        self.period = 1e3 / options.pl_clock_mhz
        self.graph = graph  # token segments are costed on its kernels (token_cost)
        self.units: list[Unit] = build_units(graph, self.device, self.period)
        self.cuts = cut_ok(graph, self.units)
        self.metric = Metric(options.weights, options.time)
        self.sample_ns = 1e3 / options.target_rate_mhz
        self.plio_limit = {"in": options.max_plio or self.device.plio_in, "out": options.max_plio or self.device.plio_out}
        self.tile_limit = options.max_tiles or self.device.aie.compute_tiles
        self._aie_costs: dict = {}

    # --- one plan ------------------------------------------------------------------------------------
    def segment_cost(self, seg: Segment) -> dict | str:
        """aie_cost of units [a, b) as one AIE program (cached: plans share segments), or why it does not fit."""
        if seg not in self._aie_costs:
            try:
                if any(u.aie.get("token") for u in self.units[seg[0]:seg[1]]):  # the attention path's program
                    ends = (cut_value(self.graph, self.units, c) for c in seg)
                    self._aie_costs[seg] = token_cost(self.units[seg[0]:seg[1]], *ends, self.device,
                                                      self.options.max_tiles)
                else:
                        self._aie_costs[seg] = aie_cost(self.units[seg[0]:seg[1]], self.device, self.options.batch,
                                                    self.options.max_tiles, self.options.objective,
                                                    self.options.max_plio)
            except AieFitError as e:
                self._aie_costs[seg] = str(e)
        return self._aie_costs[seg]

    def evaluate(self, segments) -> Plan:
        """One plan: `segments` is None (all on PL), one (a, b) or a sequence of them."""
        segs = _as_segments(segments)
        on_aie = {i for a, b in segs for i in range(a, b)}
        pl_units = [u for i, u in enumerate(self.units) if i not in on_aie]
        pl = pl_cost(pl_units, self.device, self.period)
        problems = [self._pl_over(r, pl, pl_units) for r in pl["fractions"] if pl["fractions"][r] > 1]
        costs, fill, per_seg, built = [], 0.0, [], []
        for k, (a, b) in enumerate(segs):
            seg = self.units[a:b]
            aie = self.segment_cost((a, b))
            if isinstance(aie, str):
                problems.append(aie)
                continue
            for d in ("in", "out"):
                if aie[f"plio_{d}"] > self.plio_limit[d]:
                    layer = (seg[0] if d == "in" else seg[-1]).name
                    problems.append(f"layer '{layer}' on AIE needs {aie[f'plio_{d}']} PLIO {d}put ports; the "
                                    f"limit is {self.plio_limit[d]}")
            seg_fill = boundary_fill_ns(aie["batch"], max(self.sample_ns, pl["interval_ns"]))
            fill += seg_fill
            costs.append(aie)
            built.append((a, b))
            per_seg.append({"segment": k, "units": [a, b], "layers": [x for u in seg for x in u.layers],
                            "fill_ns": seg_fill, **aie})
        aie = combine(costs) if costs else None
        if aie is not None and len(costs) > 1:  # the segments share one array and its PLIO ports
            problems += self._shared_over(segs, aie, dict(zip(built, costs)))
        latency = pl["latency_ns"] + fill + (aie["latency_ns"] if aie else 0.0)
        interval = max([pl["interval_ns"]] + [c["interval_ns"] for c in costs])
        if interval > self.sample_ns * (1 + 1e-9):
            problems.append(self._slow(pl_units, built, costs))
        r_pl = self.metric.r_pl(pl["fractions"]) if pl_units else 0.0
        r_aie = self.metric.r_aie(aie["tiles"], aie["plio_in"] + aie["plio_out"], self.device) if aie else 0.0
        placement = {layer: ("aie" if i in on_aie else "pl") for i, u in enumerate(self.units) for layer in u.layers}
        return Plan(segs, placement, pl, aie, latency, interval, fill, r_pl, r_aie,
                    self.metric.lare(r_pl + r_aie, latency, interval), problems, per_seg)

    def _shared_over(self, segs: tuple[Segment, ...], aie: dict, each: dict) -> list[str]:
        names = ", ".join(f"'{self.units[a].name}'..'{self.units[b - 1].name}'" for a, b in segs)
        out = []
        if aie["tiles"] > self.tile_limit:
            out.append(f"the {len(segs)} AIE segments ({names}) need {aie['tiles']} compute tiles together; "
                       f"{self.device.name} offers {self.tile_limit}")
        if aie["columns"] > self.device.aie.cols:  # side by side on the one array: disjoint columns
            cols = ", ".join(f"{_span(self, s)} at least {c['columns']}" for s, c in each.items())
            out.append(f"the {len(segs)} AIE segments need {aie['columns']} array columns side by side ({cols}); "
                       f"{self.device.name} has {self.device.aie.cols}")
        for d in ("in", "out"):
            if aie[f"plio_{d}"] > self.plio_limit[d]:
                out.append(f"the {len(segs)} AIE segments ({names}) need {aie[f'plio_{d}']} PLIO {d}put ports "
                           f"together; the limit is {self.plio_limit[d]}")
        return out

    def _pl_over(self, r: str, pl: dict, units: list[Unit]) -> str:
        big = max(units, key=lambda u: u.pl[r])
        return (f"the PL part needs {pl[r]} {r.upper()} ({pl['fractions'][r]:.0%} of {self.device.name}'s "
                f"{self.device.pl.totals()[r]}); the largest is layer '{big.name}' with {big.pl[r]}")

    def _slow(self, pl_units: list[Unit], segs: list[Segment], costs: list[dict]) -> str:
        """Every part slower than the target, with its bottleneck layer."""
        slow = []
        for (a, b), aie in zip(segs, costs):
            if aie["interval_ns"] > self.sample_ns:
                slow.append(f"the AIE part (layers '{self.units[a].name}'..'{self.units[b - 1].name}', grids "
                            f"{aie['splits']}) takes {aie['interval_ns']:.3g} ns per sample "
                            f"({aie['interval_cycles']} cycles per batch of {aie['batch']})")
        pl_slow = max(pl_units, key=lambda u: u.pl["ii"], default=None)
        if pl_slow is not None and pl_slow.pl["ii"] * self.period > self.sample_ns:
            slow.append(f"layer '{pl_slow.name}' on PL has II {pl_slow.pl['ii']} cycles = "
                        f"{pl_slow.pl['ii'] * self.period:.3g} ns at {self.options.pl_clock_mhz:g} MHz")
        return (f"{self.options.target_rate_mhz:g} MHz needs one sample every {self.sample_ns:.3g} ns; "
                + "; ".join(slow))

    # --- per-layer comparison ------------------------------------------------------------------------
    def per_unit(self) -> list[dict]:
        rows = []
        for i, u in enumerate(self.units):
            pl = pl_cost([u], self.device, self.period)
            row = {"layer": u.name, "layers": u.layers, "pl": {**{k: pl[k] for k in ("dsp", "lut", "ff", "bram18")},
                   "latency_cycles": pl["latency_cycles"], "ii": pl["ii"],
                   "latency_ns": pl["latency_ns"], "interval_ns": pl["interval_ns"],
                   "lare": self.metric.lare(self.metric.r_pl(pl["fractions"]), pl["latency_ns"], pl["interval_ns"])},
                   "aie": None, "aie_reason": u.aie_reason}
            if u.aie is not None:
                span = self.enclosing(i) if u.aie.get("token") else (i, i + 1)
                a = self.segment_cost(span)
                if span != (i, i + 1):  # its AIE figures are those of the smallest segment holding it
                    row["aie_span"] = [self.units[span[0]].name, self.units[span[1] - 1].name]
                if isinstance(a, str):
                    row["aie_reason"] = a
                else:
                    lat = a["latency_ns"] + boundary_fill_ns(a["batch"], self.sample_ns)
                    r = self.metric.r_aie(a["tiles"], a["plio_in"] + a["plio_out"], self.device)
                    row["aie"] = {"tiles": a["tiles"], "grid": a["splits"][0], "memory_bytes": a["memory_bytes"],
                                  "interval_cycles": a["interval_cycles"], "latency_cycles": a["latency_cycles"],
                                  "latency_ns": lat,
                                  "interval_ns": a["interval_ns"], "lare": self.metric.lare(r, lat, a["interval_ns"])}
            rows.append(row)
        return rows

    def enclosing(self, unit: int) -> Segment:
        """The smallest run of units holding `unit` with one tensor crossing each end (a layer inside a residual
        block, e.g. an attention between its LayerNorm and the add, only runs on the AIE with the whole block)."""
        a = max(j for j in range(unit + 1) if self.cuts[j])
        b = min((j for j in range(unit + 1, len(self.units) + 1) if self.cuts[j]), default=len(self.units))
        return a, b

    # --- choosing ------------------------------------------------------------------------------------
    def segments(self) -> list[Segment]:
        """Every legal single segment: AIE-capable units between two cuts."""
        n = len(self.units)
        return [(a, b) for a in range(n) for b in range(a + 1, n + 1)
                if self.cuts[a] and self.cuts[b] and all(u.aie is not None for u in self.units[a:b])]

    def segment_sets(self, limit: int = MAX_PLANS) -> list[tuple[Segment, ...]]:
        """Sets of non-adjacent legal segments in dataflow order, by number of segments (1, 2, ...; at most
        `max_segments` when > 0); a level that would exceed `limit` sets in all is left out (very long chains
        then consider fewer segments; the report's `plans_considered` says how many)."""
        singles = self.segments()
        after: dict[int, list[Segment]] = {}
        for s in singles:
            after.setdefault(s[0], []).append(s)
        n = len(self.units)

        def extend(sets, room):  # the next level, cut off past `room` sets (it is then left out)
            more = ((*ss, s) for ss in sets for start in range(ss[-1][1] + 1, n) for s in after.get(start, []))
            return list(islice(more, room + 1))

        out, level = [], [(s,) for s in singles]
        cap = self.options.max_segments or n
        while level and len(out) + len(level) <= limit:
            out += level
            level = extend(level, limit - len(out)) if len(level[0]) < cap else []
        return out

    def auto(self) -> Plan:
        plans = [self.evaluate(None)] + [self.evaluate(s) for s in self.segment_sets()]
        self.plans_considered, self.considered = len(plans), plans
        ok = [p for p in plans if p.feasible]
        if ok:
            return min(ok, key=lambda p: (p.lare, _aie_units(p), len(p.segments), p.segments))
        fastest = min(plans[1:] or plans, key=lambda p: p.interval_ns)
        # the plan missing the fewest limits (e.g. only the target rate): what the metric would pick at another
        # rate, which the fastest plan (often a small segment, its PL part over the device) does not show
        closest = min(plans[1:] or plans, key=lambda p: (len(p.problems), p.lare))
        lines = [f"all on PL: {'; '.join(plans[0].problems)}"]
        if fastest is not plans[0]:
            lines.append(f"fastest AIE plan ({_describe(self, fastest)}): {'; '.join(fastest.problems)}")
        if closest is not plans[0] and closest is not fastest:
            lines.append(f"AIE plan missing the fewest limits ({_describe(self, closest)}): "
                         f"{'; '.join(closest.problems)}")
        raise VersalFitError(f"no PL/AIE partition meets the target on {self.device.name}:\n  " + "\n  ".join(lines))

    def alternative(self, unit: int, target: str) -> Plan | None:
        """Of the plans `auto` considered, the best one running unit `unit` on `target` (the least-LARE feasible
        one, else the least-LARE infeasible one); None when none did (or auto did not run)."""
        layer = self.units[unit].name
        cands = [p for p in getattr(self, "considered", []) if p.placement[layer] == target]
        ok = [p for p in cands if p.feasible]
        return min(ok or cands, key=lambda p: p.lare, default=None)

    def forced(self, partition: dict) -> Plan:
        layers = {layer: i for i, u in enumerate(self.units) for layer in u.layers}
        unknown = sorted(set(partition) - set(layers))
        if unknown:
            raise ConfigError(f"versal partition names unknown layer(s) {', '.join(unknown)} "
                              f"(layers: {', '.join(layers)})")
        on_aie = []
        for i, u in enumerate(self.units):
            targets = {partition.get(layer, "pl") for layer in u.layers}
            if len(targets) > 1:
                raise ConfigError(f"layers {' and '.join(repr(x) for x in u.layers)} run as one unit (the ReLU is "
                                  "fused into the dense layer) and must have the same versal partition")
            if targets == {"aie"}:
                require_aie(u)
                on_aie.append(i)
        segs = runs(on_aie)
        cap = self.options.max_segments
        if cap and len(segs) > cap:
            raise ConfigError(f"the forced partition has {len(segs)} AIE segments "
                              f"({', '.join(_span(self, s) for s in segs)}); max_segments is {cap}")
        for a, b in segs:
            for c in (a, b):
                if not self.cuts[c]:
                    raise no_cut(self.units[c - 1].name, self.units[c].name)
        plan = self.evaluate(segs)
        if plan.problems:
            raise VersalFitError(f"the forced partition ({_describe(self, plan)}) does not fit:\n  "
                                 + "\n  ".join(plan.problems))
        return plan

    def choose(self) -> Plan:
        p = self.options.partition
        return self.auto() if p == "auto" else self.forced(p)


def runs(indices: list[int]) -> tuple[Segment, ...]:
    """Sorted unit indices -> their maximal contiguous runs [a, b)."""
    out: list[list[int]] = []
    for i in indices:
        if out and out[-1][1] == i:
            out[-1][1] = i + 1
        else:
            out.append([i, i + 1])
    return tuple(tuple(r) for r in out)


def _span(planner: Planner, seg: Segment) -> str:
    a, b = seg
    return f"'{planner.units[a].name}'..'{planner.units[b - 1].name}'"


def _aie_units(plan: Plan) -> int:
    return sum(b - a for a, b in plan.segments)


def _describe(planner: Planner, plan: Plan) -> str:
    if not plan.segments:
        return "all layers on PL"
    return f"layers {' and '.join(_span(planner, s) for s in plan.segments)} on AIE"


def cut_ok(graph, units: list[Unit]) -> list[bool]:
    """For each unit boundary 0..n: does exactly one tensor cross it?"""
    ops = [o.operation for o in graph.regions[0].blocks[0].operations]
    block = graph.regions[0].blocks[0]
    starts = [ops.index(u.kernels[0]) for u in units] + [len(ops) - 1]  # the df.return closes the last cut
    out = []
    for pos in starts:
        defined = list(block.arguments) + [r for o in ops[:pos] for r in o.results]
        crossing = [v for v in defined if any(_index(ops, u.owner) >= pos for u in v.uses)]
        out.append(len(crossing) == 1)
    return out


def _index(ops: list, op) -> int:
    for i, o in enumerate(ops):
        if o == op:
            return i
    raise FxflowError("a value is used outside its df.graph")


def cut_value(graph, units: list[Unit], b: int):
    """The one tensor crossing unit boundary b (the graph input at 0, the output at len(units))."""
    ops = [o.operation for o in graph.regions[0].blocks[0].operations]
    block = graph.regions[0].blocks[0]
    pos = ops.index(units[b].kernels[0]) if b < len(units) else len(ops) - 1
    defined = list(block.arguments) + [r for o in ops[:pos] for r in o.results]
    return next(v for v in defined if any(_index(ops, u.owner) >= pos for u in v.uses))
