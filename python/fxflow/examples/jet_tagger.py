"""The bundled example: the hls4ml jet-tagging MLP (16 -> 64 -> 32 -> 32 -> 5, ReLU).

Fahim et al. 2021 train it on the LHC jet dataset (16 high-level jet features, 5 classes); no data set can
be downloaded here, so the weights are a fixed seeded initialisation and the inputs are synthetic
standardised features of the same shape.  The architecture, sizes and precisions are the real ones.
"""

from __future__ import annotations

import numpy as np

N_FEATURES = 16
N_CLASSES = 5


def make_model(seed: int = 0):
    import torch
    from torch import nn

    class JetTagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(N_FEATURES, 64)
            self.relu1 = nn.ReLU()
            self.fc2 = nn.Linear(64, 32)
            self.relu2 = nn.ReLU()
            self.fc3 = nn.Linear(32, 32)
            self.relu3 = nn.ReLU()
            self.output = nn.Linear(32, N_CLASSES)

        def forward(self, x):
            x = self.relu1(self.fc1(x))
            x = self.relu2(self.fc2(x))
            x = self.relu3(self.fc3(x))
            return self.output(x)

    torch.manual_seed(seed)
    return JetTagger().eval()


def make_inputs(n: int, seed: int = 1) -> np.ndarray:
    """Synthetic standardised jet features: correlated Gaussians with heavy-ish tails, float32 like real data."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(N_FEATURES, N_FEATURES)) / np.sqrt(N_FEATURES)
    z = rng.standard_t(df=6, size=(n, N_FEATURES)) @ mix
    return z.astype(np.float32).astype(np.float64)


DEFAULT_CONFIG = {"model": {"precision": "ap_fixed<16,6>", "reuse_factor": 1, "strategy": "latency"}}


NAME = "jet_tagger"
DESCRIPTION = "PyTorch jet tagger (16->64->32->32->5)"
INPUT_SHAPE = (N_FEATURES,)
