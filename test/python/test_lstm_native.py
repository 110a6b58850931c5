"""The native LSTM and GRU time loops (emulator/kernels/recurrent.cpp through emulator/native.py): equal bit for
bit to the NumPy float64 loops and to the integer cells (the general step-by-step loop of `_rnn_step`) on random
layers and the bundled tagger (and its GRU twin), with the AVX2 build and the baseline one; rebuilt when the
source changes; the NumPy loops when no compiler is found or FXFLOW_NATIVE=0."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fxflow
import fxflow.emulator.recurrent as rec
from fxflow import emulator
from fxflow.emulator import compile_program, native
from fxflow.errors import ToolchainError

from test_recurrent import GRU_TAGGER_CONFIG, GruTagger, Tagger, _inputs, kernel_layer_config

_NATIVE_USE: dict = {"lstm": [], "gru": []}  # per example of the hypothesis test: whether the native loop ran


def _three_ways(design, x, monkeypatch, lib=None):
    """The outputs of the native loop (`lib`: a given build, else the cached one), the NumPy float64 loop and
    the integer loop, and how often the native loop ran."""
    ran = []
    real = rec._run_native

    def spy(*args):
        ran.append(1)
        return real(lib or args[0], *args[1:])

    monkeypatch.setattr(rec, "_run_native", spy)
    program = compile_program(design.module)
    monkeypatch.setenv("FXFLOW_NATIVE", "1")
    y_native = emulator.run(program, [x])[0].data
    assert native.library() is not None, "no native build on a machine with a compiler"
    monkeypatch.setenv("FXFLOW_NATIVE", "0")
    y_numpy = emulator.run(program, [x])[0].data
    with monkeypatch.context() as mp:  # no float64 kernels: the integer cell step by step
        mp.setattr(rec, "_real_products", lambda plan: None)
        y_int = emulator.run(compile_program(design.module), [x])[0].data
    return y_native, y_numpy, y_int, len(ran)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 999), feats=st.integers(1, 5), hidden=st.integers(1, 9), steps=st.integers(1, 6),
       layers=st.integers(1, 2), table_size=st.sampled_from([16, 256, 2048]),
       out=st.sampled_from(["sequence", "last", "hn"]), n=st.integers(1, 45), data=st.data())
def test_native_loop_equals_numpy_and_integer_loops(monkeypatch, cell, seed, feats, hidden, steps, layers, table_size,
                                                    out, n, data):
    """Random LSTM / GRU layers in formats the float64 kernel takes (RND / TRN, saturating; the kernel may still
    decline a draw), batches that are rarely a multiple of the 8-sample block, inputs beyond the input
    format (saturated), the whole sequence or the last state."""

    layer = kernel_layer_config(data, cell, table_size)
    model = Tagger(cell, feats, hidden, layers, True, out, seed).eval()
    design = fxflow.compile(model, torch.zeros(1, steps, feats),
                            config={"model": {"precision": "ap_fixed<12,4>"}, "layers": {"rnn": layer}})
    x = _inputs(seed, n, (steps, feats), 3.0)
    y_native, y_numpy, y_int, ran = _three_ways(design, x, monkeypatch)
    assert np.array_equal(y_native, y_numpy)
    assert np.array_equal(y_native, y_int)
    _NATIVE_USE[cell].append(ran > 0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_native_loop_ran_in_most_examples(cell):
    """Else the test above would compare the NumPy loops with themselves."""
    use = _NATIVE_USE[cell]
    if use:
        assert sum(use) >= len(use) // 2, use


@pytest.fixture(scope="module")
def tagger():
    from fxflow.examples import lstm_tagger

    x = lstm_tagger.make_inputs(1003)  # 125 full blocks and 3 samples
    return fxflow.compile(lstm_tagger.make_model(), x[:1], config=lstm_tagger.DEFAULT_CONFIG), x


def test_tagger_native_equals_numpy_and_integer_loops(tagger, monkeypatch):
    design, x = tagger
    y_native, y_numpy, y_int, ran = _three_ways(design, x, monkeypatch)
    assert ran == 2  # both layers
    assert np.array_equal(y_native, y_numpy) and np.array_equal(y_native, y_int)


def test_gru_tagger_native_equals_numpy_and_integer_loops(tagger, monkeypatch):
    _, x = tagger
    design = fxflow.compile(GruTagger().eval(), x[:1], config=GRU_TAGGER_CONFIG)
    y_native, y_numpy, y_int, ran = _three_ways(design, x, monkeypatch)
    assert ran == 2
    assert np.array_equal(y_native, y_numpy) and np.array_equal(y_native, y_int)


def test_baseline_build_without_avx2_equals_too(tagger, monkeypatch, tmp_path):
    """The build for CPUs without AVX2 / FMA (SSE2 on x86-64): the same bits."""
    design, x = tagger
    monkeypatch.setattr(native, "cpu_flags", lambda: [])
    lib = ctypes.CDLL(str(native.build(native.SOURCES, tmp_path)))
    native._declare(lib)
    y_native, y_numpy, _, ran = _three_ways(design, x, monkeypatch, lib)
    assert ran == 2 and np.array_equal(y_native, y_numpy)


def test_cache_reuses_the_build_and_rebuilds_when_a_source_or_header_changes(tmp_path):
    import shutil

    kernels = tmp_path / "kernels"
    shutil.copytree(native.KERNELS, kernels)
    sources = sorted(kernels.glob("*.cpp"))
    folder = tmp_path / "cache"
    first = native.build(sources, folder)
    stamp = first.stat().st_mtime_ns
    assert native.build(sources, folder) == first and first.stat().st_mtime_ns == stamp  # not rebuilt
    src = kernels / "recurrent.cpp"
    src.write_text(src.read_text() + "\n// changed\n")
    second = native.build(sources, folder)
    header = kernels / "fixed.h"
    header.write_text(header.read_text() + "\n// changed\n")
    third = native.build(sources, folder)
    assert len({first, second, third}) == 3 and all(p.is_file() for p in (first, second, third))
    assert sorted(p.name for p in folder.iterdir()) == sorted([first.name, second.name, third.name])  # no temporary
    assert ctypes.CDLL(str(third)).fxflow_kernels_version() == native.VERSION


def test_concurrent_builds_leave_one_complete_library(tmp_path):
    """Processes building the same key at once each rename a complete library into place."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    folder = tmp_path / "cache"
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        paths = list(pool.map(native.build, [native.SOURCES] * 3, [folder] * 3))
    assert len(set(paths)) == 1 and list(folder.iterdir()) == [paths[0]]
    assert ctypes.CDLL(str(paths[0])).fxflow_kernels_version() == native.VERSION


def test_failed_build_raises_and_leaves_no_file(tmp_path):
    src = tmp_path / "recurrent.cpp"
    src.write_text("this is not C++\n")
    with pytest.raises(OSError, match="failed"):
        native.build(src, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_numpy_loop_without_a_compiler_or_when_switched_off(tagger, monkeypatch, tmp_path):
    design, x = tagger
    program = compile_program(design.module)
    monkeypatch.setenv("FXFLOW_NATIVE", "0")
    expected = emulator.run(program, [x])[0].data
    monkeypatch.setattr(rec, "_run_native", None)  # calling it would fail the run
    assert native.library() is None
    assert np.array_equal(emulator.run(program, [x])[0].data, expected)

    def no_compiler():
        raise ToolchainError("no C++ compiler found")

    monkeypatch.setenv("FXFLOW_NATIVE", "1")
    monkeypatch.setenv("FXFLOW_CACHE_DIR", str(tmp_path))  # an empty cache: the library must be built
    monkeypatch.setattr(native.toolchain, "find_cxx", no_compiler)
    monkeypatch.setattr(native, "_loaded", {})
    assert native.library() is None
    assert np.array_equal(emulator.run(program, [x])[0].data, expected)
    assert not any(tmp_path.iterdir())
