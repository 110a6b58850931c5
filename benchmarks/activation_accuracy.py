"""Default activation-table accuracy (docs/layers.md, "Activation table accuracy"): max |predict - float64|
of a Linear followed by each table activation, of the lut alone (against the function of its own fixed-point
input), and of small LSTM/GRU taggers against hls4ml 1.3's own defaults.

    .venv/bin/python benchmarks/activation_accuracy.py [--precision ap_fixed<20,8>] [--no-hls4ml]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import warnings

import numpy as np
import torch

import fxflow

ACTS = {"sigmoid": torch.nn.Sigmoid(), "tanh": torch.nn.Tanh(), "gelu": torch.nn.GELU(), "silu": torch.nn.SiLU(),
        "elu": torch.nn.ELU(), "softplus": torch.nn.Softplus(), "softsign": torch.nn.Softsign()}


def activation_errors(precision: str, n: int = 2000) -> dict[str, tuple[float, float]]:
    """name -> (max error of Linear + act against float64, max error of the lut against f(its input))."""
    out = {}
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 16)) * 3
    for name, act in ACTS.items():
        torch.manual_seed(0)
        fc = torch.nn.Linear(16, 16)
        model = torch.nn.Sequential(fc, act).double().eval()
        lin = torch.nn.Sequential(fc).double().eval()
        cfg = {"model": {"precision": precision}}
        design = fxflow.compile(model.float(), torch.zeros(1, 16), config=cfg)
        lin_design = fxflow.compile(lin.float(), torch.zeros(1, 16), config=cfg)
        ref = model.double()(torch.from_numpy(x)).detach().numpy()
        y = design.predict(x)
        h = lin_design.predict(x)  # the lut's fixed-point input
        own = act.double()(torch.from_numpy(h)).detach().numpy()
        out[name] = (float(np.abs(y - ref).max()), float(np.abs(y - own).max()))
    return out


class Tagger(torch.nn.Module):
    def __init__(self, cell: str, feats: int, hidden: int, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](feats, hidden, batch_first=True)

    def forward(self, x):
        return self.rnn(x)[0][:, -1]  # the last state: what hls4ml's PyTorch LSTM/GRU returns


def recurrent_errors(precision: str, with_hls4ml: bool, io_type: str = "io_parallel", feats=6, hidden=8, steps=8,
                     n=200, scale=2.0) -> dict[str, tuple[float, float | None]]:
    """cell -> (fxflow default max error, hls4ml default max error) of the last state against float64."""
    out = {}
    for cell in ("lstm", "gru"):
        model = Tagger(cell, feats, hidden, 0).eval()
        x = np.random.default_rng(1).uniform(-scale, scale, (n, steps, feats))
        ref = model.double()(torch.from_numpy(x)).detach().numpy()
        model.float()
        design = fxflow.compile(model, torch.zeros(1, steps, feats), io_type=io_type,
                                config={"model": {"precision": precision}})
        ours = float(np.abs(design.predict(x) - ref).max())
        theirs = None
        if with_hls4ml:
            theirs = float(np.abs(hls4ml_predict(model, x, precision, io_type) - ref).max())
        out[cell] = (ours, theirs)
    return out


def hls4ml_predict(model, x: np.ndarray, precision: str, io_type: str) -> np.ndarray:
    import hls4ml

    steps, feats = x.shape[1:]
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = hls4ml.utils.config_from_pytorch_model(model, (steps, feats), default_precision=precision,
                                                     channels_last_conversion="off")
        hm = hls4ml.converters.convert_from_pytorch_model(model, hls_config=cfg, output_dir=tmp, backend="Vitis",
                                                          io_type=io_type)
        hm.compile()
        y = np.asarray(hm.predict(np.ascontiguousarray(x.astype(np.float32))), dtype=np.float64)
    return y.reshape(len(x), -1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--precision", default="ap_fixed<20,8>")
    ap.add_argument("--no-hls4ml", action="store_true")
    args = ap.parse_args()
    print(f"{args.precision}: max |error| against float64")
    print(f"{'activation':<10} {'Linear+act':>11} {'lut alone':>10}")
    for name, (model_err, lut_err) in activation_errors(args.precision).items():
        print(f"{name:<10} {model_err:>11.5f} {lut_err:>10.5f}")
    print(f"{'tagger':<22} {'fxflow':>9} {'hls4ml':>9}")
    for io_type, kw in (("io_parallel", {}), ("io_stream", {}),
                        ("io_stream", {"feats": 10, "hidden": 20, "steps": 1, "scale": 3.0})):
        for cell, (ours, theirs) in recurrent_errors(args.precision, not args.no_hls4ml, io_type, **kw).items():
            what = f"{cell} {io_type}" + (" 10x20 T=1" if kw else "")
            print(f"{what:<22} {ours:>9.5f} {theirs if theirs is None else f'{theirs:9.5f}'}")


if __name__ == "__main__":
    main()
