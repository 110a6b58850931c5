"""C++ of one `df.kernel` in io_stream: pixel-stream ports around the io_parallel op printers.

Every kernel reads `fxflow_array` tokens (the channels of one position, see stream.py) and writes them
to each of its readers' streams.  Three shapes of kernel, all computing every output exactly as the
io_parallel printer does (same statements, same order):

* token: ops that work per position (cast, relu, add/sub/mul, scale_shift, clamp, prelu, lut, concat
  and softmax over channels, a reshape that keeps channels and positions) and every kernel whose streams
  are single tokens (dense, flattened data): one loop over the tokens; inside it the io_parallel printer
  runs on the token arrays, the streamed tensors viewed as [1, C].
* window: conv and pool consume the pixel stream through a line buffer holding the last
  min((K-1)*dilation+1, rows) input rows (1-D: positions).  The kernel walks the zero-padded input in
  row-major order, reading a token at each position inside the image; when the position is the last
  one of a window (bottom-right corner, aligned with the stride) that output pixel is complete and is
  computed from the buffer (taps in the padding are skipped, as in io_parallel) and written: at most one
  output per step, so the loop pipelines.
* reorder: zero padding walks the padded positions, reading a token inside the image and writing zeros
  outside; nearest upsampling buffers one input row and writes it scale_h times, each position scale_w
  times (1-D: each token scale times).
* gather: everything else (transpose, reshapes that move data between positions and channels, spatial
  concat/pad/resize, ops with full-size constant operands): read all tokens of all inputs in lockstep
  into channels-first arrays, run the io_parallel printer, stream the result out.
"""

from __future__ import annotations

import math

from fxflow.dialects.df import UNROLLED
from fxflow.dialects.df.graph import attr
from fxflow.dialects.fxp import i64_array
from fxflow.dialects.fxp.traits import PER_POSITION, REORDERED, WINDOWED
from fxflow.errors import UnsupportedOpError
from fxflow.ir import ir
from fxflow.lowering.df_stream import token_layout

from fxflow.lowering.hls.cwriter import Lines, index_expr
from fxflow.lowering.hls.design import KernelFn, block_ops, kernel_results, shape_of
from fxflow.lowering.hls.kernels import OP_PRINTERS, KernelEmitter
from fxflow.lowering.hls.kernels.layers import SPATIAL_SUFFIXES, conv_output, conv_prologue, pool_output
from fxflow.lowering.hls.stream import ARRAY_TEMPLATE, declare_stream, stream_type, token_type

# Ops an io_stream kernel rejects although io_parallel prints them (every other one streams as a token,
# window, reorder or gather kernel: traits.PER_POSITION, WINDOWED, REORDERED); test_op_coverage.py asks every
# op of FXP_OPS.
UNSUPPORTED: dict = {}


