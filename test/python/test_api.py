"""The user-facing API: compile / predict / write / mlir, configuration, and clean errors on bad input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

import fxflow
from fxflow.examples import jet_tagger

from models import mlp


@pytest.fixture(scope="module")
def jet():
    model = jet_tagger.make_model()
    return model, fxflow.compile(model, jet_tagger.make_inputs(1), project_name="jet")


def test_predict_shapes_and_layout(jet):
    _, design = jet
    x = jet_tagger.make_inputs(7)
    y = design.predict(x)
    assert y.shape == (7, 5) and y.dtype == np.float64
    assert design.predict(x[0]).shape == (1, 5)
    raw = design.predict(x, raw=True)
    assert np.array_equal(raw * 2.0**-10, y)  # ap_fixed<16,6>: 10 fractional bits


def test_predict_matches_float_model_at_generous_precision():
    model = jet_tagger.make_model()
    x = jet_tagger.make_inputs(200)
    design = fxflow.compile(model, x[:1], config={"model": {"precision": "ap_fixed<32,12,AP_RND,AP_SAT>"}})
    with torch.no_grad():
        ref = model(torch.as_tensor(x, dtype=torch.float32)).double().numpy()
    y = design.predict(x)
    assert np.max(np.abs(y - ref)) < 1e-4
    assert np.max(np.abs(design.predict_float(x) - ref)) < 1e-5


def test_stages_are_real_ir(jet):
    _, design = jet
    assert "linalg.matmul" in design.mlir("linalg")
    assert '"fxp.dense"' in design.mlir("fxp") and "!fxp.fixed<1 : i32, 5 : i32, 10 : i32" in design.mlir("fxp")
    df = design.mlir("df")
    assert df.count('"df.kernel"') == 7 and '"df.graph"' in df and 'layer = "fc1"' in df
    # each stage is the module as it was then (StageTexts prints a clone on first read), not the final module
    assert '"fxp.dense"' not in design.mlir("linalg") and '"df.kernel"' not in design.mlir("fxp")
    assert design.mlir("fxp") is design.mlir("fxp")  # printed once
    with pytest.raises(fxflow.FxflowError, match="unknown stage 'hls'"):
        design.mlir("hls")


def test_per_layer_config_reaches_the_ir():
    model = mlp([4, 3, 2])
    cfg = {"model": {"precision": "ap_fixed<12,4>", "reuse_factor": 2},
           "layers": {"fc0": {"weight": "ap_fixed<6,1,AP_RND,AP_SAT>", "accum": "ap_fixed<20,8>",
                              "result": "ap_ufixed<10,4>", "reuse_factor": 3}}}
    design = fxflow.compile(model, np.zeros((1, 4)), config=cfg)
    fxp = design.mlir("fxp")
    assert '!fxp.fixed<1 : i32, 0 : i32, 5 : i32, "RND", "SAT">' in fxp  # fc0 weights
    assert 'accum = !fxp.fixed<1 : i32, 7 : i32, 12 : i32, "TRN", "WRAP">' in fxp
    report = design.report()
    fc0 = next(r for r in report["layers"] if r["layer"] == "fc0")
    assert fc0["reuse_factor"] == 3 and fc0["multipliers"] == 4 and fc0["result"] == "ap_ufixed<10,4>"


def test_config_from_yaml_and_json(tmp_path):
    (tmp_path / "c.yaml").write_text("model:\n  precision: ap_fixed<10,4>\nlayers:\n  fc0:\n    reuse_factor: 2\n")
    (tmp_path / "c.json").write_text('{"model": {"precision": "ap_fixed<10,4>"}}')
    for name in ("c.yaml", "c.json"):
        design = fxflow.compile(mlp([4, 2]), np.zeros((1, 4)), config=str(tmp_path / name))
        assert "!fxp.fixed<1 : i32, 3 : i32, 6 : i32" in design.mlir("fxp")


@pytest.mark.parametrize("cfg, message", [
    ({"model": {"precison": "ap_fixed<8,3>"}}, "unknown key(s) 'precison' in config 'model'"),
    ({"model": {"precision": "ap_fixed<8>"}}, "malformed precision 'ap_fixed<8>'"),
    ({"model": {"precision": "ap_fixed<8,3,AP_FOO>"}}, "unknown rounding mode 'AP_FOO'"),
    ({"layers": {"fc9": {"weight": "ap_fixed<8,3>"}}}, "config names layer(s) 'fc9' that the model does not have"),
    ({"layers": {"fc0": {"weights": "ap_fixed<8,3>"}}}, "unknown key(s) 'weights' in config 'layers.fc0'"),
    ({"model": {"reuse_factor": 0}}, "'model.reuse_factor' must be a positive integer"),
    ({"layers": {"fc0": {"reuse_factor": 100}}}, "reuse_factor 100 of layer 'fc0' is outside [1, 8]"),
    ({"modle": {}}, "unknown config section(s) modle"),
])
def test_bad_config_is_a_clear_error(cfg, message):
    with pytest.raises(fxflow.ConfigError) as err:
        fxflow.compile(mlp([4, 2]), np.zeros((1, 4)), config=cfg)
    assert message in str(err.value)


def test_unsupported_op_names_op_and_module():
    class Head(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 3)
            self.gate = Outer()

        def forward(self, x):
            return self.gate(self.fc(x))

    class Outer(torch.nn.Module):  # a running sum has no fxp layer
        def forward(self, h):
            return torch.cumsum(h, dim=1)

    with pytest.raises(fxflow.UnsupportedOpError, match=r"tm_tensor.scan.*from module 'gate'"):
        fxflow.compile(Head(), torch.zeros(1, 4))


def test_wrong_input_shape_is_rejected(jet):
    _, design = jet
    with pytest.raises(fxflow.ShapeError, match=r"expected \(N, 16\)"):
        design.predict(np.zeros((3, 15)))
    with pytest.raises(fxflow.ShapeError, match="NaN"):
        design.predict(np.full((1, 16), np.nan))


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_write_is_deterministic_and_stays_inside(tmp_path):
    model = jet_tagger.make_model()
    x = jet_tagger.make_inputs(4)
    a = fxflow.compile(model, x[:1]).write(tmp_path / "a", inputs=x)
    b = fxflow.compile(jet_tagger.make_model(), x[:1]).write(tmp_path / "b", inputs=x)
    da, db = _tree_digest(a), _tree_digest(b)
    assert da == db and any(k.endswith(".cpp") for k in da)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_hostile_layer_names_are_sanitized(tmp_path):
    model = torch.nn.Sequential()
    model.add_module("/tmp/evil; rm -rf", torch.nn.Linear(3, 2))
    model.add_module("int", torch.nn.ReLU())
    design = fxflow.compile(model, torch.zeros(1, 3))
    out = design.write(tmp_path / "proj")
    names = {p.name for p in out.rglob("*")}
    import re

    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+", n) for n in names), names
    assert all(out in p.resolve().parents for p in out.rglob("*"))
    assert [p for p in tmp_path.iterdir()] == [out]
    df = design.mlir("df")
    assert 'sym_name = "tmp_evil_rm_rf"' in df and 'sym_name = "l_int"' in df


def test_exported_program_file_and_cli(tmp_path, capsys):
    from fxflow.cli import main

    model = mlp([6, 4, 3])
    ep = torch.export.export(model, (torch.zeros(1, 6),))
    torch.export.save(ep, tmp_path / "m.pt2")
    (tmp_path / "cfg.yaml").write_text("model:\n  precision: ap_fixed<14,5>\n")
    rc = main(["compile", str(tmp_path / "m.pt2"), "--config", str(tmp_path / "cfg.yaml"), "-o", str(tmp_path / "out"),
               "--csim", "20"])
    assert rc == 0
    assert (tmp_path / "out" / "firmware").is_dir()
    out = capsys.readouterr().out
    assert "fc0" in out and "0 mismatching values of 60" in out
    torch.export.save(torch.export.export(model, (torch.zeros(2, 6),)), tmp_path / "b2.pt2")
    assert main(["compile", str(tmp_path / "b2.pt2"), "-o", str(tmp_path / "o4")]) == 1
    assert "export it with a static batch of 1" in capsys.readouterr().err
    rc = main(["compile", str(tmp_path / "missing.pt2"), "-o", str(tmp_path / "o2")])
    assert rc == 1 and "no such file" in capsys.readouterr().err
    (tmp_path / "junk.pt2").write_bytes(b"not a zip")
    assert main(["compile", str(tmp_path / "junk.pt2"), "-o", str(tmp_path / "o3")]) == 1
    assert "is not a program saved with torch.export.save" in capsys.readouterr().err


def test_trace_compares_every_layer_with_the_float_reference(jet):
    model, design = jet
    x = jet_tagger.make_inputs(50)
    tr = design.trace(x)
    assert list(tr) == ["fc1", "relu1", "fc2", "relu2", "fc3", "relu3", "output"]
    assert np.array_equal(tr["output"]["fixed"], design.predict(x))
    with torch.no_grad():
        h = model.relu1(model.fc1(torch.as_tensor(x, dtype=torch.float32))).double().numpy()
    assert np.max(np.abs(tr["relu1"]["float"] - h)) < 1e-5
    assert 0 < tr["fc1"]["max_abs_error"] < 0.01 and tr["fc1"]["mean_abs_error"] <= tr["fc1"]["max_abs_error"]


def test_fxp_and_df_ops_find_their_dialect_modules(monkeypatch):
    """Wrapping an fxp/df op, the bindings import `<prefix>.<namespace>` and cache only successes: with
    fxflow.dialects among the search prefixes no compile retries a failing `torch_mlir.dialects.fxp` import."""
    import importlib.abc
    import sys

    tried = []

    class Spy(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[-1] in ("fxp", "df") and name.startswith("torch_mlir."):
                tried.append(name)
            return None

    from fxflow.ir import DIALECT_PREFIX, dialect_search_modules

    assert DIALECT_PREFIX in dialect_search_modules()
    monkeypatch.setattr(sys, "meta_path", [Spy(), *sys.meta_path])
    d = fxflow.compile(mlp([4, 5, 3]), torch.zeros(1, 4), config={"model": {"precision": "ap_fixed<10,4>"}})
    d.report()
    assert "fxp.dense" in d.mlir("fxp") and "df." in d.mlir("df")
    assert len(tried) <= 2, tried  # at most once per namespace and process (none once cached)
