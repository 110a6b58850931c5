"""Brevitas' own example networks (`brevitas_examples.bnn_pynq`: TFC/SFC/LFC and CNV in every bit-width pair
Brevitas ships), exported with `export_qonnx` and compiled with no config, equal qonnx's reference execution
(`execute_onnx` after `cleanup_model`, as a user runs it) on 1,000 inputs, more than half of them built from
pixels on (or one float32 step beside) the rounding ties of the first quantizer (`2 * x - 1` then a bipolar,
2-bit or 8-bit quantizer); where the reference's own float32 `2 * x - 1` rounds, the disagreement is counted.

What is compared (docs/layers.md, "QONNX / Brevitas models"):
* every activation quantizer's output, bit for bit (the model's BatchNorms, kept as exact scale/shifts, and
  its input format, pulled back from the first quantizer, make them exact);
* the float output (FINN's TensorNorm after the last quantized layer, which the reference computes in four
  float32 operations): within 8 float32 rounding units of |d * s| + |t| (d the last layer's integer output,
  s and t the TensorNorm's scale and shift), i.e. the reference's float32 rounding and fxflow's single rounding
  of s and t to float32.
Weights are random (seeded), BatchNorm statistics come from a few train-mode passes on random data.  The TFC
models are also checked as Brevitas' TorchScript exporter writes them (`dynamo=False`)."""

from __future__ import annotations

import numpy as np
import pytest
from toolchains import have, needs

ZOO = ["tfc_1w1a", "tfc_1w2a", "tfc_2w2a", "sfc_1w1a", "sfc_1w2a", "sfc_2w2a", "lfc_1w1a", "lfc_1w2a",
       "cnv_1w1a", "cnv_1w2a", "cnv_2w2a"]
N_INPUTS = 1000
QUANTIZERS = ("Quant", "BipolarQuant")
# Input quantizer values where the reference's float32 `2x - 1` rounds onto the other side of a tie than the
# exact value (fxflow's answer), on the third group of zoo_inputs (docs/layers.md states them); a BatchNorm
# computed in float32 landing beside a tie would be a second kind (near_tie): none on these inputs.
AFFINE_ROUNDING = {**{f"{m}_1w1a": 0 for m in ("tfc", "sfc", "lfc")},  # bipolar: x < 1/2 is never rounded onto
                   **{f"{m}_{b}": 22135 for m in ("tfc", "sfc", "lfc") for b in ("1w2a", "2w2a")},  # 2-bit, tie x=1/4
                   **{f"cnv_{b}": 55267 for b in ("1w1a", "1w2a", "2w2a")}}  # 8-bit, ties (k + 1/2) 2^-8 < 1/4


@pytest.fixture(scope="module", autouse=True)
def _zoo_packages():
    needs("brevitas", "qonnx", "onnxruntime", "onnxoptimizer")


def _shape(name):
    return (3, 32, 32) if name.startswith("cnv") else (1, 28, 28)


def export(name: str, path, dynamo: bool = True) -> str:
    """The bnn_pynq model `name` with seeded random weights and BatchNorm statistics from three train-mode
    passes on random data, exported with `export_qonnx` (`dynamo=False`: its TorchScript exporter)."""
    import torch
    from brevitas.export import export_qonnx
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    torch.manual_seed(0)
    model, _ = model_with_cfg(name, False)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(32, *_shape(name)))
    model.eval()
    out = str(path / f"{name}.onnx")
    export_qonnx(model, torch.rand(1, *_shape(name)), export_path=out, dynamo=dynamo)
    return out


def zoo_inputs(name: str, n: int = N_INPUTS) -> np.ndarray:
    """n float32 images, in three groups:
    * 450 uniform in [0, 1);
    * 450 with every pixel on a multiple of 2^-9 or one float32 step beside one, which holds every tie of the
      first quantizer (2x - 1 at the bipolar threshold 0, a 2-bit tie +-1/2 or an 8-bit tie (k + 1/2) 2^-7;
      1/4, 1/2 and 3/4 drawn more often), where the reference's float32 `2x - 1` is exact;
    * 100 from the one-step neighbours where it is not (2x < 1/2 with bits below 2^-24): the reference rounds
      2x - 1, sometimes onto a tie, and then disagrees with the exact quantization (`AFFINE_ROUNDING`)."""
    rng = np.random.default_rng(1)
    shape = _shape(name)
    grid = np.concatenate([np.arange(513), np.repeat([128, 256, 384], 100)]).astype(np.float32) / 512
    near = np.concatenate([grid, np.nextafter(grid, np.float32(-1)), np.nextafter(grid, np.float32(2))])
    near = near[(near >= 0) & (near <= 1)]
    exact = (2 * near - np.float32(1)).astype(np.float64) == 2 * near.astype(np.float64) - 1
    groups = [rng.random((450, *shape), dtype=np.float32), rng.choice(near[exact], size=(450, *shape)),
              rng.choice(near[~exact], size=(n - 900, *shape))]
    return np.concatenate(groups).astype(np.float32)


CHUNK = 100  # inputs per reference/emulator run: CNV's full execution contexts are large


