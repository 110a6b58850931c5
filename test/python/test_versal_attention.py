"""Versal designs with token layers ([batch, tokens, features]) on the AI Engines: an encoder (Linear embed over
the tokens -> LayerNorm -> nn.MultiheadAttention -> Linear head) whose token layers are AIE segment candidates,
costed by the AIE attention path's cycle model (`attention.dag_cost`, the figures its program reports) and built
by it; each PLIO port carries a sample's whole [tokens, features] value row-major.  The planner puts the encoder on
the AIE at a rate the AIE sustains (its LARE is lower), keeps it on PL at a rate it does not and names that reason
per layer; the joined simulation (PL emulated, or the emitted HLS + bridges under g++) equals `predict` bit for
bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import fxflow
from fxflow.lowering.aie.check import problems
from fxflow.lowering.aie.cycles import design_cycles
from test_versal_fmap import _both_executors_equal_predict

INT8 = {"model": {"precision": "ap_fixed<8,3>"}}
TOKENS, FEATURES = 5, 6


class Encoder(nn.Module):
    def __init__(self, embed: int, heads: int = 2, out: int = 4):
        super().__init__()
        self.embed = nn.Linear(FEATURES, embed)
        self.norm = nn.LayerNorm(embed)
        self.attn = nn.MultiheadAttention(embed, heads, batch_first=True)
        self.head = nn.Linear(embed, out)

    def forward(self, x):
        h = self.norm(self.embed(x))
        return self.head(self.attn(h, h, h, need_weights=False)[0])


def _inputs(n=4, seed=0):
    return np.random.default_rng(seed).normal(0, 1.5, (n, TOKENS, FEATURES)).astype(np.float32)


def _compile(embed: int, seed: int = 0, **versal):
    torch.manual_seed(seed)
    return fxflow.compile(Encoder(embed).eval(), _inputs()[:1], INT8, backend="versal", versal=versal)


@pytest.fixture(scope="module")
def slow_rate():
    """embed 16: the attention block alone needs ~168k PL LUTs (R_PL 0.66); at 0.1 MHz the AIE program (2 us per
    sample) meets the rate and its LARE is lower, so `auto` puts the whole encoder on the AI Engines."""
    return _compile(16, target_rate_mhz=0.1)


def test_auto_puts_the_attention_on_the_aie_by_the_metric(slow_rate):
    rep = slow_rate.report()
    assert set(rep["plan"]["placement"].values()) == {"aie"}
    assert [p.role for p in slow_rate.versal.parts] == ["aie"]
    why = {r["layer"]: r["why"] for r in rep["layers"]}
    assert why["attn"].startswith("on AIE segment 0: least LARE") and "best plan with it on PL has LARE" in why["attn"]
    all_pl = slow_rate.versal.planner.evaluate(None)
    assert all_pl.feasible and all_pl.lare > slow_rate.versal.plan.lare  # the metric decides, not a limit
    prog = slow_rate.aie_program
    assert problems(prog) == [] and all(p.plio for p in prog.inputs + prog.outputs)
    roles = [k.role for k in prog.kernels]
    assert roles.count("matmul") == 2 and "layernorm" in roles and "softmax" in roles
    seg, = rep["segments"]  # the planner's figures are the built program's
    cyc = design_cycles(prog)
    assert seg["tiles"] == cyc["tiles"] == len(prog.cores)
    assert seg["interval_cycles"] == cyc["interval_cycles"]
    assert (seg["plio_bytes_in"], seg["plio_bytes_out"]) == (TOKENS * FEATURES, TOKENS * 4)  # i8 lanes
    assert (prog.in_features, prog.out_features) == (TOKENS * FEATURES, TOKENS * 4)


def test_auto_joint_simulation_equals_predict(slow_rate, tmp_path):
    """Emulated, then the bridges alone (pl_in / pl_out: no PL layer borders the segment) under g++."""
    _both_executors_equal_predict(slow_rate, _inputs(5, seed=1), tmp_path)


def test_a_rate_the_aie_cannot_sustain_keeps_the_encoder_on_pl():
    """At 2 MHz (500 ns per sample) the AIE program's ~2 us per sample misses the rate: all on PL, and each token
    layer's reason names the rate and the AIE part's time per sample."""
    d = _compile(16, target_rate_mhz=2.0)
    rep = d.report()
    assert set(rep["plan"]["placement"].values()) == {"pl"} and not d.versal.aie_programs
    why = {r["layer"]: r["why"] for r in rep["layers"]}
    assert why["attn"].startswith("on PL: least LARE")
    assert "every plan with it on AIE is infeasible" in why["attn"] and "2 MHz needs one sample every 500 ns" \
        in why["attn"] and "ns per sample" in why["attn"]
    attn = next(r for r in rep["layers"] if r["layer"] == "attn")
    assert attn["aie"]["tiles"] == 5 and attn["aie"]["interval_ns"] > 500  # q/k/v joined, 2 matmuls, scale, softmax, ...
    x = _inputs(3, seed=2)
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))


def test_attention_on_the_aie_because_pl_cannot_hold_it(tmp_path):
    """16-bit: all on PL needs ~263 % of xcve2802's DSPs (LayerNorm, attention), so the encoder goes to the AIE with
    i16 PLIO lanes; with AIE tiles weighted 40x the head's one tile costs more than its PL share, so it stays on PL
    (AIE -> PL tail).  Joint simulation == predict, emulated and through the emitted bridge + HLS tail under g++."""
    torch.manual_seed(2)
    d = fxflow.compile(Encoder(8).eval(), _inputs()[:1], {"model": {"precision": "ap_fixed<16,6>"}},
                       backend="versal", versal={"target_rate_mhz": 0.1, "weights": {"tiles": 40}})
    rep = d.report()
    assert rep["plan"]["placement"] == {"embed": "aie", "norm": "aie", "attn": "aie", "head": "pl"}
    assert [p.role for p in d.versal.parts] == ["aie", "pl_tail"] and d.aie_program.in_store == "i16"
    why = {r["layer"]: r["why"] for r in rep["layers"]}
    assert "every plan with it on PL is infeasible" in why["attn"] and "DSP" in why["attn"]
    assert why["head"].startswith("on PL: least LARE")
    _both_executors_equal_predict(d, _inputs(4, seed=4), tmp_path)


def test_forced_attention_between_pl_parts(tmp_path):
    """PL head (embed) -> AIE (LayerNorm, attention) -> PL tail (head): the token tensors cross both PLIO
    boundaries; emulated and through the emitted HLS + bridges under g++."""
    d = _compile(8, seed=1, target_rate_mhz=0.1, partition={"norm": "aie", "attn": "aie"})
    assert [p.role for p in d.versal.parts] == ["pl_head", "aie", "pl_tail"]
    assert {r["layer"]: r["why"] for r in d.report()["layers"]}["attn"] == "forced"
    _both_executors_equal_predict(d, _inputs(4, seed=3), tmp_path)
    src = (tmp_path / "pl_head" / "firmware" / f"{d.versal.top}_to_aie.cpp").read_text()
    assert f"in 1 slice(s) of {TOKENS * 8}" in src  # one sample's [tokens, features] row-major per beat run
    assert "[tokens, features] value row-major" in (tmp_path / "README.md").read_text()


def test_token_and_row_layers_do_not_share_a_segment():
    """A token layer and a [batch, features] layer in one forced AIE run: an error naming both ends."""

    class Pooled(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(FEATURES, 8)
            self.fc = nn.Linear(TOKENS * 8, 4)

        def forward(self, x):
            return self.fc(torch.flatten(self.embed(x), 1))

    torch.manual_seed(0)
    with pytest.raises(fxflow.FxflowError, match=r"(?s)'embed'..'fc': an AIE part runs either token layers.*not both"):
        fxflow.compile(Pooled().eval(), _inputs()[:1], INT8, backend="versal",
                       versal={"target_rate_mhz": 0.1, "partition": {"embed": "aie", "view_2": "aie", "fc": "aie"}})


class Block(nn.Module):
    """embed -> x + attn(norm1(x)) -> x + fc2(relu(fc1(norm2(x)))) -> head: token layers inside residual blocks."""

    def __init__(self, embed: int = 16):
        super().__init__()
        self.embed = nn.Linear(FEATURES, embed)
        self.n1, self.n2 = nn.LayerNorm(embed), nn.LayerNorm(embed)
        self.attn = nn.MultiheadAttention(embed, 2, batch_first=True)
        self.fc1, self.fc2 = nn.Linear(embed, 2 * embed), nn.Linear(2 * embed, embed)
        self.head = nn.Linear(embed, 3)

    def forward(self, x):
        x = self.embed(x)
        h = self.n1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        x = x + self.fc2(torch.relu(self.fc1(self.n2(x))))
        return self.head(x)


def test_residual_encoder_block_on_the_aie():
    """16-bit: the PL cannot hold the block (DSPs), so it all runs on the AIE (two residual adds, a fused ReLU);
    a layer inside a residual is costed on the AIE with the smallest segment holding it, which its reason names."""
    torch.manual_seed(3)
    d = fxflow.compile(Block().eval(), _inputs()[:1], {"model": {"precision": "ap_fixed<16,6>"}}, backend="versal",
                       versal={"target_rate_mhz": 0.1})
    rep = d.report()
    assert set(rep["plan"]["placement"].values()) == {"aie"}
    rows = {r["layer"]: r for r in rep["layers"]}
    assert rows["attn"]["aie_span"] == ["n1", rows["attn"]["aie_span"][1]] and rows["attn"]["aie"]["tiles"] > 5
    assert f"(with layers 'n1'..'{rows['attn']['aie_span'][1]}')" in rows["attn"]["why"]
    assert "aie_span" not in rows["head"]
    x = _inputs(3, seed=5)
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
