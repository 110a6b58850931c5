"""Fully quantized models compile bit-exactly with no config: the tensors between the model's own quantizers
(Brevitas' `Gemm/Conv -> Relu -> Quant`, max-pool, flatten, concat) take exact formats from the range
analysis (passes/assign_precision/model_exact.py), and an op that cannot be exact there is a warning naming the layer.

The graphs are written with onnx.helper exactly as Brevitas emits them — the QONNX/dynamo shape
(`Quant(W) -> Gemm(transB=1)`, per-channel weight scales) and the TorchScript shape (`Quant(W) -> Transpose
-> MatMul (+ Add(Quant(b)))`) — and compared against test_qonnx's independent NumPy execution of the QONNX
semantics; the PyTorch fake-quant and QDQ front-ends against the model's own float64 forward pass."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator
from test_qonnx import Q, Builder, inputs, reference
from torch import nn

import fxflow


def _model(b: Builder, out: str, in_shape, out_shape, opset=13):
    b.nodes[-1].output[0] = "y"
    for n in b.nodes:
        n.input[:] = ["y" if v == out else v for v in n.input]
    graph = helper.make_graph(b.nodes, "brevitas", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *out_shape])], b.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(Q, 1)])


def _per_channel(f, shape):
    """A Brevitas per-channel scale tensor 2^-f[c] of broadcast shape `shape` (output channel first)."""
    return np.ldexp(1.0, -np.asarray(f)).reshape(shape)


def _quant_w(b, rng, shape, name, f, bits=8):
    return b.node("Quant", [b.const(rng.normal(size=shape) * 0.5), b.const(f), b.const(0.0), b.const(float(bits))],
                  name, Q, signed=1, narrow=1, rounding_mode="ROUND")


def _linear(b, rng, x, n_in, n_out, name, style, per_channel=True):
    """QuantLinear as exported: dynamo/QONNX `Gemm(transB=1)` or TorchScript `Transpose -> MatMul (+ Add)`."""
    f = _per_channel(rng.integers(3, 9, size=n_out), (n_out, 1)) if per_channel else np.float32(2.0**-5)
    w = _quant_w(b, rng, (n_out, n_in), f"{name}/weight_quant/Quant", f)
    bias = b.quant(b.const(rng.normal(size=n_out) * 0.3), f"{name}/bias_quant/Quant", 10, 16)
    if style == "gemm":
        return b.node("Gemm", [x, w, bias], f"{name}/Gemm", transB=1)
    wt = b.node("Transpose", [w], f"{name}/Transpose", perm=[1, 0])
    h = b.node("MatMul", [x, wt], f"{name}/MatMul")
    return b.node("Add", [h, bias], f"{name}/Add") if style == "matmul_add" else h


def brevitas_mlp(style, seed=0):
    """QuantIdentity -> QuantLinear -> QuantReLU -> QuantLinear -> QuantReLU -> QuantLinear (float output)."""
    rng = np.random.default_rng(seed)
    b = Builder()
    h = b.quant("x", "/input_quant/Quant", 5, 8)
    for i, (n_in, n_out) in enumerate([(16, 10), (10, 8)]):
        h = _linear(b, rng, h, n_in, n_out, f"/fc{i}", style)
        h = b.node("Relu", [h], f"/relu{i}/Relu")
        h = b.quant(h, f"/relu{i}/act_quant/Quant", 3 + i, 8, signed=0)
    y = _linear(b, rng, h, 8, 3, "/out", style, per_channel=False)
    return _model(b, y, [16], [3])


def brevitas_cnn(pool="MaxPool", flatten="Flatten", seed=0, fc_style="gemm"):
    """QuantConv2d (per-channel) -> QuantReLU -> pool -> flatten -> QuantLinear -> QuantReLU."""
    rng = np.random.default_rng(seed)
    b = Builder()
    x = b.quant("x", "/input_quant/Quant", 4, 8)
    w = _quant_w(b, rng, (4, 2, 3, 3), "/conv/weight_quant/Quant", _per_channel([5, 4, 6, 3], (4, 1, 1, 1)))
    bias = b.quant(b.const(rng.normal(size=4) * 0.3), "/conv/bias_quant/Quant", 10, 16)
    h = b.node("Conv", [x, w, bias], "/conv/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    h = b.node("Relu", [h], "/relu/Relu")
    h = b.quant(h, "/relu/act_quant/Quant", 3, 8, signed=0)
    k = 3 if pool == "AveragePool3" else 2
    h = b.node(pool.rstrip("3"), [h], f"/pool/{pool.rstrip('3')}", kernel_shape=[k, k], strides=[k, k])
    n = 4 * (6 // k) ** 2
    if flatten == "Flatten":
        h = b.node("Flatten", [h], "/flat/Flatten", axis=1)
    else:
        h = b.node("Reshape", [h, b.const([-1, n], np.int64)], "/flat/Reshape")
    h = _linear(b, rng, h, n, 3, "/fc", fc_style)
    h = b.node("Relu", [h], "/fc_relu/Relu")
    return _model(b, b.quant(h, "/fc_relu/act_quant/Quant", 2, 8, signed=0), [2, 6, 6], [3])


def _compile(model, tmp_path, **kw):
    onnx.save(model, tmp_path / "m.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an exact model compiles without any warning
        return fxflow.compile(tmp_path / "m.onnx", **kw)


@pytest.mark.parametrize("style", ["gemm", "matmul", "matmul_add"])
def test_brevitas_mlp_is_bit_exact_without_config(tmp_path, style):
    model = brevitas_mlp(style)
    design = _compile(model, tmp_path)
    x = inputs(400, 16, f=5)
    assert np.array_equal(design.predict(x), reference(model, x))
    layers = {r["layer"]: r for r in design.report()["layers"]}
    mm = "Gemm" if style == "gemm" else "MatMul"
    assert layers[f"/fc0/{mm}"]["weight"] != "ap_fixed<16,6>"  # the model's (per-channel) weight format


@pytest.mark.parametrize("pool, flatten, fc_style", [("MaxPool", "Flatten", "gemm"), ("MaxPool", "Reshape", "matmul_add"),
                                                     ("AveragePool", "Flatten", "matmul")])
def test_brevitas_cnn_is_bit_exact_without_config(tmp_path, pool, flatten, fc_style):
    model = brevitas_cnn(pool, flatten, fc_style=fc_style)
    design = _compile(model, tmp_path)
    x = inputs(300, 72).reshape(-1, 2, 6, 6)
    assert np.array_equal(design.predict(x), reference(model, x))


def test_user_result_overrides_the_exact_format(tmp_path):
    model = brevitas_cnn()
    design = _compile(model, tmp_path, config={"layers": {"/conv/Conv": {"result": "ap_fixed<12,4>"}}})
    layers = {r["layer"]: r for r in design.report()["layers"]}
    assert layers["/conv/Conv"]["result"] == "ap_fixed<12,4>"
    assert layers["/fc/Gemm"]["result"] != "ap_fixed<16,6>"


def test_inexact_op_between_quantizers_is_a_warning_naming_the_layer(tmp_path):
    onnx.save(brevitas_cnn("AveragePool3"), tmp_path / "m.onnx")
    with pytest.warns(UserWarning, match=r"layer '/pool/AveragePool'.*averages over 9 values"):
        fxflow.compile(tmp_path / "m.onnx")


def test_concat_of_quantized_branches(tmp_path):
    rng = np.random.default_rng(4)
    b = Builder()
    x = b.quant("x", "/input_quant/Quant", 4, 8)
    left = b.node("Relu", [_linear(b, rng, x, 6, 4, "/a", "gemm")], "/a/Relu")
    left = b.quant(left, "/a/act_quant/Quant", 3, 6, signed=0)
    right = b.quant(_linear(b, rng, x, 6, 5, "/b", "matmul_add"), "/b/act_quant/Quant", 2, 8)
    h = b.node("Concat", [left, right], "/cat/Concat", axis=1)
    model = _model(b, _linear(b, rng, h, 9, 3, "/out", "matmul"), [6], [3])
    design = _compile(model, tmp_path)
    x = inputs(300, 6)
    assert np.array_equal(design.predict(x), reference(model, x))


def test_qdq_cnn_is_bit_exact_without_config(tmp_path):
    rng = np.random.default_rng(2)
    b = Builder()

    def qdq(v, name, f, zp_type=np.int8):
        q = b.node("QuantizeLinear", [v, b.const(2.0**-f), b.const(0, zp_type)], f"{name}/QuantizeLinear")
        return b.node("DequantizeLinear", [q, b.const(2.0**-f), b.const(0, zp_type)], f"{name}/DequantizeLinear")

    def dq_weight(shape, f, name, axis):
        scale = b.const(np.ldexp(1.0, -np.asarray(f)).astype(np.float32))
        return b.node("DequantizeLinear", [b.const(rng.integers(-127, 128, size=shape), np.int8), scale,
                                           b.const(np.zeros(np.size(f)), np.int8)], name, axis=axis)

    x = qdq("x", "/in", 4)
    h = b.node("Conv", [x, dq_weight((3, 2, 3, 3), [6, 7, 5], "/conv/w", 0)], "/conv/Conv", kernel_shape=[3, 3])
    h = qdq(b.node("Relu", [h], "/relu/Relu"), "/relu", 3, np.uint8)
    h = b.node("Flatten", [b.node("MaxPool", [h], "/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2])], "/flat")
    model = _model(b, b.node("MatMul", [h, dq_weight((12, 3), 6, "/fc/w", 1)], "/fc/MatMul"), [2, 6, 6], [3],
                   opset=19)
    design = _compile(model, tmp_path)
    x = inputs(300, 72).reshape(-1, 2, 6, 6)
    want = ReferenceEvaluator(model).run(None, {"x": x})[0].astype(np.float64)
    assert np.array_equal(design.predict(x), want)


def _fq(x, f, lo, hi):
    s = 2.0**f
    return torch.clamp(torch.round(x * s), lo, hi) / s


class QuantCnn(nn.Module):
    """Hand-written PyTorch fake quantization in the Brevitas order: conv -> relu -> quant -> max-pool ->
    flatten -> linear -> relu -> quant, every weight and bias quantized."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv, self.fc = nn.Conv2d(2, 4, 3, padding=1), nn.Linear(36, 3)

    def forward(self, x):
        x = _fq(x, 4, -128, 127)
        h = nn.functional.conv2d(x, _fq(self.conv.weight, 6, -127, 127), _fq(self.conv.bias, 10, -2**15, 2**15 - 1),
                                 padding=1)
        h = _fq(torch.relu(h), 3, 0, 255)
        h = torch.flatten(nn.functional.max_pool2d(h, 2), 1)
        h = nn.functional.linear(h, _fq(self.fc.weight, 6, -127, 127), _fq(self.fc.bias, 10, -2**15, 2**15 - 1))
        return _fq(torch.relu(h), 2, 0, 255)


