"""Open-tool resource counts: yosys `synth_xilinx` on the emitted SystemVerilog.

yosys is not Vivado: its LUT/FF/DSP/CARRY/BRAM counts are a consistent, open yardstick of the same
Verilog, not vendor post-route figures.  Hierarchy is kept, so every kernel module is counted on its own;
the top's own cells (valid shift register, delay registers, input control) are reported as "top".
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from fxflow.errors import ConfigError, ToolchainError

FAMILIES = ("xcup", "xcu", "xc7", "xc7s", "xc6s")  # synth_xilinx -family values fxflow accepts
RESOURCES = ("lut", "ff", "dsp", "carry", "bram18", "muxf")
SYNTH_TIMEOUT = 3600.0


def find_yosys() -> str:
    exe = shutil.which("yosys")
    if exe is None:
        raise ToolchainError("yosys is not installed (apt-get install -y yosys, or run scripts/setup.sh as root); "
                             "synth needs it")
    return exe


def _classify(cell: str) -> str | None:
    if cell.startswith("LUT") and cell[3:].isdigit():
        return "lut"
    if cell.startswith("FD"):
        return "ff"
    if cell.startswith("DSP"):
        return "dsp"
    if cell.startswith("CARRY"):
        return "carry"
    if cell.startswith("MUXF"):
        return "muxf"
    if cell.startswith("RAMB18"):
        return "bram18"
    if cell.startswith("RAMB36"):
        return "bram36"
    if cell.startswith("RAM") or cell.startswith("SRL"):
        return "lut"  # distributed RAM / shift registers live in LUTs
    return None


def counts(cells: dict[str, int]) -> dict[str, int]:
    """Resource counts from one module's `num_cells_by_type` (RAMB36 = 2 BRAM18)."""
    out = dict.fromkeys(RESOURCES, 0)
    for cell, n in cells.items():
        kind = _classify(cell)
        if kind == "bram36":
            out["bram18"] += 2 * n
        elif kind is not None:
            out[kind] += n
    return out


def synth(verilog: str, top: str, family: str = "xcup", verbose: bool = True,
          timeout: float = SYNTH_TIMEOUT) -> dict:
    """{"modules": {module: counts}, "total": counts, "seconds": s, "family": family}."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown part family '{family}' for synth_xilinx (available: {', '.join(FAMILIES)})")
    exe = find_yosys()
    with tempfile.TemporaryDirectory(prefix="fxflow-yosys-") as tmp:
        src, stat = Path(tmp) / f"{top}.sv", Path(tmp) / "stat.json"
        src.write_text(verilog)
        script = (f"read_verilog -sv {src}; synth_xilinx -family {family} -noiopad -top {top}; "
                  f"tee -q -o {stat} stat -json")
        if verbose:
            print(f"[yosys] synth_xilinx -family {family} on {top} ...", flush=True)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([exe, "-q", "-p", script], capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ToolchainError(f"yosys did not finish within {timeout:.0f} s on {top}") from None
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-15:])
            raise ToolchainError(f"yosys failed on {top}:\n{tail}")
        data = json.loads(stat.read_text())
    seconds = time.perf_counter() - t0
    modules = {name.lstrip("\\"): counts(m.get("num_cells_by_type", {})) for name, m in data["modules"].items()}
    total = dict.fromkeys(RESOURCES, 0)
    for m in modules.values():
        for k, v in m.items():
            total[k] += v
    if verbose:
        print(f"[yosys] done in {seconds:.1f} s", flush=True)
    return {"modules": modules, "total": total, "seconds": seconds, "family": family}
