"""Attention through torch.export: nn.MultiheadAttention (batch_first or not, 1-2 heads, with and without bias,
self- and cross-attention, constant boolean / additive / causal masks), Linear on tokens, and a ViT-like block.

Every variant: predict == C-sim bit for bit in io_parallel and io_stream (the variants share one model, so one
C-sim build per io type), and close to the float model: with ap_fixed<18,6> the projections round their
results to 2^-12, the stable softmax stays within its stated bound, so the attention outputs (of magnitude
<~ 2) stay within ATOL = 0.01 of float32 PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from torch import nn

import fxflow
from fxflow.errors import UnsupportedOpError

ATOL = 0.01
CONFIG = {"model": {"precision": "ap_fixed<18,6>"}}
T, E = 3, 8


def _mask(kind: str, shape=(T, T)):
    if kind == "causal_bool":
        return torch.triu(torch.ones(shape), 1).bool()
    if kind == "causal_float":
        return torch.triu(torch.full(shape, float("-inf")), 1)
    return torch.linspace(-1.0, 1.0, shape[0] * shape[1]).reshape(shape)  # "float": additive


class Mha(nn.Module):
    """nn.MultiheadAttention called like users do: [batch, tokens, features] in, transposed for batch_first=False."""

    def __init__(self, e: int, heads: int, batch_first: bool, bias: bool, mask: str | None = None, shape=(T, T)):
        super().__init__()
        self.att = nn.MultiheadAttention(e, heads, batch_first=batch_first, bias=bias)
        self.batch_first = batch_first
        self.register_buffer("mask", _mask(mask, shape) if mask else None)

    def forward(self, q, kv=None):
        kv = q if kv is None else kv
        if not self.batch_first:
            q, kv = q.transpose(0, 1), kv.transpose(0, 1)
        y, _ = self.att(q, kv, kv, need_weights=False, attn_mask=self.mask)
        return y if self.batch_first else y.transpose(0, 1)


class Variants(nn.Module):
    """Four attention variants side by side (one compile, one C-sim build per io type)."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.embed = nn.Linear(4, 2 * E)  # a Linear on tokens; the graph input then has one reader (io_stream)
        self.self_bf = Mha(E, 2, True, True)
        self.self_seq = Mha(E, 1, False, False, "causal_bool")
        self.cross_bf = Mha(E, 2, True, False, "float", (T, T - 1))
        self.cross_seq = Mha(E, 2, False, True, "causal_float", (T, T - 1))
        self.weights = nn.MultiheadAttention(E, 2, batch_first=True)  # need_weights=True: torch's other path

    def forward(self, x):
        z = self.embed(x)
        h, g = z[..., :E], z[:, 1:, E:]  # cross-attention: the keys and values from other features, T - 1 tokens
        return torch.cat([self.self_bf(h, h), self.self_seq(h, h), self.cross_bf(h, g), self.cross_seq(h, g),
                          self.weights(h, h, h)[0]], dim=-1)


def _inputs(seed: int, n: int, shape=(T, 4)):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32).astype(np.float64)


def _float(model, x):
    with torch.no_grad():
        return model(torch.tensor(x, dtype=torch.float32)).numpy()


def _same(design, xs):
    y = design.predict(xs, raw=True)
    yc = design.csim(xs, raw=True, verbose=False)
    bad = np.argwhere(np.asarray(y) != np.asarray(yc))
    assert bad.size == 0, f"{len(bad)} mismatches, first at {bad[0]}"


@pytest.mark.parametrize("io", ["io_parallel", "io_stream"])
def test_multihead_attention_variants_predict_equals_csim(tmp_path, io):
    model = Variants().eval()
    design = fxflow.compile(model, torch.zeros(1, T, 4), config=CONFIG, io_type=io, output_dir=tmp_path)
    fxp = design.mlir("fxp")
    assert fxp.count('"fxp.softmax"') == 5 and fxp.count('"fxp.matmul"') == 10
    assert fxp.count('"fxp.add_constant"') == 3  # the three masked variants
    xs = _inputs(1, 40)
    _same(design, xs)
    assert np.abs(design.predict(xs) - _float(model, xs)).max() < ATOL


