"""io_stream: pixel-stream channels in the df IR and the `hls::stream` DATAFLOW design in C++.

Layout.  A tensor [1, C, *S] travels as prod(S) tokens in row-major spatial order; one token holds the
C channels of one position (channels-last pixel streams, hls4ml's `nnet::array`), spelled
`fxflow_array<T, C>`.  A rank-2 tensor [1, N] is one token of N values.  `convert-fxp-to-df` with
io_stream (`streamify`) makes every `df.channel` a stream with this `tokens` count and gives every
reader its own channel (an hls::stream has one reader: a kernel writes each token to all its readers'
streams), so `df-size-fifos` sizes exactly the FIFOs the C++ declares.

C++ (`lower_stream`): the top function is a DATAFLOW region of kernel calls joined by
`hls::stream<fxflow_array<..>>` variables with `#pragma HLS STREAM depth=<df.channel depth>`; its ports
are streams (the testbench converts the model's channels-first arrays to and from pixel order, so
`Design.csim` keeps the model's layout).  The kernels are printed by `kernels_stream`.  A graph marked
io_stream whose channels do not carry this layout (hand-written IR without `tokens`, several readers
per channel) keeps the array kernels with ping-pong buffers (`design.lower_graph`).
"""

from __future__ import annotations

import math

from fxflow.dialects.df.graph import attr
from fxflow.errors import UnsupportedOpError
from fxflow.ir import i64_attr, ir

from .cwriter import Lines

ARRAY_TEMPLATE = "fxflow_array"
STREAM_HEADERS = {"vitis": "hls_stream.h", "catapult": "ac_channel.h"}


# --- the layout ------------------------------------------------------------------------------------

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
            raise UnsupportedOpError(
                f"io_stream: the graph input {arg.get_name()} is read by {len(readers)} layers; a stream has one "
                "reader (use io_parallel, or route the input through one layer)")
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


# --- C++ spelling ---------------------------------------------------------------------------------

def token_type(ctype: str, n: int) -> str:
    return f"{ARRAY_TEMPLATE}<{ctype}, {n}>"


def stream_type(design, ctype: str, n: int) -> str:
    return f"{design.flavour.stream_type}<{token_type(ctype, n)} >"


def declare_stream(design, ctype: str, n: int, name: str) -> str:
    """A stream variable (Vitis streams carry their name for C-simulation messages)."""
    init = f'("{name}")' if design.flavour.name == "vitis" else ""
    return f"{stream_type(design, ctype, n)} {name}{init};"


def defines_lines(design) -> list[str]:
    """The stream header and the token type, for defines.h."""
    return [
        "",
        f"#include \"{STREAM_HEADERS[design.flavour.name]}\"" if design.flavour.name == "vitis" else
        "// ac_channel (included above) carries the io_stream tokens",
        "",
        "// io_stream: one token = the channels of one spatial position (channels-last pixel stream).",
        "template <class T, int N>",
        f"struct {ARRAY_TEMPLATE} {{",
        "    T data[N];",
        "    T &operator[](int i) { return data[i]; }",
        "    const T &operator[](int i) const { return data[i]; }",
        "};",
    ]


def top_signature(design) -> str:
    params = [f"{stream_type(design, p.ctype, token_layout(p.shape)[1])} &{p.name}"
              for p in design.inputs + design.outputs]
    return f"void {design.top}({', '.join(params)})"


def top_pragmas(design, body: Lines) -> None:
    for p in design.inputs + design.outputs:
        body.pragma(f"INTERFACE mode=axis port={p.name}")
    body.pragma("DATAFLOW")


