"""Emulator steps of the transformer family: `fxp.matmul` and `fxp.layernorm`.

Float tensors evaluate the exact real functions (the float reference); fixed-point tensors call the
semantics of `fxflow.fixed.matmul` / `fxflow.fixed.layernorm` with the formats the precision pass attached.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from fxflow.dialects.fxp import AddConstantOp, LayerNormOp, MatmulOp, format_of
from fxflow.dialects.fxp.accessors import accum_format, hls4ml_norm, norm_formats, op_multiplier, result_format, where
from fxflow.emulator import constant_operand, native, op_step
from fxflow.emulator.attention import matmul
from fxflow.fixed.dense import Tensor, add
from fxflow.errors import FxflowError
from fxflow.fixed.layernorm import (hls4ml_int64_plan, hls4ml_inv_sqrt_table, hls4ml_layernorm, hls4ml_scaled_affine,
                                    int64_plan, layernorm, layernorm_float, scaled_affine)
from fxflow.ir import ir


@op_step(MatmulOp)
def _matmul_step(o, consts):
    if any(v.owner.name == "fxp.constant" for v in o.operands if isinstance(v, ir.OpResult)):
        raise FxflowError(f"fxp.matmul in layer '{where(o)}' takes two computed tensors, not a constant")
    out, acc = result_format(o), accum_format(o)
    products = matmul_products(o)

    def run(a: Tensor, b: Tensor) -> Tensor:
        if a.fmt is None:
            return Tensor(np.matmul(a.data, b.data), None)
        return Tensor(matmul(a.data, a.fmt, b.data, b.fmt, acc, out, products), out)

    run.any_layout = True  # the native kernel takes strides; NumPy's products keep the operands' order
    return run


def matmul_products(o):
    """The products of a fixed fxp.matmul: None (exact) or its approximate multiplier's table gather."""
    fa, fb = (format_of(v.type) for v in o.operands)
    mult = op_multiplier(o, fa, fb, ("lhs", "rhs")) if fa is not None else None
    if mult is None:
        return None
    from fxflow.approx.emulate import table_products

    return table_products(mult)


@op_step(LayerNormOp)
def _layernorm_step(o, consts):
    gamma = constant_operand(o, 1, consts, "gamma")
    beta = constant_operand(o, 2, consts, "beta")
    dims = ir.IntegerAttr(o.attributes["dims"]).value
    eps = ir.FloatAttr(o.attributes["epsilon"]).value
    rms = bool(ir.IntegerAttr(o.attributes["rms"]).value)
    out = result_format(o)
    if out is None:
        return lambda x: Tensor(layernorm_float(x.data, dims, gamma.data, beta.data, eps, rms), None)
    hm = hls4ml_norm(o)
    fm = norm_formats(o) if hm is None else None

    kernels: dict = {}  # (x's format, n) -> `native_norm`'s kernel for this step

    def run(x: Tensor) -> Tensor:
        shape = x.data.shape
        rows = np.asarray(x.data).reshape(-1, int(np.prod(shape[-dims:])))
        g, b = gamma.data.reshape(-1), beta.data.reshape(-1)
        key = (x.fmt, rows.shape[-1])
        if hm is not None:
            if key not in kernels:
                kernels[key] = native_hls4ml_norm(x.fmt, rows.shape[-1], g, gamma.fmt, b, beta.fmt, hm, eps, out)
            y = hls4ml_norm_rows(rows, x.fmt, g, gamma.fmt, b, beta.fmt, hm, eps, out, kernels[key])
        else:
            if key not in kernels:
                kernels[key] = native_norm(x.fmt, rows.shape[-1], g, gamma.fmt, b, beta.fmt, fm, eps, rms, out)
            y = norm_rows(rows, x.fmt, g, gamma.fmt, b, beta.fmt, fm, eps, rms, out, kernels[key])
        return Tensor(np.asarray(y).reshape(shape), out)

    run.any_layout = True  # computed on the columns: a transposed view is read without a copy
    return run


def norm_rows(rows, x_fmt, gamma, g_fmt, beta, b_fmt, fm, eps, rms, out, kernel=None) -> np.ndarray:
    """`layernorm` of rows [R, n]: in native code when the library is there and every intermediate fits int64
    (`native_norm`; `kernel`: its result for these arguments, kept by the caller), else NumPy; the same bits and
    the same layout (the transposed view of an [n, R] array)."""
    lib = native.library()
    if lib is not None:
        if kernel is None:
            kernel = native_norm(x_fmt, rows.shape[-1], gamma, g_fmt, beta, b_fmt, fm, eps, rms, out)
        if kernel:
            return _layernorm_native(lib, rows, kernel)
    return layernorm(rows, x_fmt, gamma, g_fmt, beta, b_fmt, fm, eps, rms, out)


def hls4ml_norm_rows(rows, x_fmt, gamma, g_fmt, beta, b_fmt, hm, eps, out, kernel=None) -> np.ndarray:
    """`hls4ml_layernorm` of rows [R, n], in native code likewise (`native_hls4ml_norm`); row-major as it."""
    lib = native.library()
    if lib is not None:
        if kernel is None:
            kernel = native_hls4ml_norm(x_fmt, rows.shape[-1], gamma, g_fmt, beta, b_fmt, hm, eps, out)
        if kernel:
            return _layernorm_native(lib, rows, kernel)
    return hls4ml_layernorm(rows, x_fmt, gamma, g_fmt, beta, b_fmt, hm, eps, out)


