"""An LSTM sequence tagger (track hits, sensor time series, qubit readout): 12 steps x 6 features ->
LSTM(16, 2 layers, batch_first) -> the last step y[:, -1] -> Linear(16) + ReLU -> Linear(3)."""

from __future__ import annotations

import numpy as np

NAME = "lstm_tagger"
DESCRIPTION = "PyTorch LSTM tagger (12x6 sequence -> 2-layer LSTM(16), last step -> 16 -> 3)"
INPUT_SHAPE = (12, 6)
DEFAULT_CONFIG = {"model": {"precision": "ap_fixed<16,6>", "reuse_factor": 1, "strategy": "latency"},
                  "layers": {"lstm": {"gate": "ap_fixed<16,5,AP_RND,AP_SAT>", "state": "ap_fixed<16,5,AP_RND,AP_SAT>",
                                      "table_size": 2048}}}


def make_model(seed: int = 0):
    import torch
    from torch import nn

    class LstmTagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(6, 16, num_layers=2, batch_first=True)
            self.fc1 = nn.Linear(16, 16)
            self.relu = nn.ReLU()
            self.fc2 = nn.Linear(16, 3)

        def forward(self, x):
            y, _ = self.lstm(x)
            return self.fc2(self.relu(self.fc1(y[:, -1])))

    torch.manual_seed(seed)
    return LstmTagger().eval()


def make_inputs(n: int, seed: int = 1) -> np.ndarray:
    """Six noisy channels of sinusoids with random frequency, phase and amplitude per sample."""
    rng = np.random.default_rng(seed)
    t = np.arange(12)[None, :, None]
    freq = rng.uniform(0.1, 0.8, size=(n, 1, 6))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 6))
    amp = rng.uniform(0.3, 1.5, size=(n, 1, 6))
    x = amp * np.sin(freq * t + phase) + rng.normal(0.0, 0.05, size=(n, 12, 6))
    return x.astype(np.float32).astype(np.float64)
