"""A 1-D CNN for waveform classification (detector pulses, qubit readout traces): 2x64 samples ->
Conv1d(8, 5, padding 2) + ReLU -> MaxPool 2 -> Conv1d(8, 3, dilation 2, groups 2) + BatchNorm + ReLU ->
AvgPool 4 -> Flatten -> Linear(4)."""

from __future__ import annotations

import numpy as np

NAME = "cnn1d"
DESCRIPTION = "PyTorch 1-D CNN (2x64 waveform -> conv/pool, dilated grouped conv/BN, avgpool -> 4)"
INPUT_SHAPE = (2, 64)
DEFAULT_CONFIG = {"model": {"precision": "ap_fixed<16,6>", "reuse_factor": 1, "strategy": "latency"}}


def make_model(seed: int = 0):
    import torch
    from torch import nn

    class Cnn1d(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv1d(2, 8, 5, padding=2)
            self.relu1 = nn.ReLU()
            self.pool1 = nn.MaxPool1d(2)
            self.conv2 = nn.Conv1d(8, 8, 3, dilation=2, groups=2)
            self.bn2 = nn.BatchNorm1d(8)
            self.relu2 = nn.ReLU()
            self.pool2 = nn.AvgPool1d(4)
            self.fc = nn.Linear(8 * 7, 4)

        def forward(self, x):
            x = self.pool1(self.relu1(self.conv1(x)))
            x = self.pool2(self.relu2(self.bn2(self.conv2(x))))
            return self.fc(torch.flatten(x, 1))

    torch.manual_seed(seed)
    model = Cnn1d()
    with torch.no_grad():
        model.bn2.running_mean.uniform_(-0.2, 0.2)
        model.bn2.running_var.uniform_(0.5, 1.5)
    return model.eval()


def make_inputs(n: int, seed: int = 1) -> np.ndarray:
    """Two channels of noisy exponential pulses at random times and amplitudes."""
    rng = np.random.default_rng(seed)
    t = np.arange(64)
    x = rng.normal(0.0, 0.05, size=(n, 2, 64))
    for i in range(n):
        t0 = rng.integers(5, 40)
        amp = rng.uniform(0.5, 3.0, size=2)
        pulse = np.where(t >= t0, np.exp(-(t - t0) / rng.uniform(3, 10)), 0.0)
        x[i] += amp[:, None] * pulse[None, :]
    return x.astype(np.float32).astype(np.float64)
