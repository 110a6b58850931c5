"""Small PyTorch models and format generators shared by the pytest suites."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

ROUNDING = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_MIN_INF", "RND_INF", "RND_CONV")
OVERFLOW = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")


def mlp(widths: list[int], seed: int = 0, bias: bool = True, scale: float = 1.0):
    """Linear/ReLU stack named fc0, act0, fc1, ... (last layer without activation)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append((f"fc{i}", nn.Linear(a, b, bias=bias)))
        if i < len(widths) - 2:
            layers.append((f"act{i}", nn.ReLU()))
    model = nn.Sequential()
    for name, layer in layers:
        model.add_module(name, layer)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    return model.eval()


def ap(signed: bool, width: int, int_bits: int, q: str = "TRN", o: str = "WRAP") -> str:
    return f"{'ap_fixed' if signed else 'ap_ufixed'}<{width},{int_bits},AP_{q},AP_{o}>"


def inputs(rng: np.random.Generator, n: int, features: int, scale: float = 4.0) -> np.ndarray:
    """Random inputs over several magnitudes, float32-representable like real data."""
    x = rng.normal(size=(n, features)) * scale * rng.choice([0.05, 1.0, 8.0], size=(n, 1))
    return x.astype(np.float32).astype(np.float64)


def identity_chain(width: int, depth: int, seed: int = 0, noise: float = 0.3, relu_every: int = 2):
    """`depth` Linear layers with near-identity weights (fc0, fc1, ...; ReLU `act<i>` after every
    `relu_every`-th): the signal survives a long chain, so every layer's formats are really exercised."""
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential()
    for i in range(depth):
        lin = nn.Linear(width, width)
        with torch.no_grad():
            lin.weight.copy_(torch.eye(width) + noise * torch.randn(width, width, generator=g))
            lin.bias.copy_(0.5 * torch.randn(width, generator=g))
        model.add_module(f"fc{i}", lin)
        if i < depth - 1 and i % relu_every == relu_every - 1:
            model.add_module(f"act{i}", nn.ReLU())
    return model.eval()


def random_format(draw, max_width=20, min_width=1, int_bits=None, signed=None):
    """A random ap_[u]fixed with random modes; `int_bits` (lo, hi) bounds its integer bits (default -2 to W + 2)."""
    signed = draw(st.booleans()) if signed is None else signed
    width = draw(st.integers(max(min_width, 2 if signed else 1), max_width))
    int_bits = draw(st.integers(*(int_bits or (-2, width + 2))))
    return ap(signed, width, int_bits, draw(st.sampled_from(ROUNDING)), draw(st.sampled_from(OVERFLOW)))


@st.composite
def random_design(draw):
    depth = draw(st.integers(1, 3))
    widths = [draw(st.integers(1, 10)) for _ in range(depth + 1)]
    cfg = {"model": {"precision": random_format(draw), "input": random_format(draw)}, "layers": {}}
    for i in range(depth):
        layer = {"weight": random_format(draw, 14), "bias": random_format(draw, 14), "result": random_format(draw)}
        if draw(st.booleans()):
            layer["accum"] = random_format(draw, 30)  # narrower than exact: per-step rounding / overflow
        work = widths[i] * widths[i + 1]
        layer["reuse_factor"] = draw(st.sampled_from([d for d in (1, 2, 3) if work % d == 0]))
        cfg["layers"][f"fc{i}"] = layer
        if i < depth - 1 and draw(st.booleans()):
            cfg["layers"][f"act{i}"] = {"result": random_format(draw)}
    return widths, cfg, draw(st.integers(0, 2**16)), draw(st.sampled_from([0.25, 1.0, 4.0]))


def every_mode_design():
    """(model, config, inputs) of a 28-layer chain whose weights, biases, narrow accumulators, results and
    activations walk every rounding x overflow combination (ties and far out-of-range inputs included)."""
    combos = [(q, o) for q in ROUNDING for o in OVERFLOW]
    cfg = {"model": {"precision": "ap_fixed<12,4>", "input": "ap_fixed<10,3,AP_RND_CONV,AP_SAT>"}, "layers": {}}
    for i, (q, o) in enumerate(combos):
        cfg["layers"][f"fc{i}"] = {
            "weight": ap(True, 7, 2, q, o), "bias": ap(True, 9, 3, q, o),
            # drops product bits, so every k-step rounds, and its range is tight enough to overflow
            "accum": ap(i % 3 != 0, 12, 4, q, o),
            "result": ap(True, 11, 4, q, o),
        }
        if i % 2 == 1 and i < len(combos) - 1:
            cfg["layers"][f"act{i}"] = {"result": ap(i % 4 == 1, 10, 4, q, o)}
    model = identity_chain(8, len(combos), seed=3)
    x = inputs(np.random.default_rng(5), 400, 8, scale=3.0)
    x[:20] = (np.arange(20 * 8).reshape(20, 8) - 80) / 128.0 + 1 / 256.0
    x[20:30] = 1e6 * np.sign(x[20:30])
    return model, cfg, x
