"""AI Engine device models: array geometry, tile kinds and the per-tile resource limits the checker enforces.

Coordinates are mlir-aie's `aie.tile(col, row)`: row 0 is the shim row, then memory-tile rows, then compute
rows.  Numbers from /work/shared/reference/aie-ml.md §1-2 (AM020, UG1603, mlir-aie `AIETargetModel`).
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

    @property
    def compute_tiles(self) -> int:
        return self.cols * len(self.compute_rows)

    def kind(self, col: int, row: int) -> str:
        """'shim', 'mem', 'compute' or '' (outside the array)."""
        if not (0 <= col < self.cols and 0 <= row < self.rows):
            return ""
        if row == 0:
            return "shim"
        if row in self.mem_rows:
            return "mem"
        return "compute" if row in self.compute_rows else ""


DEVICES = {
    "xcve2802": Device("xcve2802", 38, 11, (2, 3, 6, 7, 14, 15, 22, 23, 30, 31, 34, 35), (1, 2),
                       tuple(range(3, 11)), plio=(2, 2)),
    "npu1": Device("npu1", 5, 6, (1, 2, 3, 4), (1,), (2, 3, 4, 5)),
    "npu2": Device("npu2", 8, 6, tuple(range(8)), (1,), (2, 3, 4, 5)),
}
DEFAULT_DEVICE = "xcve2802"


def get_device(name: str) -> Device:
    if name not in DEVICES:
        raise ConfigError(f"unknown AIE device '{name}' (available: {', '.join(DEVICES)})")
    return DEVICES[name]
