"""HCCS softmax (fxflow.fixed.hccs): the integer definition against a scalar reference and its stated error
bound, the ABI constraints as errors naming the layer, predict == C-sim (io_parallel, io_stream, Catapult)
over random shapes / parameters / variants, per-head calibration on an attention model, and the accuracy
report on an attention model and a dense classifier."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import fxflow
from fxflow.errors import ConfigError
from fxflow.fixed.hccs import (OUTPUTS, HccsSpec, calibrate_head, check_params, hccs, quantization_bound,
                               scores)
from fxflow.softmax_report import format_report, softmax_accuracy

from test_io_stream import needs_csim

VARIANTS = [(o, r) for o in OUTPUTS for r in ("div", "clb")]


@st.composite
def params(draw, n, least=0):
    """(B, S, Dmax) meeting the ABI constraints for rows of n elements (S, Dmax >= least)."""
    low = -(-256 // n)
    b = draw(st.integers(low + least, min(65535 // n, 32767)))
    dm = draw(st.integers(least, min(300, max(b - low, least))))
    s = draw(st.integers(least, (b - low) // max(dm, 1)))
    return b, s, dm


def _reference_row(row: list[int], b: int, s: int, dm: int, output: str, reciprocal: str) -> list[int]:
    """The module doc's definition, one row in Python ints (bit_length and integer division)."""
    f, top = OUTPUTS[output].f, OUTPUTS[output].max_int
    m = max(row)
    sc = [b - s * min(m - v, dm) for v in row]
    t = sum(sc)
    assert 256 <= t <= 65535
    if reciprocal == "div":
        r, k = (1 << 22) // t, 22 - f
    else:
        p = t.bit_length()
        r, k = ((1 << 30) - 1) // (t << (16 - p)), 14 + p - f
    return [min(v * r >> k, top) for v in sc]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 80), variant=st.sampled_from(VARIANTS), data=st.data(), seed=st.integers(0, 999))
def test_definition_matches_scalar_reference_and_bound(n, variant, data, seed):
    b, s, dm = data.draw(params(n))
    spec = HccsSpec((b,), (s,), (dm,), *variant)
    check_params(spec, n, "t")
    rng = np.random.default_rng(seed)
    raw = rng.integers(-128, 128, (30, n)) * rng.integers(1, 40)
    y = hccs(raw, spec)
    for row, got in zip(raw.tolist(), y.tolist()):
        assert got == _reference_row(row, b, s, dm, *variant)
    sc = scores(raw, b, s, dm)
    err = sc / sc.sum(-1, keepdims=True) - y * 2.0 ** -spec.result.f
    assert err.min() >= 0 and err.max() < quantization_bound(spec)


def test_saturation_when_one_score_holds_the_whole_sum():
    spec = HccsSpec((256,), (1,), (256,), "uint8", "div")  # x = [0, -1000]: s = [256, 0], T = 256, r = 2^14
    assert hccs(np.array([[0, -1000]]), spec).tolist() == [[255, 0]]
    spec = HccsSpec((256,), (1,), (256,), "int16", "clb")
    assert hccs(np.array([[0, -1000]]), spec).tolist() == [[32767, 0]]


