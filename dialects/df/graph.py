"""Reading a `df` program: its graph, its kernels, and attributes with a default.

The helpers every consumer of the dataflow IR (passes, estimate, the AIE, Versal and HLS backends) uses, so
no module keeps a private copy of "read an attribute if present".
"""

from __future__ import annotations

from fxflow.errors import IRError
from fxflow.ir import ir


def _operation(op):
    return op.operation if hasattr(op, "operation") else op


def attr(op, name: str, default=None):
    """The Python value of the op's attribute `name` (int, float or str; other attributes as they are), or
    `default` when the op has none."""
    attrs = _operation(op).attributes
    if name not in attrs:
        return default
    a = attrs[name]
    for kind in (ir.IntegerAttr, ir.FloatAttr, ir.StringAttr):
        if isinstance(a, kind):
            return kind(a).value
    return a


def find_graph(module, who: str):
    """(the builtin.module op or None, the single `df.graph` op) of `module`: an `ir.Module`, a builtin.module
    op or the graph itself. `who` (the HLS emitter, the estimator, a pass, ...) starts the error message."""
    mop = _operation(module)
    if mop.name == "df.graph":
        return None, mop
    if mop.name != "builtin.module":
        raise IRError(f"{who}: expected a builtin.module holding a df.graph, got '{mop.name}'")
    graphs = [o for o in mop.regions[0].blocks[0].operations if o.operation.name == "df.graph"]
    if len(graphs) != 1:
        raise IRError(f"{who}: the module must hold exactly one df.graph, found {len(graphs)} "
                      "(run convert-fxp-to-df first)")
    return mop, graphs[0].operation


def graph_of(module, who: str = "df"):
    """The one `df.graph` of a module (see `find_graph`)."""
    return find_graph(module, who)[1]


def kernels_of(graph) -> list:
    """The `df.kernel` ops of a graph, in program order."""
    return [op.operation for op in _operation(graph).regions[0].blocks[0].operations
            if op.operation.name == "df.kernel"]
