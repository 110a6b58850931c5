"""The HLS view of a `df.graph`: ports, typedefs, constant arrays and one C++ function per `df.kernel`.

`lower.lower_graph(module)` walks the MLIR once and returns a plain-Python `HlsDesign` (defined here, with
the helpers the kernel printers share); the printers in `emit_cpp` and `project` only format it.  Every identifier derived from the model goes through
`fxflow.names.c_identifier` with one project-wide `taken` set (pre-seeded with names the generated code
and the C/C++ headers it includes already use), so names are unique and can never inject code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from fxflow.dialects.df import UNROLLED
from fxflow.dialects.fxp import format_of
from fxflow.errors import FormatError, IRError, UnsupportedOpError
from fxflow.fixed import FixedFormat
from fxflow.ir import ir
from fxflow.names import c_identifier

from .cwriter import Lines
from .flavour import VITIS, Flavour


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


def design_attr(mop, graph, name: str):
    for op in (mop, graph):
        if op is not None and name in op.attributes:
            return op.attributes[name]
    return None


def kernel_results(design: HlsDesign, kname: str, op, ctypes: dict):
    """Each result of kernel `kname` as (idx, value, suffix, typedef): `<kernel>_result<suffix>_t`, recorded in
    `ctypes` (value -> C type) for its readers.  Lazy, so the caller's own names for result `idx` are taken
    before result `idx + 1`'s typedef (the io_parallel and io_stream top functions share this rule)."""
    for idx, r in enumerate(op.results):
        suffix = "" if len(op.results) == 1 else f"_{idx}"
        fmt = fixed_format(r, f"result {idx} of kernel '{kname}'")
        ctypes[r] = design.typedef(f"{kname}_result{suffix}", fmt, f"kernel {kname}")
        yield idx, r, suffix, ctypes[r]


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
    if design.io_type == "io_parallel" and all(k.strategy in UNROLLED for k in design.kernels):
        rf = design.max_reuse
        return "PIPELINE" if rf == 1 else f"PIPELINE II={rf}"
    return "DATAFLOW"
