"""RTL backend: the CIRCT-built SystemVerilog, simulated cycle-accurately by Verilator, equals predict bit for
bit, its measured latency equals the reported one, and yosys counts it.

Each design here costs one Verilator build (5-30 s), so the designs are chosen to cover a lot each: random
MLPs (hypothesis: formats, modes, reuse factors), one 28-layer chain through every rounding x overflow
combination (results and narrow accumulators), a CNN with every layer family the backend supports, the
bundled jet tagger.  Locally the tests skip when Verilator/yosys/CIRCT are missing; in CI (CI set) they fail.
"""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fxflow
from fxflow.errors import ConfigError, UnsupportedOpError

from models import every_mode_design, inputs, mlp, random_design, random_format

pytestmark = pytest.mark.needs("verilator", "yosys", "circt")


def _check(design, x):
    y = design.predict(x, raw=True)
    yr, latency = design.rtl_sim(x, raw=True, verbose=False)
    bad = np.argwhere(np.asarray(y) != np.asarray(yr))
    assert bad.size == 0, (f"{len(bad)} mismatches, first at {bad[0]}: predict {y[tuple(bad[0])]} "
                           f"rtl {yr[tuple(bad[0])]}")
    report = design.report()
    assert latency == report["total"]["rtl_latency"] == design.rtl.latency
    return y, latency


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_design())
def test_random_mlps_rtl_equals_predict(case):
    widths, cfg, seed, scale = case
    design = fxflow.compile(mlp(widths, seed=seed, scale=scale), np.zeros((1, widths[0])), config=cfg,
                            backend="rtl")
    _check(design, inputs(np.random.default_rng(seed), 300, widths[0]))


def test_every_mode_combination_rtl_equals_predict():
    model, cfg, x = every_mode_design()
    design = fxflow.compile(model, np.zeros((1, 8)), config=cfg, backend="rtl")
    y, latency = _check(design, x)
    assert len(np.unique(y)) > 100, "the signal died in the chain; the test would check nothing"
    layers = len(design.rtl.kernels)
    assert latency == layers  # one register stage per layer


