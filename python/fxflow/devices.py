"""FPGA parts the estimator knows: resource totals, DSP shape and the timing figures of the model.

A part is matched by its device prefix (`xcvu9p-flga2104-2L-e` -> `xcvu9p`), so any package / speed
grade of a listed device works; anything else is a clear error listing the known devices (the estimator
never guesses a device).  Resource totals are the vendor data-sheet figures (DS890 UltraScale,
DS180 7-series, DS957 Alveo U55C).  Block RAM is counted in 18 Kb halves (BRAM18), UltraRAM in 288 Kb blocks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class Family:
    """Per-family constants of the estimator's model (see docs/estimates.md)."""

    name: str
    dsp_a: int  # DSP multiplier port widths (signed): 27x18 (DSP48E2), 25x18 (DSP48E1)
    dsp_b: int
    t_dsp: float  # ns: an unregistered DSP multiply
    t_lut_mul: float  # ns: a LUT multiplier, base ...
    t_lut_mul_bit: float  # ... plus this per operand bit (wx + ww)
    t_add: float  # ns: one adder level, base ...
    t_add_bit: float  # ... plus this per bit of the sum (carry chain)
    min_period: float  # ns: faster clocks are outside what the model (and the fabric) supports
    max_period: float = 1000.0


ULTRASCALE_PLUS = Family("UltraScale+", 27, 18, 2.0, 0.4, 0.06, 0.2, 0.015, 1.0)
ULTRASCALE = Family("UltraScale", 27, 18, 2.4, 0.5, 0.07, 0.25, 0.018, 1.2)
SERIES7 = Family("7-series", 25, 18, 3.0, 0.6, 0.09, 0.3, 0.022, 2.0)


@dataclass(frozen=True)
class Device:
    name: str  # device prefix, e.g. "xcvu9p"
    description: str
    family: Family
    dsp: int
    lut: int
    ff: int
    bram18: int
    uram: int

    def totals(self) -> dict[str, int]:
        return {"dsp": self.dsp, "lut": self.lut, "ff": self.ff, "bram18": self.bram18, "uram": self.uram}


DEVICES: dict[str, Device] = {d.name: d for d in (
    Device("xcvu9p", "Virtex UltraScale+ VU9P (hls4ml jet-tagger reference part)", ULTRASCALE_PLUS,
           6840, 1_182_240, 2_364_480, 4320, 960),
    Device("xcvu13p", "Virtex UltraScale+ VU13P (fxflow's default part)", ULTRASCALE_PLUS,
           12288, 1_728_000, 3_456_000, 5376 * 2, 1280),
    Device("xcu250", "Alveo U250 (VU13P-class)", ULTRASCALE_PLUS, 12288, 1_728_000, 3_456_000, 5376 * 2, 1280),
    Device("xcu55c", "Alveo U55C", ULTRASCALE_PLUS, 9024, 1_303_680, 2_607_360, 2016 * 2, 960),
    Device("xczu9eg", "Zynq UltraScale+ ZU9EG", ULTRASCALE_PLUS, 2520, 274_080, 548_160, 912 * 2, 0),
    Device("xcku115", "Kintex UltraScale KU115", ULTRASCALE, 5520, 663_360, 1_326_720, 2160 * 2, 0),
    Device("xc7a100t", "Artix-7 100T", SERIES7, 240, 63_400, 126_800, 135 * 2, 0),
    Device("xc7z020", "Zynq-7000 Z-7020", SERIES7, 220, 53_200, 106_400, 140 * 2, 0),
)}

# The part and clock a design gets when neither the config nor the module names one (HLS, RTL, estimates).
DEFAULT_PART = "xcvu13p-flga2577-2-e"
DEFAULT_CLOCK_NS = 5.0

_PART_RE = re.compile(r"^([a-z0-9]+?)(?:[-_].*)?$")


def device_for(part: str) -> Device:
    """The device of a part name (case-insensitive; any package / speed grade); ConfigError if unknown."""
    if not isinstance(part, str) or not part.strip():
        raise ConfigError(f"FPGA part must be a part name such as 'xcvu9p-flga2104-2L-e', got {part!r}")
    key = part.strip().lower()
    m = _PART_RE.match(key)
    prefix = m.group(1) if m else key
    dev = DEVICES.get(prefix)
    if dev is None:
        # 'xcvu9p' written with a package glued on without a dash ('xcvu9pflga2104') still fails clearly
        known = ", ".join(sorted(DEVICES))
        raise ConfigError(f"the estimator does not know the FPGA part '{part}' (device '{prefix}'); "
                          f"known devices: {known} (any package and speed grade)")
    return dev


_CLOCK_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*(ns|mhz|ghz)?\s*$", re.I)


def clock_period(value, device: Device) -> float:
    """A clock as a period in ns (see `parse_clock`), checked against the range the device family's timing
    model covers."""
    period = parse_clock(value)
    fam = device.family
    if not fam.min_period <= period <= fam.max_period:
        raise ConfigError(f"a {period:g} ns clock ({1e3 / period:.4g} MHz) is outside what the estimator models "
                          f"for {fam.name} ({fam.min_period:g}-{fam.max_period:g} ns)")
    return period


def parse_clock(value) -> float:
    """A clock as a period in ns: a number (ns) or a string '5', '5ns', '200MHz', '0.5GHz'."""
    if isinstance(value, bool):
        raise ConfigError(f"clock must be a period in ns or a frequency such as '200MHz', got {value!r}")
    if isinstance(value, (int, float)):
        period = float(value)
    else:
        m = _CLOCK_RE.match(str(value))
        if not m:
            raise ConfigError(f"clock must be a period in ns or a frequency such as '200MHz', got {value!r}")
        number, unit = float(m.group(1)), (m.group(2) or "ns").lower()
        if number <= 0:
            raise ConfigError(f"clock must be positive, got {value!r}")
        period = number if unit == "ns" else 1e3 / number if unit == "mhz" else 1.0 / number
    if not math.isfinite(period) or period <= 0:
        raise ConfigError(f"clock period must be a positive number of ns, got {value!r}")
    return period


def bram18_for(width: int, depth: int) -> int:
    """BRAM18 blocks for a width x depth memory: the cheapest 18 Kb aspect ratio (16Kx1 ... 512x36)."""
    if width <= 0 or depth <= 0:
        return 0
    best = None
    for w, d in ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)):
        n = math.ceil(width / w) * math.ceil(depth / d)
        best = n if best is None else min(best, n)
    return best
