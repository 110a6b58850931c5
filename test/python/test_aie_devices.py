"""Per-device structural rules read off the emitted mlir-aie text (not off fxflow's own program model, so a
bug shared by the builder and its checker still shows): every tile inside the device's array, shim tiles
only in shim-DMA columns, memory tiles in the memory-tile rows, cores and buffers on compute rows, cascades
only one step in the device's cascade directions, and each tile's buffers within its memory.  These are the
rules of mlir-aie's target models (AIETargetModel.h) that aie-opt enforces or that fail at allocation.
"""

from __future__ import annotations

import re
from math import prod
from pathlib import Path

import pytest

from fxflow.dialects import new_context
from fxflow.ir import ir
from fxflow.lowering.aie.build import build_program
from fxflow.lowering.aie.device import DEVICES, Device, get_device
from fxflow.lowering.aie.driver import lower_for_aie
from fxflow.lowering.aie.emit import emit_program

INPUTS = Path(__file__).parents[1] / "lowering" / "aie" / "Inputs"
DESIGNS = {"dense": "mlp-20-24-6.mlir", "hccs": "mlp-hccs.mlir", "cnn": "cnn-residual.mlir"}

_TILE = re.compile(r"^\s*%(\w+) = aie\.tile\((\d+), (\d+)\)", re.M)
_MEMREF = r"memref<([0-9x]+)x?([if]\d+)>"
_BUFFER = re.compile(r"aie\.buffer\(%(\w+)\) .*?: " + _MEMREF)
_FIFO = re.compile(r"aie\.objectfifo @(\w+)\(%(\w+)(?: dimensionsToStream \[[^\]]*\])?, \{([^}]*)\}, (\d+) : i32\).*: !aie\.objectfifo<" + _MEMREF + ">")
_LINK = re.compile(r"aie\.objectfifo\.link \[([^\]]*)\] -> \[([^\]]*)\]")
_CORE = re.compile(r"aie\.core\(%(\w+)\)")
_CASCADE = re.compile(r"aie\.cascade_flow\(%(\w+), %(\w+)\)")
_EXTERNAL = re.compile(r"aie\.objectfifo\.register_external_buffers @\w+\(%(\w+),")


def emitted(design: str, device: str) -> str:
    with new_context():
        module = ir.Module.parse((INPUTS / DESIGNS[design]).read_text())
        lower_for_aie(module, {"device": device})
        return emit_program(build_program(module))


def nbytes(dims: str, elem: str) -> int:
    return prod(int(d) for d in dims.split("x") if d) * int(elem[1:]) // 8


def violations(text: str, dev: Device) -> list[str]:
    """Every broken device rule in an mlir-aie text, as messages naming the tile and the rule."""
    errs = []
    device = re.search(r"aie\.device\((\w+)\)", text)
    if device is None or device.group(1) != dev.name:
        errs.append(f"aie.device is not {dev.name}")
    tiles = {name: (int(c), int(r)) for name, c, r in _TILE.findall(text)}
    if not tiles:
        errs.append("no aie.tile")
    plio_shims = set()  # shims at a `{plio = true}` FIFO's end: PL interface tiles, which every column has
    for line in text.splitlines():
        fifo = _FIFO.search(line)
        if fifo is not None and "{plio = true}" in line:
            plio_shims |= {fifo.group(2), *re.findall(r"%(\w+)", fifo.group(3))}
    for name, (c, r) in tiles.items():
        if not (0 <= c < dev.cols and 0 <= r < dev.rows):
            errs.append(f"{name} = tile({c}, {r}) outside the {dev.cols} x {dev.rows} array")
        if r == 0 and c not in dev.shim_dma_cols and name not in plio_shims:
            errs.append(f"shim {name} in column {c}, which has no shim DMA ({dev.shim_dma_cols})")
    for name in _CORE.findall(text):
        if tiles[name][1] not in dev.compute_rows:
            errs.append(f"aie.core on {name}, not a compute row")
    mem = dict.fromkeys(tiles, 0)
    for name, dims, elem in _BUFFER.findall(text):
        if tiles[name][1] not in dev.compute_rows:
            errs.append(f"aie.buffer on {name}, not a compute row")
        mem[name] += nbytes(dims, elem)
    fifos = {}
    for fname, prod_, cons, depth, dims, elem in _FIFO.findall(text):
        ends = [prod_] + [c.strip().lstrip("%") for c in cons.split(",") if c.strip()]
        fifos[fname] = (ends, int(depth) * nbytes(dims, elem))
        for t in ends:
            if tiles[t][1] not in (0, *dev.mem_rows, *dev.compute_rows):
                errs.append(f"FIFO @{fname} ends at {t}, in no tile row")
    linked = {}  # memory tile of a link -> bytes of its shared buffers (the larger side of the link)
    for srcs, dsts in _LINK.findall(text):
        sides = [[s.strip().lstrip("@") for s in side.split(",")] for side in (srcs, dsts)]
        shared = [t for t in fifos[sides[0][0]][0] if t in fifos[sides[1][0]][0]]
        if len(shared) != 1 or tiles[shared[0]][1] not in dev.mem_rows:
            errs.append(f"objectfifo.link {srcs} -> {dsts} is not through one memory tile")
            continue
        linked[shared[0]] = linked.get(shared[0], 0) + max(sum(fifos[f][1] for f in side) for side in sides)
        for side in sides:
            for f in side:
                fifos[f] = ([t for t in fifos[f][0] if t != shared[0]], fifos[f][1])
    for ends, size in fifos.values():
        for t in ends:
            mem[t] += size
    for t, size in linked.items():
        mem[t] += size
    for t, used in mem.items():
        r = tiles[t][1]
        limit = dev.memtile_memory if r in dev.mem_rows else dev.tile_memory if r in dev.compute_rows else None
        stack = dev.stack_bytes if t in _CORE.findall(text) else 0
        if limit is not None and used + stack > limit:
            errs.append(f"{t} holds {used + stack} bytes, more than its {limit}")
    for t in _EXTERNAL.findall(text):
        if tiles[t][1] != 0:
            errs.append(f"external buffers registered on {t}, not a shim tile")
    for s, d in _CASCADE.findall(text):
        (sc, sr), (dc, dr) = tiles[s], tiles[d]
        if sr not in dev.compute_rows or dr not in dev.compute_rows:
            errs.append(f"cascade_flow({s}, {d}) leaves the compute rows")
        if (dc - sc, dr - sr) not in dev.cascade_steps:
            errs.append(f"cascade_flow({s}, {d}) is not a step {dev.cascade_steps}")
    return errs


