"""Per-layer multiplier assignment under an accuracy budget: a sensitivity-greedy pass and a Monte Carlo
Tree Search (TransAxx style), every candidate evaluated bit-exactly by the emulator.

    r = fxflow.approx.search(model, x_calib, y_calib, candidates=["exact", "drum(k=4)", ...], budget=0.01,
                             config={"model": {"precision": "ap_fixed<16,6>", "input": ..., "weight": ...}})
    r.config            # pass to fxflow.compile: the chosen multiplier per dense/conv layer
    r.pareto            # non-dominated (cost, loss) assignments found;  r.plot("pareto.png")

Loss: with labels `calib_y`, the accuracy drop against the all-exact design; otherwise `metric(y_fixed,
y_float)` (a name of `fxflow.precision_search.METRICS` or a callable, lower is better) against the float
model.  An assignment meets the budget when its loss <= budget.
Cost: one multiplier per nonzero weight (a fully parallel design) times the multiplier's gate count
(`fxflow.approx.families`: two-input gate equivalents; user models their `gates` parameter, else the
exact multiplier's), summed over layers.  The RTL flow's yosys LUT counts can replace it (`cost="yosys"`; the
result's `lut_costs` holds them, for `Design.report(lut_costs=...)`).
Greedy: every (layer, candidate) alone gives a sensitivity; moves are tried in order of cost saved per
loss added and kept while the whole design meets the budget.  MCTS: depth = layer, UCT selection,
rollouts drawing the remaining layers' multipliers with probability proportional to 1/cost^bias (cheap
ones first); reward = the relative cost saving when the budget is met, else minus the excess loss.
Evaluations are cached per assignment; `iterations` and `time_limit` bound the search.
"""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..config import Config
from ..errors import ConfigError
from .cost import LutCosts

DEFAULT_CANDIDATES = ("exact", "trunc(k=4)", "trunc(k=6, compensate=1)", "bam(hbl=1, vbl=4)", "bam(hbl=2, vbl=8)",
                      "drum(k=4)", "drum(k=3)", "mitchell")


