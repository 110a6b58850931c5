"""A convolutional autoencoder for anomaly detection on detector images (as in the ECON-T / hls4ml anomaly
detection studies): 1x8x8 -> Conv2d(4, 3, same) + ReLU -> AvgPool 2 -> Conv2d(8, 3, same) + ReLU (latent
8x4x4) -> nearest Upsample 2 -> Conv2d(4, 3, same) + ReLU -> Conv2d(1, 3, same) -> Sigmoid."""

from __future__ import annotations

import numpy as np

NAME = "autoencoder"
DESCRIPTION = "PyTorch conv autoencoder (1x8x8 -> 8x4x4 latent -> upsample -> 1x8x8, sigmoid)"
INPUT_SHAPE = (1, 8, 8)
# The sigmoid's table covers [-8, 8) (1024 entries: steps of 1/64) instead of the whole <16,6> input range.
DEFAULT_CONFIG = {"model": {"precision": "ap_fixed<16,6>", "reuse_factor": 1, "strategy": "latency"},
                  "layers": {"out": {"table_range": [-8, 8]}}}


def make_model(seed: int = 0):
    import torch
    from torch import nn

    class ConvAutoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1 = nn.Conv2d(1, 4, 3, padding="same")
            self.act1 = nn.ReLU()
            self.down = nn.AvgPool2d(2)
            self.enc2 = nn.Conv2d(4, 8, 3, padding="same")
            self.act2 = nn.ReLU()
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.dec1 = nn.Conv2d(8, 4, 3, padding="same")
            self.act3 = nn.ReLU()
            self.dec2 = nn.Conv2d(4, 1, 3, padding="same")
            self.out = nn.Sigmoid()

        def forward(self, x):
            z = self.act2(self.enc2(self.down(self.act1(self.enc1(x)))))
            return self.out(self.dec2(self.act3(self.dec1(self.up(z)))))

    torch.manual_seed(seed)
    model = ConvAutoencoder()
    with torch.no_grad():  # a decoder with a trained-like gain, so the reconstruction is not flat
        model.dec1.weight.mul_(3.0)
        model.dec2.weight.mul_(4.0)
    return model.eval()


def make_inputs(n: int, seed: int = 1) -> np.ndarray:
    """Energy deposits: a Gaussian shower at a random position on an 8x8 sensor, plus noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:8, 0:8]
    cy, cx = rng.uniform(1, 7, size=(2, n))
    width = rng.uniform(0.8, 2.0, size=n)
    energy = rng.uniform(0.5, 4.0, size=n)
    img = energy[:, None, None] * np.exp(-((yy - cy[:, None, None]) ** 2 + (xx - cx[:, None, None]) ** 2)
                                         / (2 * width[:, None, None] ** 2))
    img = img + rng.normal(0, 0.02, size=img.shape)
    return img[:, None].astype(np.float32).astype(np.float64)
