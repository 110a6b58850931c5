"""Data movement on batches of samples: reshape, gather, transpose, pad, resize.

Plain array functions over dimension 0 = batch; they only move (or insert zeros) and never touch a value,
so they serve stored integers (the emulator) and arrays of wires (the RTL backend) alike.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .gather import gather_rows


def reshape(a: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Each sample to `shape` (row-major order kept)."""
    return a.reshape(a.shape[0], *shape)


def gather(a: np.ndarray, indices: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Rows `indices` of each sample (see `fixed.gather.gather_rows`), each sample then shaped to `shape`."""
    return gather_rows(a, np.asarray(indices, dtype=np.int64)).reshape(a.shape[0], *shape)


def transpose(a: np.ndarray, permutation: Sequence[int], copy: bool = True) -> np.ndarray:
    """The axes permuted (the permutation includes the batch axis 0); copy=False: the strided view (for readers
    that take any layout, fixed/layout.py)."""
    view = a.transpose(list(permutation))
    return np.ascontiguousarray(view) if copy else view


def pad(a: np.ndarray, padding: Sequence[int]) -> np.ndarray:
    """Zeros around the spatial axes 2.. (`padding`: all leading pads, then all trailing pads)."""
    n = len(padding) // 2
    return np.pad(a, [(0, 0), (0, 0)] + [(padding[d], padding[n + d]) for d in range(n)])


def resize(a: np.ndarray, scales: Sequence[int]) -> np.ndarray:
    """Nearest-neighbour upsampling: spatial axis 2 + d repeated `scales[d]` times per position."""
    for d, s in enumerate(scales):
        a = np.repeat(a, s, axis=2 + d)
    return a
