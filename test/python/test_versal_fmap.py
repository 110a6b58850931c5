"""Versal designs with feature-map layers (conv / max pool / add) on the AI Engines: the PLIO bridges move each
sample's [C, H, W] map channels-last ([H][W][Cp], channels zero-padded to Cp), the layout the AIE feature-map
program reads and writes; the planner puts the conv part on the AIE when the PL cannot hold it; the joined
simulation (PL in the emulator, or the emitted HLS + bridges under g++) equals `predict` bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import fxflow
from fxflow.lowering.aie.check import problems
from fxflow.lowering.aie.device import AieFitError, get_device
from fxflow.lowering.aie.emit import emit_program
from fxflow.lowering.versal.bridge import BridgePort, pack, ports_of, unpack
from toolchains import needs

INT8 = {"model": {"precision": "ap_fixed<8,3>", "accum": "auto"}}
# 16-bit activations (i16 lanes on the PLIO) with narrow weights, so the PL head stays within the device
INT12 = {"model": {"precision": "ap_fixed<12,5>", "weight": "ap_fixed<6,2>", "accum": "auto"}}
RESIDUAL = ["conv2", "relu_1", "add", "relu_2"]


class ConvHead(nn.Module):
    """conv + ReLU, max pool, a residual block (conv + ReLU, add + ReLU), then flatten and a dense head."""

    def __init__(self, c=8, hw=8):
        super().__init__()
        self.conv1 = nn.Conv2d(2, c, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.head = nn.Linear(c * (hw // 2) ** 2, 4)

    def forward(self, x):
        p = self.pool(torch.relu(self.conv1(x)))
        a = torch.relu(p + torch.relu(self.conv2(p)))
        return self.head(torch.flatten(a, 1))


def _inputs(n=5, hw=8, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 2, hw, hw)) * rng.choice([0.5, 1.5, 6.0], size=(n, 1, 1, 1))).astype(np.float32)


def _compile(model, config, **versal):
    return fxflow.compile(model, torch.zeros(1, 2, 8, 8), config, backend="versal",
                          versal={"target_rate_mhz": 0.5, **versal})


@pytest.fixture(scope="module")
def auto():
    """c = 8 int8: all on PL needs ~156 % of xcve2802's LUTs, so `auto` must put the conv part on the AIE."""
    torch.manual_seed(0)
    return _compile(ConvHead().eval(), INT8)


@pytest.fixture(scope="module")
def forced():
    """The residual block forced onto the AIE between a PL head (conv1 + pool) and a PL tail (the dense head)."""
    torch.manual_seed(1)
    return _compile(ConvHead(4).eval(), INT12, partition={k: "aie" for k in RESIDUAL})


def test_auto_puts_the_conv_part_on_the_aie_because_pl_does_not_fit(auto):
    rep = auto.report()
    place = rep["plan"]["placement"]
    assert [place[k] for k in ("conv1", "pool", "conv2", "add", "view", "head")] == \
        ["aie", "aie", "aie", "aie", "pl", "pl"]
    assert [p.role for p in auto.versal.parts] == ["aie", "pl_tail"]
    why = {r["layer"]: r["why"] for r in rep["layers"]}
    assert "all on PL is infeasible" in why["conv1"] and "LUT" in why["conv1"]  # the reason, per layer
    assert why["head"].startswith("on PL: least LARE")
    assert why["view"].startswith("PL only") and "feature map" in why["view"]
    all_pl = auto.versal.planner.evaluate(None)
    assert not all_pl.feasible and any("LUT" in p for p in all_pl.problems)
    prog = auto.aie_program
    assert problems(prog) == [] and {k.role for k in prog.kernels} == {"conv", "pool", "add"}
    assert all(p.plio and p.fmap is not None for p in prog.inputs + prog.outputs)
    assert prog.inputs[0].fmap == (2, 8, 8, 16) and prog.outputs[0].fmap == (8, 4, 4, 16)
    text = emit_program(prog)
    assert text.count("{plio = true}") == 2 and "channels-last [H][W][Cp]" in text
    seg, = rep["segments"]  # the planner's PLIO figure is the program's
    assert (seg["plio_in"], seg["plio_out"]) == (len(prog.inputs), len(prog.outputs)) == (1, 1)


