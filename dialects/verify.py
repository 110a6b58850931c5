"""Small verifier helpers shared by the fxp and df op definitions."""

from __future__ import annotations

import functools

from fxflow.ir import ir


def verifier(fn):
    """Decorator for `verify_invariants`: run only on ops whose attributes can be read.

    The Python verifier runs *before* the IRDL one, so a missing attribute (KeyError from the generated
    accessor), one of the wrong kind (ValueError "Cannot cast attribute ...") or a missing operand/result
    (IndexError) would escape as a Python exception from `Module.parse`.  Deferring (returning True) lets
    the IRDL verifier report it precisely."""

    @functools.wraps(fn)
    def wrapper(self):
        try:
            return fn(self)
        except (KeyError, IndexError):
            return True
        except ValueError as e:
            if str(e).startswith("Cannot cast attribute"):
                return True
            raise

    return wrapper


def emit(op, message: str) -> bool:
    """Report a verifier error at the op's location; returns False so verifiers can `return emit(...)`."""
    op.location.emit_error(f"'{op.operation.name}' op {message}")
    return False


def check_choice(op, what: str, value: str, allowed) -> bool:
    """An enumerated string attribute: `value` must be one of `allowed`."""
    if value not in allowed:
        return emit(op, f"{what} '{value}' is not one of {', '.join(allowed)}")
    return True


def check_tensor(op, value, what: str) -> bool:
    if not isinstance(value.type, ir.RankedTensorType):
        return emit(op, f"{what} must be a ranked tensor, got {value.type}")
    if not ir.RankedTensorType(value.type).has_static_shape:
        return emit(op, f"{what} must have a static shape, got {value.type}")
    return True


def check_same_shape(op, a, b) -> bool:
    sa, sb = ir.RankedTensorType(a.type).shape, ir.RankedTensorType(b.type).shape
    if list(sa) != list(sb):
        return emit(op, f"shape mismatch: {list(sa)} vs {list(sb)}")
    return True