class StreamKernelEmitter(KernelEmitter):
    """A KernelEmitter whose ports are streams; `views` maps streamed values to their per-token shape."""

    is_stream = True

    def __init__(self, design, op, name, layer, arg_types, res_types, fanout: list[int]):
        self.views: dict = {}  # (set before the base constructor, which sizes the ports)
        self.function_pipeline = True  # False: a printer keeps a loop rolled (fxp.rnn's time steps)
        super().__init__(design, op, name, layer, arg_types, res_types)
        self.arg_types = arg_types
        self.in_layout = [token_layout(self.shape(a, None, f"input {i}"), f"input {i} of {self.where()}")
                          for i, a in enumerate(self.args)]
        self.out_layout = [token_layout(self.shape(r, None, f"result {i}"), f"result {i} of {self.where()}")
                           for i, r in enumerate(op.results)]
        self.out_streams = [[f"y{i}_s" if n == 1 else f"y{i}_s{j}" for j in range(n)] for i, n in enumerate(fanout)]
        self.params = [f"{stream_type(design, t, c)} &x{i}_s" for i, (t, (_, c)) in
                       enumerate(zip(arg_types, self.in_layout))]
        for i, (t, (_, c)) in enumerate(zip(res_types, self.out_layout)):
            self.params += [f"{stream_type(design, t, c)} &{s}" for s in self.out_streams[i]]

    def shape(self, value, op, what):
        if value in self.views:
            return self.views[value]
        return super().shape(value, op, what)

    def size(self, value, what):
        if value in self.views:
            return math.prod(self.views[value])
        return super().size(value, what)

    # --- which kind of kernel -------------------------------------------------------------------
    def _main_ops(self):
        ops = block_ops(self.op)
        return ops, [o for o in ops[:-1] if o.operation.name != "fxp.constant"]

    def _kind(self) -> str:
        ops, main = self._main_ops()
        tokens = {t for t, _ in self.in_layout + self.out_layout}
        yielded = list(ops[-1].operands)
        if len(main) == 1 and len(yielded) == 1 and yielded[0] == main[0].results[0]:
            m = main[0].operation
            if tokens != {1} and len(self.args) == 1 and m.operands[0] == self.args[0]:
                if m.name in WINDOWED:
                    return "window"
                if m.name in REORDERED:
                    return "reorder"
            if tokens == {1}:
                return "token"
            if m.name in PER_POSITION and self._per_position(m):
                return "token"
        return "token" if tokens == {1} else "gather"

    def _per_position(self, m) -> bool:
        """Every tensor operand streamed, equal positions everywhere; concat/softmax over channels only."""
        streamed = [v for v in m.operands if not self.is_const(v)]
        params = [v for v in m.operands if self.is_const(v)]
        if m.name in ("fxp.scale_shift", "fxp.prelu"):
            if streamed != [m.operands[0]]:
                return False
        elif params:
            return False
        if m.name in ("fxp.concat", "fxp.softmax") and ir.IntegerAttr(m.attributes["axis"]).value != 1:
            return False
        layouts = [token_layout(self.shape(v, m, "operand")) for v in streamed + [m.results[0]]]
        if len({t for t, _ in layouts}) != 1:
            return False
        return m.name != "fxp.reshape" or layouts[0][1] == layouts[1][1]

    # --- the kernel function --------------------------------------------------------------------
    def emit(self) -> KernelFn:
        kind = self._kind()
        ops, main = self._main_ops()
        out = Lines(1)
        out(f"// io_stream kernel ({kind}): " + ", ".join(
            f"{n} {t} token(s) of {c}" for n, (t, c) in
            [(f"x{i}", lay) for i, lay in enumerate(self.in_layout)]
            + [(f"y{i}", lay) for i, lay in enumerate(self.out_layout)]))
        if kind == "window":
            self.body = Lines(1)
            for o in ops[:-1]:
                if o.operation.name == "fxp.constant":
                    OP_PRINTERS["fxp.constant"](self, o)
            (_conv_window if main[0].operation.name == "fxp.conv" else _pool_window)(self, main[0])
            out.extend(self.body)
        elif kind == "reorder":
            self.body = Lines(1)
            (_pad_stream if main[0].operation.name == "fxp.pad" else _resize_stream)(self, main[0])
            out.extend(self.body)
        elif kind == "token":
            out.extend(self._token_kernel(ops))
        else:
            out.extend(self._gather_kernel(ops))
        stem = self.design.stem(self.name)
        return KernelFn(self.name, self.layer, self.rf, self.strategy, self.params, out, self.consts,
                        f"layers/{stem}.cpp")

    def _print_ops(self, ops, level: int) -> Lines:
        """The io_parallel printers of the kernel's ops, into a fresh Lines at `level`."""
        self.body = Lines(level)
        for o in ops[:-1]:
            fn = OP_PRINTERS.get(o.operation.name)
            if fn is None:
                supported = ", ".join(OP_PRINTERS.names())
                raise self.error(o, f"unsupported op '{o.operation.name}' (supported: {supported})")
            fn(self, o)
        for idx, v in enumerate(ops[-1].operands):
            src, dst = self.ref(v), f"y{idx}"
            if src != dst:
                self.body(f"// result {idx}")
                self.body.loop("i", self.size(v, f"result {idx}"))
                self.body(f"{dst}[i] = {src}[i];")
                self.body.close()
        return self.body

    def pipeline(self, out: Lines) -> None:
        """The PIPELINE/ALLOCATION pragmas of a token loop (the strategy and multiplier limit decide)."""
        if self.strategy in UNROLLED and self.function_pipeline:
            out.pragma(f"PIPELINE II={self.rf}")
        if self.mul_limit:
            out.pragma(f"ALLOCATION operation instances=mul limit={self.mul_limit}")

    def write(self, out: Lines, idx: int, token: str) -> None:
        """Push `token` to every stream that result `idx` feeds (fan-out)."""
        for s in self.out_streams[idx]:
            out(f"{s}.write({token});")

    def _token_kernel(self, ops) -> Lines:
        tokens = self.in_layout[0][0] if self.in_layout else self.out_layout[0][0]
        if tokens > 1:
            for a, (_, c) in zip(self.args, self.in_layout):
                self.views[a] = (1, c)
            for r, (_, c) in zip(ops[-1].operands, self.out_layout):
                self.views[r] = (1, c)
        level = 2 if tokens > 1 else 1
        inner = self._print_ops(ops, level)
        out = Lines(1)
        if tokens > 1:
            out.open(f"for (int t = 0; t < {tokens}; t++)")
        self.pipeline(out)
        for i, (t, (_, c)) in enumerate(zip(self.arg_types, self.in_layout)):
            out(f"{token_type(t, c)} x{i} = x{i}_s.read();")
        for i, (t, (_, c)) in enumerate(zip(self.res_types, self.out_layout)):
            out(f"{token_type(t, c)} y{i};")
        out.extend(inner)
        for i in range(len(self.out_layout)):
            self.write(out, i, f"y{i}")
        if tokens > 1:
            out.close()
        return out

    def _gather_kernel(self, ops) -> Lines:
        inner = self._print_ops(ops, 1)
        out = Lines(1)
        self.pipeline(out)
        for i, (t, (n, c)) in enumerate(zip(self.arg_types, self.in_layout)):
            out(f"{t} x{i}[{n * c}];")
        for i, (t, (n, c)) in enumerate(zip(self.res_types, self.out_layout)):
            out(f"{t} y{i}[{n * c}];")
        longest = max(n for n, _ in self.in_layout)
        out("// all inputs in lockstep, token t of each (an input with fewer tokens is done earlier)")
        out.open(f"for (int t = 0; t < {longest}; t++)")
        for i, (t, (n, c)) in enumerate(zip(self.arg_types, self.in_layout)):
            out.open(f"if (t < {n})" if n < longest else "")
            out(f"const {token_type(t, c)} tok = x{i}_s.read();")
            out(f"for (int c = 0; c < {c}; c++) x{i}[{index_expr(('c', n), ('t', 1))}] = tok[c];")
            out.close()
        out.close()
        out.extend(inner)
        for i, (t, (n, c)) in enumerate(zip(self.res_types, self.out_layout)):
            out.open(f"for (int t = 0; t < {n}; t++)")
            out(f"{token_type(t, c)} tok;")
            out(f"for (int c = 0; c < {c}; c++) tok[c] = y{i}[{index_expr(('c', n), ('t', 1))}];")
            self.write(out, i, "tok")
            out.close()
        return out


