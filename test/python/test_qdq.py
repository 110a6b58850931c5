"""Quantizers with float scales and zero points (`fxp.threshold`, lowering/qdq.py) compile exactly.

* `fixed.threshold` equals the quantizer computed in exact rationals, for every rounding mode (hypothesis);
* Brevitas' default float-scale quantizers (a small ResNet-style net with a residual add and a small
  MobileNet-style net with a depthwise conv, 4-bit weights and activations), exported with `export_qonnx` and
  with `export_onnx_qcdq`, compiled with no config, equal qonnx's `execute_onnx` / onnxruntime on 1,000 inputs;
  so does a net with Brevitas' per-channel activation quantizers (broadcast [1, C, 1, 1] / [1, C] scales in
  QONNX, an axis in QCDQ: split into C threshold quantizers), whose C-sim equals predict;
* an MLP quantized by onnxruntime's `quantize_static` (QDQ, per-channel int8 weights, uint8 activations with
  zero points) equals onnxruntime on 1,000 inputs and on inputs on exact ties and next to them, where the
  only disagreements are the ones docs/layers.md counts: onnxruntime rounds x / s in float32 first;
* QONNX Quant with float scales, (fractional) zero points and every rounding mode equals exact rationals on
  every tie; Brevitas' 8-bit fixed-point quantizers in QCDQ form (narrow range: the Clip) equal onnxruntime;
* onnxruntime's QDQ of MatMul + Add (Linears on tokens: `MatMul -> QDQ -> Add(DequantizeLinear(bias))`, per
  tensor and per channel, and a float bias) equals the graph in exact rationals and onnxruntime; an int32
  bias straight after a MatMul is the dense layer's bias;
* C-sim (Vitis io_parallel and io_stream, Catapult) and Verilator equal predict on small MLPs.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fxflow
from fxflow.fixed.threshold import ROUNDINGS, affine_thresholds, count, grid_thresholds
from toolchains import needs

N_INPUTS = 1000


# --- the rule itself, against exact rationals ---------------------------------------------------------------
def _exact_round(u: Fraction, mode: str) -> int:
    fl = math.floor(u)
    frac = u - fl
    if mode == "FLOOR":
        return fl
    if mode == "CEIL":
        return math.ceil(u)
    if mode == "DOWN":
        return math.trunc(u)
    if mode == "UP":
        return math.ceil(u) if u > 0 else math.floor(u)
    if frac != Fraction(1, 2):
        return fl + (1 if frac > Fraction(1, 2) else 0)
    return {"HALF_EVEN": fl + (fl % 2), "HALF_ODD": fl + 1 - (fl % 2), "HALF_UP": fl + 1 if u > 0 else fl,
            "HALF_DOWN": fl if u > 0 else fl + 1}[mode]


@settings(max_examples=25, deadline=None)
@given(st.floats(2.0**-10, 4.0, width=32), st.integers(-3, 3), st.integers(2, 5), st.sampled_from(ROUNDINGS),
       st.booleans(), st.integers(0, 2**32 - 1))
def test_thresholds_equal_exact_rounding(scale, z, bits, mode, inside, seed):
    qmin, qmax = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    th = affine_thresholds(scale, z, qmin, qmax, mode, inside)
    t, inc, levels = th.as_arrays()
    s = Fraction(scale)
    f = 30
    rng = np.random.default_rng(seed)
    # the grid points on and next to every threshold (ties), and random points across the range
    raw = [int(v * 2**f) + d for v in th.thresholds for d in (-1, 0, 1)]
    raw += [int(v) for v in rng.integers(int((qmin - 2) * s * 2**f), int((qmax + 2) * s * 2**f), 64)]
    got = count(np.array(raw, dtype=np.int64), grid_thresholds(t, inc, f))
    for r, c in zip(raw, got):
        u = Fraction(r, 2**f) / s
        q = _exact_round(u + z, mode) if inside else _exact_round(u, mode) + z
        q = min(max(q, qmin), qmax)
        assert qmin + int(c) == q, (r, mode, inside)
        assert Fraction(levels[c]) == (q - z) * s


# --- Brevitas models ------------------------------------------------------------------------------------------
def _brevitas():
    needs("brevitas", "qonnx", "onnxruntime", "onnxoptimizer")  # brevitas' ONNX export runs onnxoptimizer
    import brevitas.nn as qnn
    import torch

    return qnn, torch


def _resnet(qnn, torch):
    class ResNetStyle(torch.nn.Module):
        """stem conv -> a residual block (two convs, the add, a ReLU quantizer) -> max-pool -> linear."""

        def __init__(self):
            super().__init__()
            conv = dict(kernel_size=3, padding=1, bias=False, weight_bit_width=4)
            self.inp = qnn.QuantIdentity(bit_width=4)
            self.stem = qnn.QuantConv2d(2, 4, **conv)
            self.r0 = qnn.QuantReLU(bit_width=4)
            self.c1 = qnn.QuantConv2d(4, 4, **conv)
            self.r1 = qnn.QuantReLU(bit_width=4)
            self.c2 = qnn.QuantConv2d(4, 4, **conv)
            self.q2 = qnn.QuantIdentity(bit_width=4)
            self.r2 = qnn.QuantReLU(bit_width=4)
            self.pool = torch.nn.MaxPool2d(2)
            self.fc = qnn.QuantLinear(4 * 3 * 3, 5, bias=True, weight_bit_width=4)  # Brevitas' float bias
            self.out = qnn.QuantIdentity(bit_width=4)

        def forward(self, x):
            a = self.r0(self.stem(self.inp(x)))
            b = self.q2(self.c2(self.r1(self.c1(a))))
            y = self.pool(self.r2(a + b))
            return self.out(self.fc(torch.flatten(y, 1)))

    return ResNetStyle(), (2, 6, 6)


def _mobilenet(qnn, torch):
    class MobileNetStyle(torch.nn.Module):
        """conv -> depthwise 3x3 -> pointwise 1x1 (per-channel weight scales; each with a 4-bit ReLU quantizer)
        -> global average -> linear."""

        def __init__(self):
            super().__init__()
            self.inp = qnn.QuantIdentity(bit_width=4)
            self.conv = qnn.QuantConv2d(3, 8, 3, padding=1, bias=False, weight_bit_width=4)
            self.r0 = qnn.QuantReLU(bit_width=4)
            self.dw = qnn.QuantConv2d(8, 8, 3, padding=1, groups=8, bias=False, weight_bit_width=4)
            self.r1 = qnn.QuantReLU(bit_width=4)
            self.pw = qnn.QuantConv2d(8, 8, 1, bias=False, weight_bit_width=4, weight_scaling_per_output_channel=True)
            self.r2 = qnn.QuantReLU(bit_width=4)
            self.pool = torch.nn.AvgPool2d(4)
            self.fc = qnn.QuantLinear(8, 5, bias=True, weight_bit_width=4)  # Brevitas' float bias
            self.out = qnn.QuantIdentity(bit_width=4)

        def forward(self, x):
            y = self.r0(self.conv(self.inp(x)))
            y = self.r2(self.pw(self.r1(self.dw(y))))
            return self.out(self.fc(torch.flatten(self.pool(y), 1)))

    return MobileNetStyle(), (3, 4, 4)


def _per_channel(qnn, torch):
    def per_channel(c, rank=4):  # Brevitas' per-channel activation scales: a [1, C, 1, 1] / [1, C] scale tensor
        return dict(bit_width=4, scaling_per_output_channel=True, scaling_stats_permute_dims=(1, 0, *range(2, rank)),
                    per_channel_broadcastable_shape=(1, c, *[1] * (rank - 2)))

    class PerChannelActivations(torch.nn.Module):
        """Per-channel activation quantizers: the input (3 channels), a ReLU after a conv and a signed one after a
        depthwise conv (8 channels each), and the linear's output (5, rank 2) -> global average -> linear."""

        def __init__(self):
            super().__init__()
            self.inp = qnn.QuantIdentity(**per_channel(3))
            self.conv = qnn.QuantConv2d(3, 8, 3, padding=1, bias=False, weight_bit_width=4)
            self.r0 = qnn.QuantReLU(**per_channel(8))
            self.dw = qnn.QuantConv2d(8, 8, 3, padding=1, groups=8, bias=False, weight_bit_width=4)
            self.q1 = qnn.QuantIdentity(**per_channel(8))
            self.pool = torch.nn.AvgPool2d(4)
            self.fc = qnn.QuantLinear(8, 5, bias=True, weight_bit_width=4)  # Brevitas' float bias
            self.out = qnn.QuantIdentity(**per_channel(5, rank=2))

        def forward(self, x):
            y = self.q1(self.dw(self.r0(self.conv(self.inp(x)))))
            return self.out(self.fc(torch.flatten(self.pool(y), 1)))

    return PerChannelActivations(), (3, 4, 4)


