"""Small PyTorch models and format generators shared by the pytest suites."""

from __future__ import annotations

import numpy as np

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
