"""Emulator steps of `fxp.clamp`, `fxp.select`, `fxp.prelu`, `fxp.lut` and `fxp.softmax`, and the float64 interpreter
of the scalar arith/math functions that `fxp.lut` regions (and captured constants) are made of.

Float tensors (fmt None) evaluate the exact functions — the float reference; fixed-point tensors use the
semantics of `fxflow.fixed.table` / `fxflow.fixed.softmax` and the tables the precision pass attached.
"""

from __future__ import annotations

import numpy as np

from fxflow.dialects.df.graph import attr
from fxflow.dialects.fxp import ClampOp, LutOp, PReluOp, SelectOp, SoftmaxOp, ThresholdOp, format_of
from fxflow.dialects.fxp.accessors import hccs_spec, lut_table, result_format, softmax_formats
from fxflow.emulator import Tensor, constant_operand, native, op_step
from fxflow.errors import FxflowError
from fxflow.fixed import FixedFormat
from fxflow.fixed.quantize import quantize, requantize
from fxflow.fixed.channels import channel_param
from fxflow.fixed.clamp import grid_bounds
from fxflow.fixed.layout import memory_order
from fxflow.fixed.select import select, select_exact
from fxflow.fixed.hccs import hccs, head_axis_of
from fxflow.emulator.attention import TableSoftmax
from fxflow.fixed.softmax import exact_softmax
from fxflow.fixed.table import bin_lookup, bin_table, lookup
from fxflow.ir import ir, layer_name
from fxflow.scalar_eval import region_function

# ------------------------------------------------------------------------------------------------
# Op steps
# ------------------------------------------------------------------------------------------------
def clamp(x: Tensor, lo: float, hi: float, out: FixedFormat | None) -> Tensor:
    """min(max(x, lo), hi) in exact arithmetic, assigned to `out`."""
    if x.fmt is None:
        return Tensor(np.clip(x.data, lo, hi), None)
    lo_c, hi_f = grid_bounds(lo, hi, x.fmt.f)
    y = np.asarray(requantize(x.data, x.fmt.f, out))
    if lo_c is not None:
        y = np.where(x.data < lo_c, int(quantize(np.float64(lo), out)), y)
    if hi_f is not None:
        y = np.where(x.data > hi_f, int(quantize(np.float64(hi), out)), y)
    return Tensor(y.astype(y.dtype if y.dtype == object else np.int64), out)


@op_step(ClampOp)
def _clamp_step(o, consts):
    lo, hi = float(attr(o, "min")), float(attr(o, "max"))
    return lambda x, fmt=result_format(o): clamp(x, lo, hi, fmt)


@op_step(ThresholdOp)
def _threshold_step(o, consts):
    """fxflow.fixed.threshold on the input's stored integers; a float input (the float reference) is
    compared with the real thresholds directly."""
    from fxflow.dialects.fxp.accessors import threshold_params
    from fxflow.fixed.threshold import threshold

    t, inc, levels = threshold_params(o)
    out = result_format(o)

    def step(x):
        if x.fmt is None:
            passed = np.where(inc, x.data[..., None] >= t, x.data[..., None] > t).sum(axis=-1)
            y = levels[passed]
            return Tensor(y, None) if out is None else Tensor(quantize(y, out), out)
        return Tensor(threshold(x.data, x.fmt.f, t, inc, levels, out), out)

    return step


@op_step(SelectOp)
def _select_step(o, consts):
    pred = ir.StringAttr(o.attributes["predicate"]).value
    t, a, b = (float(attr(o, n)) for n in ("threshold", "on_true", "on_false"))

    def run(x: Tensor, out=result_format(o)) -> Tensor:
        if x.fmt is None:
            return Tensor(select_exact(x.data, pred, t, a, b), None)
        return Tensor(select(x.data, x.fmt, pred, t, a, b, out), out)

    return run


def prelu(x: Tensor, alpha: Tensor, out: FixedFormat | None) -> Tensor:
    """x > 0 ? x : x * alpha (exact product), assigned to `out`."""
    a = channel_param(alpha.data, x.data.ndim)
    if x.fmt is None:
        a = a if alpha.fmt is None else np.ldexp(a.astype(np.float64), -alpha.fmt.f)
        return Tensor(np.where(x.data > 0, x.data, x.data * a), None)
    pos = requantize(x.data, x.fmt.f, out)
    neg = requantize(np.asarray(x.data, dtype=np.int64) * a.astype(np.int64), x.fmt.f + alpha.fmt.f, out)
    return Tensor(np.where(x.data > 0, pos, neg), out)


