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


def affine_gather(indices: np.ndarray, shape: Sequence[int]) -> tuple[int, tuple[int, ...]] | None:
    """(offset, element strides) when `gather(a, indices, shape)` of a row-major sample is its strided view
    (every index offset + sum of i_d * stride_d: a reshape and transpose of it, a slice, ...), else None."""
    idx = np.asarray(indices, dtype=np.int64)
    if not idx.size or idx.size != int(np.prod(shape)) or idx.min() < 0:
        return None
    idx = idx.reshape(shape)
    offset = int(idx.flat[0])
    strides = tuple(int(idx[(0,) * d + (1,)].flat[0]) - offset if n > 1 else 0 for d, n in enumerate(shape))
    return (offset, strides) if np.array_equal(offset + _affine(shape, strides), idx) else None


def _affine(shape: Sequence[int], strides: Sequence[int]) -> np.ndarray:
    """sum over d of i_d * strides[d] at every index i of `shape`."""
    total = np.zeros(tuple(shape), dtype=np.int64)
    for d, (n, st) in enumerate(zip(shape, strides)):
        total += (np.arange(n, dtype=np.int64) * st).reshape((n,) + (1,) * (len(shape) - d - 1))
    return total


def gather_view(a: np.ndarray, offset: int, strides: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """`gather` of a C-contiguous `a` as its read-only strided view (`affine_gather`'s offset and strides)."""
    flat = a.reshape(a.shape[0], -1)[:, offset:]
    item = flat.itemsize
    return np.lib.stride_tricks.as_strided(flat, shape=(a.shape[0], *shape),
                                           strides=(flat.strides[0], *(st * item for st in strides)), writeable=False)


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
