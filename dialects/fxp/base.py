"""The `fxp` dialect object, its `!fxp.fixed` type and the verifier helpers every op family shares.

The op modules import this module, never the package: `fxflow.dialects.fxp` only re-exports, so the
package and its op modules form no import circle."""

import contextlib
import functools
import re

from fxflow.fixed import FixedFormat
from fxflow.errors import FormatError
from fxflow.ir import ext, ir

from ..verify import check_same_shape, check_tensor, emit


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


_FORMATS_OF: list = [None]  # (context, {type: format}) while a pass runs (`formats_remembered`), else None


@contextlib.contextmanager
def formats_remembered(ctx):
    """Remember `format_of` per type of `ctx` while the block runs (a pass and its verification ask for the
    same few types tens of thousands of times; printing one takes ~8 us).  Types are uniqued and live as long
    as their context, so within the block a type of `ctx` is a safe key; types of other contexts are not
    remembered (a context made and dropped inside could hand its addresses to another)."""
    if _FORMATS_OF[0] is not None:  # (nested: the outer block's memo)
        yield
        return
    _FORMATS_OF[0] = (ctx, {})
    try:
        yield
    finally:
        _FORMATS_OF[0] = None


def format_of(t: ir.Type) -> FixedFormat | None:
    """The format of a `!fxp.fixed` type or of a tensor of them; None for anything else.

    Reads the printed type (dynamic-type casters are per process, contexts are many); raises
    FormatError when the parameters are not a legal format."""
    memo = _FORMATS_OF[0]
    if memo is None or t.context is not memo[0]:
        return _format_of_printed(t)
    fmt = memo[1].get(t, _UNKNOWN)
    if fmt is _UNKNOWN:
        fmt = memo[1][t] = _format_of_printed(t)
    return fmt


_UNKNOWN = object()


def _format_of_printed(t: ir.Type) -> FixedFormat | None:
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
            fmt = format_of(v.type)
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