@dataclass
class SearchResult:
    config: dict  # the starting config with the chosen multiplier per layer
    assignment: dict[str, str]
    cost: float
    exact_cost: float
    loss: float
    budget: float
    met: bool
    pareto: list[dict]  # {"assignment", "cost", "loss"} non-dominated, by cost
    evaluations: list[dict] = field(default_factory=list)  # every evaluated assignment, with its method
    seconds: float = 0.0
    lut_costs: LutCosts | None = None  # cost="yosys": the measured multipliers, for Design.report(lut_costs=...)

    def summary(self) -> str:
        lines = [f"cost {self.cost:.0f} of {self.exact_cost:.0f} gates ({100 * self.cost / self.exact_cost:.1f}%), "
                 f"loss {self.loss:.4g} ({'within' if self.met else 'NOT within'} budget {self.budget:.4g}); "
                 f"{len(self.evaluations)} evaluations in {self.seconds:.1f} s"]
        lines += [f"  {layer}: {spec}" for layer, spec in self.assignment.items()]
        return "\n".join(lines)

    def pareto_table(self) -> str:
        rows = ["| cost (gates) | loss | assignment |", "|---:|---:|---|"]
        for p in self.pareto:
            rows.append(f"| {p['cost']:.0f} | {p['loss']:.4g} | {', '.join(f'{k}: {v}' for k, v in p['assignment'].items())} |")
        return "\n".join(rows)

    def plot(self, path) -> str:
        """Loss vs cost of every evaluation (by method), the Pareto front, the budget and the choice (PNG)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for method, marker in (("sensitivity", "x"), ("greedy", "o"), ("mcts", ".")):
            pts = [(e["cost"], e["loss"]) for e in self.evaluations if e["method"] == method]
            if pts:
                ax.scatter(*zip(*pts), marker=marker, s=18, alpha=0.6, label=method)
        front = [(p["cost"], p["loss"]) for p in self.pareto]
        ax.step(*zip(*front), where="post", color="k", lw=1.2, label="Pareto front")
        ax.axhline(self.budget, color="r", ls="--", lw=1, label="budget")
        ax.scatter([self.cost], [self.loss], s=90, facecolors="none", edgecolors="r", lw=2, label="chosen")
        ax.set_xlabel("cost (gate equivalents, one multiplier per weight)")
        ax.set_ylabel("loss (accuracy drop)" if self.evaluations and self.evaluations[0].get("labels") else "loss")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return str(path)


class _Problem:
    """Layers, candidates per layer, costs, and the cached bit-exact loss of an assignment."""

    def __init__(self, design, data, labels, metric, candidates, base: Config, progress, cost: str = "gates",
                 lut_costs: LutCosts | None = None):
        from ..precision_search import ConfigEvaluator, error_metric

        self.base, self.progress = base, progress
        self.labels = None if labels is None else np.asarray(labels).reshape(-1)
        if self.labels is not None:
            score = lambda y, r: 1.0 - float(np.mean(np.argmax(y.reshape(len(y), -1), 1) == self.labels))  # noqa: E731
        else:
            score = error_metric(metric or "mean_abs")
        self.evaluator = ConfigEvaluator(design, data, score, "RND", "approx")
        self.cost_model, self.lut_costs = cost, lut_costs
        self.layers, self.options, self.weights = self._layers(design, candidates)
        self.cache: dict[tuple, float] = {}
        self.log: list[dict] = []
        self.exact = tuple("exact" for _ in self.layers)
        self.base_score = self._score(self.exact)

    def _layers(self, design, candidates):
        """Dense/conv layers in program order, the candidates valid for each (with gates), nonzero weights."""
        from ..dialects.fxp import format_of
        from ..dialects.fxp.traits import WEIGHTED_OPS
        from ..emulator import constant_value
        from ..ir import ir, layer_name
        from .cost import gate_cost
        from .multiplier import build
        from .select import resolve

        layers, options, weights = [], [], []
        with design.ctx:
            module = ir.Module.parse(design.stages["fxp"])
            ops = [op.operation for fn in module.body.operations for op in fn.regions[0].blocks[0].operations]
            producers = {o.results[0]: o for o in ops if o.name == "fxp.constant"}
            for o in ops:
                if o.name not in WEIGHTED_OPS:
                    continue
                name = layer_name(o.location)
                x_fmt, w_fmt = format_of(o.operands[0].type), format_of(o.operands[1].type)
                w = constant_value(producers[o.operands[1]]).data
                opts = {}
                for spec in candidates:
                    try:
                        m = resolve(spec, x_fmt, w_fmt, name)
                    except ConfigError:
                        continue  # not valid for this layer's widths
                    opts[spec] = gate_cost(m)
                opts.setdefault("exact", build("exact", x_fmt.width, x_fmt.signed, w_fmt.width, w_fmt.signed).gates)
                if self.cost_model == "yosys":  # measured: yosys -nodsp LUTs of each multiplier's Verilog
                    from fxflow.lowering.rtl.characterize import lut_costs

                    opts = lut_costs(list(opts), x_fmt.width, x_fmt.signed, w_fmt.width, w_fmt.signed,
                                     into=self.lut_costs)
                layers.append(name)
                options.append(opts)
                weights.append(int(np.count_nonzero(w)))
        return layers, options, weights

    def cost(self, assign: tuple) -> float:
        return float(sum(n * opts[s] for n, opts, s in zip(self.weights, self.options, assign)))

    def config(self, assign: tuple) -> dict:
        data = self.base.to_dict()
        for layer, spec in zip(self.layers, assign):
            data["layers"].setdefault(layer, {})["multiplier"] = spec
        return data

    def _score(self, assign: tuple) -> float:
        if assign not in self.cache:
            self.cache[assign] = self.evaluator.error(Config.from_dict(self.config(assign)))
        return self.cache[assign]

    def loss(self, assign: tuple, method: str) -> float:
        new = assign not in self.cache
        s = self._score(assign)
        loss = s - self.base_score if self.labels is not None else s
        if new:
            self.log.append({"assignment": dict(zip(self.layers, assign)), "cost": self.cost(assign), "loss": loss,
                             "method": method, "labels": self.labels is not None})
            if self.progress:
                print(f"[approx.search] {method:11s} #{len(self.log):4d}: cost {self.cost(assign):9.0f} "
                      f"loss {loss:+.4f}", file=sys.stderr)
        return loss


def search(model, calib_x, calib_y=None, metric: str | Callable | None = None, candidates=DEFAULT_CANDIDATES,
           budget: float = 0.01, config=None, example_input=None, method: str = "both", iterations: int = 60,
           time_limit: float = 300.0, exploration: float = 0.7, cheap_bias: float = 2.0, seed: int = 0,
           progress: bool = True, calibration_data=None, cost: str = "gates",
           lut_costs: LutCosts | None = None) -> SearchResult:
    """Assign a multiplier per dense/conv layer minimizing cost with loss <= budget (see the module doc).

    `config` gives the formats (its `multiplier` keys are replaced); `method` is "greedy", "mcts" or "both"
    (the best feasible of the two); `iterations` bounds the MCTS rollouts, `time_limit` (seconds) the whole
    search; `calibration_data` is passed to compile for `auto` formats.  `cost` is "gates" (the families'
    stated gate-equivalent model) or "yosys" (the LUTs yosys synth_xilinx -nodsp measures for each
    multiplier's Verilog from the RTL backend, fxflow.lowering.rtl.characterize; needs CIRCT and yosys), recorded into
    `lut_costs` (a new `LutCosts` when None) and returned as `SearchResult.lut_costs`."""
    if cost not in ("gates", "yosys"):
        raise ConfigError(f"search cost must be 'gates' or 'yosys', got {cost!r}")
    if lut_costs is not None and cost != "yosys":
        raise ConfigError("search records lut_costs only with cost='yosys' (the gate model measures nothing)")
    import fxflow

    from ..compiler import as_inputs

    if method not in ("greedy", "mcts", "both"):
        raise ConfigError(f"search method must be 'greedy', 'mcts' or 'both', got {method!r}")
    if not isinstance(budget, (int, float)) or isinstance(budget, bool) or budget < 0:
        raise ConfigError(f"the accuracy budget must be a non-negative number, got {budget!r}")
    if not candidates:
        raise ConfigError("search needs at least one candidate multiplier")
    t0 = time.perf_counter()
    data = as_inputs(calib_x)
    if example_input is None:
        example_input = data[0][:1]
    base = Config.from_dict(config if config is not None else {"model": {"precision": "ap_fixed<16,6>"}})
    for settings in base.layers.values():
        settings.pop("multiplier", None)
    base.multiplier = "exact"
    design = fxflow.compile(model, example_input, config=base, calibration_data=calibration_data)
    if cost == "yosys" and lut_costs is None:
        lut_costs = LutCosts()
    prob = _Problem(design, data, calib_y, metric, list(candidates), base, progress, cost, lut_costs)
    deadline = t0 + time_limit
    best = prob.exact
    base_loss = prob.loss(best, "baseline")
    if base_loss > budget:
        import warnings

        warnings.warn(f"the all-exact design already has loss {base_loss:.4g} > budget {budget:.4g}", stacklevel=2)
    else:
        if method in ("greedy", "both"):
            best = _pick(prob, best, _greedy(prob, budget, deadline), budget)
        if method in ("mcts", "both"):
            best = _pick(prob, best, _mcts(prob, budget, deadline, iterations, exploration, cheap_bias, seed), budget)
    loss = prob.loss(best, "final")
    return SearchResult(config=prob.config(best), assignment=dict(zip(prob.layers, best)), cost=prob.cost(best),
                        exact_cost=prob.cost(prob.exact), loss=loss, budget=float(budget), met=loss <= budget,
                        pareto=_pareto(prob.log), evaluations=list(prob.log), seconds=time.perf_counter() - t0,
                        lut_costs=lut_costs if cost == "yosys" else None)


def _pick(prob: _Problem, a: tuple, b: tuple, budget: float) -> tuple:
    ok = [x for x in (a, b) if prob.loss(x, "final") <= budget]
    return min(ok, key=prob.cost) if ok else a


def _greedy(prob: _Problem, budget: float, deadline: float) -> tuple:
    """Sensitivities of single-layer changes, then moves in order of cost saved per loss added."""
    base_cost = prob.cost(prob.exact)
    moves = []
    for i, opts in enumerate(prob.options):
        for spec in opts:
            if spec == "exact" or time.perf_counter() > deadline:
                continue
            assign = prob.exact[:i] + (spec,) + prob.exact[i + 1:]
            saved = base_cost - prob.cost(assign)
            if saved <= 0:
                continue
            added = prob.loss(assign, "sensitivity") - prob.loss(prob.exact, "baseline")
            if added <= budget:
                moves.append((saved / max(added, 1e-9 * max(budget, 1e-9)), i, spec))
    current = prob.exact
    for _, i, spec in sorted(moves, key=lambda m: (-m[0], m[1], m[2])):
        if time.perf_counter() > deadline:
            break
        if prob.options[i][spec] >= prob.options[i][current[i]]:
            continue  # the layer already has a cheaper multiplier
        cand = current[:i] + (spec,) + current[i + 1:]
        if prob.loss(cand, "greedy") <= budget:
            current = cand
    return current


@dataclass
class _Node:
    prefix: tuple
    visits: int = 0
    value: float = 0.0
    children: dict = field(default_factory=dict)


def _mcts(prob: _Problem, budget: float, deadline: float, iterations: int, c: float, bias: float, seed: int) -> tuple:
    rng = random.Random(seed)
    depth = len(prob.layers)
    base_cost = prob.cost(prob.exact)
    root = _Node(())
    best, best_cost = prob.exact, base_cost
    for _ in range(iterations):
        if time.perf_counter() > deadline:
            break
        node, path = root, [root]
        while len(node.prefix) < depth:  # selection / expansion
            opts = list(prob.options[len(node.prefix)])
            untried = [s for s in opts if s not in node.children]
            if untried:
                spec = _cheap_choice(rng, untried, prob.options[len(node.prefix)], bias)
                node.children[spec] = _Node(node.prefix + (spec,))
                node = node.children[spec]
                path.append(node)
                break
            node = max(node.children.values(), key=lambda ch: ch.value / ch.visits +
                       c * math.sqrt(math.log(node.visits) / ch.visits))
            path.append(node)
        assign = node.prefix + tuple(_cheap_choice(rng, list(prob.options[i]), prob.options[i], bias)
                                     for i in range(len(node.prefix), depth))  # rollout
        loss = prob.loss(assign, "mcts")
        cost = prob.cost(assign)
        reward = (1.0 - cost / base_cost) if loss <= budget else -min(1.0, (loss - budget) / max(budget, 1e-9))
        if loss <= budget and cost < best_cost:
            best, best_cost = assign, cost
        for n in path:
            n.visits += 1
            n.value += reward
    return best


def _cheap_choice(rng: random.Random, specs: list, gates: dict, bias: float) -> str:
    w = [1.0 / max(gates[s], 1) ** bias for s in specs]
    return rng.choices(specs, weights=w)[0]


def _pareto(log: list[dict]) -> list[dict]:
    """The evaluations no other one beats in both cost and loss (by increasing cost)."""
    front, best = [], math.inf
    for e in sorted(log, key=lambda e: (e["cost"], e["loss"])):
        if e["loss"] < best:
            front.append({k: e[k] for k in ("assignment", "cost", "loss")})
            best = e["loss"]
    return front
