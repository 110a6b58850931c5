"""io_stream: the layer CNNs and the jet MLP as hls::stream DATAFLOW designs — C-sim equals predict bit for
bit (Vitis and Catapult), FIFO depths from df-size-fifos reach the IR and the STREAM pragmas, a deadlocking
override is reported, bad input is a clear error."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

import fxflow
from fxflow.errors import ConfigError, UnsupportedOpError
from fxflow.ir import ir
from fxflow.lowering.hls.passes.df_size_fifos import FifoDeadlock, SizeFifosOptions, size_fifos
from toolchains import needs

from test_layers import Cnn1d, Cnn2d, Shapes, _randomize_bn

needs_csim = pytest.mark.needs("g++", "ap_types")

class Gathered(nn.Module):
    """A transpose and a flatten that move values between positions and channels: gathering kernels."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3)
        self.fc = nn.Linear(18, 4)

    def forward(self, x):
        return self.fc(torch.flatten(self.conv(x).permute(0, 2, 1), 1))


MODELS = {"cnn2d": (Cnn2d, (3, 8, 8)), "cnn1d": (Cnn1d, (2, 16)), "shapes": (Shapes, (2, 3, 3)),
          "gathered": (Gathered, (2, 8))}
CONFIGS = {
    "cnn2d": {"model": {"precision": "ap_fixed<16,6>"}},
    "cnn1d": {"model": {"precision": "ap_fixed<10,4,AP_RND,AP_SAT>", "accum": "ap_fixed<14,6,AP_RND_ZERO,AP_SAT_SYM>"}},
    "shapes": {"model": {"precision": "ap_fixed<12,5,AP_RND_INF,AP_WRAP>", "accum": "auto"}},
    "gathered": {"model": {"precision": "ap_fixed<12,4,AP_RND_CONV,AP_SAT>"}},
}


def _model(name):
    torch.manual_seed(1)
    cls, shape = MODELS[name]
    return _randomize_bn(cls()), shape


def _inputs(shape, n=24, seed=3):
    rng = np.random.default_rng(seed)
    scale = rng.choice([0.3, 2.0, 12.0], size=(n,) + (1,) * len(shape))
    return (rng.normal(size=(n, *shape)) * scale).astype(np.float32)


def _stream_design(name, **kw):
    model, shape = _model(name)
    x = _inputs(shape)
    return fxflow.compile(model, torch.from_numpy(x[:1]), CONFIGS[name], io_type="io_stream", **kw), x


def _channels(design):
    """(df.channel op, its reader's name) of the df.graph, in IR order."""
    graph = next(o.operation for o in design.module.body.operations if o.operation.name == "df.graph")
    out = []
    for o in graph.regions[0].blocks[0].operations:
        if o.operation.name == "df.channel":
            (use,) = list(o.operation.results[0].uses)
            out.append((o.operation, use.owner.name))
    return graph, out


def _depth(op) -> int:
    return ir.IntegerAttr(op.attributes["depth"]).value


@needs_csim
@pytest.mark.parametrize("name,backend", [("cnn2d", "vitis"), ("cnn1d", "catapult"), ("shapes", "vitis"),
                                          ("gathered", "catapult")])
def test_stream_csim_equals_predict(name, backend, tmp_path):
    if backend == "catapult":
        needs("ac_types")
    design, x = _stream_design(name, backend=backend, output_dir=tmp_path / name)
    y = design.predict(x, raw=True)
    yc = design.csim(x, raw=True, verbose=False)
    assert np.array_equal(y, yc), f"{int((y != yc).sum())} mismatching values"
    assert np.unique(y).size > 4, "the design's output is (nearly) constant: the test would prove little"
    if name == "cnn2d":  # the same fxp ops as io_parallel: the emulator agrees too
        model, _ = _model(name)
        parallel = fxflow.compile(model, torch.from_numpy(x[:1]), CONFIGS[name])
        assert np.array_equal(parallel.predict(x, raw=True), y)
    firmware = tmp_path / name / "firmware"
    top = (firmware / "myproject.cpp").read_text()
    kernels = "".join(p.read_text() for p in sorted((firmware / "layers").glob("*.cpp")))
    assert "io_stream kernel (window)" in kernels and "line buffer" in kernels
    kinds = {"shapes": "(reorder)", "gathered": "(gather)"}
    assert "io_stream kernel " + kinds.get(name, "(token)") in kernels
    if backend == "vitis":
        assert "#pragma HLS DATAFLOW" in top and "hls::stream<fxflow_array<" in top
    else:
        assert "ac_channel<fxflow_array<" in top and "#pragma HLS" not in top + kernels


