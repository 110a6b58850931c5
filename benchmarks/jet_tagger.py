"""Benchmark of the bundled jet tagger (16->64->32->32->5): time of each compile stage, and emulator vs
C-sim throughput on the same 100k inputs, printed side by side as ratios in one run.

    .venv/bin/python benchmarks/jet_tagger.py [--samples 100000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--precision", default="ap_fixed<16,6>")
    args = ap.parse_args()

    t0 = time.perf_counter()
    import torch  # noqa: F401

    import fxflow
    import fxflow.lowering.torch_import  # noqa: F401  (the exporter machinery counts as imports)
    from fxflow import csim
    from fxflow.examples import jet_tagger

    t_imports = time.perf_counter() - t0
    model = jet_tagger.make_model()
    x = jet_tagger.make_inputs(args.samples)
    cfg = {"model": {"precision": args.precision}}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in ("cold (first compile in the process)", "warm"):
            t0 = time.perf_counter()
            design = fxflow.compile(model, x[:1], config=cfg, project_name="jet_tagger")
            t_compile = time.perf_counter() - t0
            t0 = time.perf_counter()
            out = design.write(Path(tmp) / attempt.split()[0])
            t_write = time.perf_counter() - t0
            rows.append((attempt, design.timings["import"], design.timings["lowering"], t_write,
                         t_compile + t_write))
        os.environ["FXFLOW_CACHE_DIR"] = str(Path(tmp) / "cache")  # a cold build, not the object cache
        t0 = time.perf_counter()
        csim.build(out, verbose=False)
        t_build = time.perf_counter() - t0

        design.predict(x[:100])  # compile the emulator program once
        t0 = time.perf_counter()
        y = design.predict(x, raw=True)
        t_pred = time.perf_counter() - t0
        t0 = time.perf_counter()
        yc = csim.run(out, x)
        t_csim = time.perf_counter() - t0
    mismatches = int(np.sum(y != yc))

    print(f"imports (torch, torch-mlir, fxflow): {t_imports:.2f} s")
    print(f"{'compile':38s} {'import':>8s} {'lower':>8s} {'emit':>8s} {'total':>8s}")
    for name, imp, low, emit, total in rows:
        print(f"{name:38s} {imp:8.3f} {low:8.3f} {emit:8.3f} {total:8.3f}")
    print(f"g++ build of the C simulation: {t_build:.2f} s (hls4ml's: ~7 s on this machine class)")
    print()
    print(f"{'engine':24s} {'samples/s':>14s} {'time (s)':>10s}")
    print(f"{'predict (emulator)':24s} {args.samples / t_pred:14,.0f} {t_pred:10.3f}")
    print(f"{'csim (g++ + ap_types)':24s} {args.samples / t_csim:14,.0f} {t_csim:10.3f}")
    print(f"predict / csim throughput ratio: {t_csim / t_pred:.1f}x; mismatching values: {mismatches}")


if __name__ == "__main__":
    main()