class _NormKernel:
    """kernels/layernorm.cpp's constant arguments for one LayerNorm on rows of n elements: its parameters, the
    scaled gamma and beta, hls4ml's table (kept with their addresses: per call only the rows change)."""

    def __init__(self, params: np.ndarray, g_scaled: np.ndarray, b_scaled: np.ndarray, table=None):
        self.hls4ml = table is not None
        self.arrays = [np.ascontiguousarray(a, dtype=np.int64) for a in (g_scaled, b_scaled, params)]
        if table is not None:
            self.arrays.insert(2, np.ascontiguousarray(table, dtype=np.int64))
        self.addresses = [a.ctypes.data for a in self.arrays]  # gamma, beta, (table,) params


def native_norm(x_fmt, n, gamma, g_fmt, beta, b_fmt, fm, eps, rms, out) -> _NormKernel | bool:
    """The native kernel's arguments for rows of n elements of x_fmt, or False: an intermediate beyond int64
    (`int64_plan`) or an assignment beyond fx_assign (NumPy then)."""
    params = _native_norm_params(x_fmt, fm, n, rms, eps, g_fmt, b_fmt, out)
    return False if params is None else _NormKernel(params, *scaled_affine(gamma, g_fmt, beta, b_fmt, fm.norm))


def native_hls4ml_norm(x_fmt, n, gamma, g_fmt, beta, b_fmt, hm, eps, out) -> _NormKernel | bool:
    """The native kernel's arguments for hls4ml's LayerNorm on rows of n elements of x_fmt, or False
    (`hls4ml_int64_plan`, `native.assignment`)."""
    plan = hls4ml_int64_plan(x_fmt, hm, n, g_fmt, b_fmt, out)
    if plan is None:
        return False
    try:
        blocks = [native.assignment(*plan.assign[name]) for name in _HLS4ML_ASSIGNMENTS]
    except ValueError:
        return False
    params = np.concatenate([np.array([int(plan.sum_at_once), plan.k_inv, hm.table_size], dtype=np.int64), *blocks])
    return _NormKernel(params, *hls4ml_scaled_affine(gamma, g_fmt, beta, b_fmt, hm), hls4ml_inv_sqrt_table(hm, eps))


# kernels/layernorm.cpp's parameter layout: these scalars, then these assignments' `native.assignment` blocks
_NORM_ASSIGNMENTS = ("accum", "mean", "diff_x", "diff_mean", "var", "norm", "out")
_HLS4ML_ASSIGNMENTS = ("input", "sum", "product", "index", "out")  # after its scalars (HLS_AT_ONCE ...)
NORM_LANES = 32  # kernels/layernorm.cpp's LANES: its scratch holds (up to) 2 n LANES int64


@lru_cache(maxsize=256)
def _native_norm_params(x_fmt, fm, n, rms, eps, g_fmt, b_fmt, out) -> np.ndarray | None:
    """The kernel's parameters for rows of n elements, or None: an intermediate beyond int64 (`int64_plan`) or
    an assignment beyond fx_assign."""
    plan = int64_plan(x_fmt, fm, n, rms, eps, g_fmt, b_fmt, out)
    if plan is None:
        return None
    used = {"var", "norm", "out"} if rms else {"accum", "mean", "var", "norm", "out"}
    used |= {name for name, shift in (("diff_x", plan.diff_x), ("diff_mean", plan.diff_mean)) if shift is None}
    try:
        blocks = [native.assignment(*plan.assign[name]) if name in used else np.zeros(native.ASSIGN_FIELDS,
                                                                                       dtype=np.int64)
                  for name in _NORM_ASSIGNMENTS]
    except ValueError:
        return None
    power_of_two = n & (n - 1) == 0
    scalars = [int(rms), int(plan.sum_at_once), *plan.sum_shifts,
               -1 if plan.diff_x is None else plan.diff_x, -1 if plan.diff_mean is None else plan.diff_mean,
               n.bit_length() - 1 if power_of_two else -1, plan.power, plan.eps_units, plan.top]
    return np.concatenate([np.array(scalars, dtype=np.int64), *blocks])


def _layernorm_native(lib, rows: np.ndarray, kernel: _NormKernel) -> np.ndarray:
    """kernels/layernorm.cpp on rows [R, n] in any layout (element strides), into the transposed view of an
    [n, R] array as `layernorm` returns, or row-major as `hls4ml_layernorm` (the GIL is released during the
    call)."""
    count, n = rows.shape
    xs = rows if rows.dtype == np.int64 else rows.astype(np.int64)
    row_stride, col_stride = xs.strides
    if row_stride % 8 or col_stride % 8:
        xs = np.ascontiguousarray(xs)
        row_stride, col_stride = xs.strides
    buf = np.empty(n * (count + 2 * NORM_LANES), dtype=np.int64)  # y, then the kernel's scratch (one allocation)
    address, x_args = buf.ctypes.data, (xs.ctypes.data, count, n, row_stride // 8, col_stride // 8)
    if kernel.hls4ml:
        lib.fxflow_hls4ml_layernorm(*x_args, *kernel.addresses, address, n, 1, address + 8 * n * count)
        return buf[:n * count].reshape(count, n)
    lib.fxflow_layernorm(*x_args, *kernel.addresses, address, 1, count, address + 8 * n * count)
    return buf[:n * count].reshape(n, count).T


@op_step(AddConstantOp)
def _add_constant_step(o, consts):
    bias = constant_operand(o, 1, consts, "mask")
    shape = tuple(ir.RankedTensorType(o.results[0].type).shape)
    masked = np.asarray(list(ir.DenseI64ArrayAttr(o.attributes["masked"])), dtype=bool).reshape(shape)
    out = result_format(o)

    def run(x: Tensor) -> Tensor:
        if out is None:
            return Tensor(np.where(masked, -np.inf, x.data + bias.data), None)
        y = add(x, Tensor(bias.data.reshape(shape), bias.fmt), out)
        return Tensor(np.where(masked, out.min_int, y.data), out)

    return run
