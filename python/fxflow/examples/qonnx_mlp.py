"""A QONNX MLP (16 -> 32 -> 5) laid out like a Brevitas export: Quant nodes on the input, on every weight and
bias, after the ReLU (unsigned, like QuantReLU) and on the output.

The graph is built with `onnx.helper` (no Brevitas run here) with fixed seeded weights; every format comes
from the model's Quant nodes, so the config leaves precisions to the model.  The input quantizer rounds
half away from zero (HALF_UP -> AP_RND_INF), the others half to even (ROUND -> AP_RND_CONV) or down.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

N_FEATURES, N_HIDDEN, N_CLASSES = 16, 32, 5
DOMAIN = "qonnx.custom_op.general"


def build(seed: int = 0):
    """The QONNX `onnx.ModelProto`."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits, nodes = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def quant(x, name, f, bits, signed=1, narrow=0, mode="ROUND"):
        out = f"{name}_output"
        nodes.append(helper.make_node("Quant", [x, const(f"{name}.scale", 2.0**-f), const(f"{name}.zeropt", 0.0),
                                                const(f"{name}.bitwidth", float(bits))], [out], name=name,
                                      domain=DOMAIN, signed=signed, narrow=narrow, rounding_mode=mode))
        return out

    def linear(x, name, n_in, n_out, f_in, f_w):
        w = quant(const(f"{name}.weight", rng.normal(size=(n_out, n_in)) / np.sqrt(n_in)),
                  f"/{name}/weight_quant/Quant", f_w, 4, narrow=1)
        b = quant(const(f"{name}.bias", rng.normal(size=n_out) * 0.1), f"/{name}/bias_quant/Quant", f_in + f_w, 16)
        out = f"/{name}/Gemm_output"
        nodes.append(helper.make_node("Gemm", [x, w, b], [out], name=f"/{name}/Gemm", transB=1))
        return out

    x = quant("global_in", "/input_quant/Quant", 4, 8, mode="HALF_UP")
    h = linear(x, "fc1", N_FEATURES, N_HIDDEN, 4, 3)
    nodes.append(helper.make_node("Relu", [h], ["/relu/Relu_output"], name="/relu/Relu"))
    h = quant("/relu/Relu_output", "/relu/act_quant/Quant", 3, 6, signed=0, mode="FLOOR")
    h = linear(h, "fc2", N_HIDDEN, N_CLASSES, 3, 3)
    quant(h, "/output_quant/Quant", 4, 8)
    nodes[-1].output[0] = "global_out"
    graph = helper.make_graph(nodes, "qonnx_mlp",
                              [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, ["batch", N_FEATURES])],
                              [helper.make_tensor_value_info("global_out", TensorProto.FLOAT, ["batch", N_CLASSES])],
                              inits)
    return helper.make_model(graph, producer_name="fxflow.examples.qonnx_mlp",
                             opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(DOMAIN, 1)])


def make_model(path=None) -> str:
    """Write the model to `path` (default: a file in the temporary directory) and return the path."""
    import onnx

    path = Path(path) if path is not None else Path(tempfile.gettempdir()) / "fxflow-examples" / "qonnx_mlp.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(build(), str(path))
    return str(path)


def make_inputs(n: int, seed: int = 1) -> np.ndarray:
    """Standardised features, float32 like real data; some beyond the input quantizer's range [-8, 8)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_t(df=4, size=(n, N_FEATURES)) * 1.5).astype(np.float32).astype(np.float64)


DEFAULT_CONFIG = {"model": {"reuse_factor": 1, "strategy": "latency"}}

NAME = "qonnx_mlp"
DESCRIPTION = "QONNX MLP (16->32->5, Brevitas-style Quant nodes)"
INPUT_SHAPE = (N_FEATURES,)
