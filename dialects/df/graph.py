"""Reading a `df` program: its graph, its kernels, and attributes with a default.

The helpers every consumer of the dataflow IR (passes, estimate, the AIE, Versal and HLS backends) uses, so
no module keeps a private copy of "read an attribute if present".
"""

from __future__ import annotations

from fxflow.errors import FxflowError
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


def graph_of(module_op):
    """The one `df.graph` of a module (FxflowError when there is none or more than one)."""
    graphs = [op.operation for op in _operation(module_op).regions[0].blocks[0].operations
              if op.operation.name == "df.graph"]
    if len(graphs) != 1:
        raise FxflowError(f"expected one df.graph in the module, found {len(graphs)} (run convert-fxp-to-df first)")
    return graphs[0]


def kernels_of(graph) -> list:
    """The `df.kernel` ops of a graph, in program order."""
    return [op.operation for op in _operation(graph).regions[0].blocks[0].operations
            if op.operation.name == "df.kernel"]