def test_attention_scale_is_folded_into_the_projections():
    """q and k are scaled by d^-1/4 after the head split: folded into the q and k rows of the packed in_proj
    (split into one dense per reader), so no scale_shift is left; the softmax keeps the module's name."""
    model = nn.Sequential(nn.Linear(4, E), Mha(E, 2, True, True)).eval()
    design = fxflow.compile(model, torch.zeros(1, T, 4), config=CONFIG)
    fxp = design.mlir("fxp-float")
    assert '"fxp.scale_shift"' not in fxp and fxp.count('"fxp.dense"') == 5
    softmax = [r for r in design.report()["layers"] if r["op"] == "softmax"]
    assert [r["layer"] for r in softmax] == ["1.att"]
    cfg = {"model": CONFIG["model"], "layers": {"1.att": {"softmax": "latency"}}}  # per-layer config reaches it
    assert 'implementation = "latency"' in fxflow.compile(model, torch.zeros(1, T, 4), config=cfg).mlir("fxp")


@settings(max_examples=10, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow])
@given(t=st.integers(1, 4), k=st.integers(1, 5), n=st.integers(1, 5), seed=st.integers(0, 999),
       x_bits=st.integers(4, 14), acc=st.sampled_from(["exact", "ap_fixed<10,3,AP_RND,AP_SAT>"]))
def test_linear_on_tokens_is_the_linear_of_each_token(t, k, n, seed, x_bits, acc):
    """A Linear on [1, T, K] computes, bit for bit, what the same Linear on [1, K] computes for every token."""
    torch.manual_seed(seed)
    lin = nn.Linear(k, n).eval()
    cfg = {"model": {"precision": "ap_fixed<16,6>", "input": f"ap_fixed<{x_bits},3>", "accum": acc}}
    tokens = fxflow.compile(lin, torch.zeros(1, t, k), config=cfg)
    assert '"fxp.dense"' in tokens.mlir("fxp") and "tensor<1x" + f"{t}x{k}x" in tokens.mlir("fxp")
    single = fxflow.compile(lin, torch.zeros(1, k), config=cfg)
    x = np.random.default_rng(seed).normal(size=(30, t, k)) * 3
    assert np.array_equal(tokens.predict(x, raw=True).reshape(-1, n), single.predict(x.reshape(-1, k), raw=True))


class _Kpm(nn.Module):
    def __init__(self):
        super().__init__()
        self.att = nn.MultiheadAttention(4, 2, batch_first=True)

    def forward(self, x):
        return self.att(x, x, x, key_padding_mask=x[..., 0] > 0, need_weights=False)[0]


def test_bad_attention_inputs_are_clear_errors():
    x = torch.zeros(1, T, 4)
    with pytest.raises(UnsupportedOpError, match="module 'att': .* from the model's inputs .*key_padding_mask"):
        fxflow.compile(_Kpm(), x)
    with pytest.raises(UnsupportedOpError, match=r"module 'att' applies dropout \(p=0.1\) in training mode; call "
                                                 r"model.eval\(\)"):
        fxflow.compile(_with_dropout(), (x, x))
    full = Mha(4, 1, True, True, "causal_float")
    full.mask[0, :] = float("-inf")
    with pytest.raises(UnsupportedOpError, match="attention mask in module 'att' masks every key of a row"):
        fxflow.compile(full, (x, x))


def _with_dropout():
    m = Mha(4, 2, True, True)
    m.att = nn.MultiheadAttention(4, 2, batch_first=True, dropout=0.1)
    return m.train()


class Vit(nn.Module):
    """A tiny ViT block: 4x4 patch embedding conv on 1x8x8, class token, position embedding, pre-LayerNorm
    multi-head attention and GELU MLP with residuals, classifier on the class token."""

    def __init__(self, e: int = 8):
        super().__init__()
        torch.manual_seed(0)
        self.patch = nn.Conv2d(1, e, 4, stride=4)
        self.cls = nn.Parameter(torch.randn(1, 1, e) * 0.5)
        self.pos = nn.Parameter(torch.randn(1, 5, e) * 0.2)
        self.norm1, self.norm2 = nn.LayerNorm(e), nn.LayerNorm(e)
        self.attn = nn.MultiheadAttention(e, 2, batch_first=True)
        self.fc1, self.gelu, self.fc2 = nn.Linear(e, 2 * e), nn.GELU(), nn.Linear(2 * e, e)
        self.head = nn.Linear(e, 3)

    def forward(self, x):
        h = self.patch(x).flatten(2).transpose(1, 2)
        h = torch.cat([self.cls.expand(x.shape[0], -1, -1), h], dim=1) + self.pos
        a = self.norm1(h)
        h = h + self.attn(a, a, a, need_weights=False)[0]
        h = h + self.fc2(self.gelu(self.fc1(self.norm2(h))))
        return self.head(h[:, 0])


