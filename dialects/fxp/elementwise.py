"""Elementwise `fxp` ops: constants, casts, exact add/sub/mul, min/max, relu and scale_shift (clamp/prelu/select:
tables.py).

Every op computes the exact result of its inputs' exact values and assigns it to the result type once
(round with Q, then overflow with O), as one C++ assignment to an ap_fixed variable would.
"""

from typing import Any

from fxflow.errors import FormatError
from fxflow.ir import ext, ir

from ..verify import check_choice, check_same_shape, check_tensor, emit, verifier
from .base import Fxp, check_formats, check_tensors, format_of, shape_of


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
        # --- per-channel formats (dialects/fxp/channels.py): every value exact in its channel's format ---
        if "formats" in self.operation.attributes:
            from fxflow.ir import elements_array

            from .channels import verify_channel_formats
            return verify_channel_formats(self, elements_array(self.value, list(val_t.shape)))
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
    re-rounds/overflows, fixed -> float dequantizes exactly.  With a `formats` attribute (per-channel
    (k, i, f), see channels.py) each element is assigned to its channel's format instead, then stored in
    the result type, which covers them all."""

    input: ext.Operand[Any]
    output: ext.Result[Any]

    @verifier
    def verify_invariants(self):
        if not (check_tensor(self, self.input, "input") and check_tensor(self, self.output, "result")
                and check_same_shape(self, self.input, self.output)
                and check_formats(self, [self.input, self.output], uniform=False)):
            return False
        # --- per-channel cast (dialects/fxp/channels.py): `formats` per channel, the result their container ---
        if "formats" in self.operation.attributes:
            from .channels import verify_channel_formats
            if format_of(self.output.type) is None:
                return emit(self, "a per-channel cast ('formats') needs a fixed-point result type (the container)")
            return verify_channel_formats(self)
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
                and check_formats(self, [self.lhs, self.rhs, self.output]))


class ReluOp(Fxp.Operation, name="relu", traits=[ext.Pure]):
    """max(x, 0) assigned to the result type."""

    input: ext.Operand[Any]
    output: ext.Result[Any]

    @verifier
    def verify_invariants(self):
        return (check_tensor(self, self.input, "input") and check_tensor(self, self.output, "result")
                and check_same_shape(self, self.input, self.output) and check_formats(self, [self.input, self.output]))


def _binary_verify(op) -> bool:
    return (check_tensors(op, ((op.lhs, "lhs"), (op.rhs, "rhs"), (op.output, "result")))
            and check_same_shape(op, op.lhs, op.rhs) and check_same_shape(op, op.lhs, op.output)
            and check_formats(op, [op.lhs, op.rhs, op.output]))


class SubOp(Fxp.Operation, name="sub", traits=[ext.Pure]):
    """Elementwise exact difference lhs - rhs assigned to the result type."""

    lhs: ext.Operand[Any]
    rhs: ext.Operand[Any]
    output: ext.Result[Any]

    @verifier
    def verify_invariants(self):
        return _binary_verify(self)


class MulOp(Fxp.Operation, name="mul", traits=[ext.Pure]):
    """Elementwise exact product assigned to the result type."""

    lhs: ext.Operand[Any]
    rhs: ext.Operand[Any]
    output: ext.Result[Any]

    @verifier
    def verify_invariants(self):
        return _binary_verify(self)


MINMAX_KINDS = ("max", "min")


class MinMaxOp(Fxp.Operation, name="minmax", traits=[ext.Pure]):
    """The larger (`kind` "max") or smaller ("min") of two tensors, elementwise, exact, assigned to the
    result type (torch.maximum / torch.minimum of two activations; with a constant it is fxp.select)."""

    lhs: ext.Operand[Any]
    rhs: ext.Operand[Any]
    output: ext.Result[Any]
    kind: ir.StringAttr

    @verifier
    def verify_invariants(self):
        return check_choice(self, "kind", ir.StringAttr(self.kind).value, MINMAX_KINDS) and _binary_verify(self)


def check_channel_param(op, x, p, what: str) -> bool:
    """A per-channel parameter: shape [C] (C = dim 1 of the input, the channel) or [1] (per tensor)."""
    shape, xs = shape_of(p), shape_of(x)
    channels = xs[1] if len(xs) > 1 else 1
    if shape not in ([1], [channels]):
        return emit(op, f"{what} shape {shape} must be [1] or [{channels}] (the channels of input {xs})")
    return True


class ScaleShiftOp(Fxp.Operation, name="scale_shift", traits=[ext.Pure]):
    """x * scale + shift (exact), assigned to the result type; scale and shift are constants per channel
    ([C], along dim 1) or per tensor ([1]).  Standalone BatchNorm and multiplications/additions by
    constants; folded into a preceding dense/conv when that is legal."""

    input: ext.Operand[Any]
    scale: ext.Operand[Any]
    shift: ext.Operand[Any]
    output: ext.Result[Any]

    @verifier
    def verify_invariants(self):
        return (check_tensors(self, ((self.input, "input"), (self.scale, "scale"), (self.shift, "shift"),
                                      (self.output, "result")))
                and check_same_shape(self, self.input, self.output)
                and check_channel_param(self, self.input, self.scale, "scale")
                and check_channel_param(self, self.input, self.shift, "shift")
                and check_formats(self, [self.input, self.scale, self.shift, self.output]))