def _cnn():
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = torch.nn.Conv2d(1, 2, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(2)
            self.p1 = torch.nn.MaxPool2d(2)
            self.c2 = torch.nn.Conv2d(2, 2, 2)
            self.p2 = torch.nn.AvgPool2d(3, stride=1)
            self.fc = torch.nn.Linear(2, 3)
            self.sig = torch.nn.Sigmoid()

        def forward(self, x):
            x = self.p1(torch.relu(self.bn(self.c1(x))))
            x = self.p2(torch.nn.functional.hardtanh(self.c2(x), -0.5, 0.5))
            x = self.fc(torch.flatten(x, 1))
            return torch.cat([self.sig(x), torch.nn.functional.leaky_relu(x, 0.1)], dim=1)

    torch.manual_seed(2)
    m = Net().eval()
    with torch.no_grad():
        m.bn.running_mean.uniform_(-0.3, 0.3)
        m.bn.running_var.uniform_(0.5, 2.0)
    return m


def test_cnn_layer_families_rtl_equals_predict():
    """conv (+ folded BatchNorm), ReLU, max pool, clamp, average pool (division by 9), flatten, dense, a
    sigmoid table (ROM), PReLU and concat, with rounding and symmetric saturation everywhere."""
    x = np.random.default_rng(0).normal(0, 1, (300, 1, 8, 8))
    design = fxflow.compile(_cnn(), x[:1], config={"model": {"precision": "ap_fixed<9,3,AP_RND_CONV,AP_SAT_SYM>"}},
                            backend="rtl")
    ops = {op for k in design.rtl.kernels for op in k.ops}
    assert {"fxp.conv", "fxp.pool", "fxp.clamp", "fxp.lut", "fxp.prelu", "fxp.concat", "fxp.dense"} <= ops
    _check(design, x)


def test_residual_elementwise_and_standalone_batchnorm():
    import torch

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc0 = torch.nn.Linear(5, 4)
            self.fc1 = torch.nn.Linear(5, 4)
            self.bn = torch.nn.BatchNorm1d(4)

        def forward(self, x):
            a, b = torch.relu(self.fc0(x)), self.fc1(x)
            return self.bn(a + b) * (a - b)

    torch.manual_seed(7)
    m = Block().eval()
    with torch.no_grad():
        m.bn.running_mean.uniform_(-0.5, 0.5)
        m.bn.running_var.uniform_(0.3, 3.0)
    cfg = {"model": {"precision": "ap_fixed<12,5,AP_RND,AP_SAT>"}, "layers": {"fc1": {"result": "ap_fixed<8,3>"}}}
    design = fxflow.compile(m, np.zeros((1, 5)), config=cfg, backend="rtl")
    ops = {op for k in design.rtl.kernels for op in k.ops}
    assert {"fxp.add", "fxp.sub", "fxp.mul", "fxp.scale_shift"} <= ops
    _check(design, inputs(np.random.default_rng(1), 300, 5))


def _tokens_plus_constant(seed: int, scale: float):
    """fc(x) + pos on [N, 3, 4] tokens, then masked_fill of a constant mask with -inf: two fxp.add_constant
    (layers "add_1": the position embedding, "where": the mask)."""
    import torch

    class TokensPlusConstant(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(seed)
            self.fc = torch.nn.Linear(4, 4)
            self.pos = torch.nn.Parameter(scale * torch.randn(1, 3, 4))
            self.register_buffer("mask", torch.triu(torch.ones(3, 4, dtype=torch.bool), 2))  # no row all masked

        def forward(self, x):
            return (self.fc(x) + self.pos).masked_fill(self.mask, float("-inf"))

    return TokensPlusConstant().eval()


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_add_constant_rtl_equals_predict(data):
    """fxp.add_constant in hardware: the exact sum of the activation and the constant assigned to random
    result formats (rounding, overflow), masked entries the result format's minimum."""
    draw = data.draw
    cfg = {"model": {"precision": random_format(draw), "input": random_format(draw)},
           "layers": {"fc": {"result": random_format(draw)},
                      "add_1": {"bias": random_format(draw, 14), "result": random_format(draw)},
                      "where": {"result": random_format(draw)}}}
    seed, scale = draw(st.integers(0, 2**16)), draw(st.sampled_from([0.25, 1.0, 4.0]))
    design = fxflow.compile(_tokens_plus_constant(seed, scale), np.zeros((1, 3, 4)), config=cfg, backend="rtl")
    assert [op for k in design.rtl.kernels for op in k.ops].count("fxp.add_constant") == 2
    x = inputs(np.random.default_rng(seed), 300 * 3, 4).reshape(300, 3, 4)
    _check(design, x)


@pytest.mark.parametrize("implementation", ["stable", "latency", "argmax"])
def test_softmax_tables_rtl_equals_predict(implementation):
    """hls4ml's table softmax (max, exp ROM, reduce tree, inverse ROM, products) and argmax in hardware."""
    import torch

    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Softmax(dim=1))
    cfg = {"model": {"precision": "ap_fixed<12,4,AP_RND,AP_SAT>"}, "layers": {"1": {"softmax": implementation}}}
    design = fxflow.compile(model, np.zeros((1, 4)), config=cfg, backend="rtl")
    y, _ = _check(design, np.random.default_rng(0).normal(0, 2, (300, 4)))
    assert len(np.unique(y)) > (1 if implementation == "argmax" else 50)


def test_reuse_factor_time_multiplexes_dense_layers():
    """Reuse factors 2 and 4 with narrow saturating accumulators (the per-step k-loop in hardware): fewer
    multipliers, a new sample every max(R) cycles, latency R + 1 per dense layer."""
    cfg = {"model": {"precision": "ap_fixed<10,4,AP_RND,AP_SAT>"},
           "layers": {"fc0": {"reuse_factor": 4, "accum": "ap_fixed<12,4,AP_RND_ZERO,AP_SAT>"},
                      "fc1": {"reuse_factor": 2, "accum": "ap_fixed<14,5,AP_TRN,AP_WRAP>"}}}
    design = fxflow.compile(mlp([8, 6, 3], seed=3), np.zeros((1, 8)), config=cfg, backend="rtl")
    k = {k.layer: k for k in design.rtl.kernels}
    assert (k["fc0"].reuse_factor, k["fc0"].multipliers, k["fc0"].latency) == (4, 12, 5)
    assert (k["fc1"].reuse_factor, k["fc1"].multipliers, k["fc1"].latency) == (2, 9, 3)
    assert design.rtl.interval == 4
    _, latency = _check(design, inputs(np.random.default_rng(2), 200, 8))
    assert latency == 5 + 1 + 3


def test_products_and_pipeline_options():
    """Shift-add constant products give the same numbers; pipeline 0 is combinational (latency 0), pipeline 2
    doubles the register stages; per-layer overrides apply."""
    model, x = mlp([6, 5, 3], seed=5), inputs(np.random.default_rng(3), 200, 6)
    cfg = {"model": {"precision": "ap_fixed<11,4,AP_RND_INF,AP_SAT>"}}
    ref = fxflow.compile(model, x[:1], config=cfg).predict(x, raw=True)
    for rtl, expected in (({"products": "shift_add", "pipeline": 0}, 0), ({"pipeline": 2}, 6),
                          ({"pipeline": 0, "layers": {"fc1": {"pipeline": 3, "products": "shift_add"}}}, 3)):
        design = fxflow.compile(model, x[:1], config=cfg, backend="rtl", rtl=rtl)
        y, latency = _check(design, x)
        assert latency == expected
        assert np.array_equal(y, ref)
    assert "comb.mul" not in fxflow.compile(model, x[:1], config=cfg, backend="rtl",
                                            rtl={"products": "shift_add"}).mlir("rtl")


def test_jet_tagger_rtl_equals_predict_and_writes_a_project(tmp_path):
    from fxflow.examples import jet_tagger

    x = jet_tagger.make_inputs(2000)
    design = fxflow.compile(jet_tagger.make_model(), x[:1], config=jet_tagger.DEFAULT_CONFIG, backend="rtl")
    _, latency = _check(design, x)
    assert latency == 7  # 4 dense + 3 ReLU kernels, one register stage each
    out = design.write(tmp_path / "rtl")
    names = {p.name for p in out.iterdir()}
    assert {"myproject.sv", "myproject.hw.mlir", "tb.cpp", "synth.ys", "Makefile", "README.md"} <= names
    again = fxflow.compile(jet_tagger.make_model(), x[:1], config=jet_tagger.DEFAULT_CONFIG, backend="rtl")
    assert again.rtl.verilog() == (out / "myproject.sv").read_text()  # deterministic


APPROX_SPECS = ["trunc(k=3)", "trunc(k=4, compensate=1)", "bam(hbl=1, vbl=4)", "drum(k=3)", "mitchell", "exact"]


def test_approximate_multipliers_in_hardware():
    """Each multiplier family's bit-level definition printed into comb logic (one layer per family, one of
    them time-multiplexed): rtl_sim == predict, every input code of the first layer exercised, and the
    outputs really differ from the exact-multiplier design."""
    from models import identity_chain

    model = identity_chain(4, len(APPROX_SPECS), seed=1, noise=0.5)
    cfg = {"model": {"precision": "ap_fixed<8,3,AP_RND,AP_SAT>", "accum": "ap_fixed<20,8>"},
           "layers": {f"fc{i}": {"multiplier": spec} for i, spec in enumerate(APPROX_SPECS)}}
    cfg["layers"]["fc2"]["reuse_factor"] = 2
    design = fxflow.compile(model, np.zeros((1, 4)), config=cfg, backend="rtl")
    codes = np.arange(-128, 128) / 32.0
    x = np.concatenate([np.stack([codes, codes[::-1], np.roll(codes, 77), np.roll(codes, 5)], axis=1),
                        np.random.default_rng(0).normal(0, 2, (200, 4))])
    y, _ = _check(design, x)
    exact = fxflow.compile(model, np.zeros((1, 4)), config={"model": cfg["model"]}).predict(x, raw=True)
    assert np.sum(y != exact) > 100


def test_qonnx_example_rtl_equals_predict(tmp_path):
    """The bundled QONNX MLP (ONNX front-end, formats from its Quant nodes) in RTL."""
    from fxflow.examples import qonnx_mlp

    x = qonnx_mlp.make_inputs(1000)
    design = fxflow.compile(qonnx_mlp.make_model(tmp_path / "m.onnx"), x[:1], config=qonnx_mlp.DEFAULT_CONFIG,
                            backend="rtl")
    _check(design, x)


def test_synth_counts_per_kernel_and_report_ratio():
    import re

    from fxflow.report import format_table

    design = fxflow.compile(mlp([6, 4, 2], seed=1), np.zeros((1, 6)),
                            config={"model": {"precision": "ap_fixed<8,3>"}}, backend="rtl")
    res = design.synth(verbose=False)
    kernels = [k.name for k in design.rtl.kernels]
    assert set(kernels) <= set(res["modules"])
    assert res["total"]["lut"] > 0 and res["total"]["ff"] > 0
    assert res["total"]["dsp"] + res["total"]["lut"] > 0
    rep = design.report()
    fc0 = rep["layers"][0]
    assert fc0["yosys_lut"] == res["modules"][kernels[0]]["lut"]
    assert fc0["yosys_inv"] == res["modules"][kernels[0]]["inv"]
    assert "lut_ratio" in fc0 and "yosys" in rep["note"]
    table = format_table(rep)
    assert "yosys" in table and "not Vivado" in table and "inv (yosys)" in table
    # yosys' own netlist, read independently: its LUT1-6 and INV cells (an INV is a LUT1 in Vivado) are the LUTs
    cells = _netlist_cells(design.rtl.verilog(), design.rtl.top)
    luts = {m: sum(n for t, n in c.items() if re.fullmatch(r"LUT[1-6]|INV", t)) for m, c in cells.items()}
    assert sum(c.get("INV", 0) for c in cells.values()) > 0  # the design has inverters, so the rule matters
    assert not any(t.startswith(("RAM", "SRL")) for c in cells.values() for t in c)  # no other LUT cells
    assert {m: v for m, v in luts.items() if v} == {m: c["lut"] for m, c in res["modules"].items() if c["lut"]}
    assert res["total"]["lut"] == sum(luts.values())
    assert res["total"]["inv"] == sum(c.get("INV", 0) for c in cells.values())


def _netlist_cells(verilog: str, top: str) -> dict:
    """{module: {cell type: count}} of yosys' synth_xilinx netlist (write_json), as the test's own reading."""
    import collections
    import json
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "d.sv", Path(tmp) / "netlist.json"
        src.write_text(verilog)
        subprocess.run(["yosys", "-q", "-p", f"read_verilog -sv {src}; hierarchy -top {top}; "
                        f"synth_xilinx -family xcup -noiopad -top {top}; write_json {out}"], check=True)
        modules = json.loads(out.read_text())["modules"]
    return {name.lstrip("\\"): collections.Counter(c["type"] for c in m.get("cells", {}).values())
            for name, m in modules.items()}


@st.composite
def wide_design(draw):
    """An MLP whose input, accumulator and result formats are 65-128 bits (Verilator word arrays at the ports,
    wide registers and constants inside), with random signedness, rounding and overflow modes; 2-40 integer
    bits, so the float inputs' stored integers reach into the high words and some values overflow."""
    def wide(max_width=128):
        return random_format(draw, max_width, 65, int_bits=(2, 40))

    depth = draw(st.integers(1, 2))
    widths = [draw(st.integers(2, 4)) for _ in range(depth + 1)]
    cfg = {"model": {"precision": wide(), "input": wide(100)}, "layers": {}}
    for i in range(depth):
        layer = {"weight": random_format(draw, 14, 6, int_bits=(1, 2), signed=True),
                 "bias": random_format(draw, 40, 8, int_bits=(2, 4), signed=True), "result": wide()}
        if draw(st.booleans()):
            layer["accum"] = wide()  # narrower than exact: per-step rounding / overflow at 65-128 bits
        layer["reuse_factor"] = draw(st.sampled_from([d for d in (1, 2) if widths[i] * widths[i + 1] % d == 0]))
        cfg["layers"][f"fc{i}"] = layer
        if i < depth - 1 and draw(st.booleans()):
            cfg["layers"][f"act{i}"] = {"result": wide()}
    return widths, cfg, draw(st.integers(0, 2**16))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wide_design())
