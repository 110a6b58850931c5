"""The PL/AIE crossover the LARE metric predicts on a family of MLP sizes (docs/design.md, "Versal").

    .venv/bin/python benchmarks/versal_crossover.py [--widths 8,16,...] [--rate 40] [--time latency|interval]
                                                    [-o versal_crossover.png]

Each model is 16 -> w -> w -> w -> 8 (ReLU between, int8 weights and activations, exact accumulators).  For
every width the table gives the plan with all layers on PL, the plan with all layers on the AI Engines and
the automatic plan (the feasible plan of least LARE) for the VE2802 at the target rate; the PNG plots their
LARE against w (infeasible plans hollow).  No vendor tool runs: PL figures are fxflow.estimate's, AIE
figures the AIE cycle model's.
"""

from __future__ import annotations

import argparse
import time

CONFIG = {"model": {"precision": "ap_fixed<8,3,AP_RND_CONV,AP_SAT>", "input": "ap_fixed<8,3>",
                    "weight": "ap_fixed<8,2>", "bias": "ap_fixed<8,2>", "accum": "exact"}}


def model(width: int):
    import torch

    torch.manual_seed(0)
    n = torch.nn
    return n.Sequential(n.Linear(16, width), n.ReLU(), n.Linear(width, width), n.ReLU(), n.Linear(width, width),
                        n.ReLU(), n.Linear(width, 8)).eval()


def row(width: int, rate: float, basis: str) -> dict:
    import torch

    import fxflow

    d = fxflow.compile(model(width), torch.zeros(1, 16), config=CONFIG, backend="versal",
                       versal={"target_rate_mhz": rate, "time": basis})
    planner, plan = d.versal.planner, d.versal.plan
    pl, aie = planner.evaluate(None), planner.evaluate((0, len(planner.units)))
    placement = plan.placement
    return {"width": width, "pl": pl, "aie": aie, "auto": plan,
            "choice": "/".join(placement[u.name] for u in planner.units)}


def fmt_plan(p) -> str:
    mark = "" if p.feasible else " (infeasible)"
    return f"{p.lare:.4g}{mark}"


def table(rows: list[dict], rate: float, basis: str) -> str:
    head = ["w", "PL-only LARE", "PL LUT %", "AIE-only LARE", "AIE tiles", "auto plan (per dense layer)",
            "auto LARE", "auto latency ns", "auto rate MHz"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        a = r["auto"]
        lines.append("| " + " | ".join([
            str(r["width"]), fmt_plan(r["pl"]), f"{100 * r['pl'].pl['fractions']['lut']:.1f}", fmt_plan(r["aie"]),
            str(r["aie"].aie["tiles"]) if r["aie"].aie else "-", r["choice"], f"{a.lare:.4g}",
            f"{a.latency_ns:.4g}", f"{1e3 / a.interval_ns:.4g}"]) + " |")
    return "\n".join(lines) + (f"\n\n(VE2802, target {rate:g} MHz, PL at 200 MHz, AIE batch 8, default weights, "
                               f"LARE time basis: {basis})")


def plot(rows: list[dict], path: str, basis: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    ws = [r["width"] for r in rows]
    for key, label, color in (("pl", "all on PL", "tab:blue"), ("aie", "all on AIE", "tab:orange"),
                              ("auto", "auto (chosen)", "tab:green")):
        ys = [r[key].lare for r in rows]
        ax.plot(ws, ys, "-", color=color, label=label, alpha=0.8)
        for w, r in zip(ws, rows):
            ax.plot(w, r[key].lare, "o", color=color, mfc=color if r[key].feasible else "white")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("hidden width w (MLP 16-w-w-w-8, int8)")
    ax.set_ylabel(f"LARE = (R_PL + R_AIE) x {basis} [ns]")
    ax.set_title("PL/AIE crossover on xcve2802 (hollow: infeasible)")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default="8,16,32,64,96,128,192,256")
    ap.add_argument("--rate", type=float, default=40.0)
    ap.add_argument("--time", default="latency", choices=("latency", "interval"), help="the LARE time basis")
    ap.add_argument("-o", "--output", default="versal_crossover.png")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = [row(int(w), args.rate, args.time) for w in args.widths.split(",")]
    print(table(rows, args.rate, args.time))
    plot(rows, args.output, args.time)
    print(f"\nwrote {args.output} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