def _calibrated(model, shape, torch, seed):
    """Seeded weights and activation scales from a few train-mode passes (Brevitas' runtime statistics)."""
    torch.manual_seed(seed)
    for p in model.parameters():
        if p.dim() > 1:
            torch.nn.init.normal_(p, std=0.5)
    model.train()
    with torch.no_grad():
        for _ in range(32):  # past Brevitas' 30 statistics steps
            model(torch.randn(4, *shape))
    return model.eval()


def _batched(path, out_path, n: int = N_INPUTS):
    """The exported model with batch dimension n, so a reference runs 1,000 inputs in one call."""
    import onnx

    m = onnx.load(str(path))
    inits = {t.name for t in m.graph.initializer}
    for vi in [*m.graph.input, *m.graph.output]:
        if vi.name not in inits and len(vi.type.tensor_type.shape.dim):
            vi.type.tensor_type.shape.dim[0].dim_value = n
    from onnx import numpy_helper

    shapes = {n.input[1] for n in m.graph.node if n.op_type == "Reshape"}  # flatten exported as [1, -1]
    for i, t in enumerate(m.graph.initializer):
        arr = numpy_helper.to_array(t)
        if t.name in shapes and arr.ndim == 1 and arr.size and arr[0] == 1:
            m.graph.initializer[i].CopyFrom(numpy_helper.from_array(np.concatenate([[-1], arr[1:]]).astype(arr.dtype),
                                                                    t.name))
    del m.graph.value_info[:]
    onnx.save(m, str(out_path))
    return str(out_path)


def _ort(path, x):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # the graph's float semantics
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def _qonnx(path, x):
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    from qonnx.transformation.infer_shapes import InferShapes

    mw = ModelWrapper(path).transform(InferShapes())
    return execute_onnx(mw, {mw.graph.input[0].name: x})[mw.graph.output[0].name]


