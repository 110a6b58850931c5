"""Row kernels of the AIE backend (lowering/aie/rows.py, kernels/rows_vec.py): table activations (`fxp.lut`: GELU,
sigmoid, tanh) after dense layers on [batch, features] and [batch, tokens, features], and the LayerNorm / table
softmax kernels with their vector passes.

* simulate == predict bit for bit over shapes, activations and the 8x8 / 16x8 / 16x16 modes (hypothesis);
* the emitted C++ of every row kernel, compiled natively against a host model of the AIE API calls it makes
  (aie_api_host/, aligned loads and exact lanes enforced), returns rows.run_row's result (= fxflow.fixed) on random
  stored inputs, with the vector passes on (16 and 8 lanes) and off;
* every kernel passes the syntax check on every device; the cycle model counts the lookups and the vector passes;
* what the row kernels cannot host is an error naming the layer."""

from __future__ import annotations

import subprocess
from pathlib import Path

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

HOST_MODEL = Path(__file__).parent / "aie_api_host"
FORMATS = {"8x8": ("ap_fixed<8,3>", None), "16x8": ("ap_fixed<16,6>", "ap_fixed<8,2>"),
           "16x16": ("ap_fixed<16,6>", None)}
ACTIVATIONS = {"gelu": nn.GELU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


class ActNet(nn.Module):
    """Linear -> activation -> Linear -> LayerNorm -> Linear -> softmax, per token."""

    def __init__(self, f_in: int, hidden: int, width: int, act: str = "gelu"):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(f_in, hidden), ACTIVATIONS[act](), nn.Linear(hidden, width)
        self.norm, self.fc3, self.sm = nn.LayerNorm(width), nn.Linear(width, 5), nn.Softmax(dim=-1)
        with torch.no_grad():
            self.norm.weight.uniform_(0.5, 1.5)
            self.norm.bias.uniform_(-0.2, 0.2)

    def forward(self, x):
        return self.sm(self.fc3(self.norm(self.fc2(self.act(self.fc1(x))))))


def _config(mode: str, **layers) -> dict:
    precision, weight = FORMATS[mode]
    return {"model": {"precision": precision, **({"weight": weight} if weight else {})}, "layers": layers}


def _compile(net, x, cfg, **aie):
    return fxflow.compile(net, x[:1], config=cfg, backend="aie", aie=aie)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=(Phase.explicit, Phase.reuse, Phase.generate))  # each example compiles a model: no shrinking
@given(seed=st.integers(0, 2**16), tokens=st.sampled_from([None, 3, 8]), f_in=st.integers(2, 12),
       hidden=st.integers(2, 40), width=st.integers(2, 20), mode=st.sampled_from(sorted(FORMATS)),
       act=st.sampled_from(sorted(ACTIVATIONS)), batch=st.sampled_from([1, 4]))
def test_activation_chains_simulate_equals_predict(seed, tokens, f_in, hidden, width, mode, act, batch):
    torch.manual_seed(seed)
    net = ActNet(f_in, hidden, width, act).eval()
    shape = (f_in,) if tokens is None else (tokens, f_in)
    x = np.random.default_rng(seed).normal(0, 2.0, (7, *shape))
    d = _compile(net, x, _config(mode), batch=batch)
    got = d.simulate(x, raw=True)
    assert got.shape == (7, *shape[:-1], 5)
    assert np.array_equal(got, d.predict(x, raw=True))
    prog = d.aie_program
    assert {k.role for k in prog.kernels} >= {"lut", "layernorm", "softmax"}
    dense_modes = {layer.mode for layer in prog.layers} - {"lut", "layernorm", "softmax"}
    assert dense_modes == {mode}, (dense_modes, mode)


def test_activation_in_a_bare_mlp_and_as_the_last_layer():
    """[batch, features] rows; the table activation ends the program (its output goes to the host)."""
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(10, 24), nn.Tanh(), nn.Linear(24, 12), nn.Sigmoid()).eval()
    x = np.random.default_rng(2).normal(0, 2, (13, 10))
    d = _compile(net, x, _config("8x8"))
    assert [k.role for k in d.aie_program.kernels if k.row is not None] == ["lut", "lut"]
    assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))


