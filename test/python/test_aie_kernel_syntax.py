"""The AIE kernel check: every kernel source the AIE backend writes compiles with `g++ -std=c++20 -fsyntax-only`
against fxflow's declaration-only AIE API header (lowering/aie/aie_api_check), whose static_asserts are the vector /
accumulator / mmul shape rules of the device's core (AIE-ML for xcve2802 and npu1, AIE2P for npu2), for dense MLPs
in every mode and epilogue form, cascades with first/middle/last kernels, and the HCCS softmax (between dense
layers and final).  The header rejects shapes the core lacks and the ADF stream API (absent from an mlir-aie
kernel build).  A syntax and shape check only: the arithmetic is the simulator's, checked against predict here
for the same designs."""

from __future__ import annotations

import dataclasses
import subprocess

import numpy as np
import pytest
import torch

import fxflow
from fxflow.dialects import new_context
from fxflow.fixed import FixedFormat as F
from fxflow.fixed.quantize import quantize
from fxflow.ir import ir
from fxflow.lowering.aie.build import build_program
from fxflow.lowering.aie.check import check
from fxflow.lowering.aie.driver import lower_for_aie
from fxflow.lowering.aie.kernels import API_CHECK_DIR, check_syntax, layer_source, render_kernels
from fxflow.lowering.aie.simulate import simulate

from test_aie import inputs, mlp_graph, predict_raw
from test_hccs import MidMlp
from toolchains import needs

DEVICES = ("xcve2802", "npu1", "npu2")

# name -> (widths, x format, weight formats, result formats, fused ReLU formats)
NETS = {
    "int8": ([24, 40, 10], F(1, 3, 4), [F(1, 1, 6)] * 2, [F(1, 3, 4, "RND_CONV", "SAT")] * 2, [F(0, 4, 4), None]),
    "uint8_in_narrow_out": ([20, 16], F(0, 4, 4), [F(1, 1, 6)], [F(1, 2, 2, "RND", "SAT_ZERO")], [None]),
    "int16x8_wrap": ([12, 20], F(1, 7, 8), [F(1, 1, 6)], [F(1, 5, 5, "TRN", "WRAP")], [None]),
    "int16x16_relu_resat": ([10, 18], F(1, 7, 8), [F(1, 3, 12)], [F(1, 11, 4, "RND_ZERO", "SAT")],
                            [F(0, 3, 2, "RND_INF", "SAT_SYM")]),
    "int32_out": ([16, 8], F(1, 3, 4), [F(1, 1, 6)], [F(1, 20, 4)], [None]),
    "cascade": ([1500, 24], F(1, 3, 4), [F(1, 1, 6)], [F(1, 3, 4)], [None]),  # > one 16 KB bank: a cascade chain
}


def _net_program(name: str, device: str):
    widths, x_fmt, w_fmts, outs, relus = NETS[name]
    rng = np.random.default_rng(len(name))
    g = mlp_graph(rng, widths, x_fmt, w_fmts, outs, relus)
    from fxflow import emulator

    with new_context():
        module = ir.Module.parse(g.text())
        before = emulator.compile_program(module)
        lower_for_aie(module, {"device": device})
        prog = build_program(module)
    check(prog)
    x = inputs(rng, 9, x_fmt, widths[0])
    assert np.array_equal(simulate(prog, quantize(x, x_fmt)), predict_raw(before, x)), (name, device)
    return prog


def _designs(device: str) -> dict:
    from fxflow.examples import jet_tagger

    progs = {name: _net_program(name, device) for name in NETS}
    x = jet_tagger.make_inputs(20)
    jet = fxflow.compile(jet_tagger.make_model(), x[:1], backend="aie", config=jet_tagger.DEFAULT_CONFIG,
                         aie={"device": device})
    assert np.array_equal(jet.simulate(x, raw=True), jet.predict(x, raw=True))
    progs["jet_tagger"] = jet.aie_program
    sm = {"softmax": {"implementation": "hccs", "B": 1000, "S": 20, "Dmax": 40}}
    cfg = {"model": {"precision": "ap_fixed<8,3>"}, "layers": {"sm": sm, "sm2": sm}}
    # dense -> ReLU -> dense -> HCCS -> dense -> HCCS: a softmax between dense layers and a final one
    hccs = fxflow.compile(MidMlp(final=True), torch.zeros(1, 8), config=cfg, backend="aie", aie={"device": device})
    xh = np.random.default_rng(1).normal(0, 2, (16, 8))
    assert np.array_equal(hccs.simulate(xh, raw=True), hccs.predict(xh, raw=True))
    progs["dense_hccs"] = hccs.aie_program
    return progs


