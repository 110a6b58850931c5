"""Sliding windows of channels-first tensors, in the order the conv/pool ops accumulate.

`patches` turns x [B, C, *S] into rows [B * prod(O), C * prod(K)]: one row per output position (row-major
over O), its taps ordered channel first, then kernel positions row-major — exactly the order of the
`acc += x * w` steps that `fxp.conv` / `fxp.pool` define, so a convolution is a dense layer over these rows.
Works on any dtype (int64, object ints, float64, intervals' bounds); padding taps hold `fill`.
"""

from __future__ import annotations

import math

import numpy as np


def output_shape(spatial, kernel, strides, dilations, padding) -> list[int]:
    n = len(spatial)
    return [(spatial[d] + padding[d] + padding[n + d] - dilations[d] * (kernel[d] - 1) - 1) // strides[d] + 1
            for d in range(n)]


def patches(x: np.ndarray, kernel, strides, dilations, padding, fill=0) -> tuple[np.ndarray, list[int]]:
    """(rows [B*prod(O), C*prod(K)], O)."""
    b, c, *spatial = x.shape
    n = len(spatial)
    out = output_shape(spatial, kernel, strides, dilations, padding)
    pad_width = [(0, 0), (0, 0)] + [(padding[d], padding[n + d]) for d in range(n)]
    if any(p for pw in pad_width for p in pw):
        xp = np.full([b, c] + [spatial[d] + padding[d] + padding[n + d] for d in range(n)], fill, dtype=x.dtype)
        xp[(slice(None), slice(None), *[slice(padding[d], padding[d] + spatial[d]) for d in range(n)])] = x
    else:
        xp = x
    # index arrays: dim d of the result indexes [O_0..O_n-1, K_0..K_n-1]
    idx = []
    for d in range(n):
        pos = np.arange(out[d])[:, None] * strides[d] + np.arange(kernel[d])[None, :] * dilations[d]  # [O_d, K_d]
        shape = [1] * (2 * n)
        shape[d], shape[n + d] = out[d], kernel[d]
        idx.append(pos.reshape(shape))
    g = xp[(slice(None), slice(None), *idx)]  # [B, C, O..., K...]
    order = [0] + list(range(2, 2 + n)) + [1] + list(range(2 + n, 2 + 2 * n))
    rows = g.transpose(order).reshape(b * math.prod(out), c * math.prod(kernel))
    return rows, out


def from_rows(rows: np.ndarray, batch: int, out: list[int]) -> np.ndarray:
    """[B*prod(O), F] rows back to channels-first [B, F, *O]."""
    f = rows.shape[1]
    return rows.reshape(batch, *out, f).transpose([0, len(out) + 1] + list(range(1, len(out) + 1)))
