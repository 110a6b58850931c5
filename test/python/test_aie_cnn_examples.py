"""The bundled CNN examples on the AI Engines (issue 21): cnn2d (conv / BN / ReLU / max pool, depthwise-separable
conv, global average pool, flatten + Linear, softmax) and cnn1d (Conv1d as height-1 maps, max pool, a dilated grouped
conv the front end writes as a [C, L, 1] map, average pool, flatten + Linear) compile with their own 16-bit configs
on every AIE device, simulate bit for bit equal to predict, pass the structural check, and their kernels the AIE API
syntax check; the project writer emits them."""

from __future__ import annotations

import numpy as np
import pytest

import fxflow
from fxflow.examples import cnn1d, cnn2d
from fxflow.lowering.aie.check import problems
from fxflow.lowering.aie.emit import emit_program
from fxflow.lowering.aie.kernels import check_syntax, render_kernels

from toolchains import needs

# example -> the kernel roles its program must hold (every layer on the AIE, no host fallback)
ROLES = {"cnn2d": ["conv", "pool", "dwconv", "conv", "pool", "avgpool", "conv", "softmax"],
         "cnn1d": ["conv", "pool", "conv", "avgpool", "conv"]}


@pytest.mark.parametrize("device", ["xcve2802", "npu2", "npu1"])
@pytest.mark.parametrize("example", [cnn2d, cnn1d], ids=lambda e: e.NAME)
def test_cnn_example_runs_bit_exact_on_the_aie(example, device, tmp_path):
    x = example.make_inputs(12)
    d = fxflow.compile(example.make_model(), x[:1], backend="aie", config=example.DEFAULT_CONFIG,
                       aie={"device": device})
    prog = d.aie_program
    assert [k.role for k in prog.kernels] == ROLES[example.NAME]
    assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    assert np.array_equal(d.simulate(x), d.predict(x))
    assert problems(prog) == []
    assert "aie.device" in emit_program(prog)
    report = d.report()
    assert [r["layer"] for r in report["layers"]][-1] == ("softmax" if example is cnn2d else "fc")
    assert all(r["interval"] > 0 for r in report["layers"])
    d.write(tmp_path / "p")
    needs("g++")
    assert check_syntax(render_kernels(prog), prog.device) == {}
