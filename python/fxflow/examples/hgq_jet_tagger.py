"""HGQ-style jet tagger: 16 -> 64 -> 32 -> 32 -> 5 with a bit width per weight and per activation element.

High Granularity Quantization (Sun et al.) learns one fractional bit count per weight and per activation
element, with a regulariser on the total bits, so unneeded bits (and whole weights and activations) vanish.
This example does the same in plain PyTorch, briefly: `ElementQuantizer` (per-element k, i, f for
activations: i from the calibrated range, f learned through a straight-through rounding), `HgqLinear`
(per-weight f learned; a weight rounded to zero is pruned) and `train` (cross-entropy + gamma * bits, gamma
ramped up after a warm-up, on synthetic jet-like data from `jet_tagger.make_inputs` labelled by a fixed
random teacher network: `make_dataset`). The trained model is bundled (`data/hgq_jet_tagger.npz`, quantized
values and bit widths; 398 of 4,256 weights nonzero at ~2.2 bits each, 35 of 128 hidden activations pruned,
held-out accuracy 91.0 %: `accuracy(make_model())`), so `make_model()` needs no training:

    model = make_model()                 # the bundled weights and formats
    x = make_inputs(1000)                # on the input grid 2^-INPUT_F
    design = fxflow.compile(model, x[:1], config=ADDER_GRAPH_CONFIG, backend="rtl")
    design.predict(x) == model(x)        # bit for bit (float64 forward)

fxflow reads the quantizers from the modules (`ElementQuantizer.fxflow_formats`, see
`fxflow.lowering.quantizer_import`): each becomes one `fxp.cast` with per-element formats, the weights
become constants with their own exact formats, and the RTL adder graphs are as wide as each element's range.
Regenerate the bundle with `python -m fxflow.examples.hgq_jet_tagger --train` (about a minute and a half on one core).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .jet_tagger import N_CLASSES, N_FEATURES, make_inputs as _jet_inputs

NAME = "hgq_jet_tagger"
DESCRIPTION = "HGQ-style jet tagger (16->64->32->32->5), per-weight and per-activation bit widths"
INPUT_SHAPE = (N_FEATURES,)
SIZES = (N_FEATURES, 64, 32, 32, N_CLASSES)
INPUT_F = 10  # the inputs' grid (the input quantizer's fractional bits are at most this)
WEIGHTS = Path(__file__).parent / "data" / "hgq_jet_tagger.npz"
DEFAULT_CONFIG = {"model": {"precision": "auto", "input": f"ap_fixed<{INPUT_F + 6},6>"}}
# the multiplierless form (HLS distributed_arithmetic, RTL adder graphs): benchmarks/rtl_vs_da4ml.py
ADDER_GRAPH_CONFIG = {"model": {**DEFAULT_CONFIG["model"], "strategy": "distributed_arithmetic"}}
MAX_F = 8  # fractional bits are learned in [-MAX_F, MAX_F]


def make_inputs(n: int, seed: int = 1) -> np.ndarray:
    """Synthetic standardised jet features on the input grid 2^-INPUT_F (inside ap_fixed<16,6>)."""
    return np.clip(np.round(_jet_inputs(n, seed) * 2.0**INPUT_F) / 2.0**INPUT_F, -31, 31)


def _modules():
    import torch
    from torch import nn

    def round_ste(v):
        return v + (torch.round(v) - v).detach()

    def floor_ste(v):
        return v + (torch.floor(v) - v).detach()

    class ElementQuantizer(nn.Module):
        """Per-element fixed-point quantizer: clip to the (k, i, f) range, round half up (RND, SAT); an
        element with k + i + f <= 0 is pruned (always 0).  i follows the calibrated range, f is learned."""

        def __init__(self, n: int, signed: bool, f0: float = 6.0):
            super().__init__()
            self.register_buffer("k", torch.full((1, n), float(signed)))
            self.register_buffer("i", torch.zeros(1, n))
            self.f = nn.Parameter(torch.full((1, n), f0))

        def calibrate(self, x):
            """i: the integer bits of the largest magnitude seen (at least 1 - k - f: one bit)."""
            with torch.no_grad():
                m = x.abs().amax(dim=0, keepdim=True)
                self.i.copy_(torch.ceil(torch.log2(m + 2.0**-MAX_F)).clamp(-MAX_F, 12))

        def bits(self):
            return torch.relu(self.k + self.i + round_ste(self.f))

        def forward(self, x):
            f = round_ste(self.f.clamp(-MAX_F, MAX_F))
            i = torch.maximum(self.i, -f)
            hi = 2.0**i - 2.0**-f
            lo = -self.k * 2.0**i
            x = torch.minimum(torch.maximum(x, lo), hi)
            q = floor_ste(x * 2.0**f + 0.5) / 2.0**f
            return torch.where(self.k + self.i + f > 0, q, torch.zeros_like(q))

        def fxflow_formats(self):
            f = torch.round(self.f.detach().clamp(-MAX_F, MAX_F))
            return self.k, self.i, f, "RND", "SAT"

    class HgqLinear(nn.Linear):
        """nn.Linear whose weights and biases are rounded (half up) to their own fractional bits."""

        def __init__(self, n_in: int, n_out: int, f0: float = 6.0):
            super().__init__(n_in, n_out)
            self.wf = nn.Parameter(torch.full((n_out, n_in), f0))
            self.bf = nn.Parameter(torch.full((n_out,), f0))

        @staticmethod
        def _q(v, f):
            s = 2.0 ** round_ste(f.clamp(-MAX_F, MAX_F))
            return floor_ste(v * s + 0.5) / s

        def qweight(self):
            return self._q(self.weight, self.wf)

        def qbias(self):
            return self._q(self.bias, self.bf)

        def bits(self):
            """Bits a weight needs: its magnitude's integer bits + f + a sign, 0 once it rounds to 0."""
            mag = torch.log2(self.weight.abs() + 2.0**-MAX_F)
            return torch.relu(mag + round_ste(self.wf) + 1)

        def forward(self, x):
            return nn.functional.linear(x, self.qweight(), self.qbias())

    class HgqJetTagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.inq = ElementQuantizer(SIZES[0], signed=True, f0=float(INPUT_F - 4))
            for n, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:]), start=1):
                setattr(self, f"fc{n}", HgqLinear(a, b))
                if n < len(SIZES) - 1:
                    setattr(self, f"q{n}", ElementQuantizer(b, signed=False))

        def layers(self):
            return [getattr(self, f"fc{n}") for n in range(1, len(SIZES))]

        def quantizers(self):
            return [self.inq] + [getattr(self, f"q{n}") for n in range(1, len(SIZES) - 1)]

        def forward(self, x, calibrate: bool = False):
            qs = self.quantizers()
            for n, fc in enumerate(self.layers()):
                if calibrate:
                    qs[n].calibrate(x)
                x = fc(qs[n](x))
                if n < len(qs) - 1:
                    x = torch.relu(x)
            return x

    return ElementQuantizer, HgqLinear, HgqJetTagger


