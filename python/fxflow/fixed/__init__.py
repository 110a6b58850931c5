"""fxflow's single source of truth for fixed-point semantics (formats, casts, arithmetic types)."""

from .format import FixedFormat, MAX_WIDTH, OVERFLOW_MODES, ROUNDING_MODES

__all__ = ["FixedFormat", "MAX_WIDTH", "OVERFLOW_MODES", "ROUNDING_MODES"]
