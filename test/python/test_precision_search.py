"""Bit-width reduction under an accuracy budget: the chosen config meets the budget on the calibration
data and on held-out data inside the calibration box, is narrower, and stays bit-exact in C-sim."""

from __future__ import annotations

import numpy as np
import pytest

import fxflow
from fxflow.precision_search import reduce_precision

from models import mlp


def _data(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 6)) * 2


def test_reduced_config_meets_the_budget_on_held_out_data(tmp_path):
    model, cal = mlp([6, 10, 8, 3], seed=5), _data(0, 400)
    more = _data(1, 1000)  # held-out samples of the same distribution inside the calibration box
    held = more[np.all((more >= cal.min(axis=0)) & (more <= cal.max(axis=0)), axis=1)][:400]
    budget = 0.01
    result = reduce_precision(model, cal, budget=budget, metric="mean_abs")
    assert result.met and result.error <= budget and result.bits_after < result.bits_before * 0.6
    design = fxflow.compile(model, cal[:1], config=result.config, calibration_data=cal, output_dir=tmp_path)
    assert np.array_equal(design.predict(cal), result.design.predict(cal))
    assert np.mean(np.abs(design.predict(held) - design.predict_float(held))) <= budget
    assert all(r.get("overflows", 0) == 0 for r in design.profile(held))
    assert np.array_equal(design.predict(held[:100], raw=True), design.csim(held[:100], raw=True, verbose=False))
    assert "within budget" in result.summary()


def test_unreachable_budget_is_reported_with_the_best_found():
    model, cal = mlp([6, 4, 2], seed=2), _data(2, 100)
    with pytest.warns(UserWarning, match="cannot be met"):
        result = reduce_precision(model, cal, budget=0.0, metric="max_abs",
                                  config={"model": {"precision": "ap_fixed<6,3>", "accum": "auto"}})
    assert not result.met and result.error == result.baseline_error > 0
    assert "NOT within" in result.summary()


def test_bad_search_arguments():
    with pytest.raises(fxflow.ConfigError, match="unknown metric"):
        reduce_precision(mlp([6, 2]), _data(0, 10), budget=0.1, metric="r2")
    with pytest.raises(fxflow.ConfigError, match="non-negative"):
        reduce_precision(mlp([6, 2]), _data(0, 10), budget=-1)