@pytest.fixture(scope="module")
def row_designs():
    """Designs whose row kernels cover 16- and 8-lane vector passes and scalar-only passes."""
    torch.manual_seed(0)
    x = np.random.default_rng(0).normal(0, 1.5, (6, 4, 6))
    out = {}
    for device in ("xcve2802", "npu1", "npu2"):
        for mode in FORMATS:
            d = _compile(ActNet(6, 16, 8).eval(), x, _config(mode), device=device)
            assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True)), (device, mode)
            out[device, mode] = d
    # a LayerNorm whose centred values fit int16 lanes (VEC_SQ), and a latency softmax (no row maximum)
    narrow = _config("8x8", norm={"mean": "ap_fixed<10,3>"}, sm={"softmax": {"implementation": "latency"}})
    d = _compile(ActNet(6, 16, 8).eval(), x, narrow)
    assert np.array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))
    out["xcve2802", "narrow"] = d
    return out


def test_row_kernels_pass_the_syntax_check_on_every_device(row_designs):
    needs("g++")
    for key, d in row_designs.items():
        files = render_kernels(d.aie_program)
        assert {"kernels/fxflow_rows.h", "kernels/fxflow_rows_vec.h"} <= set(files)
        assert check_syntax(files, d.aie_program.device) == {}, key


_HARNESS = r"""
#include <aie_api/aie.hpp>
#include <cstdio>
#include <cstdlib>
@DECL@
template <typename T> T *buffer(size_t n) {  // aligned for the widest (512-bit) vector the kernels load
  return static_cast<T *>(std::aligned_alloc(64, (n * sizeof(T) + 63) / 64 * 64));
}
int main() {
  auto *x = buffer<@TX@>(@SIZE@);
  auto *y = buffer<@TY@>(@SIZE@);
  long long v;
  for (int i = 0; i < @SIZE@; ++i) { if (std::scanf("%lld", &v) != 1) return 2; x[i] = @TX@(v); }
  @TABLES@
  @CALL@;
  for (int i = 0; i < @SIZE@; ++i) std::printf("%lld\n", (long long)y[i]);
}
"""


def _run_natively(k, files, root: Path, rng, rounds: int = 3) -> None:
    """Compile kernel k's source with a harness against the host model and compare with rows.run_row."""
    from fxflow.lowering.aie.arith import CTYPE
    from fxflow.lowering.aie.rows import row_tables, run_row
    from fxflow.toolchain import find_cxx

    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    tables = [t for _, t in row_tables(k.role, k.row.spec)]
    size = k.m * k.k
    tx, ty = CTYPE[k.x_store], CTYPE[k.y_store]
    names = [f"t{i}" for i in range(len(tables))]
    decl = f'extern "C" void {k.name}(const {tx} *, {"const int32 *, " * len(tables)}{ty} *);'
    read = " ".join(f"auto *{n} = buffer<int32>({len(t)}); for (int i = 0; i < {len(t)}; ++i) "
                    f"{{ if (std::scanf(\"%lld\", &v) != 1) return 2; {n}[i] = int32(v); }}"
                    for n, t in zip(names, tables))
    main = (_HARNESS.replace("@DECL@", decl).replace("@TX@", tx).replace("@TY@", ty).replace("@SIZE@", str(size))
            .replace("@TABLES@", read).replace("@CALL@", f"{k.name}(x, {', '.join(names)}, y)"))
    (root / "main.cc").write_text(main)
    exe = root / "run"
    subprocess.run([find_cxx(), "-std=c++20", "-O1", "-I", str(HOST_MODEL), "-I", str(root / "kernels"),
                    str(root / "kernels" / f"{k.obj[:-2]}.cc"), str(root / "main.cc"), "-o", str(exe)], check=True,
                   capture_output=True, text=True)
    fmt = k.row.spec.x
    for _ in range(rounds):
        rows = rng.integers(fmt.min_int, fmt.max_int + 1, size=(k.m, k.row.slices * k.row.slice_len))
        rows[:, k.row.n:] = rng.integers(fmt.min_int, fmt.max_int + 1, size=rows[:, k.row.n:].shape)  # padding junk
        flat = rows.reshape(k.m, k.row.slices, k.row.slice_len).transpose(1, 0, 2).ravel()
        stdin = "\n".join(map(str, [*flat, *(v for t in tables for v in t)]))
        out = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True)
        assert out.returncode == 0, (k.name, out.stderr)
        got = np.array(out.stdout.split(), dtype=np.int64)
        assert np.array_equal(got, run_row(k.role, k.row, flat, k.m)), k.name


