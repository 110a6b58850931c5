"""The integer rule of `fxp.clamp`: its real bounds as thresholds on the input's stored integers."""

from __future__ import annotations

import math
from fractions import Fraction


def grid_bounds(lo: float, hi: float, f: int) -> tuple[int | None, int | None]:
    """Stored-integer thresholds on the grid 2^-f: x < lo <=> raw < lo_c;  x > hi <=> raw > hi_f."""
    scale = Fraction(2) ** f
    lo_c = None if math.isinf(lo) else -((-Fraction(lo) * scale).__floor__())
    hi_f = None if math.isinf(hi) else (Fraction(hi) * scale).__floor__()
    return lo_c, hi_f
