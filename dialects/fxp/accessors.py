"""Op accessors: read what `fxp-assign-precision` attached to an fxp op (formats, tables, parameters).

In MLIR terms these are the generated accessors of the ops' attributes; they live with the dialect so that
the emulator, the estimate, the passes and every backend read an op the same way (as `channels.py` does
for per-channel formats).  Each takes an OpView or an Operation.  A missing attribute that a fixed-point op
needs raises FxflowError naming the op and its layer ("run fxp-assign-precision").
"""

from __future__ import annotations

import math

import numpy as np

from fxflow.errors import FxflowError
from fxflow.fixed import FixedFormat
from fxflow.fixed.hccs import HccsSpec
from fxflow.fixed.layernorm import Hls4mlNorm, NormFormats
from fxflow.fixed.recurrent import RnnFormats
from fxflow.fixed.softmax import SoftmaxFormats
from fxflow.fixed.table import TableIndex
from fxflow.ir import elements_array, ir, layer_name

from .base import format_of, i64_array
from .layers import ConvOp, DenseOp
from .recurrent import RnnOp
from .shape import GatherOp, PadOp, ReshapeOp, ResizeOp, TransposeOp
from .oplist import op_class
from .transformer import MatmulOp


def _operation(op):
    return op.operation if hasattr(op, "operation") else op


def where(op) -> str:
    """The layer an op came from (its NameLoc), else its location: what error messages name."""
    o = _operation(op)
    return layer_name(o.location) or str(o.location)


def result_format(op) -> FixedFormat | None:
    """The format of the op's (first) result; None for a float result."""
    return format_of(_operation(op).results[0].type)


def format_attr(op, name: str) -> FixedFormat | None:
    """The format in the op's `!fxp.fixed` type attribute `name`; None when the op has none."""
    attrs = _operation(op).attributes
    return format_of(ir.TypeAttr(attrs[name]).value) if name in attrs else None


def accum_format(op, name: str = "accum") -> FixedFormat | None:
    """The accumulator format (or that of another type attribute `name`); None when absent."""
    return format_attr(op, name)


def _required_format(op, name: str, what: str) -> FixedFormat:
    fmt = format_attr(op, name)
    if fmt is None:
        raise FxflowError(f"{what} in layer '{where(op)}' lacks {name}: run fxp-assign-precision")
    return fmt


def op_multiplier(op, x_fmt, w_fmt, roles: tuple[str, str] = ("input", "weight")):
    """The `approx_mul` multiplier of a dense/conv/matmul op (None: exact products)."""
    o = _operation(op)
    if "approx_mul" not in o.attributes:
        return None
    from fxflow.approx.select import resolve

    return resolve(ir.StringAttr(o.attributes["approx_mul"]).value, x_fmt, w_fmt, layer_name(o.location) or o.name,
                   roles)


def _table(attrs, name: str) -> np.ndarray:
    return elements_array(attrs[name], [ir.ShapedType(attrs[name].type).shape[0]])


def lut_table(op) -> tuple[TableIndex, np.ndarray] | None:
    """The (index, stored entries) attached to an fxp.lut by the precision pass; None when absent."""
    attrs = _operation(op).attributes
    if "table" not in attrs:
        return None
    table = _table(attrs, "table")
    identity = ir.IntegerAttr(attrs["identity_from"]).value if "identity_from" in attrs else None
    index = TableIndex(ir.IntegerAttr(attrs["index_shift"]).value, ir.IntegerAttr(attrs["index_offset"]).value,
                       len(table), identity_from=identity, toward_zero="index_toward_zero" in attrs)
    return index, table


def threshold_params(op) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """fxp.threshold's (thresholds f64, inclusive bool, levels f64) as arrays."""
    a = _operation(op).attributes
    return (np.asarray(a["thresholds"], dtype=np.float64), np.asarray(a["inclusive"]).astype(bool),
            np.asarray(a["levels"], dtype=np.float64))


def threshold_bounds(op, f: int) -> list[int]:
    """fxp.threshold's thresholds as stored-integer bounds on its input grid 2^-f (`fixed.threshold`)."""
    from fxflow.fixed.threshold import grid_thresholds

    t, inc, _ = threshold_params(op)
    return grid_thresholds(t, inc, f)


def softmax_formats(op) -> tuple[SoftmaxFormats, np.ndarray, np.ndarray]:
    """The intermediate formats and tables the precision pass attached to a table-based fxp.softmax."""
    attrs = _operation(op).attributes
    missing = [n for n in ("exp_table", "inv_table", "exp_format", "inv_format", "inv_input_format", "accum")
               if n not in attrs]
    if missing:
        raise FxflowError(f"fxp.softmax in layer '{where(op)}' lacks {', '.join(missing)}: run fxp-assign-precision")
    exp_tab, inv_tab = _table(attrs, "exp_table"), _table(attrs, "inv_table")
    fm = SoftmaxFormats(format_attr(op, "exp_format"), format_attr(op, "inv_format"),
                        format_attr(op, "inv_input_format"), accum_format(op), format_attr(op, "norm_format"),
                        len(exp_tab), len(inv_tab))
    return fm, exp_tab, inv_tab