@pytest.mark.parametrize("device", ["xcve2802", "npu1", "npu2"])
@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_emitted_text_respects_the_device(design, device):
    text = emitted(design, device)
    assert violations(text, get_device(device)) == []
    if design == "dense":
        assert "aie.cascade_flow" in text  # the cascade rule is exercised, not vacuous
    if design == "cnn":  # every FIFO is read by the rules (a memory-tile re-layout too), the residual fans out
        assert len(_FIFO.findall(text)) == text.count("aie.objectfifo @")
        assert any(len(cons.split(",")) > 1 for _, _, cons, *_ in _FIFO.findall(text))


def test_npu1_is_the_four_column_model():
    """mlir-aie's `npu1` (VirtualizedNPU1TargetModel): 4 columns, every shim tile with a DMA, column 0 too."""
    dev = get_device("npu1")
    assert (dev.cols, dev.rows, dev.shim_dma_cols, dev.mem_rows, dev.compute_rows) == \
        (4, 6, (0, 1, 2, 3), (1,), (2, 3, 4, 5))
    assert [get_device(f"npu2_{n}col").cols for n in range(1, 8)] == list(range(1, 8))
    assert get_device("npu2").cols == 8 and get_device("npu1_3col").cols == 3
    assert all(d.tile_memory == 64 * 1024 and d.memtile_memory == 512 * 1024 and d.tile_locks == 16
               and d.memtile_locks == 64 and d.memtile_dma == (6, 6) for d in DEVICES.values())


def test_variant_places_within_its_columns():
    text = emitted("dense", "npu2_4col")
    assert violations(text, get_device("npu2_4col")) == []
    assert "aie.device(npu2_4col)" in text


@pytest.mark.parametrize("device", ["npu1", "xcve2802"])
def test_the_rules_catch_a_broken_text(device):
    """The checker is not vacuous: a tile moved out of the array, a shim off a DMA column, a backward
    cascade and an oversized buffer are each reported."""
    dev = get_device(device)
    text = emitted("dense", device)
    bad_col = dev.cols  # one past the last column: what the old 5-column npu1 table produced
    broken = re.sub(r"= aie\.tile\((\d+), (\d+)\)", lambda m: f"= aie.tile({bad_col}, {m.group(2)})", text, count=1)
    assert any("outside" in e for e in violations(broken, dev))
    cascade = _CASCADE.search(text)
    swapped = text.replace(cascade.group(0), f"aie.cascade_flow(%{cascade.group(2)}, %{cascade.group(1)})")
    assert any("is not a step" in e for e in violations(swapped, dev))
    big = re.sub(r"(aie\.buffer\(%\w+\) \{[^}]*\} : )memref<16x16xi8>", r"\1memref<256x256xi8>", text, count=1)
    assert any("more than its" in e for e in violations(big, dev))
    no_dma = [c for c in range(dev.cols) if c not in dev.shim_dma_cols]
    if no_dma:
        shim = re.sub(r"(%shim_\d+_0 = aie\.tile\()(\d+)", lambda m: f"{m.group(1)}{no_dma[0]}", text, count=1)
        assert any("no shim DMA" in e for e in violations(shim, dev))


def test_npu1_full_width_layer_stays_in_four_columns():
    """A 4-K-slice layer spans the whole npu1 array; the old 5-column table put its shim and memory tiles in
    column 4, which aie-opt rejects for `aie.device(npu1)`."""
    import sys

    import numpy as np

    sys.path.insert(0, str(Path(__file__).parent))
    from test_aie import lower, mlp_graph  # the dense-net builder of the AIE tests

    from fxflow.fixed import FixedFormat as F

    i8 = F(1, 2, 5)
    g = mlp_graph(np.random.default_rng(0), [512, 128, 64], i8, [F(1, 0, 7)] * 2, [i8] * 2)
    prog = lower(g.text(), device="npu1")[2]
    text = emit_program(prog)
    assert violations(text, get_device("npu1")) == []
    assert {int(c) for c in re.findall(r"aie\.tile\((\d+), \d+\)", text)} == {0, 1, 2, 3}