class Classifier(torch.nn.Module):
    def __init__(self, n_in=6, n_out=10, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.fc1, self.fc2, self.sm = torch.nn.Linear(n_in, 16), torch.nn.Linear(16, n_out), torch.nn.Softmax(dim=1)

    def forward(self, x):
        return self.sm(self.fc2(torch.relu(self.fc1(x))))


class Softmaxes(torch.nn.Module):
    """Dense + softmax branches `s0`, `s1`, ... on one hidden layer (every variant in one C-sim build)."""

    def __init__(self, n_in, n, seed, branches=len(VARIANTS)):
        super().__init__()
        torch.manual_seed(seed)
        self.f0 = torch.nn.Linear(n_in, 8)
        self.fc = torch.nn.ModuleList(torch.nn.Linear(8, n) for _ in range(branches))
        self.s = torch.nn.ModuleList(torch.nn.Softmax(dim=1) for _ in range(branches))
        with torch.no_grad():
            for f in self.fc:
                f.weight *= 4

    def forward(self, x):
        h = self.f0(x)
        return torch.cat([s(f(h)) for f, s in zip(self.fc, self.s)], dim=1)


class MHA(torch.nn.Module):
    """softmax(q k^T / sqrt(d)) v with H heads of T tokens (q, k, v linear in the flat input)."""

    def __init__(self, heads=2, t=4, d=3, seed=0, temps=(1.0, 4.0)):
        super().__init__()
        torch.manual_seed(seed)
        self.h, self.t, self.d = heads, t, d
        e = heads * t * d
        self.q, self.k, self.v = (torch.nn.Linear(8, e) for _ in range(3))
        with torch.no_grad():  # the 1/sqrt(d) scale, and heads of different sharpness (per-head parameters)
            for h, temp in enumerate(temps[:heads]):
                rows = torch.arange(e).reshape(heads, t, d)[h].flatten()
                self.q.weight[rows] *= temp * d ** -0.5
                self.q.bias[rows] *= temp * d ** -0.5
        self.sm = torch.nn.Softmax(dim=-1)

    def forward(self, x):
        q, k, v = (f(x).reshape(-1, self.h, self.t, self.d) for f in (self.q, self.k, self.v))
        return self.sm(q @ k.transpose(-1, -2)) @ v


@needs_csim
@pytest.mark.parametrize("io", ["io_parallel", "io_stream"])
@settings(max_examples=1, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(n=st.integers(3, 24), w=st.integers(8, 14), variants=st.permutations(VARIANTS), seed=st.integers(0, 99),
       data=st.data())
def test_predict_equals_csim(tmp_path_factory, n, w, io, variants, seed, data):
    """Every variant (output x reciprocal), each with its own random parameters, in one C-sim build per io."""
    layers = {}
    for i, (out, rec) in enumerate(variants):
        b, s, dm = data.draw(params(n, least=1))
        layers[f"s.{i}"] = {"softmax": {"implementation": "hccs", "output": out, "reciprocal": rec, "B": b, "S": s,
                                        "Dmax": dm}}
    cfg = {"model": {"precision": f"ap_fixed<{w},{w // 2}>"}, "layers": {**layers, "cat": {"result": "auto"}}}
    design = fxflow.compile(Softmaxes(5, n, seed), torch.zeros(1, 5), config=cfg, io_type=io,
                            output_dir=tmp_path_factory.mktemp("hccs"))
    assert design.mlir("fxp").count('implementation = "hccs"') == len(VARIANTS)
    x = np.random.default_rng(seed).normal(0, 2, (150, 5))
    y = design.predict(x, raw=True)
    assert np.array_equal(y, design.csim(x, raw=True, verbose=False))
    for i in range(len(VARIANTS)):  # not constant: the comparison checks something
        assert len(np.unique(y[:, i * n:(i + 1) * n])) > 1


@needs_csim
def test_attention_per_head_parameters_csim_and_catapult(tmp_path):
    """Per-head calibrated parameters along axis -3 of [B, H, T, T]; Vitis and Catapult C-sim."""
    x = np.random.default_rng(1).normal(0, 1, (200, 8))
    cfg = {"model": {"precision": "ap_fixed<14,6>"}, "layers": {"sm": {"softmax": {"implementation": "hccs"}}}}
    for backend in ("vitis", "catapult"):
        design = fxflow.compile(MHA(), torch.zeros(1, 8), config=cfg, calibration_data=x, backend=backend,
                                output_dir=tmp_path / backend)
        text = design.mlir("fxp")
        assert "hccs_b = dense<" in text and "tensor<2xi64>" in text
        y = design.predict(x, raw=True)
        assert np.array_equal(y, design.csim(x, raw=True, verbose=False)), backend


def test_calibration_fits_each_head():
    """Sharper heads get larger slopes; the calibrated fit beats a uniform softmax by far on both heads."""
    x = np.random.default_rng(1).normal(0, 1, (300, 8))
    cfg = {"model": {"precision": "ap_fixed<14,6>"}, "layers": {"sm": {"softmax": {"implementation": "hccs"}}}}
    design = fxflow.compile(MHA(temps=(0.5, 4.0)), torch.zeros(1, 8), config=cfg, calibration_data=x)
    rep = softmax_accuracy(design, x)
    (row,) = rep["layers"]
    assert row["implementation"] == "hccs" and len(row["heads"]) == 2
    for head in row["heads"]:  # measured 0.005 / 0.030 mean, 0.09 / 0.20 max (clipped-linear vs exp)
        assert head["mean_abs_error"] < 0.04 and head["max_abs_error"] < 0.25
    sm = next(op for op in design.mlir("fxp").splitlines() if '"fxp.softmax"' in op)
    assert "hccs_dmax = dense<[" in sm and "hccs_s = dense<[" in sm  # two different parameter sets
    assert "head 1" in format_report(rep)


def test_accuracy_report_on_a_classifier():
    x = np.random.default_rng(2).normal(0, 1.5, (400, 6))
    cfg = {"model": {"precision": "ap_fixed<16,6>"},
           "layers": {"sm": {"softmax": {"implementation": "hccs", "output": "int16"}}}}
    rep = softmax_accuracy(fxflow.compile(Classifier(), torch.zeros(1, 6), config=cfg, calibration_data=x), x)
    (row,) = rep["layers"]
    assert row["result"] == "ap_fixed<16,1,AP_TRN,AP_SAT>" and row["rows"] == 400
    assert row["mean_abs_error"] < 0.02 and row["max_abs_error"] < 0.2 and row["argmax_agreement"] > 0.97
    assert rep["model"]["argmax_agreement"] > 0.95
    # the same model (compiled by the report itself) with the table softmax: the report is not HCCS-specific
    exact = softmax_accuracy(Classifier(), x, config={"model": cfg["model"]})
    assert exact["layers"][0]["implementation"] == "stable" and exact["layers"][0]["max_abs_error"] < 2e-3


@pytest.mark.parametrize("sm, message", [
    ({"B": 4000, "S": 70, "Dmax": 60}, r"layer 'sm': HCCS constraint B - S\*Dmax >= 0 violated"),
    ({"B": 7000, "S": 1, "Dmax": 1}, r"layer 'sm': HCCS constraint N\*B <= 65535 .* violated \(N=10, B=7000"),
    ({"B": 20, "S": 0, "Dmax": 0}, r"layer 'sm': HCCS constraint N\*\(B - S\*Dmax\) >= 256 violated"),
    ({"B": [300, 300], "S": 1, "Dmax": 4}, r"layer 'sm': the HCCS parameters B, S, Dmax have 2 entries"),
    ({}, r"layer 'sm': the HCCS softmax has no parameters B, S, Dmax in its config and no calibration data"),
])
def test_parameter_errors_name_layer_and_constraint(sm, message):
    cfg = {"layers": {"sm": {"softmax": {"implementation": "hccs", **sm}}}}
    with pytest.raises(ConfigError, match=message):
        fxflow.compile(Classifier(), torch.zeros(1, 6), config=cfg)


@pytest.mark.parametrize("sm, message", [
    ({"implementation": "hccs", "output": "int8"}, r"layers.sm.softmax.output' must be one of uint8, int16"),
    ({"implementation": "hccs", "B": 3}, r"gives B but not S, Dmax"),
    ({"implementation": "hccs", "B": 3.5, "S": 1, "Dmax": 2}, r"layers.sm.softmax.B' must be an integer"),
    ({"implementation": "hccs", "gain": 1}, r"unknown key\(s\) 'gain'"),
    ({"implementation": "stable", "B": 1}, r"belong to implementation 'hccs'"),
])
def test_config_errors(sm, message):
    with pytest.raises(ConfigError, match=message):
        fxflow.Config.from_dict({"layers": {"sm": {"softmax": sm}}})


def test_calibrate_head_meets_the_constraints():
    rng = np.random.default_rng(0)
    for n in (2, 7, 64, 300):
        b, s, dm, mse = calibrate_head(rng.integers(-100, 100, (50, n)), 4)
        check_params(HccsSpec((b,), (s,), (dm,)), n, "t")
        assert mse < 1.0 / n


def test_estimate_and_rtl():
    cfg = {"layers": {"sm": {"softmax": {"implementation": "hccs", "B": 1000, "S": 10, "Dmax": 50}}}}
    design = fxflow.compile(Classifier(), torch.zeros(1, 6), config=cfg)
    sm = next(r for r in design.report()["layers"] if r["layer"] == "sm")
    assert sm["dsp"] == 10 and sm["lut"] > 0 and sm["latency_cycles"] > 10  # a 16x16 product per element
    with pytest.raises(fxflow.UnsupportedOpError, match="RTL backend has no HCCS softmax yet .* layer 'sm'"):
        fxflow.compile(Classifier(), torch.zeros(1, 6), config=cfg, backend="rtl")


# --- AIE-ML ----------------------------------------------------------------------------------------------------
class Mlp(torch.nn.Module):
    """dense -> ReLU -> dense -> HCCS softmax: the AIE chain ending in the softmax kernel."""

    def __init__(self, n=20, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.fc1, self.fc2, self.sm = torch.nn.Linear(8, 32), torch.nn.Linear(32, n), torch.nn.Softmax(dim=1)

    def forward(self, x):
        return self.sm(self.fc2(torch.relu(self.fc1(x))))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 40), variant=st.sampled_from(VARIANTS), seed=st.integers(0, 99), data=st.data())
def test_aie_simulation_equals_predict(n, variant, seed, data):
    b, s, dm = data.draw(params(n, least=1))
    sm = {"implementation": "hccs", "output": variant[0], "reciprocal": variant[1], "B": b, "S": s, "Dmax": dm}
    cfg = {"model": {"precision": "ap_fixed<8,3>"}, "layers": {"sm": {"softmax": sm}}}
    design = fxflow.compile(Mlp(n, seed), torch.zeros(1, 8), config=cfg, backend="aie")
    x = np.random.default_rng(seed).normal(0, 2, (40, 8))
    y = design.predict(x, raw=True)
    assert np.array_equal(design.simulate(x, raw=True), y)
    # not vacuous: when the largest score gap S*Dmax spans several output LSBs (of a row sum ~ n*B), the
    # outputs must vary (tiny slopes, e.g. S*Dmax = 1 against B = 1720, rightly give one constant value)
    if s * dm * 2 ** OUTPUTS[variant[0]].f >= 8 * n * b:
        assert len(np.unique(y)) > 1


def test_aie_every_variant_calibrated_with_report_and_kernel(tmp_path):
    from fxflow.lowering.aie.cost import hccs_cycles

    x = np.random.default_rng(0).normal(0, 1, (300, 8))
    for out, rec in VARIANTS:
        cfg = {"model": {"precision": "ap_fixed<8,3>"},
               "layers": {"sm": {"softmax": {"implementation": "hccs", "output": out, "reciprocal": rec}}}}
        design = fxflow.compile(Mlp(), torch.zeros(1, 8), config=cfg, calibration_data=x, backend="aie")
        y = design.predict(x, raw=True)
        assert np.array_equal(design.simulate(x, raw=True), y), (out, rec)
        assert len(np.unique(y)) > 20
    row = next(r for r in design.report()["layers"] if r["layer"] == "sm")
    # the kernel's loops over 2 slices x 16 lanes for 20 features (M = 8): max 2, score 2, scale 2 x 2 vector
    # steps per row, plus the row overhead, the division and the clb normalization, plus the call overhead
    assert row["mode"] == "hccs" and row["tiles"] == 1
    assert row["kernel_cycles"] == hccs_cycles(8, 20, 32, "clb") == 30 + 8 * (22 + 213 + 2 + 2 + 2 + 4)
    design.write(tmp_path)
    src = (tmp_path / "kernels" / "sm.cc").read_text()
    assert "hccs<8, 2, 16, 20, " in src and ", true, 15, int16>(x, y)" in src  # M, slices, slice, N; clb, Q15
    text = (tmp_path / "aie.mlir").read_text()
    assert "func.func private @sm_hccs(memref<256xi8>, memref<256xi16>)" in text
    assert "aie.objectfifo.link [@fc2_y0, @fc2_y1] -> [@sm_x]" in text and "aie.objectfifo.link [@sm_y] -> [@out0]" in text


class MidMlp(torch.nn.Module):
    """dense -> ReLU -> dense -> HCCS softmax -> dense [-> HCCS softmax]: softmaxes inside the AIE chain."""

    def __init__(self, n=20, out=6, seed=0, final=False):
        super().__init__()
        torch.manual_seed(seed)
        self.fc1, self.fc2, self.fc3 = torch.nn.Linear(8, 32), torch.nn.Linear(32, n), torch.nn.Linear(n, out)
        self.sm, self.sm2, self.final = torch.nn.Softmax(dim=1), torch.nn.Softmax(dim=1), final

    def forward(self, x):
        y = self.fc3(self.sm(self.fc2(torch.relu(self.fc1(x)))))
        return self.sm2(y) if self.final else y


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 40), out=st.integers(2, 24), variant=st.sampled_from(VARIANTS), seed=st.integers(0, 99),
       final=st.booleans(), batch=st.sampled_from([1, 8, 16]), data=st.data())
