"""The wheel, not the editable install: `pip wheel .` ships every package folder of the mapped roots (setup.py
finds them; no list kept by hand) with its modules and the HLS templates, and the wheel installed into a fresh
venv runs `fxflow example` and one compile per backend from a working directory outside the repository.

The fresh venv sees this venv's third-party packages through a plain path line in a .pth file (a path line
does not run the editable install's finder), so its `fxflow` can only come from the wheel: checked."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# build outputs, caches and environments: never part of a source tree that is packaged
SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis",
                              ".pytest_cache", "Output", "out", ".lit_test_times.txt")

BACKENDS_SCRIPT = r'''
import sys
from pathlib import Path

import numpy as np
import torch

import fxflow

venv, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
assert Path(fxflow.__file__).resolve().is_relative_to(venv), f"fxflow imported from {fxflow.__file__}"
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).eval()
x = np.random.default_rng(0).normal(size=(8, 4))
config = {"model": {"precision": "ap_fixed<8,3,AP_RND_CONV,AP_SAT>", "accum": "exact"}}
options = {"versal": {"versal": {"partition": {"2": "aie"}}}}  # one layer on each side: PL, AIE and bridges
for backend in ("vitis", "catapult", "aie", "rtl", "versal"):
    design = fxflow.compile(model, x[:1], config=config, backend=backend, **options.get(backend, {}))
    written = design.write(out / backend)
    files = [p for p in Path(written).rglob("*") if p.is_file()]
    assert files, f"{backend}: nothing written"
    print(backend, len(files), "files")
'''


def _mapped_roots() -> dict[str, Path]:
    package_dir = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    return {name: ROOT / folder for name, folder in package_dir.items()}


def _source_files() -> dict[str, Path]:
    """{path inside the wheel: source file} for every module of every package folder below the mapped roots
    (a folder with an __init__.py whose parents up to the root are packages too)."""
    out = {}
    for name, root in _mapped_roots().items():
        for init in root.rglob("__init__.py"):
            folder = init.parent
            rel = folder.relative_to(root)
            if any(not (root / Path(*rel.parts[:i]) / "__init__.py").is_file() for i in range(len(rel.parts))):
                continue  # below a folder that is not a package: not importable as fxflow.* anyway
            prefix = "/".join(name.split(".") + list(rel.parts))
            for py in folder.glob("*.py"):
                out[f"{prefix}/{py.name}"] = py
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """`pip wheel . --no-deps` of a copy of the source tree (the build leaves nothing in the checkout)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=SKIP)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
                           "--disable-pip-version-check", "-q", "-w", str(tmp / "dist")],
                          cwd=src, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (whl,) = (tmp / "dist").glob("fxflow-*.whl")
    return whl


def test_wheel_ships_every_package_folder_and_the_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = _source_files()
    assert any("versal" in k for k in sources) and len(sources) > 100  # the walk itself sees the tree
    missing = sorted(k for k in sources if k not in names)
    assert not missing, f"the wheel lacks {len(missing)} modules, e.g. {missing[:10]}"
    packages = {k.rsplit("/", 1)[0].replace("/", ".") for k in sources}
    assert {"fxflow.lowering.versal", "fxflow.lowering.versal", "fxflow.lowering.hls", "fxflow.dialects.fxp"} <= packages
    templates = {p.name for p in (ROOT / "lowering" / "hls" / "templates").iterdir() if p.is_file()}
    assert templates and all(f"fxflow/lowering/hls/templates/{t}" in names for t in templates)
    assert "fxflow/lowering/aie/aie_api_check/aie_api/aie.hpp" in names  # the AIE kernel check's header
    assert {"fxflow/emulator/kernels/recurrent.cpp", "fxflow/emulator/kernels/fixed.h"} <= names  # the native kernels
    # nothing from outside the mapped roots (tests, scripts, the build tree) slips in as a package
    tops = {n.split("/")[0] for n in names if not n.startswith("fxflow-")}
    assert tops == {"fxflow"}, tops


def test_installed_wheel_runs_the_example_and_every_backend(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "thirdparty.pth").write_text("".join(f"{p}\n" for p in sorted(here)))
    # --ignore-installed: pip must not touch the editable install it can see through the path line
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
                    "--disable-pip-version-check", "-q", str(wheel)], check=True, timeout=300)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    where = subprocess.run([str(py), "-c", "import fxflow, fxflow.lowering.versal, fxflow.lowering.versal; print(fxflow.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert where.returncode == 0, where.stderr[-3000:]
    assert Path(where.stdout.strip()).resolve().is_relative_to(venv.resolve()), where.stdout

    example = subprocess.run([str(venv / "bin" / "fxflow"), "example", "-o", str(tmp_path / "example"),
                              "--samples", "200"], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert example.returncode == 0, example.stderr[-3000:]
    assert (tmp_path / "example" / "project.json").is_file() and (tmp_path / "example" / "build.tcl").is_file()

    script = work / "backends.py"
    script.write_text(BACKENDS_SCRIPT)
    backends = subprocess.run([str(py), str(script), str(venv), str(tmp_path / "designs")], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600)
    assert backends.returncode == 0, backends.stderr[-3000:]
    assert [line.split()[0] for line in backends.stdout.splitlines()] == ["vitis", "catapult", "aie", "rtl", "versal"]
