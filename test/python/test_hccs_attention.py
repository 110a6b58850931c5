"""HCCS on nn.MultiheadAttention softmaxes: per-layer config addressing the attention module, per-head parameters
(calibrated, or given per head) along the head axis -3 of the raised [B, H, Tq, Tk] softmax, which is torch's
head order; predict == C-sim in io_parallel and io_stream; the transformer example with HCCS and its accuracy
report (`softmax_accuracy`), `fxflow example transformer --softmax hccs`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import fxflow
from fxflow.dialects.fxp.accessors import hccs_spec
from fxflow.errors import ConfigError
from fxflow.examples import transformer as tf
from fxflow.fixed.hccs import check_params
from fxflow.ir import ir, layer_name
from fxflow.softmax_report import format_report, softmax_accuracy

from test_attention import Mha, T, _inputs
from test_io_stream import needs_csim

E = 8
EXPLICIT = {"implementation": "hccs", "output": "int16", "reciprocal": "div",
            "B": [21000, 9000], "S": [4, 1], "Dmax": [4000, 6000]}


class TwoAttention(nn.Module):
    """Self-attention (batch_first, calibrated HCCS) and causal self-attention (sequence first, explicit
    per-head HCCS) on two halves of a token embedding, and torch's need_weights=True path (calibrated int16)."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.embed = nn.Linear(4, 2 * E)
        self.a = Mha(E, 2, True, True)
        self.b = Mha(E, 2, False, False, "causal_bool")
        self.c = nn.MultiheadAttention(E, 2, batch_first=True)  # need_weights=True: [batch*heads, T, T] views

    def forward(self, x):
        z = self.embed(x)
        h = z[..., :E]
        return torch.cat([self.a(h), self.b(z[..., E:]), self.c(h, h, h)[0]], dim=-1)


CONFIG = {"model": {"precision": "ap_fixed<18,6>"},
          "layers": {"a.att": {"softmax": {"implementation": "hccs"}}, "b.att": {"softmax": EXPLICIT},
                     "c": {"softmax": {"implementation": "hccs", "output": "int16"}}}}


def _specs(design) -> dict:
    """{layer: (HccsSpec, input shape)} of the design's HCCS softmaxes."""
    out = {}
    with design.ctx:
        module = ir.Module.parse(design.mlir("fxp"))
        for fn in module.body.operations:
            for op in fn.regions[0].blocks[0].operations if fn.operation.name == "func.func" else []:
                o = op.operation
                if o.name == "fxp.softmax" and ir.StringAttr(o.attributes["implementation"]).value == "hccs":
                    out[layer_name(o.location)] = (hccs_spec(o), tuple(ir.RankedTensorType(o.operands[0].type).shape))
    return out


@needs_csim
@pytest.mark.parametrize("io", ["io_parallel", "io_stream"])
def test_attention_hccs_predict_equals_csim(tmp_path, io):
    x = _inputs(3, 60)
    design = fxflow.compile(TwoAttention().eval(), torch.zeros(1, T, 4), config=CONFIG, io_type=io,
                            calibration_data=_inputs(4, 200), output_dir=tmp_path)
    specs = _specs(design)
    assert sorted(specs) == ["a.att", "b.att", "c"]
    (a, shape_a), (b, shape_b), (c, shape_c) = specs["a.att"], specs["b.att"], specs["c"]
    assert shape_a == shape_b == shape_c == (1, 2, T, T)  # [B, H, Tq, Tk]: one parameter entry per head
    assert c.heads == 2 and c.output == "int16" and c.reciprocal == "clb"
    check_params(c, T, "c")
    assert (b.B, b.S, b.Dmax, b.output, b.reciprocal) == ((21000, 9000), (4, 1), (4000, 6000), "int16", "div")
    assert a.heads == 2 and a.output == "uint8" and a.reciprocal == "clb" and min(a.S) > 0
    check_params(a, T, "a.att")  # calibrated parameters meet the ABI constraints
    y = design.predict(x, raw=True)
    assert np.array_equal(y, design.csim(x, raw=True, verbose=False))
    assert all(len(np.unique(y[..., i * E:(i + 1) * E])) > 10 for i in range(3))


