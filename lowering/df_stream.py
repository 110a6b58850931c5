"""The io_stream form of a `df.graph`: pixel-stream channels (hls4ml's layout), made by `convert-fxp-to-df`
with io_type=io_stream and read by the estimator, `df-size-fifos` and the HLS stream printer.

A tensor [1, C, *S] travels as prod(S) tokens in row-major spatial order, one token holding the C channels of
one position; a rank-2 tensor [1, N] is one token of N values. `streamify` makes every `df.channel` a stream
with this `tokens` count and gives every reader its own channel (a stream has one reader). It is IR, not C++:
the C++ spelling is lowering/hls/stream.py.
"""

from __future__ import annotations

import math

from fxflow.errors import UnsupportedOpError
from fxflow.dialects.df.graph import attr
from fxflow.ir import i64_attr, ir


def token_layout(shape, where: str = "tensor") -> tuple[int, int]:
    """(tokens per sample, values per token) of a [1, C, *S] tensor: (prod(S), C)."""
    shape = [int(d) for d in shape]
    if len(shape) < 2 or shape[0] != 1:
        raise UnsupportedOpError(f"io_stream: {where} has shape {shape}; pixel streams need [1, C, *spatial]")
    return math.prod(shape[2:]), shape[1]


def _shape(value) -> list[int]:
    return [int(d) for d in ir.RankedTensorType(value.type).shape]


def streamify(graph) -> None:
    """Turn the array channels of a freshly built df.graph into pixel-stream channels: kind "stream",
    `tokens` = positions per sample, depth 1 until df-size-fifos sizes them, one channel per reader."""
    block = graph.regions[0].blocks[0]
    for arg in block.arguments:
        readers = list(arg.uses)
        if len(readers) > 1:
            layers = sorted({attr(u.owner, "layer", "") for u in readers} - {""})
            raise UnsupportedOpError(
                f"io_stream: the graph input {arg.get_name()} is read by {len(readers)} layers; a stream has one "
                "reader (use io_parallel, or route the input through one layer); read by "
                + ", ".join(f"'{n}'" for n in layers), layer=layers[0] if layers else None)
    for op in [o.operation for o in block.operations if o.operation.name == "df.channel"]:
        tokens, _ = token_layout(_shape(op.results[0]), f"channel {op.results[0].get_name()}")
        op.attributes["kind"] = ir.StringAttr.get("stream")
        op.attributes["depth"] = i64_attr(1)
        op.attributes["tokens"] = i64_attr(tokens)
        uses = [(u.owner, u.operand_number) for u in op.results[0].uses]
        for owner, index in uses[1:]:
            clone = op.clone(ip=ir.InsertionPoint(op))
            owner.operands[index] = clone.results[0]


def is_pixel_stream(graph) -> bool:
    """True when the graph's channels are the pixel streams `streamify` makes (see the module docstring)."""
    if attr(graph, "io_type", "") != "io_stream":
        return False
    block = graph.regions[0].blocks[0]
    if any(len(list(a.uses)) != 1 for a in block.arguments):
        return False
    for o in block.operations:
        op = o.operation
        if op.name == "df.kernel":
            if any(u.owner.name != "df.channel" for r in op.results for u in r.uses):
                return False
        elif op.name == "df.channel":
            if attr(op, "kind", "") != "stream" or "tokens" not in op.attributes:
                return False
            if ir.IntegerAttr(op.attributes["tokens"]).value != token_layout(_shape(op.results[0]))[0]:
                return False
            if len(list(op.results[0].uses)) != 1:
                return False
            src = op.operands[0]
            if not (isinstance(src, ir.OpResult) and src.owner.name == "df.kernel"):
                return False
    return True
