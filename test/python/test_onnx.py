"""The ONNX front-end: models built with onnx.helper (and one exported from PyTorch) compiled from .onnx files.

predict is checked against onnx's reference evaluator, and against the C simulation bit for bit."""

from __future__ import annotations

import re

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import fxflow
from toolchains import missing_tool, needs, needs_module

GENEROUS = {"model": {"precision": "ap_fixed<32,12>"}}


def _init(rng, name, shape):
    return numpy_helper.from_array((rng.standard_normal(shape) * 0.5).astype(np.float32), name)


def _model(nodes, inits, n_in, n_out, batch="N"):
    graph = helper.make_graph(nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, n_in])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, n_out])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def residual_mlp(seed=0, names=("fc1", "act", "fc2_mm", "fc2_add", "res")):
    """Gemm(transB=1, bias) -> Relu -> MatMul + Add -> Add(residual)."""
    rng = np.random.default_rng(seed)
    inits = [_init(rng, "W1", (5, 4)), _init(rng, "B1", (5,)), _init(rng, "W2", (5, 5)), _init(rng, "B2", (5,))]
    nodes = [
        helper.make_node("Gemm", ["x", "W1", "B1"], ["h"], name=names[0], transB=1),
        helper.make_node("Relu", ["h"], ["r"], name=names[1]),
        helper.make_node("MatMul", ["r", "W2"], ["m"], name=names[2]),
        helper.make_node("Add", ["m", "B2"], ["a"], name=names[3]),
        helper.make_node("Add", ["a", "r"], ["y"], name=names[4]),
    ]
    return _model(nodes, inits, 4, 5)


def _save(model, tmp_path, name="m.onnx"):
    path = tmp_path / name
    onnx.save(model, path)
    return path


def _x(n, width, seed=1):
    return np.random.default_rng(seed).uniform(-2, 2, (n, width)).astype(np.float32)


def test_predict_matches_reference_evaluator(tmp_path):
    model = residual_mlp()
    design = fxflow.compile(_save(model, tmp_path), config=GENEROUS)
    fxp = design.mlir("fxp")
    assert fxp.count('"fxp.dense"') == 2 and '"fxp.relu"' in fxp and '"fxp.add"' in fxp
    x = _x(64, 4)
    ref = ReferenceEvaluator(model).run(None, {"x": x})[0]
    assert np.abs(design.predict(x) - ref).max() < 1e-4


def test_every_op_is_located_at_its_node_name(tmp_path):
    model = residual_mlp(names=("fc1", "", "fc2_mm", "fc2_add", ""))
    design = fxflow.compile(_save(model, tmp_path), config=GENEROUS)
    linalg = design.mlir("linalg")
    for name in ("fc1", "Relu_1", "fc2_mm", "fc2_add", "Add_4"):
        assert f'loc("{name}")' in linalg
    # The fused MatMul + Add layer is named after its MatMul node (the layer's weights).
    fxp = design.mlir("fxp")
    assert 'loc("fc2_mm")' in fxp and 'loc("fc2_add")' not in fxp


def test_torch_exported_mlp(tmp_path):
    torch = needs_module("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3)).eval()
    path = tmp_path / "t.onnx"
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net, (torch.zeros(1, 6),), str(path), dynamo=False, input_names=["x"],
                              dynamic_axes={"x": {0: "batch"}})
    except Exception as e:  # pragma: no cover - depends on the torch build
        missing_tool("torch.onnx.export", str(e))
    design = fxflow.compile(path, config=GENEROUS)
    x = _x(32, 6)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    assert np.abs(design.predict(x) - want).max() < 1e-4
    assert "fxp.dense" in design.mlir("fxp")


def test_per_layer_config_by_node_name(tmp_path):
    path = _save(residual_mlp(), tmp_path)
    cfg = {"model": {"precision": "ap_fixed<16,6>"},
           "layers": {"fc1": {"weight": "ap_fixed<6,1,AP_RND,AP_SAT>", "result": "ap_fixed<11,4>"},
                      "res": {"result": "ap_fixed<13,5>"}}}
    fxp = fxflow.compile(path, config=cfg).mlir("fxp")
    # (sign bit, integer bits without the sign, fraction bits)
    assert '!fxp.fixed<1 : i32, 0 : i32, 5 : i32, "RND", "SAT">' in fxp  # fc1's weights
    assert "!fxp.fixed<1 : i32, 3 : i32, 7 : i32" in fxp  # fc1's result
    assert "!fxp.fixed<1 : i32, 4 : i32, 8 : i32" in fxp  # the residual add's result


def test_config_naming_a_missing_node_is_an_error(tmp_path):
    path = _save(residual_mlp(), tmp_path)
    with pytest.raises(fxflow.ConfigError, match="nope"):
        fxflow.compile(path, config={"layers": {"nope": {"result": "ap_fixed<8,3>"}}})


def test_hostile_node_names_are_sanitized(tmp_path):
    model = residual_mlp(names=("../x; rm", "/etc/passwd", "int", "a b", "$(reboot)"))
    design = fxflow.compile(_save(model, tmp_path, "evil.onnx"), config=GENEROUS)
    out = design.write(tmp_path / "proj")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.onnx", "proj"]
    assert all(out in p.resolve().parents for p in out.rglob("*"))
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+", p.name) for p in out.rglob("*"))
    df = design.mlir("df")
    assert 'sym_name = "x_rm"' in df and 'sym_name = "etc_passwd"' in df
    syms = re.findall(r'sym_name = "([^"]*)"', df)
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", s) for s in syms), syms


