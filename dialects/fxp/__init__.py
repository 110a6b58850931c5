"""`fxp`: tensor-level fixed-point arithmetic with exact ap_fixed semantics.

Type: `!fxp.fixed<k, i, f, "Q", "O">` is the element type of fixed-point tensors and means exactly
`ap_fixed<k+i+f, k+i, AP_Q, AP_O>` (`ap_ufixed` when k = 0); see `fxflow.fixed.FixedFormat`.

Every op computes its mathematically exact result and then *assigns* it to its result element type, as a
C++ assignment to an ap_fixed variable would (round with Q, then overflow with O).  Before precisions are
assigned (`fxp-assign-precision`) the same ops may carry float tensors; they then mean exact real
arithmetic, which is what the float reference emulation evaluates.

Ops live in one file per family, and every concern (precision, emulator, estimate, HLS) uses the same family
names (`oplist.FXP_OPS` lists them): `elementwise.py` (constant, cast, add/sub/mul, relu, scale_shift),
`layers.py` (dense, conv, pool: the multiply-accumulate layers with an explicit `accum`), `shape.py` (reshape,
transpose, concat, pad, resize, gather: data movement only, no arithmetic), `tables.py` (lut activations,
clamp, prelu and softmax, whose hardware is a lookup table or a comparison), `transformer.py` (matmul of two
activations, layernorm, add_constant) and `recurrent.py` (rnn).  The `approx_mul` attribute on
dense/conv/matmul names a per-layer approximate multiplier (`fxflow.approx`, docs/approx.md).  Room to grow:
the HCCS integer softmax is another `implementation` of `fxp.softmax`; attention/LayerNorm become layers with
their own accumulators.
"""


import functools
import re

from fxflow.fixed import FixedFormat
from fxflow.errors import FormatError
from fxflow.ir import ext, ir

from ..verify import check_same_shape, check_tensor, element_format, emit, verifier


class Fxp(ext.Dialect, name="fxp"):
    pass


class FixedType(Fxp.Type, name="fixed"):
    k: ir.IntegerAttr
    i: ir.IntegerAttr
    f: ir.IntegerAttr
    rounding: ir.StringAttr
    overflow: ir.StringAttr


def fixed_type(fmt: FixedFormat) -> ir.Type:
    """The `!fxp.fixed` type of a format (needs an active Context with fxp loaded)."""
    i32 = ir.IntegerType.get_signless(32)
    return FixedType.get(
        ir.IntegerAttr.get(i32, fmt.k),
        ir.IntegerAttr.get(i32, fmt.i),
        ir.IntegerAttr.get(i32, fmt.f),
        ir.StringAttr.get(fmt.rounding),
        ir.StringAttr.get(fmt.overflow),
    )


_FIXED_RE = re.compile(
    r'!fxp\.fixed<(-?\d+) : i32, (-?\d+) : i32, (-?\d+) : i32, "([A-Z_]*)", "([A-Z_]*)">')


def format_of(t: ir.Type) -> FixedFormat | None:
    """The format of a `!fxp.fixed` type or of a tensor of them; None for anything else.

    Reads the printed type (dynamic-type casters are per process, contexts are many); raises
    FormatError when the parameters are not a legal format."""
    if isinstance(t, ir.RankedTensorType):
        t = ir.RankedTensorType(t).element_type
    return _parse_fixed(str(t))


@functools.lru_cache(maxsize=4096)
def _parse_fixed(text: str) -> FixedFormat | None:
    m = _FIXED_RE.fullmatch(text)
    if m is None:
        if text.startswith("!fxp.fixed"):
            raise FormatError(f"malformed fixed type {text}: expected k, i, f as i32 and two mode strings")
        return None
    k, i, f = (int(m.group(j)) for j in (1, 2, 3))
    return FixedFormat(k, i, f, m.group(4), m.group(5))