def make_model(weights: Path | str | None = WEIGHTS):
    """The HGQ jet tagger with the bundled (or given) weights and bit widths, in eval mode."""
    import torch

    _, _, HgqJetTagger = _modules()
    model = HgqJetTagger()
    if weights is not None:
        data = np.load(weights)
        state = {k: torch.tensor(v, dtype=torch.float32) for k, v in data.items()}
        model.load_state_dict(state)
    return model.eval()


def save(model, path: Path | str = WEIGHTS) -> None:
    """The quantized weights (idempotent under their own rounding) and the integer bit widths."""
    import torch

    state = {}
    with torch.no_grad():
        for name, v in model.state_dict().items():
            state[name] = v.numpy()
        for n, fc in enumerate(model.layers(), start=1):
            state[f"fc{n}.weight"] = fc.qweight().numpy()
            state[f"fc{n}.bias"] = fc.qbias().numpy()
            state[f"fc{n}.wf"] = torch.round(fc.wf.clamp(-MAX_F, MAX_F)).numpy()
            state[f"fc{n}.bf"] = torch.round(fc.bf.clamp(-MAX_F, MAX_F)).numpy()
        for name in [k for k in state if k.endswith(".f") or k.endswith(".i") or k.endswith(".k")]:
            state[name] = np.round(state[name])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{k: np.asarray(v, dtype=np.float32) for k, v in state.items()})