def hccs_spec(op) -> HccsSpec:
    """The HCCS parameters and variant the precision pass attached to an fxp.softmax (passes/assign_precision/hccs.py)."""
    a = _operation(op).attributes
    names = ("hccs_b", "hccs_s", "hccs_dmax")
    if any(n not in a for n in names + ("hccs_output", "hccs_reciprocal")):
        raise FxflowError(f"fxp.softmax (hccs) in layer '{where(op)}' has no parameters: run fxp-assign-precision")
    arrays = [tuple(int(v) for v in np.asarray(ir.DenseIntElementsAttr(a[n])).reshape(-1)) for n in names]
    return HccsSpec(*arrays, output=ir.StringAttr(a["hccs_output"]).value,
                    reciprocal=ir.StringAttr(a["hccs_reciprocal"]).value)


def norm_formats(op) -> NormFormats:
    """The internal formats the precision pass attached to a fixed-point fxp.layernorm."""
    return NormFormats(*(_required_format(op, n, "fxp.layernorm") for n in
                         ("accum", "mean_format", "var_format", "inv_std_format", "norm_format")))


def hls4ml_norm(op) -> Hls4mlNorm | None:
    """hls4ml's LayerNorm parameters of an fxp.layernorm with `style = "hls4ml"`, else None."""
    attrs = _operation(op).attributes
    if "style" not in attrs or ir.StringAttr(attrs["style"]).value != "hls4ml":
        return None
    return Hls4mlNorm(_required_format(op, "accum", "fxp.layernorm"),
                      _required_format(op, "table_format", "fxp.layernorm"),
                      ir.IntegerAttr(attrs["table_size"]).value, ir.IntegerAttr(attrs["table_range_power2"]).value)


def rnn_formats(op) -> RnnFormats:
    """The formats fxp-assign-precision attached to a fixed-point fxp.rnn."""
    attrs = _operation(op).attributes
    fmt = lambda name: format_attr(op, name)  # noqa: E731
    cell = ir.StringAttr(attrs["cell"]).value
    fm = RnnFormats(accum_format(op), fmt("gate_format"), fmt("sigmoid_format"), fmt("tanh_format"),
                    fmt("state_format"), result_format(op),
                    ir.IntegerAttr(attrs["table_size"]).value if "table_size" in attrs else 0,
                    ir.StringAttr(attrs["table_style"]).value if "table_style" in attrs else "fxflow",
                    fmt("table_format"), fmt("product"))
    if (None in (fm.gate, fm.sigmoid, fm.tanh) or fm.table_size == 0 or (cell == "lstm") != (fm.state is not None)
            or (fm.style == "hls4ml") != (fm.table_format is not None)):
        raise FxflowError(f"fxp.rnn in layer '{where(op)}' lacks its formats: run fxp-assign-precision")
    return fm


# --- data movement ---------------------------------------------------------------------------------

def data_movement(op, copy: bool = True):
    """The array function (`fxflow.fixed.shape`) of a reshape/gather/transpose/pad/resize op, its attributes
    bound: batch-first array -> moved array.  The emulator runs it on stored integers, the RTL backend on
    wires.  copy=False: a transpose, or a gather that is a strided view of a row-major input, gives the view."""
    from fxflow.fixed import shape as mv

    o = _operation(op)
    cls = op_class(o)
    if cls is ReshapeOp:
        out = _shape(o.results[0])[1:]
        return lambda a: mv.reshape(a, out)
    if cls is GatherOp:
        out, idx = _shape(o.results[0])[1:], np.asarray(i64_array(o, "indices"), dtype=np.int64)
        view = None if copy else mv.affine_gather(idx, out)
        if view is not None:  # a strided view of a row-major input
            return lambda a: mv.gather_view(a, *view, out) if a.flags.c_contiguous else mv.gather(a, idx, out)
        return lambda a: mv.gather(a, idx, out)
    if cls is TransposeOp:
        perm = i64_array(o, "permutation")
        return lambda a: mv.transpose(a, perm, copy)
    if cls is PadOp:
        padding = i64_array(o, "padding")
        return lambda a: mv.pad(a, padding)
    if cls is ResizeOp:
        scales = i64_array(o, "scales")
        return lambda a: mv.resize(a, scales)
    raise FxflowError(f"'{o.name}' in layer '{where(o)}' is not a data-movement op")


# --- work: the products a reuse factor divides --------------------------------------------------------

def _shape(v) -> list[int]:
    return list(ir.RankedTensorType(v.type).shape)


def _dense_work(o) -> int:
    k, n = _shape(o.operands[1])
    return k * n


def _conv_work(o) -> int:
    return math.prod(_shape(o.results[0])[2:]) * math.prod(_shape(o.operands[1]))


def _matmul_work(o) -> int:
    sa, sb = _shape(o.operands[0]), _shape(o.operands[1])
    return math.prod(sa[:-1]) * sb[-1] * sa[-1]


def _rnn_work(o) -> int:
    _, steps, feats = _shape(o.operands[0])
    gh, hidden = _shape(o.operands[2])
    return steps * gh * (feats + hidden)


_WORK = {DenseOp: _dense_work, ConvOp: _conv_work, MatmulOp: _matmul_work, RnnOp: _rnn_work}


def work(op) -> int | None:
    """The multiplications of an fxp op, or of all ops of a `df.kernel`, that a reuse factor divides
    (its multiplier array has ceil(work / R) multipliers); None when there are none to share."""
    o = _operation(op)
    if o.name == "df.kernel":
        works = [w for w in (work(inner) for inner in o.regions[0].blocks[0].operations) if w is not None]
        return sum(works) if works else None
    fn = _WORK.get(op_class(o))
    return fn(o) if fn is not None else None
