"""Estimate vs yosys: fxflow.estimate's DSP/LUT/FF per dense layer next to yosys synth_xilinx counts of the RTL
backend's Verilog for the same layer, over operand widths 4-16, reuse factors and both product styles.

    .venv/bin/python benchmarks/rtl_calibration.py [--widths 4 8 12 16] [--reuse 1 2 4] [--quick]
                                                   [--examples qonnx_mlp jet_tagger]

yosys' LUTs are LUT1-6 plus its INV cells (LUT1s in Vivado; `inv yosys` shows how many of them are INVs).
yosys is an open-tool yardstick, not Vivado: the ratios say how far the estimator is from what a synthesis
tool makes of fxflow's own RTL.  The estimator models Vitis HLS output (constant multipliers in LUTs below 9
bits, DSPs above), so the `mul` rows compare like with like; `shift_add` rows show the LUT-only alternative.
Every point is a random 16 -> 8 dense layer with seeded weights at ap_fixed<w, w/2> (also the bundled jet
bundled MLPs of --examples at their own configs).  Prints one table and the median ratio per resource.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np


def point(cfg: dict, products: str, model, x, family: str):
    import fxflow

    design = fxflow.compile(model, x, config=cfg, backend="rtl", rtl={"products": products})
    t0 = time.perf_counter()
    design.synth(family, verbose=False)
    seconds = time.perf_counter() - t0
    rep = design.report()
    dense = [r for r in rep["layers"] if r["op"] == "dense"]
    est = {k: sum(r[k] for r in dense) for k in ("dsp", "lut", "ff")}
    got = {k: sum(r[f"yosys_{k}"] for r in dense) for k in ("dsp", "lut", "inv", "ff", "carry")}
    return est, got, seconds


def ratio(a, b) -> float:
    return float("nan") if b == 0 and a == 0 else (a / b if b else float("inf"))


def main(argv=None) -> int:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--widths", type=int, nargs="+", default=[4, 6, 8, 10, 12, 16])
    p.add_argument("--reuse", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--products", nargs="+", default=["mul", "shift_add"])
    p.add_argument("--family", default="xcup")
    p.add_argument("--examples", nargs="*", default=["qonnx_mlp"],
                   help="bundled MLPs to add at their own configs (jet_tagger takes yosys minutes)")
    p.add_argument("--quick", action="store_true", help="widths 4 8 16, reuse 1 2")
    args = p.parse_args(argv)
    if args.quick:
        args.widths, args.reuse = [4, 8, 16], [1, 2]
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 8)).eval()
    x = np.zeros((1, 16))
    heads = ["design", "rf", "products", "dsp est", "dsp yosys", "lut est", "lut yosys", "inv yosys", "lut est/ys",
             "ff est", "ff yosys", "carry yosys", "yosys s"]
    rows, ratios = [], {"lut": [], "ff": [], "dsp": []}
    points = [(f"dense16x8 w={w}", {"model": {"precision": f"ap_fixed<{w},{max(w // 2, 1)}>", "reuse_factor": rf}},
               rf, model, x) for w in args.widths for rf in args.reuse]
    from fxflow.examples import load

    for name in args.examples:
        ex = load(name)
        m = ex.make_model()
        points.append((name, ex.DEFAULT_CONFIG, 1, m, ex.make_inputs(1, 0)))
    for products in args.products:
        for name, cfg, rf, m, xin in points:
            if products == "shift_add" and rf > 1:
                continue  # time-multiplexed products are real multipliers; the style does not apply
            est, got, sec = point(cfg, products, m, xin, args.family)
            rows.append([name, rf, products, est["dsp"], got["dsp"], est["lut"], got["lut"], got["inv"],
                         f"{ratio(est['lut'], got['lut']):.2f}", est["ff"], got["ff"], got["carry"], f"{sec:.1f}"])
            if products == "mul":
                for k in ratios:
                    if got[k]:
                        ratios[k].append(est[k] / got[k])
            print("  ".join(str(v) for v in rows[-1]), file=sys.stderr, flush=True)
    widths = [max(len(h), *(len(str(r[i])) for r in rows)) for i, h in enumerate(heads)]
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths)))
    for r in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)))
    for k, vals in ratios.items():
        if vals:
            print(f"{k}: estimate / yosys median {statistics.median(vals):.2f}, range {min(vals):.2f}-{max(vals):.2f} "
                  f"over {len(vals)} 'mul' points")
    print("yosys synth_xilinx counts are an open-tool yardstick of fxflow's RTL, not Vivado post-route figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
