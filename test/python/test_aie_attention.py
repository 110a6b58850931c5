"""Attention blocks on the AIE backend: nn.MultiheadAttention (batch_first, several heads) as a DAG of single-tile
kernels -- in_proj, the head split as the scores kernel's addressing, the 1/sqrt(d) scale_shift, Q·Kᵀ and P·V per
head (aie::mmul in the 8x8 / 16x8 / 16x16 modes), the table softmax in the middle of the graph, the head merge as
out_proj's addressing, out_proj.  The simulated placed program equals predict bit for bit over shapes, heads and
formats, every emitted kernel passes the syntax check, the mlir-aie text passes the per-device structural rules on
xcve2802, npu1 and npu2, the cycle model counts the new kernels, and what the AIE cannot host is an error naming
the layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from torch import nn

import fxflow
from fxflow.errors import FxflowError
from fxflow.lowering.aie.attention import Access, affine_access
from fxflow.lowering.aie.kernels import check_syntax, render_kernels
from toolchains import needs

# model precision, weight precision (None: the model's) -> the dense mode of in_proj / out_proj
FORMATS = {"8x8": ("ap_fixed<8,3>", None), "16x8": ("ap_fixed<16,6>", "ap_fixed<8,2>"),
           "16x16": ("ap_fixed<16,6>", None)}


class AttentionNet(nn.Module):
    """[LayerNorm ->] MultiheadAttention(x, x, x) [-> Linear -> softmax over the features], per sample."""

    def __init__(self, embed: int, heads: int, norm: bool = False, head: int = 0):
        super().__init__()
        self.norm = nn.LayerNorm(embed) if norm else nn.Identity()
        self.attn = nn.MultiheadAttention(embed, heads, batch_first=True)
        self.fc = nn.Linear(embed, head) if head else nn.Identity()
        self.sm = nn.Softmax(dim=-1) if head else nn.Identity()

    def forward(self, x):
        h = self.norm(x)
        return self.sm(self.fc(self.attn(h, h, h, need_weights=False)[0]))


def _config(mode: str) -> dict:
    precision, weight = FORMATS[mode]
    return {"model": {"precision": precision, **({"weight": weight} if weight else {})}}


def _compile(net, x, cfg, **aie):
    return fxflow.compile(net, x[:1], config=cfg, backend="aie", aie=aie)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=(Phase.explicit, Phase.reuse, Phase.generate))  # each example compiles a model: no shrinking
@given(seed=st.integers(0, 2**16), tokens=st.integers(2, 9), shape=st.sampled_from([(4, 1), (8, 2), (12, 3), (16, 4)]),
       mode=st.sampled_from(sorted(FORMATS)), norm=st.booleans(), head=st.sampled_from([0, 5]))
def test_attention_simulate_equals_predict(seed, tokens, shape, mode, norm, head):
    torch.manual_seed(seed)
    embed, heads = shape
    net = AttentionNet(embed, heads, norm, head).eval()
    x = np.random.default_rng(seed).normal(0, 1.5, (5, tokens, embed))
    d = _compile(net, x, _config(mode))
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    roles = [k.role for k in d.aie_program.kernels]
    # in_proj is one [E, 3E] dense or three [E, E] ones (as torch.export decomposes it), then out_proj [, fc]
    assert roles.count("matmul") == 2 and roles.count("mmdense") in (2 + bool(head), 4 + bool(head))
    assert roles.count("softmax") == 1 + bool(head) and roles.count("scale") in (0, 2)  # 0: folded into in_proj
    dense_modes = {k.mode for k in d.aie_program.kernels if k.role == "mmdense"}
    assert dense_modes == {mode}, (dense_modes, mode)
    scores = next(k for k in d.aie_program.kernels if k.role == "matmul")
    assert scores.params.heads == heads and (scores.params.m, scores.params.k, scores.params.n) == \
        (tokens, embed // heads, tokens)


@pytest.fixture(scope="module")
def attention_designs():
    torch.manual_seed(0)
    x = np.random.default_rng(0).normal(0, 1.5, (4, 6, 8))
    out = {}
    for device in ("xcve2802", "npu1", "npu2"):
        for mode in FORMATS:
            d = _compile(AttentionNet(8, 2, head=5).eval(), x, _config(mode), device=device)  # in_proj [8, 24]
            assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True)), (device, mode)
            out[device, mode] = d
    return out


def test_attention_kernels_pass_the_syntax_check_on_every_device(attention_designs):
    needs("g++")
    for (device, mode), d in attention_designs.items():
        files = render_kernels(d.aie_program)
        for k in d.aie_program.kernels:  # every kernel has its own source (several share the layer name 'attn')
            assert f"kernels/{k.obj[:-2]}.cc" in files
            assert f"void {k.name}(" in files[f"kernels/{k.obj[:-2]}.cc"]
        assert "aie::mmul" in files["kernels/fxflow_dense.h"] and "kernels/fxflow_attention.h" in files
        assert {k.role for k in d.aie_program.kernels} == {"mmdense", "scale", "matmul", "softmax"}
        assert check_syntax(files, d.aie_program.device) == {}, (device, mode)


def test_attention_text_respects_each_device(attention_designs):
    from fxflow.lowering.aie.emit import emit_program
    from test_aie_devices import violations

    for (device, mode), d in attention_designs.items():
        text = emit_program(d.aie_program)
        assert violations(text, d.aie_program.device) == [], (device, mode)
        assert "func.call @attn_8_matmul(%x, %x1, %y)" in text  # Q·Kᵀ reads two FIFOs


def test_cycle_report_counts_the_attention_kernels(attention_designs):
    rep = attention_designs["xcve2802", "16x16"].report()
    rows = rep["layers"]
    prog = attention_designs["xcve2802", "16x16"].aie_program
    assert len(rows) == len(prog.kernels) == len(prog.cores)
    mm = [r for r in rows if r["mode"].startswith("matmul")]
    assert len(mm) == 2 and all(r["kernel_cycles"] > 0 and r["macs"] > 0 for r in mm)
    assert {r["mode"] for r in rows} >= {"matmul 16x16", "mmdense 16x16", "scale int64", "softmax"}
    assert rep["interval_cycles"] >= max(r["interval"] for r in rows)


def test_affine_access_is_the_gather_it_replaces():
    idx = np.arange(4 * 24).reshape(4, 24)[:, 8:16].reshape(4, 2, 4).transpose(1, 0, 2).ravel()  # K head split
    acc = affine_access(idx)
    assert acc == Access(8, ((2, 4), (4, 24), (4, 1))) and np.array_equal(acc.order(), idx)
    assert affine_access(np.array([0, 2, 1, 3, 5])) is None


class AttentionThen(nn.Module):
    """Attention, a Linear over the tokens and an activation after it."""

    def __init__(self, act):
        super().__init__()
        self.attn, self.fc, self.act = nn.MultiheadAttention(8, 2, batch_first=True), nn.Linear(8, 8), act

    def forward(self, v):
        return self.act(self.fc(self.attn(v, v, v, need_weights=False)[0]))


@pytest.mark.parametrize("mode", ["8x8", "16x16"])
def test_table_activation_in_an_attention_dag_runs_on_the_aie(mode):
    """GELU (fxp.lut) is the table row kernel of rows.py anywhere in the DAG: simulate == predict."""
    torch.manual_seed(0)
    x = np.random.default_rng(0).normal(0, 1, (12, 4, 8))
    d = _compile(AttentionThen(nn.GELU()).eval(), x, _config(mode))
    assert [k.role for k in d.aie_program.kernels][-1] == "lut"
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))


def test_what_the_attention_path_cannot_host_names_the_layer():
    x = np.random.default_rng(0).normal(0, 1, (3, 4, 8))
    with pytest.raises(FxflowError, match=r"layer 'act' \(fxp.clamp\).*not supported on the AI Engines yet"):
        _compile(AttentionThen(nn.Hardtanh()).eval(), x, _config("8x8"))
    cfg = _config("16x16")
    cfg["layers"] = {"attn": {"accum": "ap_fixed<20,8>"}}
    with pytest.raises(FxflowError, match=r"layer 'attn'"):
        _compile(AttentionNet(8, 2).eval(), x, cfg)


class Scores(nn.Module):
    """q @ k of two per-token Linear results (a matmul of two activations without a head split)."""

    def __init__(self):
        super().__init__()
        self.q, self.k = nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x):
        return torch.matmul(self.q(x), self.k(x))


class Permute(nn.Module):
    """A per-token Linear, transposed and flattened into the next Linear: its read is an affine access."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 4), nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(self.fc1(x).transpose(1, 2).reshape(x.shape[0], -1))


