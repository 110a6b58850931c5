"""The open RTL flow on one design, side by side with the HLS C simulation of the same design, in one run:
RTL emission (CIRCT build + SystemVerilog export), Verilator build and run of 10k samples, yosys
synth_xilinx, and the g++ C-sim build and run; every executor checked against predict.

    .venv/bin/python benchmarks/rtl_flow.py [--example jet_tagger] [--samples 10000] [--no-synth]

Caches are bypassed (a fresh cache directory), so the build times are cold.  yosys counts are an open-tool
yardstick, not Vivado post-route figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--example", default="jet_tagger")
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--products", default="mul", choices=("mul", "shift_add"))
    p.add_argument("--no-synth", action="store_true")
    args = p.parse_args(argv)
    os.environ["FXFLOW_CACHE_DIR"] = tempfile.mkdtemp(prefix="fxflow-bench-cache-")
    import fxflow
    from fxflow.examples import load

    ex = load(args.example)
    model, x = ex.make_model(), ex.make_inputs(args.samples, 0)
    cfg = ex.DEFAULT_CONFIG
    rows = []

    t0 = time.perf_counter()
    design = fxflow.compile(model, x[:1], config=cfg, backend="rtl", rtl={"products": args.products})
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    sv = design.rtl.verilog()
    t_sv = time.perf_counter() - t0
    rows.append(("RTL: compile incl. CIRCT build", t_compile, f"{len(design.rtl.kernels)} kernel modules"))
    rows.append(("RTL: SystemVerilog export", t_sv, f"{len(sv.splitlines())} lines"))

    from fxflow.lowering.rtl import verilator

    t0 = time.perf_counter()
    verilator.build(design.rtl, verbose=False, verilog=sv)
    rows.append(("Verilator build", time.perf_counter() - t0, ""))
    t0 = time.perf_counter()
    y_rtl, latency = design.rtl_sim(x, verbose=False)
    t_run = time.perf_counter() - t0
    ref = design.predict(x)
    bad_rtl = int(np.sum(y_rtl != ref))
    rows.append((f"Verilator run, {args.samples} samples", t_run,
                 f"{args.samples / t_run:,.0f} samples/s, latency {latency} cycles, {bad_rtl} mismatches"))

    if not args.no_synth:
        t0 = time.perf_counter()
        res = design.synth(verbose=False)
        tot = res["total"]
        rows.append(("yosys synth_xilinx", time.perf_counter() - t0,
                     f"LUT {tot['lut']} (INV {tot['inv']}), FF {tot['ff']}, DSP {tot['dsp']}, CARRY {tot['carry']}"))

    hls = fxflow.compile(model, x[:1], config=cfg)
    with tempfile.TemporaryDirectory() as tmp:
        hls.write(tmp)
        from fxflow.lowering.hls import csim

        t0 = time.perf_counter()
        csim.build(tmp, verbose=False)
        t_cs = time.perf_counter() - t0
        rows.append(("C-sim (g++ + ap_types) build", t_cs, ""))
        t0 = time.perf_counter()
        y_c = hls.csim(x, verbose=False)
        t_c = time.perf_counter() - t0
        bad_c = int(np.sum(y_c != ref))
        rows.append((f"C-sim run, {args.samples} samples", t_c, f"{args.samples / t_c:,.0f} samples/s, "
                     f"{bad_c} mismatches"))
    t0 = time.perf_counter()
    design.predict(x)
    t_p = time.perf_counter() - t0
    rows.append((f"predict, {args.samples} samples", t_p, f"{args.samples / t_p:,.0f} samples/s"))

    w = max(len(r[0]) for r in rows)
    print(f"{args.example} ({args.products} products), {os.cpu_count()} cores")
    for name, sec, note in rows:
        print(f"{name.ljust(w)}  {sec:8.2f} s  {note}")
    build_rtl = [r[1] for r in rows if r[0] == "Verilator build"][0]
    print(f"Verilator build / C-sim build: {build_rtl / t_cs:.2f}x")
    print("yosys counts are an open-tool yardstick, not Vivado post-route figures")
    return 1 if bad_rtl or bad_c else 0


if __name__ == "__main__":
    sys.exit(main())
