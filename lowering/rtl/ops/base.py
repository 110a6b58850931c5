"""Combinational hardware of each `fxp` op, element by element, with the emulator's exact semantics.

A tensor is a NumPy object array of `signals.Wire` (batch dimension 1 included, as in the IR), so shape
handling is NumPy's: data movement runs the array functions of `fixed.shape` (as the emulator does) on wire arrays,
a convolution is a dense layer over `fixed.window.patches` rows (the tap order of the C++ loops), and the
accumulation paths of a dense layer are chosen by `fixed.dense.plan_dense`, as in the emulator.  Every rounding and
overflow goes through `fixed.assign`.  Builders register by op class with `@rtl_op(DenseOp, ...)`; an op without
one is an `UnsupportedOpError` naming the layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fxflow.dialects.fxp import (AddConstantOp, AddOp, CastOp, ClampOp, ConcatOp, ConstantOp, ConvOp, DenseOp, GatherOp,
                                 LayerNormOp, LutOp, MatmulOp, MulOp, OpRegistry, PReluOp, PadOp, PoolOp, ReluOp, ReshapeOp,
                                 ResizeOp, RnnOp, ScaleShiftOp, SoftmaxOp, SubOp, TransposeOp, format_of, i64_array)
from fxflow.dialects.fxp.accessors import (accum_format, data_movement, lut_table, op_multiplier, result_format,
                                           softmax_formats)
from fxflow.dialects.fxp.channels import channel_formats
from fxflow.fixed.dense import Tensor, plan_dense
from fxflow.fixed.channels import channel_param
from fxflow.fixed.clamp import grid_bounds
from fxflow.errors import UnsupportedOpError
from fxflow.fixed import FixedFormat
from fxflow.fixed.quantize import quantize
from fxflow.fixed.softmax import index_bits
from fxflow.fixed.window import from_rows, patches
from fxflow.ir import ir, layer_name

from .. import signals as s
from ..fixed import assign
from ..options import PRODUCT_STYLES


@dataclass
class Value:
    """A tensor in hardware: wires (object array, IR shape) and the fixed-point format they carry."""

    wires: np.ndarray
    fmt: FixedFormat


@dataclass
class OpContext:
    consts: dict  # MLIR value -> emulator Tensor of an fxp.constant
    products: str = "mul"  # constant products: "mul" (comb.mul) or "shift_add" (CSD adder trees)


RTL_OPS: OpRegistry = OpRegistry("RTL builder")

# Ops the RTL backend rejects, with the reason (test_op_coverage.py asks every op of FXP_OPS).
UNSUPPORTED = {
    ConstantOp: "no builder: constants become the constant operands of their readers (rtl/build.py)",
    MatmulOp: "no RTL datapath for a product of two activations yet (HLS backends only)",
    LayerNormOp: "no RTL datapath for the mean/variance/reciprocal square root yet (HLS backends only)",
    AddConstantOp: "not built in RTL yet (HLS backends only)",
    RnnOp: "no sequential (time-step) RTL datapath yet (HLS backends only)",
}


def rtl_op(*classes: type):
    return RTL_OPS.decorate(classes)


def where(o) -> str:
    return layer_name(o.location) or str(o.location)


def unsupported(o, why: str):
    raise UnsupportedOpError(f"the RTL backend {why} ('{o.name}' in layer '{where(o)}')", layer=where(o))


def build_op(o, args: list[Value], ctx: OpContext) -> Value:
    fn = RTL_OPS.get(o.name)
    if fn is None:
        unsupported(o, "does not support this op yet")
    out = result_format(o)
    if out is None or any(a.fmt is None for a in args):
        unsupported(o, "needs fixed-point formats (run fxp-assign-precision first)")
    return Value(fn(o, args, ctx, out), out)


def _map(fn, *arrays) -> np.ndarray:
    res = np.frompyfunc(fn, len(arrays), 1)(*arrays)
    return np.asarray(res, dtype=object)


def const_array(data: np.ndarray) -> np.ndarray:
    return _map(lambda v: s.const(int(v)), np.asarray(data, dtype=object))


def constant(o, index: int, ctx: OpContext, what: str) -> Tensor:
    t = ctx.consts.get(o.operands[index])
    if t is None:
        unsupported(o, f"needs a constant {what}")
    return t


# --- elementwise --------------------------------------------------------------------------------------
@rtl_op(CastOp)
def _cast(o, args, ctx, out):
    x = args[0]
    cf = channel_formats(o)
    if cf is None:
        return _map(lambda w: assign(w, x.fmt.f, out), x.wires)
    # per-channel formats (fixed.channels.cast_channels): each element to its own format, stored exactly
    flat = x.wires.reshape(-1).copy()
    for fmt, idx in cf.groups(x.wires.shape):
        for i in idx:
            flat[i] = s.shl(assign(flat[i], x.fmt.f, fmt), out.f - fmt.f)
    return flat.reshape(x.wires.shape)


@rtl_op(ReluOp)
def _relu(o, args, ctx, out):
    x = args[0]
    return _map(lambda w: assign(s.mux(s.sign(w), s.const(0), w) if w.signed else w, x.fmt.f, out), x.wires)


@rtl_op(AddOp)
def _add(o, args, ctx, out):
    a, b = args
    f = a.fmt.add_result(b.fmt).f
    return _map(lambda u, v: assign(s.add(s.shl(u, f - a.fmt.f), s.shl(v, f - b.fmt.f)), f, out), a.wires, b.wires)


@rtl_op(SubOp)
def _sub(o, args, ctx, out):
    a, b = args
    f = max(a.fmt.f, b.fmt.f)
    return _map(lambda u, v: assign(s.sub(s.shl(u, f - a.fmt.f), s.shl(v, f - b.fmt.f)), f, out), a.wires, b.wires)


@rtl_op(MulOp)
def _mul(o, args, ctx, out):
    a, b = args
    return _map(lambda u, v: assign(s.mul(u, v), a.fmt.f + b.fmt.f, out), a.wires, b.wires)


@rtl_op(ClampOp)
def _clamp(o, args, ctx, out):
    x = args[0]
    lo, hi = ir.FloatAttr(o.attributes["min"]).value, ir.FloatAttr(o.attributes["max"]).value
    lo_c, hi_f = grid_bounds(lo, hi, x.fmt.f)

    def one(w):
        y = assign(w, x.fmt.f, out)
        if lo_c is not None:
            y = s.mux(s.less_than(w, lo_c), s.const(int(quantize(np.float64(lo), out))), y)
        if hi_f is not None:
            y = s.mux(s.greater_than(w, hi_f), s.const(int(quantize(np.float64(hi), out))), y)
        return y

    return _map(one, x.wires)


@rtl_op(PReluOp)
def _prelu(o, args, ctx, out):
    x = args[0]
    alpha = constant(o, 1, ctx, "alpha")
    a = np.broadcast_to(channel_param(alpha.data, x.wires.ndim), x.wires.shape)
    pf = x.fmt.f + alpha.fmt.f
    return _map(lambda w, c: s.mux(s.greater_than(w, 0), assign(w, x.fmt.f, out),
                                   assign(s.mul_const(w, int(c), ctx.products), pf, out)), x.wires, a)


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
    return _map(lambda w, a, b: assign(s.add(s.shl(s.mul_const(w, int(a), ctx.products), f - pf),
                                              s.const(int(b) << (f - sh.fmt.f))), f, out), x.wires, sv, tv)


@rtl_op(LutOp)
def _lut(o, args, ctx, out):
    x = args[0]
    found = lut_table(o)
    if found is None:
        unsupported(o, "needs the lut's table (run fxp-assign-precision first)")
    index, table = found
    entries = [int(v) for v in np.asarray(table).ravel()]

    def one(w):
        i = s.clip(s.sub(s.shr_floor(w, index.shift), s.const(index.offset)), 0, index.size - 1)
        return s.rom(i, entries)

    return _map(one, x.wires)


# --- softmax: hls4ml's table algorithms (fxflow.fixed.softmax), element for element -------------------
def _top_bits(w: s.Wire, fmt: FixedFormat, n: int) -> s.Wire:
    """The top n bits of w's fmt.width-bit two's complement word, as an unsigned index."""
    return s.shr_floor(s.reinterpret(w, fmt.width, False), fmt.width - n)


def _tree_sum(terms: list[s.Wire], fmt: FixedFormat) -> s.Wire:
    """hls4ml's `reduce`: the largest power of two below n on the left, every partial sum assigned to fmt."""
    if len(terms) == 1:
        return terms[0]
    left = 1 << ((len(terms) - 1).bit_length() - 1)
    return assign(s.add(_tree_sum(terms[:left], fmt), _tree_sum(terms[left:], fmt)), fmt.f, fmt)