@pytest.mark.parametrize("make", [Scores, Permute])
def test_matmul_and_permute_outside_attention_run_on_the_aie(make):
    torch.manual_seed(0)
    x = np.random.default_rng(1).normal(0, 1, (6, 4, 4))
    d = _compile(make().eval(), x, _config("16x16"))
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))


def test_attention_too_large_for_one_tile_names_the_layer():
    """Each attention kernel runs on one tile: weights beyond a bank, or buffers beyond the tile's data memory,
    are an error naming the layer and the limit, never a kernel that overflows the tile."""
    x = np.random.default_rng(0).normal(0, 1, (2, 4, 64))
    with pytest.raises(FxflowError, match=r"layer 'attn' \(dense kernel 'attn'\): its 64x192 weights take 24576 "
                                          r"bytes; one xcve2802 memory bank holds 16384"):
        _compile(AttentionNet(64, 4).eval(), x, _config("16x16"))
    x = np.random.default_rng(0).normal(0, 1, (2, 128, 16))
    with pytest.raises(FxflowError, match=r"layer 'attn' \(\w+ kernel 'attn_\d+'\) needs \d+ bytes of data memory"):
        _compile(AttentionNet(16, 2).eval(), x, _config("16x16"))


@pytest.mark.parametrize("q, k, mode", [("ap_fixed<8,3>", "ap_fixed<8,3>", "8x8"),
                                        ("ap_fixed<16,6>", "ap_fixed<8,3>", "16x8"),
                                        ("ap_fixed<8,3>", "ap_fixed<16,6>", "16x16"),
                                        ("ap_fixed<16,6>", "ap_fixed<16,6>", "16x16")])