def test_aie_softmax_between_dense_layers_simulation_equals_predict(n, out, variant, seed, final, batch, data):
    """An HCCS softmax between dense layers (int8 or int16 output, so the next dense runs 8x8 or 16x8): its own
    core between a memory-tile join and distribute; the AIE simulation == predict bit for bit."""
    b, s, dm = data.draw(params(n, least=1))
    sm = {"implementation": "hccs", "output": variant[0], "reciprocal": variant[1], "B": b, "S": s, "Dmax": dm}
    layers = {"sm": {"softmax": sm}}
    if final:
        layers["sm2"] = {"softmax": {"implementation": "hccs", "B": 1000, "S": 20, "Dmax": 40}}
    cfg = {"model": {"precision": "ap_fixed<8,3>"}, "layers": layers}
    design = fxflow.compile(MidMlp(n, out, seed, final), torch.zeros(1, 8), config=cfg, backend="aie",
                            aie={"batch": batch})
    x = np.random.default_rng(seed).normal(0, 2, (40, 8))
    assert np.array_equal(design.simulate(x, raw=True), design.predict(x, raw=True))
    prog = design.aie_program
    assert [c.layer for c in prog.cores if prog.kernel(c.fn).role == "hccs"] == ["sm"] + ["sm2"] * final
    assert [r["layer"] for r in design.report()["layers"]] == ["fc1", "fc2", "sm", "fc3"] + ["sm2"] * final


