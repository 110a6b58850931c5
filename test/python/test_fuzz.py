"""The fuzz harness (test/fuzz/harness.py) in the suite: a quick, fixed-seed run of every target must end
each case in success or a clear fxflow error — no built-in exception, crash, hang or stray file.

The long run (docs/fuzzing.md): FXFLOW_FUZZ_CASES=10000 pytest -q test/python/test_fuzz.py, or
`python test/fuzz/harness.py --cases 10000`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))

import harness  # noqa: E402

QUICK_CASES = 60


def check(summary: dict, n: int) -> None:
    """The suite's verdict on a harness run: every case ran, none failed, some reached the compiler."""
    assert summary["cases"] == n and set(summary["by_kind"]) == set(harness.KINDS)
    assert not summary["failures"], "\n".join(f"{f['kind']}:{f['seed']} {f['status']}: {f.get('detail')}"
                                              for f in summary["failures"][:20])
    # the harness reaches the code behind the parsers: some cases compile (or run) successfully
    assert summary["statuses"].get("ok", 0) > 0


def test_fuzz_no_crash_no_hang():
    n = int(os.environ.get("FXFLOW_FUZZ_CASES", QUICK_CASES))
    check(harness.run(n, seed=int(os.environ.get("FXFLOW_FUZZ_SEED", 0))), n)


def test_harness_flags_a_builtin_exception(monkeypatch, tmp_path):
    """A case raising a built-in exception counts as a failure, a project error as a pass."""
    from fxflow.errors import ConfigError

    def boom(rng, work):
        raise KeyError("x")

    def clean(rng, work):
        raise ConfigError("bad key")

    def stray(rng, work):
        (work.parent / "escaped.txt").write_text("x")
        return "ok"

    monkeypatch.setitem(harness.CASES, "opt", boom)
    assert harness.run_case("opt", 0, tmp_path)["status"] == "fail"
    monkeypatch.setitem(harness.CASES, "opt", clean)
    assert harness.run_case("opt", 0, tmp_path)["status"] == "error"
    monkeypatch.setitem(harness.CASES, "opt", stray)
    res = harness.run_case("opt", 0, tmp_path)
    assert res["status"] == "fail" and "outside the output directory" in res["detail"]


class InProcessWorker:
    """harness.Worker without the subprocess, so that a test's monkeypatches reach the cases."""

    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.proc = self  # run() asks proc.poll() whether the worker is alive

    def poll(self):
        return None

    def run(self, kind: str, seed: int, timeout: float) -> dict:
        return harness.run_case(kind, seed, self.scratch)

    def close(self):
        pass


def test_an_internal_error_fails_the_harness_and_the_suite(monkeypatch, tmp_path):
    """A compiler bug (InternalError: not an FxflowError) in any case is a failure of the run, and `check`,
    the suite's verdict, rejects the run."""
    from fxflow.errors import InternalError

    def emitter_bug(rng, work):
        raise InternalError("the C++ that fxflow emitted does not compile", where="firmware/x.cpp")

    monkeypatch.setitem(harness.CASES, "data", emitter_bug)
    res = harness.run_case("data", 0, tmp_path)
    assert res["status"] == "fail" and "InternalError" in res["detail"]
    monkeypatch.setattr(harness, "Worker", lambda: InProcessWorker(tmp_path))
    monkeypatch.setitem(harness.CASES, "opt", lambda rng, work: "ok")
    monkeypatch.setitem(harness.CASES, "onnx", lambda rng, work: "ok")
    monkeypatch.setitem(harness.CASES, "config", lambda rng, work: "ok")
    n = 20
    bugs = sum(kind == "data" for kind, _ in harness.schedule(n, 0))
    summary = harness.run(n, seed=0)
    assert bugs > 0 and summary["statuses"] == {"ok": n - bugs, "fail": bugs} and len(summary["failures"]) == bugs
    with pytest.raises(AssertionError, match="data:.* fail: InternalError"):
        check(summary, n)


def test_a_tool_reporting_an_internal_error_is_a_failure(monkeypatch, tmp_path):
    """fxflow-opt running a pass that leaves invalid IR exits with the internal-error code: a failure of the
    opt target, never a clean "error"."""
    from fxflow.passes import PASSES, load_all
    from fxflow.passes.registry import PassInfo

    def drop_terminators(module_op, options):
        for func in module_op.regions[0].blocks[0].operations:
            for block in func.regions[0].blocks:
                list(block.operations)[-1].erase()

    load_all()
    monkeypatch.setitem(PASSES, "test-drop-terminators", PassInfo("test-drop-terminators", "test", drop_terminators))
    monkeypatch.setattr(harness, "PIPELINES", ["builtin.module(test-drop-terminators)"])
    monkeypatch.setattr(harness, "_mlir_seeds_cached", lambda: ["func.func @f(%a: i32) -> i32 {\n  return %a : i32\n}\n"])
    monkeypatch.setattr(harness, "_mutate_text", lambda rng, text: text)
    results = [harness.run_case("opt", seed, tmp_path) for seed in range(10)]
    failed = [r for r in results if r["status"] == "fail"]
    assert failed and all("internal error" in r["detail"] and "test-drop-terminators" in r["detail"] for r in failed)
    assert len(failed) + sum(r["status"] != "fail" for r in results) == 10
