"""C simulation of an emitted HLS project: compile its testbench with g++ against the real ap_types headers.

    exe = fxflow.lowering.hls.csim.build("out/myproject")           # cached: a second call does not recompile
    y = fxflow.lowering.hls.csim.run("out/myproject", x)             # stored integers, shape [N, M]

`build` reads the project's `project.json` (written by `fxflow.lowering.hls.write_project`), compiles the
translation units in parallel and links the testbench.  Objects and executables live in a content-addressed
cache (`$FXFLOW_CACHE_DIR`, else `$XDG_CACHE_HOME/fxflow`, else `~/.cache/fxflow`, under `csim/`): the key
of an object is a hash of the compiler, the flags, the headers folder and the text of the sources it
includes, so an unchanged project (or an identical one written elsewhere) never recompiles.

Speed (measured on the 16-64-32-32-5 jet tagger, 4,389 weights, 2 cores, g++ 12): the time goes into
parsing the ap_types headers (~1 s CPU per translation unit) and into static initializers; GCC's
`-Wfree-nonheap-object` access analysis is quadratic in their size (`-Wno-free-nonheap-object`) and
exception tables cost another 25 % (`-fno-exceptions`; nothing throws).  `build` compiles the testbench
and the firmware as (cpu count - 1) unity groups (one `#include` of each source), more when the sources
and their weight headers exceed GROUP_BYTES per group, in parallel, at `-O1` (compiles as fast as `-O0`,
runs ~20x faster).  Cold build of the jet tagger: 5.2-5.9 s CPU, 7.7-8.8 s wall on a machine loaded by
other jobs (load 4-5), where hls4ml's own C-sim build of the same network took 7.9 s CPU / 11.7 s wall;
a cached build takes ~20 ms.

Large designs: the weight headers give the C simulation the stored integers as a plain integer array
(a constant initializer) rather than one fixed-point literal per weight, which is one constructor call
each in a static initializer (emit_cpp.py).  benchmarks/csim_build.py: a CNV-sized CNN (1.5 M 2-bit
weights) builds in ~8 s CPU with at most ~330 MB per compiler; with literal weights g++ was still
compiling the SFC-sized MLP (0.33 M weights) after 10 minutes at 4.4 GB, and ran out of memory (5 GB
limit) on the CNV-sized one.
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from fxflow.errors import InternalError, ToolchainError
from fxflow.names import inside
from fxflow.toolchain import cache_root, find_ac_types, find_ap_types, find_cxx

# One set of compiler flags for the project files and this driver (see fxflow.lowering.hls.project).
from fxflow.lowering.hls.project import COMMON_FLAGS as COMMON, CXX_STD as STD, OPT_FLAGS as OPT  # noqa: E402
GCC_ONLY = ("-Wno-free-nonheap-object",)
MAX_INT64_WIDTH = 62
# Source text (kernels + weight headers) per firmware translation unit; more makes more units, so one
# compiler process never holds the whole of a large design (CNV-sized: 1.5 M weights, ~20 MB of headers).
GROUP_BYTES = 8 << 20
_INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)


def _log(verbose: bool, msg: str) -> None:
    if verbose:
        print(f"[csim] {msg}", flush=True)


def cache_dir() -> Path:
    return cache_root() / "csim"


@functools.lru_cache(maxsize=8)
def _compiler_identity(cxx: str) -> tuple[str, bool]:
    """(identity text for the cache key, is GCC)."""
    try:
        out = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise ToolchainError(f"cannot run the C++ compiler {cxx}: {e}") from None
    first = out.splitlines()[0] if out else ""
    is_gcc = "clang" not in out.lower() and ("g++" in first or "gcc" in first.lower() or "Free Software" in out)
    st = os.stat(cxx)
    return f"{cxx}|{first}|{st.st_size}|{int(st.st_mtime)}", is_gcc


def read_manifest(project_dir) -> dict:
    root = Path(project_dir)
    path = root / "project.json"
    try:
        man = json.loads(path.read_text())
    except FileNotFoundError:
        raise ToolchainError(f"{root} is not an fxflow HLS project (no project.json); write it with "
                             "fxflow.lowering.hls.write_project") from None
    except ValueError as e:
        raise ToolchainError(f"{path} is not valid JSON: {e}") from None
    for key in ("top", "testbench", "sources", "inputs", "outputs"):
        if key not in man:
            raise ToolchainError(f"{path} lacks '{key}'; rewrite the project with this fxflow version")
    return man


def _closure(root: Path, rel: str, seen: dict[str, bytes]) -> None:
    """Text of `rel` and of every project file it includes with quotes (recursively), into `seen`."""
    path = inside(root, rel)
    key = path.relative_to(root).as_posix()
    if key in seen:
        return
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ToolchainError(f"the project lacks {key}; rewrite it with write_project") from None
    seen[key] = data
    for inc in _INCLUDE_RE.findall(data.decode(errors="replace")):
        target = (path.parent / inc).resolve()
        if target.is_file() and (target == root or root in target.parents):
            _closure(root, target.relative_to(root).as_posix(), seen)


def _digest(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        b = p if isinstance(p, bytes) else str(p).encode()
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()[:32]


def _groups(root: Path, sources: list[str], jobs: int, group_bytes: int = GROUP_BYTES) -> list[list[str]]:
    """Split the firmware sources into groups of similar size (largest first, greedy): `jobs` groups, more
    when the sources and their weights exceed `group_bytes` per group (bounds the compiler's memory)."""
    sizes = {}
    for s in sources:
        seen: dict[str, bytes] = {}
        _closure(root, s, seen)
        sizes[s] = sum(len(v) for k, v in seen.items() if "/weights/" in k or k == s)
    n = max(jobs, -(-sum(sizes.values()) // max(1, group_bytes)))
    bins: list[tuple[int, list[str]]] = [(0, []) for _ in range(max(1, min(n, len(sources))))]
    for s in sorted(sources, key=lambda s: (-sizes[s], s)):
        i = min(range(len(bins)), key=lambda j: (bins[j][0], j))
        bins[i] = (bins[i][0] + sizes[s], bins[i][1] + [s])
    return [sorted(b) for _, b in bins if b]


_MISSING_HEADER_RE = re.compile(r"fatal error: ([^:\n]+): No such file or directory")
_OUT_OF_MEMORY_RE = re.compile(r"out of memory allocating|virtual memory exhausted|std::bad_alloc|"
                               r"Killed signal terminated program")


def _run_compiler(cmd: list[str], what: str, root: Path) -> None:
    """Run one compile or link step.  A compiler that cannot run, or a vendor/system header it cannot find,
    is the toolchain's fault (ToolchainError); any other rejection of the C++ fxflow emitted is a bug in
    fxflow (InternalError naming the files)."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise ToolchainError(f"cannot run {cmd[0]}: {e}") from None
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip()
        lines = msg.splitlines()
        if len(lines) > 60:
            msg = "\n".join(lines[:60] + [f"... ({len(lines) - 60} more lines)"])
        # a header the project does not hold itself (ap_fixed.h, <cmath>) is missing from the toolchain
        missing = [h for h in _MISSING_HEADER_RE.findall(msg) if not any(root.rglob(Path(h).name))]
        if missing:
            raise ToolchainError(f"the C++ toolchain lacks the header {missing[0]} ({what}):\n{msg}")
        # the machine's limits, not the C++: out of memory, or killed by a signal (the kernel's OOM killer)
        if proc.returncode < 0 or _OUT_OF_MEMORY_RE.search(msg):
            why = (f"was killed by signal {-proc.returncode}" if proc.returncode < 0 else "ran out of memory")
            raise ToolchainError(f"the C++ compiler {why} ({what}); build with fewer parallel jobs "
                                 f"(csim.build(..., jobs=1)) or on a machine with more memory:\n{msg}")
        raise InternalError(f"the C++ that fxflow emitted for {root} does not compile ({what}):\n"
                            f"{' '.join(cmd)}\n{msg}", where=f"{root} ({what})")


def build(project_dir, ap_types=None, verbose: bool = True, *, jobs: int | None = None,
          opt: str = OPT, group_bytes: int = GROUP_BYTES) -> Path:
    """Compile the project's C simulation (testbench + firmware); returns the executable (cached).
    `jobs` compilers run at once (default: the cpu count, at most 8); each firmware translation unit
    holds at most about `group_bytes` of source text (kernels and their weight headers)."""
    root = Path(project_dir).resolve()
    man = read_manifest(root)
    # the project's flavour decides the headers: ap_types (Vitis) or ac_types (Catapult)
    ap = find_ac_types(ap_types) if man.get("type_headers") == "ac_types" else find_ap_types(ap_types)
    cxx = find_cxx()
    ident, is_gcc = _compiler_identity(cxx)
    flags = [STD, opt, *COMMON] + (list(GCC_ONLY) if is_gcc else [])
    jobs = jobs or max(1, min(os.cpu_count() or 1, 8))
    cache = cache_dir()
    try:
        (cache / "obj").mkdir(parents=True, exist_ok=True)
        (cache / "bin").mkdir(parents=True, exist_ok=True)
    except OSError:
        cache = root / ".csim_cache"
        (cache / "obj").mkdir(parents=True, exist_ok=True)
        (cache / "bin").mkdir(parents=True, exist_ok=True)
    top = man["top"]
    firmware = [s for s in man["sources"] if s != man["testbench"]]
    units: list[tuple[str, list[str]]] = [("testbench", [man["testbench"]])]
    units += [(f"firmware group {i + 1}", g) for i, g in enumerate(_groups(root, firmware, max(1, jobs - 1), group_bytes))]
    base_key = (ident, " ".join(flags), str(ap))
    todo, objs = [], []
    for what, members in units:
        seen: dict[str, bytes] = {}
        for m in members:
            _closure(root, m, seen)
        key = _digest(*base_key, *members, *(k for k in sorted(seen)), *(seen[k] for k in sorted(seen)))
        obj = cache / "obj" / f"{key}.o"
        objs.append(obj)
        if not obj.is_file():
            todo.append((what, members, obj))
    exe_key = _digest(*base_key, *(o.name for o in objs))
    exe = cache / "bin" / exe_key / f"{top}_csim"
    if exe.is_file() and not todo:
        _log(verbose, f"{top}: up to date ({exe})")
        return exe
    t0 = time.perf_counter()
    _log(verbose, f"building {top}: {len(todo)} of {len(units)} translation units with {Path(cxx).name} "
                  f"{' '.join(flags)} ...")

    done, lock = [0], threading.Lock()

    def compile_unit(item):
        what, members, obj = item
        t_unit = time.perf_counter()
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            if len(members) == 1:
                src = str(inside(root, members[0]))
            else:  # a unity translation unit including each member by absolute path
                src = os.path.join(tmp, "unity.cpp")
                with open(src, "w") as fh:
                    fh.writelines(f'#include "{inside(root, m)}"\n' for m in members)
            out = os.path.join(tmp, "unit.o")
            _run_compiler([cxx, *flags, f"-I{ap}", "-c", src, "-o", out], f"{what}: {', '.join(members)}", root)
            os.replace(out, obj)
        with lock:
            done[0] += 1
            count = done[0]
        names = ", ".join(Path(m).stem for m in members)
        _log(verbose, f"[{count}/{len(todo)}] {what} ({names if len(names) < 80 else names[:77] + '...'}): "
                      f"{time.perf_counter() - t_unit:.1f} s")

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for fut in [pool.submit(compile_unit, item) for item in todo]:
            fut.result()
    exe.parent.mkdir(parents=True, exist_ok=True)
    tmp_exe = exe.with_name(f".{exe.name}.{os.getpid()}.tmp")
    _run_compiler([cxx, *flags, *map(str, objs), "-o", str(tmp_exe)], "link", root)
    os.replace(tmp_exe, exe)
    _log(verbose, f"done in {time.perf_counter() - t0:.1f} s")
    return exe


def _sizes(ports: list[dict]) -> list[int]:
    return [int(p["size"]) for p in ports]


def run(project_dir, x, ap_types=None, verbose: bool = False) -> np.ndarray:
    """C-simulate `x` (float array [N, ...]; a list of arrays for several inputs) through the project.

    Returns the stored integers of all outputs (flattened, in result order), shape [N, M]: int64, or
    object (Python ints) when an output is wider than 62 bits.  Raises ToolchainError when the toolchain
    is missing or the simulation cannot run, InternalError when the emitted C++ does not compile."""
    from fxflow.lowering.hls.project import TB_INPUTS, TB_RESULTS, input_lines

    root = Path(project_dir).resolve()
    man = read_manifest(root)
    exe = build(root, ap_types, verbose=verbose)
    ins = [_PortSize(p["name"], int(p["size"])) for p in man["inputs"]]
    text = input_lines(x, ins)
    n = text.count("\n")
    m = sum(_sizes(man["outputs"]))
    with tempfile.TemporaryDirectory(prefix="fxflow_csim_") as tmp:
        Path(tmp, TB_INPUTS).write_text(text)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([str(exe), tmp], capture_output=True, text=True, cwd=tmp)
        except OSError as e:
            raise ToolchainError(f"cannot run the C simulation {exe}: {e}") from None
        if proc.returncode != 0:
            raise ToolchainError(f"the C simulation of {man['top']} failed (exit status {proc.returncode}):\n"
                                 f"{(proc.stderr or proc.stdout).strip()}")
        tokens = Path(tmp, TB_RESULTS).read_text().split()
        _log(verbose, f"simulated {n} samples in {time.perf_counter() - t0:.2f} s")
    if len(tokens) != n * m:
        raise InternalError(f"the C simulation of {man['top']} wrote {len(tokens)} values, expected {n} samples x "
                            f"{m} outputs", where=str(root))
    wide = max(int(p.get("width", 0)) for p in man["outputs"]) > MAX_INT64_WIDTH
    if wide:
        return np.array([int(t) for t in tokens], dtype=object).reshape(n, m)
    return np.array(tokens, dtype=np.int64).reshape(n, m)


class _PortSize:
    """The part of a Port that `input_lines` needs, from project.json."""

    def __init__(self, name: str, size: int):
        self.name, self.size = name, size