def check_formats(op, values, uniform: bool = True) -> bool:
    """Every fixed format legal; with `uniform`, all values fixed or all float (no silent mixing)."""
    kinds = set()
    for v in values:
        try:
            fmt = element_format(v.type)
        except FormatError as e:
            return emit(op, f"illegal fixed-point format: {e}")
        kinds.add("fixed" if fmt is not None else "float")
    if uniform and len(kinds) > 1:
        return emit(op, "mixes fixed-point and float tensors; insert an explicit fxp.cast")
    return True




def check_format_attrs(op, names, what: str) -> bool:
    """Each of `names` present is a `!fxp.fixed` type attribute; on a fixed-point result all are present
    (the internal formats fxp-assign-precision attaches to a layernorm, an rnn, ...)."""
    attrs = op.operation.attributes
    fixed = format_of(op.output.type) is not None
    for name in names:
        if name in attrs:
            try:
                ok = isinstance(attrs[name], ir.TypeAttr) and format_of(ir.TypeAttr(attrs[name]).value) is not None
            except FormatError as e:
                return emit(op, f"illegal {name}: {e}")
            if not ok:
                return emit(op, f"{name} must be a !fxp.fixed type attribute, got {attrs[name]}")
        elif fixed:
            return emit(op, f"a fixed-point {what} needs its '{name}' (run fxp-assign-precision)")
    return True


def i64_array(op, name: str) -> list[int]:
    """An `array<i64: ...>` attribute of an op as a list (shape parameters: strides, padding, ...)."""
    return list(ir.DenseI64ArrayAttr(op.operation.attributes[name]))


def check_i64_array(op, name: str, n: int | None = None, minimum: int | None = None) -> bool:
    attr = op.operation.attributes[name]
    if not isinstance(attr, ir.DenseI64ArrayAttr):
        return emit(op, f"{name} must be an array<i64: ...>, got {attr}")
    vals = list(ir.DenseI64ArrayAttr(attr))
    if n is not None and len(vals) != n:
        return emit(op, f"{name} must have {n} entries, got {len(vals)}")
    if minimum is not None and any(v < minimum for v in vals):
        return emit(op, f"{name} entries must be >= {minimum}, got {vals}")
    return True


def shape_of(v) -> list[int]:
    return list(ir.RankedTensorType(v.type).shape)


def check_tensors(op, pairs) -> bool:
    return all(check_tensor(op, v, what) for v, what in pairs)


def check_pointwise(op) -> bool:
    """An op from `input` to a same-shaped `output`, both fixed or both float."""
    return (check_tensors(op, ((op.input, "input"), (op.output, "result")))
            and check_same_shape(op, op.input, op.output) and check_formats(op, [op.input, op.output]))


def in_out_shapes(op) -> tuple[list[int], list[int]] | None:
    """(input shape, result shape) of a data-movement op, or None after reporting a non-tensor."""
    if not check_tensors(op, ((op.input, "input"), (op.output, "result"))):
        return None
    return shape_of(op.input), shape_of(op.output)


from .elementwise import AddOp, CastOp, ConstantOp, MulOp, ReluOp, ScaleShiftOp, SubOp  # noqa: E402
from .layers import ConvOp, DenseOp, PoolOp, conv_output_shape  # noqa: E402
from .shape import ConcatOp, GatherOp, PadOp, ReshapeOp, ResizeOp, TransposeOp  # noqa: E402
from .tables import ClampOp, LutOp, PReluOp, SoftmaxOp, YieldOp  # noqa: E402
from .transformer import AddConstantOp, LayerNormOp, MatmulOp  # noqa: E402
from .recurrent import RnnOp  # noqa: E402
from .oplist import FXP_OPS, OpRegistry, check_op_classes, op_class, op_name  # noqa: E402

# Ops that compute (each becomes a df.kernel); constants are cloned into the kernels that read them.
COMPUTE_OPS = tuple(f"fxp.{n}" for n in (
    "dense", "conv", "pool", "add", "sub", "mul", "relu", "clamp", "prelu", "scale_shift", "cast",
    "reshape", "transpose", "concat", "pad", "resize", "lut", "softmax", "matmul", "layernorm", "gather",
    "add_constant", "rnn"))