@op_step(PReluOp)
def _prelu_step(o, consts):
    alpha = constant_operand(o, 1, consts, "alpha")
    if (alpha.fmt is None) != (format_of(o.operands[0].type) is None):
        raise FxflowError(f"fxp.prelu mixes float and fixed-point operands ({o.location})")
    return lambda x, a=alpha, fmt=result_format(o): prelu(x, a, fmt)


@op_step(LutOp)
def _lut_step(o, consts):
    out = result_format(o)
    if out is None:
        fn = region_function(o)
        return lambda x: Tensor(fn(x.data), None)
    found = lut_table(o)
    if found is None:
        where = layer_name(o.location) or str(o.location)
        raise FxflowError(f"fxp.lut in layer '{where}' has no table: run fxp-assign-precision first")
    index, table = found
    in_fmt = format_of(o.operands[0].type)
    by_bin = bin_table(index, table, in_fmt) if in_fmt is not None else None
    native_lookup = _native_bin_lookup(index, by_bin, in_fmt, out)

    def step(x):
        if by_bin is not None and x.fmt == in_fmt:
            if native_lookup is not None and x.data.dtype == np.int64:
                return Tensor(native_lookup(x.data), out)
            return Tensor(bin_lookup(x.data, index, by_bin, x.fmt, out), out)
        return Tensor(lookup(x.data, index, table, x.fmt, out), out)

    return step


def _native_bin_lookup(index, by_bin, in_fmt: FixedFormat | None, out: FixedFormat):
    """`bin_lookup` as kernels/table.cpp (raw -> stored integers of out, in raw's layout), or None: no native
    library, no bin table, or an identity assignment the int64 kernels do not take."""
    if by_bin is None or native.library() is None:
        return None
    identity = index.identity_from is not None
    try:
        params = native.assignment(in_fmt.f, out) if identity else np.zeros(native.ASSIGN_FIELDS, dtype=np.int64)
    except ValueError:
        return None
    start = int(index.identity_from) if identity else 0

    def run(raw: np.ndarray) -> np.ndarray:
        lib = native.library()  # (per call: FXFLOW_NATIVE=0 takes effect on a compiled design too)
        if lib is None:
            return bin_lookup(raw, index, by_bin, in_fmt, out)
        dense, back = memory_order(raw)
        y = np.empty(dense.shape, dtype=np.int64)
        lib.fxflow_bin_lookup(dense.ctypes.data, y.ctypes.data, dense.size, by_bin.ctypes.data, by_bin.size,
                              index.shift, int(identity), start, params.ctypes.data)
        return y if back == sorted(back) else y.transpose(back)

    return run


@op_step(SoftmaxOp)
def _softmax_step(o, consts):
    axis = ir.IntegerAttr(o.attributes["axis"]).value
    impl = ir.StringAttr(o.attributes["implementation"]).value
    out = result_format(o)
    if out is None:
        return lambda x: Tensor(exact_softmax(x.data, axis), None)
    if impl == "hccs":
        return _hccs_step(o, axis, out)
    if impl == "argmax":
        fm = tabs = None
    else:
        fm, *tabs = softmax_formats(o)

    fixed_softmax = TableSoftmax(impl, fm, *(tabs or (None, None)))

    def step(x):
        if x.fmt is None:
            raise FxflowError(f"fxp.softmax with a fixed result needs a fixed-point input ({o.location})")
        raw = np.asarray(x.data, dtype=np.int64)
        last = axis in (-1, raw.ndim - 1)  # (the usual case: no moveaxis calls)
        y = fixed_softmax(raw if last else np.moveaxis(raw, axis, -1), x.fmt, out)
        return Tensor(y if last else np.moveaxis(y, -1, axis), out)

    return step


def _hccs_step(o, axis: int, out: FixedFormat):
    spec = hccs_spec(o)
    head = head_axis_of(ir.RankedTensorType(o.operands[0].type).shape, axis)

    def step(x):
        if x.fmt is None:
            raise FxflowError(f"an hccs fxp.softmax needs a fixed-point input ({o.location})")
        raw = np.moveaxis(np.asarray(x.data, dtype=np.int64), axis, -1)
        return Tensor(np.moveaxis(hccs(raw, spec, head), -1, axis), out)

    return step


__all__ = ["clamp", "prelu"]
