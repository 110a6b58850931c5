"""The fuzz harness (test/fuzz/harness.py) in the suite: a quick, fixed-seed run of every target must end
each case in success or a clear fxflow error — no built-in exception, crash, hang or stray file.

The long run (docs/fuzzing.md): FXFLOW_FUZZ_CASES=10000 pytest -q test/python/test_fuzz.py, or
`python test/fuzz/harness.py --cases 10000`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))

import harness  # noqa: E402

QUICK_CASES = 60


def test_fuzz_no_crash_no_hang():
    n = int(os.environ.get("FXFLOW_FUZZ_CASES", QUICK_CASES))
    summary = harness.run(n, seed=int(os.environ.get("FXFLOW_FUZZ_SEED", 0)))
    assert summary["cases"] == n and set(summary["by_kind"]) == set(harness.KINDS)
    assert not summary["failures"], "\n".join(f"{f['kind']}:{f['seed']} {f['status']}: {f.get('detail')}"
                                              for f in summary["failures"][:20])
    # the harness reaches the code behind the parsers: some cases compile (or run) successfully
    assert summary["statuses"].get("ok", 0) > 0


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
