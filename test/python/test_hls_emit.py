"""The HLS backend: emitted project files, determinism, name safety, and bit-exact C simulation with g++.

Expected outputs are computed independently from the op semantics (hls_graphs.Graph.reference).
C-simulation tests need g++ and the ap_types headers (hls4ml wheel); they are skipped without them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fxflow.lowering.hls.csim as csim
from fxflow.dialects import new_context
from fxflow.errors import FxflowError, InternalError, IRError, ToolchainError, UnsupportedOpError
from fxflow.fixed import FixedFormat as F
from fxflow.ir import ir
from fxflow.lowering.hls import emit_cpp, write_project

sys.path.insert(0, str(Path(__file__).parent))
from hls_graphs import Graph  # noqa: E402

EXAMPLE = Path(__file__).parents[1] / "lowering" / "hls" / "df_example.mlir.in"


needs_cxx = pytest.mark.needs("g++", "ap_types")


def parse(text: str):
    ctx = new_context()
    with ctx:
        return ir.Module.parse(text), ctx


def example_graph(name="myproject", fc1="fc1", act="act") -> Graph:
    """The graph of df_example.mlir.in, rebuilt with the reference semantics attached."""
    g = Graph(name, [((1, 4), F(1, 5, 10))])

    def dense(k, a):
        w = k.const([[1, -2, 3], [4, 5, -6], [7, 8, 9], [-10, 11, 12]], F(1, 1, 6))
        b = k.const([5, -7, 0], F(1, 1, 6))
        return k.dense(a, w, b, F(1, 9, 16), F(1, 5, 10, "RND", "SAT"))

    h = g.kernel(fc1, g.args, dense)
    return g.ret(*g.kernel(act, h, lambda k, a: k.relu(a, F(0, 4, 4)), channel=None))


# NOTE: the df dialect's IRDL definition currently requires all operands of df.kernel / df.yield /
# df.return to share ONE type (a single `irdl.any` for the variadic), so these graphs keep every value
# crossing a kernel boundary in the format T; the variety of formats lives inside the kernels.
T = F(1, 4, 6, "RND", "SAT")


def kitchen_graph() -> Graph:
    """Four dense kernels (every strategy, RF 1/4/5, narrow saturating and rounding accumulators, so the
    order of accumulation matters), add/cast/relu, a three-result kernel with four inputs, a result read
    by a kernel and returned, one returned twice, and the input passed through."""
    rng = np.random.default_rng(7)
    g = Graph("kitchen sink", [((1, 5), T)])
    (x0,) = g.args
    w_fmt = F(1, 1, 6)

    def dense(accum, out, relu=None):
        def build(k, a):
            w = k.const(rng.integers(-128, 128, size=(5, 5)), w_fmt)
            b = k.const(rng.integers(-128, 128, size=(5,)), w_fmt)
            y = k.dense(a, w, b, accum, out)
            return k.cast(k.relu(y, relu) if relu else y, T)
        return build

    d1 = g.kernel("dense_lat", [x0], dense(F(1, 4, 8, "RND", "SAT"), F(1, 3, 6, "RND_CONV", "SAT_SYM")))
    d2 = g.kernel("dense_rf", [x0], dense(F(1, 5, 9, "RND_ZERO", "SAT"), F(1, 4, 5, "RND_INF", "WRAP"),
                                          relu=F(0, 3, 4, "TRN", "SAT")), rf=4, channel="stream")
    d3 = g.kernel("dense_res", [x0], dense(F(1, 3, 7, "RND_MIN_INF", "SAT"), F(1, 4, 6)),
                  rf=4, strategy="resource")
    d4 = g.kernel("dense_res1", [x0], dense(F(1, 3, 9, "TRN_ZERO", "SAT_SYM"), F(1, 4, 6)),
                  rf=5, strategy="resource")

    def mix(k, a, b, c, d):
        s = k.add(a, b, F(1, 5, 6, "RND", "WRAP"))
        t = k.add(s, k.cast(c, F(1, 4, 3, "RND", "SAT")), F(1, 6, 6))
        u = k.cast(k.add(t, d, F(1, 7, 6)), F(1, 2, 3, "RND_CONV", "SAT"))
        return [k.cast(s, T), k.cast(u, T), k.cast(k.relu(c, F(0, 2, 2, "RND", "SAT")), T)]

    m0, m1, m2 = g.kernel("mix", [d1[0], d3[0], d2[0], d4[0]], mix)
    return g.ret(m0, m1, d2[0], m1, x0, m2)


def wide_graph() -> Graph:
    """Arithmetic wider than 64 bits (51-bit weights, 131/171-bit accumulators, 81-bit results) on a
    2-row input (a dense over a leading dimension of 2), latency then resource."""
    rng = np.random.default_rng(11)
    g = Graph("wide", [((2, 4), F(1, 10, 20, "RND_CONV", "SAT"))])
    out = F(1, 60, 20, "RND_INF", "WRAP")

    def layer(k_in, accum):
        def build(k, a):
            w = k.const(rng.integers(-(2 ** 50), 2 ** 50, size=(k_in, 3)), F(1, 40, 10))
            b = k.const(rng.integers(-(2 ** 50), 2 ** 50, size=(3,)), F(1, 40, 10))
            return k.dense(a, w, b, accum, out)
        return build

    h = g.kernel("big", g.args, layer(4, F(1, 70, 60, "RND", "SAT")))
    return g.ret(*g.kernel("big_res", h, layer(3, F(1, 110, 60, "RND_CONV", "SAT")), rf=2, strategy="resource"))


def inputs_with_edge_cases(g: Graph, n: int, seed: int = 0) -> np.ndarray:
    """Random samples plus exact ties of every input grid, values far out of range and zeros."""
    rng = np.random.default_rng(seed)
    cols = []
    for a in g.args:
        shape, fmt = g.types[a]
        size = int(np.prod(shape))
        span = max(abs(fmt.min_value), fmt.max_value)
        c = rng.normal(0, span, size=(n, size))
        ties = (rng.integers(fmt.min_int - 4, fmt.max_int + 4, size=(n, size)) + 0.5) * 2.0 ** -fmt.f
        c[: n // 4] = ties[: n // 4]
        c[n // 4: n // 4 + 3] = [[span * 40], [-span * 40], [0.0]]
        c[n // 4 + 3: n // 4 + 6] = [[fmt.max_value + fmt.lsb / 2], [fmt.min_value - fmt.lsb / 2], [-fmt.lsb / 4]]
        cols.append(c)
    return np.concatenate(cols, axis=1)


# --- emission ---------------------------------------------------------------------------------------

def test_emit_cpp_example():
    m, ctx = parse(EXAMPLE.read_text())
    with ctx:
        text = emit_cpp(m)
    assert "// ===== firmware/defines.h =====" in text
    assert "typedef ap_fixed<16,6,AP_TRN,AP_WRAP> input_t;" in text
    assert "typedef ap_ufixed<8,4,AP_TRN,AP_WRAP> result_t;" in text
    assert "typedef ap_fixed<26,10,AP_TRN,AP_WRAP> fc1_accum_t;" in text
    assert "void myproject(const input_t in[4], result_t out[3])" in text
    assert "acc0[n] += x0[k] * fc1_w[k * 3 + n];" in text
    assert "static const fc1_weight_t fc1_w[12] = {" in text
    assert "0x1p-6, -0x1p-5, 0x1.8p-5," in text  # 1, -2, 3 at f = 6, exact


def test_project_files_and_determinism(tmp_path):
    m, ctx = parse(EXAMPLE.read_text())
    x = np.array([[1.0, 2.0, -3.5, 0.25]])
    with ctx:
        a = write_project(m, tmp_path / "a", inputs=x, expected=[[1, 2, 3]])
        b = write_project(m, tmp_path / "b", inputs=x, expected=[[1, 2, 3]])
    files = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    assert files == sorted([
        "CMakeLists.txt", "Makefile", "README.md", "build.tcl", "project.json", "myproject_test.cpp",
        "firmware/defines.h", "firmware/parameters.h", "firmware/myproject.cpp", "firmware/myproject.h",
        "firmware/layers/fc1.cpp", "firmware/layers/act.cpp",
        "firmware/weights/fc1_w.h", "firmware/weights/fc1_b.h",
        "tb_data/tb_input_features.dat", "tb_data/tb_output_predictions.dat"])
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (a / "tb_data/tb_input_features.dat").read_text() == \
        "0x1p+0 0x1p+1 -0x1.cp+1 0x1p-2\n"
    tcl = (a / "build.tcl").read_text()
    assert "set_top myproject" in tcl and "xcvu13p-flga2577-2-e" in tcl and "csim_design" in tcl
    assert "add_files firmware/layers/fc1.cpp -cflags $cflags" in tcl
    # rewriting with inputs only drops stale predictions; unchanged files keep their timestamps
    before = (a / "firmware/defines.h").stat().st_mtime_ns
    time.sleep(0.01)
    with ctx:
        write_project(m, a, inputs=x)
    assert not (a / "tb_data/tb_output_predictions.dat").exists()
    assert (a / "firmware/defines.h").stat().st_mtime_ns == before


def test_part_and_clock(tmp_path):
    g = example_graph()
    m, ctx = parse(g.text(module_attrs='fxflow.part = "xc7z020clg400-1", fxflow.clock_period = 3.3 : f64'))
    with ctx:
        d = write_project(m, tmp_path / "p")
        with pytest.raises(FxflowError, match="part"):
            write_project(m, tmp_path / "q", part="xc7; exec rm -rf /")
    tcl = (d / "build.tcl").read_text()
    assert "part xc7z020clg400-1 clock_period 3.3" in tcl


def test_pragmas_follow_reuse_and_strategy():
    g = kitchen_graph()
    m, ctx = parse(g.text())
    with ctx:
        text = emit_cpp(m)
    lat = text[text.index("// ===== firmware/layers/dense_lat.cpp"):]
    assert "#pragma HLS PIPELINE II=1" in lat and "ARRAY_PARTITION variable=dense_lat_w complete dim=0" in lat
    rf = text[text.index("// ===== firmware/layers/dense_rf.cpp"):]
    assert "#pragma HLS PIPELINE II=4" in rf
    assert "ARRAY_PARTITION variable=dense_rf_w cyclic factor=7 dim=1" in rf  # ceil(25 / 4)
    assert "ALLOCATION operation instances=mul limit=7" in rf
    res = text[text.index("// ===== firmware/layers/dense_res.cpp"):]
    assert "BIND_STORAGE variable=dense_res_w type=rom_2p impl=bram" in res
    assert "ARRAY_RESHAPE variable=dense_res_w cyclic factor=7 dim=1" in res
    assert re.search(r"if \(t < 25\) (acc\d+)\[t % 5\] \+= x0\[t / 5\] \* dense_res_w\[t\];", res)  # 4 x 7 > 25
    res1 = text[text.index("// ===== firmware/layers/dense_res1.cpp"):]
    assert re.search(r"\n\s+acc\d+\[t % 5\] \+= x0\[t / 5\] \* dense_res1_w\[t\];", res1)  # 5 x 5 = 25
    top = text[text.index("// ===== firmware/kitchen_sink.cpp"):]
    assert "#pragma HLS DATAFLOW" in top  # a resource kernel


def test_unsupported_ops_name_the_kernel():
    f32 = "tensor<1x3xf32>"
    fx = "tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, \"TRN\", \"WRAP\">>"
    text = f'''"df.graph"() ({{
^bb0(%x: {fx}):
  %0 = "df.kernel"(%x) ({{
  ^bb0(%a: {fx}):
    %c = "arith.constant"() {{value = dense<1.0> : {f32}}} : () -> {f32}
    %y = "fxp.cast"(%c) : ({f32}) -> {fx}
    "df.yield"(%y) {{operandSegmentSizes = array<i32: 1, 0, 0, 0>}} : ({fx}) -> ()
  }}) {{sym_name = "odd one", layer = "seq.3", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>}} : ({fx}) -> {fx}
  "df.return"(%0) {{operandSegmentSizes = array<i32: 1, 0, 0, 0>}} : ({fx}) -> ()
}}) {{sym_name = "p", io_type = "io_parallel"}} : () -> ()
'''
    m, ctx = parse(text)
    with ctx, pytest.raises(UnsupportedOpError, match=r"unsupported op 'arith.constant'.*kernel 'odd_one' \(layer 'seq.3'\)"):
        emit_cpp(m)
    m, ctx = parse(text.replace(fx, f32))
    with ctx, pytest.raises(UnsupportedOpError, match="float tensor.*fxp-assign-precision"):
        emit_cpp(m)
    m, ctx = parse("module {}")
    with ctx, pytest.raises(IRError, match="exactly one df.graph"):
        emit_cpp(m)


def test_hostile_names_are_sanitized_and_contained(tmp_path):
    g = example_graph(name="../../evil top", fc1="x; rm -rf /", act="../../evil")
    m, ctx = parse(g.text())
    root = tmp_path / "sandbox"
    root.mkdir()
    out = root / "proj"
    with ctx:
        d = write_project(m, out, project_name="../../../etc/passwd")
        text = emit_cpp(m)
    assert d == out.resolve()
    assert [p.name for p in root.iterdir()] == ["proj"] and sorted(os.listdir(tmp_path)) == ["sandbox"]
    for p in d.rglob("*"):
        assert p.resolve().is_relative_to(d)
    assert (d / "firmware/etc_passwd.cpp").is_file()
    assert (d / "firmware/layers/x_rm_rf.cpp").is_file() and (d / "firmware/layers/evil.cpp").is_file()
    assert "void x_rm_rf(" in text and "void evil(" in text
    # the original names survive only inside // comments (no newline, backslash or trigraph can end them)
    for line in text.splitlines():
        if "rm -rf" in line or "../../" in line:
            assert line.lstrip().startswith("//"), line
    assert "void evil_top(" in text
    # identifiers that clash with C library names or each other get unique suffixes
    g2 = example_graph(fc1="errno", act="errno")
    m2, ctx2 = parse(g2.text())
    with ctx2:
        t2 = emit_cpp(m2)
    assert "void errno_2(" in t2 and "void errno_3(" in t2


# --- C simulation -------------------------------------------------------------------------------

@needs_cxx
def test_csim_example_bit_exact(tmp_path):
    g = example_graph()
    x = inputs_with_edge_cases(g, 400)
    ref = np.array(g.reference(x), dtype=np.int64)
    m, ctx = parse(EXAMPLE.read_text())
    with ctx:
        d = write_project(m, tmp_path / "ex", inputs=x, expected=ref)
    y = csim.run(d, x)
    assert y.dtype == np.int64 and y.shape == (400, 3)
    np.testing.assert_array_equal(y, ref)
    # the project is self-checking: its own testbench passes, and fails on a single wrong integer
    exe = csim.build(d, verbose=False)
    ok = subprocess.run([str(exe), str(d / "tb_data")], capture_output=True, text=True)
    assert ok.returncode == 0 and "PASSED" in ok.stdout
    assert (d / "tb_data/csim_results.dat").read_text() == (d / "tb_data/tb_output_predictions.dat").read_text()
    bad = ref.copy()
    bad[5, 1] += 1
    with ctx:
        write_project(m, d, inputs=x, expected=bad)
    fail = subprocess.run([str(exe), str(d / "tb_data")], capture_output=True, text=True)
    assert fail.returncode == 1 and "MISMATCH sample 5 output 1" in fail.stderr


@needs_cxx
def test_csim_all_strategies_bit_exact(tmp_path):
    g = kitchen_graph()
    x = inputs_with_edge_cases(g, 300, seed=3)
    ref = g.reference(x)
    m, ctx = parse(g.text())
    with ctx:
        d = write_project(m, tmp_path / "k", inputs=x, expected=ref)
    y = csim.run(d, x)
    assert y.dtype == np.int64 and y.shape == (300, 30)
    assert y.tolist() == ref


@needs_cxx
def test_csim_wider_than_64_bits(tmp_path):
    g = wide_graph()
    x = inputs_with_edge_cases(g, 100, seed=4)
    ref = g.reference(x)
    assert any(abs(v) > 2 ** 62 for row in ref for v in row)  # the output really is wide
    m, ctx = parse(g.text())
    with ctx:
        d = write_project(m, tmp_path / "w", inputs=x, expected=ref)
    y = csim.run(d, x)
    assert y.dtype == object and y.tolist() == ref


@needs_cxx
def test_sanitized_project_compiles_and_matches(tmp_path):
    g = example_graph(name="x; rm", fc1="../../evil", act="int8_t")
    x = inputs_with_edge_cases(g, 50, seed=5)
    m, ctx = parse(g.text())
    with ctx:
        d = write_project(m, tmp_path / "s")
    assert csim.run(d, x).tolist() == g.reference(x)


@needs_cxx
def test_build_cache_and_errors(tmp_path, capsys):
    m, ctx = parse(EXAMPLE.read_text())
    with ctx:
        d = write_project(m, tmp_path / "c")
        d2 = write_project(m, tmp_path / "c2")
    exe = csim.build(d)
    t0 = time.perf_counter()
    assert csim.build(d2) == exe  # identical project elsewhere: same cached executable
    assert time.perf_counter() - t0 < 1.0
    assert "up to date" in capsys.readouterr().out
    with pytest.raises(ToolchainError, match="ap_fixed.h"):
        csim.build(d, ap_types=tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(d, broken)
    src = broken / "myproject_test.cpp"  # the smallest unit: the cached firmware is reused
    src.write_text(src.read_text().replace("samples++;", "samples += undeclared_thing;"))
    with pytest.raises(InternalError, match="(?s)does not compile.*myproject_test.cpp.*undeclared_thing") as err:
        csim.build(broken, verbose=False)  # emitted C++ that does not compile is a bug of fxflow, not bad input
    assert not isinstance(err.value, FxflowError) and "bug in fxflow" in str(err.value)
    with pytest.raises(FxflowError, match="4 values per sample"):
        csim.run(d, np.zeros((3, 5)))
    with pytest.raises(ToolchainError, match="not an fxflow HLS project"):
        csim.build(tmp_path)
