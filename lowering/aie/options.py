"""`AieOptions`: the `aie={...}` dict of `fxflow.compile(backend="aie")`; its defaults are the CLI's and the
aie-partition pass's (one place)."""

from __future__ import annotations

from dataclasses import dataclass

from fxflow.lowering.aie.device import DEFAULT_DEVICE, get_device
from fxflow.config import options_from_dict


@dataclass
class AieOptions:
    device: str = DEFAULT_DEVICE
    batch: int = 8  # rows per AIE kernel call
    objective: str = "throughput"  # or "resource" (fewest tiles)
    max_tiles: int = 0  # 0: every compute tile

    @classmethod
    def from_dict(cls, data) -> "AieOptions":
        opts = options_from_dict(cls, data, "aie")
        get_device(opts.device)
        return opts
