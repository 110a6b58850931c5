"""QONNX (Quant, BipolarQuant, Trunc) and ONNX QDQ models: fxflow's predict equals an independent float64
evaluation of the QONNX semantics bit for bit (onnx's reference evaluator, with the QONNX ops written here
from the qonnx specification), for every supported rounding mode and signed/narrow combination; every
rejection names the node, its op type and why; the example model compiles and C-simulates.  BipolarQuant
with float scales (per tensor and per channel) also equals qonnx's own `execute_onnx`."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

import fxflow

Q = "qonnx.custom_op.general"
MODES = ["ROUND", "HALF_EVEN", "FLOOR", "DOWN", "HALF_UP", "HALF_DOWN"]


# --- the QONNX semantics (qonnx docs: intquant_v1, bipolarquant_v1, trunc_v2), float64 --------------------
def _round(y, mode):
    mode = mode.upper()
    if mode in ("ROUND", "HALF_EVEN"):
        return np.round(y)  # numpy rounds half to even
    if mode == "FLOOR":
        return np.floor(y)
    if mode == "CEIL":
        return np.ceil(y)
    if mode == "DOWN":
        return np.trunc(y)
    if mode == "UP":
        return np.sign(y) * np.ceil(np.abs(y))
    if mode == "HALF_UP":
        return np.sign(y) * np.floor(np.abs(y) + 0.5)
    if mode == "HALF_DOWN":
        return np.sign(y) * np.ceil(np.abs(y) - 0.5)
    raise ValueError(mode)


def _int_range(signed, narrow, bits):
    if signed:
        return -(2 ** (bits - 1)) + narrow, 2 ** (bits - 1) - 1
    return 0, 2**bits - 1 - narrow


def quant_ref(x, scale, zeropt, bitwidth, signed=1, narrow=0, rounding_mode="ROUND"):
    y = np.asarray(x, np.float64) / np.float64(scale) + zeropt
    bits = int(bitwidth)
    if bits == 1 and signed:
        y = np.where(y >= 0, 1.0, -1.0)
    else:
        lo, hi = _int_range(signed, narrow, bits)
        y = _round(np.clip(y, lo, hi), rounding_mode)
    return (y - zeropt) * np.float64(scale)


class Quant(OpRun):
    op_domain = Q

    def _run(self, x, scale, zeropt, bitwidth, signed=1, narrow=0, rounding_mode="ROUND"):
        return (quant_ref(x, scale, zeropt, bitwidth, signed, narrow, rounding_mode),)


class BipolarQuant(OpRun):
    op_domain = Q

    def _run(self, x, scale):
        return (np.where(np.asarray(x, np.float64) >= 0, 1.0, -1.0) * np.float64(scale),)


class Trunc(OpRun):
    op_domain = Q

    def _run(self, x, scale, zeropt, in_bitwidth, out_scale, *out, rounding_mode="FLOOR", signed=1, narrow=0):
        out_bitwidth = out[-1]  # newer qonnx: (..., out_scale, out_zeropt, out_bitwidth), out_zeropt unused
        y = np.round(np.asarray(x, np.float64) / np.float64(scale) + zeropt)
        trunc_scale = 2.0 ** np.round(np.log2(np.float64(out_scale) / np.float64(scale)))
        lo, hi = _int_range(signed, narrow, int(out_bitwidth))
        y = _round(np.clip(y / trunc_scale, lo, hi), rounding_mode)
        return ((y - zeropt / trunc_scale) * np.float64(out_scale),)


def reference(model, x):
    """The model evaluated by onnx's reference evaluator (QONNX ops above; standard ops in float64)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for t in m.graph.initializer:
        if t.data_type == TensorProto.FLOAT:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float64), t.name))
    for v in [*m.graph.input, *m.graph.output]:
        v.type.tensor_type.elem_type = TensorProto.DOUBLE
    del m.graph.value_info[:]
    ev = ReferenceEvaluator(m, new_ops=[Quant, BipolarQuant, Trunc])
    return ev.run(None, {m.graph.input[0].name: np.asarray(x, np.float64)})[0]


# --- model building ---------------------------------------------------------------------------------------
def _f(name, value):
    return numpy_helper.from_array(np.asarray(value, np.float32), name)