def reference_model(path: str):
    """The model as a qonnx user runs it: `cleanup_model` (batch size CHUNK), then `execute_onnx`."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    model = cleanup_model(ModelWrapper(path), override_inpsize=CHUNK)
    inits = {t.name for t in model.graph.initializer}
    acts = [n for n in model.graph.node if n.op_type in QUANTIZERS and n.input[0] not in inits]
    tail = list(model.graph.node)[-4:]  # FINN's TensorNorm: Sub, Div, Mul, Add
    assert [n.op_type for n in tail] == ["Sub", "Div", "Mul", "Add"], [n.op_type for n in tail]
    mean, div, w, b = (model.get_initializer(n.input[1]).astype(np.float64) for n in tail)
    return model, acts, tail[0].input[0], (w / div, b - mean * w / div)


def compare(name: str, path: str, design, x: np.ndarray) -> dict:
    """Run the reference and fxflow chunk by chunk; returns the disagreements (checked as they are found), the
    ties hit, and the largest error of the float output relative to its bound."""
    from fxflow import emulator
    from qonnx.core.onnx_exec import execute_onnx

    model, acts, last, (s, t) = reference_model(path)
    quantizers = list(dict.fromkeys(r["layer"] for r in design.report()["layers"] if r["op"] == "cast"))
    out = {"affine": 0, "batchnorm": 0, "ties": 0, "worst": 0.0, "compared": 0}
    for lo in range(0, len(x), CHUNK):
        xc = x[lo:lo + CHUNK]
        ctx = execute_onnx(model, {model.graph.input[0].name: xc}, return_full_exec_context=True)
        trace = emulator.trace(design.program, design.input_list(xc.astype(np.float64)))
        ours = [trace[k].reshape(len(xc), -1) for k in quantizers]
        assert len(ours) == len(acts)
        first_in = ctx[acts[0].input[0]].reshape(-1).astype(np.float64)
        lsb = 2.0 ** -7 if name.startswith("cnv") else 1.0  # the first quantizer's grid; bipolar: threshold 0
        out["ties"] += int(np.sum(first_in == 0) if acts[0].op_type == "BipolarQuant" else
                           np.sum(np.mod(first_in / lsb, 1.0) == 0.5))
        # every activation quantizer bit for bit, except where the reference's float32 BatchNorm lands within
        # float32 rounding of a tie (fxflow's exact value decides there); checked on samples whose earlier
        # quantizers agree, since one flipped value changes everything after it
        agree = np.ones(len(xc), dtype=bool)
        exact_in = 2 * xc.reshape(len(xc), -1).astype(np.float64) - 1  # the first quantizer's input, exactly
        for i, (got, node) in enumerate(zip(ours, acts)):
            want = ctx[node.output[0]].reshape(len(xc), -1)
            pre = ctx[node.input[0]].reshape(len(xc), -1).astype(np.float64)
            bad = (got != want) & agree[:, None]
            if i == 0:  # only where the reference's float32 2x - 1 rounded
                assert np.all(pre[bad] != exact_in[bad]), f"{name}: the input quantizer differs"
                out["affine"] += int(bad.sum())
            else:
                assert np.all(near_tie(pre[bad], want[bad], got[bad])), f"{name}: {node.name} differs away from a tie"
                out["batchnorm"] += int(bad.sum())
            agree &= ~bad.any(axis=1)
        out["compared"] += int(agree.sum())
        # the float TensorNorm output: the reference's float32 rounding only
        y = list(trace.values())[-1].reshape(len(xc), -1)[agree]  # the last layer: the TensorNorm
        want = ctx[model.graph.output[0].name].reshape(len(xc), -1)[agree]
        bound = 8 * 2.0 ** -24 * (np.abs(ctx[last].reshape(len(xc), -1)[agree] * s) + np.abs(t))
        out["worst"] = max(out["worst"], float(np.max(np.abs(y - want) / bound, initial=0.0)))
    return out


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """name -> (design, comparison, inputs, onnx path): each model exported, compiled and compared once."""
    import fxflow

    cache = {}

    def get(name, dynamo=True):
        if (name, dynamo) not in cache:
            path = export(name, tmp_path_factory.mktemp(name), dynamo)
            x = zoo_inputs(name)
            design = fxflow.compile(path, np.zeros((1, *_shape(name)), np.float32))
            cache[name, dynamo] = (design, compare(name, path, design, x), x, path)
        return cache[name, dynamo]

    return get


@pytest.mark.parametrize("name, dynamo", [(n, True) for n in ZOO] + [(n, False) for n in ZOO[:3]],
                         ids=[*ZOO, *(f"torchscript-{n}" for n in ZOO[:3])])
def test_bnn_pynq_equals_qonnx_reference(name, dynamo, zoo):
    _, result, _, _ = zoo(name, dynamo)
    assert result["ties"] > 1000  # the tie inputs really sit on the first quantizer's ties
    assert (result["affine"], result["batchnorm"]) == (AFFINE_ROUNDING[name], 0)
    assert result["compared"] >= 900 and result["worst"] <= 1.0


def near_tie(pre: np.ndarray, want: np.ndarray, got: np.ndarray) -> np.ndarray:
    """Whether the reference's quantizer input (float32) lies within 8 float32 rounding units of the decision
    point between the two disagreeing outputs (their midpoint: a tie, or the bipolar threshold 0)."""
    mid = (want.astype(np.float64) + got.astype(np.float64)) / 2
    adjacent = np.abs(want.astype(np.float64) - got.astype(np.float64)) <= 2 * np.maximum(np.abs(mid), 1)
    return adjacent & (np.abs(pre - mid) <= 8 * 2.0 ** -24 * np.maximum(np.abs(pre), 1.0))


def test_tfc_backends_agree(zoo):
    """HLS C simulation and the RTL (Verilator) build of TFC 1w1a equal predict bit for bit."""
    import fxflow

    design, _, x, path = zoo("tfc_1w1a")
    xs = x.astype(np.float64)[::10]
    want = design.predict(xs, raw=True)
    if have("g++", "ap_types"):
        assert np.array_equal(design.csim(xs, raw=True, verbose=False), want)
    if have("verilator", "yosys", "circt"):
        rtl = fxflow.compile(path, np.zeros((1, *_shape("tfc_1w1a")), np.float32), backend="rtl")
        got, _latency = rtl.rtl_sim(xs, raw=True, verbose=False)
        assert np.array_equal(got, want)
