"""`fxp`: tensor-level fixed-point arithmetic with exact ap_fixed semantics.

Type: `!fxp.fixed<k, i, f, "Q", "O">` is the element type of fixed-point tensors and means exactly
`ap_fixed<k+i+f, k+i, AP_Q, AP_O>` (`ap_ufixed` when k = 0); see `fxflow.fixed.FixedFormat`.

Every op computes its mathematically exact result and then *assigns* it to its result element type, as a
C++ assignment to an ap_fixed variable would (round with Q, then overflow with O).  Before precisions are
assigned (`fxp-assign-precision`) the same ops may carry float tensors; they then mean exact real
arithmetic, which is what the float reference emulation evaluates.

Designed to grow: conv/pool ops take the same (input, weight, bias, accum) shape as `fxp.dense`;
an `approx_mul` attribute on dense/conv will name a per-layer approximate multiplier (AdaPT/TransAxx);
table-based activations/softmax (and the HCCS integer softmax) become `fxp.table`-style ops.
"""


import functools
import re
from typing import Any

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


def _check_formats(op, values, uniform: bool = True) -> bool:
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


class ConstantOp(Fxp.Operation, name="constant", traits=[ext.Pure]):
    """A constant tensor (weights, biases).  For a fixed result, `value` holds the stored integers
    (i64, value = n * 2^-f) and every one must lie in the format's range; for a float result, the reals."""

    value: Any  # a DenseElementsAttr (checked by the verifier; IRDL has no base name for it)
    output: ext.Result[Any]

    @verifier
    def verify_invariants(self):
        if not check_tensor(self, self.output, "result"):
            return False
        out_t = ir.RankedTensorType(self.output.type)
        if not isinstance(self.value, ir.DenseElementsAttr) and not isinstance(self.value, ir.DenseElementsAttr):
            return emit(self, f"value must be a dense elements attribute, got {self.value}")
        val_t = ir.DenseElementsAttr(self.value).type
        if not isinstance(val_t, ir.RankedTensorType):
            return emit(self, f"value must be a dense tensor attribute, got type {val_t}")
        val_t = ir.RankedTensorType(val_t)
        if list(val_t.shape) != list(out_t.shape):
            return emit(self, f"value shape {list(val_t.shape)} does not match result shape {list(out_t.shape)}")
        try:
            fmt = format_of(out_t)
        except FormatError as e:
            return emit(self, f"illegal fixed-point format: {e}")
        if fmt is None:
            return True
        if not isinstance(val_t.element_type, ir.IntegerType):
            return emit(self, "a fixed-point constant must hold its stored integers as an integer tensor")
        if fmt.width > 53:
            return emit(self, f"fixed-point constants are limited to 53 bits, got {fmt}")
        lo, hi = _int_range(ir.DenseElementsAttr(self.value))
        if lo < fmt.min_int or hi > fmt.max_int:
            bad = lo if lo < fmt.min_int else hi
            return emit(self, f"stored integer {bad} is outside the range [{fmt.min_int}, {fmt.max_int}] of {fmt}")
        return True


def _int_range(attr) -> tuple[int, int]:
    """(min, max) of the integers held by an integer DenseElementsAttr."""
    from fxflow.ir import elements_array

    arr = elements_array(attr, ir.ShapedType(attr.type).shape)
    if arr.size == 0:
        return 0, 0
    return int(arr.min()), int(arr.max())


class CastOp(Fxp.Operation, name="cast", traits=[ext.Pure]):
    """Assign the input's exact value to the result type: float -> fixed quantizes, fixed -> fixed
    re-rounds/overflows, fixed -> float dequantizes exactly."""

    input: ext.Operand[Any]
    output: ext.Result[Any]

    @verifier
    def verify_invariants(self):
        return (check_tensor(self, self.input, "input") and check_tensor(self, self.output, "result")
                and check_same_shape(self, self.input, self.output)
                and _check_formats(self, [self.input, self.output], uniform=False))


class DenseOp(Fxp.Operation, name="dense", traits=[ext.Pure]):
    """y[b, n] = result(accum(bias[n]) (+)= x[b, k] * w[k, n] for k = 0..K-1 in order).

    input [B, K], weight [K, N], bias [N] (zeros when the layer has none), result [B, N].  The accumulator starts at the bias
    assigned to `accum`, then each exact product is added and the sum assigned to `accum`
    (one C++ `acc += x*w` per k); the final accumulator is assigned to the result type.
    `accum` is a `!fxp.fixed` type for fixed tensors, f64 (exact) before precision assignment."""

    input: ext.Operand[Any]
    weight: ext.Operand[Any]
    bias: ext.Operand[Any]
    output: ext.Result[Any]
    accum: ir.TypeAttr = ext.attribute(default_factory=lambda: ir.TypeAttr.get(ir.F64Type.get()))

    @verifier
    def verify_invariants(self):
        vals = [self.input, self.weight, self.output, self.bias]
        for v, what in zip(vals, ("input", "weight", "result", "bias")):
            if not check_tensor(self, v, what):
                return False
        x, w, y = (ir.RankedTensorType(v.type).shape for v in (self.input, self.weight, self.output))
        if len(x) != 2 or len(w) != 2 or len(y) != 2:
            return emit(self, f"expects rank-2 input, weight and result, got {list(x)}, {list(w)}, {list(y)}")
        if x[1] != w[0]:
            return emit(self, f"input features {x[1]} do not match weight rows {w[0]} (input {list(x)}, weight {list(w)})")
        if list(y) != [x[0], w[1]]:
            return emit(self, f"result shape {list(y)} must be [{x[0]}, {w[1]}]")
        b = ir.RankedTensorType(self.bias.type).shape
        if list(b) != [w[1]]:
            return emit(self, f"bias shape {list(b)} must be [{w[1]}]")
        if not _check_formats(self, vals):
            return False
        attrs = self.operation.attributes
        if "accum" in attrs and not isinstance(attrs["accum"], ir.TypeAttr):
            return emit(self, f"accum must be a type attribute, got {attrs['accum']}")
        try:
            acc = format_of(ir.TypeAttr(attrs["accum"]).value) if "accum" in attrs else None
            out = format_of(self.output.type)
        except FormatError as e:
            return emit(self, f"illegal accumulator format: {e}")
        if out is not None and acc is None:
            return emit(self, "a fixed-point dense needs a !fxp.fixed accumulator type")
        return True


class AddOp(Fxp.Operation, name="add", traits=[ext.Pure]):
    """Elementwise exact sum assigned to the result type (residual connections)."""

    lhs: ext.Operand[Any]
    rhs: ext.Operand[Any]
    output: ext.Result[Any]

    @verifier
    def verify_invariants(self):
        for v, what in ((self.lhs, "lhs"), (self.rhs, "rhs"), (self.output, "result")):
            if not check_tensor(self, v, what):
                return False
        return (check_same_shape(self, self.lhs, self.rhs) and check_same_shape(self, self.lhs, self.output)
                and _check_formats(self, [self.lhs, self.rhs, self.output]))


class ReluOp(Fxp.Operation, name="relu", traits=[ext.Pure]):
    """max(x, 0) assigned to the result type."""

    input: ext.Operand[Any]
    output: ext.Result[Any]

    @verifier
    def verify_invariants(self):
        return (check_tensor(self, self.input, "input") and check_tensor(self, self.output, "result")
                and check_same_shape(self, self.input, self.output) and _check_formats(self, [self.input, self.output]))


COMPUTE_OPS = ("fxp.dense", "fxp.add", "fxp.relu", "fxp.cast")
