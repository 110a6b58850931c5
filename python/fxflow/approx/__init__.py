"""Approximate multipliers, one definition each from which every executor is derived.

    from fxflow import approx
    m = approx.build("drum(k=4)", 8, True, 8, True)   # 8-bit signed x 8-bit signed
    m(a, b); m.table(); m.c_source(); m.metrics(); m.gates
    approx.multipliers()                              # registered names ("mul8s_drum4", ...)

Per layer in a config: {"layers": {"fc1": {"multiplier": "drum(k=4)"}}} (or model-wide); see docs/approx.md.
"""

from .expr import C_HELPERS
from .families import FAMILIES
from .metrics import error_metrics, metrics_table
from .multiplier import Multiplier, build, families, multipliers, parse_spec, register, resolve

__all__ = ["Multiplier", "build", "families", "multipliers", "parse_spec", "register", "resolve", "FAMILIES",
           "C_HELPERS", "error_metrics", "metrics_table", "search"]


def __getattr__(name):
    if name == "search":
        from .search import search

        return search
    raise AttributeError(f"module 'fxflow.approx' has no attribute {name!r}")
