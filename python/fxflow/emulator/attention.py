"""The attention steps in native code (kernels/softmax.cpp, kernels/matmul.cpp through emulator/native.py): the
table softmax and fxp.matmul with exact products, bit for bit the NumPy functions of fxflow/fixed/softmax.py
and fxflow/fixed/matmul.py, which run instead when the library is missing (FXFLOW_NATIVE=0, no compiler) or the
formats leave int64 (products beyond 62 bits, wide formats, approximate multipliers).  Python decides every
exactness argument (which gather, how the row sum or the matmul sum may be taken) and passes it on."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from fxflow.emulator import native
from fxflow.fixed.format import FixedFormat
from fxflow.fixed.matmul import int64_sum, matmul as numpy_matmul
from fxflow.fixed.quantize import MAX_INT64_WIDTH
from fxflow.fixed.softmax import ROW_SUM_EXACT, ROW_SUM_WRAP, SoftmaxFormats, prepared_tables, row_sum_mode
from fxflow.fixed.softmax import softmax as numpy_softmax

# kernels/softmax.cpp's plan constants
SM_BY_DIFF, SM_BY_NORM, SM_BY_INPUT = 0, 1, 2
SM_SUM = {ROW_SUM_EXACT: 0, ROW_SUM_WRAP: 1}  # else 2, the tree sum
MAX_BATCH_DIMS = 32  # kernels/matmul.cpp's batch index


class TableSoftmax:
    """fxflow.fixed.softmax.softmax of one implementation and one set of tables, in native code when the library
    and the formats allow; the kernel's plan for each (row length, input format, result format) is prepared once
    (an emulator step keeps one of these)."""

    def __init__(self, implementation: str, fm: SoftmaxFormats | None, exp_tab: np.ndarray | None = None,
                 inv_tab: np.ndarray | None = None):
        self.implementation, self.fm, self.exp_tab, self.inv_tab = implementation, fm, exp_tab, inv_tab
        self._calls: dict = {}

    def __call__(self, raw: np.ndarray, x: FixedFormat, y: FixedFormat) -> np.ndarray:
        lib = native.library()
        raw = np.asarray(raw)
        if lib is not None and self.implementation in ("stable", "latency") and raw.dtype == np.int64 and raw.ndim:
            key = (raw.shape[-1], x, y)
            if key not in self._calls:
                self._calls[key] = _softmax_call(*key, self.implementation, self.fm, self.exp_tab, self.inv_tab)
            if self._calls[key] is not None:
                return _run_softmax(lib, raw, *self._calls[key])
        return numpy_softmax(raw, x, y, self.implementation, self.fm, self.exp_tab, self.inv_tab)


def softmax(raw: np.ndarray, x: FixedFormat, y: FixedFormat, implementation: str, fm: SoftmaxFormats | None,
            exp_tab: np.ndarray | None = None, inv_tab: np.ndarray | None = None) -> np.ndarray:
    """fxflow.fixed.softmax.softmax, in native code when the library and the formats allow."""
    return TableSoftmax(implementation, fm, exp_tab, inv_tab)(raw, x, y)


def _softmax_call(n: int, x: FixedFormat, y: FixedFormat, implementation: str, fm: SoftmaxFormats, exp_tab,
                  inv_tab):
    """(plan, gathered table, inverse table, assignments) of kernels/softmax.cpp, or None for the NumPy path."""
    if x.width > MAX_INT64_WIDTH or fm.accum.width + fm.inv.width > MAX_INT64_WIDTH or n == 0:
        return None  # x_max - x or the product e * inv could leave int64
    t = prepared_tables(x, implementation, fm, exp_tab, inv_tab)
    index = fm.norm if implementation == "stable" else x
    if t.exp_bits > index.width or t.inv_bits > fm.inv_in.width or not t.accum.size or not t.inv.size:
        return None
    if t.by_diff is not None:
        gather, table = SM_BY_DIFF, t.by_diff
    else:
        gather, table = (SM_BY_NORM if implementation == "stable" else SM_BY_INPUT), t.accum
    try:
        assign = np.concatenate([
            native.assignment(x.f, fm.norm) if gather == SM_BY_NORM else np.zeros(native.ASSIGN_FIELDS, dtype=np.int64),
            native.assignment(fm.accum.f, fm.accum), native.assignment(fm.accum.f, fm.inv_in),
            native.assignment(fm.accum.f + fm.inv.f, y)])
    except ValueError:
        return None
    plan = np.array([gather, len(table) - 1, index.width, t.exp_bits,
                     SM_SUM.get(row_sum_mode(n, t.accum, fm.accum), 2), fm.inv_in.width, t.inv_bits],
                    dtype=np.int64)
    return plan, np.ascontiguousarray(table, dtype=np.int64), np.ascontiguousarray(t.inv), assign


def _run_softmax(lib, raw: np.ndarray, plan, table, inv, assign) -> np.ndarray:
    n = raw.shape[-1]
    rows = raw.view()
    try:
        rows.shape = (-1, n)  # the rows without a copy when the leading axes collapse
    except AttributeError:
        rows = np.ascontiguousarray(raw).reshape(-1, n)
    out = np.empty(rows.shape, dtype=np.int64)
    if lib.fxflow_softmax(rows.ctypes.data, rows.shape[0], n, *(s // 8 for s in rows.strides), plan.ctypes.data,
                          table.ctypes.data, inv.ctypes.data, assign.ctypes.data, out.ctypes.data):
        raise MemoryError("the native softmax could not allocate its row sums")
    return out.reshape(raw.shape)


def matmul(a: np.ndarray, a_fmt: FixedFormat, b: np.ndarray, b_fmt: FixedFormat, acc: FixedFormat,
           out: FixedFormat, products=None) -> np.ndarray:
    """fxflow.fixed.matmul.matmul, in native code for exact products on int64 when the library and the formats
    allow (`int64_sum`)."""
    lib = native.library()
    if lib is not None and products is None:
        a, b = np.asarray(a), np.asarray(b)
        call = _matmul_call(a, a_fmt, b, b_fmt, acc, out)
        if call is not None:
            return _run_matmul(lib, a, b, *call)
    return numpy_matmul(a, a_fmt, b, b_fmt, acc, out, products)


def _matmul_call(a, a_fmt, b, b_fmt, acc, out):
    """(plan, acc's assignment, out's assignment) of kernels/matmul.cpp, or None for the NumPy path."""
    if a.ndim < 2 or b.ndim < 2 or a.dtype != np.int64 or b.dtype != np.int64 or a.shape[-1] != b.shape[-2]:
        return None
    if max(a.ndim, b.ndim) - 2 > MAX_BATCH_DIMS:
        return None
    return _matmul_plan(a_fmt, b_fmt, a.shape[-1], acc, out)


@lru_cache(maxsize=256)
def _matmul_plan(a_fmt: FixedFormat, b_fmt: FixedFormat, k: int, acc: FixedFormat, out: FixedFormat):
    if max(a_fmt.width, b_fmt.width) > MAX_INT64_WIDTH:
        return None
    s = int64_sum(a_fmt, b_fmt, k, acc)
    if s is None:
        return None
    try:
        acc_as = native.assignment(s.grid, acc) if s.assign_acc else np.zeros(native.ASSIGN_FIELDS, dtype=np.int64)
        out_as = native.assignment(acc.f, out)
    except ValueError:
        return None
    narrow = all(-2**31 <= f.min_int and f.max_int < 2**31 for f in (a_fmt, b_fmt))  # stored integers fit int32
    plan = np.array([int(s.at_once), int(s.assign_acc), s.term_shift, s.acc_shift, int(narrow)], dtype=np.int64)
    return plan, acc_as, out_as


def _run_matmul(lib, a, b, plan, acc_as, out_as) -> np.ndarray:
    if a.shape[:-2] == b.shape[:-2]:
        batch = a.shape[:-2]
    else:  # broadcast views: a broadcast axis has stride 0
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a, b = np.broadcast_to(a, batch + a.shape[-2:]), np.broadcast_to(b, batch + b.shape[-2:])
    (m, k), n = a.shape[-2:], b.shape[-1]
    dims = np.array((len(batch), m, k, n, *batch, *a.strides, *b.strides), dtype=np.int64)
    dims[4 + len(batch):] //= 8  # byte strides -> element strides
    y = np.empty(batch + (m, n), dtype=np.int64)
    lib.fxflow_matmul(a.ctypes.data, b.ctypes.data, dims.ctypes.data, plan.ctypes.data, acc_as.ctypes.data,
                      out_as.ctypes.data, y.ctypes.data)
    return y