def test_aie_softmax_between_dense_layers_is_wired_emitted_and_checked(tmp_path):
    """The memory tile joins fc2's chains into the softmax core and distributes its result as fc3's K-slices;
    the kernels pass the AIE API syntax/shape check; the report costs the softmax core."""
    from fxflow.lowering.aie.cost import hccs_cycles
    from fxflow.lowering.aie.kernels import check_syntax, render_kernels
    from toolchains import needs

    cfg = {"model": {"precision": "ap_fixed<8,3>"},
           "layers": {"sm": {"softmax": {"implementation": "hccs", "B": 1000, "S": 20, "Dmax": 40,
                                         "reciprocal": "div"}}}}
    design = fxflow.compile(MidMlp(), torch.zeros(1, 8), config=cfg, backend="aie")
    design.write(tmp_path)
    text = (tmp_path / "aie.mlir").read_text()
    assert "aie.objectfifo.link [@fc2_y0, @fc2_y1] -> [@sm_x] ([0, 128] [])" in text
    assert "aie.objectfifo.link [@sm_y] -> [@fc3_x0, @fc3_x1] ([] [0, 128])" in text
    row = next(r for r in design.report()["layers"] if r["layer"] == "sm")
    assert row["kernel_cycles"] == hccs_cycles(8, 20, 32, "div") and row["tiles"] == 1
    needs("g++")
    files = render_kernels(design.aie_program)
    assert {"kernels/sm.cc", "kernels/fc3.cc"} <= set(files)
    assert check_syntax(files, design.aie_program.device) == {}


