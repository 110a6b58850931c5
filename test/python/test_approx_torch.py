"""fxflow.approx.torch: the swapped modules' forward == predict bit for bit (MLP and CNN, several
multipliers, narrow saturating accumulators); gradients are the exact-product ones; fine-tuning under an
aggressive multiplier recovers accuracy on the bundled task."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fxflow
from fxflow.approx import finetune as ft
from fxflow.approx.torch import approximate

from test_approx_design import SmallCNN


@pytest.mark.parametrize("spec", ["drum(k=3)", "trunc(k=5, compensate=1)", "bam(hbl=1, vbl=4)", "mitchell"])
def test_mlp_forward_equals_predict(spec):
    torch.manual_seed(1)
    m = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3)).eval()
    cfg = {"model": {"precision": "ap_fixed<8,3>", "multiplier": spec},
           "layers": {"0": {"accum": "ap_fixed<10,4,AP_RND,AP_SAT>"}, "2": {"result": "ap_fixed<12,6>"}}}
    d = fxflow.compile(m, torch.zeros(1, 6), config=cfg)
    x = np.random.default_rng(0).normal(size=(200, 6)).astype(np.float32).astype(np.float64) * 2
    y = approximate(m, d)(torch.from_numpy(x)).detach().double().numpy()
    np.testing.assert_array_equal(y, d.predict(x))
    exact = fxflow.compile(m, torch.zeros(1, 6), config={**cfg, "model": {**cfg["model"], "multiplier": "exact"}})
    assert (exact.predict(x) != y).any()


def test_cnn_forward_equals_predict():
    torch.manual_seed(2)
    c = SmallCNN(2, 1, 2).eval()
    cfg = {"model": {"precision": "ap_fixed<10,4>", "input": "ap_fixed<7,3>", "multiplier": "mitchell"},
           "layers": {"fc": {"multiplier": "drum(k=3)"}}}
    d = fxflow.compile(c, torch.zeros(1, 2, 6, 6), config=cfg)
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(30, 2, 6, 6)).astype(np.float32))
    a = approximate(c, d)
    y = a(x)
    np.testing.assert_array_equal(y.detach().double().numpy(), d.predict(x.double().numpy()))


def test_gradients_are_the_exact_product_ones():
    """Straight-through: d loss / d w is the float conv's gradient at the fixed-point output."""
    torch.manual_seed(3)
    conv = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1)).eval()
    d = fxflow.compile(conv, torch.zeros(1, 2, 5, 5), config={"model": {"precision": "ap_fixed<10,4>",
                                                                       "multiplier": "drum(k=3)"}})
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(8, 2, 5, 5)).astype(np.float32))
    a = approximate(conv, d)
    y = a(x)
    y.square().sum().backward()
    ref = torch.nn.Conv2d(2, 3, 3, padding=1)
    ref.load_state_dict(conv[0].state_dict())
    ref(x).backward(2 * y.detach())
    torch.testing.assert_close(a[0].inner.weight.grad, ref.weight.grad)
    torch.testing.assert_close(a[0].inner.bias.grad, ref.bias.grad)


def test_finetune_recovers_accuracy():
    xtr, ytr = ft.task(3000, seed=1)
    xte, yte = ft.task(1500, seed=2)
    m = ft.train(ft.model(), xtr, ytr, epochs=25)
    base = {"precision": "ap_fixed<16,6>", "input": "ap_fixed<8,3,AP_RND,AP_SAT>",
            "weight": "ap_fixed<8,2,AP_RND,AP_SAT>", "result": "ap_fixed<8,3,AP_RND,AP_SAT>"}
    exact = ft.accuracy(fxflow.compile(m, torch.zeros(1, 16), config={"model": base}).predict(xte), yte)
    cfg = {"model": {**base, "multiplier": "bam(hbl=2, vbl=8)"}}
    d = fxflow.compile(m, torch.zeros(1, 16), config=cfg)
    before = ft.accuracy(d.predict(xte), yte)
    tuned = ft.finetune(m, d, xtr, ytr, epochs=2)
    after = ft.accuracy(fxflow.compile(tuned, torch.zeros(1, 16), config=cfg).predict(xte), yte)
    assert before < exact - 0.08, (before, exact)
    assert after > before + 0.08 and after > exact - 0.04, (before, after, exact)
