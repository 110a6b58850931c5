"""A 2-D CNN side by side with hls4ml 1.3 in one run: the config hls4ml's `config_from_pytorch_model` returns
is passed to both tools; prints conversion and C-sim build times, predict throughput, the ratios, and the
number of values where fxflow's predict differs from hls4ml's (hls4ml arithmetic: expected 0).

    .venv/bin/python benchmarks/cnn_vs_hls4ml.py [--samples 2000] [--precision "ap_fixed<16,6>"]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def make_model():
    import torch
    from torch import nn

    class Cnn(nn.Module):  # hls4ml-supported layers only: Conv2d, ReLU, MaxPool2d, AvgPool2d, Linear, Softmax
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3)
            self.relu1 = nn.ReLU()
            self.pool1 = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(8, 8, 3)
            self.relu2 = nn.ReLU()
            self.pool2 = nn.AvgPool2d(2)
            self.fc = nn.Linear(8 * 2 * 2, 10)
            self.softmax = nn.Softmax(dim=1)

        def forward(self, x):
            x = self.pool1(self.relu1(self.conv1(x)))
            x = self.pool2(self.relu2(self.conv2(x)))
            return self.softmax(self.fc(torch.flatten(x, 1)))

    torch.manual_seed(0)
    return Cnn().eval()


def _best(fn, repeat: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--precision", default="ap_fixed<16,6>")
    args = ap.parse_args()
    import hls4ml
    import torch

    import fxflow
    from fxflow.lowering.hls import csim

    model = make_model()
    shape = (1, 14, 14)
    x = np.random.default_rng(1).uniform(0, 1, size=(args.samples, *shape)).astype(np.float32)
    config = hls4ml.utils.config_from_pytorch_model(model, shape, default_precision=args.precision)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FXFLOW_CACHE_DIR"] = str(Path(tmp) / "cache")  # cold builds on both sides
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            hls_model = hls4ml.converters.convert_from_pytorch_model(
                model, hls_config=config, output_dir=str(Path(tmp) / "hls4ml"), backend="Vitis",
                io_type="io_parallel")
            hls_model.write()
            t_hls_convert = time.perf_counter() - t0
            t0 = time.perf_counter()
            hls_model.compile()
            t_hls_build = time.perf_counter() - t0
        fxflow.compile(model, torch.from_numpy(x[:1]), config)  # warm the exporter once, like hls4ml's imports
        t0 = time.perf_counter()
        design = fxflow.compile(model, torch.from_numpy(x[:1]), config)
        project = design.write(Path(tmp) / "fxflow")
        t_fx_convert = time.perf_counter() - t0
        t0 = time.perf_counter()
        csim.build(project, verbose=False)
        t_fx_build = time.perf_counter() - t0
        design.predict(x[:10])
        t_fx, y = _best(lambda: design.predict(x))
        t_hls, yh = _best(lambda: np.asarray(hls_model.predict(np.ascontiguousarray(x)), dtype=np.float64), 1)
        t_cs, yc = _best(lambda: design.csim(x, verbose=False), 1)
    yh = yh.reshape(y.shape)
    rows = [
        ("convert + write project (s)", t_fx_convert, t_hls_convert, t_hls_convert / t_fx_convert),
        ("C-sim g++ build (s)", t_fx_build, t_hls_build, t_hls_build / t_fx_build),
        ("predict (samples/s)", len(x) / t_fx, len(x) / t_hls, t_hls / t_fx),
    ]
    print(f"2-D CNN (1x14x14 -> conv/relu/maxpool, conv/relu/avgpool, dense, softmax), {args.precision}, "
          f"{len(x)} samples")
    print(f"{'':32}{'fxflow':>12}{'hls4ml':>12}{'ratio':>9}")
    for name, a, b, r in rows:
        fmt = "{:>12,.0f}" if "samples" in name else "{:>12.2f}"
        print(f"{name:32}{fmt.format(a)}{fmt.format(b)}{r:>8.1f}x")
    print(f"fxflow C-sim: {len(x) / t_cs:,.0f} samples/s; predict vs C-sim mismatches: {int(np.sum(y != yc))}")
    print(f"values where fxflow predict != hls4ml predict: {int(np.sum(y != yh))} of {y.size}")


if __name__ == "__main__":
    main()
