"""What the AIE backend cannot host is a user error (an FxflowError, never a traceback, KeyError or assertion) that
names the layer, the op and the reason, with the source line; with backend="versal" the same layers fall back to
the PL with the reason in the report."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

import fxflow
from fxflow.errors import FxflowError

CFG16 = {"model": {"precision": "ap_fixed<16,6>"}}
SAT16 = "ap_fixed<16,6,AP_TRN,AP_SAT>"  # an accumulator whose running sum saturates step by step


class Residual(nn.Module):
    """A residual add of [batch, features] rows."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, 8)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h) + h


class GeluFirst(nn.Module):
    """A table activation on the graph input: the row kernels read a dense layer's output."""

    def __init__(self):
        super().__init__()
        self.act, self.fc = nn.GELU(), nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.act(x))


class ReluFirst(nn.Module):
    """A ReLU on the graph input: it runs on the AI Engines only fused into the dense layer before it."""

    def __init__(self):
        super().__init__()
        self.relu, self.fc = nn.ReLU(), nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.relu(x))


class NormFirst(nn.Module):
    """A LayerNorm on the graph input: the row kernels read a dense layer's output."""

    def __init__(self):
        super().__init__()
        self.norm, self.fc = nn.LayerNorm(4), nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.norm(x))


class TransposedOut(nn.Module):
    """A Linear over the tokens whose result leaves transposed: the attention program ends with a re-layout."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x).transpose(1, 2)


class AvgPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.pool = nn.Conv2d(2, 16, 3, padding=1), nn.AvgPool2d(2)

    def forward(self, x):
        return self.pool(self.conv(x))


class Conv1d(nn.Module):
    """A dense over the last dim of [batch, tokens, features] rows first: a row graph (1-D feature maps are graphs
    whose first layer is the conv / pool), so the Conv1d after it is named."""

    def __init__(self):
        super().__init__()
        self.pre, self.conv, self.relu = nn.Linear(10, 10), nn.Conv1d(3, 8, 3), nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(self.pre(x)))


class Wide(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.relu, self.fc2 = nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 4)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


class BigMap(nn.Module):
    """A 48x48x16 map inside the graph (the graph input's reader would split its rows over tiles)."""

    def __init__(self):
        super().__init__()
        self.pre = nn.Conv2d(16, 16, 1)
        self.conv = nn.Conv2d(16, 16, 3, padding=1)

    def forward(self, x):
        return self.conv(self.pre(x))


# model, input shape per sample, config, the layer the error must name, what else it must say
CASES = {
    "gelu_on_the_input": (GeluFirst, (5, 4), CFG16, "act",
                          r"\(fxp\.lut\) at .*test_aie_errors\.py:\d+: the AIE lut kernel must read a dense layer's output"),
    "relu_on_the_input": (ReluFirst, (4,), CFG16, "relu",
                          r"\(fxp\.relu\) at .*test_aie_errors\.py:\d+: a ReLU is supported .* only directly after"),
    "layernorm_on_the_input": (NormFirst, (4,), CFG16, "norm",
                               r"\(fxp\.layernorm\) at .*test_aie_errors\.py:\d+: the AIE layernorm kernel must read"),
    "transposed_output": (TransposedOut, (5, 4), CFG16, "permute_1",
                          r"at .*test_aie_errors\.py:\d+: the AIE attention program must end with a kernel's own"),
    "avg_pool_saturating_accum": (AvgPool, (2, 8, 8), {**CFG16, "layers": {"pool": {"accum": SAT16}}}, "pool",
                                  r"accumulator ap_fixed<16,6,AP_TRN,AP_SAT> does not hold the exact sum of 4"),
    "conv1d": (Conv1d, (3, 10), CFG16, "conv", r"\(fxp\.conv\).*a convolution of a 3-D tensor"),
    "wide_32bit": (Wide, (8,), {"model": {"precision": "ap_fixed<32,12>"}}, "fc1", r"32 bits wide.*int8 or int16"),
    "too_large_map": (BigMap, (16, 48, 48), {"model": {"precision": "ap_fixed<8,3>"}}, "conv",
                      r"feature map 48x48x16.*65536 bytes"),
}


def _inputs(shape, n=3):
    return np.random.default_rng(0).normal(0, 1, (n, *shape))


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_the_aie_cannot_host_is_a_clean_error_naming_it(case):
    make, shape, cfg, layer, what = CASES[case]
    torch.manual_seed(0)
    with pytest.raises(Exception) as info:
        fxflow.compile(make().eval(), _inputs(shape)[:1], config=cfg, backend="aie")
    err = info.value
    assert isinstance(err, FxflowError), f"{type(err).__name__}: {err}"
    assert f"layer '{layer}'" in str(err), str(err)
    assert getattr(err, "layer", None) in (layer, None), err.layer
    assert re.search(what, str(err)), str(err)


def test_transformer_example_at_its_default_precision_names_the_layer_and_the_width():
    """The example runs on the AI Engines at 16 bits (test_aie_transformer_example.py); its default ap_fixed<18,8>
    is an error naming a layer and the int8/int16 limit, not a feature-map or unhosted-op error."""
    from fxflow.examples import load

    ex = load("transformer")
    with pytest.raises(FxflowError) as info:
        fxflow.compile(ex.make_model(), ex.make_inputs(1), config=ex.DEFAULT_CONFIG, backend="aie")
    msg = str(info.value)
    assert re.search(r"layer '[\w.]+'.*ap_fixed<18,8> needs more than 16-bit storage.*int8/int16", msg), msg
    assert info.value.layer is not None
    assert "kernel takes 2-D feature maps" not in msg  # not refused as a feature-map graph


def test_versal_puts_what_the_aie_cannot_host_on_the_pl_with_the_reason():
    torch.manual_seed(0)
    d = fxflow.compile(Residual().eval(), _inputs((4,))[:1], config=CFG16, backend="versal")
    rows = {r["layer"]: r for r in d.report()["layers"]}
    assert rows["add_2"]["target"] == "pl"
    reason = rows["add_2"]["aie_reason"]
    assert "layer 'add_2' (fxp.add) at " in reason and "test_aie_errors.py:" in reason, reason
