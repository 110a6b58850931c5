"""RTL builders, elementwise family: cast, relu, add/sub/mul, minmax and per-channel scale_shift."""

from __future__ import annotations

import numpy as np

from fxflow.dialects.fxp import AddOp, CastOp, MinMaxOp, MulOp, ReluOp, ScaleShiftOp, SubOp
from fxflow.dialects.fxp.channels import channel_formats
from fxflow.ir import ir

from .. import signals as s
from ..fixed import assign
from .base import map_wires, constant, rtl_op


@rtl_op(CastOp)
def _cast(o, args, ctx, out):
    x = args[0]
    cf = channel_formats(o)
    if cf is None:
        return map_wires(lambda w: assign(w, x.fmt.f, out), x.wires)
    # per-channel formats (fixed.channels.cast_channels): each element to its own format, stored exactly
    flat = x.wires.reshape(-1).copy()
    for i in cf.pruned(x.wires.shape):  # zero-bit elements: the constant 0, no logic
        flat[i] = s.const(0)
    for fmt, idx in cf.groups(x.wires.shape):
        for i in idx:
            flat[i] = s.shl(assign(flat[i], x.fmt.f, fmt), out.f - fmt.f)
    return flat.reshape(x.wires.shape)


@rtl_op(ReluOp)
def _relu(o, args, ctx, out):
    x = args[0]
    return map_wires(lambda w: assign(s.mux(s.sign(w), s.const(0), w) if w.signed else w, x.fmt.f, out), x.wires)


@rtl_op(AddOp)
def _add(o, args, ctx, out):
    a, b = args
    f = a.fmt.add_result(b.fmt).f
    return map_wires(lambda u, v: assign(s.add(s.shl(u, f - a.fmt.f), s.shl(v, f - b.fmt.f)), f, out), a.wires, b.wires)


@rtl_op(SubOp)
def _sub(o, args, ctx, out):
    a, b = args
    f = max(a.fmt.f, b.fmt.f)
    return map_wires(lambda u, v: assign(s.sub(s.shl(u, f - a.fmt.f), s.shl(v, f - b.fmt.f)), f, out), a.wires, b.wires)


@rtl_op(MulOp)
def _mul(o, args, ctx, out):
    a, b = args
    return map_wires(lambda u, v: assign(s.mul(u, v), a.fmt.f + b.fmt.f, out), a.wires, b.wires)


@rtl_op(MinMaxOp)
def _minmax(o, args, ctx, out):
    a, b = args
    f = max(a.fmt.f, b.fmt.f)
    big = ir.StringAttr(o.attributes["kind"]).value == "max"

    def one(u, v):
        u, v = s.shl(u, f - a.fmt.f), s.shl(v, f - b.fmt.f)
        gt = s.greater(u, v)
        return assign(s.mux(gt, u, v) if big else s.mux(gt, v, u), f, out)

    return map_wires(one, a.wires, b.wires)


@rtl_op(ScaleShiftOp)
def _scale_shift(o, args, ctx, out):
    x = args[0]
    sc, sh = constant(o, 1, ctx, "scale"), constant(o, 2, ctx, "shift")
    rank = x.wires.ndim
    view = (lambda p: p.reshape([1, -1] + [1] * (rank - 2))) if rank >= 2 else (lambda p: p)
    sv = np.broadcast_to(view(np.asarray(sc.data)), x.wires.shape)
    tv = np.broadcast_to(view(np.asarray(sh.data)), x.wires.shape)
    pf = x.fmt.f + sc.fmt.f
    f = max(pf, sh.fmt.f)
    return map_wires(lambda w, a, b: assign(s.add(s.shl(s.mul_const(w, int(a), ctx.products), f - pf),
                                              s.const(int(b) << (f - sh.fmt.f))), f, out), x.wires, sv, tv)
