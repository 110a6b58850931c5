"""fxflow.approx.search on the bundled task: a config meeting the budget, cheaper than exact, in bounded
time, whose loss the compiled design reproduces; Pareto table and plot; bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fxflow
from fxflow import approx
from fxflow.approx import finetune as ft

BASE = {"precision": "ap_fixed<16,6>", "input": "ap_fixed<8,3,AP_RND,AP_SAT>",
        "weight": "ap_fixed<8,2,AP_RND,AP_SAT>", "result": "ap_fixed<8,3,AP_RND,AP_SAT>"}
CANDIDATES = ["exact", "trunc(k=6, compensate=1)", "bam(hbl=2, vbl=8)", "drum(k=3)", "mitchell"]


@pytest.fixture(scope="module")
def trained():
    xtr, ytr = ft.task(2000, seed=1)
    return ft.train(ft.model(), xtr, ytr, epochs=20), ft.task(800, seed=3)


def test_search_meets_the_budget_cheaper_than_exact(trained, tmp_path, capsys):
    model, (xc, yc) = trained
    r = approx.search(model, xc, yc, candidates=CANDIDATES, budget=0.02, config={"model": BASE}, iterations=25,
                      time_limit=120)
    assert r.met and r.loss <= 0.02 and r.cost < 0.8 * r.exact_cost, r.summary()
    assert r.seconds < 120
    assert "[approx.search]" in capsys.readouterr().err  # progress
    # the chosen config compiles to a design whose accuracy drop on the calibration data is the reported loss
    exact = ft.accuracy(fxflow.compile(model, xc[:1], config={"model": BASE}).predict(xc), yc)
    chosen = ft.accuracy(fxflow.compile(model, xc[:1], config=r.config).predict(xc), yc)
    assert exact - chosen == pytest.approx(r.loss)
    assert set(r.assignment) == {"0", "2", "4"} and all(r.config["layers"][k]["multiplier"] == v
                                                        for k, v in r.assignment.items())
    costs = [p["cost"] for p in r.pareto]
    losses = [p["loss"] for p in r.pareto]
    assert costs == sorted(costs) and losses == sorted(losses, reverse=True) and len(set(losses)) == len(losses)
    assert {"sensitivity", "greedy", "mcts"} <= {e["method"] for e in r.evaluations}
    png = r.plot(tmp_path / "pareto.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert r.pareto_table().startswith("| cost (gates) | loss |")


def test_search_with_an_error_metric_and_an_unreachable_budget_keeps_exact(trained):
    model, (xc, _) = trained
    with pytest.warns(UserWarning, match="the all-exact design already has loss"):
        r = approx.search(model, xc[:200], metric="max_abs", candidates=CANDIDATES[:3], budget=0.0,
                          config={"model": BASE}, method="greedy", progress=False)
    # max_abs against the float model counts the quantization error: even exact products miss a zero budget
    assert not r.met and set(r.assignment.values()) == {"exact"} and r.cost == r.exact_cost


@pytest.mark.parametrize("kwargs, message", [({"method": "annealing"}, "search method"),
                                             ({"budget": -1}, "non-negative"), ({"candidates": []}, "at least one")])
def test_search_bad_arguments(trained, kwargs, message):
    model, (xc, yc) = trained
    with pytest.raises(fxflow.ConfigError, match=message):
        approx.search(model, xc, yc, **kwargs)
