"""fxflow's single source of truth for fixed-point semantics (formats, casts, arithmetic types)."""

from .format import FixedFormat, MAX_WIDTH, OVERFLOW_MODES, ROUNDING_MODES
from .quantize import (
    MAX_INT64_WIDTH,
    apply_overflow,
    overflow_int,
    quantize,
    quantize_scalar,
    requantize,
    requantize_int,
    round_shift,
    round_shift_int,
    storage_dtype,
    to_float,
)

__all__ = [
    "FixedFormat",
    "MAX_WIDTH",
    "OVERFLOW_MODES",
    "ROUNDING_MODES",
    "MAX_INT64_WIDTH",
    "apply_overflow",
    "overflow_int",
    "quantize",
    "quantize_scalar",
    "requantize",
    "requantize_int",
    "round_shift",
    "round_shift_int",
    "storage_dtype",
    "to_float",
]
