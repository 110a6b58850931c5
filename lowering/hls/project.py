"""Writing a complete Vitis HLS project directory for a `df.graph`.

    firmware/<top>.cpp, <top>.h      top function (ports, interface/partition pragmas, kernel calls)
    firmware/defines.h               one ap_fixed typedef per tensor
    firmware/parameters.h            prototypes of the kernel functions
    firmware/layers/<kernel>.cpp     one function per df.kernel (its own translation unit)
    firmware/weights/<array>.h       static const weight/bias arrays, exact hex-float values
    <top>_test.cpp                   testbench (tb_data/ in, csim_results.dat out, self-checking)
    tb_data/                         tb_input_features.dat, tb_output_predictions.dat (when given)
    build.tcl, Makefile, CMakeLists.txt, README.md, project.json

Everything is deterministic (byte-identical for identical input) and written through
`fxflow.names.inside(out_dir, ...)`.
"""

from __future__ import annotations

import json
import math
import re
from importlib import resources
from pathlib import Path

import numpy as np

from fxflow.errors import ConfigError, FxflowError, ShapeError
from fxflow.names import inside

from .cwriter import comment_text, short_hex
from .design import HlsDesign, Port
from .emit_cpp import render_cpp, sources
from .lower import lower_graph

MANIFEST = "project.json"
TB_DIR = "tb_data"
TB_INPUTS = "tb_input_features.dat"
TB_EXPECTED = "tb_output_predictions.dat"
TB_RESULTS = "csim_results.dat"
# Measured on the jet-tagger MLP (see csim.py): -O1 compiles as fast as -O0 and runs ~10x faster.
OPT_FLAGS = "-O1"
# gnu++14: hex float literals (standard only from C++17); nothing throws, and without exception tables
# the static weight initializers compile ~25 % faster.
# -DNDEBUG: the ap_types headers assert ("Attempting to read bit beyond MSB") when a value lying wholly
# below the target's LSB is assigned; the bit read is unused and the result is right without the assert.
COMMON_FLAGS = ("-fno-exceptions", "-DNDEBUG")
CXX_STD = "-std=gnu++14"
CXXFLAGS = " ".join([CXX_STD, OPT_FLAGS, *COMMON_FLAGS])
# Per flavour (flavour.py): the Makefile/CMake variable naming the headers folder and its default.
HEADER_VARS = {"ap_types": ("AP_TYPES", "$(XILINX_HLS)/include"), "ac_types": ("AC_TYPES", "$(MGC_HOME)/shared/include")}
TOOLS = {"vitis": "Vitis HLS", "catapult": "Catapult HLS"}
BUILD_LINES = {
    "vitis": "`vitis_hls -f build.tcl` (C simulation + synthesis; `-tclargs cosim=1 export=1`)",
    "catapult": "`catapult -shell -file build.tcl` (analysis, synthesis to RTL; set `synth 0` for C++ checks only)",
}


def _template(name: str, values: dict[str, str]) -> str:
    text = (resources.files(__package__) / "templates" / name).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise RuntimeError(f"template {name}: unreplaced placeholders {sorted(set(left))}")
    return text


def _port_info(p: Port) -> dict:
    return {"name": p.name, "ctype": p.ctype, "format": p.fmt.to_ap(), "shape": list(p.shape), "size": p.size,
            "k": p.fmt.k, "i": p.fmt.i, "f": p.fmt.f, "width": p.fmt.width}


