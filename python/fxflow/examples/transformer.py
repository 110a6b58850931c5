"""A small particle transformer in the style of ParT / the constituent-based jet taggers: a jet as 8 particles
of 4 features (pT, eta, phi, E-like) -> per-particle embedding Linear(8) -> 2 encoder blocks (pre-LayerNorm,
nn.MultiheadAttention with 2 heads + residual, LayerNorm, MLP 8 -> 16 -> 8 with GELU + residual) -> LayerNorm
-> mean over the particles -> Linear(5) -> softmax.

No data set can be downloaded here, so the weights are a fixed seeded initialisation and the inputs synthetic
jets of the real shape (a few hard particles, many soft ones)."""

from __future__ import annotations

import numpy as np

NAME = "transformer"
DESCRIPTION = ("particle transformer (8 particles x 4 features -> embed 8, 2 x [LN, MHA 2 heads, LN, MLP GELU], "
               "mean, 5 classes)")
N_PARTICLES, N_FEATURES, N_CLASSES = 8, 4, 5
EMBED, HEADS, HIDDEN = 8, 2, 16
INPUT_SHAPE = (N_PARTICLES, N_FEATURES)
DEFAULT_CONFIG = {"model": {"precision": "ap_fixed<18,8>", "reuse_factor": 1, "strategy": "latency"}}
ATTENTION_LAYERS = ("blocks.0.attn", "blocks.1.attn")  # the config names of the attention softmaxes


def hccs_config(output: str = "uint8", reciprocal: str = "clb", config: dict | None = None) -> dict:
    """`config` (default DEFAULT_CONFIG) with the HCCS softmax on every attention layer, per-head parameters
    calibrated (compile with calibration_data); the classifier's own softmax keeps the table implementation."""
    base = DEFAULT_CONFIG if config is None else config
    sm = {"softmax": {"implementation": "hccs", "output": output, "reciprocal": reciprocal}}
    return {**base, "layers": {**base.get("layers", {}), **{name: sm for name in ATTENTION_LAYERS}}}


def make_model(seed: int = 0):
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = nn.LayerNorm(EMBED)
            self.attn = nn.MultiheadAttention(EMBED, HEADS, batch_first=True)
            self.norm2 = nn.LayerNorm(EMBED)
            self.fc1 = nn.Linear(EMBED, HIDDEN)
            self.gelu = nn.GELU()
            self.fc2 = nn.Linear(HIDDEN, EMBED)

        def forward(self, x):
            h = self.norm1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.fc2(self.gelu(self.fc1(self.norm2(x))))

    class ParticleTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(N_FEATURES, EMBED)
            self.blocks = nn.Sequential(Block(), Block())
            self.norm = nn.LayerNorm(EMBED)
            self.head = nn.Linear(EMBED, N_CLASSES)
            self.softmax = nn.Softmax(dim=-1)

        def forward(self, x):
            h = self.norm(self.blocks(self.embed(x)))
            return self.softmax(self.head(h.transpose(1, 2).mean(dim=-1)))  # mean over the particles

    torch.manual_seed(seed)
    model = ParticleTransformer()
    with torch.no_grad():  # trained-looking norms: gains around 1, small shifts
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model.eval()


def make_inputs(n: int, seed: int = 1) -> np.ndarray:
    """Synthetic jets: log pT falling with the particle index, eta/phi spread around the axis, log E ~ log pT."""
    rng = np.random.default_rng(seed)
    log_pt = 3.0 - 0.4 * np.arange(N_PARTICLES)[None, :] + rng.normal(0.0, 0.5, size=(n, N_PARTICLES))
    eta = rng.normal(0.0, 0.4, size=(n, N_PARTICLES))
    phi = rng.normal(0.0, 0.4, size=(n, N_PARTICLES))
    log_e = log_pt + np.abs(eta) + rng.normal(0.0, 0.1, size=(n, N_PARTICLES))
    x = np.stack([log_pt, eta, phi, log_e], axis=-1) / np.array([2.0, 1.0, 1.0, 2.0])
    return x.astype(np.float32).astype(np.float64)