def test_missing_malformed_and_truncated_files(tmp_path):
    with pytest.raises(fxflow.FxflowError, match=r"missing\.onnx.*no such file"):
        fxflow.compile(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"this is not a protobuf")
    with pytest.raises(fxflow.FxflowError, match=r"junk\.onnx"):
        fxflow.compile(tmp_path / "junk.onnx")
    data = _save(residual_mlp(), tmp_path).read_bytes()
    for cut in (len(data) // 2, 7):
        (tmp_path / "cut.onnx").write_bytes(data[:cut])
        with pytest.raises(fxflow.FxflowError, match=r"cut\.onnx"):
            fxflow.compile(tmp_path / "cut.onnx")
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(fxflow.FxflowError, match=r"empty\.onnx"):
        fxflow.compile(tmp_path / "empty.onnx")


def test_unsupported_op_names_op_type_and_node(tmp_path):
    # a running sum has no fxp layer
    nodes = [helper.make_node("CumSum", ["x", "axis"], ["y"], name="wave")]
    inits = [numpy_helper.from_array(np.array(1, dtype=np.int64), "axis")]
    path = _save(_model(nodes, inits, 4, 4), tmp_path)
    with pytest.raises(fxflow.UnsupportedOpError, match=r"'CumSum'.*'wave'"):
        fxflow.compile(path)


def test_dynamic_feature_dimension_is_rejected(tmp_path):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "F"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "F"])])
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path)
    with pytest.raises(fxflow.ShapeError, match=r"input 'x'.*'F'"):
        fxflow.compile(path)


def test_cli_compiles_onnx(tmp_path, capsys):
    from fxflow.cli import main

    path = _save(residual_mlp(), tmp_path)
    assert main(["compile", str(path), "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "firmware").is_dir()
    assert "fc1" in capsys.readouterr().out


def test_predict_equals_csim_bit_for_bit(tmp_path):
    needs("g++", "ap_types")
    cfg = {"model": {"precision": "ap_fixed<14,5,AP_RND,AP_SAT>", "input": "ap_fixed<10,3>"},
           "layers": {"fc1": {"weight": "ap_fixed<8,2,AP_RND_CONV,AP_SAT>", "accum": "ap_fixed<16,6>"},
                      "res": {"result": "ap_fixed<12,4,AP_TRN,AP_WRAP>"}}}
    design = fxflow.compile(_save(residual_mlp(seed=3), tmp_path), config=cfg, output_dir=tmp_path / "out")
    x = _x(200, 4, seed=5) * 2
    y = design.predict(x, raw=True)
    yc = design.csim(x, raw=True, verbose=False)
    mismatch = np.argwhere(np.asarray(y) != np.asarray(yc))
    assert mismatch.size == 0, f"{len(mismatch)} mismatches, first at {mismatch[0]}"


def test_custom_domain_op_names_op_type_and_node(tmp_path):
    nodes = [helper.make_node("Quant", ["x"], ["y"], name="q0", domain="qonnx.custom_op.general")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("qonnx.custom_op.general", 1)])
    with pytest.raises(fxflow.UnsupportedOpError, match=r"'Quant'.*'q0'"):
        fxflow.compile(_save(model, tmp_path))


def test_integer_input_is_rejected(tmp_path):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.INT32, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, ["N", 4])])
    path = _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path)
    with pytest.raises(fxflow.ShapeError, match=r"input 'x'.*INT32"):
        fxflow.compile(path)


def test_gemm_alpha_beta_without_transpose_and_flatten(tmp_path):
    rng = np.random.default_rng(2)
    inits = [_init(rng, "W", (4, 3)), _init(rng, "B", (3,))]
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flat", axis=1),
             helper.make_node("Gemm", ["f", "W", "B"], ["y"], name="g", alpha=0.5, beta=2.0)]
    model = _model(nodes, inits, 4, 3)
    design = fxflow.compile(_save(model, tmp_path), config=GENEROUS)
    assert '"fxp.dense"' in design.mlir("fxp")
    x = _x(16, 4)
    assert np.abs(design.predict(x) - ReferenceEvaluator(model).run(None, {"x": x})[0]).max() < 1e-4


@pytest.mark.parametrize("name", ["cnn1d", "cnn2d", "shapes"])
def test_pytorch_exported_cnns_import_from_onnx(name, tmp_path):
    """Conv/Pool/BatchNormalization/Pad/Resize/Concat/... as torch.onnx.export writes them (with constant
    subgraphs computing pads and shapes) give the same design numbers as the PyTorch front-end."""
    import sys
    import warnings
    from pathlib import Path

    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from test_layers import _model

    model, shape = _model(name)
    x = np.random.default_rng(0).normal(size=(40, *shape)).astype(np.float32)
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.from_numpy(x[:1]),), str(path), dynamo=False, input_names=["x"],
                          output_names=["y"])
    cfg = {"model": {"precision": "ap_fixed<24,10>"}}
    from_onnx = fxflow.compile(path, None, cfg).predict(x)
    from_torch = fxflow.compile(model, torch.from_numpy(x[:1]), cfg).predict(x)
    ref = model(torch.from_numpy(x)).detach().numpy()
    assert np.abs(from_onnx.reshape(ref.shape) - ref).max() < 5e-3
    assert np.abs(from_onnx.reshape(ref.shape) - from_torch.reshape(ref.shape)).max() < 5e-3