@rtl_op(SoftmaxOp)
def _softmax(o, args, ctx, out):
    x = args[0]
    axis = ir.IntegerAttr(o.attributes["axis"]).value
    impl = ir.StringAttr(o.attributes["implementation"]).value
    if impl == "hccs":
        unsupported(o, "has no HCCS softmax yet (use the HLS or AIE backends, or a table softmax)")
    rows = np.moveaxis(x.wires, axis, -1)
    res = np.empty(rows.shape, dtype=object)
    if impl == "argmax":
        one, zero = (s.const(int(v)) for v in quantize(np.array([1.0, 0.0]), out))
    else:
        fm, exp_tab, inv_tab = softmax_formats(o)
        exp_entries, inv_entries = [int(v) for v in exp_tab], [int(v) for v in inv_tab]
    for idx in np.ndindex(rows.shape[:-1]):
        row = list(rows[idx])
        if impl == "argmax":  # the first maximum: above every earlier value, not below any later one
            for j, v in enumerate(row):
                hot = s.Bit(True)
                for k, u in enumerate(row):
                    if k != j:
                        hot = hot & (s.greater(v, u) if k < j else ~s.greater(u, v))
                res[idx + (j,)] = s.mux(hot, one, zero)
            continue
        if impl == "stable":
            top = row[0]
            for v in row[1:]:
                top = s.maximum(top, v)
            keys = [_top_bits(assign(s.sub(top, v), x.fmt.f, fm.norm), fm.norm, index_bits(len(exp_entries)))
                    for v in row]
        else:
            keys = [_top_bits(v, x.fmt, index_bits(len(exp_entries))) for v in row]
        e = [assign(s.rom(k, exp_entries), fm.exp.f, fm.accum) for k in keys]
        total = assign(_tree_sum(e, fm.accum), fm.accum.f, fm.inv_in)
        inv = s.rom(_top_bits(total, fm.inv_in, index_bits(len(inv_entries))), inv_entries)
        for j, ej in enumerate(e):
            res[idx + (j,)] = assign(s.mul(ej, inv), fm.accum.f + fm.inv.f, out)
    return np.moveaxis(res, -1, axis)