class Builder:
    """A QONNX graph written like Brevitas exports: parameters as initializers, named nodes."""

    def __init__(self):
        self.nodes, self.inits, self.k = [], [], 0

    def const(self, value, dtype=np.float32):
        self.k += 1
        name = f"c{self.k}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def node(self, op, inputs, name, domain="", **attrs):
        out = f"{name}_out"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, domain=domain, **attrs))
        return out

    def quant(self, x, name, f, bits, signed=1, narrow=0, mode="ROUND", zp=0.0):
        return self.node("Quant", [x, self.const(2.0**-f), self.const(zp), self.const(float(bits))], name, Q,
                         signed=signed, narrow=narrow, rounding_mode=mode)

    def model(self, out, n_in, n_out, opset=13):
        self.nodes[-1].output[0] = "y"
        for n in self.nodes:
            n.input[:] = ["y" if v == out else v for v in n.input]
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", n_in])
        graph = helper.make_graph(self.nodes, "qnet", [x],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", n_out])], self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(Q, 1)])


def qmlp(mode="ROUND", signed=1, narrow=0, seed=0):
    """x -> Quant -> MatMul(Quant W) + Quant(b) -> Quant(act) -> MatMul(Quant W) -> Quant(out)."""
    rng = np.random.default_rng(seed)
    b = Builder()
    x = b.quant("x", "/input_quant/Quant", 4, 8, signed, narrow, mode)
    w1 = b.quant(b.const(rng.normal(size=(6, 8)) * 0.5), "/fc1/weight_quant/Quant", 5, 6, 1, 1, "ROUND")
    b1 = b.quant(b.const(rng.normal(size=8) * 0.3), "/fc1/bias_quant/Quant", 9, 16, 1, 0, "ROUND")
    h = b.node("Add", [b.node("MatMul", [x, w1], "/fc1/MatMul"), b1], "/fc1/Add")
    h = b.quant(h, "/act/Quant", 3, 6, signed, narrow, mode)
    w2 = b.quant(b.const(rng.normal(size=(8, 3)) * 0.5), "/fc2/weight_quant/Quant", 4, 5, 1, 0, "FLOOR")
    h = b.node("MatMul", [h, w2], "/fc2/MatMul")
    return b.model(b.quant(h, "/output_quant/Quant", 2, 7, signed, narrow, mode), 6, 3)


def inputs(n, width, f=4, seed=1):
    """Ties (odd multiples of half an input LSB), on-grid values and values far outside the input range."""
    rng = np.random.default_rng(seed)
    ties = rng.integers(-300, 300, size=(n, width)) * 2.0 ** -(f + 1)
    wide = rng.normal(size=(n, width)) * 6
    return np.concatenate([ties, wide]).astype(np.float32)


def _compile(model, tmp_path, name="m.onnx", **kw):
    path = tmp_path / name
    onnx.save(model, path)
    return fxflow.compile(path, **kw)


# --- bit-exact agreement --------------------------------------------------------------------------------------
@pytest.mark.parametrize("signed, narrow", [(1, 0), (1, 1), (0, 0)])
@pytest.mark.parametrize("mode", MODES)
def test_quant_mlp_is_bit_exact(tmp_path, mode, signed, narrow):
    model = qmlp(mode, signed, narrow)
    design = _compile(model, tmp_path)
    x = inputs(400, 6)
    want = reference(model, x)
    assert np.array_equal(design.predict(x), want)
    q = {"ROUND": "RND_CONV", "HALF_EVEN": "RND_CONV", "FLOOR": "TRN", "DOWN": "TRN_ZERO", "HALF_UP": "RND_INF",
         "HALF_DOWN": "RND_ZERO"}[mode]
    o = "SAT_SYM" if narrow else "SAT"
    fxp = design.mlir("fxp")
    assert fxp.count(f'"{q}", "{o}">> loc(') >= 3  # the three activation casts, in the model's formats
    layers = {r["layer"]: r for r in design.report()["layers"]}
    assert layers["/fc1/MatMul"]["weight"] == "ap_fixed<6,1,AP_RND_CONV,AP_SAT_SYM>"
    assert layers["/fc2/MatMul"]["weight"] == "ap_fixed<5,1,AP_TRN,AP_SAT>"


def test_weights_keep_the_model_formats_whatever_the_config(tmp_path):
    model = qmlp("HALF_UP")
    narrow = _compile(model, tmp_path, config={"model": {"precision": "ap_fixed<4,2>"}})
    x = inputs(200, 6)
    assert np.array_equal(narrow.predict(x), reference(model, x))


def test_consecutive_quantizers_and_trunc(tmp_path):
    """Quant -> Quant (a cast of a cast) and Trunc v2 (round half even to the input grid, then its mode)."""
    b = Builder()
    x = b.quant("x", "q0", 6, 12, mode="HALF_UP")
    x = b.quant(x, "q1", 3, 6, mode="FLOOR")  # directly on q0's output
    w = b.quant(b.const(np.random.default_rng(3).normal(size=(5, 4))), "qw", 4, 6, 1, 1)
    h = b.node("MatMul", [x, w], "mm")
    t = b.node("Trunc", [h, b.const(2.0**-7), b.const(0.0), b.const(14.0), b.const(2.0**-4), b.const(7.0)], "trunc",
               Q, rounding_mode="ROUND", signed=1, narrow=0)
    t = b.node("Trunc", [t, b.const(2.0**-2), b.const(0.0), b.const(7.0), b.const(2.0**-1), b.const(5.0)], "trunc2",
               Q, rounding_mode="FLOOR", signed=1, narrow=1)
    b.inits.append(numpy_helper.from_array(np.float32(0.0), "zp0"))  # 7 inputs: with an output zero point
    direct = b.node("Trunc", [t, b.const(2.0**-1), b.const(0.0), b.const(5.0), b.const(1.0),
                              "zp0", b.const(4.0)], "trunc3", Q, rounding_mode="HALF_DOWN", signed=0)
    model = b.model(direct, 5, 4)
    design = _compile(model, tmp_path)
    x = inputs(500, 5, f=6)
    assert np.array_equal(design.predict(x), reference(model, x))
    assert design.mlir("fxp").count('"fxp.cast"') >= 8


def test_trunc_rounds_twice_like_qonnx(tmp_path):
    """Trunc straight on the input: x/scale is rounded half to even first, then floored — not one floor."""
    b = Builder()
    t = b.node("Trunc", ["x", b.const(2.0**-2), b.const(0.0), b.const(8.0), b.const(2.0**-0), b.const(4.0)], "t", Q)
    model = b.model(t, 3, 3)
    design = _compile(model, tmp_path)
    x = np.array([[0.625, 3.875, -0.125], [1.874, -8.5, 100.0]], np.float32)  # 2.5 -> 2 -> 0; 15.5 -> 16 -> 4
    want = reference(model, x)
    assert np.array_equal(design.predict(x), want)
    assert want[0, 1] == 4.0 and np.floor(3.875) == 3.0


def test_bipolar_quant(tmp_path):
    rng = np.random.default_rng(5)
    b = Builder()
    x = b.node("BipolarQuant", ["x", b.const(0.5)], "bin_in", Q)
    w = b.node("BipolarQuant", [b.const(rng.normal(size=(7, 4))), b.const(0.25)], "bin_w", Q)
    h = b.node("MatMul", [x, w], "mm")
    y = b.quant(h, "q1bit", 0, 1, signed=1)  # a 1-bit signed Quant is bipolar too (as qonnx executes it)
    model = b.model(y, 7, 4)
    design = _compile(model, tmp_path)
    x = np.concatenate([rng.normal(size=(300, 7)), np.zeros((1, 7)), -np.full((1, 7), 1e-30)]).astype(np.float32)
    assert np.array_equal(design.predict(x), reference(model, x))
    assert '"fxp.select"' in design.mlir("fxp")  # x >= 0 ? 1 : -1: exact comparisons, no table


def _qonnx_exec(model, x):
    """The model run by qonnx's own executor (its float32 BipolarQuant / Quant), one batch."""
    pytest.importorskip("qonnx")
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    from qonnx.transformation.infer_shapes import InferShapes

    m = onnx.ModelProto()
    m.CopyFrom(model)
    for v in [*m.graph.input, *m.graph.output]:
        v.type.tensor_type.shape.dim[0].dim_value = len(x)  # qonnx executes static shapes only
    mw = ModelWrapper(m).transform(InferShapes())
    return execute_onnx(mw, {"x": x})["y"]


@pytest.mark.parametrize("opset", [11, 13])
def test_quant_per_channel_activation_scales(tmp_path, opset):
    """Quant on activations with broadcast per-channel float scales ([1, 3, 1] with per-channel zero points on a
    [N, 3, 4] input, rank-1 [2] on a MatMul output): one threshold quantizer per channel (Split's sizes are an
    attribute before opset 13); equal to the float64 graph, and rounded to float32 to qonnx's execution.  The
    input scales have short mantissas so that qonnx's float32 MatMul is exact (with 0.11, 0.023, 0.4 its
    rounded sums land on the other side of 5 of 600 FLOOR steps; the float64 graph agrees with fxflow)."""
    rng = np.random.default_rng(12)
    b = Builder()
    s_in = b.const(np.array([0.375, 0.0234375, 0.625], np.float32).reshape(1, 3, 1))
    z_in = b.const(np.array([0.0, 2.0, -1.0], np.float32).reshape(1, 3, 1))
    x = b.node("Quant", ["x", s_in, z_in, b.const(4.0)], "qx", Q, signed=1, narrow=0, rounding_mode="HALF_UP")
    w = b.quant(b.const(rng.normal(size=(4, 2))), "qw", 4, 6, 1, 1)
    h = b.node("MatMul", [x, w], "mm")
    y = b.node("Quant", [h, b.const([0.07, 0.19]), b.const(0.0), b.const(5.0)], "qy", Q, signed=0, narrow=0,
               rounding_mode="FLOOR")
    model = b.model(y, 4, 2, opset=opset)
    model.graph.input[0].type.tensor_type.shape.dim.insert(1, onnx.TensorShapeProto.Dimension(dim_value=3))
    model.graph.output[0].type.tensor_type.shape.dim.insert(1, onnx.TensorShapeProto.Dimension(dim_value=3))
    design = _compile(model, tmp_path)
    assert design.mlir("fxp").count('fxp.threshold"') == 3 + 2
    x = rng.normal(scale=0.8, size=(300, 3, 4)).astype(np.float32)
    got = np.asarray(design.predict(x), np.float64)
    assert len(np.unique(got)) >= 8
    assert np.array_equal(got, reference(model, x))
    assert np.array_equal(got.astype(np.float32), _qonnx_exec(model, x))  # its levels (q - z) * s in float32


def test_bipolar_weights_with_per_channel_power_of_two_scales(tmp_path):
    """Binary weights scaled 2^-3 .. 2^1 per output channel keep their values: their format holds the largest
    channel (it once took the finest channel's 2-bit format, ap_fixed<2,-2>, and saturated the others)."""
    rng = np.random.default_rng(6)
    b = Builder()
    x = b.quant("x", "qx", 4, 8)
    w = b.node("BipolarQuant", [b.const(rng.normal(size=(6, 4))), b.const([[0.25, 1.0, 0.125, 2.0]])], "bin_w", Q)
    model = b.model(b.quant(b.node("MatMul", [x, w], "mm"), "qy", 5, 16), 6, 4)
    design = _compile(model, tmp_path)
    x = inputs(200, 6)
    assert np.array_equal(design.predict(x), reference(model, x))


def _bipolar_mlp(rng):
    """BipolarQuant with float scales: per tensor on the input, per output channel on weights ([1, 5]) and on
    the MatMul's output ([1, 5]), then a 1-bit signed Quant with a rank-1 per-channel scale.  The scales
    feeding MatMuls have short mantissas (0.75, 1.25, ...), so qonnx's float32 sums are exact too; the last
    scales are long.  Returns the model and the float weights of the binary layer."""
    b = Builder()
    wf = rng.normal(size=(6, 5))
    x = b.node("BipolarQuant", ["x", b.const(0.75)], "bin_in", Q)
    w = b.node("BipolarQuant", [b.const(wf), b.const([[0.375, 1.25, 0.625, 3.5, 0.15625]])], "bin_w", Q)
    h = b.node("MatMul", [x, w], "mm")
    h = b.node("BipolarQuant", [h, b.const([[0.75, 0.3125, 1.5, 2.5, 0.6875]])], "bin_h", Q)
    w2 = b.quant(b.const(rng.normal(size=(5, 4))), "qw2", 4, 6, 1, 1)
    h = b.node("MatMul", [h, w2], "mm2")
    y = b.node("Quant", [h, b.const([0.6, 0.013, 1.7, 0.45]), b.const(0.0), b.const(1.0)], "q1bit", Q,
               signed=1, narrow=0, rounding_mode="ROUND")
    return b.model(y, 6, 4), wf


def test_bipolar_quant_float_scales(tmp_path):
    """Exact threshold quantizers (split per channel), bit for bit qonnx's execution and the float64 reference,
    with exact zero sums (qonnx's x >= 0 gives +s on 0).  With long scales feeding the MatMuls qonnx's BLAS
    sums of +-s turn exact zeros into +-3e-9 and flip the next sign: the float32 disagreement docs/layers.md
    describes, which these scales avoid."""
    rng = np.random.default_rng(8)
    model, wf = _bipolar_mlp(rng)
    design = _compile(model, tmp_path)
    fxp = design.mlir("fxp")
    assert fxp.count('fxp.threshold"') == 1 + 5 + 4 and '"fxp.select"' not in fxp
    x = np.concatenate([rng.normal(size=(300, 6)), np.zeros((1, 6)), -np.zeros((1, 6)),
                        rng.choice([-1e-38, 0.0, 1e-38], size=(40, 6))]).astype(np.float32)
    assert np.any(np.where(x >= 0, 1, -1) @ np.where(wf >= 0, 1, -1) == 0)  # exact zeros reach bin_h
    got = np.asarray(design.predict(x), np.float64)
    assert np.array_equal(got, _qonnx_exec(model, x).astype(np.float64))
    assert np.array_equal(got, reference(model, x)) and len(np.unique(got)) == 8  # +-s_c in every channel


@pytest.mark.needs("g++", "ap_types")
@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_bipolar_quant_float_scales_csim_equals_predict(tmp_path, io_type):
    """The channel splits inside the graph stream too (each reader its own copy of the stream)."""
    rng = np.random.default_rng(8)
    model, _ = _bipolar_mlp(rng)
    design = _compile(model, tmp_path, io_type=io_type, backend="vitis")
    x = np.concatenate([rng.normal(size=(30, 6)), np.zeros((1, 6))]).astype(np.float32)
    assert np.array_equal(np.asarray(design.csim(x, raw=True)), np.asarray(design.predict(x, raw=True)))


def test_bipolar_quant_per_channel_input(tmp_path):
    """A per-channel BipolarQuant ([1, 3, 1] long float scales) straight on the model input: -0.0 and 0 give
    +s, the least float32 negatives -s (the input's lossless format for the threshold at 0), as qonnx."""
    b = Builder()
    scale = b.const(np.array([0.37, 0.0123, 1.9], np.float32).reshape(1, 3, 1))
    model = b.model(b.node("BipolarQuant", ["x", scale], "bin_in", Q), 6, 6)
    for v in [*model.graph.input, *model.graph.output]:
        v.type.tensor_type.shape.dim.insert(1, onnx.TensorShapeProto.Dimension(dim_value=3))
    design = _compile(model, tmp_path)
    assert design.mlir("fxp").count('fxp.threshold"') == 3
    rng = np.random.default_rng(9)
    x = np.concatenate([rng.normal(size=(50, 3, 6)), rng.choice([-1e-45, -0.0, 0.0, 1e-45, -1e-38, 3e38, -3e38],
                                                                size=(50, 3, 6))]).astype(np.float32)
    got = np.asarray(design.predict(x), np.float64)
    assert np.array_equal(got, _qonnx_exec(model, x).astype(np.float64))
    assert np.array_equal(got, reference(model, x))


def test_qdq_pairs(tmp_path):
    """QuantizeLinear -> DequantizeLinear on activations, int8 weights with DequantizeLinear only."""
    rng = np.random.default_rng(2)
    b = Builder()
    q = b.node("QuantizeLinear", ["x", b.const(2.0**-4), b.const(0, np.int8)], "ql_in")
    x = b.node("DequantizeLinear", [q, b.const(2.0**-4), b.const(0, np.int8)], "dql_in")
    wq = b.const(rng.integers(-128, 128, size=(6, 5)), np.int8)
    w = b.node("DequantizeLinear", [wq, b.const(2.0**-6), b.const(0, np.int8)], "dql_w")
    wc = b.node("DequantizeLinear", [b.const(rng.integers(-100, 100, size=(5, 3)), np.int8),
                                     b.const(np.array([2.0**-5, 2.0**-3, 2.0**-7]), np.float32),
                                     b.const(np.zeros(3), np.int8)], "dql_w2", axis=1)  # per-channel weights
    h = b.node("MatMul", [x, w], "fc1")
    q = b.node("QuantizeLinear", [h, b.const(2.0**-3), b.const(0, np.uint8)], "ql_h")
    h = b.node("DequantizeLinear", [q, b.const(2.0**-3), b.const(0, np.uint8)], "dql_h")
    model = b.model(b.node("MatMul", [h, wc], "fc2"), 6, 3, opset=19)
    # the output is not quantized by the model: a configured result format wide enough to be exact
    design = _compile(model, tmp_path, config={"model": {"precision": "ap_fixed<40,20>"}})
    x = inputs(400, 6)
    want = ReferenceEvaluator(model).run(None, {"x": x})[0].astype(np.float64)
    assert np.array_equal(design.predict(x), want)
    fxp = design.mlir("fxp")
    assert '!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND_CONV", "SAT">' in fxp  # int8 at 2^-4
    assert '!fxp.fixed<0 : i32, 5 : i32, 3 : i32, "RND_CONV", "SAT">' in fxp  # uint8 at 2^-3


@pytest.mark.needs("g++", "ap_types")
def test_example_compiles_and_csim_matches(tmp_path):
    from fxflow.examples import load

    ex = load("qonnx_mlp")
    model = onnx.load(ex.make_model(tmp_path / "qonnx_mlp.onnx"))
    design = fxflow.compile(tmp_path / "qonnx_mlp.onnx", config=ex.DEFAULT_CONFIG, output_dir=tmp_path / "prj")
    x = ex.make_inputs(200)
    assert x.shape == (200, *ex.INPUT_SHAPE)
    got = design.predict(x)
    assert np.array_equal(got, reference(model, x))
    assert np.array_equal(design.predict(x, raw=True), design.csim(x, raw=True, verbose=False))


# --- rejections -------------------------------------------------------------------------------------------------
def _bad(b: Builder, y, n_in=4, n_out=4, opset=13):
    return b.model(y, n_in, n_out, opset)


def _reject(model, tmp_path, message, node="bad quant; rm -rf /", op="Quant"):
    with pytest.raises(fxflow.UnsupportedOpError, match=message) as err:
        _compile(model, tmp_path)
    assert f"'{op}' (node '{node}')" in str(err.value) and err.value.layer == node


def _with(b, op, inputs_, name="bad quant; rm -rf /", domain=Q, **attrs):
    return b.node(op, inputs_, name, domain, **attrs)


@pytest.mark.parametrize("make, message, op", [
    (lambda b: _with(b, "Quant", ["x", b.const([[0.25, 0.5, 0.25, 0.25], [0.5] * 4]), b.const(0.0), b.const(8.0)]),
     "varies along several axes.*not per element", "Quant"),
    (lambda b: _with(b, "Quant", ["x", b.const([[0.25], [0.5], [0.25], [0.5]]), b.const(0.0), b.const(8.0)]),
     "varies along the batch dimension", "Quant"),
    (lambda b: _with(b, "Quant", ["x", b.const([[0.3, 0.5, 0.25]]), b.const(0.0), b.const(8.0)]),
     "3 per-channel scales do not match dimension 1 of its input 'x' of shape \\['\\?', 4\\]", "Quant"),
    (lambda b: _with(b, "Quant", ["x", b.const([[[0.3, 0.5, 0.25, 0.3]]]), b.const(0.0), b.const(8.0)]),
     "needs its input 'x' to have a known rank at least as large; the input's shape is of rank 2", "Quant"),
    (lambda b: _with(b, "Quant", ["x", b.const([0.3, 0.5, 0.25, 0.3]), b.const([0.0, 1.0]), b.const(8.0)]),
     "do not broadcast together", "Quant"),
    (lambda b: _with(b, "Quant", ["x", b.const(0.25), b.const(0.0), b.const(8.0)], rounding_mode="stochastic"),
     "unknown rounding_mode 'STOCHASTIC'", "Quant"),
    (lambda b: _with(b, "Quant", ["x", b.const(0.25), b.const(0.0), b.const(8.0)], signed=0, narrow=1),
     "narrow and unsigned", "Quant"),
    (lambda b: _with(b, "Quant", ["x", "x", b.const(0.0), b.const(8.0)]), "scale .* is not a constant", "Quant"),
    (lambda b: _with(b, "Quant", ["x", b.const(0.25), b.const(0.0)]), "bitwidth input is missing", "Quant"),
    (lambda b: _with(b, "Quant", ["x", b.const(0.25), b.const(0.0), b.const(2.5)]), "one integer >= 1", "Quant"),
    (lambda b: _with(b, "Quant", ["x", b.const(0.25), b.const(0.0), b.const(30.0)]), "only up to 24 bits", "Quant"),
    (lambda b: _with(b, "IntQuant", ["x", b.const(0.25), b.const(0.0), b.const(8.0)], domain="onnx.brevitas",
                     rounding_mode="ROUND_TO_ZERO"), "ROUND_TO_ZERO", "IntQuant"),
    (lambda b: _with(b, "BipolarQuant", ["x", b.const(-0.75)]), "scale must be positive", "BipolarQuant"),
    (lambda b: _with(b, "BipolarQuant", ["x", b.const([[0.75, 0.5, 0.25, 1.0]] * 2)]), "several axes",
     "BipolarQuant"),
    (lambda b: _with(b, "Trunc", ["x", b.const(0.25), b.const(0.0), b.const(8.0), b.const(4.0)]), "Trunc v1",
     "Trunc"),
    (lambda b: _with(b, "Trunc", ["x", b.const(0.25), b.const(0.0), b.const(8.0), b.const(0.3), b.const(4.0)]),
     "output scale 0.3.* not a power of two", "Trunc"),
    (lambda b: _with(b, "Trunc", ["x", b.const(0.25), b.const(0.0), b.const(8.0), b.const(1.0), b.const(4.0)],
                     rounding_mode="CEIL"), "CEIL", "Trunc"),
    (lambda b: _with(b, "QuantizeLinear", ["x", b.const(0.25), b.const(0, np.int8)], domain=""),
     "only in QuantizeLinear -> DequantizeLinear pairs", "QuantizeLinear"),
    (lambda b: _with(b, "DequantizeLinear", [b.node("QuantizeLinear", ["x", b.const(0.25), b.const(0, np.int8)], "ql"),
                                             b.const(0.5), b.const(0, np.int8)], domain=""),
     "differs from the scale of its QuantizeLinear 'ql'", "DequantizeLinear"),
    (lambda b: _with(b, "QuantizeLinear", ["x", b.const(0.1), b.const(0, np.int8)], domain=""),
     "only in QuantizeLinear -> \\[Clip ->\\] DequantizeLinear chains", "QuantizeLinear"),
    (lambda b: b.node("Mul", ["x", _with(b, "Quant", [b.const(np.ones(4) * 0.3), b.const(0.25), b.const(0.0),
                                                      b.const(4.0)])], "mul"),
     "feeds the Mul node 'mul'.*weight or bias", "Quant"),
])
def test_rejections_name_the_node_and_why(tmp_path, make, message, op):
    b = Builder()
    model = _bad(b, make(b))
    _reject(model, tmp_path, message, op=op)


def test_old_opset_is_rejected(tmp_path):
    b = Builder()
    model = _bad(b, _with(b, "Quant", ["x", b.const(0.25), b.const(0.0), b.const(8.0)]), opset=10)
    _reject(model, tmp_path, "opset is 10")


def test_node_names_never_reach_cpp_unsanitized(tmp_path):
    b = Builder()
    y = _with(b, "Quant", ["x", b.const(0.25), b.const(0.0), b.const(8.0)], name='q"; system("x"); //')
    design = _compile(_bad(b, y), tmp_path, output_dir=tmp_path / "prj")
    design.write()
    for path in (tmp_path / "prj").rglob("*"):
        assert '"; system' not in path.name
        if path.suffix in (".cpp", ".h"):
            assert 'system("x")' not in path.read_text()