def test_matmul_of_activations_takes_the_mode_of_its_operands(q, k, mode):
    """q @ k with each operand's own width: int8 x int8 in 8x8, int16 x int8 in 16x8, an int8 first operand of an
    int16 one widened into 16x16; bit-exact in each."""
    torch.manual_seed(2)
    x = np.random.default_rng(2).normal(0, 1, (6, 4, 4))
    cfg = {"model": {"precision": "ap_fixed<16,6>"}, "layers": {"q": {"result": q}, "k": {"result": k}}}
    d = _compile(Scores().eval(), x, cfg)
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    assert [k.mode for k in d.aie_program.kernels if k.role == "matmul"] == [mode]
    needs("g++")
    assert check_syntax(render_kernels(d.aie_program), d.aie_program.device) == {}


class HccsScores(nn.Module):
    """softmax(q kᵀ) with the HCCS softmax in the middle of an attention graph."""

    def __init__(self):
        super().__init__()
        self.q, self.k, self.sm = nn.Linear(4, 16), nn.Linear(4, 16), nn.Softmax(dim=-1)

    def forward(self, x):
        return self.sm(torch.matmul(self.q(x), self.k(x).transpose(1, 2)))


def test_hccs_softmax_in_an_attention_graph():
    """HCCS after the scores: bit-exact and syntax-checked with rows of whole 16-lane vectors (16 tokens); rows of 4
    are an error naming the layer (the attention path does not pad rows)."""
    cfg = {"model": {"precision": "ap_fixed<8,3>"},
           "layers": {"sm": {"softmax": {"implementation": "hccs", "output": "uint8", "reciprocal": "clb"}}}}
    torch.manual_seed(0)
    x = np.random.default_rng(0).normal(0, 1, (6, 16, 4))
    d = fxflow.compile(HccsScores().eval(), x[:1], config=cfg, backend="aie", calibration_data=x)
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    assert [k.role for k in d.aie_program.kernels] == ["mmdense", "matmul", "hccs"]  # q, k: one node
    needs("g++")
    assert check_syntax(render_kernels(d.aie_program), d.aie_program.device) == {}
    x = x[:, :4]
    with pytest.raises(FxflowError, match=r"layer 'sm': the HCCS kernel reads whole 16-lane vectors; in an attention"):
        fxflow.compile(HccsScores().eval(), x[:1], config=cfg, backend="aie", calibration_data=x)


