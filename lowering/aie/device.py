"""AI Engine device models: array geometry, tile kinds and the per-tile resource limits the checker enforces.

Coordinates are mlir-aie's `aie.tile(col, row)`: row 0 is the shim row, then memory-tile rows, then compute
rows.  Numbers from /work/shared/reference/aie-ml.md §1-2 (AM020, UG1603) and mlir-aie's target models
(`AIETargetModel.h`: VE2802, the virtualized NPU1 models, NPU2 and its column variants).  One table row per
`aie.device(...)` name fxflow writes, so aie-opt's "column index must be less than the number of columns" and
shim-DMA rules hold by construction of the placement.
"""

from __future__ import annotations

from dataclasses import dataclass

from fxflow.errors import ConfigError, FxflowError


class AieFitError(FxflowError):
    """A model that does not fit the chosen device (tiles, memory, DMA channels); says needed vs available."""


@dataclass(frozen=True)
class Device:
    name: str
    cols: int
    rows: int  # total rows including shim and memory-tile rows
    shim_dma_cols: tuple[int, ...]  # row-0 tiles with a NoC shim DMA
    mem_rows: tuple[int, ...]
    compute_rows: tuple[int, ...]
    clock_ghz: float = 1.25
    tile_memory: int = 64 * 1024
    bank_bytes: int = 16 * 1024  # weights of one kernel must fit one bank (AIE4ML rule)
    stack_bytes: int = 1024
    tile_dma: tuple[int, int] = (2, 2)  # (S2MM, MM2S)
    tile_bds: int = 16
    tile_locks: int = 16
    memtile_memory: int = 512 * 1024
    memtile_dma: tuple[int, int] = (6, 6)
    memtile_bds: int = 48
    memtile_locks: int = 64
    shim_dma: tuple[int, int] = (2, 2)
    stream_bytes_per_cycle: int = 4  # 32-bit stream switch ports and shim DMA channels
    int8_macs: int = 256  # int8 x int8 MAC/cycle; the peak halves as an operand width doubles
    # PLIO stream ports per shim column (PL -> AIE, AIE -> PL); 0: no PL.  mlir-aie numbers the PLIO ports of
    # `{plio = true}` object FIFOs like the shim's DMA channels, two per direction and column.
    plio: tuple[int, int] = (0, 0)
    plio_bits: int = 128  # PLIO width at the PL clock (aie4ml: 128 bit at 312.5 MHz = 4 B per AIE cycle)
    shim_locks: int = 16
    # (dcol, drow) from a cascade source to its destination: AIE-ML's accumulator cascade runs west -> east
    # along a row and north -> south down a column (AM020); mlir-aie's verifier only asks for neighbours.
    cascade_steps: tuple[tuple[int, int], ...] = ((1, 0), (0, -1))
    arch: str = "aie2"  # the core architecture: "aie2" (AIE-ML: xcve2802, npu1) or "aie2p" (npu2); its mmul shapes

    @property
    def aie_arch_macro(self) -> int:
        """The AIE API's `__AIE_ARCH__` value for the core (20 AIE-ML, 21 AIE2P)."""
        return {"aie2": 20, "aie2p": 21}[self.arch]

    @property
    def compute_tiles(self) -> int:
        return self.cols * len(self.compute_rows)

    def io_ports(self, io: str, window: range) -> tuple[tuple[int, ...], tuple[int, int]]:
        """The shim columns in `window` that can carry graph I/O, and the ports per column indexed by direction
        (0 S2MM = out, 1 MM2S = in): shim DMA channels (`io="host"`) or PLIO ports (`io="plio"`, any column)."""
        if io == "plio":
            if not any(self.plio):
                raise AieFitError(f"{self.name} has no PLIO ports (no programmable logic next to the array)")
            return tuple(window), (self.plio[1], self.plio[0])
        return tuple(c for c in self.shim_dma_cols if c in window), self.shim_dma

    def kind(self, col: int, row: int) -> str:
        """'shim', 'mem', 'compute' or '' (outside the array)."""
        if not (0 <= col < self.cols and 0 <= row < self.rows):
            return ""
        if row == 0:
            return "shim"
        if row in self.mem_rows:
            return "mem"
        return "compute" if row in self.compute_rows else ""


class IoPorts:
    """The device's graph I/O ports in a column window (`Device.io_ports`), handed out nearest column first: one
    rule for every builder, so the placement and the programs agree on who uses which port."""

    def __init__(self, device: Device, io: str, window: range):
        self.io = io
        self.cols, self.per_col = device.io_ports(io, window)
        self.used: dict = {}  # (col, direction) -> ports taken

    def take(self, col: int, direction: int) -> tuple[tuple[int, int], int]:
        """The shim tile nearest `col` with a free port in `direction` (0 S2MM = out, 1 MM2S = in), and the port."""
        for c in sorted(self.cols, key=lambda c: (abs(c - col), c)):
            n = self.used.get((c, direction), 0)
            if n < self.per_col[direction]:
                self.used[(c, direction)] = n + 1
                return (c, 0), n
        raise AieFitError(f"every {'PLIO port' if self.io == 'plio' else 'shim DMA channel'} is in use")


def _npu(name: str, cols: int, arch: str = "aie2") -> Device:
    """An NPU array (no PL): shim, one memory-tile row, four compute rows; every shim tile has a NoC DMA.
    `npu1` is mlir-aie's 4-column virtualized Phoenix model (column 0 an ordinary shim-DMA column, not the old
    5-column part whose column 0 had no shim DMA); `npu1_<n>col` / `npu2_<n>col` are its column subsets."""
    return Device(name, cols, 6, tuple(range(cols)), (1,), (2, 3, 4, 5), arch=arch)


DEVICES = {
    "xcve2802": Device("xcve2802", 38, 11, (2, 3, 6, 7, 14, 15, 22, 23, 30, 31, 34, 35), (1, 2),
                       tuple(range(3, 11)), plio=(2, 2)),
    "npu1": _npu("npu1", 4),
    **{f"npu1_{n}col": _npu(f"npu1_{n}col", n) for n in (1, 2, 3)},
    "npu2": _npu("npu2", 8, "aie2p"),
    **{f"npu2_{n}col": _npu(f"npu2_{n}col", n, "aie2p") for n in range(1, 8)},
}
DEFAULT_DEVICE = "xcve2802"


def get_device(name: str) -> Device:
    if name not in DEVICES:
        raise ConfigError(f"unknown AIE device '{name}' (available: {', '.join(DEVICES)})")
    return DEVICES[name]
