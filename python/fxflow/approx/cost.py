"""What one approximate multiplier costs in hardware, for `search` and the estimator (`Design.report()`).

Two models, as in `search`: the families' gate equivalents (`Multiplier.gates`; a user model without `gates`
costs the exact multiplier's), or the LUTs yosys measured for the multiplier's Verilog, held in a `LutCosts`
the caller creates and passes (`fxflow.lowering.rtl.characterize.lut_costs(..., into=costs)` fills it,
`search(cost="yosys")` returns its own as `SearchResult.lut_costs`).  The estimator prices an approximate
multiplier as a LUT multiplier (never a DSP: HLS maps the inlined C++ function to logic): the LUTs measured in
the `LutCosts` it is given when they hold this multiplier, else its generic exact LUT multiplier scaled by
gates / exact gates.  No process-global table: a report depends only on its arguments.
"""

from __future__ import annotations

import math


class LutCosts:
    """yosys -nodsp LUT counts per multiplier (spec and operand widths): measurements passed explicitly to the
    estimator (`Design.report(lut_costs=...)`, `fxflow.estimate.estimate(..., lut_costs=...)`)."""

    def __init__(self):
        self._luts: dict[tuple, int] = {}  # (spec, wa, sa, wb, sb) -> LUTs

    def record(self, mult, luts: int) -> None:
        """Remember the LUTs yosys measured for `mult`."""
        self._luts[_key(mult)] = int(luts)

    def get(self, mult) -> int | None:
        """The measured LUTs of `mult`, or None when it was not measured."""
        return self._luts.get(_key(mult))

    def __len__(self) -> int:
        return len(self._luts)

    def __repr__(self) -> str:
        return f"LutCosts({len(self._luts)} measured multiplier(s))"


def _key(mult) -> tuple:
    return (mult.spec, mult.wa, mult.sa, mult.wb, mult.sb)


def gate_cost(mult) -> int:
    """Gate equivalents of `mult` (a user model without `gates`: the exact multiplier's of its widths)."""
    return mult.gates or _exact_of(mult).gates


def lut_cost(mult, exact_luts: int, measured: LutCosts | None = None) -> tuple[int, str]:
    """(LUTs of one `mult`, "yosys" or "gates"): from `measured` when it holds `mult`, else `exact_luts` (the
    estimator's figure for an exact LUT multiplier of these widths) scaled by the gate model."""
    luts = measured.get(mult) if measured is not None else None
    if luts is not None:
        return luts, "yosys"
    return max(1, math.ceil(exact_luts * gate_cost(mult) / _exact_of(mult).gates)), "gates"


def _exact_of(mult):
    from .multiplier import build

    return build("exact", mult.wa, mult.sa, mult.wb, mult.sb)
