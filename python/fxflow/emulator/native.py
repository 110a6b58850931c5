"""The emulator's native kernels (every kernels/*.cpp, one library: the LSTM/GRU time loops, the fused dense
chains, ...), compiled once per machine with fxflow's C++ compiler and loaded with ctypes (which releases the GIL
during a call).  Each kernel mirrors a NumPy kernel of the emulator bit for bit; their fixed-point assignments are
`assignment` parameters computed from fxflow/fixed/quantize.py (kernels/fixed.h holds no rounding rule of its own).

The library is cached in `cache_root() / "emulator"` under a hash of the sources and headers, the compiler (path
and version) and the flags, built into a temporary file and renamed into place (processes building at the same
time each rename a complete library).  Flags: -O3 plus -mavx2 -mfma when /proc/cpuinfo lists both, else the
architecture's baseline; not -march=native, whose build could run on a different CPU sharing the cache (the
chosen flags are part of the key, so a CPU without AVX2 never loads the AVX2 build).  No compiler or a failed
build: `library()` is None (logged once at debug level) and the NumPy kernels run.  FXFLOW_NATIVE=0 forces
them too.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from fxflow import toolchain
from fxflow.fixed.format import FixedFormat
from fxflow.fixed.quantize import MAX_INT64_WIDTH, round_increment, saturation_bounds

KERNELS = Path(__file__).with_name("kernels")
SOURCES = tuple(sorted(KERNELS.glob("*.cpp")))
VERSION = 4  # fxflow_kernels_version() of the sources the callers are written for
BASE_FLAGS = ("-O3", "-shared", "-fPIC", "-ffp-contract=fast", "-Wno-psabi", "-x", "c++")

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_loaded: dict = {}  # "lib": the CDLL or None once tried in this process


def enabled() -> bool:
    """False when FXFLOW_NATIVE=0 asks for the NumPy loops."""
    return os.environ.get("FXFLOW_NATIVE", "1").strip() not in ("0", "false", "no", "off")


def library() -> ctypes.CDLL | None:
    """The loaded kernels (built on first use), or None: disabled, or no compiler / a failed build."""
    if not enabled():
        return None
    if "lib" not in _loaded:
        with _lock:
            if "lib" not in _loaded:
                _loaded["lib"] = _load()
    return _loaded["lib"]


def _load() -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL(str(build(SOURCES, toolchain.cache_root() / "emulator")))
        if lib.fxflow_kernels_version() != VERSION:
            raise OSError(f"native kernels version {lib.fxflow_kernels_version()}, expected {VERSION}")
    except (toolchain.ToolchainError, OSError, subprocess.SubprocessError) as e:
        _log.debug("native kernels unavailable, the NumPy kernels run: %s", e)
        return None
    _declare(lib)
    return lib


_P, _I64, _I32 = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
# each kernel's C signature: (argument types, result type)
SIGNATURES = {
    "fxflow_rnn": ([_I32, _P, _P, _I64, _P, _I64, _I64, _I64, _I64, _I64, _I64, _I64, _P, _I32, _P], _I32),
    "fxflow_assign": ([_P, _P, _I64, _P], None),
    "fxflow_bin_lookup": ([_P, _P, _I64, _P, _I64, _I64, _I32, _I64, _P], None),
    "fxflow_add": ([_P, _P, _P, _I64, _I64, _I64, _I32, _P], None),
    "fxflow_dense_chain": ([_I64, _P, _P, _P, _P, _P, _I64, _I64, _I64, _P, _I64, _I64], _I32),
    "fxflow_assign_each": ([_P, _I64, _P], None),
    "fxflow_layernorm": ([_P, _I64, _I64, _I64, _I64, _P, _P, _P, _P, _I64, _I64, _P], None),
    "fxflow_hls4ml_layernorm": ([_P, _I64, _I64, _I64, _I64, _P, _P, _P, _P, _P, _I64, _I64, _P], None),
    "fxflow_layernorm_lanes": ([], _I64),
    "fxflow_softmax": ([_P, _I64, _I64, _I64, _I64, _P, _P, _P, _P, _P], _I32),
    "fxflow_matmul": ([_P, _P, _P, _P, _P, _P, _P], None),
}


def _declare(lib: ctypes.CDLL) -> None:
    for name, (args, result) in SIGNATURES.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, result


# kernels/fixed.h's parameter layout
FX_WRAP, FX_CLAMP, FX_ZERO = 0, 1, 2
ASSIGN_FIELDS = 9
MAX_SHIFT = 62


def assignment(f_from: int, fmt: FixedFormat) -> np.ndarray:
    """The parameters of kernels/fixed.h's `fx_assign` for `requantize(n, f_from, fmt)` on int64 n: the rounding
    increment as the truth table of quantize.round_increment over (guard, sticky, negative, odd), the overflow
    bounds from saturation_bounds.  ValueError for what the int64 kernels do not take (a format wider than 62
    bits, a right shift by more than 62)."""
    s = int(f_from) - fmt.f
    if fmt.width > MAX_INT64_WIDTH or s > MAX_SHIFT:
        raise ValueError(f"no native assignment to {fmt} from grid 2^-{f_from}")
    bits = np.arange(16)
    bump = round_increment(fmt.rounding, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, (bits & 8) != 0)
    lo, hi = saturation_bounds(fmt)
    kind = {"WRAP": FX_WRAP, "SAT": FX_CLAMP, "SAT_SYM": FX_CLAMP, "SAT_ZERO": FX_ZERO}[fmt.overflow]
    t = max(-s, 0)  # a left shift clamps into [ceil(min / 2^t) - 1, floor(max / 2^t) + 1] first
    pre_lo, pre_hi = -((-fmt.min_int) >> t) - 1, (fmt.max_int >> t) + 1
    table = int(np.sum(np.asarray(bump, dtype=np.int64) << bits))
    return np.array([s, table, kind, fmt.width, int(fmt.signed), lo, hi, pre_lo, pre_hi], dtype=np.int64)


def cpu_flags() -> list[str]:
    """-mavx2 -mfma on an x86-64 CPU that has both (/proc/cpuinfo), else nothing (the baseline)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return []
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return ["-mavx2", "-mfma"] if {"avx2", "fma"} <= set(line.partition(":")[2].split()) else []


def build(sources, folder: Path) -> Path:
    """The library of the C++ `sources` (one or several paths) in `folder`, compiled when its key (the sources and
    the headers beside them, compiler, flags) is new."""
    sources = [Path(sources)] if isinstance(sources, (str, Path)) else [Path(p) for p in sources]
    cxx = toolchain.find_cxx()
    flags = [*BASE_FLAGS, *cpu_flags()]
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60).stdout
    headers = sorted({h for src in sources for h in src.parent.glob("*.h")})
    texts = [p.name.encode() + b"\0" + p.read_bytes() for p in [*sources, *headers]]
    key = hashlib.sha256(b"\0".join([*texts, cxx.encode(), version.encode(), " ".join(flags).encode(),
                                     platform.machine().encode()])).hexdigest()[:20]
    lib = folder / f"{sources[0].stem if len(sources) == 1 else 'kernels'}-{key}.so"
    if lib.is_file():
        return lib
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{lib.name}.", suffix=".tmp")
    os.close(fd)
    try:
        r = subprocess.run([cxx, *flags, "-o", tmp, *map(str, sources)], capture_output=True, text=True,
                           timeout=300)
        if r.returncode:
            raise OSError(f"{cxx} failed on {', '.join(p.name for p in sources)}:\n{r.stderr[-2000:]}")
        os.replace(tmp, lib)  # atomic: a concurrent build renames an identical, complete library
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return lib
