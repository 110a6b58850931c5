"""Plan each unit of a df graph on PL or AIE: one contiguous AIE segment (an AIE program with PLIO at both
ends) between an optional PL head and PL tail.  `partition="auto"` evaluates every legal segment (and none)
and keeps the feasible plan of lowest LARE (ties: fewer AIE layers, then the earlier segment); a forced
`{layer: "pl" | "aie"}` is checked and evaluated the same way.  Infeasible requests name the layer and limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fxflow.lowering.aie.device import AieFitError
from fxflow.errors import ConfigError, FxflowError

from fxflow.lowering.versal.cost import (Metric, Unit, aie_cost, boundary_fill_ns, build_units, no_cut, pl_cost,
                                         require_aie)
from fxflow.lowering.versal.device import VersalDevice, get_versal_device
from fxflow.lowering.versal.options import VersalOptions


class VersalFitError(AieFitError):
    """A Versal plan that the device or the throughput target cannot accommodate; names layer and limit."""


@dataclass
class Plan:
    segment: tuple[int, int] | None  # units [a, b) on the AI Engines
    placement: dict[str, str]  # layer -> "pl" | "aie"
    pl: dict
    aie: dict | None
    latency_ns: float
    interval_ns: float
    fill_ns: float
    r_pl: float
    r_aie: float
    lare: float
    problems: list[str] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return not self.problems

    def summary(self) -> dict:
        return {"placement": self.placement, "segment": list(self.segment) if self.segment else None,
                "latency_ns": self.latency_ns, "interval_ns": self.interval_ns,
                "rate_mhz": 1e3 / self.interval_ns if self.interval_ns else float("inf"), "fill_ns": self.fill_ns,
                "r_pl": self.r_pl, "r_aie": self.r_aie, "lare": self.lare, "pl": self.pl, "aie": self.aie,
                "problems": list(self.problems)}


class Planner:
    """The units of one df graph with their costs, and the evaluation of segments for them."""

    def __init__(self, graph, options: VersalOptions):
        self.options = options
        self.device: VersalDevice = get_versal_device(options.device)
        self.period = 1e3 / options.pl_clock_mhz
        self.units: list[Unit] = build_units(graph, self.device, self.period)
        self.cuts = cut_ok(graph, self.units)
        self.metric = Metric(options.weights, options.time)
        self.sample_ns = 1e3 / options.target_rate_mhz
        self.plio_limit = {"in": options.max_plio or self.device.plio_in, "out": options.max_plio or self.device.plio_out}

    # --- one plan ------------------------------------------------------------------------------------
    def evaluate(self, segment: tuple[int, int] | None) -> Plan:
        a, b = segment if segment else (len(self.units), len(self.units))
        seg, pl_units = self.units[a:b], self.units[:a] + self.units[b:]
        pl = pl_cost(pl_units, self.device, self.period)
        problems = [self._pl_over(r, pl, pl_units) for r in pl["fractions"] if pl["fractions"][r] > 1]
        aie, fill = None, 0.0
        if seg:
            try:
                aie = aie_cost(seg, self.device, self.options.batch, self.options.max_tiles, self.options.objective,
                               self.options.max_plio)
            except AieFitError as e:
                problems.append(str(e))
            if aie is not None:
                if aie.get("unbuildable"):
                    problems.append(f"layers '{seg[0].name}'..'{seg[-1].name}' on AIE: {aie['unbuildable']}")
                for d in ("in", "out"):
                    if aie[f"plio_{d}"] > self.plio_limit[d]:
                        layer = (seg[0] if d == "in" else seg[-1]).name
                        problems.append(f"layer '{layer}' on AIE needs {aie[f'plio_{d}']} PLIO {d}put ports; the "
                                        f"limit is {self.plio_limit[d]}")
                fill = boundary_fill_ns(aie["batch"], max(self.sample_ns, pl["interval_ns"]))
        latency = pl["latency_ns"] + fill + (aie["latency_ns"] if aie else 0.0)
        interval = max(pl["interval_ns"], aie["interval_ns"] if aie else 0.0)
        if interval > self.sample_ns * (1 + 1e-9):
            problems.append(self._slow(pl_units, seg, aie))
        r_pl = self.metric.r_pl(pl["fractions"]) if pl_units else 0.0
        r_aie = self.metric.r_aie(aie["tiles"], aie["plio_in"] + aie["plio_out"], self.device) if aie else 0.0
        placement = {layer: ("aie" if a <= i < b else "pl") for i, u in enumerate(self.units) for layer in u.layers}
        return Plan(segment if seg else None, placement, pl, aie, latency, interval, fill, r_pl, r_aie,
                    self.metric.lare(r_pl + r_aie, latency, interval), problems)

    def _pl_over(self, r: str, pl: dict, units: list[Unit]) -> str:
        big = max(units, key=lambda u: u.pl[r])
        return (f"the PL part needs {pl[r]} {r.upper()} ({pl['fractions'][r]:.0%} of {self.device.name}'s "
                f"{self.device.pl.totals()[r]}); the largest is layer '{big.name}' with {big.pl[r]}")

    def _slow(self, pl_units: list[Unit], seg: list[Unit], aie: dict | None) -> str:
        """Every part slower than the target, with its bottleneck layer."""
        slow = []
        if aie is not None and aie["interval_ns"] > self.sample_ns:
            slow.append(f"the AIE part (layers '{seg[0].name}'..'{seg[-1].name}', grids {aie['splits']}) takes "
                        f"{aie['interval_ns']:.3g} ns per sample ({aie['interval_cycles']} cycles per batch of "
                        f"{aie['batch']})")
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
                try:
                    a = aie_cost([u], self.device, self.options.batch, self.options.max_tiles, self.options.objective,
                                 self.options.max_plio)
                    lat = a["latency_ns"] + boundary_fill_ns(a["batch"], self.sample_ns)
                    r = self.metric.r_aie(a["tiles"], a["plio_in"] + a["plio_out"], self.device)
                    row["aie"] = {"tiles": a["tiles"], "grid": a["splits"][0], "memory_bytes": a["memory_bytes"],
                                  "interval_cycles": a["interval_cycles"], "latency_cycles": a["latency_cycles"],
                                  "latency_ns": lat,
                                  "interval_ns": a["interval_ns"], "lare": self.metric.lare(r, lat, a["interval_ns"])}
                except AieFitError as e:
                    row["aie_reason"] = str(e)
            rows.append(row)
        return rows

    # --- choosing ------------------------------------------------------------------------------------
    def segments(self) -> list[tuple[int, int]]:
        n = len(self.units)
        return [(a, b) for a in range(n) for b in range(a + 1, n + 1)
                if self.cuts[a] and self.cuts[b] and all(u.aie is not None for u in self.units[a:b])]

    def auto(self) -> Plan:
        plans = [self.evaluate(None)] + [self.evaluate(s) for s in self.segments()]
        ok = [p for p in plans if p.feasible]
        if ok:
            return min(ok, key=lambda p: (p.lare, _aie_units(p), p.segment or (0, 0)))
        fastest = min(plans[1:] or plans, key=lambda p: p.interval_ns)
        lines = [f"all on PL: {'; '.join(plans[0].problems)}"]
        if fastest is not plans[0]:
            lines.append(f"fastest AIE plan ({_describe(self, fastest)}): {'; '.join(fastest.problems)}")
        raise VersalFitError(f"no PL/AIE partition meets the target on {self.device.name}:\n  " + "\n  ".join(lines))

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
        if not on_aie:
            plan = self.evaluate(None)
        else:
            a, b = on_aie[0], on_aie[-1] + 1
            if on_aie != list(range(a, b)):
                gap = next(self.units[i].name for i in range(a, b) if i not in on_aie)
                raise ConfigError(f"the AIE layers must be contiguous (one AIE program between PL parts); layer "
                                  f"'{gap}' lies between AIE layers but is placed on PL")
            for c in (a, b):
                if not self.cuts[c]:
                    raise no_cut(self.units[c - 1].name, self.units[c].name)
            plan = self.evaluate((a, b))
        if plan.problems:
            raise VersalFitError(f"the forced partition ({_describe(self, plan)}) does not fit:\n  "
                                 + "\n  ".join(plan.problems))
        return plan

    def choose(self) -> Plan:
        p = self.options.partition
        return self.auto() if p == "auto" else self.forced(p)


def _aie_units(plan: Plan) -> int:
    return plan.segment[1] - plan.segment[0] if plan.segment else 0


def _describe(planner: Planner, plan: Plan) -> str:
    if not plan.segment:
        return "all layers on PL"
    a, b = plan.segment
    return f"layers '{planner.units[a].name}'..'{planner.units[b - 1].name}' on AIE"


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
