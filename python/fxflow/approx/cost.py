"""What one approximate multiplier costs in hardware, for `search` and the estimator (`Design.report()`).

Two models, as in `search`: the families' gate equivalents (`Multiplier.gates`; a user model without `gates`
costs the exact multiplier's), or the LUTs yosys measured for the multiplier's Verilog
(`fxflow.rtl.characterize.lut_costs`, which records every count it measures here).  The estimator prices an
approximate multiplier as a LUT multiplier (never a DSP: HLS maps the inlined C++ function to logic): the
LUTs measured in this process when there are any, else its generic exact LUT multiplier scaled by
gates / exact gates.
"""

from __future__ import annotations

import math

MEASURED_LUTS: dict[tuple, int] = {}  # (spec, wa, sa, wb, sb) -> yosys -nodsp LUTs (filled by lut_costs)


def _key(mult) -> tuple:
    return (mult.spec, mult.wa, mult.sa, mult.wb, mult.sb)


def gate_cost(mult) -> int:
    """Gate equivalents of `mult` (a user model without `gates`: the exact multiplier's of its widths)."""
    return mult.gates or _exact_of(mult).gates


def record_luts(mult, luts: int) -> None:
    """Remember the LUTs yosys measured for `mult` (used by the estimator from then on)."""
    MEASURED_LUTS[_key(mult)] = int(luts)


def lut_cost(mult, exact_luts: int) -> tuple[int, str]:
    """(LUTs of one `mult`, "yosys" or "gates"): measured when available, else `exact_luts` (the estimator's
    figure for an exact LUT multiplier of these widths) scaled by the gate model."""
    measured = MEASURED_LUTS.get(_key(mult))
    if measured is not None:
        return measured, "yosys"
    return max(1, math.ceil(exact_luts * gate_cost(mult) / _exact_of(mult).gates)), "gates"


def _exact_of(mult):
    from .multiplier import build

    return build("exact", mult.wa, mult.sa, mult.wb, mult.sb)
