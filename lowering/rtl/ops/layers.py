"""RTL builders, layer family: dense, conv (a dense over window rows) and pooling."""

from __future__ import annotations

import math

import numpy as np

from fxflow.dialects.fxp import ConvOp, DenseOp, i64_array, PoolOp
from fxflow.dialects.fxp.accessors import accum_format
from fxflow.fixed import FixedFormat
from fxflow.fixed.window import from_rows, patches
from fxflow.ir import ir

from .. import signals as s
from ..fixed import assign
from .base import constant, dense_plan, dense_rows, rtl_op, where


@rtl_op(DenseOp)
def _dense(o, args, ctx, out):
    x = args[0]
    w, b = constant(o, 1, ctx, "weight"), constant(o, 2, ctx, "bias")
    plan = dense_plan(o, x.fmt, w, b)
    lead = x.wires.shape[:-1]
    rows = x.wires.reshape(-1, x.wires.shape[-1])
    return dense_rows(rows, plan, ctx.products, where(o), ctx).reshape(*lead, -1)


def _window(o, kernel):
    dil = i64_array(o, "dilations") if "dilations" in o.attributes else [1] * len(kernel)
    return kernel, i64_array(o, "strides"), dil, i64_array(o, "padding")


@rtl_op(ConvOp)
def _conv(o, args, ctx, out):
    x = args[0]
    w, b = constant(o, 1, ctx, "weight"), constant(o, 2, ctx, "bias")
    g = ir.IntegerAttr(o.attributes["groups"]).value
    f_total, cg = w.data.shape[0], w.data.shape[1]
    fg = f_total // g
    kernel, strides, dilations, padding = _window(o, list(w.data.shape[2:]))
    cols, oshape = [], None
    for i in range(g):
        mat = w.data[i * fg:(i + 1) * fg].reshape(fg, -1).T
        plan = dense_plan(o, x.fmt, w, b, mat, b.data[i * fg:(i + 1) * fg])
        rows, oshape = patches(x.wires[:, i * cg:(i + 1) * cg], kernel, strides, dilations, padding, None)
        cols.append(dense_rows(rows, plan, ctx.products, where(o)))
    return from_rows(np.concatenate(cols, axis=1), x.wires.shape[0], oshape)


@rtl_op(PoolOp)
def _pool(o, args, ctx, out):
    x = args[0]
    kind = ir.StringAttr(o.attributes["kind"]).value
    kernel, strides, dilations, padding = _window(o, i64_array(o, "kernel"))
    n = math.prod(kernel)
    channels = x.wires.shape[1]
    fill = s.const(x.fmt.min_int - 1) if kind == "max" else s.const(0)  # padding is never the maximum
    rows, oshape = patches(x.wires, kernel, strides, dilations, padding, fill)
    taps = rows.reshape(rows.shape[0], channels, n)
    res = np.empty(taps.shape[:2], dtype=object)
    acc = accum_format(o)
    for r in range(taps.shape[0]):
        for c in range(channels):
            window = list(taps[r, c])
            if kind == "max":
                m = window[0]
                for t in window[1:]:
                    m = s.maximum(m, t)
                res[r, c] = assign(m, x.fmt.f, out)
            else:
                res[r, c] = assign(_average(window, x.fmt, acc), acc.f, out)
    return from_rows(res, x.wires.shape[0], oshape)


def _average(window: list[s.Wire], x_fmt: FixedFormat, acc: FixedFormat) -> s.Wire:
    """acc = 0; acc += x_k in window order; acc / n toward zero (the emulator's `_average`)."""
    n = len(window)
    f = max(acc.f, x_fmt.f)
    terms = [s.shl(t, f - x_fmt.f) for t in window]
    bound = (max(-x_fmt.min_int, x_fmt.max_int) * n) << (f - x_fmt.f)
    if acc.f >= x_fmt.f and bound <= acc.max_int and (acc.signed or x_fmt.min_int >= 0):
        a = s.add_tree(terms)
    else:
        a = s.const(0)
        for t in terms:
            a = assign(s.add(s.shl(a, f - acc.f), t), f, acc)
    return div_toward_zero(a, n)


def div_toward_zero(a: s.Wire, n: int) -> s.Wire:
    """a / n rounded toward zero for a constant n >= 1: |a| * m >> k with the Granlund-Montgomery
    reciprocal m = ceil(2^k / n), k = N + ceil(log2 n), exact for every |a| < 2^N."""
    if n == 1:
        return a
    mag = s.mux(s.sign(a), s.neg(a), a) if a.signed else a
    big = max(-a.lo, a.hi).bit_length()
    if n & (n - 1) == 0:
        q = s.shr_floor(mag, n.bit_length() - 1)
    else:
        k = big + (n - 1).bit_length()
        q = s.narrow(s.shr_floor(s.mul_const(mag, -(-(1 << k) // n), "mul"), k), 0, max(-a.lo, a.hi) // n)
    return s.mux(s.sign(a), s.neg(q), q) if a.signed else q