@pytest.fixture(scope="module", params=["resnet", "mobilenet", "per_channel"])
def brevitas_exports(request, tmp_path_factory):
    """Each model exported both ways; the ResNet-style one with torch's default (dynamo) exporter, the
    others with the TorchScript exporter (`dynamo=False`, 15x faster to export)."""
    qnn, torch = _brevitas()
    from brevitas.export import export_onnx_qcdq, export_qonnx

    model, shape = {"resnet": _resnet, "mobilenet": _mobilenet, "per_channel": _per_channel}[request.param](qnn, torch)
    kwargs = {} if request.param == "resnet" else {"dynamo": False}
    model = _calibrated(model, shape, torch, seed=3)
    d = tmp_path_factory.mktemp(request.param)
    x1 = torch.randn(1, *shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, x1, str(d / "qonnx.onnx"), **kwargs)
        export_onnx_qcdq(model, x1, str(d / "qcdq.onnx"), **kwargs)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(N_INPUTS, *shape)).astype(np.float32)
    return request.param, d, x


@pytest.mark.parametrize("flavour", ["qonnx", "qcdq"])
def test_brevitas_float_scales_equal_the_reference(brevitas_exports, flavour):
    name, d, x = brevitas_exports
    path = str(d / f"{flavour}.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no layer between the quantizers may be inexact
        design = fxflow.compile(path)
    assert "fxp.threshold" in design.mlir("fxp")
    ref = (_qonnx if flavour == "qonnx" else _ort)(_batched(path, d / f"{flavour}_n.onnx"), x)
    assert len(np.unique(ref)) >= 8, f"{name}/{flavour}: a degenerate model (outputs {np.unique(ref)})"
    y = np.asarray(design.predict(x)).reshape(ref.shape)
    assert np.array_equal(y.astype(np.float32), ref), \
        f"{name}/{flavour}: {int(np.sum(y.astype(np.float32) != ref))} of {ref.size} outputs differ"


@pytest.mark.parametrize("brevitas_exports", ["per_channel"], indirect=True)
def test_brevitas_per_channel_activations_are_split(brevitas_exports, tmp_path):
    """The exports really hold per-channel activation scales (QONNX: broadcast [1, C, 1, 1] / [1, C] scale
    tensors; QCDQ: a QuantizeLinear axis): each becomes C threshold quantizers (3 + 8 + 8 + 5); io_stream
    refuses the model input read by the input quantizer's split, naming that quantizer."""
    import onnx
    from onnx import numpy_helper

    _, d, _ = brevitas_exports
    m = onnx.load(str(d / "qonnx.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in m.graph.node if n.op_type == "Constant"}
    scales = [{**inits, **consts}[n.input[1]] for n in m.graph.node
              if n.op_type == "Quant" and n.input[0] not in inits]
    varying = sorted(s.shape for s in scales if len(np.unique(s)) > 1)
    assert varying == [(1, 3, 1, 1), (1, 5), (1, 8, 1, 1), (1, 8, 1, 1)]
    for flavour in ("qonnx", "qcdq"):
        design = fxflow.compile(str(d / f"{flavour}.onnx"))
        assert design.mlir("fxp").count('fxp.threshold"') == 3 + 8 + 8 + 5, flavour
    with pytest.raises(fxflow.UnsupportedOpError, match="read by 3 layers; a stream has one reader.*'/inp/") as err:
        fxflow.compile(str(d / "qonnx.onnx"), io_type="io_stream", backend="vitis")
    assert err.value.layer.startswith("/inp/")


@pytest.mark.needs("g++", "ap_types")
@pytest.mark.parametrize("brevitas_exports", ["per_channel"], indirect=True)
def test_brevitas_per_channel_activations_csim_equals_predict(brevitas_exports):
    _, d, x = brevitas_exports
    design = fxflow.compile(str(d / "qonnx.onnx"), io_type="io_parallel", backend="vitis")
    x = x[:24]
    assert np.array_equal(np.asarray(design.csim(x, raw=True)), np.asarray(design.predict(x, raw=True)))


# --- onnxruntime's post-training static quantization (QDQ) ------------------------------------------------
def _float_mlp(rng, sizes=(12, 16, 16, 4)):
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, x = [], [], "x"
    for i, (k, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = rng.normal(scale=1 / np.sqrt(k), size=(n, k)).astype(np.float32)
        b = rng.normal(scale=0.1, size=(n,)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [f"a{i}"], name=f"fc{i}", transB=1))
        x = f"a{i}"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [x], [f"r{i}"], name=f"relu{i}"))
            x = f"r{i}"
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", sizes[0]])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", sizes[-1]])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _quantize_static(src, dst, rng, shape, **options):
    """onnxruntime's `quantize_static` (QDQ, uint8 activations, int8 weights unless `options` say otherwise),
    calibrated on 64 normal samples of `shape`."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    calib = rng.normal(size=(64, *shape)).astype(np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.rows = iter(calib[i:i + 8] for i in range(0, len(calib), 8))

        def get_next(self):
            row = next(self.rows, None)
            return None if row is None else {"x": row}

    kw = dict(quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    quantize_static(str(src), str(dst), Reader(), **{**kw, **options})
    return str(dst)


@pytest.fixture(scope="module")
def ort_mlp(tmp_path_factory):
    needs("onnxruntime")
    import onnx

    rng = np.random.default_rng(11)
    d = tmp_path_factory.mktemp("ort")
    onnx.save(_float_mlp(rng), str(d / "float.onnx"))
    return _quantize_static(d / "float.onnx", d / "qdq.onnx", rng, (12,), per_channel=True)


def _input_quantizer(path):
    """(scale, zero point) of the QuantizeLinear reading the graph input."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    q = next(n for n in m.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == m.graph.input[0].name)
    return float(inits[q.input[1]]), int(inits[q.input[2]])


