"""Small verifier helpers shared by the fxp and df op definitions."""

from __future__ import annotations

from fxflow.ir import ir


def emit(op, message: str) -> bool:
    """Report a verifier error at the op's location; returns False so verifiers can `return emit(...)`."""
    op.location.emit_error(f"'{op.operation.name}' op {message}")
    return False


def check_tensor(op, value, what: str) -> bool:
    if not isinstance(value.type, ir.RankedTensorType):
        return emit(op, f"{what} must be a ranked tensor, got {value.type}")
    return True


def check_same_shape(op, a, b) -> bool:
    sa, sb = ir.RankedTensorType(a.type).shape, ir.RankedTensorType(b.type).shape
    if list(sa) != list(sb):
        return emit(op, f"shape mismatch: {list(sa)} vs {list(sb)}")
    return True


def element_format(t):
    from .fxp import format_of

    return format_of(t)
