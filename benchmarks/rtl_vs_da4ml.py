"""fxflow's shared adder graphs next to da4ml on the same weights and formats, both through the same yosys script.

    .venv/bin/python benchmarks/rtl_vs_da4ml.py [--cases dense16x64,jet6,jet8] [--samples 2000] [--jobs 2]

Cases: one 16x64 layer with 8-bit weights (30 % zeros) on 8-bit inputs, exact outputs; the jet tagger
(16-64-32-32-5, ReLU) with weights, inputs and activations at 6 and at 8 bits (exact accumulators, ReLU
outputs ap_ufixed<B,3> truncated and saturated).  fxflow compiles the PyTorch model with
`strategy: distributed_arithmetic` and `backend="rtl"`; da4ml (`pip install -e '.[da]'`, da4ml 0.6) traces the
same arithmetic (`da4ml.trace`, its CMVM solver) and writes its own Verilog (`VerilogModel`).  Both designs
are combinational (fxflow `pipeline: 0`, da4ml without a latency cutoff): 0 cycles each.

Each side is synthesized per layer (fxflow: one yosys process per kernel module, da4ml: one per layer traced
on its own), in parallel, with the same script: `synth_xilinx -family xcup -nodsp -noiopad -flatten`, then
`ltp -noff` (logic depth: the longest path in cells, summed over the chained layers) and `stat`.  Results are
cached by content under the fxflow cache (yosys/), so a rerun costs no synthesis.  **yosys counts are an
open-tool yardstick, not Vivado's post-route figures** (da4ml's own papers quote Vivado).

Bit-exactness: fxflow's predict, the Verilator simulation of fxflow's Verilog and da4ml's own emulator
(`CombLogic.predict`, its C++ interpreter) on the same inputs.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

OPTIONS = "-nodsp -flatten"


def _fmt_bits(w: np.ndarray, bits: int) -> tuple[int, int]:
    """(integer bits, fractional bits) of a signed `bits`-wide format that holds max |w|."""
    m = float(np.max(np.abs(w))) or 1.0
    i = int(math.floor(math.log2(m))) + 2  # sign + magnitude bits above the binary point
    return i, bits - i


def _quantized(x: np.ndarray, f: int, bits: int) -> np.ndarray:
    q = np.round(x * 2.0**f)
    lim = 2 ** (bits - 1)
    return np.clip(q, -lim, lim - 1) / 2.0**f


def make_case(name: str, seed: int = 0):
    """(torch model, fxflow config, layer list for da4ml, input bits/int bits).  Layer list: [(W [K,N], b [N],
    relu output (i, f) or None)] with the same quantized values the torch model holds."""
    import torch

    rng = np.random.default_rng(seed)
    if name == "dense16x64":
        bits = 8
        w = rng.integers(-128, 128, size=(16, 64)) / 64.0
        w[rng.random(w.shape) < 0.3] = 0
        model = torch.nn.Sequential()
        model.add_module("fc", torch.nn.Linear(16, 64, bias=False))
        with torch.no_grad():
            model.fc.weight.copy_(torch.tensor(w.T))
        cfg = {"model": {"precision": "auto", "input": f"ap_fixed<{bits},3>", "strategy": "distributed_arithmetic"},
               "layers": {"fc": {"weight": f"ap_fixed<{bits},2>", "result": "auto"}}}
        return model.eval(), cfg, [(w, np.zeros(64), None)], bits
    bits = int(name[3:])
    from fxflow.examples import jet_tagger

    model = jet_tagger.make_model(seed)
    cfg = {"model": {"precision": "auto", "input": f"ap_fixed<{bits},3>", "strategy": "distributed_arithmetic"},
           "layers": {}}
    layers = []
    names = [("fc1", "relu1"), ("fc2", "relu2"), ("fc3", "relu3"), ("output", None)]
    for lin_name, act in names:
        lin = getattr(model, lin_name)
        w = lin.weight.detach().numpy().astype(np.float64).T
        wi, wf = _fmt_bits(w, bits)
        w = _quantized(w, wf, bits)
        b = _quantized(lin.bias.detach().numpy().astype(np.float64), 10, 16)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(w.T))
            lin.bias.copy_(torch.tensor(b))
        cfg["layers"][lin_name] = {"weight": f"ap_fixed<{bits},{wi}>", "bias": "ap_fixed<16,6>", "result": "auto"}
        if act:
            cfg["layers"][act] = {"result": f"ap_ufixed<{bits},3,AP_TRN,AP_SAT>"}
        layers.append((w, b, (3, bits - 3) if act else None))
    return model.eval(), cfg, layers, bits


# --- fxflow --------------------------------------------------------------------------------------------
def run_fxflow(model, cfg, x, jobs: int):
    import fxflow
    from fxflow.lowering.rtl import yosys

    t0 = time.perf_counter()
    design = fxflow.compile(model, x[:1], config=cfg, backend="rtl", rtl={"pipeline": 0})
    sv = design.rtl.verilog()
    t_compile = time.perf_counter() - t0
    kernels = [k.name for k in design.rtl.kernels]
    res = yosys.synth(sv, design.rtl.top, options=OPTIONS, modules=kernels, jobs=jobs, depth=True, verbose=False)
    y_rtl, latency = design.rtl_sim(x, verbose=False)
    est = design.report()["total"]
    return {"design": design, "counts": res["total"], "depth": sum(res["depth"].get(k, 0) for k in kernels),
            "latency": latency, "compile": t_compile, "yosys": res["seconds"], "y": design.predict(x),
            "y_rtl": y_rtl, "est_lut": est.get("lut")}


# --- da4ml ---------------------------------------------------------------------------------------------
def _trace_layer(inp_kif, w, b, act):
    from da4ml.trace import FixedVariableArrayInput, comb_trace
    from da4ml.trace.ops import quantize, relu

    inp = FixedVariableArrayInput((w.shape[0],))
    x = quantize(inp, *inp_kif)
    y = x @ w.astype(np.float32)
    if np.any(b):
        y = y + b
    if act is not None:
        y = quantize(relu(y), 0, act[0], act[1], "SAT", "TRN")
    return inp, comb_trace(inp, y)


def run_da4ml(layers, bits: int, x, jobs: int, tmp: Path):
    from da4ml.codegen import VerilogModel
    from da4ml.trace import FixedVariableArrayInput, comb_trace
    from da4ml.trace.ops import quantize, relu

    from fxflow.lowering.rtl import yosys

    t0 = time.perf_counter()
    combs = []
    kif = (1, 2, bits - 3)  # ap_fixed<bits,3>
    for i, (w, b, act) in enumerate(layers):
        _, comb = _trace_layer(kif, w, b, act)
        combs.append(comb)
        kif = (0, act[0], act[1]) if act is not None else None
    sources = []
    for i, comb in enumerate(combs):
        name = f"da_layer{i}"
        VerilogModel(comb, name, tmp / name, latency_cutoff=-1, print_latency=False).write()
        top = (tmp / name / "src" / f"{name}.v").read_text()
        # da4ml's static cells the layer instantiates (its lookup_table.v reads a placeholder memory file)
        files = [p for p in sorted((tmp / name / "src" / "static").glob("*.v")) if p.stem != "lookup_table"
                 and p.stem in top]
        files.insert(0, tmp / name / "src" / f"{name}.v")
        sources.append((name, "\n".join(p.read_text() for p in files)))
    t_compile = time.perf_counter() - t0
    # the whole network traced at once: da4ml's own emulator of it
    inp = FixedVariableArrayInput((layers[0][0].shape[0],))
    h = quantize(inp, 1, 2, bits - 3)
    for w, b, act in layers:
        h = h @ w.astype(np.float32)
        if np.any(b):
            h = h + b
        if act is not None:
            h = quantize(relu(h), 0, act[0], act[1], "SAT", "TRN")
    whole = comb_trace(inp, h)
    y = whole.predict(x)
    t1 = time.perf_counter()

    def one(src):
        return yosys.synth(src[1], src[0], options=OPTIONS, depth=True, verbose=False)

    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
        results = list(pool.map(one, sources))
    total = {}
    for (name, _), r in zip(sources, results):
        for k, v in r["modules"].get(name, r["total"]).items():
            total[k] = total.get(k, 0) + v
    depth = sum(r["depth"].get(name, 0) for (name, _), r in zip(sources, results))
    return {"counts": total, "depth": depth, "latency": 0, "compile": t_compile, "yosys": time.perf_counter() - t1,
            "y": y, "cost": sum(c.cost for c in combs)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="dense16x64,jet6,jet8")
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--jobs", type=int, default=2, help="parallel yosys processes")
    args = p.parse_args(argv)
    try:
        import da4ml  # noqa: F401
    except ImportError:
        print("da4ml is not installed (pip install -e '.[da]')")
        return 2
    rows, ok = [], True
    for case in args.cases.split(","):
        model, cfg, layers, bits = make_case(case)
        rng = np.random.default_rng(1)
        x = rng.normal(0, 1.5, size=(args.samples, layers[0][0].shape[0]))
        x = np.clip(np.floor(x * 2.0 ** (bits - 3)), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1) / 2.0 ** (bits - 3)
        fx = run_fxflow(model, cfg, x, args.jobs)
        with tempfile.TemporaryDirectory(prefix="da4ml-") as tmp:
            da = run_da4ml(layers, bits, x, args.jobs, Path(tmp))
        y = fx["y"].reshape(len(x), -1)
        exact_rtl = np.array_equal(fx["y_rtl"].reshape(len(x), -1), y)
        exact_da = np.array_equal(np.asarray(da["y"], dtype=np.float64).reshape(len(x), -1), y)
        ok &= exact_rtl and exact_da
        for who, r in (("fxflow", fx), ("da4ml", da)):
            c = r["counts"]
            rows.append([case, who, c["lut"], c["ff"], c["dsp"], c["carry"], r["depth"], r["latency"],
                         f"{r['compile']:.1f}", f"{r['yosys']:.0f}",
                         f"{fx['counts']['lut'] / max(da['counts']['lut'], 1):.2f}" if who == "fxflow" else "",
                         (f"est {r['est_lut']}" if who == "fxflow" else f"cost {r['cost']:.0f}")])
        print(f"{case}: Verilator == predict: {exact_rtl}; da4ml's emulator == predict: {exact_da}", flush=True)
    head = ["case", "flow", "LUT", "FF", "DSP", "CARRY", "depth", "cycles", "compile s", "yosys s",
            "LUT ratio", "model cost"]
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        print("  ".join(str(v).rjust(w) for v, w in zip(r, widths)))
    print("yosys synth_xilinx -family xcup -nodsp -flatten counts: an open-tool yardstick, not Vivado post-route "
          "figures; depth = yosys ltp (cells on the longest path), summed over the chained layers; "
          "LUT ratio = fxflow / da4ml; model cost: fxflow's estimate (report) / da4ml's own adder cost")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