def test_pytorch_fake_quant_cnn_is_bit_exact_without_config():
    model = QuantCnn().eval()
    x = (np.random.default_rng(1).normal(size=(300, 2, 6, 6)) * 4).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        design = fxflow.compile(model, x[:1])
    with torch.no_grad():
        import copy

        want = copy.deepcopy(model).double()(torch.as_tensor(x, dtype=torch.float64)).numpy()
    assert np.array_equal(design.predict(x), want)


def bnn_pynq_style(first: str, seed=0):
    """Brevitas bnn_pynq's pattern, written by hand: view -> 2*x - 1 -> input quantizer (`first`: 8-bit with
    grid 2^-7, 2-bit narrow with grid 1, or bipolar) -> QuantLinear (1-bit weights, no bias) -> BatchNorm ->
    bipolar -> QuantLinear (2-bit weights) -> BatchNorm -> 2-bit quantizer (the issue's reproducer, extended)."""
    rng = np.random.default_rng(seed)
    b = Builder()
    h = b.node("Reshape", ["x", b.const([-1, 16], np.int64)], "/view/Reshape")
    h = b.node("Sub", [b.node("Mul", [h, b.const(2.0)], "/Mul"), b.const(1.0)], "/Sub")
    if first == "bipolar":
        h = b.node("BipolarQuant", [h, b.const(1.0)], "/input_quant/Quant", Q)
    else:
        f, bits, narrow = (7, 8, 0) if first == "8bit" else (0, 2, 1)
        h = b.quant(h, "/input_quant/Quant", f, bits, narrow=narrow)
    for i, (n_in, n_out, bits) in enumerate([(16, 12, 1), (12, 5, 2)]):
        w = b.const(rng.uniform(-1, 1, size=(n_out, n_in)))
        w = b.node("BipolarQuant", [w, b.const(1.0)], f"/fc{i}/weight_quant/Quant", Q) if bits == 1 else \
            b.quant(w, f"/fc{i}/weight_quant/Quant", 0, 2, narrow=1)
        h = b.node("Gemm", [h, w], f"/fc{i}/Gemm", transB=1)
        bn = [b.const(rng.uniform(0.5, 2, n_out)), b.const(rng.normal(size=n_out)), b.const(rng.normal(size=n_out)),
              b.const(rng.uniform(1, 9, n_out))]
        h = b.node("BatchNormalization", [h, *bn], f"/bn{i}/BatchNormalization", epsilon=1e-4)
        h = b.node("BipolarQuant", [h, b.const(1.0)], f"/act{i}/Quant", Q) if i == 0 else \
            b.quant(h, f"/act{i}/Quant", 0, 2, narrow=1)
    return _model(b, h, [1, 4, 4], [5], opset=15)  # torch-mlir lowers BatchNormalization from opset 15


