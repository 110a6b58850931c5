"""Memory layouts of the emulator's arrays.

The fused dense chains and LayerNorm compute features outermost and hand on the transposed view of their
[features, rows] result, so the next chain or LayerNorm reads it without a transposing copy.  Elementwise
steps keep whatever layout they are given (`memory_order`): a transposing copy costs as much as the
arithmetic of a step on the transformer's short rows.
"""

from __future__ import annotations

import numpy as np


def memory_order(a: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """(a's axes permuted into memory order, the permutation back) when that is C-contiguous, else (a C-contiguous
    copy, identity).  A pass over the flat first array, then `.transpose(back)` of its result, gives the result in
    a's layout."""
    identity = list(range(a.ndim))
    if a.flags.c_contiguous or a.ndim < 2:
        return np.ascontiguousarray(a).reshape(a.shape), identity  # (ascontiguousarray makes a 0-d array 1-d)
    order = sorted(identity, key=a.strides.__getitem__, reverse=True)  # (stable: ties keep their order)
    view = a.transpose(order)
    if not view.flags.c_contiguous:
        return np.ascontiguousarray(a), identity
    back = identity[:]  # (plain Python: a NumPy argsort costs more than the rest on these few axes)
    for i, axis in enumerate(order):
        back[axis] = i
    return view, back