@pytest.fixture(scope="module", params=DEVICES)
def device_designs(request):
    return request.param, _designs(request.param)


def test_every_emitted_kernel_passes_the_syntax_and_shape_check(device_designs):
    needs("g++")
    device, progs = device_designs
    roles, modes = set(), set()
    for name, prog in progs.items():
        files = render_kernels(prog)
        text = "\n".join(files.values())
        for adf in ("readincr", "writeincr", "get_cascade_stream", "adf.h"):  # no ADF graph API in mlir-aie builds
            assert adf not in text, (name, adf)
        bad = check_syntax(files, prog.device)
        assert not bad, f"{device} {name}: " + "\n".join(f"{k}:\n{v[:4000]}" for k, v in bad.items())
        roles |= {k.role for k in prog.kernels}
        modes |= {k.mode for k in prog.kernels}
    # the designs exercise every kernel role and mmul mode the backend has
    assert roles == {"single", "first", "middle", "last", "hccs"}, (device, roles)
    assert modes == {"8x8", "16x8", "16x16", "hccs"}, (device, modes)


def test_the_template_asserts_whole_blocks(device_designs):
    """A slice that is not a whole number of the kernel's row / column blocks fails the check (the template's
    static_assert), so the partitioner's k_block / n_block and the template cannot drift apart."""
    needs("g++")
    _, progs = device_designs
    prog = progs["int8"]
    k0 = prog.kernels[0]
    prog = dataclasses.replace(prog, kernels=[dataclasses.replace(k0, n=k0.n + 8)] + prog.kernels[1:])
    bad = check_syntax({"kernels/fxflow_dense.h": render_kernels(prog)["kernels/fxflow_dense.h"],
                        "kernels/bad.cc": layer_source(prog, k0.layer)}, prog.device)
    assert "whole row and column blocks" in bad["kernels/bad.cc"]


def _compile(snippet: str, arch: int = 20) -> subprocess.CompletedProcess:
    from fxflow.toolchain import find_cxx

    return subprocess.run([find_cxx(), "-std=c++20", "-fsyntax-only", f"-D__AIE_ARCH__={arch}", "-I",
                           str(API_CHECK_DIR), "-x", "c++", "-"], input="#include <aie_api/aie.hpp>\n" + snippet,
                          capture_output=True, text=True)


LEGAL = """
void f(const int8 *p, int8 *q, const int16 *r) {
  aie::vector<int8, 16> v = aie::load_v<16>(p);
  aie::store_v(q, v);
  aie::accum<acc64, 16> a;
  aie::accum<acc32, 16> c(get_scd_v16acc32());
  put_mcd(c.to_native());
  aie::mmul<4, 4, 4, int16, int16, acc64> m;
  m.mac(aie::load_v<16>(r), aie::load_v<16>(r));
}
"""


VECTOR, ACCUM, MMUL = "vectors are 128/256/512/1024 bits", "not an accumulator of this", "not an aie::mmul mode"


LEGAL_AIE2P = """
void f(const int16 *r) {
  aie::accum<acc64, 32> a;
  aie::mmul<4, 4, 8, int16, int16, acc64> m;
  m.mac(aie::load_v<16>(r), aie::load_v<32>(r));
  aie::mmul<8, 8, 8, int8, int8, acc32> n;
}
"""


