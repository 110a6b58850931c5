"""Finding the external tools of the C simulation: a C++ compiler and the vendor ap_types headers.

The headers must be the real Xilinx ap_types (never an imitation): a Vitis HLS install has them under
`$XILINX_HLS/include`, and the hls4ml wheel ships them (Apache-2.0).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from .errors import ToolchainError

_HELP = (
    "fxflow needs the Xilinx ap_types headers for C simulation. Provide them by one of: "
    "(1) passing ap_types=PATH (CLI: --ap-types PATH) to a folder containing ap_fixed.h; "
    "(2) setting XILINX_HLS to a Vitis HLS install (headers in $XILINX_HLS/include); "
    "(3) installing the hls4ml wheel, which ships them: pip install 'hls4ml==1.3.0' (or pip install -e '.[csim]')."
)


def _hls4ml_templates() -> Path | None:
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "templates"


def find_ap_types(user_path: str | os.PathLike | None = None) -> Path:
    """The folder holding `ap_fixed.h`: a user path, then $XILINX_HLS/include, then the hls4ml wheel."""
    candidates: list[Path] = []
    if user_path:
        p = Path(user_path)
        if not (p / "ap_fixed.h").is_file():
            raise ToolchainError(f"no ap_fixed.h in the ap_types folder given: {p}. {_HELP}")
        return p.resolve()
    if os.environ.get("FXFLOW_AP_TYPES"):
        candidates.append(Path(os.environ["FXFLOW_AP_TYPES"]))
    if os.environ.get("XILINX_HLS"):
        candidates.append(Path(os.environ["XILINX_HLS"]) / "include")
    templates = _hls4ml_templates()
    if templates is not None:
        candidates.append(templates / "vivado" / "ap_types")
    for c in candidates:
        if (c / "ap_fixed.h").is_file():
            return c.resolve()
    raise ToolchainError(_HELP)


def find_ac_types(user_path: str | os.PathLike | None = None) -> Path:
    """The folder holding `ac_fixed.h` (Siemens ac_types), for the Catapult flavour."""
    if user_path:
        p = Path(user_path)
        if (p / "ac_fixed.h").is_file():
            return p.resolve()
        raise ToolchainError(f"no ac_fixed.h in {p}")
    templates = _hls4ml_templates()
    if templates is not None:
        c = templates / "catapult" / "ac_types" / "include"
        if (c / "ac_fixed.h").is_file():
            return c.resolve()
    raise ToolchainError("fxflow needs the ac_types headers: install hls4ml==1.3.0 or pass their folder")


def find_cxx() -> str:
    """The C++ compiler: $CXX, else g++, else clang++."""
    for name in (os.environ.get("CXX"), "g++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise ToolchainError("no C++ compiler found: install g++ (apt-get install g++) or set CXX")


def find_system_tool(name: str, purpose: str) -> str:
    """The path of a system tool (verilator, yosys), or a ToolchainError saying how to install it."""
    exe = shutil.which(name)
    if exe is None:
        raise ToolchainError(f"{name} is not installed (apt-get install -y {name}, or run scripts/setup.sh as "
                             f"root); {purpose} needs it")
    return exe


def cache_root() -> Path:
    """fxflow's build cache: $FXFLOW_CACHE_DIR, else $XDG_CACHE_HOME/fxflow or ~/.cache/fxflow. Each tool keeps
    its own subfolder (csim, rtl, yosys)."""
    base = os.environ.get("FXFLOW_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "fxflow"
