"""Fine-tuning under an approximate multiplier, and the small bundled task it is demonstrated on.

`finetune(model, design, x, y)` trains a copy of `model` whose Linear/Conv layers compute exactly like the
design's (fxflow.approx.torch: the approximate products in the forward pass, exact-product gradients), and
returns the float model with the tuned weights (compile it again with the same config).
`task(n)` is a seeded synthetic 4-class problem on 16 features (a Gaussian mixture with curved class
boundaries): no data set can be downloaded here, and it is just hard enough that an aggressive multiplier
costs accuracy.
"""

from __future__ import annotations

import numpy as np

N_FEATURES, N_CLASSES = 16, 4


def task(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(x [n, 16] float32-representable, labels [n]) of the bundled classification task."""
    g = np.random.default_rng(1234)  # the task itself is fixed; `seed` draws samples
    centers = g.normal(size=(N_CLASSES * 2, N_FEATURES)) * 1.2
    mix = g.normal(size=(N_FEATURES, N_FEATURES)) / np.sqrt(N_FEATURES)
    rng = np.random.default_rng(seed)
    comp = rng.integers(0, N_CLASSES * 2, size=n)
    x = centers[comp] + 2.0 * rng.normal(size=(n, N_FEATURES)) @ mix
    x = np.tanh(x / 2) * 2 + 0.1 * x  # curved boundaries
    return x.astype(np.float32).astype(np.float64), comp % N_CLASSES


def model(seed: int = 0, hidden: int = 32):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(N_FEATURES, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, N_CLASSES))


def train(module, x, y, epochs: int = 20, lr: float = 1e-2, batch: int = 128, seed: int = 0):
    """Plain Adam + cross-entropy on (x, y); returns the module (trained in place)."""
    import torch

    torch.manual_seed(seed)
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    xt, yt = torch.from_numpy(np.asarray(x, dtype=np.float64)), torch.from_numpy(np.asarray(y, dtype=np.int64))
    module.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            out = module(xt[idx].float())
            torch.nn.functional.cross_entropy(out.float(), yt[idx]).backward()
            opt.step()
    module.eval()
    return module


def finetune(model, design, x, y, epochs: int = 5, lr: float = 2e-3, batch: int = 128, seed: int = 0):
    """`model` with weights tuned through the design's approximate forward (the float model, new weights)."""
    from .torch import approximate, unwrap

    amodel = train(approximate(model, design), x, y, epochs, lr, batch, seed)
    return unwrap(amodel)


def accuracy(logits, y) -> float:
    return float((np.asarray(logits).argmax(axis=1) == np.asarray(y)).mean())
