"""A model that does not fit the VE2802's programmable logic, planned as a mixed PL + AIE design.

    .venv/bin/python -m fxflow.lowering.versal.demo [--model qubit|autoencoder] [-o build/versal_demo] [--samples 200] [--csim]

`qubit`: an MLP sized like a qubit-readout network (200 I/Q features -> 256 -> 128 -> 64 -> 2); `autoencoder`:
a deep dense autoencoder (128 -> 256 -> 128 -> 32 -> 128 -> 256 -> 128, Sigmoid output, which only the PL can
run).  Weights are seeded initialisations, inputs synthetic (no data sets here); int8 weights and
activations, exact accumulators.  Prints why all-PL is infeasible, the plan per layer, writes the joint
project and checks the joined simulation (`--csim`: through the emitted HLS C++ and PLIO bridges) against
predict bit for bit.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

CONFIG = {"model": {"precision": "ap_fixed<8,3,AP_RND_CONV,AP_SAT>", "input": "ap_fixed<8,3>",
                    "weight": "ap_fixed<8,2>", "bias": "ap_fixed<8,2>", "accum": "exact"}}
SIZES = {"qubit": [200, 256, 128, 64, 2], "autoencoder": [128, 256, 128, 32, 128, 256, 128]}


def make_model(name: str):
    import torch
    from torch import nn

    torch.manual_seed(0)
    sizes, layers = SIZES[name], []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
    if name == "autoencoder":
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers).eval()


def main(argv=None) -> int:
    import torch

    import fxflow
    from fxflow.lowering.versal.driver import format_report

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qubit", choices=sorted(SIZES))
    ap.add_argument("-o", "--output", default="build/versal_demo")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--csim", action="store_true", help="also run the PL side as g++ C simulation of the project")
    args = ap.parse_args(argv)
    model = make_model(args.model)
    n_in = SIZES[args.model][0]
    t0 = time.perf_counter()
    design = fxflow.compile(model, torch.zeros(1, n_in), config=CONFIG, backend="versal",
                            versal={"partition": "auto"})  # the VersalOptions defaults: xcve2802 at 40 MHz
    print(f"[fxflow] {args.model} {SIZES[args.model]} planned for {design.versal.options.device} in "
          f"{time.perf_counter() - t0:.1f} s")
    all_pl = design.versal.planner.evaluate(None)
    print("[fxflow] all layers on PL: " + ("; ".join(all_pl.problems) or "feasible"))
    print(format_report(design.report()))
    out = design.write(args.output)
    parts = " ".join(f"{p.role}/" for p in design.versal.parts)
    print(f"[fxflow] wrote {out} ({parts}, PLIO bridges, README.md, plan.json)")
    x = np.random.default_rng(1).normal(size=(args.samples, n_in))
    bad = int(np.sum(design.simulate(x, raw=True) != design.predict(x, raw=True)))
    print(f"[fxflow] joined simulation (emulator PL + AIE simulator) vs predict: {bad} mismatching values")
    if args.csim:
        bad_c = int(np.sum(design.simulate(x, raw=True, pl="csim") != design.predict(x, raw=True)))
        print(f"[fxflow] joined simulation (g++ PL + bridges + AIE simulator) vs predict: {bad_c} mismatching values")
        bad += bad_c
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
