"""Ops fxflow cannot compile are reported as unsupported operations naming the real cause: the aten op, the
PyTorch module path and the source line (not torch-mlir's diagnostic about a leftover constant), and for
ONNX the op type and node."""

from __future__ import annotations

import inspect

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

import fxflow


class Spectrum(nn.Module):
    def forward(self, x):
        return torch.fft.fft(x).real  # FFT_LINE


class RunningSum(nn.Module):
    def forward(self, x):
        return torch.cumsum(x, 1)  # CUMSUM_LINE


class Net(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.block = nn.Sequential(nn.ReLU(), inner)

    def forward(self, x):
        return self.block(self.fc(x))


def _line(marker: str) -> int:
    lines, start = inspect.getsourcelines(inspect.getmodule(Net))
    return next(i for i, text in enumerate(lines, start=1) if marker in text and "def " not in text)


@pytest.mark.parametrize("inner, aten, marker", [(Spectrum(), "aten.fft_fft", "# FFT_LINE"),
                                                 (RunningSum(), "aten.cumsum", "# CUMSUM_LINE")])
def test_unsupported_aten_op_names_op_module_and_line(inner, aten, marker):
    with pytest.raises(fxflow.UnsupportedOpError) as err:
        fxflow.compile(Net(inner), torch.zeros(1, 8))
    text = str(err.value)
    assert f"unsupported operation '{aten}' in module 'block.1'" in text
    assert f"test_unsupported_ops.py:{_line(marker)}" in text
    assert "torch.constant" not in text and "could not trace" not in text
    assert err.value.layer == "block.1"


def test_unsupported_onnx_op_names_op_type_and_node(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"], name="fc"),
             helper.make_node("CumSum", ["h", "axis"], ["y"], name="running/sum")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
                              [numpy_helper.from_array(np.ones((4, 4), np.float32), "W"),
                               numpy_helper.from_array(np.array(1, np.int64), "axis")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "m.onnx")
    with pytest.raises(fxflow.UnsupportedOpError, match=r"unsupported ONNX op type 'CumSum' \(node 'running/sum'\)"):
        fxflow.compile(tmp_path / "m.onnx")


def test_onnx_window_attribute_out_of_range_is_an_error_not_a_crash(tmp_path):
    """torch-mlir's ONNX conversion crashed (SIGSEGV) on a Conv with group -1 (found by test/fuzz)."""
    conv = helper.make_node("Conv", ["x", "W"], ["y"], name="conv", kernel_shape=[3, 3], group=-1)
    graph = helper.make_graph([conv], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 4, 4])],
                              [numpy_helper.from_array(np.ones((4, 2, 3, 3), np.float32), "W")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "m.onnx")
    with pytest.raises(fxflow.UnsupportedOpError, match=r"'Conv' \(node 'conv'\): its attribute 'group' is -1"):
        fxflow.compile(tmp_path / "m.onnx")
