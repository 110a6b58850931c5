"""`lower_graph`: one walk of a `df.graph` into an `HlsDesign` (design.py), one C++ function per `df.kernel`
printed by the kernel printers (the kernels/ package and its families; kernels/stream.py for io_stream).

This module sits above the printers: it imports the families, which register their printers, and the
printers import only design.py and kernels/__init__.py, never this module.
"""

from __future__ import annotations

import math

from fxflow.devices import DEFAULT_CLOCK_NS, DEFAULT_PART
from fxflow.dialects.df.graph import find_graph
from fxflow.errors import ConfigError, IRError, UnsupportedOpError
from fxflow.ir import ir
from fxflow.dialects.df.graph import attr
from fxflow.lowering.df_stream import is_pixel_stream

from .cwriter import comment_text
from .design import PART_RE, HlsDesign, Port, design_attr, fixed_format, kernel_results, shape_of
from .flavour import Flavour, flavour as _flavour
from .kernels import KernelEmitter
from fxflow.lowering.hls.kernels.stream import lower_stream

# the op printers of the other families register themselves when imported
from fxflow.lowering.hls.kernels import (elementwise as kernels_elementwise, layers as kernels_layers,
                                         recurrent as kernels_recurrent, shape as kernels_shape,
                                         tables as kernels_tables, transformer as kernels_transformer)  # noqa: F401  isort: skip


def _part(value: str | None, mop, graph) -> str:
    if value is None:
        found = design_attr(mop, graph, "fxflow.part")
        value = ir.StringAttr(found).value if found is not None else DEFAULT_PART
    if not PART_RE.match(value):
        raise ConfigError(f"FPGA part '{comment_text(value)}' is not a valid part name (letters, digits, '-', '_', '.')")
    return value


def _clock(value, mop, graph) -> float:
    if value is None:
        found = design_attr(mop, graph, "fxflow.clock_period")
        if found is None:
            value = DEFAULT_CLOCK_NS
        elif isinstance(found, ir.FloatAttr):
            value = ir.FloatAttr(found).value
        elif isinstance(found, ir.IntegerAttr):
            value = ir.IntegerAttr(found).value
        else:
            raise ConfigError(f"fxflow.clock_period must be a number of ns, got {found}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"clock period must be a number of ns, got {value!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"clock period must be a positive number of ns, got {value}")
    return value


# --- the graph walk ---------------------------------------------------------------------------

def lower_graph(module, *, project_name: str | None = None, part: str | None = None,
                clock_period: float | None = None, flavour: str | Flavour | None = None) -> HlsDesign:
    mop, graph = find_graph(module, "HLS emitter")
    graph_name = attr(graph, "sym_name", "myproject")
    io_type = attr(graph, "io_type", "io_parallel")
    design = HlsDesign(top="", io_type=io_type, part=_part(part, mop, graph),
                       clock_period=_clock(clock_period, mop, graph), graph_name=graph_name,
                       flavour=_flavour(flavour))
    design.top = design.ident(project_name if project_name is not None else graph_name, prefix="top")
    design.stem(design.top)
    for fixed in ("defines", "parameters", "layers", "weights"):
        design.stem(fixed)

    block = graph.regions[0].blocks[0]
    ops = list(block.operations)
    ret = ops[-1]
    args, results = list(block.arguments), list(ret.operands)

    # Ports first so that input_t / result_t head defines.h.
    names: dict = {}  # canonical value -> C array name
    for idx, a in enumerate(args):
        suffix = "" if len(args) == 1 else f"_{idx}"
        fmt = fixed_format(a, f"graph input {idx}")
        port = Port(design.ident(f"in{suffix}"), design.typedef(f"input{suffix}", fmt, "design inputs and outputs"),
                    fmt, shape_of(a, f"graph input {idx}"))
        design.inputs.append(port)
        names[a] = port.name
    for idx, v in enumerate(results):
        suffix = "" if len(results) == 1 else f"_{idx}"
        fmt = fixed_format(v, f"graph result {idx}")
        design.outputs.append(Port(design.ident(f"out{suffix}"),
                                   design.typedef(f"result{suffix}", fmt, "design inputs and outputs"),
                                   fmt, shape_of(v, f"graph result {idx}")))
    if not design.inputs or not design.outputs:
        raise IRError("HLS emitter: the df.graph needs at least one input and one result")

    # --- io_stream hook: pixel-stream channels become hls::stream kernels (stream.py, kernels/stream.py) ---
    if is_pixel_stream(graph):
        lower_stream(design, ops, args, results)
        return design
    # --- end io_stream hook ---

    # Channels alias the array of their input: find each value's canonical producer and count its readers.
    canon: dict = {}

    def canonical(v):
        return canon.get(v, v)

    readers: dict = {}
    for op in ops:
        name = op.operation.name
        if name == "df.channel":
            canon[op.results[0]] = canonical(op.operands[0])
        elif name in ("df.kernel", "df.return"):
            for v in op.operands:
                c = canonical(v)
                readers[c] = readers.get(c, 0) + 1
        else:
            raise UnsupportedOpError(f"HLS emitter: unsupported op '{name}' in df.graph '{comment_text(graph_name)}'")

    # A kernel result read only by df.return is written straight into the output port.
    bound_out: dict = {}
    copies: list[tuple[Port, object]] = []
    for port, v in zip(design.outputs, results):
        c = canonical(v)
        if (isinstance(c, ir.OpResult) and c.owner.name == "df.kernel" and readers.get(c) == 1
                and c not in bound_out):
            bound_out[c] = port.name
        else:
            copies.append((port, c))

    stream_depth: dict = {}
    for op in ops:
        if op.operation.name == "df.channel" and attr(op, "kind", "array") == "stream":
            c = canonical(op.results[0])
            stream_depth[c] = max(stream_depth.get(c, 1), attr(op, "depth", 1))

    body = design.top_body
    ctypes: dict = {a: p.ctype for a, p in zip(args, design.inputs)}
    for op in ops:
        if op.operation.name != "df.kernel":
            continue
        kname = design.ident(attr(op, "sym_name", "kernel"), prefix="k")
        layer = attr(op, "layer", "") or ""
        arg_types = [ctypes[canonical(v)] for v in op.operands]
        res_types, out_names = [], []
        for idx, r, suffix, ctype in kernel_results(design, kname, op, ctypes):
            res_types.append(ctype)
            if r in bound_out:
                names[r] = bound_out[r]
            else:
                arr = design.ident(f"{kname}_out{suffix}")
                names[r] = arr
                size = math.prod(shape_of(r, f"result {idx} of kernel '{kname}'"))
                body(f"{ctype} {arr}[{size}];")
                body.pragma(f"ARRAY_PARTITION variable={arr} complete dim=0")
                if design.io_type == "io_stream" and r in stream_depth:
                    # The df.channel depth (df-size-fifos) sizes the buffer between the DATAFLOW
                    # processes: the kernels read whole arrays, so it is a ping-pong (PIPO) channel
                    # with `depth` buffers until kernels that consume hls::streams exist.
                    body(f"// df.channel kind=stream depth={stream_depth[r]}")
                    body.pragma(f"STREAM variable={arr} type=pipo depth={stream_depth[r]}")
            out_names.append(names[r])
        emitter = KernelEmitter(design, op, kname, layer, arg_types, res_types)
        design.kernels.append(emitter.emit())
        call_args = [names[canonical(v)] for v in op.operands] + out_names
        body(f"{kname}({', '.join(call_args)});")
    for port, c in copies:
        body.loop("i", port.size)
        body(f"{port.name}[i] = {names[c]}[i];")
        body.close()
    return design