def render_project(design: HlsDesign) -> dict[str, str]:
    """Every generated file (C++, scripts, README, manifest) keyed by its relative path."""
    files = render_cpp(design)
    top = design.top
    tb = f"{top}_test.cpp"
    srcs = [tb] + sources(design)
    headers = sorted(p for p in files if p.endswith(".h"))
    clock = f"{design.clock_period:g}"
    fl = design.flavour
    files[fl.build_script] = _template(fl.build_template, {
        "TOP": top, "PART": design.part, "CLOCK": clock,
        "ADD_FILES": "\n".join(f"add_files {s} -cflags $cflags" for s in sources(design)),
        "SOLUTION_FILES": "\n".join(f"solution file add {s} -type C++" for s in sources(design)),
        "TB": tb,
    })
    hdr_var, hdr_default = HEADER_VARS[fl.headers]
    files["Makefile"] = _template("Makefile", {
        "TOP": top, "CXXFLAGS": CXXFLAGS, "SRCS": " \\\n\t".join(srcs), "HDRS": " \\\n\t".join(headers),
        "HDRVAR": hdr_var, "HDRDEFAULT": hdr_default, "HDRNAME": fl.headers,
    })
    files["CMakeLists.txt"] = _template("CMakeLists.txt", {
        "TOP": top, "OPT": OPT_FLAGS, "CMAKE_SRCS": "\n".join(f"  {s}" for s in srcs),
        "HDRVAR": hdr_var, "HDRDEFAULT": hdr_default.replace("$(", "$ENV{").replace(")", "}"),
        "HDRFILE": "ap_fixed.h" if fl.headers == "ap_types" else "ac_fixed.h",
    })
    kernels = "\n".join(
        f"- `{k.name}`" + (f" (layer `{comment_text(k.layer)}`)" if k.layer and k.layer != k.name else "")
        + f": reuse factor {k.reuse_factor}, strategy {k.strategy}, `firmware/{k.source}`"
        for k in design.kernels) or "(none)"
    files["README.md"] = _template("README.md", {
        "TOOL": TOOLS[fl.name], "BUILD_LINE": BUILD_LINES[fl.name], "HDRVAR": hdr_var, "TYPE": fl.headers[:2] + "_fixed",
        "TOP": top, "GRAPH": comment_text(design.graph_name), "IOTYPE": design.io_type,
        "PART": design.part, "CLOCK": clock, "KERNELS": kernels,
    })
    manifest = {
        "fxflow_project": 1,
        "top": top,
        "graph": design.graph_name,
        "io_type": design.io_type,
        "flavour": fl.name,
        "type_headers": fl.headers,
        "part": design.part,
        "clock_period": design.clock_period,
        "inputs": [_port_info(p) for p in design.inputs],
        "outputs": [_port_info(p) for p in design.outputs],
        "kernels": [{"name": k.name, "layer": k.layer, "reuse_factor": k.reuse_factor, "strategy": k.strategy,
                     "source": f"firmware/{k.source}"} for k in design.kernels],
        "testbench": tb,
        "sources": srcs,
        "headers": headers,
        "cxxflags": CXXFLAGS,
    }
    manifest["files"] = sorted(list(files) + [MANIFEST])
    files[MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    return files


def _write(root: Path, rel: str, text: str) -> None:
    path = inside(root, rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode()
    if path.is_file() and path.read_bytes() == data:
        return  # unchanged: keep the timestamp (make / the csim cache stay warm)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _remove_stale(root: Path, new_files: dict[str, str]) -> None:
    """Delete files an earlier write_project generated that this design no longer has."""
    try:
        old = json.loads(inside(root, MANIFEST).read_text()).get("files", [])
    except (OSError, ValueError, AttributeError):
        return
    for rel in old if isinstance(old, list) else []:
        if not isinstance(rel, str) or rel in new_files:
            continue
        try:
            path = inside(root, rel)
        except FxflowError:
            continue
        if path.is_file():
            path.unlink()


# --- test vectors -------------------------------------------------------------------------------

def input_lines(x, inputs: list[Port]) -> str:
    """Samples as text: one line per sample, every input value as an exact hex float."""
    n_in = sum(p.size for p in inputs)
    if isinstance(x, (list, tuple)) and len(inputs) > 1 and len(x) == len(inputs):
        parts = [_samples(np.asarray(a, dtype=np.float64), p.size, f"input '{p.name}'") for a, p in zip(x, inputs)]
        if len({a.shape[0] for a in parts}) != 1:
            raise ShapeError(f"inputs have different sample counts: {[a.shape[0] for a in parts]}")
        arr = np.concatenate(parts, axis=1)
    else:
        arr = _samples(np.asarray(x, dtype=np.float64), n_in, "inputs")
    if not np.all(np.isfinite(arr)):
        raise ShapeError("inputs contain NaN or infinity; the fixed-point conversion of those is undefined")
    return "".join(" ".join(map(short_hex, row)) + "\n" for row in arr.tolist())


def _samples(a: np.ndarray, size: int, what: str) -> np.ndarray:
    if a.ndim == 0 or a.size == 0 or (a.ndim > 1 and math.prod(a.shape[1:]) != size) or a.size % size:
        raise ShapeError(f"{what}: expected an array [N, ...] with {size} values per sample, got shape {list(a.shape)}")
    return a.reshape(-1, size)


def expected_lines(expected, n_samples: int | None, outputs: list[Port]) -> str:
    """Expected stored integers as text: one line per sample, decimal."""
    n_out = sum(p.size for p in outputs)
    a = np.asarray(expected)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise ShapeError("expected outputs must be stored integers (value * 2^f), got non-integral numbers")
    elif a.dtype.kind not in "iuO":
        raise ShapeError(f"expected outputs must be integers, got dtype {a.dtype}")
    a = _samples(a, n_out, "expected outputs")
    if n_samples is not None and a.shape[0] != n_samples:
        raise ShapeError(f"expected outputs hold {a.shape[0]} samples but the inputs hold {n_samples}")
    return "".join(" ".join(str(int(v)) for v in row) + "\n" for row in a.tolist())


def write_project(module, out_dir, *, project_name: str | None = None, inputs=None, expected=None,
                  part: str | None = None, clock_period: float | None = None, flavour=None) -> Path:
    """Write the Vitis HLS project of the module's `df.graph` into `out_dir`; returns its resolved path.

    `inputs` (float array [N, ...]; a list of arrays for several graph inputs) and `expected` (stored
    integers [N, M], M = all outputs flattened) become `tb_data/`; with `inputs` but no `expected`, a
    stale `tb_output_predictions.dat` is removed.  `part` / `clock_period` override the module's
    `fxflow.part` / `fxflow.clock_period` attributes (defaults xcvu13p-flga2577-2-e, 5 ns)."""
    if expected is not None and inputs is None:
        raise ConfigError("write_project: `expected` outputs need the matching `inputs`")
    design = lower_graph(module, project_name=project_name, part=part, clock_period=clock_period, flavour=flavour)
    files = render_project(design)
    tb_in = tb_exp = None
    if inputs is not None:
        tb_in = input_lines(inputs, design.inputs)
        if expected is not None:
            tb_exp = expected_lines(expected, tb_in.count("\n"), design.outputs)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    _remove_stale(root, files)
    for rel, text in files.items():
        _write(root, rel, text)
    inside(root, TB_DIR).mkdir(exist_ok=True)
    if tb_in is not None:
        _write(root, f"{TB_DIR}/{TB_INPUTS}", tb_in)
        if tb_exp is not None:
            _write(root, f"{TB_DIR}/{TB_EXPECTED}", tb_exp)
        else:
            stale = inside(root, f"{TB_DIR}/{TB_EXPECTED}")
            if stale.is_file():
                stale.unlink()
    return root