# --- line-buffered windows ----------------------------------------------------------------------------

class _Window:
    """Geometry of a streamed window op: spatial dims, padded extents, the line buffer."""

    def __init__(self, k: StreamKernelEmitter, op, kernel, strides, dilations, padding):
        x, y = op.operands[0], op.results[0]
        self.xs, self.ys = list(k.shape(x, op, "input")), list(k.shape(y, op, "result"))
        self.n = len(self.xs) - 2
        self.names = list(SPATIAL_SUFFIXES[2 - self.n:])
        self.spatial, self.out = self.xs[2:], self.ys[2:]
        self.kernel, self.strides, self.dilations, self.padding = kernel, strides, dilations, padding
        self.padded = [self.spatial[d] + padding[d] + padding[self.n + d] for d in range(self.n)]
        self.extent = [(kernel[d] - 1) * dilations[d] + 1 for d in range(self.n)]
        self.rows = min(self.extent[0], self.spatial[0])  # buffered along the first spatial dim
        self.channels = self.xs[1]

    def buffer_size(self) -> int:
        return self.rows * math.prod(self.spatial[1:]) * self.channels

    def slot(self, coords: list[str], chan: str) -> str:
        """Line-buffer index of image position `coords` (in range), channel `chan`."""
        first = f"({coords[0]} % {self.rows})" if self.rows < self.spatial[0] else coords[0]
        pos = first if self.n == 1 else index_expr((first, self.spatial[1]), (coords[1], 1))
        return index_expr((f"({pos})" if " " in pos else pos, self.channels), (chan, 1))

    def open(self, k: StreamKernelEmitter, lb: str, in_t: str) -> None:
        """Open the walk over the padded input: read and buffer the token of each image position, then
        open the `if` of a completed window, with `o<s>` the output coordinates."""
        body = k.body
        for d, s in enumerate(self.names):
            body.open(f"for (int p{s} = 0; p{s} < {self.padded[d]}; p{s}++)")
        k.pipeline(body)
        coords, inside = [], []
        for d, s in enumerate(self.names):
            lo = self.padding[d]
            body(f"const int r{s} = p{s}" + (f" - {lo};" if lo else ";"))
            coords.append(f"r{s}")
            if lo or self.padding[self.n + d]:
                inside.append(f"r{s} >= 0 && r{s} < {self.spatial[d]}")
        if inside:  # positions in the zero padding read nothing
            body.open(f"if ({' && '.join(inside)})")
        body(f"const {token_type(in_t, self.channels)} tok = x0_s.read();")
        body(f"for (int c = 0; c < {self.channels}; c++) {lb}[{self.slot(coords, 'c')}] = tok[c];")
        if inside:
            body.close()
        done = []
        for d, s in enumerate(self.names):
            back = self.extent[d] - 1
            body(f"const int q{s} = p{s}" + (f" - {back};" if back else ";"))
            if back:
                done.append(f"q{s} >= 0")
            if self.strides[d] > 1:
                done.append(f"q{s} % {self.strides[d]} == 0")
            if self.padded[d] - self.extent[d] + 1 > (self.out[d] - 1) * self.strides[d] + 1:
                done.append(f"q{s} < {(self.out[d] - 1) * self.strides[d] + 1}")
        body.open(f"if ({' && '.join(done) or 'true'})")
        for d, s in enumerate(self.names):
            q = f"q{s}" if self.strides[d] == 1 else f"q{s} / {self.strides[d]}"
            body(f"const int o{s} = {q};")

    def close(self, k: StreamKernelEmitter) -> None:
        k.body.close()  # the completed-window if
        for _ in self.names:
            k.body.close()