@pytest.mark.parametrize("flat", [0, 1])
def test_head_axis_is_torch_head_order(flat):
    """Head `flat` of the torch module gets constant scores (its q projection rows zeroed): its calibrated
    slope is 0, the other head's is not, so parameter entry h is torch's head h."""
    model = TwoAttention().eval()
    d = E // 2
    with torch.no_grad():
        model.a.att.in_proj_weight[flat * d:(flat + 1) * d] = 0.0
        model.a.att.in_proj_bias[flat * d:(flat + 1) * d] = 0.0
    cfg = {"model": CONFIG["model"], "layers": {"a.att": CONFIG["layers"]["a.att"]}}
    design = fxflow.compile(model, torch.zeros(1, T, 4), config=cfg, calibration_data=_inputs(4, 200))
    spec = _specs(design)["a.att"][0]
    assert spec.S[flat] == 0 and spec.Dmax[flat] == 0 and spec.S[1 - flat] > 0
    y = design.predict(_inputs(5, 20))  # the constant head attends uniformly: its output is the mean of v
    with torch.no_grad():
        ref = model(torch.tensor(_inputs(5, 20), dtype=torch.float32)).numpy()
    assert np.abs(y - ref).max() < 0.05


def test_transformer_example_hccs_accuracy():
    """Both attention layers of the example with calibrated uint8 HCCS: parameters within the ABI, the
    softmax error per head and the model output against float within the bounds stated in docs/layers.md."""
    model, x = tf.make_model(), tf.make_inputs(200)
    design = fxflow.compile(model, x[:1], config=tf.hccs_config(), calibration_data=tf.make_inputs(200, seed=2))
    specs = _specs(design)
    assert sorted(specs) == list(tf.ATTENTION_LAYERS)
    for name, (spec, shape) in specs.items():
        assert spec.heads == tf.HEADS and shape[-3] == tf.HEADS
        check_params(spec, shape[-1], name)
    rep = softmax_accuracy(design, x)
    attn = [r for r in rep["layers"] if r["layer"] in tf.ATTENTION_LAYERS]
    assert [r["implementation"] for r in attn] == ["hccs", "hccs"] and len(rep["layers"]) == 3
    for r in attn:
        assert r["rows"] == 200 * tf.HEADS * tf.N_PARTICLES and len(r["heads"]) == tf.HEADS
        assert all(h["max_abs_error"] < 0.08 and h["mean_abs_error"] < 0.006 for h in r["heads"]), r["heads"]
    assert rep["model"]["argmax_agreement"] >= 0.98 and rep["model"]["max_abs_error"] < 0.05
    lines = [ln.split()[0] + (ln.split()[1] if ln.startswith("  head") else "")
             for ln in format_report(rep).splitlines()]
    assert lines[1:8] == ["blocks.0.attn", "head0", "head1", "blocks.1.attn", "head0", "head1", "softmax"]


def test_example_cli_softmax_hccs(tmp_path, capsys):
    from fxflow.cli import main

    assert main(["example", "jet_tagger", "--softmax", "hccs", "--no-csim", "-o", str(tmp_path / "j")]) == 1
    assert "example 'jet_tagger' has no attention softmax" in capsys.readouterr().err
    assert main(["example", "transformer", "--softmax", "hccs", "--samples", "30", "--no-csim",
                 "-o", str(tmp_path / "t")]) == 0
    layers = sorted(p.name for p in (tmp_path / "t" / "firmware" / "layers").glob("*.cpp")
                    if "hccs" in p.read_text().lower())
    assert [n.split("_attn")[0] for n in layers] == ["blocks_0", "blocks_1"], layers
