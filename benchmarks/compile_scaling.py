"""Compile time versus depth: a chain of N Linear(16,16)+ReLU layers compiled for Vitis HLS.

Prints the seconds per stage (`Design.timings`: import, lowering, backend; wall time, and the whole compile's
CPU time, steadier on a shared machine) and per registered pass, for N in {10, 100, 300, 1000}, and the
exponent of a least-squares fit time ~ N^k over the depths measured.
Compiling should be linear in the number of layers (k close to 1); issue 23 found the lowering at k = 1.3.

    .venv/bin/python benchmarks/compile_scaling.py [--depths 10 100 300 1000] [--profile 300] [--whole-graph]

`--whole-graph` turns off torch_import's per-signature decomposition (every node re-traced by
torch.export's run_decompositions, as before), for a side-by-side run.

`--profile N` runs cProfile on one compile at depth N and prints the top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import defaultdict

import numpy as np
import torch


def chain(depth: int, width: int = 16) -> torch.nn.Module:
    layers = []
    for _ in range(depth):
        layers += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    torch.manual_seed(0)
    return torch.nn.Sequential(*layers).eval()


def _timed_passes(times: dict):
    """Wrap every registered pass so its wall time is added to `times[name]` (the pass registry's callables)."""
    import dataclasses

    from fxflow.passes import PASSES, load_all

    load_all()
    for name, info in list(PASSES.items()):
        def run(module_op, options, _fn=info.run, _name=name):
            t0 = time.perf_counter()
            try:
                return _fn(module_op, options)
            finally:
                times[_name] += time.perf_counter() - t0
        PASSES[name] = dataclasses.replace(info, run=run)


def exponent(depths, seconds) -> float:
    """Slope of log(time) against log(depth): the k of time ~ N^k."""
    x, y = np.log(np.asarray(depths, float)), np.log(np.maximum(np.asarray(seconds, float), 1e-6))
    return float(np.polyfit(x, y, 1)[0])


def main() -> None:
    import fxflow

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--depths", type=int, nargs="+", default=[10, 100, 300, 1000])
    ap.add_argument("--profile", type=int, default=None, help="cProfile one compile at this depth")
    ap.add_argument("--whole-graph", action="store_true", help="decompose with run_decompositions on the whole graph")
    args = ap.parse_args()
    if args.whole_graph:
        import fxflow.lowering.torch_import as ti

        ti.decompose_by_signature = lambda program, table: None
    times: dict = defaultdict(float)
    _timed_passes(times)
    fxflow.compile(chain(2), torch.zeros(1, 16))  # warm-up: imports, registry
    rows = []
    for depth in args.depths:
        times.clear()
        model = chain(depth)
        t0, c0 = time.perf_counter(), time.process_time()
        design = fxflow.compile(model, torch.zeros(1, 16))
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows.append((depth, dict(design.timings), dict(times), total))
        print(f"N={depth:5d}  total {total:7.2f} s (CPU {cpu:6.2f} s)  "
              + "  ".join(f"{k} {v:6.2f}" for k, v in design.timings.items()), flush=True)
    stages = list(rows[0][1])
    passes = sorted({p for r in rows for p in r[2]}, key=lambda p: -rows[-1][2].get(p, 0.0))
    depths = [r[0] for r in rows]
    print(f"\n{'stage / pass':32s}" + "".join(f"{'N=' + str(d):>10s}" for d in depths) + f"{'exponent':>10s}")
    for label, values in ([("total", [r[3] for r in rows])] + [(s, [r[1][s] for r in rows]) for s in stages]
                          + [("  " + p, [r[2].get(p, 0.0) for r in rows]) for p in passes]):
        k = exponent(depths, values) if len(depths) > 1 else float("nan")
        print(f"{label:32s}" + "".join(f"{v:10.3f}" for v in values) + f"{k:10.2f}")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        fxflow.compile(chain(args.profile), torch.zeros(1, 16))
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
