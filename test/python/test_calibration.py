"""Calibration data: 'auto' formats from the data's range, an 'auto' input format, clear errors, and
overflow counts of the design itself (never any on the calibration data or at the corners of its box)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import fxflow
from fxflow.examples import jet_tagger
from fxflow.fixed import FixedFormat, quantize

from models import mlp

AUTO = {"model": {"precision": "auto", "input": "auto"}}


def _corners(x: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Adversarial inputs: random corners of the calibration data's per-feature box."""
    lo, hi = x.min(axis=0), x.max(axis=0)
    pick = np.random.default_rng(seed).integers(0, 2, size=(n, x.shape[1])).astype(bool)
    return np.where(pick, hi, lo)


def test_jet_tagger_auto_from_calibration_never_overflows():
    model, x = jet_tagger.make_model(), jet_tagger.make_inputs(600)
    design = fxflow.compile(model, x[:1], config=AUTO, calibration_data=x)
    for data in (x, _corners(x, 400, seed=1)):
        rows = design.profile(data)
        assert {r["layer"] for r in rows} >= {"input", "fc1", "output"}
        assert all(r.get("overflows", 0) == 0 and r.get("accum_overflows", 0) == 0 for r in rows), rows
    # the data's range is narrower than a format's: every result is narrower than without calibration
    fin = design.program.input_types[0][1]
    wide = fxflow.compile(model, x[:1], config={"model": {"precision": "auto", "input": str(fin)}})
    narrow_w = [FixedFormat.parse(r["result"]).width for r in design.report()["layers"]]
    wide_w = [FixedFormat.parse(r["result"]).width for r in wide.report()["layers"]]
    assert all(a <= b for a, b in zip(narrow_w, wide_w)) and sum(narrow_w) < sum(wide_w)


def test_auto_input_format_holds_the_data_within_tolerance():
    x = np.random.default_rng(0).normal(size=(300, 5)) * 3
    design = fxflow.compile(mlp([5, 4, 2]), x[:1], config={"model": {"precision": "auto", "input": "auto",
                                                                     "auto_tolerance": 2**-6}}, calibration_data=x)
    fin = design.program.input_types[0][1]
    err = np.abs(quantize(x, fin) * 2.0**-fin.f - x)
    assert err.max() <= 2**-6 * np.abs(x).max() and fin.min_value <= x.min() and x.max() <= fin.max_value


def test_overflow_counts_match_an_independent_count():
    model, x = jet_tagger.make_model(), jet_tagger.make_inputs(500)
    fmt = FixedFormat.parse("ap_fixed<8,2>")
    design = fxflow.compile(model, x[:1], config={"model": {"precision": str(fmt)}})
    rows = {r["layer"]: r for r in design.profile(x)}
    xq = quantize(x, fmt) * 2.0**-fmt.f
    w = quantize(model.fc1.weight.detach().double().numpy().T, fmt) * 2.0**-fmt.f
    b = quantize(model.fc1.bias.detach().double().numpy(), fmt) * 2.0**-fmt.f
    n = np.floor((xq @ w + b) * 2**fmt.f)  # exact in float64: few bits; TRN onto the result grid
    assert rows["fc1"]["overflows"] == int(np.sum((n < fmt.min_int) | (n > fmt.max_int))) > 0
    assert rows["input"]["overflows"] == int(np.sum((np.floor(x * 2**fmt.f) < fmt.min_int)
                                                    | (np.floor(x * 2**fmt.f) > fmt.max_int))) > 0


def test_bad_calibration_data_and_missing_input_range():
    model, x = mlp([5, 3]), np.zeros((10, 5))
    with pytest.raises(fxflow.ShapeError, match=r"expected \(N, 5\)"):
        fxflow.compile(model, x[:1], config=AUTO, calibration_data=np.zeros((10, 4)))
    with pytest.raises(fxflow.ShapeError, match="2 input"):
        fxflow.compile(model, x[:1], config=AUTO, calibration_data=[x, x])
    with pytest.raises(fxflow.ShapeError, match="NaN"):
        fxflow.compile(model, x[:1], config=AUTO, calibration_data=np.full((3, 5), np.nan))
    with pytest.raises(fxflow.ConfigError, match="no input range is known.*calibration"):
        fxflow.compile(model, x[:1], config=AUTO)
    with pytest.warns(UserWarning, match="outside the input format"):
        fxflow.compile(model, x[:1], config={"model": {"precision": "auto", "input": "ap_fixed<6,2>"}},
                       calibration_data=np.full((3, 5), 9.0))


def test_cli_calibration(tmp_path, capsys):
    import torch

    from fxflow.cli import main

    model = mlp([4, 6, 2], seed=3)
    torch.export.save(torch.export.export(model, (torch.zeros(1, 4),)), tmp_path / "m.pt2")
    x = np.random.default_rng(1).normal(size=(200, 4))
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "auto.json").write_text('{"model": {"precision": "auto", "input": "auto"}}')
    assert main(["profile", str(tmp_path / "m.pt2"), "--data", str(tmp_path / "x.npy"), "--config",
                 str(tmp_path / "auto.json"), "--calibration", str(tmp_path / "x.npy"), "-o",
                 str(tmp_path / "p.png")]) == 0
    out = capsys.readouterr().out
    assert "overflows" in out and (tmp_path / "p.png").is_file()
    assert main(["compile", str(tmp_path / "m.pt2"), "-o", str(tmp_path / "prj"), "--config",
                 str(tmp_path / "auto.json"), "--calibration", str(tmp_path / "x.npy")]) == 0
    assert main(["compile", str(tmp_path / "m.pt2"), "-o", str(tmp_path / "prj"), "--config",
                 str(tmp_path / "auto.json")]) == 1
    assert "no input range is known" in capsys.readouterr().err