def test_auto_simulation_equals_predict(auto):
    x = _inputs()
    np.testing.assert_array_equal(auto.simulate(x, raw=True), auto.predict(x, raw=True))


def test_auto_simulation_through_emitted_bridges(auto, tmp_path):
    """g++ runs the bridge into the AIE (no PL layer before it) and the PL tail with the bridge out of it."""
    needs("g++", "ap_types")
    auto.write(tmp_path)
    src = (tmp_path / "pl_in" / "firmware" / f"{auto.versal.top}_to_aie.cpp").read_text()
    assert "channels-last [8][8][16]" in src
    assert "channels-last" in (tmp_path / "README.md").read_text()
    x = _inputs(n=4, seed=2)
    np.testing.assert_array_equal(auto.simulate(x, raw=True, pl="csim"), auto.predict(x, raw=True))


def test_forced_residual_block_between_pl_parts(forced, tmp_path):
    """PL head -> AIE (conv2, add reading the segment input twice) -> PL tail, 16-bit lanes: both executors."""
    assert [p.role for p in forced.versal.parts] == ["pl_head", "aie", "pl_tail"]
    prog = forced.aie_program
    assert prog.in_store == "i16" and problems(prog) == []
    assert {r["layer"]: r["why"] for r in forced.report()["layers"]}["conv2"] == "forced"
    x = _inputs(seed=4)
    want = forced.predict(x, raw=True)
    np.testing.assert_array_equal(forced.simulate(x, raw=True), want)
    needs("g++", "ap_types")
    forced.write(tmp_path)
    np.testing.assert_array_equal(forced.simulate(x, raw=True, pl="csim"), want)


@pytest.mark.parametrize("lane,signed", [(8, True), (16, True), (8, False), (16, False)])
def test_fmap_pack_unpack_roundtrip(lane, signed):
    """Channels-last with zero padding channels: pack then unpack restores every feature; the padding lanes are 0."""
    c, h, w, cp, m = 3, 4, 5, 16, 2
    port = BridgePort("in0", 0, 1, h * w * cp, lane, signed, (c, h, w, cp))
    rng = np.random.default_rng(lane)
    lo = -(1 << (lane - 1)) if signed else 0
    rows = rng.integers(lo, lo + (1 << lane), size=(m, c * h * w))
    beats = pack(port, rows)
    assert len(beats) == port.beats(m) == m * h * w * cp * lane // 128
    lanes = [(b >> (i * lane)) & ((1 << lane) - 1) for b in beats for i in range(128 // lane)]
    chl = np.asarray(lanes).reshape(m, h, w, cp)
    assert not chl[..., c:].any()  # the padding channels
    mask = (1 << lane) - 1
    np.testing.assert_array_equal(chl[..., :c], rows.reshape(m, c, h, w).transpose(0, 2, 3, 1) & mask)
    out = np.zeros_like(rows)
    unpack(port, beats, m, out)
    np.testing.assert_array_equal(out, rows)


def test_bridge_ports_of_a_feature_map_program(auto):
    p_in, = ports_of(auto.aie_program, "in")
    p_out, = ports_of(auto.aie_program, "out")
    assert p_in.fmap == (2, 8, 8, 16) and p_in.lane_bits == 8 and p_in.elements_per_row == 8 * 8 * 16
    assert p_out.fmap == (8, 4, 4, 16) and p_out.beats(1) == 4 * 4 * 16 * 8 // 128


def test_plio_needs_programmable_logic_next_to_the_array():
    """An NPU has no PL: asking the shared I/O assignment (dense and feature-map builders) for PLIO ports fails."""
    npu, ve = get_device("npu1"), get_device("xcve2802")
    with pytest.raises(AieFitError, match="npu1 has no PLIO ports"):
        npu.io_ports("plio", range(npu.cols))
    cols, per_col = ve.io_ports("plio", range(2, 5))
    assert cols == (2, 3, 4) and per_col == (ve.plio[1], ve.plio[0])
    assert ve.io_ports("host", range(ve.cols))[0] == ve.shim_dma_cols
