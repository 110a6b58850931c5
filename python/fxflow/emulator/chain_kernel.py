"""The binding of kernels/chain.cpp, the native fused dense chains: `native_chain` packs the exact stages that
`fxflow.fixed.chain.DenseChain` routes to it (DenseChain decides which chains, and whether a stage's sums are
exact in float64) into the kernel's arrays, with every assignment's parameters from `native.assignment`."""

from __future__ import annotations

import numpy as np

from fxflow.emulator import native

MODE_INT64, MODE_FLOAT64 = 0, 1  # kernels/chain.cpp's stage modes


def native_chain(stages: list):
    """The runner `run(x, out) -> bool` of `stages` (fxflow.fixed.chain.ExactStage), or None when an assignment is
    beyond the int64 kernels.  `run` computes the rows of the int64 array `x` into `out` (either may be a
    strided view) and returns False, without touching `out`, when the native library is unavailable."""
    try:
        entries = [[int(relu), int(fmt is not None), *(native.assignment(f_from, fmt) if fmt is not None
                                                         else np.zeros(native.ASSIGN_FIELDS, dtype=np.int64))]
                   for st in stages for relu, f_from, fmt in st.requant]
    except ValueError:
        return None
    dims = np.array([[st.w.shape[0] - 1, st.w.shape[1], MODE_FLOAT64 if st.mode == "float64" else MODE_INT64,
                      len(st.requant)] for st in stages], dtype=np.int64)
    wf = np.ascontiguousarray(np.concatenate([st.w.ravel() for st in stages]))
    wi = np.concatenate([st.w.ravel().astype(np.int64) if st.mode == "int64" else np.zeros(st.w.size, np.int64)
                         for st in stages])  # exact: the int64 stages' weights are integers below 2^53
    entries = np.array(entries, dtype=np.int64).reshape(-1)
    if entries.size == 0:
        entries = np.zeros(1, dtype=np.int64)

    def run(x: np.ndarray, out: np.ndarray) -> bool:
        lib = native.library()
        if lib is None or x.dtype != np.int64 or any(s % 8 for s in (*x.strides, *out.strides)):
            return False
        status = lib.fxflow_dense_chain(len(stages), dims.ctypes.data, wi.ctypes.data, wf.ctypes.data,
                                        entries.ctypes.data, x.ctypes.data, x.shape[0], x.strides[0] // 8,
                                        x.strides[1] // 8, out.ctypes.data, out.strides[0] // 8,
                                        out.strides[1] // 8)
        if status:
            raise MemoryError("the native dense chain could not allocate its block buffers")
        return True

    return run