@pytest.mark.parametrize("io", ["io_parallel", "io_stream"])
def test_vit_block_predict_equals_csim(tmp_path, io):
    model = Vit().eval()
    design = fxflow.compile(model, torch.zeros(1, 1, 8, 8), config=CONFIG, io_type=io, output_dir=tmp_path)
    fxp = design.mlir("fxp")
    assert fxp.count('"fxp.add_constant"') == 2  # the class token, the position embedding
    x = np.random.default_rng(2).normal(size=(30, 1, 8, 8))
    y = design.predict(x, raw=True)
    assert np.array_equal(design.csim(x, raw=True, verbose=False), y)
    assert np.abs(design.predict(x) - _float(model, x)).max() < 2 * ATOL  # two LayerNorms, a GELU table


class HandWritten(nn.Module):
    """Attention written out: q/k/v Linear layers on tokens, view/transpose head split, scores / sqrt(d), a
    causal mask by masked_fill(-inf), softmax, head merge, output Linear."""

    def __init__(self, e: int = 8, heads: int = 2, t: int = T):
        super().__init__()
        torch.manual_seed(3)
        self.q, self.k, self.v, self.o = (nn.Linear(e, e) for _ in range(4))
        self.heads, self.d = heads, e // heads
        self.register_buffer("causal", torch.triu(torch.ones(t, t, dtype=torch.bool), 1))

    def forward(self, x):
        b, t, e = x.shape
        q, k, v = (f(x).view(b, t, self.heads, self.d).transpose(1, 2) for f in (self.q, self.k, self.v))
        s = (q @ k.transpose(-1, -2)) / self.d ** 0.5
        a = torch.softmax(s.masked_fill(self.causal, float("-inf")), dim=-1)
        return self.o((a @ v).transpose(1, 2).reshape(b, t, e))


def test_hand_written_attention():
    model = HandWritten().eval()
    design = fxflow.compile(model, torch.zeros(1, T, E), config=CONFIG)
    fxp = design.mlir("fxp")
    assert fxp.count('"fxp.add_constant"') == 1 and fxp.count('"fxp.softmax"') == 1
    assert '"fxp.scale_shift"' not in fxp  # 1/sqrt(d) folded into the q projection
    x = _inputs(4, 200, (T, E))
    assert np.abs(design.predict(x) - _float(model, x)).max() < ATOL


def test_transformer_example_from_the_cli(tmp_path, capsys):
    from fxflow.cli import main

    assert main(["example", "transformer", "--samples", "20", "--no-csim", "-o", str(tmp_path / "ex")]) == 0
    out = capsys.readouterr().out
    assert "blocks.1.attn" in out and "softmax" in out and "layernorm" in out
    assert (tmp_path / "ex" / "firmware" / "transformer.cpp").exists()


class Gated(nn.Module):
    """Products and sums of two activations with broadcasting: a per-token gate [B, T, 1] and the first
    token's features [B, 1, E] against [B, T, E]; Linear layers chained on the same token rows."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(5)
        self.e, self.a, self.g, self.c = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 1), nn.Linear(4, 4)

    def forward(self, x):
        x = self.e(x)
        h, first = self.a(x), self.c(x)[:, :1, :]
        return h * torch.sigmoid(self.g(x)) + first - h * first


def test_broadcast_products_of_activations(tmp_path):
    model = Gated().eval()
    design = fxflow.compile(model, torch.zeros(1, T, 4), config=CONFIG, output_dir=tmp_path)
    assert design.mlir("fxp").count('"fxp.mul"') == 2 and '"fxp.gather"' in design.mlir("fxp")
    x = _inputs(6, 60)
    _same(design, x)
    assert np.abs(design.predict(x) - _float(model, x)).max() < ATOL


class _ClassTokenThenLinear(nn.Module):
    """A class token replacing the first token, then a Linear on the tokens: the gather's zero slots (-1) must
    stay zero slots when gathers compose (they once picked the last element: off by ~2 with no error)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.cls = nn.Parameter(torch.randn(1, 1, 4))
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(torch.cat([self.cls.expand(x.shape[0], -1, -1), x[:, 1:]], 1))


def test_class_token_then_linear_on_tokens_matches_float():
    model = _ClassTokenThenLinear().eval()
    x = np.random.default_rng(0).normal(size=(16, 5, 4))
    design = fxflow.compile(model, torch.zeros(1, 5, 4), config={"model": {"precision": "ap_fixed<18,6>"}})
    ref = model(torch.tensor(x, dtype=torch.float32)).detach().numpy()
    assert np.abs(design.predict(x) - ref).max() < 0.01
