"""Approximate-multiplier emulation throughput: fxflow's `predict` (per-layer term tables: a row gather per
input feature, vectorized over the batch, integer accumulation) against the table-product emulation as AdaPT
writes it in PyTorch (quantize, then one LUT lookup per product: a [batch, K, N] index tensor per layer), on
the same model, formats and multiplier, in one run; the outputs are compared value by value.

    .venv/bin/python benchmarks/approx_predict.py [--samples 20000] [--multiplier mul8s_drum4]

Formats are 8-bit signed (AP_TRN, AP_SAT) for inputs, weights and results with exact accumulators, which
the PyTorch version reproduces with floor/clamp, so both compute the same numbers.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

FMT = "ap_fixed<8,3,AP_TRN,AP_SAT>"
WFMT = "ap_fixed<8,1,AP_TRN,AP_SAT>"


def adapt_style(model, mult, fx: int, fw: int, lo: int, hi: int, x: np.ndarray, batch: int):
    """AdaPT's emulation: per layer xq = clamp(floor(x 2^fx)), wq likewise, y = sum_k LUT[xq, wq] (a gather
    per product), + bias, rescaled, clamped to the result grid; ReLU between layers."""
    import torch

    lut = torch.from_numpy(mult.table())  # [a - a_min, b - b_min]
    a0, b0 = mult.a_range[0], mult.b_range[0]
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    qw = [torch.clamp(torch.floor(lay.weight.detach().double().T * 2**fw), lo, hi).long() - b0 for lay in layers]
    qb = [torch.clamp(torch.floor(lay.bias.detach().double() * 2**fx), lo, hi).long() for lay in layers]
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            h = torch.from_numpy(x[i:i + batch])
            for j, (w, b) in enumerate(zip(qw, qb)):
                xq = torch.clamp(torch.floor(h * 2**fx), lo, hi).long() - a0
                prod = lut[xq[:, :, None], w[None, :, :]]  # one table lookup per product
                acc = prod.sum(dim=1) + (b << fw)[None, :]  # on the product grid 2^-(fx + fw)
                y = torch.clamp(torch.floor(acc.double() / 2**fw), lo, hi)  # result: floor to 2^-fx, saturate
                h = y / 2**fx
                if j < len(qw) - 1:
                    h = torch.relu(h)
            outs.append(h.numpy())
    return np.concatenate(outs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=20_000)
    ap.add_argument("--multiplier", default="mul8s_drum4")
    ap.add_argument("--batch", type=int, default=1024, help="AdaPT-style batch (its index tensors are B*K*N)")
    args = ap.parse_args()
    import torch

    import fxflow
    from fxflow.examples import jet_tagger
    from fxflow.fixed import FixedFormat

    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = jet_tagger.make_model()
    x = np.clip(jet_tagger.make_inputs(args.samples), -3.9, 3.9)
    cfg = {"model": {"precision": FMT, "weight": WFMT, "bias": FMT, "accum": "exact", "multiplier": args.multiplier}}
    design = fxflow.compile(model, x[:1], config=cfg)
    f, w = FixedFormat.parse(FMT), FixedFormat.parse(WFMT)
    from fxflow import approx

    mult = approx.resolve(args.multiplier, f, w, "benchmark")
    design.predict(x[:100])  # warm up (term tables are built at compile of the emulator program)
    t0 = time.perf_counter()
    y_fx = design.predict(x)
    t_fx = time.perf_counter() - t0
    adapt_style(model, mult, f.f, w.f, f.min_int, f.max_int, x[:100], args.batch)
    t0 = time.perf_counter()
    y_ad = adapt_style(model, mult, f.f, w.f, f.min_int, f.max_int, x, args.batch)
    t_ad = time.perf_counter() - t0
    differ = int(np.count_nonzero(y_fx != y_ad))
    exact_design = fxflow.compile(model, x[:1], config={"model": {**cfg["model"], "multiplier": "exact"}})
    exact_design.predict(x[:100])
    t0 = time.perf_counter()
    exact = exact_design.predict(x)
    t_ex = time.perf_counter() - t0
    print(f"jet tagger 16-64-32-32-5, {args.samples} samples, multiplier {args.multiplier} ({mult.spec}, "
          f"{mult.gates} gates), formats {FMT} / weights {WFMT}, torch threads {torch.get_num_threads()}")
    print(f"{'emulator':44s} {'samples/s':>12s} {'time (s)':>9s}")
    print(f"{'fxflow predict (term tables, bit-exact)':44s} {args.samples / t_fx:12,.0f} {t_fx:9.3f}")
    print(f"{'AdaPT-style per-product LUT (PyTorch)':44s} {args.samples / t_ad:12,.0f} {t_ad:9.3f}")
    print(f"{'fxflow predict, exact multipliers (BLAS)':44s} {args.samples / t_ex:12,.0f} {t_ex:9.3f}")
    print(f"ratio fxflow / AdaPT-style: {t_ad / t_fx:.2f}x")
    print(f"values differing between the two: {differ} of {y_fx.size}; "
          f"outputs changed by the multiplier vs exact: {int(np.count_nonzero(y_fx != exact))}")


if __name__ == "__main__":
    main()