def total_bits(model) -> dict:
    """Bits of the weights and of the activations (what the regulariser counts), and pruned weights."""
    import torch

    with torch.no_grad():
        w = sum(int((fc.qweight() != 0).sum()) for fc in model.layers())
        wbits = sum(float(fc.bits()[fc.qweight() != 0].sum()) for fc in model.layers())
        abits = sum(float(q.bits().sum()) for q in model.quantizers())
    n = sum(fc.weight.numel() for fc in model.layers())
    return {"weights": n, "nonzero_weights": w, "weight_bits": wbits, "activation_bits": abits}


N_TRAIN, N_TEST = 20000, 10000


def make_dataset(split: str = "train", teacher_seed: int = 0):
    """Synthetic jet-like inputs (on the input grid, one feature mix) labelled by a fixed random teacher
    network: the first N_TRAIN samples train, the next N_TEST are held out (`split="test"`)."""
    import torch
    from torch import nn

    with torch.random.fork_rng():
        torch.manual_seed(teacher_seed)
        teacher = nn.Sequential(nn.Linear(N_FEATURES, 32), nn.Tanh(), nn.Linear(32, N_CLASSES))
    with torch.no_grad():
        x = torch.tensor(make_inputs(N_TRAIN + N_TEST, seed=7), dtype=torch.float32)
        y = teacher(x).argmax(dim=1)
    part = slice(0, N_TRAIN) if split == "train" else slice(N_TRAIN, None)
    return x[part], y[part]


def accuracy(model, split: str = "test") -> float:
    """Accuracy on the held-out part of `make_dataset` (the example's stated accuracy)."""
    import torch

    x, y = make_dataset(split)
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train(epochs: int = 24, gamma: float = 3e-4, seed: int = 0, warmup: int = 3, ramp: int = 10,
          verbose: bool = True):
    """HGQ-like training on `make_dataset`: float-like warm-up (`warmup` epochs without the bit cost), then
    cross-entropy + g * (weight bits + activation bits) with g ramped linearly to `gamma` over `ramp` epochs
    (a strong cost from the start kills the net before it has learnt; ramped, bits and whole weights go
    while the accuracy follows)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    _, _, HgqJetTagger = _modules()
    x, y = make_dataset("train")
    n = len(x)
    model = HgqJetTagger()
    with torch.no_grad():
        model(x[:4096], calibrate=True)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        g = gamma * min(1.0, max(0, epoch - warmup + 1) / ramp)
        perm = torch.randperm(n)
        for b in range(0, n, 512):
            idx = perm[b:b + 512]
            bits = sum(fc.bits().sum() for fc in model.layers()) + sum(q.bits().sum() for q in model.quantizers())
            loss = loss_fn(model(x[idx]), y[idx]) + g * bits
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            model(x[:4096], calibrate=True)  # the activations' integer bits follow their range
        if verbose and (epoch % 3 == 0 or epoch == epochs - 1):
            print(f"epoch {epoch} (gamma {g:.1e}): held-out accuracy {accuracy(model.eval()):.3f}, "
                  f"{total_bits(model)}", flush=True)
            model.train()
    return model.eval()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", action="store_true", help="train and write the bundled weights")
    p.add_argument("--epochs", type=int, default=24)
    p.add_argument("--gamma", type=float, default=3e-4, help="final weight of the bit cost")
    p.add_argument("--out", default=str(WEIGHTS))
    args = p.parse_args(argv)
    if args.train:
        model = train(args.epochs, gamma=args.gamma)
        save(model, args.out)
        print(f"wrote {args.out}")
    model = make_model(args.out)
    print(f"held-out accuracy {accuracy(model):.3f}, {total_bits(model)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