@needs_csim
def test_jet_mlp_stream_csim_equals_predict(tmp_path):
    from fxflow.examples import load

    ex = load("jet_tagger")
    x = ex.make_inputs(64)
    design = fxflow.compile(ex.make_model(), x[:1], config=ex.DEFAULT_CONFIG, io_type="io_stream",
                            output_dir=tmp_path / "jet")
    y = design.predict(x, raw=True)
    assert np.array_equal(y, design.csim(x, raw=True, verbose=False))
    assert np.unique(y).size > 20
    top = (tmp_path / "jet" / "firmware" / "myproject.cpp").read_text()
    # a rank-2 tensor is one token: four dense and three ReLU kernels, each one token in, one out
    assert top.count("#pragma HLS STREAM variable=") == 6


@pytest.fixture(scope="module")
def shapes_design():
    return _stream_design("shapes")[0]


def test_fifo_depths_come_from_df_size_fifos_and_reach_the_pragmas(shapes_design):
    from fxflow.lowering.hls.emit_cpp import render_cpp
    from fxflow.lowering.hls.lower import lower_graph

    design = shapes_design
    graph, chans = _channels(design)
    with design.ctx:
        assert all(ir.StringAttr(op.attributes["kind"]).value == "stream" for op, _ in chans)
        depths = [_depth(op) for op, _ in chans]
        tokens = [ir.IntegerAttr(op.attributes["tokens"]).value for op, _ in chans]
        # the reconverging fork (conv -> concat directly and through sub/mul) needs a deep FIFO
        assert max(depths) > 8 and min(depths) >= 1 and {24, 96, 60} <= set(tokens)  # pad, up, conv
        # re-sizing the emitted IR finds the same depths: they are df-size-fifos' (deterministic)
        fresh = ir.Module.parse(design.mlir("df"))
        res = size_fifos(next(o.operation for o in fresh.body.operations if o.operation.name == "df.graph"),
                         SizeFifosOptions())
        assert [r["depth"] for r in res["channels"]] == depths
        assert res["fifo_bits"] < res["fifo_bits_naive"]
        cpp = render_cpp(lower_graph(design.module))["firmware/myproject.cpp"]
    pragmas = [int(d) for d in re.findall(r"#pragma HLS STREAM variable=\w+ depth=(\d+)", cpp)]
    internal = [d for (op, reader), d in zip(chans, depths) if reader != "df.return"]
    assert pragmas == internal
    report = design.report()
    assert report["total"]["fifo_bits"] == sum(r["bits"] for r in report["channels"]) > 0


def test_a_deadlocking_depth_override_is_reported(shapes_design):
    design = shapes_design
    _, chans = _channels(design)
    with design.ctx:
        fresh = ir.Module.parse(design.mlir("df"))
        graph = next(o.operation for o in fresh.body.operations if o.operation.name == "df.graph")
        deep = max(range(len(chans)), key=lambda i: _depth(chans[i][0]))
        res = size_fifos(graph, SizeFifosOptions())
        name = res["channels"][deep]["channel"]
        assert sum(r["channel"] == name for r in res["channels"]) == 1
        with pytest.raises(FifoDeadlock, match=rf"deadlock at cycle \d+: kernel '\w+' cannot write to the full "
                                               rf"channel '{re.escape(name)}' \(depth 1\)"):
            size_fifos(graph, SizeFifosOptions(override=f"{name}=1"))


def test_cli_compiles_io_stream(tmp_path, capsys):
    from fxflow.cli import main

    model, shape = _model("cnn1d")
    path = tmp_path / "cnn1d.pt2"
    torch.export.save(torch.export.export(model, (torch.randn(1, *shape),)), path)
    assert main(["compile", str(path), "-o", str(tmp_path / "out"), "--io-type", "io_stream",
                 "--precision", "ap_fixed<12,5>"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"stream FIFOs: \d+, \d+ bits, \d+ fewer than a uniform depth", out)
    assert "#pragma HLS DATAFLOW" in (tmp_path / "out" / "firmware" / "myproject.cpp").read_text()


class _Fork(nn.Module):
    def forward(self, x):
        return torch.cat([torch.relu(x), torch.clamp(x, -1, 1)], dim=1)


def test_bad_input_is_a_clear_error():
    x = torch.randn(1, 2, 4)
    with pytest.raises(UnsupportedOpError, match="graph input .* is read by 2 layers; a stream has one reader"):
        fxflow.compile(_Fork(), x, io_type="io_stream")
    with pytest.raises(ConfigError, match="io_stream' is an HLS option"):
        fxflow.compile(_Fork(), x, io_type="io_stream", backend="aie")
    with pytest.raises(ConfigError, match="unknown io_type 'io_axi'"):
        fxflow.compile(_Fork(), x, io_type="io_axi")