@pytest.mark.parametrize("first, input_format", [("8bit", "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>"),
                                                 ("2bit", "ap_ufixed<27,1,AP_RND_CONV,AP_SAT>"),
                                                 ("bipolar", "ap_ufixed<1,0,AP_TRN,AP_SAT>")])
def test_batchnorm_after_quantized_layers_and_affine_input_quantizer(tmp_path, first, input_format):
    """A BatchNorm after 1-bit/2-bit weights stays an exact scale_shift (folding it would cut the folded weights
    back to 1 bit), `2x - 1` before the input quantizer is accepted, and the input format follows from that
    quantizer: equal to the float64 QONNX semantics on random inputs and on every tie of the first quantizer."""
    model = bnn_pynq_style(first)
    design = _compile(model, tmp_path)
    rng = np.random.default_rng(2)
    grid = np.arange(513, dtype=np.float32) / 512  # every tie: x = 1/4, 3/4 (2-bit), (j + 1/2) / 256 (8-bit), 1/2
    near = np.concatenate([grid, np.nextafter(grid, np.float32(-1)), np.nextafter(grid, np.float32(2))])
    x = np.concatenate([rng.random((300, 1, 4, 4), dtype=np.float32), rng.choice(near, size=(300, 1, 4, 4)),
                        rng.normal(size=(100, 1, 4, 4)).astype(np.float32)])
    want = reference(model, x)
    assert len(np.unique(want)) > 2, "the signal died in the chain; the test would check nothing"
    assert np.array_equal(design.predict(x), want)
    layers = {r["layer"]: r for r in design.report()["layers"]}
    assert layers["/view/Reshape"]["result"] == input_format
    assert [layers[f"/fc{i}/Gemm"]["weight"] for i in (0, 1)] == ["ap_fixed<2,2,AP_RND_CONV,AP_SAT>",
                                                                    "ap_fixed<2,2,AP_RND_CONV,AP_SAT_SYM>"]
    assert {layers[f"/bn{i}/BatchNormalization"]["op"] for i in (0, 1)} == {"scale_shift"}
