"""fxflow's shared adder graphs next to da4ml on the same weights and formats, both through the same yosys script.

    .venv/bin/python benchmarks/rtl_vs_da4ml.py [--cases dense16x64,jet6,jet8,hgq] [--samples 2000] [--jobs 2]

Cases: one 16x64 layer with 8-bit weights (30 % zeros) on 8-bit inputs, exact outputs; the jet tagger
(16-64-32-32-5, ReLU) with weights, inputs and activations at 6 and at 8 bits (exact accumulators, ReLU
outputs ap_ufixed<B,3> truncated and saturated); `hgq`: the HGQ-style jet tagger of
`fxflow.examples.hgq_jet_tagger` (bundled weights: a bit width per weight and per activation element, pruned
weights and activations; per-element quantizers RND/SAT on the input and after every ReLU).  HGQ's published
jet tagger (5,974 LUT, 0 DSP, Vivado, trained on the real LHC data) is printed as a reference only: different
data and weights, different synthesis tool.  fxflow compiles the PyTorch model with
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


HGQ_PUBLISHED_LUT = 5974  # HGQ + da4ml, Vivado, the real jet data (Sun et al.): a reference, not a pass mark


def make_case(name: str, seed: int = 0):
    """(torch model, fxflow config, layer list for da4ml, input spec).  Layer list: [(W [K,N], b [N], act)]
    with the same quantized values the torch model holds; act: None, the ReLU output (i, f) (unsigned, TRN,
    SAT) or per-element (k, i, f) arrays (ReLU, then RND, SAT).  Input spec: (k, i, f) of the input format and
    the per-element input quantizer's (k, i, f) arrays or None."""
    import torch

    rng = np.random.default_rng(seed)
    if name == "hgq":
        return _hgq_case()
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
        return model.eval(), cfg, [(w, np.zeros(64), None)], ((1, 2, bits - 3), None)
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
    return model.eval(), cfg, layers, ((1, 2, bits - 3), None)


def _hgq_case():
    from fxflow.examples import hgq_jet_tagger as ex
    from fxflow.lowering.quantizer_import import module_formats

    model = ex.make_model()
    kifs = []
    for q in model.quantizers():  # fxflow's canonical per-element formats (pruned elements (0, 0, 0))
        kif = module_formats(q, "q").kif.reshape(-1, 3)
        kifs.append(tuple(kif[:, j] for j in range(3)))
    layers = []
    for n, fc in enumerate(model.layers()):
        w = fc.qweight().detach().numpy().astype(np.float64).T
        b = fc.qbias().detach().numpy().astype(np.float64)
        layers.append((w, b, kifs[n + 1] if n + 1 < len(kifs) else None))
    return model, ex.ADDER_GRAPH_CONFIG, layers, ((1, 5, ex.INPUT_F), kifs[0])


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
def _layer(x, w, b, act):
    """da4ml's trace of one layer: x @ W + b, then the activation (see make_case)."""
    from da4ml.trace.ops import quantize, relu

    y = x @ w.astype(np.float32)
    if np.any(b):
        y = y + b
    if act is None:
        return y
    if len(act) == 2:
        return quantize(relu(y), 0, act[0], act[1], "SAT", "TRN")
    return quantize(relu(y), *act, "SAT", "RND")


def _out_kif(act):
    """The (k, i, f) a layer's output has after its activation (the next layer's declared input)."""
    return (0, act[0], act[1]) if len(act) == 2 else act


def _trace_layer(inp_kif, w, b, act, first_q=None):
    from da4ml.trace import FixedVariableArrayInput, comb_trace
    from da4ml.trace.ops import quantize

    inp = FixedVariableArrayInput((w.shape[0],))
    x = quantize(inp, *inp_kif)  # declares the input's format (the data is in it already)
    if first_q is not None:  # the per-element input quantizer
        x = quantize(x, *first_q, "SAT", "RND")
    return inp, comb_trace(inp, _layer(x, w, b, act))


def run_da4ml(layers, inputs, x, jobs: int, tmp: Path):
    from da4ml.codegen import VerilogModel
    from da4ml.trace import FixedVariableArrayInput, comb_trace
    from da4ml.trace.ops import quantize

    from fxflow.lowering.rtl import yosys

    t0 = time.perf_counter()
    combs = []
    kif, first_q = inputs
    for i, (w, b, act) in enumerate(layers):
        _, comb = _trace_layer(kif, w, b, act, first_q if i == 0 else None)
        combs.append(comb)
        kif = _out_kif(act) if act is not None else None
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
    h = quantize(inp, *inputs[0])
    if inputs[1] is not None:
        h = quantize(h, *inputs[1], "SAT", "RND")
    for w, b, act in layers:
        h = _layer(h, w, b, act)
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
    p.add_argument("--cases", default="dense16x64,jet6,jet8,hgq")
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
        model, cfg, layers, inputs = make_case(case)
        rng = np.random.default_rng(1)
        x = rng.normal(0, 1.5, size=(args.samples, layers[0][0].shape[0]))
        k, i, f = inputs[0]  # on the input format's grid, inside its range
        x = np.clip(np.floor(x * 2.0**f), -(2 ** (k + i + f - 1)), 2 ** (k + i + f - 1) - 1) / 2.0**f
        fx = run_fxflow(model, cfg, x, args.jobs)
        with tempfile.TemporaryDirectory(prefix="da4ml-") as tmp:
            da = run_da4ml(layers, inputs, x, args.jobs, Path(tmp))
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
        if case == "hgq":
            rows.append([case, "HGQ paper", HGQ_PUBLISHED_LUT, "", 0, "", "", "", "", "", "", "Vivado, other data"])
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
