"""Versal devices as one PL part and one AI Engine array joined by PLIO streams.

PL totals of the VE2802 are the AI Edge product-table figures (DSP58 engines, CLB LUTs/FFs, 36 Kb block
RAMs counted as two BRAM18); the estimator models its PL with the UltraScale+ timing family (a DSP58 is
costed as a 27x18 DSP48E2, which is conservative).  PLIO: 128-bit AXI4-Stream at 312.5 MHz, the aie4ml
default (aie-ml.md §1), i.e. 4 B per AIE cycle like a shim DMA channel; two ports per direction and shim
column (`fxflow.lowering.aie.device.Device.plio`: mlir-aie numbers `{plio = true}` object-FIFO ports like the shim's
DMA channels), lowered further with the `max_plio` option.
"""

from __future__ import annotations

from dataclasses import dataclass

from fxflow.lowering.aie.device import Device as AieDevice
from fxflow.lowering.aie.device import get_device as get_aie_device
from fxflow.devices import ULTRASCALE_PLUS
from fxflow.devices import Device as PlDevice
from fxflow.errors import ConfigError


@dataclass(frozen=True)
class VersalDevice:
    name: str
    pl: PlDevice
    aie: AieDevice
    plio_mhz: float = 312.5

    @property
    def plio_in(self) -> int:
        """PL -> AIE stream ports of the whole array (`aie.plio` per shim column)."""
        return self.aie.plio[0] * self.aie.cols

    @property
    def plio_out(self) -> int:
        return self.aie.plio[1] * self.aie.cols


VERSAL_DEVICES = {
    "xcve2802": VersalDevice(
        "xcve2802",
        PlDevice("xcve2802", "Versal AI Edge VE2802 (VEK280) programmable logic", ULTRASCALE_PLUS,
                 1312, 520_704, 1_041_408, 600 * 2, 264),
        get_aie_device("xcve2802")),
}


def get_versal_device(name: str) -> VersalDevice:
    if name not in VERSAL_DEVICES:
        raise ConfigError(f"unknown Versal device '{name}' (available: {', '.join(VERSAL_DEVICES)})")
    return VERSAL_DEVICES[name]