def _line_buffer(k: StreamKernelEmitter, win: _Window, in_t: str) -> str:
    lb = k.fresh("lb")
    k.body(f"// line buffer: the last {win.rows} of {win.spatial[0]} input "
           f"{'rows' if win.n == 2 else 'positions'} x {win.channels} channels")
    k.body(f"{in_t} {lb}[{win.buffer_size()}];")
    return lb


def _conv_window(k: StreamKernelEmitter, op) -> None:
    """fxp.conv per output pixel: the io_parallel printer's window body (kernels.layers.conv_output), reading
    the line buffer."""
    w = op.operands[1]
    ws = list(k.shape(w, op, "weight"))
    strides, dilations, padding = (i64_array(op, n) for n in ("strides", "dilations", "padding"))
    win = _Window(k, op, ws[2:], strides, dilations, padding)
    acc_t = conv_prologue(k, op, win.xs, win.ys)
    in_t, out_t = k.arg_types[0], k.res_types[0]
    lb = _line_buffer(k, win, in_t)
    win.open(k, lb, in_t)
    k.body(f"{token_type(out_t, ws[0])} y0;")
    k.body.loop("f", ws[0])
    conv_output(k, op, acc_t, win.spatial, lambda ins, chan: f"{lb}[{win.slot(ins, chan)}]")
    k.body("y0[f] = acc;")
    k.body.close()
    k.write(k.body, 0, "y0")
    win.close(k)


def _pool_window(k: StreamKernelEmitter, op) -> None:
    """fxp.pool per output pixel, per channel: the io_parallel printer's window body
    (kernels.layers.pool_output), reading the line buffer."""
    k.fmt(op.operands[0], op, "input")
    kind = ir.StringAttr(op.attributes["kind"]).value
    kernel, strides, padding = (i64_array(op, n) for n in ("kernel", "strides", "padding"))
    win = _Window(k, op, kernel, strides, [1] * len(kernel), padding)
    k.body(f"// fxp.pool {kind} {win.xs} window {kernel} strides {strides} padding {padding} -> {win.ys}")
    in_t, out_t = k.arg_types[0], k.res_types[0]
    lb = _line_buffer(k, win, in_t)
    win.open(k, lb, in_t)
    k.body(f"{token_type(out_t, win.channels)} y0;")
    k.body.loop("c", win.channels)
    value = pool_output(k, op, win.spatial, in_t, lambda ins, chan: f"{lb}[{win.slot(ins, chan)}]")
    k.body(f"y0[c] = {value};")
    k.body.close()
    k.write(k.body, 0, "y0")
    win.close(k)


