"""The bundled transformer example (python/fxflow/examples/transformer.py) on the AIE backend at 16 bits: embedding,
two encoder blocks (LayerNorm, attention, residual adds, MLP with GELU), LayerNorm, the mean over the particles and
the classifier's softmax as one DAG of single-tile kernels.  The simulated placed program equals predict bit for
bit, every kernel passes the syntax check, the mlir-aie text the device rules; npu1's 16 tiles are too few (an
error naming the limit).  The mean kernel (`fxp.pool` avg over a whole last dim) keeps the op's own rounding of
the running sum and its division toward zero, also with a narrow saturating accumulator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import fxflow
from fxflow.errors import FxflowError
from fxflow.examples import load
from fxflow.lowering.aie.kernels import check_syntax, render_kernels
from toolchains import needs

CONFIG = {"model": {"precision": "ap_fixed<16,6>", "reuse_factor": 1, "strategy": "latency"}}


@pytest.fixture(scope="module")
def example():
    ex = load("transformer")
    return ex, ex.make_model(), ex.make_inputs(50)


@pytest.fixture(scope="module")
def designs(example):
    ex, model, x = example
    return {dev: fxflow.compile(model, x[:1], config=CONFIG, backend="aie", aie={"device": dev})
            for dev in ("xcve2802", "npu2")}


@pytest.mark.parametrize("device", ["xcve2802", "npu2"])
def test_transformer_example_simulates_as_predict(example, designs, device):
    _, _, x = example
    d = designs[device]
    roles = [k.role for k in d.aie_program.kernels]
    assert roles.count("lut") == 2 and roles.count("mean") == 1 and roles.count("matmul") == 4, roles
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))


def test_transformer_example_kernels_and_text(designs):
    from fxflow.lowering.aie.emit import emit_program
    from test_aie_devices import violations

    for d in designs.values():
        assert violations(emit_program(d.aie_program), d.aie_program.device) == []
    needs("g++")
    d = designs["npu2"]  # the same kernel sources on both devices but for the device's mmul shapes
    files = render_kernels(d.aie_program)
    assert "requant<Acc," in next(v for k, v in files.items() if k.endswith("mean.cc"))
    assert check_syntax(files, d.aie_program.device) == {}


def test_transformer_example_beyond_npu1_names_the_limit(example):
    _, model, x = example
    with pytest.raises(FxflowError, match=r"the attention design needs \d+ compute tiles \(one per kernel\); npu1 "
                                          r"offers 16"):
        fxflow.compile(model, x[:1], config=CONFIG, backend="aie", aie={"device": "npu1"})


class TokenMean(nn.Module):
    """Linear per token, then the mean over the tokens and a classifier."""

    def __init__(self):
        super().__init__()
        self.fc, self.head = nn.Linear(4, 8), nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.fc(x).mean(dim=1))


@pytest.mark.parametrize("accum", [None, "ap_fixed<10,5,AP_RND,AP_SAT>", "ap_fixed<9,6,AP_TRN,AP_WRAP>"])
def test_mean_over_the_tokens_keeps_the_pool_rounding(accum):
    """The running sum assigned to the accumulator after each element (rounded, saturated or wrapped) and the
    division toward zero: simulate == predict, also when that accumulator is narrower than the sum."""
    torch.manual_seed(0)
    x = np.random.default_rng(0).normal(0, 2, (40, 6, 4))
    cfg = {"model": {"precision": "ap_fixed<16,6>"}}
    if accum:
        cfg["layers"] = {"mean": {"accum": accum}}
    d = fxflow.compile(TokenMean().eval(), x[:1], config=cfg, backend="aie")
    assert "mean" in [k.role for k in d.aie_program.kernels]
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
