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


def _both_executors_equal_predict(d, x, tmp_path):
    """The joint simulation with the PL emulated, then (with g++) with the emitted HLS and bridges, == predict."""
    want = d.predict(x, raw=True)
    np.testing.assert_array_equal(d.simulate(x, raw=True), want)
    needs("g++", "ap_types")
    d.write(tmp_path)
    np.testing.assert_array_equal(d.simulate(x, raw=True, pl="csim"), want)


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
    _both_executors_equal_predict(forced, _inputs(seed=4), tmp_path)


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


class BigConvHead(nn.Module):
    """A 2x40x40 input whose conv overflows one tile (its rows split over tiles), then pool, flatten, dense."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(8)
        self.head = nn.Linear(8 * 5 * 5, 4)

    def forward(self, x):
        return self.head(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


def test_row_split_conv_reads_its_bands_over_plio(tmp_path):
    """The bridge into the AIE sends each band's rows and halo in turn (the PLIO carries the overlap); the
    joint simulation and the emitted bridges under g++ equal predict."""
    torch.manual_seed(2)
    d = fxflow.compile(BigConvHead().eval(), torch.zeros(1, 2, 40, 40), INT8, backend="versal",
                       versal={"target_rate_mhz": 0.05, "partition": {"conv": "aie", "relu": "aie"}})
    prog = d.aie_program
    rows = prog.inputs[0].rows
    assert prog.layers[0].cas_num == len(rows) >= 2 and problems(prog) == []
    p_in, = ports_of(prog, "in")
    assert p_in.elements_per_row == sum(b - a for a, b in rows) * 40 * 16 > 40 * 40 * 16
    seg, = d.report()["segments"]
    assert seg["plio_bytes_in"] == p_in.elements_per_row  # the planner costs the bands the bridge sends
    feats = np.random.default_rng(0).integers(-128, 128, size=(3, 2 * 40 * 40))
    beats = pack(p_in, feats)
    assert len(beats) == p_in.beats(3)
    out = np.zeros_like(feats)
    unpack(p_in, beats, 3, out)  # every feature arrives (halo rows twice, the same value)
    np.testing.assert_array_equal(out, feats)
    _both_executors_equal_predict(d, _inputs(n=3, hw=40, seed=5), tmp_path)
    assert "row bands" in (tmp_path / "pl_in" / "firmware" / f"{d.versal.top}_to_aie.cpp").read_text()


def test_conv_then_pl_then_dense_on_two_aie_segments(tmp_path):
    """conv + ReLU on the AIE, max pool .. flatten on the PL, the dense head on the AIE again: two AIE segments
    (a feature-map program and a dense one) joined by PLIO bridges; the joint simulation (emulated PL, and the
    emitted HLS + bridges under g++) equals predict."""
    torch.manual_seed(3)
    model = ConvHead(4).eval()
    d = _compile(model, INT12, partition={"conv1": "aie", "relu": "aie", "head": "aie"})
    assert [p.role for p in d.versal.parts] == ["aie0", "pl_mid0", "aie1"]
    kinds = [{layer.kind for layer in prog.layers} for prog in d.versal.aie_programs]
    assert kinds == [{"conv"}, {"dense"}]
    for seg, prog in zip(d.report()["segments"], d.versal.aie_programs):  # padding to the 128-bit PLIO is costed:
        for side in ("in", "out"):  # the planner's bytes are the beats the bridges move
            ports = ports_of(prog, side)
            assert seg[f"plio_bytes_{side}"] == sum(p.beats(prog.batch) for p in ports) * 16, (side, seg)
    place = d.report()["plan"]["placement"]
    assert place["conv1"] == place["head"] == "aie" and place["pool"] == "pl"
    _both_executors_equal_predict(d, _inputs(seed=6), tmp_path)


def test_cnn2d_example_puts_its_conv_part_on_the_aie_when_the_aie_meets_the_rate():
    """The bundled cnn2d (16-bit): all on PL needs ~24x the DSPs (reuse 1), so at a rate the AIE conv sustains
    (0.1 MHz; conv1's 1 input channel padded to a 16-lane vector costs 9.2 us per sample) the planner puts
    conv1 .. pointwise on the AI Engines and the rest (average pool, dense, softmax) on the PL."""
    from fxflow.examples import cnn2d

    x = cnn2d.make_inputs(4).astype(np.float32)
    d = fxflow.compile(cnn2d.make_model(), torch.from_numpy(x[:1]), {"model": {"precision": "ap_fixed<16,6>"}},
                       backend="versal", versal={"target_rate_mhz": 0.1})
    place = d.report()["plan"]["placement"]
    assert [place[k] for k in ("conv1", "pool1", "depthwise", "pointwise", "gap", "fc")] == \
        ["aie", "aie", "aie", "aie", "pl", "pl"]
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))


def test_cnn2d_at_a_rate_no_plan_meets_names_the_conv_plan_that_misses_only_the_rate():
    """At the default 40 MHz no plan fits: all on PL overflows the DSPs, and the AIE conv part takes ~9 us per
    sample; the error names that plan and its one problem, not only the fastest plan (the dense head on AIE)."""
    from fxflow.examples import cnn2d
    from fxflow.lowering.versal.plan import VersalFitError

    x = cnn2d.make_inputs(1).astype(np.float32)
    with pytest.raises(VersalFitError, match=r"(?s)all on PL: .*DSP.*missing the fewest limits \(layers 'conv1'"
                                             r"[^)]*\): 40 MHz needs one sample every 25 ns; the AIE part \(layers "
                                             r"'conv1'[^)]*\) takes 9\.24e\+03 ns"):
        fxflow.compile(cnn2d.make_model(), torch.from_numpy(x), {"model": {"precision": "ap_fixed<16,6>"}},
                       backend="versal")
