"""The transformer family on the AIE backend: Linear per token on [batch, tokens, features], LayerNorm and the
table softmax (stable / latency) as row kernels after a dense layer.  The simulated placed program equals predict
bit for bit over shapes and formats (int8 8x8, int16 x int8 16x8, int16 16x16), the kernels pass the syntax check,
the cycle model counts the row kernels, and what the AIE kernels cannot host is an error naming the layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from torch import nn

import fxflow
from fxflow.errors import FxflowError
from fxflow.lowering.aie.kernels import check_syntax, render_kernels
from toolchains import needs

# model precision, weight precision (None: the model's) -> the dense mode it gives
FORMATS = {"8x8": ("ap_fixed<8,3>", None), "16x8": ("ap_fixed<16,6>", "ap_fixed<8,2>"),
           "16x16": ("ap_fixed<16,6>", None)}


class TokenNet(nn.Module):
    """Linear (+ReLU) -> Linear -> LayerNorm -> Linear -> softmax over the features, per token."""

    def __init__(self, f_in: int, hidden: int, width: int, classes: int, norm: bool = True, softmax: bool = True):
        super().__init__()
        self.fc1, self.relu, self.fc2 = nn.Linear(f_in, hidden), nn.ReLU(), nn.Linear(hidden, width)
        self.norm = nn.LayerNorm(width) if norm else nn.Identity()
        self.fc3 = nn.Linear(width, classes)
        self.sm = nn.Softmax(dim=-1) if softmax else nn.Identity()
        with torch.no_grad():
            if norm:
                self.norm.weight.uniform_(0.5, 1.5)
                self.norm.bias.uniform_(-0.2, 0.2)

    def forward(self, x):
        return self.sm(self.fc3(self.norm(self.fc2(self.relu(self.fc1(x))))))


def _config(mode: str, softmax_impl: str = "stable") -> dict:
    precision, weight = FORMATS[mode]
    model = {"precision": precision, **({"weight": weight} if weight else {})}
    return {"model": model, "layers": {"sm": {"softmax": {"implementation": softmax_impl}}}}


def _compile(net, x, cfg, **aie):
    return fxflow.compile(net, x[:1], config=cfg, backend="aie", aie=aie)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=(Phase.explicit, Phase.reuse, Phase.generate))  # each example compiles a model: no shrinking
@given(seed=st.integers(0, 2**16), tokens=st.sampled_from([None, 3, 8]), f_in=st.integers(2, 12),
       width=st.integers(2, 20), mode=st.sampled_from(sorted(FORMATS)), impl=st.sampled_from(["stable", "latency"]),
       batch=st.sampled_from([1, 4]))
def test_token_chains_simulate_equals_predict(seed, tokens, f_in, width, mode, impl, batch):
    torch.manual_seed(seed)
    net = TokenNet(f_in, 16, width, 5).eval()
    shape = (f_in,) if tokens is None else (tokens, f_in)
    x = np.random.default_rng(seed).normal(0, 1.5, (7, *shape))
    d = _compile(net, x, _config(mode, impl), batch=batch)
    got = d.simulate(x, raw=True)
    assert got.shape == d.predict(x, raw=True).shape == (7, *shape[:-1], 5)
    assert np.array_equal(got, d.predict(x, raw=True))
    prog = d.aie_program
    assert {k.role for k in prog.kernels} >= {"layernorm", "softmax"}
    assert prog.tokens == (tokens or 1)  # rows stream through in blocks of prog.batch, across samples
    dense_modes = {layer.mode for layer in prog.layers} - {"layernorm", "softmax"}
    assert dense_modes == {mode}, (dense_modes, mode)


@pytest.fixture(scope="module")
def token_designs():
    torch.manual_seed(0)
    x = np.random.default_rng(0).normal(0, 1.5, (6, 4, 6))
    out = {}
    for device in ("xcve2802", "npu1", "npu2"):
        for mode in FORMATS:
            d = _compile(TokenNet(6, 16, 8, 5).eval(), x, _config(mode), device=device)
            assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True)), (device, mode)
            out[device, mode] = d
    return out


def test_row_kernels_pass_the_syntax_check_on_every_device(token_designs):
    needs("g++")
    for (device, mode), d in token_designs.items():
        files = render_kernels(d.aie_program)
        assert "kernels/fxflow_rows.h" in files
        assert check_syntax(files, d.aie_program.device) == {}, (device, mode)


def test_emitted_program_passes_the_tables_to_the_row_cores(token_designs):
    d = token_designs["npu2", "8x8"]
    text = d.aie_program
    from fxflow.lowering.aie.emit import emit_program

    mlir = emit_program(text)
    assert 'sym_name = "norm_g"' in mlir and 'sym_name = "sm_exp"' in mlir and 'sym_name = "sm_inv"' in mlir
    assert "func.call @norm_layernorm(%x, %norm_g, %norm_b, %y)" in mlir
    assert "func.call @sm_softmax(%x, %sm_exp, %sm_inv, %y)" in mlir


def test_cycle_report_counts_the_row_kernels_and_tokens(token_designs):
    rep = token_designs["xcve2802", "8x8"].report()
    rows = {r["layer"]: r for r in rep["aie"]["layers"]} if "aie" in rep else {r["layer"]: r for r in rep["layers"]}
    assert rows["norm"]["mode"] == "layernorm" and rows["norm"]["kernel_cycles"] > 0
    assert rows["sm"]["mode"] == "softmax" and rows["sm"]["kernel_cycles"] > 0


def test_what_the_row_kernels_cannot_host_names_the_layer():
    x = np.random.default_rng(0).normal(0, 1, (3, 4, 6))
    with pytest.raises(FxflowError, match=r"layer 'sm': softmax implementation 'argmax' has no AIE kernel"):
        _compile(TokenNet(6, 16, 8, 5).eval(), x, _config("8x8", "argmax"))

    class NormFirst(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm, self.fc = nn.LayerNorm(6), nn.Linear(6, 4)

        def forward(self, v):
            return self.fc(self.norm(v))

    with pytest.raises(FxflowError, match=r"layer 'norm' \(fxp\.layernorm\) at .*test_aie_transformer\.py:\d+: the AIE layernorm kernel must read a dense layer's output"):
        _compile(NormFirst().eval(), x, {"model": {"precision": "ap_fixed<8,3>"}})
    cfg = _config("8x8")
    cfg["layers"]["norm"] = {"result": "ap_fixed<24,8>"}
    with pytest.raises(FxflowError, match=r"layer 'norm': result format .* needs more than 16-bit storage"):
        _compile(TokenNet(6, 16, 8, 5).eval(), x, cfg)


def test_versal_planner_costs_row_kernels_as_the_backend_reports_them():
    """Dense -> LayerNorm -> dense -> table softmax all on the AI Engines of a Versal design: the planner's tiles,
    interval and latency are the AIE backend's cycle report of the same layers; the joint simulation == predict."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 20), nn.LayerNorm(20), nn.Linear(20, 6),
                          nn.Softmax(dim=1)).eval()
    cfg = {"model": {"precision": "ap_fixed<8,3>"}}
    d = fxflow.compile(model, torch.zeros(1, 8), config=cfg, backend="versal",
                       versal={"partition": {str(i): "aie" for i in range(len(model))}, "target_rate_mhz": 1})
    plan = d.report()["plan"]["aie"]
    alone = fxflow.compile(model, torch.zeros(1, 8), config=cfg, backend="aie", aie={"objective": "throughput"})
    rep = alone.report()
    assert (plan["tiles"], plan["interval_cycles"], plan["latency_cycles"]) == \
        (rep["tiles"], rep["interval_cycles"], rep["latency_cycles"])
    assert {"layernorm", "softmax"} <= {k.role for k in d.aie_program.kernels}
    x = np.random.default_rng(3).normal(0, 2, (30, 8))
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))