def test_wide_formats_rtl_equals_predict(case):
    widths, cfg, seed = case
    design = fxflow.compile(mlp(widths, seed=seed), np.zeros((1, widths[0])), config=cfg, backend="rtl")
    assert min(f.width for _, f in design.rtl.inputs + design.rtl.outputs) > 64
    x = inputs(np.random.default_rng(seed), 300, widths[0])
    x[:10] *= 1e25  # beyond every format's range: saturation / wrapping of the input
    y, _ = _check(design, x)
    assert np.asarray(y).dtype == object  # Python ints: nothing went through int64
    assert len(np.unique(y)) > 10, "the signal died; the test would check nothing"
    assert np.array_equal(design.rtl_sim(x[:50], verbose=False)[0], design.predict(x[:50]))  # as float64 values


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_port_words_round_trip(data):
    """The testbench files' 32-bit words (least significant first) carry every stored integer of any width,
    from int64 arrays and from Python ints, back in predict's dtype."""
    from fxflow.fixed import FixedFormat
    from fxflow.fixed.quantize import storage_dtype
    from fxflow.lowering.rtl.verilator import from_words, port_words, to_words

    signed = data.draw(st.booleans())
    width = data.draw(st.integers(1 + signed, 200))
    fmt = FixedFormat(int(signed), width - int(signed), 0)
    values = data.draw(st.lists(st.integers(fmt.min_int, fmt.max_int), min_size=1, max_size=20))
    for x in [np.array(values, dtype=object)] + ([np.array(values, dtype=np.int64)] if fmt.max_int < 2**63 else []):
        words = to_words(x, width)
        assert words.dtype == np.uint32 and words.shape == (len(values), port_words(width))
        assert np.all(words[:, -1] < 2 ** (width - 32 * (port_words(width) - 1)))  # clean high bits (Verilator)
        back = from_words(words, fmt)
        assert back.dtype == storage_dtype(fmt) and [int(v) for v in back] == values