# --- dense / conv -----------------------------------------------------------------------------------------
def dense_rows(rows: np.ndarray, plan, style: str, layer: str = "") -> np.ndarray:
    """fxp.dense over rows [P, K] of wires -> [P, N] wires of the result format, in the plan's order.
    Zero weights and padding taps (None) add nothing, as in the C++ (which skips them)."""
    acc, out, pf = plan.acc, plan.out, plan.x_fmt.f + plan.w_fmt.f
    kk, nn = plan.w.shape
    res = np.empty((rows.shape[0], nn), dtype=object)
    for r in range(rows.shape[0]):
        for n in range(nn):
            terms = [product(rows[r, k], s.const(int(plan.w[k, n])), plan, style, layer) for k in range(kk)
                     if plan.w[k, n] != 0 and rows[r, k] is not None]
            a = accumulate(s.const(int(plan.acc0[n])), terms, pf, plan)
            res[r, n] = assign(a, acc.f, out)
    return res


def accumulate(a: s.Wire, terms: list[s.Wire], pf: int, plan) -> s.Wire:
    """acc (stored at acc.f) after adding the products `terms` (at grid pf) in order, as `fxp.dense` does:
    one exact adder tree and one assignment where the plan proves that equal to the k-loop, else the
    k-loop itself (each partial sum assigned to the accumulator; hls4ml's product type first if set)."""
    acc = plan.acc
    if plan.path in ("blas", "int64", "table"):  # "table": approximate products, summed exactly
        return assign(s.add_tree([a] + [s.shl(t, acc.f - pf) for t in terms]), acc.f, acc)
    if plan.path == "loop":
        f = max(acc.f, pf)
        for t in terms:
            a = assign(s.add(s.shl(a, f - acc.f), s.shl(t, f - pf)), f, acc)
        return a
    prod = plan.prod  # "product": acc += prod_t(x * w)
    f = max(acc.f, prod.f)
    exact_sum = acc.overflow == "WRAP" and acc.f >= prod.f
    a = s.shl(a, f - acc.f)
    for t in terms:
        a = s.add(a, s.shl(assign(t, pf, prod), f - prod.f))
        if not exact_sum:
            a = s.shl(assign(a, f, acc), f - acc.f)
    return assign(a, f, acc)