class EncoderBlock(nn.Module):
    """The bundled transformer example's encoder, per token, with a ReLU for the GELU and no mean over the tokens
    (the fused ReLU path; the example itself: test_aie_transformer_example.py): embed, [LN, MHA, + residual, LN, fc1 + ReLU, fc2, + residual], LN, head, softmax."""

    def __init__(self, features: int, embed: int, heads: int, hidden: int, classes: int):
        super().__init__()
        self.embed = nn.Linear(features, embed)
        self.norm1, self.attn = nn.LayerNorm(embed), nn.MultiheadAttention(embed, heads, batch_first=True)
        self.norm2, self.fc1, self.relu, self.fc2 = nn.LayerNorm(embed), nn.Linear(embed, hidden), nn.ReLU(), \
            nn.Linear(hidden, embed)
        self.norm, self.head, self.sm = nn.LayerNorm(embed), nn.Linear(embed, classes), nn.Softmax(dim=-1)

    def forward(self, x):
        x = self.embed(x)
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        x = x + self.fc2(self.relu(self.fc1(self.norm2(x))))
        return self.sm(self.head(self.norm(x)))


@pytest.mark.parametrize("device", ["xcve2802", "npu1", "npu2"])
def test_encoder_block_runs_on_the_aie(device):
    """Residual adds (the feature-map Add kernel over the flat value), a fused ReLU, three LayerNorms and two
    softmaxes around the attention, the transformer example's shapes (8 particles x 4 features, embed 8, 2 heads,
    MLP 16) at 16 bits: bit-exact, syntax-checked, within the device rules; q / k / v are one dense node, so its 15
    kernels fit npu1's 16 tiles (the whole example does not: test_aie_transformer_example.py)."""
    from fxflow.lowering.aie.emit import emit_program
    from test_aie_devices import violations

    torch.manual_seed(3)
    x = np.random.default_rng(3).normal(0, 1, (6, 8, 4))
    d = _compile(EncoderBlock(4, 8, 2, 16, 5).eval(), x, {"model": {"precision": "ap_fixed<16,6>"}}, device=device)
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    roles = [k.role for k in d.aie_program.kernels]
    assert roles.count("add") == 2 and roles.count("layernorm") == 3 and roles.count("matmul") == 2
    assert violations(emit_program(d.aie_program), d.aie_program.device) == []
    needs("g++")
    assert check_syntax(render_kernels(d.aie_program), d.aie_program.device) == {}


def test_residual_add_needs_whole_vectors():
    x = np.random.default_rng(0).normal(0, 1, (3, 3, 4))  # 3 tokens x 4 features: 12 elements

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(4, 2, batch_first=True)

        def forward(self, v):
            return v + self.attn(v, v, v, need_weights=False)[0]

    with pytest.raises(FxflowError, match=r"the AIE add kernel adds two values of the same shape in whole 16-lane"):
        _compile(Residual().eval(), x, _config("8x8"))