def test_wide_constants_keep_their_bits():
    """hw.constant above 64 bits (the CIRCT builder zero-extends an int64: -5 at 100 bits would be 2^64 - 5)."""
    import circt
    from circt import ir

    from fxflow.lowering.rtl import signals as s

    cases = [(-5, 100), (1 << 99, 100), ((1 << 100) - 1, 100), (12345678901234567890123, 80), (-(1 << 63), 64),
             ((1 << 64) - 1, 64), (-1, 65), (3, 1), (-(1 << 127) + 3, 128)]
    ctx = ir.Context()
    circt.register_dialects(ctx)
    with ctx, ir.Location.unknown():
        m = ir.Module.create()
        with ir.InsertionPoint(m.body):
            for v, w in cases:
                bits = v & ((1 << w) - 1)
                want = bits - (1 << w) if w > 1 and bits >> (w - 1) else bits
                text = str(s.const_value(v, w).owner)
                assert text.endswith(f" {want} : i{w}") or w == 1 and text.endswith(f"{bool(bits)}".lower()), text
    with pytest.raises(UnsupportedOpError, match="65537-bit constant"):
        with ctx, ir.Location.unknown(), ir.InsertionPoint(m.body):
            s.const_value(1, (1 << 16) + 1)


def test_unsupported_layers_and_options_are_clear_errors():
    import torch

    with pytest.raises(ConfigError, match="io_parallel"):
        fxflow.compile(mlp([4, 2]), np.zeros((1, 4)), backend="rtl", io_type="io_stream")
    with pytest.raises(ConfigError, match="unknown rtl option.*registers"):
        fxflow.compile(mlp([4, 2]), np.zeros((1, 4)), backend="rtl", rtl={"registers": 1})
    with pytest.raises(ConfigError, match="products must be one of"):
        fxflow.compile(mlp([4, 2]), np.zeros((1, 4)), backend="rtl", rtl={"products": "dsp"})
    with pytest.raises(ConfigError, match="backend is not 'rtl'"):
        fxflow.compile(mlp([4, 2]), np.zeros((1, 4)), rtl={"pipeline": 0})
    conv = torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3))
    with pytest.raises(UnsupportedOpError, match="dense layers only.*reuse_factor 1"):
        fxflow.compile(conv, np.zeros((1, 1, 8)), config={"model": {"reuse_factor": 2}}, backend="rtl")
    # Verilator's numbers stop at 64K bits: a sigmoid ROM of 8,192 wide entries is one constant above that
    sig = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Sigmoid())
    big = {"model": {"precision": "ap_fixed<18,6>"},
           "layers": {"1": {"table_size": 8192, "table_range": [-8, 8], "table": "ap_ufixed<18,1>"}}}
    with pytest.raises(UnsupportedOpError, match=r"\d{5,}-bit constant.*65536 bits.*layer '1'"):
        fxflow.compile(sig, np.zeros((1, 4)), config=big, backend="rtl")