def test_row_kernel_cpp_runs_bit_exact_on_the_host(row_designs, tmp_path):
    """Every LayerNorm, table softmax and table activation kernel (xcve2802 designs), compiled natively with the
    host model of its AIE API calls, equals rows.run_row (fxflow.fixed) on random stored inputs whose padding
    lanes hold junk; the vector passes on 16 and 8 lanes and the scalar passes all ran."""
    from fxflow.lowering.aie.kernels.rows_vec import vector_passes

    needs("g++")
    rng = np.random.default_rng(5)
    ran = set()
    for (device, mode), d in sorted(row_designs.items()):
        if device != "xcve2802":
            continue
        prog = d.aie_program
        files = render_kernels(prog)
        for k in (k for k in prog.kernels if k.role in ("layernorm", "softmax", "lut")):
            _run_natively(k, files, tmp_path / f"{mode}_{k.name}", rng)
            vec = vector_passes(k.role, k.row.spec, k.row.n, k.row.slice_len)
            ran |= {(k.role, name, vec["V"]) for name, on in vec.items() if name != "V" and on}
            ran.add((k.role, "run", mode))
    assert {(r, "run", m) for r in ("layernorm", "softmax", "lut") for m in FORMATS} <= ran
    want = {("layernorm", "VEC_SUM", 16), ("layernorm", "VEC_SUM", 8), ("layernorm", "VEC_SQ", 16),
            ("layernorm", "VEC_MOM", 16),
            ("softmax", "VEC_MAX", 16), ("softmax", "VEC_MAX", 8), ("softmax", "VEC_SUM", 16),
            ("softmax", "VEC_SUM", 8)}
    assert want <= ran, want - ran


def test_host_model_rejects_what_the_hardware_would(tmp_path):
    """The host model is no rubber stamp: an unaligned vector load and an SRS that would saturate stop the run."""
    from fxflow.toolchain import find_cxx

    needs("g++")
    cases = {"unaligned": "alignas(64) int16 b[32] = {}; auto v = aie::load_v<16>(b + 1); (void)v;",
             "saturate": "aie::accum<acc32, 8> a(aie::broadcast<int32, 8>(70000)); auto v = a.to_vector<int16>(0); "
                         "(void)v;"}
    for name, body in cases.items():
        src = tmp_path / f"{name}.cc"
        src.write_text(f"#include <aie_api/aie.hpp>\nint main() {{ {body} return 0; }}\n")
        subprocess.run([find_cxx(), "-std=c++20", "-I", str(HOST_MODEL), str(src), "-o", str(tmp_path / name)],
                       check=True)
        r = subprocess.run([str(tmp_path / name)], capture_output=True, text=True)
        assert r.returncode != 0 and "aie host model" in r.stderr, name


def test_cycle_model_counts_lookups_and_vector_passes(row_designs):
    from fxflow.lowering.aie import cost

    d = row_designs["xcve2802", "8x8"]
    rows = {r["layer"]: r for r in d.report()["layers"]}
    assert rows["act"]["mode"] == "lut" and rows["act"]["kernel_cycles"] > 0
    prog = d.aie_program
    norm = next(k for k in prog.kernels if k.role == "layernorm")
    m, n = prog.batch, norm.row.n
    vec = cost.row_cycles("layernorm", m, norm.row.spec, n, norm.k, norm.row.slice_len)
    scalar = cost.layernorm_cycles(m, n, norm.row.spec.formats.inv_std.width)
    assert rows["norm"]["kernel_cycles"] == vec < scalar


