"""Every bundled example compiles, C-simulates bit-exactly, and stays close to its float model."""

from __future__ import annotations

import numpy as np
import pytest

import fxflow
from fxflow.examples import EXAMPLES, load

needs_csim = pytest.mark.needs("g++", "ap_types")


@needs_csim
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_compiles_and_csim_equals_predict(name, tmp_path):
    ex = load(name)
    model = ex.make_model()
    x = ex.make_inputs(64)
    assert x.shape[1:] == tuple(ex.INPUT_SHAPE)
    design = fxflow.compile(model, x[:1], ex.DEFAULT_CONFIG, output_dir=tmp_path / name, project_name=ex.NAME)
    y = design.predict(x, raw=True)
    assert np.array_equal(design.csim(x, raw=True, verbose=False), y)
    assert np.unique(y).size > 8
    import torch

    if isinstance(model, torch.nn.Module):  # ONNX examples are checked against their own reference
        with torch.no_grad():
            ref = model(torch.as_tensor(x, dtype=torch.float32)).numpy()
        assert np.abs(design.predict(x).reshape(ref.shape) - ref).max() < 0.05


def test_unknown_example_is_a_clear_error(capsys):
    from fxflow.cli import main

    assert main(["example", "resnet152", "--no-csim"]) == 1
    assert "unknown example 'resnet152' (available: jet_tagger" in capsys.readouterr().err


@needs_csim
@pytest.mark.parametrize("name", ["cnn2d", "cnn1d", "autoencoder"])
def test_bundled_cnns_stream_with_sized_fifos_bit_exact(name, tmp_path):
    """io_stream: hls::stream channels with depths from df-size-fifos, line-buffered convs; C-sim == predict."""
    ex = load(name)
    x = ex.make_inputs(24)
    design = fxflow.compile(ex.make_model(), x[:1], ex.DEFAULT_CONFIG, io_type="io_stream",
                            output_dir=tmp_path / name, project_name=ex.NAME)
    df = design.mlir("df")
    assert 'kind = "stream"' in df and "depth" in df
    top = (tmp_path / name / "firmware" / f"{ex.NAME}.cpp").read_text()
    assert "#pragma HLS DATAFLOW" in top and "hls::stream" in top
    assert np.array_equal(design.csim(x, raw=True, verbose=False), design.predict(x, raw=True))


def test_stream_estimates_trade_latency_for_area():
    """io_stream handles one position per step: far fewer DSPs than the fully parallel design, a latency and
    an interval of at least one step per position."""
    ex = load("cnn2d")
    totals = {io: fxflow.compile(ex.make_model(), ex.make_inputs(1), ex.DEFAULT_CONFIG, io_type=io).report()["total"]
              for io in ("io_parallel", "io_stream")}
    par, stream = totals["io_parallel"], totals["io_stream"]
    positions = 16 * 16
    assert stream["dsp"] * 20 < par["dsp"]
    assert stream["ii"] >= positions and stream["latency_cycles"] > positions > par["latency_cycles"]
    assert stream["fifo_bits"] > 0 and par["fifo_bits"] == 0