# --- data movement between positions ----------------------------------------------------------------

def _copy_token(k: StreamKernelEmitter, src: str, channels: int) -> None:
    """y0 = the token `src` (each value assigned to the result type, which data movement keeps)."""
    body = k.body
    body(f"{token_type(k.res_types[0], channels)} y0;")
    body(f"for (int c = 0; c < {channels}; c++) y0[c] = {src}[c];")
    k.write(body, 0, "y0")


def _pad_stream(k: StreamKernelEmitter, op) -> None:
    """fxp.pad: y at padded position o is x[o - lo] inside the image, else 0."""
    k.fmt(op.operands[0], op, "input")
    p = i64_array(op, "padding")
    xs, ys = list(k.shape(op.operands[0], op, "input")), list(k.shape(op.results[0], op, "result"))
    n, chans = len(xs) - 2, xs[1]
    names = list(SPATIAL_SUFFIXES[2 - n:])
    body = k.body
    body(f"// fxp.pad {xs} padding {p} -> {ys}: zeros around the image")
    for d, s in enumerate(names):
        body.open(f"for (int o{s} = 0; o{s} < {ys[2 + d]}; o{s}++)")
    k.pipeline(body)
    inside = " && ".join(f"o{s} >= {p[d]} && o{s} < {p[d] + xs[2 + d]}" for d, s in enumerate(names))
    body.open(f"if ({inside})")
    body(f"const {token_type(k.arg_types[0], chans)} tok = x0_s.read();")
    _copy_token(k, "tok", chans)
    body.close(" else {")
    body.level += 1
    body(f"{token_type(k.res_types[0], chans)} y0;")
    body(f"for (int c = 0; c < {chans}; c++) y0[c] = 0;")
    k.write(body, 0, "y0")
    body.close()
    for _ in names:
        body.close()


def _resize_stream(k: StreamKernelEmitter, op) -> None:
    """fxp.resize (nearest): y[.., o] = x[.., o // scale]."""
    k.fmt(op.operands[0], op, "input")
    scales = i64_array(op, "scales")
    xs, ys = list(k.shape(op.operands[0], op, "input")), list(k.shape(op.results[0], op, "result"))
    chans, in_tok = xs[1], token_type(k.arg_types[0], xs[1])
    body = k.body
    body(f"// fxp.resize nearest {xs} scales {scales} -> {ys}")
    if len(xs) == 3:
        body.open(f"for (int iw = 0; iw < {xs[2]}; iw++)")
        body(f"const {in_tok} tok = x0_s.read();")
        body.open(f"for (int rw = 0; rw < {scales[0]}; rw++)")
        k.pipeline(body)
        _copy_token(k, "tok", chans)
        body.close()
        body.close()
        return
    row = k.fresh("row")
    body.open(f"for (int ih = 0; ih < {xs[2]}; ih++)")
    body(f"{in_tok} {row}[{xs[3]}];")
    body.open(f"for (int iw = 0; iw < {xs[3]}; iw++)")
    k.pipeline(body)
    body(f"{row}[iw] = x0_s.read();")
    body.close()
    body.open(f"for (int rh = 0; rh < {scales[0]}; rh++)")
    body.open(f"for (int iw = 0; iw < {xs[3]}; iw++)")
    body.open(f"for (int rw = 0; rw < {scales[1]}; rw++)")
    k.pipeline(body)
    _copy_token(k, f"{row}[iw]", chans)
    for _ in range(4):
        body.close()


# --- the graph (lower.lower_graph calls this for io_stream graphs) ----------------------------------

def lower_stream(design, ops, args, results) -> None:
    """Fill `design` (ports already made) with one stream kernel per df.kernel and the DATAFLOW top body."""
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
        for idx, r, suffix, ctype in kernel_results(design, kname, op, ctypes):
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
