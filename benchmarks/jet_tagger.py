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
    from fxflow.lowering.hls import csim
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
        runs = []
        for _ in range(5):  # median of 5 (the first full-size call also pays page faults)
            t0 = time.perf_counter()
            y = design.predict(x, raw=True)
            runs.append(time.perf_counter() - t0)
        t_pred = sorted(runs)[len(runs) // 2]
        t0 = time.perf_counter()
        yc = csim.run(out, x)
        t_csim = time.perf_counter() - t0
        hls4ml_times = _hls4ml(model, x[:10_000], args.precision, Path(tmp) / "hls4ml")
    mismatches = int(np.sum(y != yc))

    print(f"imports (torch, torch-mlir, fxflow): {t_imports:.2f} s")
    print(f"{'compile':38s} {'import':>8s} {'lower':>8s} {'emit':>8s} {'total':>8s}")
    for name, imp, low, emit, total in rows:
        print(f"{name:38s} {imp:8.3f} {low:8.3f} {emit:8.3f} {total:8.3f}")
    print(f"g++ build of the C simulation: {t_build:.2f} s")
    print()
    print(f"{'engine':34s} {'samples/s':>12s} {'time (s)':>10s}")
    print(f"{'fxflow predict (median of 5)':34s} {args.samples / t_pred:12,.0f} {t_pred:10.3f}")
    print(f"{'fxflow csim (g++ + ap_types)':34s} {args.samples / t_csim:12,.0f} {t_csim:10.3f}")
    print(f"predict / csim throughput ratio: {t_csim / t_pred:.1f}x; mismatching values: {mismatches}")
    if hls4ml_times is None:
        print("hls4ml is not installed: no side-by-side comparison")
        return
    h_build, h_rate = hls4ml_times
    print()
    print(f"{'side by side with hls4ml ' + hls4ml_version():34s} {'fxflow':>12s} {'hls4ml':>10s} {'ratio':>8s}")
    print(f"{'C-sim g++ build (s)':34s} {t_build:12.2f} {h_build:10.2f} {h_build / t_build:7.1f}x")
    print(f"{'predict (samples/s)':34s} {args.samples / t_pred:12,.0f} {h_rate:10,.0f} "
          f"{args.samples / t_pred / h_rate:7.0f}x")


def hls4ml_version() -> str:
    import hls4ml

    return hls4ml.__version__


def _hls4ml(model, x, precision: str, out: Path):
    """hls4ml's build time and predict throughput for the same model (None when hls4ml is absent)."""
    try:
        import contextlib
        import io

        import hls4ml
    except ImportError:
        return None
    with contextlib.redirect_stdout(io.StringIO()):
        cfg = hls4ml.utils.config_from_pytorch_model(model, (x.shape[1],), granularity="model",
                                                     default_precision=precision)
        hm = hls4ml.converters.convert_from_pytorch_model(model, hls_config=cfg, output_dir=str(out),
                                                          backend="Vitis", io_type="io_parallel")
        t0 = time.perf_counter()
        hm.compile()
        t_build = time.perf_counter() - t0
        xs = np.ascontiguousarray(x.astype(np.float32))
        t0 = time.perf_counter()
        hm.predict(xs)
        t_pred = time.perf_counter() - t0
    return t_build, len(x) / t_pred


if __name__ == "__main__":
    main()