def _ties(scale: float, zp: int, rng, n: int) -> np.ndarray:
    """Inputs whose features lie exactly on the input quantizer's ties (j + 1/2) * s where float32 holds
    them, or on the float32 neighbours of the ties (where the reference's float32 x / s may round onto one)."""
    s = Fraction(scale)
    points = []
    for j in range(-zp - 1, 256 - zp):
        t = (j + Fraction(1, 2)) * s
        c = np.float32(float(t))
        points += [c, np.nextafter(c, np.float32(-np.inf)), np.nextafter(c, np.float32(np.inf))]
    points = np.array(points, dtype=np.float32)
    return rng.choice(points, size=(n, 12)).astype(np.float32)


def test_onnxruntime_qdq_mlp_equals_onnxruntime(ort_mlp, tmp_path):
    design = fxflow.compile(ort_mlp)
    text = design.mlir("fxp")
    assert "fxp.threshold" in text
    rng = np.random.default_rng(13)
    x = rng.normal(size=(N_INPUTS, 12)).astype(np.float32)
    ref = _ort(ort_mlp, x)
    assert len(np.unique(ref)) >= 8
    y = np.asarray(design.predict(x)).reshape(ref.shape).astype(np.float32)
    assert np.array_equal(y, ref), f"{int(np.sum(y != ref))} of {ref.size} outputs differ"
    # --- inputs on exact ties and next to them: only the reference's float32 x / s may disagree ---
    scale, zp = _input_quantizer(ort_mlp)
    t = _ties(scale, zp, rng, N_INPUTS)
    ref_t = _ort(ort_mlp, t)
    y_t = np.asarray(design.predict(t)).reshape(ref_t.shape).astype(np.float32)
    exact = np.array([[_exact_round(Fraction(float(v)) / Fraction(scale), "HALF_EVEN") for v in row] for row in t])
    f32 = np.round(t / np.float32(scale))  # what onnxruntime rounds: the float32 quotient, half to even
    differ_in = np.any(exact != f32, axis=1)
    bad = np.any(y_t != ref_t, axis=1)
    assert not np.any(bad & ~differ_in), "an output differs although onnxruntime's input quantization is exact"
    print(f"ties: {int(np.sum(differ_in))} of {len(t)} rows quantize differently in float32, "
          f"{int(np.sum(bad))} rows differ at the output")


@pytest.mark.needs("g++", "ap_types")
@pytest.mark.parametrize("backend, io_type", [("vitis", "io_parallel"), ("vitis", "io_stream"),
                                              ("catapult", "io_parallel")])
def test_csim_equals_predict(ort_mlp, backend, io_type):
    if backend == "catapult":
        needs("ac_types")
    design = fxflow.compile(ort_mlp, io_type=io_type, backend=backend)
    scale, zp = _input_quantizer(ort_mlp)
    rng = np.random.default_rng(17)
    x = np.concatenate([rng.normal(size=(40, 12)).astype(np.float32), _ties(scale, zp, rng, 24)])
    assert np.array_equal(np.asarray(design.csim(x, raw=True)), np.asarray(design.predict(x, raw=True)))


@pytest.mark.needs("verilator", "circt")
def test_verilator_equals_predict(tmp_path):
    """A 4-bit Brevitas MLP (QCDQ) through Verilator, and its predict against onnxruntime."""
    qnn, torch = _brevitas()
    from brevitas.export import export_onnx_qcdq

    model = torch.nn.Sequential(qnn.QuantIdentity(bit_width=4), qnn.QuantLinear(8, 6, bias=False, weight_bit_width=4),
                                qnn.QuantReLU(bit_width=4), qnn.QuantLinear(6, 4, bias=False, weight_bit_width=4),
                                qnn.QuantIdentity(bit_width=4))
    model = _calibrated(model, (8,), torch, seed=21)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_onnx_qcdq(model, torch.randn(1, 8), str(tmp_path / "mlp.onnx"))
    design = fxflow.compile(str(tmp_path / "mlp.onnx"), backend="rtl")
    assert "fxp.threshold" in design.mlir("fxp")
    x = np.random.default_rng(19).normal(size=(40, 8)).astype(np.float32)
    y, _ = design.rtl_sim(x, raw=True)
    assert np.array_equal(np.asarray(y), np.asarray(design.predict(x, raw=True)))
    ref = _ort(_batched(str(tmp_path / "mlp.onnx"), tmp_path / "mlp_n.onnx", len(x)), x)
    assert np.array_equal(np.asarray(design.predict(x)).reshape(ref.shape).astype(np.float32), ref)


