"""Precision profiling: float ranges against the chosen formats, and the PNG plot."""

from __future__ import annotations

import numpy as np

import fxflow
from fxflow.examples import jet_tagger


def test_profile_counts_values_the_format_cannot_hold(tmp_path):
    model = jet_tagger.make_model()
    x = jet_tagger.make_inputs(500)
    narrow = fxflow.compile(model, x[:1], config={"model": {"precision": "ap_fixed<8,2>"}})
    wide = fxflow.compile(model, x[:1], config={"model": {"precision": "ap_fixed<18,8>"}})
    rows = {r["layer"]: r for r in narrow.profile(x)}
    fc1 = rows["fc1"]
    ref = narrow.trace(x)["fc1"]["float"]
    assert fc1["out_of_range"] == int(np.sum((ref < -2.0) | (ref > 1.984375))) > 0
    assert fc1["format"] == "ap_fixed<8,2>" and fc1["float_max"] == float(ref.max())
    assert all(r["out_of_range"] == 0 for r in wide.profile(x))
    assert rows["fc1"]["max_abs_error"] > max(r["max_abs_error"] for r in wide.profile(x))


def test_plot_profile_writes_a_png(tmp_path):
    design = fxflow.compile(jet_tagger.make_model(), np.zeros((1, 16)))
    path = design.plot_profile(jet_tagger.make_inputs(200), tmp_path / "profile.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_profile_cli(tmp_path, capsys):
    import torch

    from fxflow.cli import main

    model = jet_tagger.make_model()
    torch.export.save(torch.export.export(model, (torch.zeros(1, 16),)), tmp_path / "jet.pt2")
    np.save(tmp_path / "x.npy", jet_tagger.make_inputs(300))
    rc = main(["profile", str(tmp_path / "jet.pt2"), "--data", str(tmp_path / "x.npy"), "--precision",
               "ap_fixed<8,2>", "-o", str(tmp_path / "p.png")])
    out = capsys.readouterr().out
    assert rc == 0 and (tmp_path / "p.png").is_file()
    assert "out_of_range" in out and "fc1" in out and "ap_fixed<8,2>" in out
    assert main(["profile", str(tmp_path / "jet.pt2"), "--data", str(tmp_path / "missing.npy")]) == 1
    assert "cannot read the input data" in capsys.readouterr().err
