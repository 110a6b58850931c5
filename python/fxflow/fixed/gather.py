"""fxp.gather's data movement, shared by the emulator, the range analysis and the RTL builder."""

from __future__ import annotations

import numpy as np


def gather_rows(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """a [B, ...] flattened per sample and gathered at idx [n]: [B, n]; 0 where idx is -1."""
    flat = np.ascontiguousarray(a).reshape(a.shape[0], -1)  # (a reshaping copy of a transposed view is far slower)
    if idx.size and idx.min() >= 0:  # no zero fill: one gather, without copying `a` first
        return flat.take(idx, axis=1)
    return np.concatenate([flat, np.zeros_like(flat[:, :1])], axis=1)[:, np.where(idx < 0, flat.shape[1], idx)]