@pytest.mark.parametrize("arch, snippet, message", [
    (20, "void f(const int8 *p) { auto v = aie::load_v<8>(p); }", VECTOR),
    (20, "aie::vector<int16, 4> v;", VECTOR),
    (21, "aie::vector<int64, 16> v;", VECTOR),
    (20, "aie::vector<int8, 256> v;", VECTOR),
    (20, "aie::accum<acc64, 32> a;", ACCUM),  # 2048 bits: AIE2P only
    (21, "aie::accum<acc64, 64> a;", ACCUM),
    (20, "aie::accum<acc32, 4> a;", ACCUM),
    (20, "aie::mmul<4, 8, 8, int16, int16, acc64> m;", MMUL),
    (20, "aie::mmul<8, 8, 8, int8, int8, acc32> m;", MMUL),  # an AIE2P mode
    (21, "aie::mmul<4, 4, 4, int16, int16, acc64> m;", MMUL),  # AIE-ML's 16x16 mode, absent on AIE2P
    (20, "aie::mmul<4, 4, 8, int16, int8, acc64> m;", MMUL),  # 16b x 8b accumulates in acc32
    (20, "void f(aie::accum<acc32, 32> a) { put_mcd(a.to_native()); }", "native"),  # the cascade moves 512 bits
    (20, "void f() { auto v = readincr_v<16>(get_cascade_stream<acc32>()); }", "not declared"),  # ADF only
    (19, "", "define __AIE_ARCH__"),
])
def test_the_header_rejects_what_the_architecture_lacks(arch, snippet, message):
    needs("g++")
    if arch in (20, 21):
        legal = _compile(LEGAL_AIE2P if arch == 21 else LEGAL, arch)
        assert legal.returncode == 0, legal.stderr  # the legal neighbours of each case pass
    r = _compile(snippet, arch)
    assert r.returncode != 0 and message in r.stderr, r.stderr[:2000]


@pytest.mark.parametrize("device", ["xcve2802", "npu2"])  # one per core architecture
def test_every_mode_storage_and_role_combination_is_legal(device):
    """Beyond the designs above: one layer source per (mode, input, weight, output storage) the integer lowering
    can produce, each with all four cascade roles and an epilogue with the narrow-format fix, a ReLU and up- or
    down-shifting SRS steps, at the smallest slices the partitioner allows (two K and N blocks) -- all legal on the
    device's core."""
    from types import SimpleNamespace

    from fxflow.lowering.aie import cost
    from fxflow.lowering.aie.arith import Srs, device_mode
    from fxflow.lowering.aie.device import get_device
    from fxflow.lowering.aie.program import KernelFn

    needs("g++")
    dev = get_device(device)
    x_of = {"8x8": ("i8", "u8"), "16x8": ("i16", "u16"), "16x16": ("i8", "u8", "i16", "u16")}
    kernels, files = [], {}
    for mode_name, xs in x_of.items():
        mode = device_mode(mode_name, dev)
        for x in xs:
            for w in (("i8", "u8") if mode.w_bits == 8 else ("i16",)):
                for y in ("i8", "u8", "i16", "u16", "i32"):
                    layer = f"l_{mode_name}_{x}_{w}_{y}".replace("x", "_")
                    first = 3 if y[0] == "i" else -2  # a negative shift: exact up-shift before the SRS
                    epilogue = [Srs(first, "conv_even", "saturate", "i32", (int(y[0] == "i"), 5, "SAT")), "relu",
                                Srs(-first, "floor", "saturate", y)]
                    m = cost.padded_batch(8, mode)
                    k, n = 2 * cost.k_block(mode, x), 2 * cost.n_block(mode, y)
                    for role in ("single", "first", "middle", "last"):
                        kernels.append(KernelFn(f"{layer}_{role}", layer, role, mode_name, m, k, n, x, w, y,
                                                mode.acc_bits, epilogue, f"{layer}.o"))
                    files[f"kernels/{layer}.cc"] = None
    prog = SimpleNamespace(device=dev, kernels=kernels)
    sources = [layer_source(prog, name[len("kernels/"):-3]) for name in files]
    assert len(sources) == (2 * 2 + 2 * 2 + 4) * 5
    files = {"kernels/fxflow_dense.h": render_kernels(SimpleNamespace(layers=[], kernels=[]))["kernels/fxflow_dense.h"],
             "kernels/all.cc": "\n".join(sources)}  # one translation unit: the names are distinct
    bad = check_syntax(files, dev)
    assert not bad, "\n".join(f"{k}:\n{v[:3000]}" for k, v in bad.items())
