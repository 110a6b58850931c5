"""A small image classifier in the style of the hls4ml CNN tutorials (street-view digits / MNIST-like):
1x16x16 -> Conv2d(8, 3x3, same) + BatchNorm + ReLU -> MaxPool 2 -> depthwise-separable Conv (3x3 depthwise,
1x1 pointwise, 16) + ReLU -> MaxPool 2 -> global average pool -> Linear(10) -> Softmax."""

from __future__ import annotations

import numpy as np

NAME = "cnn2d"
DESCRIPTION = "PyTorch 2-D CNN (1x16x16 -> conv/BN/ReLU/pool, depthwise-separable conv, GAP -> 10, softmax)"
INPUT_SHAPE = (1, 16, 16)
DEFAULT_CONFIG = {"model": {"precision": "ap_fixed<16,6>", "reuse_factor": 1, "strategy": "latency"}}


def make_model(seed: int = 0):
    import torch
    from torch import nn

    class Cnn2d(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding="same")
            self.bn1 = nn.BatchNorm2d(8)
            self.relu1 = nn.ReLU()
            self.pool1 = nn.MaxPool2d(2)
            self.depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8)
            self.pointwise = nn.Conv2d(8, 16, 1)
            self.relu2 = nn.ReLU()
            self.pool2 = nn.MaxPool2d(2)
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 10)
            self.softmax = nn.Softmax(dim=1)

        def forward(self, x):
            x = self.pool1(self.relu1(self.bn1(self.conv1(x))))
            x = self.pool2(self.relu2(self.pointwise(self.depthwise(x))))
            return self.softmax(self.fc(torch.flatten(self.gap(x), 1)))

    torch.manual_seed(seed)
    model = Cnn2d()
    with torch.no_grad():  # trained-looking BatchNorm statistics
        model.bn1.running_mean.uniform_(-0.2, 0.2)
        model.bn1.running_var.uniform_(0.5, 1.5)
    return model.eval()


def make_inputs(n: int, seed: int = 1) -> np.ndarray:
    """Synthetic 16x16 'digits': a few bright strokes on a noisy background, in [0, 1]."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 0.15, size=(n, 1, 16, 16))
    for i in range(n):
        for _ in range(3):
            r, c = rng.integers(2, 14, size=2)
            if rng.random() < 0.5:
                x[i, 0, r, max(0, c - 4):c + 4] = 1.0
            else:
                x[i, 0, max(0, r - 4):r + 4, c] = 1.0
    return x.astype(np.float32).astype(np.float64)
