"""Approximate multipliers, one definition each from which every executor is derived.

    from fxflow import approx
    m = approx.build("drum(k=4)", 8, True, 8, True)   # 8-bit signed x 8-bit signed
    m(a, b); m.table(); m.c_source(); m.metrics(); m.gates
    approx.multipliers()                              # registered names ("mul8s_drum4", ...)

Per layer in a config: {"layers": {"fc1": {"multiplier": "drum(k=4)"}}} (or model-wide); see docs/approx.md.
"""

from .cost import LutCosts
from .expr import C_HELPERS
from .families import FAMILIES
from .metrics import error_metrics, metrics_table
from .multiplier import Multiplier, build, families, multipliers, parse_spec, register
from .select import resolve

__all__ = ["Multiplier", "build", "families", "multipliers", "parse_spec", "register", "resolve", "FAMILIES",
           "C_HELPERS", "error_metrics", "metrics_table", "search", "SearchResult", "LutCosts"]



def __getattr__(name):
    # `search` compiles whole models (fxflow.compile), so it is API on top of these definitions. Loaded on first
    # use, so that the compiler, emulator and backends can import the definitions without importing the compiler.
    # Its module is `layer_search`: a submodule named `search` would shadow the function once imported.
    if name in ("search", "SearchResult"):
        import importlib

        module = importlib.import_module(".layer_search", __name__)
        globals().update(search=module.search, SearchResult=module.SearchResult)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