# --- onnxruntime's QDQ of MatMul + Add (a Linear on tokens): MatMul -> QDQ -> Add(DequantizeLinear(bias)) ---
def _token_mlp_float(path):
    """Three Linears with ReLUs on [N, 3, 12] tokens: torch exports each as MatMul + Add (no Gemm)."""
    needs("onnxruntime")
    import torch

    torch.manual_seed(37)
    model = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.ReLU(),
                                torch.nn.Linear(16, 4)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 3, 12),), str(path), dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "N"}}, opset_version=17)


TOKEN_QDQ = {  # onnxruntime option sets: the MatMul output is quantized before the bias Add in each
    "per_tensor": dict(per_channel=False),
    "per_channel": dict(per_channel=True),
    "matmul_only": dict(per_channel=True, op_types_to_quantize=["MatMul"]),  # float bias, float output
    "uint16": dict(per_channel=True, activation_type="QUInt16"),  # onnxruntime's float32 sums round visibly
}


@pytest.fixture(scope="module")
def token_qdq(tmp_path_factory):
    d = tmp_path_factory.mktemp("ort_tokens")
    _token_mlp_float(d / "float.onnx")
    rng = np.random.default_rng(41)
    from onnxruntime.quantization import QuantType

    return {name: _quantize_static(d / "float.onnx", d / f"{name}.onnx", rng, (3, 12),
                                   **{k: getattr(QuantType, v) if k.endswith("_type") else v for k, v in opts.items()})
            for name, opts in TOKEN_QDQ.items()}


def _exact_qdq(path, x):
    """The QDQ graph (QuantizeLinear, DequantizeLinear, MatMul, Add, Relu) evaluated in exact rationals on
    float32 inputs, dequantized constants as the float32 values the graph holds: the semantics fxflow compiles
    (onnxruntime also rounds the dequantized activations, the products and the sums to float32)."""
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.load(path)
    exact = np.vectorize(lambda v: Fraction(float(v)), otypes=[object])
    env = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    inits = set(env)
    env = {k: exact(v) if v.dtype.kind == "f" else v.astype(object) for k, v in env.items()}
    env[m.graph.input[0].name] = exact(x)

    def along(p, node, rank):
        axis = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "axis"), 1)
        return p if p.ndim == 0 else p.reshape([-1 if k == axis % rank else 1 for k in range(rank)])

    for n in m.graph.node:
        a = [env[v] if v else None for v in n.input]
        if n.op_type == "QuantizeLinear":
            info = np.iinfo(numpy_helper.to_array(next(t for t in m.graph.initializer if t.name == n.input[2])).dtype)
            s, z = along(a[1], n, a[0].ndim), along(a[2], n, a[0].ndim)
            q = np.vectorize(lambda v: _exact_round(v, "HALF_EVEN"), otypes=[object])(a[0] / s) + z
            out = np.minimum(np.maximum(q, info.min), info.max)
        elif n.op_type == "DequantizeLinear":
            out = (a[0] - along(a[2], n, a[0].ndim)) * along(a[1], n, a[0].ndim)
            if n.input[0] in inits:  # a constant: the float32 values the graph holds (docs/layers.md)
                out = exact(np.vectorize(float, otypes=[np.float64])(out).astype(np.float32))
        elif n.op_type == "MatMul":
            out = np.matmul(a[0], a[1])
        elif n.op_type == "Add":
            out = a[0] + a[1]
        elif n.op_type == "Relu":
            out = np.maximum(a[0], 0)
        else:
            raise AssertionError(f"no exact evaluation of {n.op_type}")
        env[n.output[0]] = out
    return np.vectorize(float, otypes=[np.float64])(env[m.graph.output[0].name])