# The emitted row kernels (vector passes included) run natively against a host model of their AIE API calls in
# test_aie_rows.py::test_row_kernel_cpp_runs_bit_exact_on_the_host.


def test_row_kernel_requant_is_ap_fixed_assignment_in_every_mode(tmp_path):
    """The row kernels' `requant<Fmt, S>` (compiled and run natively) equals fxflow.fixed's requantize for every
    rounding and overflow mode, signedness, up- and down-shifts, ties and both signs included."""
    import itertools
    import subprocess

    from fxflow.fixed import FixedFormat
    from fxflow.fixed.quantize import requantize
    from fxflow.lowering.aie.kernels import API_CHECK_DIR
    from fxflow.lowering.aie.kernels.transformer import fmt_type, header
    from fxflow.toolchain import find_cxx
    from models import OVERFLOW, ROUNDING

    needs("g++")
    cases = [(FixedFormat(k, w - k - 2, 2, r, o), s) for r, o, (k, w), s in
             itertools.product(ROUNDING, OVERFLOW, [(1, 6), (0, 5), (1, 12)], [-2, 0, 1, 3])]
    values = np.concatenate([np.arange(-300, 301), [-(1 << 40) - 5, (1 << 40) + 3]]).astype(np.int64)
    calls = "\n".join(f"  for (long long v : vals) std::printf(\"%lld\\n\", (long long)requant<{fmt_type(f)}, {s}>(v));"
                      for f, s in cases)
    (tmp_path / "fxflow_rows.h").write_text(header())
    (tmp_path / "main.cc").write_text(
        '#include "fxflow_rows.h"\n#include <cstdio>\nusing namespace fxflow;\n'
        f"static const long long vals[] = {{{', '.join(map(str, values))}}};\nint main() {{\n{calls}\n}}\n")
    subprocess.run([find_cxx(), "-std=c++20", "-O1", "-D__AIE_ARCH__=20", "-I", str(API_CHECK_DIR), "-I",
                    str(tmp_path), str(tmp_path / "main.cc"), "-o", str(tmp_path / "run")], check=True)
    got = np.array(subprocess.run([str(tmp_path / "run")], capture_output=True, text=True, check=True).stdout.split(),
                   dtype=np.int64).reshape(len(cases), -1)
    for (f, s), row in zip(cases, got):
        assert np.array_equal(row, np.asarray(requantize(values, f.f + s, f), dtype=np.int64)), (str(f), s)
