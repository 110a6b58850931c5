"""Solve time and size of fxflow's constant-matrix adder graphs (`fxflow.fixed.addergraph.solve`).

    .venv/bin/python benchmarks/addergraph_solve.py [--cases rand16,rand8,jet6,jet8,jet16]

Cases: a 64x32 matrix of random 16-bit and of random 8-bit integers, and the four jet-tagger layers with their
weights quantized to 6, 8 and 16 bits (as in rtl_vs_da4ml.py).  Prints per matrix the solve time, the adders
(of them shared by the subexpression elimination), the adder bits on 8-bit signed inputs (the estimator's LUT
unit) and the adder depth.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np


def matrices(case: str):
    """[(name, integer matrix [K, N])] of one case."""
    rng = np.random.default_rng(0)
    if case.startswith("rand"):
        bits = int(case[4:])
        return [(f"{case} 64x32", rng.integers(-(1 << bits - 1), 1 << bits - 1, size=(64, 32)))]
    from fxflow.examples import jet_tagger

    bits = int(case[3:])
    model = jet_tagger.make_model(0)
    out = []
    for name in ("fc1", "fc2", "fc3", "output"):
        w = getattr(model, name).weight.detach().numpy().astype(np.float64).T
        f = bits - (int(math.floor(math.log2(float(np.max(np.abs(w))) or 1.0))) + 2)
        q = np.clip(np.round(w * 2.0**f), -(1 << bits - 1), (1 << bits - 1) - 1).astype(np.int64)
        out.append((f"{case} {name} {q.shape[0]}x{q.shape[1]}", q))
    return out


def main(argv=None) -> int:
    from fxflow.fixed.addergraph import solve

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="rand16,rand8,jet6,jet8,jet16")
    args = p.parse_args(argv)
    print(f"{'matrix':<24} {'solve s':>8} {'adders':>7} {'shared':>7} {'bits':>7} {'depth':>5}")
    for case in args.cases.split(","):
        for name, w in matrices(case):
            t = time.perf_counter()
            g = solve(w)
            dt = time.perf_counter() - t
            cost = g.cost_bits([(-128, 127)] * w.shape[0])
            print(f"{name:<24} {dt:8.2f} {len(g.adders):7d} {g.shared:7d} {cost:7d} {g.depth():5d}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
