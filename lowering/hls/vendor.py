"""Running the vendor HLS tool on a written project (the generated `build.tcl` does the work).

Vitis HLS is proprietary and not installed here; fxflow only calls it when it is on PATH and otherwise
says so.  The steps are `build.tcl` options passed as `-tclargs key=value`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from fxflow.errors import ConfigError, ToolchainError

VITIS_STEPS = ("csim", "synth", "cosim", "export")


def vitis_command(steps, part: str | None = None, clock=None) -> list[str]:
    """The `-f build.tcl -tclargs ...` arguments for the chosen steps (the others switched off)."""
    steps = [steps] if isinstance(steps, str) else list(steps)
    bad = [s for s in steps if s not in VITIS_STEPS]
    if bad or not steps:
        raise ConfigError(f"unknown Vitis HLS step(s) {bad or '(none given)'}; choose from {', '.join(VITIS_STEPS)}")
    args = ["-f", "build.tcl", "-tclargs"] + [f"{s}={int(s in steps)}" for s in VITIS_STEPS]
    if part is not None:
        from fxflow.lowering.hls.design import PART_RE

        if not PART_RE.match(part):
            raise ConfigError(f"FPGA part '{part}' is not a valid part name")
        args.append(f"part={part}")
    if clock is not None:
        from fxflow.devices import parse_clock

        args.append(f"clock_period={parse_clock(clock):g}")
    return args


def run_vitis(project, steps=("csim", "synth"), timeout: float | None = None, part: str | None = None,
              clock=None) -> None:
    args = vitis_command(steps, part, clock)
    tool = shutil.which("vitis_hls")
    if tool is None:
        raise ToolchainError("vitis_hls is not installed (not on PATH); the written project can be built on a "
                             "machine with Vitis HLS by running 'vitis_hls " + " ".join(args) + f"' in {project}")
    project = Path(project)
    if not (project / "build.tcl").is_file():
        raise ToolchainError(f"{project} has no build.tcl; write the project first (Design.write)")
    try:
        proc = subprocess.run([tool, *args], cwd=project, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"vitis_hls did not finish within {timeout} s in {project}") from None
    except OSError as e:
        raise ToolchainError(f"cannot run {tool}: {e}") from None
    if proc.returncode != 0:
        raise ToolchainError(f"vitis_hls failed with exit status {proc.returncode} in {project} "
                             "(see vitis_hls.log there)")
