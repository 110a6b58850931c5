"""io_stream: the `hls::stream` DATAFLOW design in C++ of a graph with pixel-stream channels (the df IR form,
`streamify` and `is_pixel_stream`, is lowering/df_stream.py).

Layout.  A tensor [1, C, *S] travels as prod(S) tokens in row-major spatial order; one token holds the
C channels of one position (channels-last pixel streams, hls4ml's `nnet::array`), spelled
`fxflow_array<T, C>`.  A rank-2 tensor [1, N] is one token of N values.  `convert-fxp-to-df` with
io_stream (`streamify`) makes every `df.channel` a stream with this `tokens` count and gives every
reader its own channel (an hls::stream has one reader: a kernel writes each token to all its readers'
streams), so `df-size-fifos` sizes exactly the FIFOs the C++ declares.

C++ (`kernels.stream.lower_stream`): the top function is a DATAFLOW region of kernel calls joined by
`hls::stream<fxflow_array<..>>` variables with `#pragma HLS STREAM depth=<df.channel depth>`; its ports
are streams (the testbench converts the model's channels-first arrays to and from pixel order, so
`Design.csim` keeps the model's layout).  The kernels are printed by `kernels.stream`.  A graph marked
io_stream whose channels do not carry this layout (hand-written IR without `tokens`, several readers
per channel) keeps the array kernels with ping-pong buffers (`lower.lower_graph`).
"""

from __future__ import annotations

from fxflow.lowering.df_stream import token_layout

from .cwriter import Lines

ARRAY_TEMPLATE = "fxflow_array"
STREAM_HEADERS = {"vitis": "hls_stream.h", "catapult": "ac_channel.h"}


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
