"""The bundled transformer example (python/fxflow/examples/transformer.py) on the AIE backend at 16 bits: embedding,
two encoder blocks (LayerNorm, attention, residual adds, MLP with GELU), LayerNorm, the mean over the particles and
the classifier's softmax as one DAG of single-tile kernels.  The simulated placed program equals predict bit for
bit, every kernel passes the syntax check, the mlir-aie text the device rules; npu1's 16 tiles are too few (an
error naming the limit).  The mean kernel (`fxp.pool` avg over a whole last dim) keeps the op's own rounding of
the running sum and its division toward zero, also with a narrow saturating accumulator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import fxflow
from fxflow.errors import FxflowError
from fxflow.examples import load
from fxflow.lowering.aie.kernels import check_syntax, render_kernels
from toolchains import needs

CONFIG = {"model": {"precision": "ap_fixed<16,6>", "reuse_factor": 1, "strategy": "latency"}}


@pytest.fixture(scope="module")
def example():
    ex = load("transformer")
    return ex, ex.make_model(), ex.make_inputs(50)


@pytest.fixture(scope="module")
def designs(example):
    ex, model, x = example
    return {dev: fxflow.compile(model, x[:1], config=CONFIG, backend="aie", aie={"device": dev})
            for dev in ("xcve2802", "npu2")}


@pytest.mark.parametrize("device", ["xcve2802", "npu2"])
def test_transformer_example_simulates_as_predict(example, designs, device):
    _, _, x = example
    d = designs[device]
    roles = [k.role for k in d.aie_program.kernels]
    assert roles.count("lut") == 2 and roles.count("mean") == 1 and roles.count("matmul") == 4, roles
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))


def test_transformer_example_kernels_and_text(designs):
    from fxflow.lowering.aie.emit import emit_program
    from test_aie_devices import violations

    for d in designs.values():
        assert violations(emit_program(d.aie_program), d.aie_program.device) == []
    needs("g++")
    d = designs["npu2"]  # the same kernel sources on both devices but for the device's mmul shapes
    files = render_kernels(d.aie_program)
    assert "requant<Acc," in next(v for k, v in files.items() if k.endswith("mean.cc"))
    assert check_syntax(files, d.aie_program.device) == {}


def test_transformer_example_beyond_npu1_names_the_limit(example):
    _, model, x = example
    with pytest.raises(FxflowError, match=r"the attention design needs \d+ compute tiles \(one per kernel\); npu1 "
                                          r"offers 16"):
        fxflow.compile(model, x[:1], config=CONFIG, backend="aie", aie={"device": "npu1"})


class TokenMean(nn.Module):
    """Linear per token, then the mean over the tokens and a classifier."""

    def __init__(self):
        super().__init__()
        self.fc, self.head = nn.Linear(4, 8), nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.fc(x).mean(dim=1))


@pytest.mark.parametrize("accum", [None, "ap_fixed<10,5,AP_RND,AP_SAT>", "ap_fixed<9,6,AP_TRN,AP_WRAP>"])
def test_mean_over_the_tokens_keeps_the_pool_rounding(accum):
    """The running sum assigned to the accumulator after each element (rounded, saturated or wrapped) and the
    division toward zero: simulate == predict, also when that accumulator is narrower than the sum."""
    torch.manual_seed(0)
    x = np.random.default_rng(0).normal(0, 2, (40, 6, 4))
    cfg = {"model": {"precision": "ap_fixed<16,6>"}}
    if accum:
        cfg["layers"] = {"mean": {"accum": accum}}
    d = fxflow.compile(TokenMean().eval(), x[:1], config=cfg, backend="aie")
    assert "mean" in [k.role for k in d.aie_program.kernels]
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))


_MAIN = r"""
#include <cstdio>
#include <cstdint>
#include "fxflow_rows.h"
using namespace fxflow;
extern "C" void @NAME@(const @TX@ *, @TY@ *);
static @TX@ x[@SIZE_IN@];
static @TY@ y[@SIZE_OUT@];
int main() {
  long long v;
  for (int i = 0; i < @SIZE_IN@; ++i) { if (std::scanf("%lld", &v) != 1) return 2; x[i] = @TX@(v); }
  @NAME@(x, y);
  for (int i = 0; i < @SIZE_OUT@; ++i) std::printf("%lld\n", (long long)y[i]);
}
"""


def test_mean_kernel_cpp_runs_as_its_executor_on_the_host(tmp_path):
    """The emitted mean kernel, compiled natively (the AIE API host model of test_aie_rows; the attention header
    without the dense template it does not use), equals the simulation executor on random stored inputs over the
    whole input range, with exact, saturating and wrapping accumulators."""
    import subprocess

    from fxflow.lowering.aie.arith import CTYPE
    from fxflow.lowering.aie.attention import run_mean
    from fxflow.lowering.aie.kernels import HEADER as DENSE_HEADER
    from fxflow.toolchain import find_cxx
    from test_aie_rows import HOST_MODEL

    needs("g++")
    rng = np.random.default_rng(7)
    for j, accum in enumerate([None, "ap_fixed<10,5,AP_RND,AP_SAT>", "ap_fixed<9,6,AP_TRN,AP_WRAP>"]):
        torch.manual_seed(0)
        cfg = {"model": {"precision": "ap_fixed<16,6>"}, **({"layers": {"mean": {"accum": accum}}} if accum else {})}
        d = fxflow.compile(TokenMean().eval(), np.zeros((1, 6, 4)), config=cfg, backend="aie")
        prog = d.aie_program
        k = next(k for k in prog.kernels if k.role == "mean")
        core = next(c for c in prog.cores if c.fn == k.name)
        root = tmp_path / str(j)
        for rel, text in render_kernels(prog).items():
            if rel.endswith((f"{k.obj[:-2]}.cc", ".h")):
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text(text.replace(f'#include "{DENSE_HEADER}"\n', ""))
        tx, ty = CTYPE[prog.fifo(core.x_fifo).store], CTYPE[k.y_store]
        (root / "main.cc").write_text(_MAIN.replace("@NAME@", k.name).replace("@TX@", tx).replace("@TY@", ty)
                                      .replace("@SIZE_IN@", str(k.k)).replace("@SIZE_OUT@", str(k.n)))
        exe = root / "run"
        subprocess.run([find_cxx(), "-std=c++20", "-O1", "-I", str(HOST_MODEL), "-I", str(root / "kernels"),
                        str(root / "kernels" / f"{k.obj[:-2]}.cc"), str(root / "main.cc"), "-o", str(exe)],
                       check=True, capture_output=True, text=True)
        x_lo, x_hi = (-(1 << 15), 1 << 15) if tx == "int16" else (-(1 << 7), 1 << 7)
        for _ in range(3):
            x = rng.integers(x_lo, x_hi, size=k.k)
            out = subprocess.run([str(exe)], input="\n".join(map(str, x)), capture_output=True, text=True)
            assert out.returncode == 0, out.stderr
            got = np.array(out.stdout.split(), dtype=np.int64)
            np.testing.assert_array_equal(got, run_mean(prog, core, k, [x]), err_msg=str(accum))