@pytest.mark.parametrize("name", list(TOKEN_QDQ))
def test_onnxruntime_qdq_matmul_add_is_exact(token_qdq, name, tmp_path):
    """The bias Add after a quantized MatMul output is an exact add of the dequantized (or float) bias: predict
    equals the QDQ graph in exact rationals, and onnxruntime wherever its float32 arithmetic does not round
    (all 8-bit outputs here; the float output of `matmul_only` up to float32 rounding)."""
    path = token_qdq[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no layer between the quantizers may be inexact
        design = fxflow.compile(path)
    text = design.mlir("fxp")
    assert "fxp.threshold" in text and "fxp.add_constant" in text
    rng = np.random.default_rng(43)
    x = rng.normal(size=(N_INPUTS, 3, 12)).astype(np.float32)
    y = np.asarray(design.predict(x), dtype=np.float64).reshape(N_INPUTS, 3, 4)
    want = _exact_qdq(path, x[:200])
    assert np.array_equal(y[:200], want), f"{int(np.sum(y[:200] != want))} outputs differ from the exact graph"
    ref = _ort(_batched(path, tmp_path / "n.onnx"), x)
    assert len(np.unique(ref)) >= 8
    if name == "matmul_only":  # the last bias Add's float32 sum rounds in onnxruntime
        assert np.allclose(y, ref, rtol=2**-20, atol=2**-20)
    elif name == "uint16":  # 16-bit levels (q - z) * s need up to 41 bits: onnxruntime's float32 rounds them
        assert np.sum(y.astype(np.float32) != ref) <= ref.size // 100
    else:
        assert np.array_equal(y.astype(np.float32), ref), f"{int(np.sum(y.astype(np.float32) != ref))} differ"


@pytest.mark.needs("g++", "ap_types")
@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_matmul_add_csim_equals_predict(token_qdq, io_type):
    design = fxflow.compile(token_qdq["per_channel"], io_type=io_type, backend="vitis")
    x = np.random.default_rng(59).normal(size=(24, 3, 12)).astype(np.float32)
    assert np.array_equal(np.asarray(design.csim(x, raw=True)), np.asarray(design.predict(x, raw=True)))


def _matmul_add_qdq(tokens: bool, qdq_between: bool, bias_first: bool, per_channel: bool, act_axis=None):
    """x -> QDQ -> MatMul(DequantizeLinear(int8 W)) [-> QDQ] -> Add(DequantizeLinear(int32 b, s_x * s_w)) -> QDQ:
    the int32 bias onnxruntime gives Gemm, here after a MatMul, on [N, 12] or [N, 3, 12] inputs; with
    `act_axis` the input and MatMul-output quantizers have a scale and zero point per channel along it."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(47)
    k, n = 12, 6
    sx, sw = np.float32(0.0213), rng.uniform(0.002, 0.01, size=n if per_channel else ()).astype(np.float32)
    consts = {"sx": sx, "zx": np.uint8(120), "w": rng.integers(-127, 128, size=(k, n)).astype(np.int8), "sw": sw,
              "zw": np.zeros(np.shape(sw), np.int8), "b": rng.integers(-3000, 3000, size=n).astype(np.int32),
              "sb": (sx * sw).astype(np.float32), "zb": np.zeros(np.shape(sw), np.int32), "sm": np.float32(0.071),
              "zm": np.uint8(128), "so": np.float32(0.05), "zo": np.uint8(100)}
    act = {} if act_axis is None else {"axis": act_axis}
    if act_axis is not None:
        consts.update(sx=rng.uniform(0.01, 0.03, size=k).astype(np.float32), zx=rng.integers(100, 140, k).astype(
            np.uint8), sm=rng.uniform(0.05, 0.09, size=n).astype(np.float32), zm=rng.integers(110, 150, n).astype(np.uint8))
    nodes = [helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"], name="xq", **act),
             helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"], name="xd", **act),
             helper.make_node("DequantizeLinear", ["w", "sw", "zw"], ["wd"], name="wd", axis=1),
             helper.make_node("DequantizeLinear", ["b", "sb", "zb"], ["bd"], name="bd", axis=0),
             helper.make_node("MatMul", ["xd", "wd"], ["m"], name="mm")]
    m = "m"
    if qdq_between:
        nodes += [helper.make_node("QuantizeLinear", ["m", "sm", "zm"], ["mq"], name="mq", **act),
                  helper.make_node("DequantizeLinear", ["mq", "sm", "zm"], ["md"], name="md", **act)]
        m = "md"
    nodes += [helper.make_node("Add", ["bd", m] if bias_first else [m, "bd"], ["a"], name="add"),
              helper.make_node("QuantizeLinear", ["a", "so", "zo"], ["aq"], name="aq"),
              helper.make_node("DequantizeLinear", ["aq", "so", "zo"], ["y"], name="ad")]
    rows = [3] if tokens else []
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *rows, k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *rows, n])],
                              [numpy_helper.from_array(np.asarray(v), name) for name, v in consts.items()
                               if qdq_between or name not in ("sm", "zm")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), [*rows, k]


@pytest.mark.parametrize("tokens, qdq_between, bias_first, per_channel", [
    (False, False, True, False), (True, False, False, True), (False, True, False, True), (True, True, True, False)])
def test_matmul_int32_bias_equals_onnxruntime(tokens, qdq_between, bias_first, per_channel, tmp_path):
    """An int32 bias straight after the MatMul is the dense layer's bias; after a quantized MatMul output it is
    an exact add of the dequantized constant (fxp.scale_shift on [N, 12], fxp.add_constant on tokens)."""
    needs("onnxruntime")
    import onnx

    model, shape = _matmul_add_qdq(tokens, qdq_between, bias_first, per_channel)
    onnx.save(model, str(tmp_path / "mm.onnx"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        design = fxflow.compile(str(tmp_path / "mm.onnx"))
    text = design.mlir("fxp")
    assert ("fxp.add_constant" in text or "fxp.scale_shift" in text) == qdq_between
    x = np.random.default_rng(53).normal(size=(N_INPUTS, *shape)).astype(np.float32)
    ref = _ort(str(tmp_path / "mm.onnx"), x)
    assert len(np.unique(ref)) >= 8
    y = np.asarray(design.predict(x)).reshape(ref.shape).astype(np.float32)
    assert np.array_equal(y, ref), f"{int(np.sum(y != ref))} of {ref.size} outputs differ"
    assert np.array_equal(np.asarray(design.predict(x[:100]), np.float64).reshape(ref[:100].shape),
                          _exact_qdq(str(tmp_path / "mm.onnx"), x[:100]))


@pytest.mark.needs("verilator", "circt")
def test_matmul_add_on_tokens_verilator_equals_predict(tmp_path):
    """The exact bias add after a quantized MatMul output on tokens (fxp.add_constant) in hardware."""
    import onnx

    model, shape = _matmul_add_qdq(True, True, True, False)
    onnx.save(model, str(tmp_path / "mm.onnx"))
    design = fxflow.compile(str(tmp_path / "mm.onnx"), backend="rtl")
    assert "fxp.add_constant" in [op for k in design.rtl.kernels for op in k.ops]
    x = np.random.default_rng(53).normal(size=(200, *shape)).astype(np.float32)
    y, _ = design.rtl_sim(x, raw=True, verbose=False)
    assert len(np.unique(y)) >= 8
    assert np.array_equal(np.asarray(y), np.asarray(design.predict(x, raw=True)))


@pytest.mark.needs("verilator", "circt")
@pytest.mark.parametrize("name", ["per_tensor", "per_channel"])
def test_token_mlp_verilator_equals_predict(token_qdq, name):
    """onnxruntime's 3-layer token MLP in hardware: its exact accumulators, and the kernel ports that carry them,
    are 65-66 bits wide (Verilator word arrays); Verilator equals predict bit for bit (~3 min to build each)."""
    import re

    design = fxflow.compile(token_qdq[name], backend="rtl")
    ports = [int(w) for line in design.rtl.circt_text().splitlines() if line.lstrip().startswith("hw.module")
             for w in re.findall(r": i(\d+)", line)]
    assert max(ports) > 64
    x = np.random.default_rng(61).normal(size=(200, 3, 12)).astype(np.float32)
    y, _ = design.rtl_sim(x, raw=True, verbose=False)
    assert len(np.unique(y)) >= 8
    assert np.array_equal(np.asarray(y), np.asarray(design.predict(x, raw=True)))


@pytest.mark.parametrize("tokens", [False, True])
def test_per_channel_activation_quantizers_are_exact(tokens, tmp_path):
    """QuantizeLinear/DequantizeLinear with a scale and zero point per channel on activations (the input and the
    MatMul's output, along the last axis): one threshold quantizer per channel between a split and a concat.
    predict equals the graph in exact rationals; onnxruntime only where its float32 x / s is no tie."""
    needs("onnxruntime")
    import onnx

    model, shape = _matmul_add_qdq(tokens, True, True, True, act_axis=-1)
    onnx.save(model, str(tmp_path / "pc.onnx"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        design = fxflow.compile(str(tmp_path / "pc.onnx"))
    assert design.mlir("fxp").count("fxp.threshold\"") == 12 + 6 + 1
    x = np.random.default_rng(61).normal(size=(N_INPUTS, *shape)).astype(np.float32)
    y = np.asarray(design.predict(x), np.float64)
    assert np.array_equal(y[:100].reshape(-1), _exact_qdq(str(tmp_path / "pc.onnx"), x[:100]).reshape(-1))
    ref = _ort(str(tmp_path / "pc.onnx"), x)
    assert len(np.unique(ref)) >= 8
    assert np.sum(y.reshape(ref.shape).astype(np.float32) != ref) <= ref.size // 500


@pytest.mark.needs("g++", "ap_types")
def test_per_channel_activation_csim_equals_predict(tmp_path):
    """io_parallel only: io_stream refuses a stream read by the channel split's gathers (one reader each)."""
    import onnx

    model, shape = _matmul_add_qdq(True, True, True, True, act_axis=-1)
    onnx.save(model, str(tmp_path / "pc.onnx"))
    design = fxflow.compile(str(tmp_path / "pc.onnx"), io_type="io_parallel", backend="vitis")
    x = np.random.default_rng(71).normal(size=(24, *shape)).astype(np.float32)
    assert np.array_equal(np.asarray(design.csim(x, raw=True)), np.asarray(design.predict(x, raw=True)))


def test_per_channel_power_of_two_activation_quantizer_equals_onnxruntime(tmp_path):
    """Power-of-two scales per channel on the model input (no float32 tie can differ): threshold quantizers
    too, so the input takes their lossless format through the split; equal to onnxruntime."""
    needs("onnxruntime")
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.array([0.25, 0.125, 0.5, 0.0625], np.float32), "s"),
             numpy_helper.from_array(np.zeros(4, np.int8), "z")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="ql", axis=-1),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], name="dl", axis=-1)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 4])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "p2.onnx"))
    design = fxflow.compile(str(tmp_path / "p2.onnx"))
    x = np.random.default_rng(67).normal(scale=4.0, size=(N_INPUTS, 3, 4)).astype(np.float32)
    ref = _ort(str(tmp_path / "p2.onnx"), x)
    assert np.array_equal(np.asarray(design.predict(x)).reshape(ref.shape).astype(np.float32), ref)