def dense_plan(o, x_fmt: FixedFormat, w: Tensor, b: Tensor, w_data=None, b_data=None):
    """The emulator's plan of this dense/conv layer (its accumulation path), with its approximate
    multiplier (`plan.mult`, None for exact products) — the one the emulator's term tables come from."""
    mult = op_multiplier(o, x_fmt, w.fmt)
    plan = plan_dense(x_fmt, w.data if w_data is None else w_data, w.fmt, b.data if b_data is None else b_data,
                      b.fmt, accum_format(o), result_format(o), accum_format(o, "product"), mult)
    plan.mult = mult
    return plan


def product(x: s.Wire, w: s.Wire, plan, style: str, layer: str) -> s.Wire:
    """One term x * w at grid f_x + f_w: the layer's approximate multiplier, else the exact product."""
    if plan.mult is not None:
        from ..approx import approx_product

        return approx_product(x, w, plan.mult, layer)
    return s.mul_const(x, w.lo, style) if w.is_constant else s.mul(x, w)


@rtl_op(DenseOp)
def _dense(o, args, ctx, out):
    x = args[0]
    w, b = constant(o, 1, ctx, "weight"), constant(o, 2, ctx, "bias")
    plan = dense_plan(o, x.fmt, w, b)
    lead = x.wires.shape[:-1]
    rows = x.wires.reshape(-1, x.wires.shape[-1])
    return dense_rows(rows, plan, ctx.products, where(o)).reshape(*lead, -1)


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


# --- data movement: the array functions of fxflow.fixed.shape (as in the emulator), run on wire arrays --------------------------------------
def _zero_to_wire(v):
    return v if isinstance(v, s.Wire) else s.const(int(v))


@rtl_op(ReshapeOp, GatherOp, TransposeOp, PadOp, ResizeOp)
def _movement(o, args, ctx, out):
    x = args[0]
    return _map(_zero_to_wire, np.asarray(data_movement(o)(x.wires), dtype=object))


@rtl_op(ConcatOp)
def _concat(o, args, ctx, out):
    axis = ir.IntegerAttr(o.attributes["axis"]).value
    parts = [_map(lambda w, f=a.fmt.f: assign(w, f, out), a.wires) for a in args]
    return np.concatenate(parts, axis=axis)


__all__ = ["RTL_OPS", "rtl_op", "build_op", "Value", "OpContext", "PRODUCT_STYLES", "dense_rows", "accumulate",
           "dense_plan", "product", "div_toward_zero", "const_array", "format_of"]
