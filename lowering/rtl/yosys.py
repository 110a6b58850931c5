"""Open-tool resource counts: yosys `synth_xilinx` on the emitted SystemVerilog.

yosys is not Vivado: its LUT/FF/DSP/CARRY/BRAM counts are a consistent, open yardstick of the same
Verilog, not vendor post-route figures.  Hierarchy is kept, so every kernel module is counted on its own;
the top's own cells (valid shift register, delay registers, input control) are reported as "top".
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from fxflow.errors import ConfigError, InternalError, ToolchainError
from fxflow.toolchain import cache_root, find_system_tool

FAMILIES = ("xcup", "xcu", "xc7", "xc7s", "xc6s")  # synth_xilinx -family values fxflow accepts
RESOURCES = ("lut", "inv", "ff", "dsp", "carry", "bram18", "muxf")  # "inv": the INV cells, counted in "lut" too
SHOWN = ("lut", "inv", "ff", "dsp", "carry", "bram18")  # what the reports show per layer and in total
SYNTH_TIMEOUT = 3600.0
SPLIT_LINES = 3000  # Verilog lines above which each kernel gets its own yosys process (each costs ~2 s to start)


def find_yosys() -> str:
    return find_system_tool("yosys", "synth")


# cell name prefix -> resource, first match wins (distributed RAM / shift registers live in LUTs).  yosys maps
# an inverter to an INV cell, which Vivado implements as a LUT1: it is a LUT (and also counted as "inv").
CELL_KINDS = (("LUT", "lut"), ("INV", "inv"), ("FD", "ff"), ("DSP", "dsp"), ("CARRY", "carry"), ("MUXF", "muxf"),
              ("RAMB18", "bram18"), ("RAMB36", "bram36"), ("RAM", "lut"), ("SRL", "lut"))


def _classify(cell: str) -> str | None:
    return next((kind for prefix, kind in CELL_KINDS if cell.startswith(prefix)), None)


def counts(cells: dict[str, int]) -> dict[str, int]:
    """Resource counts from one module's `num_cells_by_type` (the cell list of yosys' `stat`): LUT = LUT1-6,
    INV, distributed RAM and SRL cells; "inv" the INV cells among them; RAMB36 = 2 BRAM18.  The one reader of
    yosys' cell counts (synth, the multiplier characterisation and the calibration benchmark all use it)."""
    out = dict.fromkeys(RESOURCES, 0)
    for cell, n in cells.items():
        kind = _classify(cell)
        if kind == "bram36":
            out["bram18"] += 2 * n
        elif kind == "inv":
            out["inv"] += n
            out["lut"] += n
        elif kind is not None:
            out[kind] += n
    return out


def _cached_stat(exe: str, verilog: str, script: str, timeout: float, what: str, tmp: Path,
                 depth: bool = False) -> dict:
    """yosys `script` on the Verilog in `tmp`/design.sv, then `stat -json` (and `ltp -noff`, the longest path in
    cells, with `depth`): {"modules": stat modules, "ltp": cells or None}, cached under the fxflow cache by the
    content of the Verilog, the script and the yosys binary (a big design takes minutes; a rerun takes none)."""
    tool = f"{exe}@{Path(exe).stat().st_mtime}"
    key = hashlib.sha256("\0".join((verilog, script, str(depth), tool)).encode()).hexdigest()
    cached = cache_root() / "yosys" / f"{key[:32]}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    stat = tmp / f"stat_{key[:16]}.json"
    ltp = tmp / f"ltp_{key[:16]}.txt"
    extra = f"; tee -q -o {ltp} ltp -noff" if depth else ""
    _run(exe, f"read_verilog -sv {tmp / 'design.sv'}; {script}{extra}; tee -q -o {stat} stat -json", timeout, what)
    out = {"modules": json.loads(stat.read_text())["modules"], "ltp": None}
    if depth:
        import re

        found = re.findall(r"Longest topological path in \S+ \(length=(\d+)\)", ltp.read_text())
        out["ltp"] = max((int(v) for v in found), default=0)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(out))
    return out


def _run(exe: str, script: str, timeout: float, what: str) -> None:
    try:
        proc = subprocess.run([exe, "-q", "-p", script], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"yosys did not finish within {timeout:.0f} s on {what}") from None
    if proc.returncode != 0:  # the Verilog is fxflow's own: a rejection is a bug in the emitter
        tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-15:])
        raise InternalError(f"yosys rejects the Verilog fxflow emitted for {what}:\n{tail}", where=what)


def synth(verilog: str, top: str, family: str = "xcup", verbose: bool = True, timeout: float = SYNTH_TIMEOUT,
          modules: list[str] | None = None, jobs: int | None = None, options: str = "", depth: bool = False) -> dict:
    """{"modules": {module: counts}, "total": counts, "seconds": s, "family": family}.

    With `modules` (the kernel modules under `top`), every kernel is synthesized by its own yosys process,
    `jobs` at a time (default: the CPU count), and the top with the kernels as black boxes: the same
    counts as one hierarchical run (hierarchy is kept either way), in a fraction of the wall time.
    `options` are extra synth_xilinx flags (e.g. "-nodsp").  With `depth`, each unit's longest combinational path
    in cells (yosys `ltp -noff`) is in "depth" per module.  Results are cached by content (fxflow cache, yosys/)."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown part family '{family}' for synth_xilinx (available: {', '.join(FAMILIES)})")
    exe = find_yosys()
    t0 = time.perf_counter()
    depths: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="fxflow-yosys-") as tmp:
        src = Path(tmp) / "design.sv"
        src.write_text(verilog)
        units = [(m, f"hierarchy -top {m}") for m in (modules or [])]
        boxes = f"blackbox {' '.join(modules)}; " if modules else ""
        units.append((top, f"{boxes}hierarchy -top {top}"))
        if verbose:
            print(f"[yosys] synth_xilinx -family {family} on {top} ({len(units)} module(s)) ...", flush=True)

        def one(unit):
            name, select = unit
            res = _cached_stat(exe, verilog, f"{select}; synth_xilinx -family {family} -noiopad {options} -top {name}",
                               timeout, name, Path(tmp), depth)
            data = {n.lstrip("\\"): m for n, m in res["modules"].items()}
            if res["ltp"] is not None:
                depths[name] = res["ltp"]
            if verbose:
                print(f"[yosys]   {name}: {time.perf_counter() - t0:.1f} s", flush=True)
            if modules:  # this unit's own module (the kernels are black boxes of the top's run)
                return {name: counts(data.get(name, {}).get("num_cells_by_type", {}))}
            return {n: counts(m.get("num_cells_by_type", {})) for n, m in data.items()}

        workers = max(1, min(len(units), jobs or os.cpu_count() or 1))
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            found = {}
            for part in pool.map(one, units):
                found.update(part)
    modules_out = found
    total = dict.fromkeys(RESOURCES, 0)
    for m in modules_out.values():
        for k, v in m.items():
            total[k] += v
    seconds = time.perf_counter() - t0
    if verbose:
        print(f"[yosys] done in {seconds:.1f} s", flush=True)
    out = {"modules": modules_out, "total": total, "seconds": seconds, "family": family}
    if depth:
        out["depth"] = depths
    return out
