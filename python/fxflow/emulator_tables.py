"""Emulator steps of `fxp.clamp`, `fxp.prelu`, `fxp.lut` and `fxp.softmax`, and the float64 interpreter
of the scalar arith/math functions that `fxp.lut` regions (and captured constants) are made of.

Float tensors (fmt None) evaluate the exact functions — the float reference; fixed-point tensors use the
semantics of `fxflow.fixed.table` / `fxflow.fixed.softmax` and the tables the precision pass attached.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .dialects.fxp import ClampOp, LutOp, PReluOp, SoftmaxOp, format_of
from .emulator import Tensor, constant_operand, op_step, result_format
from .errors import FxflowError
from .fixed import FixedFormat
from .fixed.quantize import quantize, requantize
from .fixed.hccs import HccsSpec, hccs, head_axis_of
from .fixed.softmax import SoftmaxFormats, softmax as fixed_softmax
from .fixed.table import TableIndex, lookup
from .ir import elements_array, ir, layer_name
from .scalar_eval import region_function

# ------------------------------------------------------------------------------------------------
# Op steps
# ------------------------------------------------------------------------------------------------
def _float_attr(o, name: str) -> float:
    return ir.FloatAttr(o.attributes[name]).value


def grid_bounds(lo: float, hi: float, f: int) -> tuple[int | None, int | None]:
    """Stored-integer thresholds on the grid 2^-f: x < lo <=> raw < lo_c;  x > hi <=> raw > hi_f."""
    scale = Fraction(2) ** f
    lo_c = None if math.isinf(lo) else -((-Fraction(lo) * scale).__floor__())
    hi_f = None if math.isinf(hi) else (Fraction(hi) * scale).__floor__()
    return lo_c, hi_f


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
    lo, hi = _float_attr(o, "min"), _float_attr(o, "max")
    return lambda x, fmt=result_format(o): clamp(x, lo, hi, fmt)


def channel_param(p: np.ndarray, rank: int) -> np.ndarray:
    """A [C] or [1] parameter shaped to broadcast over a batch of rank-`rank` samples (channel = dim 1)."""
    p = np.asarray(p).reshape(-1)
    if p.size == 1:
        return p.reshape(())
    return p.reshape((1, p.size) + (1,) * (rank - 2))


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


def lut_table(o) -> tuple[TableIndex, np.ndarray] | None:
    """The (index, stored entries) attached to an fxp.lut by the precision pass; None when absent."""
    attrs = o.attributes
    if "table" not in attrs:
        return None
    table = elements_array(attrs["table"], [ir.ShapedType(attrs["table"].type).shape[0]])
    index = TableIndex(ir.IntegerAttr(attrs["index_shift"]).value, ir.IntegerAttr(attrs["index_offset"]).value,
                       len(table))
    return index, table


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
    return lambda x: Tensor(lookup(x.data, index, table), out)


def _type_attr(o, name: str) -> FixedFormat:
    return format_of(ir.TypeAttr(o.attributes[name]).value)


def softmax_formats(o) -> tuple[SoftmaxFormats, np.ndarray, np.ndarray]:
    """The intermediate formats and tables the precision pass attached to a table-based fxp.softmax."""
    attrs = o.attributes
    missing = [n for n in ("exp_table", "inv_table", "exp_format", "inv_format", "inv_input_format", "accum")
               if n not in attrs]
    if missing:
        where = layer_name(o.location) or str(o.location)
        raise FxflowError(f"fxp.softmax in layer '{where}' lacks {', '.join(missing)}: run fxp-assign-precision")
    exp_tab = elements_array(attrs["exp_table"], [ir.ShapedType(attrs["exp_table"].type).shape[0]])
    inv_tab = elements_array(attrs["inv_table"], [ir.ShapedType(attrs["inv_table"].type).shape[0]])
    norm = _type_attr(o, "norm_format") if "norm_format" in attrs else None
    fm = SoftmaxFormats(_type_attr(o, "exp_format"), _type_attr(o, "inv_format"), _type_attr(o, "inv_input_format"),
                        _type_attr(o, "accum"), norm, len(exp_tab), len(inv_tab))
    return fm, exp_tab, inv_tab


def hccs_spec(o) -> HccsSpec:
    """The HCCS parameters and variant the precision pass attached to an fxp.softmax (passes/..._hccs.py)."""
    a = o.attributes
    names = ("hccs_b", "hccs_s", "hccs_dmax")
    if any(n not in a for n in names + ("hccs_output", "hccs_reciprocal")):
        where = layer_name(o.location) or str(o.location)
        raise FxflowError(f"fxp.softmax (hccs) in layer '{where}' has no parameters: run fxp-assign-precision")
    arrays = [tuple(int(v) for v in np.asarray(ir.DenseIntElementsAttr(a[n])).reshape(-1)) for n in names]
    return HccsSpec(*arrays, output=ir.StringAttr(a["hccs_output"]).value,
                    reciprocal=ir.StringAttr(a["hccs_reciprocal"]).value)


def float_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@op_step(SoftmaxOp)
def _softmax_step(o, consts):
    axis = ir.IntegerAttr(o.attributes["axis"]).value
    impl = ir.StringAttr(o.attributes["implementation"]).value
    out = result_format(o)
    if out is None:
        return lambda x: Tensor(float_softmax(x.data, axis), None)
    if impl == "hccs":
        return _hccs_step(o, axis, out)
    if impl == "argmax":
        fm = tabs = None
    else:
        fm, *tabs = softmax_formats(o)

    def step(x):
        if x.fmt is None:
            raise FxflowError(f"fxp.softmax with a fixed result needs a fixed-point input ({o.location})")
        raw = np.moveaxis(np.asarray(x.data, dtype=np.int64), axis, -1)
        y = fixed_softmax(raw, x.fmt, out, impl, fm, *(tabs or (None, None)))
        return Tensor(np.moveaxis(y, -1, axis), out)

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


__all__ = ["hccs_spec",
           "clamp", "grid_bounds", "channel_param", "prelu", "float_softmax", "softmax_formats", "lut_table"]
