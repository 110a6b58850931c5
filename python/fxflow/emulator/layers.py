"""Emulator steps of the multiply-accumulate layers: dense, conv and pool.

A convolution is a dense layer over the rows of `fxflow.fixed.window.patches` (same tap order as the
C++ loops), so it reuses the dense paths and their proofs; large batches are split so that the patch
matrix stays small.
"""

from __future__ import annotations

import math

import numpy as np

from fxflow.dialects.fxp import ConvOp, DenseOp, PoolOp, format_of, i64_array
from fxflow.dialects.fxp.accessors import accum_format, op_multiplier, result_format
from fxflow.emulator import constant_operand, op_step
from fxflow.fixed.accum import average_sum_bound
from fxflow.fixed.dense import Tensor, as_int, cast, dense, dense_float, int_bits, max_abs_int, plan_dense, shift_left
from fxflow.fixed.quantize import requantize
from fxflow.fixed.window import from_rows, patches
from fxflow.ir import ir

ROW_BUDGET = 1 << 22  # elements of one patch matrix (about 32 MB of int64)


def _batches(n: int, per_sample: int):
    step = max(1, ROW_BUDGET // max(per_sample, 1))
    for i in range(0, n, step):
        yield slice(i, min(n, i + step))


def _window(o, kernel):
    return kernel, i64_array(o, "strides"), (i64_array(o, "dilations") if "dilations" in o.attributes
                                              else [1] * len(kernel)), i64_array(o, "padding")


@op_step(ConvOp)
def _conv_step(o, consts):
    wt = constant_operand(o, 1, consts, "weight")
    bt = constant_operand(o, 2, consts, "bias")
    g = ir.IntegerAttr(o.attributes["groups"]).value
    kernel, strides, dilations, padding = _window(o, list(wt.data.shape[2:]))
    x_fmt = format_of(o.operands[0].type)
    mult = op_multiplier(o, x_fmt, wt.fmt) if x_fmt is not None else None
    return conv_runner(x_fmt, wt, bt, accum_format(o), result_format(o), accum_format(o, "product"), mult, g,
                       (kernel, strides, dilations, padding), _out_spatial(o))


def conv_runner(x_fmt, wt: Tensor, bt: Tensor, acc, out, prod, mult, g: int, window, out_spatial):
    """`run(x: Tensor) -> Tensor` of one convolution (also used by fxflow.approx.torch)."""
    kernel, strides, dilations, padding = window
    f_total, cg = wt.data.shape[0], wt.data.shape[1]
    fg = f_total // g
    mats = [wt.data[i * fg:(i + 1) * fg].reshape(fg, -1).T for i in range(g)]
    biases = [bt.data[i * fg:(i + 1) * fg] for i in range(g)]
    fill = 0
    if x_fmt is None:
        layers = [lambda t, w=m, b=b: dense_float(t, w, b) for m, b in zip(mats, biases)]
    else:
        if mult is not None:  # approximate products: padding taps get a code of their own (no term)
            from fxflow.approx.emulate import pad_fill

            fill = pad_fill(x_fmt)
        plans = [plan_dense(x_fmt, m, wt.fmt, b, bt.fmt, acc, out, prod, mult) for m, b in zip(mats, biases)]
        layers = [lambda t, p=p: dense(t, p) for p in plans]
    per_sample = math.prod(out_spatial) * cg * math.prod(kernel)

    def run(x: Tensor) -> Tensor:
        parts = []
        for sl in _batches(x.data.shape[0], per_sample):
            xb = x.data[sl]
            cols = []
            for i, layer in enumerate(layers):
                rows, oshape = patches(xb[:, i * cg:(i + 1) * cg], kernel, strides, dilations, padding, fill)
                cols.append(layer(Tensor(rows, x.fmt)).data)
            parts.append(from_rows(np.concatenate(cols, axis=1), xb.shape[0], oshape))
        return Tensor(np.ascontiguousarray(np.concatenate(parts)), out)

    return run


def _out_spatial(o) -> list[int]:
    return list(ir.RankedTensorType(o.results[0].type).shape[2:])


@op_step(PoolOp)
def _pool_step(o, consts):
    kind = ir.StringAttr(o.attributes["kind"]).value
    kernel, strides, dilations, padding = _window(o, i64_array(o, "kernel"))
    out, acc = result_format(o), accum_format(o)
    n = math.prod(kernel)
    channels = ir.RankedTensorType(o.operands[0].type).shape[1]
    per_sample = math.prod(_out_spatial(o)) * channels * n

    spatial = list(ir.RankedTensorType(o.operands[0].type).shape[2:])
    whole = list(kernel) == spatial and not any(padding) and all(v == 1 for v in _out_spatial(o))

    def windows(data, fill):
        if whole:  # one window over all positions (a global pool): the patch of each channel is its row
            return data.reshape(data.shape[0], channels, n), [1] * len(spatial)
        rows, oshape = patches(data, kernel, strides, dilations, padding, fill)
        return rows.reshape(rows.shape[0], channels, n), oshape

    def run(x: Tensor) -> Tensor:
        parts = []
        for sl in _batches(x.data.shape[0], per_sample):
            xb = x.data[sl]
            if kind == "max":
                fill = -np.inf if x.fmt is None else x.fmt.min_int - 1  # padding is never the maximum
                w, oshape = windows(xb if x.fmt is None else as_int(xb, int_bits(max_abs_int(x.fmt)) + 1), fill)
                val = Tensor(w.max(axis=2), x.fmt)
            elif x.fmt is None:
                w, oshape = windows(xb, 0.0)
                val = Tensor(w.sum(axis=2) / n, None)
            else:
                w, oshape = windows(xb, 0)
                val = Tensor(_average(w, x.fmt, acc, n), acc)
            parts.append(from_rows(val.data, xb.shape[0], oshape))
        return cast(Tensor(np.ascontiguousarray(np.concatenate(parts)), val.fmt), out)

    return run


def _average(w: np.ndarray, x_fmt, acc, n: int) -> np.ndarray:
    """acc = 0; acc += x_k in window order (each sum assigned to acc); acc /= n (toward zero)."""
    f = max(acc.f, x_fmt.f)
    bits = max(int_bits(max_abs_int(x_fmt)) + int_bits(n) + (f - x_fmt.f), int_bits(max_abs_int(acc)) + (f - acc.f)) + 2
    terms = shift_left(as_int(w, bits), f - x_fmt.f, bits)
    if average_sum_bound(x_fmt, acc, n) is not None:
        # on the accumulator's grid (f == acc.f), and it never overflows (einsum: faster on short rows)
        a = np.einsum("bck->bc", terms) if terms.dtype != object else terms.sum(axis=2)
    else:
        a = np.zeros(w.shape[:2], dtype=terms.dtype)
        for k in range(n):
            a = requantize(shift_left(as_int(a, bits), f - acc.f, bits) + terms[:, :, k], f, acc)
    a = as_int(np.asarray(a), bits)
    q = np.abs(a) // n
    return np.where(a < 0, -q, q)


@op_step(DenseOp)
def _dense_step(o, consts):
    wt = constant_operand(o, 1, consts, "weight")
    bt = constant_operand(o, 2, consts, "bias")
    x_fmt = format_of(o.operands[0].type)
    if x_fmt is None:
        return lambda t, w=wt.data, b=bt.data: dense_float(t, w, b)
    plan = plan_dense(x_fmt, wt.data, wt.fmt, bt.data, bt.fmt, accum_format(o), result_format(o),
                      accum_format(o, "product"), op_multiplier(o, x_fmt, wt.fmt))
    step = lambda t, p=plan: dense(t, p)  # noqa: E731
    step.dense_plan = plan  # read by the emulator's chain fusion (fuse_chains)
    return step