# --- QONNX Quant with float scales and zero points, every rounding mode, through the importer ---------------
QONNX_MODES = ["ROUND", "HALF_EVEN", "HALF_UP", "HALF_DOWN", "FLOOR", "CEIL", "UP", "DOWN"]


@pytest.mark.parametrize("mode", QONNX_MODES)
@pytest.mark.parametrize("scale, zp, signed, narrow", [(0.3, 0.0, 1, 0), (0.0123, 3.0, 0, 0), (0.7, -1.25, 1, 1)])
def test_qonnx_quant_float_scale_is_exact(mode, scale, zp, signed, narrow, tmp_path):
    """predict of Quant(float scale, zero point) equals the quantizer in exact rationals, on random
    inputs and on every float32 tie (j + 1/2 - z) * s and its neighbours."""
    _check_float_scale_quant(mode, scale, zp, signed, narrow, tmp_path, reshaped=False)


def test_qonnx_quant_float_scale_behind_a_reshape_is_exact(tmp_path):
    """The same with a Reshape between the graph input and the quantizer: the input takes the quantizer's
    lossless boundary format through the data movement, not its levels format nor the default precision."""
    _check_float_scale_quant("ROUND", 0.3, 0.0, 1, 0, tmp_path, reshaped=True)
    _check_float_scale_quant("HALF_UP", 0.0123, 3.0, 0, 0, tmp_path, reshaped=True)