def test_what_the_row_kernels_cannot_host_names_the_layer():
    x = np.random.default_rng(0).normal(0, 1, (3, 4, 6))
    cfg = _config("8x8", act={"result": "ap_fixed<24,8>"})
    with pytest.raises(FxflowError, match=r"layer 'act': result format .* needs more than 16-bit storage"):
        _compile(ActNet(6, 16, 8).eval(), x, cfg)

    class ActFirst(nn.Module):
        def __init__(self):
            super().__init__()
            self.act, self.fc = nn.Sigmoid(), nn.Linear(6, 4)

        def forward(self, v):
            return self.fc(self.act(v))

    with pytest.raises(FxflowError, match=r"layer 'act' \(fxp\.lut\) at .*test_aie_rows\.py:\d+: the AIE lut kernel must read a dense layer's output"):
        _compile(ActFirst().eval(), x, _config("8x8"))


def test_emitted_text_of_row_designs_respects_every_device(row_designs):
    """The per-device structural rules of test_aie_devices on the designs with table activation, LayerNorm and
    softmax row cores; each row core is declared with its resident tables."""
    from fxflow.lowering.aie.device import get_device
    from fxflow.lowering.aie.emit import emit_program
    from test_aie_devices import violations

    for (device, mode), d in row_designs.items():
        text = emit_program(d.aie_program)
        assert violations(text, get_device(device)) == [], (device, mode)
        assert 'sym_name = "act_tab"' in text and "func.call @act_lut(%x, %act_tab, %y)" in text, (device, mode)


