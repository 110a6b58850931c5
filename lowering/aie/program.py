"""`AieProgram`: a placed AIE-ML design as plain Python — what the mlir-aie emitter prints, the structural
checker validates and the functional simulator executes (one object, so the three cannot drift apart).

Coordinates are (col, row) as in `aie.tile(col, row)`.  FIFO and buffer sizes are in elements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fxflow.fixed import FixedFormat

from fxflow.lowering.aie.device import Device

Coord = tuple[int, int]


@dataclass
class Buffer:
    name: str
    tile: Coord
    store: str  # i8/u8/i16/u16/i32/i64
    shape: tuple[int, ...]
    data: np.ndarray | None = None  # initial value (resident weights / bias)
    bank: int | None = None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * (int(self.store.lstrip("iu")) // 8)


@dataclass
class Fifo:
    """`aie.objectfifo @name(producer, {consumers}, depth)` of `size` elements of `store`."""

    name: str
    producer: Coord
    consumers: list[Coord]
    depth: int
    store: str
    shape: tuple[int, ...]
    # `dimensionsToStream` of the producer (a memory tile): (size, stride) pairs in elements, outermost first;
    # the consumers receive the producer's buffer in this order (a feature-map re-layout), [] = as stored
    dims: list[tuple[int, int]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def stream_order(self) -> np.ndarray:
        """Indices into the producer's buffer in the order the consumers receive them (`dims`)."""
        idx = np.zeros(1, dtype=np.int64)
        for size, stride in self.dims:
            idx = (idx[:, None] + np.arange(size, dtype=np.int64)[None, :] * stride).ravel()
        return idx if self.dims else np.arange(self.size, dtype=np.int64)

    @property
    def nbytes(self) -> int:
        return self.size * (int(self.store.lstrip("iu")) // 8)


@dataclass
class Link:
    """`aie.objectfifo.link [srcs] -> [dsts] (src_offsets dst_offsets)` in a memory tile: a join (several
    sources at element offsets into one destination) or a distribute (one source split at offsets)."""

    srcs: list[str]
    dsts: list[str]
    src_offsets: list[int]
    dst_offsets: list[int]
    memtile: Coord


@dataclass
class KernelFn:
    """One external kernel function (`func.func private @name`): one per layer and cascade role."""

    name: str
    layer: str
    role: str  # single / first / middle / last
    mode: str
    m: int
    k: int
    n: int
    x_store: str
    w_store: str
    y_store: str
    acc_bits: int
    epilogue: list  # arith.Srs | "relu"
    obj: str  # object file for link_with
    row: "RowTile | None" = None  # row roles (cost.ROW_ROLES): the row op's parameters and row layout
    params: object = None  # other roles (conv, pool, add, ...): the family's parameters (its simulate executor's)
    w_shape: tuple[int, ...] | None = None  # the weight buffer's shape when it is not (k, n)


@dataclass
class RowTile:
    """A row kernel on one tile (roles `cost.ROW_ROLES`: an HCCS softmax, a LayerNorm, a table softmax): it
    reads its dense layer's chains joined slice-major ([slices][M][slice_len], as the output host port lays them
    out), runs one row of the `n` real features at a time and writes the same layout (padding lanes 0)."""

    spec: object  # fxflow.fixed.hccs.HccsSpec (one parameter set) / LayerNormSpec / TableSoftmaxSpec
    n: int
    slices: int
    slice_len: int


@dataclass(frozen=True)
class LayerNormSpec:
    """`fxp.layernorm` over the last dim on stored integers (`fxflow.fixed.layernorm.layernorm`); gamma / beta
    are resident in the tile's memory (buffers `<ident>_g`, `<ident>_b`)."""

    x: FixedFormat
    gamma: np.ndarray
    g_fmt: FixedFormat
    beta: np.ndarray
    b_fmt: FixedFormat
    formats: object  # fxflow.fixed.layernorm.NormFormats
    epsilon: float
    rms: bool
    out: FixedFormat


@dataclass(frozen=True)
class TableSoftmaxSpec:
    """A table `fxp.softmax` (stable / latency, `fxflow.fixed.softmax.softmax`) over the last dim; the exp table
    (already assigned to the accumulator format) and the inverse table are resident in the tile's memory."""

    x: FixedFormat
    out: FixedFormat
    implementation: str
    formats: object  # fxflow.fixed.softmax.SoftmaxFormats
    exp_acc: np.ndarray  # exp entries assigned to formats.accum
    inv: np.ndarray


@dataclass
class Core:
    tile: Coord
    fn: str
    layer: str
    chain: int  # output-feature slice index
    column: int  # input-feature slice index
    x_fifo: str
    weights: str
    bias: str | None = None
    y_fifo: str | None = None
    inputs: list[str] = field(default_factory=list)  # further input FIFOs after x_fifo (a DAG node's operands)
    tables: list[str] = field(default_factory=list)  # a row kernel's resident buffers (gamma/beta, exp/inv tables)

    @property
    def in_fifos(self) -> list[str]:
        """Every FIFO the core reads, in kernel argument order."""
        return [self.x_fifo, *self.inputs]


@dataclass
class HostPort:
    """A host-side transfer: graph input rows [M, features] sliced into `slices` consecutive feature slices
    of `slice_len` each, moved by shim DMA channel (`shim`, `channel`) through FIFO `fifo`."""

    fifo: str
    shim: Coord
    channel: int
    first_slice: int
    slices: int
    slice_len: int
    plio: bool = False  # a PLIO stream port to/from the PL (`channel` is the port on the shim column) instead of DDR
    # a feature map (C, H, W, Cp): the host moves each sample channels-last ([H][W][Cp], channels zero-padded to
    # Cp) instead of feature slices; the graph's tensor is channels-first [C, H, W]
    fmap: tuple[int, int, int, int] | None = None
    # a feature map sent in row bands [i0, i1) (the input rows and halo of each tile of a row-split reader): the
    # host sends each band's rows channels-last, one band after the other (overlapping rows twice); [] = once whole
    rows: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class LayerPlan:
    name: str
    layer: str
    K: int
    N: int
    cas_length: int
    cas_num: int
    k_slice: int
    n_slice: int
    anchor: Coord  # west-most column, first chain's row
    mode: str
    interval: int
    latency: int
    macs: int  # real multiply-accumulates per batch of M rows (without padding)
    kind: str = "dense"  # dense / hccs, or a feature-map layer (conv / pool / add: interval and latency as planned)


@dataclass
class AieProgram:
    device: Device
    name: str
    batch: int  # M: rows per kernel call (padded batch)
    in_features: int
    out_features: int
    in_fmt: FixedFormat
    out_fmt: FixedFormat
    in_store: str
    out_store: str
    kernels: list[KernelFn] = field(default_factory=list)
    buffers: list[Buffer] = field(default_factory=list)
    fifos: list[Fifo] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    cascades: list[tuple[Coord, Coord]] = field(default_factory=list)
    cores: list[Core] = field(default_factory=list)
    inputs: list[HostPort] = field(default_factory=list)
    outputs: list[HostPort] = field(default_factory=list)
    layers: list[LayerPlan] = field(default_factory=list)
    tokens: int = 1  # rows per sample ([batch, tokens, features] models run each token as one row)

    def fifo(self, name: str) -> Fifo:
        for f in self.fifos:
            if f.name == name:
                return f
        raise KeyError(name)

    def buffer(self, name: str) -> Buffer:
        for b in self.buffers:
            if b.name == name:
                return b
        raise KeyError(name)

    def kernel(self, name: str) -> KernelFn:
        for k in self.kernels:
            if k.name == name:
                return k
        raise KeyError(name)

    def layer_kernels(self, plan: "LayerPlan") -> list[KernelFn]:
        """The kernel functions of one planned layer: those of its object file (several layers of one source
        layer, e.g. an attention block's kernels, share its name), else those of its source layer."""
        own = [k for k in self.kernels if k.obj == f"{plan.name}.o"]
        return own or [k for k in self.kernels if k.layer == plan.layer]

    def tiles(self) -> list[Coord]:
        """Every tile the program uses, sorted (shim, memory and compute)."""
        used = {c.tile for c in self.cores} | {b.tile for b in self.buffers}
        for f in self.fifos:
            used.add(f.producer)
            used.update(f.consumers)
        used.update(link.memtile for link in self.links)
        return sorted(used)