def test_aie_softmax_limits_the_chains_before_it():
    """The layer before an HCCS softmax gets at most (memory-tile DMA channels - 1) output chains, as the join
    (and, between layers, the distribute) needs; a layer that cannot be split that narrowly is an error naming
    the layer and the limit."""
    from fxflow.lowering.aie.device import AieFitError, get_device
    from fxflow.lowering.aie.passes.partition import choose

    dev = get_device("xcve2802")
    layer = {"name": "fc2", "mode": "8x8", "K": 16, "N": 2048, "x": "i8", "y": "i8"}
    assert choose([layer], dev, 8, 304, "throughput", 0.05)[0].cas_num > 1
    with pytest.raises(AieFitError, match=r"layer 'fc2' \(16x2048\) needs at least 2 output chains; the HCCS "
                                          "softmax after it joins at most 1 in one memory tile"):
        choose([{**layer, "max_chains": 1}], dev, 8, 304, "throughput", 0.05)
    cfg = {"model": {"precision": "ap_fixed<8,3>"},
           "layers": {"sm": {"softmax": {"implementation": "hccs", "B": 200, "S": 2, "Dmax": 40}}}}
    design = fxflow.compile(MidMlp(n=160), torch.zeros(1, 8), config=cfg, backend="aie",
                            aie={"objective": "throughput"})
    fc2 = next(r for r in design.report()["layers"] if r["layer"] == "fc2")
    assert int(fc2["grid"].split("x")[1]) <= min(dev.memtile_dma) - 1
    x = np.random.default_rng(1).normal(0, 2, (16, 8))
    assert np.array_equal(design.simulate(x, raw=True), design.predict(x, raw=True))