def test_per_channel_casts_and_weight_formats():
    """The per-channel graph of test_per_channel (a per-channel cast per rounding x overflow mode, a dense
    layer with per-channel weight formats, a per-element cast; 29 outputs) through CIRCT and Verilator."""
    from fxflow.emulator import compile_program, run
    from fxflow.fixed.quantize import quantize
    from fxflow.dialects import new_context
    from fxflow.ir import ir
    from fxflow.lowering.rtl.build import lower_to_rtl
    from fxflow.lowering.rtl import verilator

    from test_per_channel import per_channel_graph, per_channel_inputs

    g, _ = per_channel_graph()
    with new_context():
        m = ir.Module.parse(g.text())
        program = compile_program(m)
        rtl = lower_to_rtl(m)
    x = per_channel_inputs(300, seed=3)
    want = np.concatenate([np.asarray(t.data, dtype=np.int64).reshape(len(x), -1) for t in run(program, [x])], axis=1)
    got, latency = verilator.run(verilator.build(rtl, verbose=False), rtl, quantize(x, rtl.inputs[0][1]))
    assert np.array_equal(got, want)
    assert set(latency.tolist()) == {rtl.latency}


def test_cli_compile_rtl_writes_project_and_compares(tmp_path, capsys):
    import torch

    from fxflow.cli import main

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3)).eval()
    torch.export.save(torch.export.export(model, (torch.zeros(1, 6),)), tmp_path / "m.pt2")
    rc = main(["compile", str(tmp_path / "m.pt2"), "--backend", "rtl", "-o", str(tmp_path / "out"),
               "--precision", "ap_fixed<10,4,AP_RND,AP_SAT>", "--rtl-pipeline", "2", "--csim", "200"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "latency 6 cycles" in out and "0 mismatching values" in out
    assert (tmp_path / "out" / "myproject.sv").exists()
    with pytest.raises(fxflow.FxflowError, match="rtl_sim"):
        fxflow.compile(model, np.zeros((1, 6)), backend="rtl").csim(np.zeros((2, 6)))


def test_multiplier_verilog_is_checked_exhaustively_and_measured_by_yosys():
    """Every family's Verilog (printed from its one definition) equals its table on every operand pair, for
    8-bit signed, 8-bit unsigned and 5-bit signed x 6-bit unsigned; yosys gives each a LUT cost."""
    from fxflow.lowering.rtl import characterize

    specs = APPROX_SPECS + ["drum(k=4)", "bam(hbl=2, vbl=8)"]
    for signed in (True, False):
        assert characterize.verify(specs, 8, signed, 8, signed) == 256 * 256
    assert characterize.verify(["exact", "drum(k=3)", "trunc(k=2)", "mitchell"], 5, True, 6, False) == 32 * 64
    from fxflow.approx import build, cost

    measured = cost.LutCosts()
    costs = characterize.lut_costs(specs, 8, True, 8, True, into=measured)
    assert set(costs) == set(specs) and all(v > 0 for v in costs.values()) and len(measured) == len(specs)
    drum = build("drum(k=4)", 8, True, 8, True)
    assert cost.lut_cost(drum, 32, measured) == (costs["drum(k=4)"], "yosys")  # the estimator given them
    assert cost.lut_cost(drum, 32)[1] == "gates"  # and without them: nothing process-global was recorded


def test_approx_search_with_yosys_measured_costs():
    from fxflow import approx
    from fxflow.approx import cost
    from fxflow.approx import finetune as ft
    from fxflow.estimate import lut_multiplier_luts

    xtr, ytr = ft.task(1000, seed=1)
    model = ft.train(ft.model(), xtr, ytr, epochs=10)
    xc, yc = ft.task(400, seed=3)
    base = {"precision": "ap_fixed<16,6>", "input": "ap_fixed<8,3,AP_RND,AP_SAT>",
            "weight": "ap_fixed<8,2,AP_RND,AP_SAT>", "result": "ap_fixed<8,3,AP_RND,AP_SAT>"}
    candidates = ["exact", "trunc(k=6, compensate=1)", "bam(hbl=2, vbl=8)", "drum(k=3)"]
    design = fxflow.compile(model, xc[:1], config={"model": {**base, "multiplier": "drum(k=3)"}})
    before = design.report()
    gates = approx.search(model, xc, yc, candidates=candidates, budget=0.02, config={"model": base},
                          method="greedy", time_limit=120, progress=False)
    measured = approx.search(model, xc, yc, candidates=candidates, budget=0.02, config={"model": base},
                             method="greedy", time_limit=120, progress=False, cost="yosys")
    assert measured.met and measured.cost <= measured.exact_cost
    assert measured.exact_cost != gates.exact_cost  # priced by yosys LUTs, not by the gate model
    # the measurements live in the result, not in the process: the same report as before the search ...
    assert design.report() == before and gates.lut_costs is None
    # ... unless they are passed: then each drum(k=3) multiplier costs its yosys LUTs
    drum = approx.build("drum(k=3)", 8, True, 8, True)
    yosys_luts = measured.lut_costs.get(drum)
    gate_luts = cost.lut_cost(drum, lut_multiplier_luts(8, 8))[0]
    assert yosys_luts and yosys_luts != gate_luts
    priced = design.report(lut_costs=measured.lut_costs)
    approximate = [(b, p) for b, p in zip(before["layers"], priced["layers"]) if b.get("multiplier") == "drum(k=3)"]
    assert approximate
    for b, p in approximate:
        assert p["lut"] - b["lut"] == b["multipliers"] * (yosys_luts - gate_luts)
    with pytest.raises(ConfigError, match="cost must be"):
        approx.search(model, xc, yc, candidates=candidates, config={"model": base}, cost="vivado")
    with pytest.raises(ConfigError, match="only with cost='yosys'"):
        approx.search(model, xc, yc, candidates=candidates, config={"model": base}, lut_costs=cost.LutCosts())