def testbench_call(design, body: Lines) -> None:
    """Feed the channels-first input arrays as pixel streams, call the top, reorder the outputs back
    (out[c * T + t] = token t, channel c); unread or missing tokens are testbench errors."""
    def stream_var(p):
        return f"{p.name}_stream"

    for p in design.inputs:
        tokens, n = token_layout(p.shape)
        body(declare_stream(design, p.ctype, n, stream_var(p)))
        body.open(f"for (int t = 0; t < {tokens}; t++)")
        body(f"{token_type(p.ctype, n)} tok;")
        body(f"for (int c = 0; c < {n}; c++) tok[c] = {p.name}[c * {tokens} + t];")
        body(f"{stream_var(p)}.write(tok);")
        body.close()
    for p in design.outputs:
        tokens, n = token_layout(p.shape)
        body(declare_stream(design, p.ctype, n, stream_var(p)))
    body(f"{design.top}({', '.join(stream_var(p) for p in design.inputs + design.outputs)});")
    for p in design.inputs:
        body.open(f"if (!{stream_var(p)}.empty())")
        body(f'std::cerr << "tb: sample " << samples << ": {design.top} left tokens of {p.name} unread\\n";')
        body("return 2;")
        body.close()
    for p in design.outputs:
        tokens, n = token_layout(p.shape)
        body.open(f"for (int t = 0; t < {tokens}; t++)")
        body.open(f"if ({stream_var(p)}.empty())")
        body(f'std::cerr << "tb: sample " << samples << ": {design.top} wrote " << t << " of {tokens} tokens of '
             f'{p.name}\\n";')
        body("return 2;")
        body.close()
        body(f"{token_type(p.ctype, n)} tok = {stream_var(p)}.read();")
        body(f"for (int c = 0; c < {n}; c++) {p.name}[c * {tokens} + t] = tok[c];")
        body.close()
        body.open(f"if (!{stream_var(p)}.empty())")
        body(f'std::cerr << "tb: sample " << samples << ": {design.top} wrote more than {tokens} tokens of '
             f'{p.name}\\n";')
        body("return 2;")
        body.close()


# --- the graph --------------------------------------------------------------------------------------

def lower_stream(design, ops, args, results) -> None:
    """Fill `design` (ports already made) with one stream kernel per df.kernel and the DATAFLOW top body."""
    from .design import result_typedef, shape_of
    from .kernels_stream import StreamKernelEmitter

    design.streaming = True
    design.taken.add(ARRAY_TEMPLATE)
    for p in design.inputs + design.outputs:
        token_layout(p.shape, f"port {p.name}")
        design.taken.add(f"{p.name}_stream")  # the testbench's stream variables
    ret = ops[-1]
    port_of = {}  # df.channel result read by df.return -> output port name
    for port, v in zip(design.outputs, results):
        port_of[v] = port.name
    stream_of: dict = {}  # graph argument / channel result -> C++ stream name
    for a, p in zip(args, design.inputs):
        stream_of[a] = p.name
    ctypes: dict = {a: p.ctype for a, p in zip(args, design.inputs)}
    body = design.top_body
    for op in ops:
        name = op.operation.name
        if name == "df.channel" or name == "df.return":
            continue
        if name != "df.kernel":
            raise UnsupportedOpError(f"HLS emitter: unsupported op '{name}' in df.graph '{design.graph_name}'")
        kname = design.ident(attr(op, "sym_name", "kernel"), prefix="k")
        layer = attr(op, "layer", "") or ""
        in_types = []
        for v in op.operands:
            src = v.owner.operands[0] if isinstance(v, ir.OpResult) and v.owner.name == "df.channel" else v
            in_types.append(ctypes[src])
        res_types, outs = [], []
        for idx, r in enumerate(op.results):
            suffix = "" if len(op.results) == 1 else f"_{idx}"
            ctype = result_typedef(design, kname, op, idx)
            ctypes[r] = ctype
            res_types.append(ctype)
            _, n = token_layout(shape_of(r, f"result {idx} of kernel '{kname}'"), f"result {idx} of kernel '{kname}'")
            names = []
            for use in r.uses:  # one df.channel per reader (streamify)
                ch = use.owner
                out = ch.results[0]
                if out in port_of:
                    names.append(port_of[out])
                    continue
                sname = design.ident(f"{kname}_out{suffix}")
                depth = attr(ch, "depth", 1)
                body(declare_stream(design, ctype, n, sname))
                if design.flavour.keeps_hls_pragmas:
                    body.pragma(f"STREAM variable={sname} depth={depth}")
                else:  # Catapult sets FIFO depths by directive, not in the C++
                    body(f"// FIFO depth {depth} (df.channel)")
                stream_of[out] = sname
                names.append(sname)
            outs.append(names)
        emitter = StreamKernelEmitter(design, op, kname, layer, in_types, res_types, [len(n) for n in outs])
        design.kernels.append(emitter.emit())
        call = [stream_of[v] for v in op.operands] + [s for names in outs for s in names]
        body(f"{kname}({', '.join(call)});")
    if ret.operation.name != "df.return":
        raise UnsupportedOpError("HLS emitter: the df.graph must end with df.return")
