"""The particle-transformer example (`fxflow example transformer`) side by side in one run: compile time
(PyTorch model -> written HLS project), `predict` throughput against the float PyTorch model on the CPU, the
g++ build of the C simulation and its throughput, and the mismatches between predict and the C-sim.

    .venv/bin/python benchmarks/transformer.py [--samples 20000] [--csim-samples 500]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20000, help="inputs for the predict / PyTorch throughput")
    ap.add_argument("--csim-samples", type=int, default=500, help="inputs for the C simulation")
    args = ap.parse_args()

    import torch

    import fxflow
    from fxflow.examples import load

    ex = load("transformer")
    model = ex.make_model()
    x = ex.make_inputs(args.samples)
    out = Path(tempfile.mkdtemp(prefix="fxflow_transformer_"))
    os.environ["FXFLOW_CACHE_DIR"] = str(out / "cache")  # an empty C-sim cache: the build is measured, not a hit
    t0 = time.perf_counter()
    design = fxflow.compile(model, x[:1], config=ex.DEFAULT_CONFIG, output_dir=out, project_name=ex.NAME)
    t_compile = time.perf_counter() - t0

    design.predict(x[:16])  # warm the emulator's compiled program
    t0 = time.perf_counter()
    y = design.predict(x)
    t_predict = time.perf_counter() - t0
    xt = torch.as_tensor(x, dtype=torch.float32)
    with torch.no_grad():
        model(xt[:16])
        t0 = time.perf_counter()
        ref = model(xt).numpy()
        t_torch = time.perf_counter() - t0

    xc = x[:args.csim_samples]
    t0 = time.perf_counter()
    design.csim(xc[:1], raw=True, verbose=False)  # builds the C simulation
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    yc = design.csim(xc, raw=True, verbose=False)
    t_csim = time.perf_counter() - t0
    mismatches = int(np.sum(np.asarray(design.predict(xc, raw=True)) != np.asarray(yc)))

    agree = float(np.mean(np.argmax(ref, 1) == np.argmax(y, 1)))
    print(f"{ex.DESCRIPTION}; config {ex.DEFAULT_CONFIG['model']['precision']}")
    print(f"{'compile (model -> HLS project)':34s} {t_compile:8.2f} s")
    print(f"{'C-sim build (g++ + ap_types)':34s} {t_build:8.2f} s")
    print(f"{'predict (fxflow emulator)':34s} {len(x) / t_predict:10.0f} samples/s")
    print(f"{'float PyTorch on CPU':34s} {len(x) / t_torch:10.0f} samples/s")
    print(f"{'C simulation':34s} {len(xc) / t_csim:10.0f} samples/s")
    print(f"predict vs C-sim: {mismatches} mismatching values of {np.asarray(yc).size}; vs float: max |diff| "
          f"{np.abs(y - ref).max():.4f}, argmax agreement {agree:.1%}")


if __name__ == "__main__":
    main()
