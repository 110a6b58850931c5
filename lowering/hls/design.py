"""The HLS view of a `df.graph`: ports, typedefs, constant arrays and one C++ function per `df.kernel`.

`lower_graph(module)` walks the MLIR once and returns a plain-Python `HlsDesign`; the printers in
`emit_cpp` and `project` only format it.  Every identifier derived from the model goes through
`fxflow.names.c_identifier` with one project-wide `taken` set (pre-seeded with names the generated code
and the C/C++ headers it includes already use), so names are unique and can never inject code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from fxflow.dialects.df.graph import attr
from fxflow.dialects.fxp import format_of
from fxflow.errors import ConfigError, FormatError, IRError, UnsupportedOpError
from fxflow.fixed import FixedFormat
from fxflow.ir import ir
from fxflow.names import c_identifier

from .cwriter import Lines, comment_text
from .flavour import VITIS, Flavour, flavour as _flavour

DEFAULT_PART = "xcvu13p-flga2577-2-e"
DEFAULT_CLOCK_NS = 5.0

# Names the generated code uses itself, plus C/C++ library macros, types and functions that a model
# name must not shadow (a kernel called `errno` or `size_t` would otherwise break the build).
RESERVED = frozenset("""
main fxflow
assert errno NULL EOF FILE stdin stdout stderr offsetof size_t ssize_t ptrdiff_t intptr_t uintptr_t
int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t wchar_t max_align_t nullptr_t
abs labs fabs exp log log2 log10 pow sqrt floor ceil round trunc min max sin cos tan tanh exit abort
malloc free calloc realloc memcpy memset strlen strtod atoi atof printf fprintf sprintf puts rand srand
time clock signal raise system getenv remove rename open close read write
INLINE AP_WEAK AP_INT_MAX_W AP_TRN AP_TRN_ZERO AP_RND AP_RND_ZERO AP_RND_MIN_INF AP_RND_INF AP_RND_CONV
AP_WRAP AP_SAT AP_SAT_ZERO AP_SAT_SYM AP_WRAP_SM ap_q_mode ap_o_mode ap_fixed_base ap_int_base
ap_range_ref ap_bit_ref ap_private ssdm_int
fxam_bits fxam_set fxam_product fxam_msb fxam_shift rom
""".split())

PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class Port:
    """A top-function array argument (one per graph argument / result)."""

    name: str
    ctype: str
    fmt: FixedFormat
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass
class ConstArray:
    """A `static const` weight/bias array in `firmware/weights/<name>.h` with exact hex-float values."""

    name: str
    ctype: str
    fmt: FixedFormat
    shape: tuple[int, ...]
    values: list[int]  # stored integers, row-major
    kernel: str
    role: str
    header: str  # path relative to firmware/

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass
class KernelFn:
    """One `df.kernel` as a C++ function `void name(const in_t x0[..], ..., out_t y0[..], ...)`."""

    name: str
    layer: str
    reuse_factor: int
    strategy: str
    params: list[str]  # C parameter declarations, inputs first
    body: Lines
    consts: list[ConstArray]
    source: str  # path relative to firmware/

    @property
    def signature(self) -> str:
        return f"void {self.name}({', '.join(self.params)})"


@dataclass
class HlsDesign:
    top: str
    io_type: str
    part: str
    clock_period: float
    graph_name: str
    inputs: list[Port] = field(default_factory=list)
    outputs: list[Port] = field(default_factory=list)
    typedefs: list[tuple[str, str, FixedFormat]] = field(default_factory=list)  # (group, name, fmt)
    kernels: list[KernelFn] = field(default_factory=list)
    top_body: Lines = field(default_factory=lambda: Lines(1))
    taken: set[str] = field(default_factory=lambda: set(RESERVED))
    flavour: Flavour = VITIS  # type spelling, includes, testbench and build script (flavour.py)
    streaming: bool = False  # io_stream pixel streams (stream.py): stream ports, stream kernels
    multipliers: dict[str, tuple] = field(default_factory=dict)  # approximate multipliers: name -> (ident, C++)
    product_types: dict = field(default_factory=dict)  # (kernel, multiplier) -> product typedef (approx.py)
    _stems: set[str] = field(default_factory=set)

    def ident(self, name: str, prefix: str = "l") -> str:
        return c_identifier(name, self.taken, prefix=prefix)

    def typedef(self, hint: str, fmt: FixedFormat, group: str) -> str:
        name = self.ident(f"{hint}_t")
        self.typedefs.append((group, name, fmt))
        return name

    def stem(self, name: str) -> str:
        """A file stem unique even on case-insensitive file systems."""
        stem, n = name, 1
        while stem.casefold() in self._stems:
            n += 1
            stem = f"{name}_{n}"
        self._stems.add(stem.casefold())
        return stem

    @property
    def signature(self) -> str:
        if self.streaming:  # io_stream: stream ports (stream.py)
            from .stream import top_signature

            return top_signature(self)
        params = [f"const {p.ctype} {p.name}[{p.size}]" for p in self.inputs]
        params += [f"{p.ctype} {p.name}[{p.size}]" for p in self.outputs]
        return f"void {self.top}({', '.join(params)})"

    @property
    def max_reuse(self) -> int:
        return max((k.reuse_factor for k in self.kernels), default=1)


# --- small IR helpers ---------------------------------------------------------------------------

def shape_of(value, where: str) -> tuple[int, ...]:
    t = value.type
    if not isinstance(t, ir.RankedTensorType):
        raise UnsupportedOpError(f"HLS emitter: {where} is not a ranked tensor ({t})")
    shape = tuple(ir.RankedTensorType(t).shape)
    if any(d < 0 for d in shape):
        raise UnsupportedOpError(f"HLS emitter: {where} has a dynamic shape ({t}); static shapes are required")
    if any(d == 0 for d in shape):
        raise UnsupportedOpError(f"HLS emitter: {where} has an empty shape ({t})")
    return shape


def fixed_format(value_or_type, where: str) -> FixedFormat:
    t = value_or_type if isinstance(value_or_type, ir.Type) else value_or_type.type
    try:
        fmt = format_of(t)
    except FormatError as e:
        raise IRError(f"HLS emitter: {where}: {e}") from None
    if fmt is None:
        raise UnsupportedOpError(
            f"HLS emitter: {where} is a float tensor ({t}); run fxp-assign-precision (all tensors fixed-point) "
            "before emitting HLS")
    return fmt


def block_ops(op):
    return list(op.regions[0].blocks[0].operations)


def find_graph(module):
    """The single `df.graph` of a module (an `ir.Module`, a builtin.module op, or the graph itself)."""
    mop = module.operation
    if mop.name == "df.graph":
        return None, mop
    if mop.name != "builtin.module":
        raise IRError(f"HLS emitter: expected a builtin.module holding a df.graph, got '{mop.name}'")
    graphs = [o for o in mop.regions[0].blocks[0].operations if o.operation.name == "df.graph"]
    if len(graphs) != 1:
        raise IRError(f"HLS emitter: the module must hold exactly one df.graph, found {len(graphs)} "
                      "(lower the model to the df dialect first)")
    return mop, graphs[0].operation


def design_attr(mop, graph, name: str):
    for op in (mop, graph):
        if op is not None and name in op.attributes:
            return op.attributes[name]
    return None


def _part(value: str | None, mop, graph) -> str:
    if value is None:
        attr = design_attr(mop, graph, "fxflow.part")
        value = ir.StringAttr(attr).value if attr is not None else DEFAULT_PART
    if not PART_RE.match(value):
        raise ConfigError(f"FPGA part '{comment_text(value)}' is not a valid part name (letters, digits, '-', '_', '.')")
    return value


def _clock(value, mop, graph) -> float:
    if value is None:
        attr = design_attr(mop, graph, "fxflow.clock_period")
        if attr is None:
            value = DEFAULT_CLOCK_NS
        elif isinstance(attr, ir.FloatAttr):
            value = ir.FloatAttr(attr).value
        elif isinstance(attr, ir.IntegerAttr):
            value = ir.IntegerAttr(attr).value
        else:
            raise ConfigError(f"fxflow.clock_period must be a number of ns, got {attr}")
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
    from .kernels import KernelEmitter

    mop, graph = find_graph(module)
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

    # --- io_stream hook: pixel-stream channels become hls::stream kernels (stream.py) ---
    from .stream import is_pixel_stream, lower_stream

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
        for idx, r in enumerate(op.results):
            suffix = "" if len(op.results) == 1 else f"_{idx}"
            ctype = result_typedef(design, kname, op, idx)
            ctypes[r] = ctype
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


def result_typedef(design: HlsDesign, kname: str, op, idx: int) -> str:
    """The typedef of result `idx` of kernel `kname` (`<kernel>_result[_<idx>]`)."""
    suffix = "" if len(op.results) == 1 else f"_{idx}"
    fmt = fixed_format(op.results[idx], f"result {idx} of kernel '{kname}'")
    return design.typedef(f"{kname}_result{suffix}", fmt, f"kernel {kname}")


def top_pragmas(design: HlsDesign, body: Lines) -> None:
    """Interface and partitioning pragmas of the top-level ports, then the schedule pragma."""
    if design.streaming:  # io_stream: axis ports, DATAFLOW (stream.py)
        from .stream import top_pragmas as stream_pragmas

        stream_pragmas(design, body)
        return
    for p in design.inputs:
        body.pragma(f"INTERFACE mode=ap_vld port={p.name}")
        body.pragma(f"ARRAY_RESHAPE variable={p.name} complete dim=0")
    for p in design.outputs:
        body.pragma(f"INTERFACE mode=ap_vld port={p.name}")
        body.pragma(f"ARRAY_PARTITION variable={p.name} complete dim=0")
    body.pragma(top_schedule_pragma(design))


def top_schedule_pragma(design: HlsDesign) -> str:
    """PIPELINE for io_parallel designs whose kernels are all `latency`, DATAFLOW otherwise."""
    if design.io_type == "io_parallel" and all(k.strategy == "latency" for k in design.kernels):
        rf = design.max_reuse
        return "PIPELINE" if rf == 1 else f"PIPELINE II={rf}"
    return "DATAFLOW"