def test_versal_planner_places_the_table_activation_on_the_aie():
    """dense -> GELU -> dense -> LayerNorm on the AI Engines of a Versal design: the planner costs the lookup kernel
    as the AIE backend reports it; the joint simulation == predict."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(8, 32), nn.GELU(), nn.Linear(32, 16), nn.LayerNorm(16)).eval()
    cfg = {"model": {"precision": "ap_fixed<8,3>"}}
    d = fxflow.compile(model, torch.zeros(1, 8), config=cfg, backend="versal",
                       versal={"partition": {str(i): "aie" for i in range(len(model))}, "target_rate_mhz": 1})
    assert {"lut", "layernorm"} <= {k.role for k in d.aie_program.kernels}
    plan = d.report()["plan"]["aie"]
    alone = fxflow.compile(model, torch.zeros(1, 8), config=cfg, backend="aie", aie={"objective": "throughput"})
    rep = alone.report()
    assert (plan["tiles"], plan["interval_cycles"], plan["latency_cycles"]) == \
        (rep["tiles"], rep["interval_cycles"], rep["latency_cycles"])
    x = np.random.default_rng(3).normal(0, 2, (30, 8))
    np.testing.assert_array_equal(d.simulate(x, raw=True), d.predict(x, raw=True))


def _kernel(role: str, spec, n: int, slice_len: int, m: int, x_store: str, y_store: str):
    """A row KernelFn as build.py makes it (name, layout), for a spec built directly from formats."""
    from fxflow.lowering.aie.program import KernelFn, RowTile

    slices = -(-n // slice_len)
    size = slices * slice_len
    return KernelFn(f"r_{role}", "r", role, role, m, size, size, x_store, "", y_store, 32, [], "r.o",
                    RowTile(spec, n, slices, slice_len))


def _fmt(signed, width, f, rnd="TRN", ovf="WRAP"):
    from fxflow.fixed import FixedFormat

    return FixedFormat(signed, width - f - signed, f, rnd, ovf)


@st.composite
def _row_cases(draw):
    """A LayerNorm, table softmax or table activation spec over random formats, row lengths and slicings."""
    from hypothesis import assume

    from fxflow.errors import UnsupportedOpError
    from fxflow.fixed.layernorm import NormFormats
    from fxflow.fixed.softmax import SoftmaxFormats, exp_table, inv_table
    from fxflow.fixed.table import table_index
    from fxflow.lowering.aie.rows import layernorm_spec, lut_spec, table_softmax_spec
    from models import OVERFLOW, ROUNDING

    role = draw(st.sampled_from(["layernorm", "softmax", "lut"]))
    wx = draw(st.sampled_from([6, 8, 12, 16]))
    x = _fmt(draw(st.sampled_from([0, 1])), wx, draw(st.integers(1, wx - 1)))
    out = _fmt(1, draw(st.sampled_from([8, 16])), draw(st.integers(2, 7)), draw(st.sampled_from(ROUNDING)),
               draw(st.sampled_from(OVERFLOW)))
    n = draw(st.integers(1, 40))
    slice_len = draw(st.sampled_from([8, 16, 32]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if role == "layernorm":
        fa = x.f + draw(st.sampled_from([-1, 0, 0, 1, 3]))
        accum = _fmt(1, draw(st.integers(max(fa + 2, wx - 2), fa + 14)), fa, "TRN",
                     draw(st.sampled_from(["WRAP", "SAT"])))
        fm_ = x.f + draw(st.integers(0, 6))
        mean = _fmt(1, fm_ + x.i + 2, fm_)
        var, inv = _fmt(0, 20, 8), _fmt(0, 14, 8)
        norm = _fmt(1, 14, 10, "RND", "SAT")
        g_fmt, b_fmt = _fmt(1, 8, 6), _fmt(1, 8, 6)
        gamma = rng.integers(g_fmt.min_int, g_fmt.max_int + 1, n)
        beta = rng.integers(b_fmt.min_int, b_fmt.max_int + 1, n)
        rms = draw(st.booleans())
        try:
            spec = layernorm_spec("r", n, x, gamma, g_fmt, beta, b_fmt, NormFormats(accum, mean, var, inv, norm),
                                  1e-3, rms, out)
        except UnsupportedOpError:  # formats the kernel refuses (named in the error): not this test's subject
            assume(False)
    elif role == "softmax":
        impl = draw(st.sampled_from(["stable", "latency"]))
        exp = _fmt(0, 12, 10, "RND", "SAT")
        acc = _fmt(0, draw(st.integers(12, 20)), 10, "RND", draw(st.sampled_from(["SAT", "WRAP"])))
        inv_in, inv = _fmt(0, 10, 4, "RND", "SAT"), _fmt(0, 12, 10, "RND", "SAT")
        norm = _fmt(0, x.width - x.k, x.f) if impl == "stable" else None
        fm = SoftmaxFormats(exp, inv, inv_in, acc, norm, 256, 256)
        index = norm if impl == "stable" else x
        spec = table_softmax_spec("r", x, out, impl, fm, exp_table(index, min(256, 1 << index.width), exp,
                                                                   impl == "stable"), inv_table(inv_in, 256, inv))
    else:
        size = draw(st.sampled_from([16, 64, 256]))
        index = table_index(x, min(size, 1 << x.width))
        ident = draw(st.sampled_from([None, x.max_int // 2]))
        index = type(index)(index.shift, index.offset, index.size, index.first, ident, draw(st.booleans()))
        spec = lut_spec("r", x, out, index, rng.integers(out.min_int, out.max_int + 1, index.size))
    store = {8: "i8", 16: "i16"}
    x_store = ("i" if x.signed else "u") + str(8 if x.width <= 8 else 16)
    return _kernel(role, spec, n, slice_len, draw(st.sampled_from([1, 2, 3])), x_store, store[out.width])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=(Phase.explicit, Phase.reuse, Phase.generate))  # each example compiles C++: no shrinking
@given(k=_row_cases(), seed=st.integers(0, 2**16))
def test_row_kernels_equal_fxflow_fixed_over_formats_natively(k, seed, tmp_path_factory):
    """Row kernels built from random formats (accumulators that wrap or saturate, unsigned inputs, RMSNorm, tables
    with an identity tail or a toward-zero index), row lengths and slicings, vector passes on and off, run natively
    against the host model: == rows.run_row (fxflow.fixed) bit for bit."""
    from hypothesis import event

    from fxflow.lowering.aie.kernels.rows_vec import render_row, vector_passes

    needs("g++")
    vec = vector_passes(k.role, k.row.spec, k.row.n, k.row.slice_len)
    event(f"{k.role} {' '.join(name for name, on in vec.items() if name != 'V' and on) or 'scalar'}")
    _run_natively(k, render_row(None, k), tmp_path_factory.mktemp(k.role), np.random.default_rng(seed), rounds=2)