def _check_float_scale_quant(mode, scale, zp, signed, narrow, tmp_path, reshaped):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    bits = 4
    s32, z32 = np.float32(scale), np.float32(zp)
    inits = [numpy_helper.from_array(np.float32(v), n) for v, n in ((s32, "s"), (z32, "z"), (np.float32(bits), "b"))]
    nodes = [helper.make_node("Quant", ["x6", "s", "z", "b"], ["y"], name="q", domain="qonnx.custom_op.general",
                              signed=signed, narrow=narrow, rounding_mode=mode)]
    if reshaped:
        inits.append(numpy_helper.from_array(np.array([1, 6], np.int64), "shape"))
        nodes.insert(0, helper.make_node("Reshape", ["x", "shape"], ["x6"], name="flatten"))
    else:
        nodes[0].input[0] = "x"
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                         [1, 2, 3] if reshaped else [1, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("qonnx.custom_op.general", 1)])
    onnx.save(model, str(tmp_path / "q.onnx"))
    design = fxflow.compile(str(tmp_path / "q.onnx"))
    assert "fxp.threshold" in design.mlir("fxp")
    S, Z = Fraction(float(s32)), Fraction(float(z32))
    qmin, qmax = (-(1 << (bits - 1)) + narrow, (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    pts = []
    for j in range(qmin - 2, qmax + 2):
        c = np.float32(float((j + Fraction(1, 2) - Z) * S))
        pts += [c, np.nextafter(c, np.float32(-1e9)), np.nextafter(c, np.float32(1e9))]
    rng = np.random.default_rng(23)
    x = np.concatenate([np.array(pts, np.float32), rng.normal(scale=float(S) * 6, size=60).astype(np.float32)])
    x = np.resize(x, (len(x) // 6 + 1) * 6).reshape(-1, 6)
    want = np.array([[float((min(max(_exact_round(Fraction(float(v)) / S + Z, mode.replace("ROUND", "HALF_EVEN")),
                                     qmin), qmax) - Z) * S) for v in row] for row in x])
    got = design.predict(x.reshape(-1, 2, 3) if reshaped else x)
    assert np.array_equal(np.asarray(got, dtype=np.float64).reshape(want.shape), want)


def test_brevitas_fixed_point_quantizers_qcdq(tmp_path):
    """Brevitas' 8-bit fixed-point quantizers (power-of-two scales; narrow-range weights: QCDQ's Clip) in
    QCDQ form compile with no config and equal onnxruntime; activations stay plain casts."""
    qnn, torch = _brevitas()
    from brevitas.export import export_onnx_qcdq
    from brevitas.quant import Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint, Uint8ActPerTensorFixedPoint

    lin = dict(bias=False, weight_quant=Int8WeightPerTensorFixedPoint)
    model = torch.nn.Sequential(qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint),
                                qnn.QuantLinear(10, 8, **lin), qnn.QuantReLU(act_quant=Uint8ActPerTensorFixedPoint),
                                qnn.QuantLinear(8, 4, **lin), qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint))
    model = _calibrated(model, (10,), torch, seed=29)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_onnx_qcdq(model, torch.randn(1, 10), str(tmp_path / "fp.onnx"), dynamo=False)
    design = fxflow.compile(str(tmp_path / "fp.onnx"))
    assert "fxp.cast" in design.mlir("fxp-float")
    x = np.random.default_rng(31).normal(size=(N_INPUTS, 10)).astype(np.float32)
    ref = _ort(_batched(str(tmp_path / "fp.onnx"), tmp_path / "fp_n.onnx"), x)
    assert len(np.unique(ref)) >= 8
    assert np.array_equal(np.asarray(design.predict(x)).reshape(ref.shape).astype(np.float32), ref)


@pytest.mark.parametrize("make, message", [
    (lambda h, np_: [h.make_node("Quant", ["x", "s4", "z", "b"], ["y"], name="q", domain="qonnx.custom_op.general")],
     "varies along the batch dimension"),
    (lambda h, np_: [h.make_node("QuantizeLinear", ["x", "s", "zi"], ["q"], name="ql"),
                     h.make_node("Relu", ["q"], ["y"], name="r")],
     "used by other ops than Clip or DequantizeLinear"),
])
def test_rejections_name_the_node(tmp_path, make, message):
    """What threshold quantizers cannot express is an UnsupportedOpError naming the node and its op type."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.float32(0.3), "s"), numpy_helper.from_array(np.float32(0.0), "z"),
             numpy_helper.from_array(np.float32(4.0), "b"), numpy_helper.from_array(np.int8(0), "zi"),
             numpy_helper.from_array(np.array([0.3, 0.2, 0.3, 0.3], np.float32).reshape(4, 1), "s4")]
    graph = helper.make_graph(make(helper, np), "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("qonnx.custom_op.general", 1)])
    onnx.save(model, str(tmp_path / "bad.onnx"))
    with pytest.raises(fxflow.UnsupportedOpError, match=message) as err:
        fxflow.compile(str(tmp_path / "bad.onnx"))
    assert "node 'q" in str(err.value)
