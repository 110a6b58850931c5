"""Native time loops (kernels/recurrent.cpp), compiled once per machine with fxflow's C++ compiler and loaded
with ctypes (which releases the GIL during a call).

The library is cached in `cache_root() / "emulator"` under a hash of the source, the compiler (path and
version) and the flags, built into a temporary file and renamed into place (processes building at the same
time each rename a complete library).  Flags: -O3 plus -mavx2 -mfma when /proc/cpuinfo lists both, else the
architecture's baseline; not -march=native, whose build could run on a different CPU sharing the cache (the
chosen flags are part of the key, so a CPU without AVX2 never loads the AVX2 build).  No compiler or a failed
build: `library()` is None (logged once at debug level) and the NumPy loops run.  FXFLOW_NATIVE=0 forces
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

from fxflow import toolchain

SOURCE = Path(__file__).with_name("kernels") / "recurrent.cpp"
VERSION = 2  # fxflow_kernels_version() of the source the callers are written for
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
        lib = ctypes.CDLL(str(build(SOURCE, toolchain.cache_root() / "emulator")))
        if lib.fxflow_kernels_version() != VERSION:
            raise OSError(f"{SOURCE.name}: kernels version {lib.fxflow_kernels_version()}, expected {VERSION}")
    except (toolchain.ToolchainError, OSError, subprocess.SubprocessError) as e:
        _log.debug("native recurrent kernels unavailable, the NumPy loops run: %s", e)
        return None
    _declare(lib)
    return lib


def _declare(lib: ctypes.CDLL) -> None:
    p, i64, i32 = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
    lib.fxflow_rnn.argtypes = [i32, p, p, i64, p, i64, i64, i64, i64, i64, i64, i64, p, i32, p]
    lib.fxflow_rnn.restype = i32


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


def build(source: Path, folder: Path) -> Path:
    """The compiled library of `source` in `folder`, compiled when its key (source, compiler, flags) is new."""
    cxx = toolchain.find_cxx()
    flags = [*BASE_FLAGS, *cpu_flags()]
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60).stdout
    text = source.read_bytes()
    key = hashlib.sha256(b"\0".join([text, cxx.encode(), version.encode(), " ".join(flags).encode(),
                                     platform.machine().encode()])).hexdigest()[:20]
    lib = folder / f"{source.stem}-{key}.so"
    if lib.is_file():
        return lib
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{lib.name}.", suffix=".tmp")
    os.close(fd)
    try:
        r = subprocess.run([cxx, *flags, "-o", tmp, str(source)], capture_output=True, text=True, timeout=300)
        if r.returncode:
            raise OSError(f"{cxx} failed on {source.name}:\n{r.stderr[-2000:]}")
        os.replace(tmp, lib)  # atomic: a concurrent build renames an identical, complete library
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return lib