def test_aie_hccs_needs_int8_input():
    cfg = {"model": {"precision": "ap_fixed<12,4>"},
           "layers": {"sm": {"softmax": {"implementation": "hccs", "B": 1000, "S": 10, "Dmax": 50}}}}
    with pytest.raises(fxflow.UnsupportedOpError, match="layer 'sm': the AIE HCCS kernel takes int8 inputs"):
        fxflow.compile(Mlp(), torch.zeros(1, 8), config=cfg, backend="aie")


def test_cli_softmax_accuracy(tmp_path, capsys):
    from fxflow.cli import main

    x = np.random.default_rng(3).normal(0, 1.5, (64, 6)).astype(np.float32)
    prog = torch.export.export(Classifier().eval(), (torch.zeros(1, 6),))
    torch.export.save(prog, tmp_path / "m.pt2")
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "c.json").write_text('{"layers": {"sm": {"softmax": {"implementation": "hccs"}}}}')
    assert main(["softmax-accuracy", str(tmp_path / "m.pt2"), "--data", str(tmp_path / "x.npy"), "--config",
                 str(tmp_path / "c.json"), "--calibration", str(tmp_path / "x.npy")]) == 0
    out = capsys.readouterr().out
    assert "sm" in out and "hccs" in out and "(model output)" in out
    assert main(["softmax-accuracy", str(tmp_path / "m.pt2"), "--data", str(tmp_path / "x.npy"), "--config",
                 str(tmp_path / "c.json")]) == 1  # no parameters, no calibration: a clear error
    assert "no calibration data" in capsys.readouterr().err
