"""C simulation at scale and with several ports: compact weights (stored integers for the C-sim, literal
fixed-point arrays for HLS tools), size-bounded translation units built in parallel, and designs with two
inputs and two outputs in io_parallel and io_stream, each equal to `predict` bit for bit.

The CNV-sized build (1.5 M weights) is measured by benchmarks/csim_build.py, not here."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
import torch
from torch import nn

import fxflow
from fxflow.errors import FxflowError
from fxflow.lowering.hls import csim
from fxflow.toolchain import find_cxx
from toolchains import needs

pytestmark = pytest.mark.needs("g++", "ap_types")

# one weight format per storage type of the C simulation: signed char, short, int, long long; unsigned bias
WIDTHS = {"fc1": ("ap_fixed<3,1>", "signed char"), "fc2": ("ap_fixed<12,2>", "short"),
          "fc3": ("ap_fixed<24,3>", "int"), "fc4": ("ap_fixed<40,4>", "long long")}


class Medium(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3, self.fc4 = nn.Linear(64, 256), nn.Linear(256, 128), nn.Linear(128, 16), \
            nn.Linear(16, 8)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc4(torch.relu(self.fc3(x)))


@pytest.fixture(scope="module")
def medium(tmp_path_factory):
    torch.manual_seed(0)
    layers = {name: {"weight": fmt} for name, (fmt, _) in WIDTHS.items()}
    layers["fc4"]["bias"] = "ap_ufixed<10,2>"
    design = fxflow.compile(Medium().eval(), torch.zeros(1, 64), config={
        "model": {"precision": "ap_fixed<16,6>", "input": "ap_fixed<10,3>"}, "layers": layers})
    return design, design.write(tmp_path_factory.mktemp("medium") / "proj")


def _weight_header(project, layer: str, role: str = "w"):
    found = [p for p in (project / "firmware" / "weights").glob("*.h") if re.fullmatch(rf"\w*{layer}_{role}", p.stem)]
    assert len(found) == 1, found
    return found[0]


def _preprocess(header, *defines) -> str:
    """The header as a compiler sees it, with and without __SYNTHESIS__ (defines.h left out: only the
    header's own conditional text matters here)."""
    text = header.read_text().replace('#include "../defines.h"', "")
    cmd = [find_cxx(), "-std=gnu++14", "-E", "-P", *defines, "-x", "c++", "-"]
    return subprocess.run(cmd, input=text, capture_output=True, text=True, check=True).stdout


def test_weight_headers_compact_for_csim_literal_for_hls(medium):
    """The C-sim compiles stored integers at the storage width (no fixed-point literal per weight); an HLS
    tool (__SYNTHESIS__) compiles the static const fixed-point array of exact literals, nothing else."""
    design, project = medium
    for layer, (_, int_type) in WIDTHS.items():
        header = _weight_header(project, layer)
        name = header.stem
        sim = _preprocess(header)
        tail = sim[sim.index(f"namespace {name}"):]
        assert re.search(rf"static const {int_type} bits\[\d+\] = \{{", tail), (layer, tail[:300])
        assert "0x" not in tail, layer  # no hex-float literal reaches the C-sim compiler
        assert re.search(rf"static const \w+ \(&{name}\)\[\d+\] = fxflow::{name}::data;", tail)
        hls = _preprocess(header, "-D__SYNTHESIS__")
        assert f"namespace {name}" not in hls and "bits[" not in hls
        assert re.search(rf"static const \w+ {name}\[\d+\] = \{{\s*-?0x", hls), layer
    assert "unsigned short bits[" in _preprocess(_weight_header(project, "fc4", "b"))


def test_medium_design_parallel_units_bit_exact(medium, tmp_path, monkeypatch, capsys):
    """Size-bounded translation units compiled two at a time, with a progress line each; the C simulation
    equals predict on every output, and a second build is a cache hit."""
    design, project = medium
    monkeypatch.setenv("FXFLOW_CACHE_DIR", str(tmp_path / "cache"))
    limit = sum(p.stat().st_size for p in (project / "firmware").rglob("*.*")) // 3  # three groups or more
    csim.build(project, jobs=2, group_bytes=limit)
    out = capsys.readouterr().out
    units = re.findall(r"\[(\d+)/(\d+)\] (testbench|firmware group \d+)", out)
    assert len(units) >= 4 and {n for _, n, _ in units} == {str(len(units))}, out  # more units than jobs
    csim.build(project, jobs=2, group_bytes=limit)
    assert "up to date" in capsys.readouterr().out
    x = np.random.default_rng(0).uniform(-4, 4, size=(200, 64))
    x[:5] = [[-4.0] * 64, [4.0] * 64, [0.0] * 64, [0.0625] * 64, [-0.0625] * 64]  # edges of the input format
    np.testing.assert_array_equal(csim.run(project, x), design.predict(x, raw=True))


# --- several inputs and outputs --------------------------------------------------------------------

class TwoDense(nn.Module):
    """Two graph inputs added after their own layers; two outputs (a head and the shared activation)."""

    def __init__(self):
        super().__init__()
        self.fa, self.fb, self.head = nn.Linear(6, 5), nn.Linear(4, 5), nn.Linear(5, 3)

    def forward(self, a, b):
        s = torch.relu(self.fa(a) + self.fb(b))
        return self.head(s), torch.relu(s - 0.5)


class TwoConv(nn.Module):
    """Two image inputs (pixel streams in io_stream), each through a conv, added; a conv head and a dense head."""

    def __init__(self):
        super().__init__()
        self.ca, self.cb, self.head = nn.Conv2d(2, 3, 3, padding=1), nn.Conv2d(1, 3, 3, padding=1), nn.Conv2d(3, 2, 1)
        self.pool, self.fc = nn.MaxPool2d(2), nn.Linear(3 * 3 * 3, 4)

    def forward(self, a, b):
        s = torch.relu(self.ca(a) + self.cb(b))
        return self.head(s), self.fc(torch.flatten(self.pool(s), 1))


CASES = {
    "dense": (TwoDense, [(6,), (4,)], [(3,), (5,)]),
    "conv": (TwoConv, [(2, 6, 6), (1, 6, 6)], [(2, 6, 6), (4,)]),
}


@pytest.mark.parametrize("io_type,case,backend", [("io_parallel", "dense", "vitis"), ("io_stream", "dense", "vitis"),
                                                  ("io_parallel", "conv", "vitis"), ("io_stream", "conv", "vitis"),
                                                  ("io_stream", "dense", "catapult")])
def test_two_inputs_two_outputs_bit_exact(io_type, case, backend):
    if backend == "catapult":
        needs("ac_types")
    cls, in_shapes, out_shapes = CASES[case]
    torch.manual_seed(1)
    design = fxflow.compile(cls().eval(), tuple(torch.zeros(1, *s) for s in in_shapes), io_type=io_type,
                            backend=backend, config={"model": {"precision": "ap_fixed<12,4>"}})
    rng = np.random.default_rng(2)
    x = [rng.uniform(-8, 8, size=(60, *s)) for s in in_shapes]
    want, got = design.predict(x, raw=True), design.csim(x, raw=True, verbose=False)
    assert isinstance(got, list) and [g.shape for g in got] == [(60, *s) for s in out_shapes]
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g, w)
    for w, g in zip(design.predict(x), design.csim(x, verbose=False)):  # values, not only stored integers
        np.testing.assert_array_equal(g, w)
    with pytest.raises(FxflowError, match="input"):
        design.csim(x[0])


@pytest.mark.parametrize("failure,reason", [
    ("echo 'cc1plus: out of memory allocating 65536 bytes after a total of 3685638144 bytes' >&2; exit 1",
     "ran out of memory"),
    ("kill -9 $$", "was killed by signal 9"),
])
def test_compiler_out_of_memory_is_a_toolchain_error(medium, tmp_path, monkeypatch, failure, reason):
    """A compiler that runs out of memory or is killed says so (ToolchainError, fewer jobs), not 'a bug in
    fxflow's C++'."""
    from fxflow.errors import InternalError, ToolchainError

    fake = tmp_path / "fake-g++"
    fake.write_text(f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo "g++ (fake) 12"; exit 0; fi\n{failure}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("CXX", str(fake))
    monkeypatch.setenv("FXFLOW_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ToolchainError, match=f"(?s){reason}.*jobs=1") as err:
        csim.build(medium[1], verbose=False)
    assert not isinstance(err.value, InternalError)
