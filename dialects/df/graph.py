"""Reading a `df` program: its graph, its kernels, and attributes with a default.

The helpers every consumer of the dataflow IR (passes, estimate, the AIE, Versal and HLS backends) uses, so
no module keeps a private copy of "read an attribute if present".
"""

from __future__ import annotations

import math

import numpy as np

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


def _kernel_ops(kernel) -> list:
    return [op.operation for op in _operation(kernel).regions[0].blocks[0].operations]


def element_ranges(value) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-element integer ranges (container grid, flat) of a kernel input that another kernel produces as a
    per-element cast (`formats`): each element's own format range, a pruned element [0, 0].  The RTL consumer's
    wires and the estimate's adder graph take these ranges, so its adders are as wide as each element needs (a
    port stays container-wide).  None for an input of the container's format."""
    from fxflow.dialects.fxp.base import format_of
    from fxflow.dialects.fxp.channels import channel_formats
    from fxflow.fixed.quantize import saturation_bounds
    from fxflow.ir import defining_op

    owner = defining_op(value)
    while owner is not None and owner.name == "df.channel":
        value = owner.operands[0]
        owner = defining_op(value)
    if owner is None or owner.name != "df.kernel":
        return None
    index = next(i for i, r in enumerate(owner.results) if r == value)
    src = list(_kernel_ops(owner)[-1].operands)[index]
    cast = defining_op(src)
    cf = channel_formats(cast) if cast is not None and cast.name == "fxp.cast" else None
    container = format_of(src.type)
    if cf is None or container is None:
        return None
    shape = list(ir.RankedTensorType(src.type).shape)
    lo = np.zeros(math.prod(shape), dtype=object)
    hi = np.zeros(math.prod(shape), dtype=object)
    for fmt, idx in cf.groups(shape):
        a, b = saturation_bounds(fmt) if fmt.overflow.startswith("SAT") else (fmt.min_int, fmt.max_int)
        lo[idx], hi[idx] = a << (container.f - fmt.f), b << (container.f - fmt.f)
    return lo, hi
