"""C simulation of a written Versal project's PL side: each PLIO bridge (with its PL part's top) is compiled
by g++ against the ap_types headers and run on files — samples to beats into the AIE, beats out of the AIE
to result rows — so the joined simulation checks the emitted stream packing, not just the emulator."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from fxflow.errors import InternalError, ToolchainError
from fxflow.lowering.hls.project import COMMON_FLAGS, CXX_STD, OPT_FLAGS
from fxflow.toolchain import find_ap_types, find_cxx


def _build(root: Path, name: str, ap_types) -> Path:
    """Compile `<name>_tb.cpp`, the bridge and the PL part's firmware (if any) in `root`; cached by mtime."""
    import json

    sources = [root / f"{name}_tb.cpp", root / "firmware" / f"{name}.cpp"]
    man = root / "project.json"
    if man.is_file():
        data = json.loads(man.read_text())
        sources += [root / s for s in data["sources"] if s != data["testbench"]]
    exe = root / f"{name}_tb"
    if exe.is_file() and exe.stat().st_mtime >= max(s.stat().st_mtime for s in sources):
        return exe
    unity = root / f"{name}_all.cpp"  # one translation unit: the ap_types headers are parsed once
    unity.write_text("".join(f'#include "{s.relative_to(root)}"\n' for s in sources))
    cmd = [find_cxx(), CXX_STD, OPT_FLAGS, *COMMON_FLAGS, f"-I{find_ap_types(ap_types)}", f"-I{root / 'firmware'}",
           f"-I{root}", str(unity), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise InternalError(f"the PLIO bridge C++ that fxflow emitted ({unity}) does not compile:\n"
                            f"{proc.stderr.strip()[:4000]}", where=str(unity))
    return exe


def _run(exe: Path, text: str) -> str:
    with tempfile.TemporaryDirectory(prefix="fxflow_plio_") as tmp:
        src, dst = Path(tmp, "in.txt"), Path(tmp, "out.txt")
        src.write_text(text)
        proc = subprocess.run([str(exe), str(src), str(dst)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise ToolchainError(f"the PLIO bridge simulation {exe.name} failed: {proc.stderr.strip()}")
        return dst.read_text()


def to_aie(root, name: str, x: np.ndarray, n_ports: int, ap_types=None) -> list[list[int]]:
    """Float samples [N, F] through the PL head and the bridge -> the beats of each input port (all batches)."""
    exe = _build(Path(root), name, ap_types)
    text = "".join(" ".join(repr(float(v)) for v in row) + "\n" for row in np.asarray(x).reshape(len(x), -1))
    beats: list[list[int]] = [[] for _ in range(n_ports)]
    for line in _run(exe, text).splitlines():
        port, word = line.split()
        beats[int(port)].append(int(word, 16))
    return beats


def from_aie(root, name: str, batches: list[list[list[int]]], features: int, ap_types=None) -> np.ndarray:
    """Per batch, the beats of each output port -> stored integers of the result rows [batches * M, F]."""
    exe = _build(Path(root), name, ap_types)
    text = "".join(f"{i} {w:032x}\n" for batch in batches for i, port in enumerate(batch) for w in port)
    rows = [list(map(int, line.split())) for line in _run(exe, text).splitlines()]
    return np.asarray(rows, dtype=np.int64).reshape(-1, features)
