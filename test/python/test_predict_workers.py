"""Predict's worker processes (emulator/workers.py): the serial run's integers whatever happens to a worker."""

import os
import signal

import numpy as np
import pytest

import fxflow
from fxflow import emulator
from fxflow.examples import load

pytestmark = pytest.mark.skipif(not emulator.workers.can_fork(), reason="worker processes need fork")


@pytest.fixture(scope="module")
def lstm():
    ex = load("lstm_tagger")
    x = ex.make_inputs(3 * emulator.CHUNK + 7)
    design = fxflow.compile(ex.make_model(), x[:1], config=ex.DEFAULT_CONFIG)
    return design, x, design.predict(x, raw=True, threads=1)


@pytest.fixture(autouse=True)
def all_cores(monkeypatch):
    monkeypatch.setattr(emulator, "idle_cores", lambda: 8)


def _pids(design) -> set[int]:
    return set(emulator.workers.worker_pids(design.program))


def test_workers_give_the_serial_integers_and_are_kept(lstm):
    design, x, serial = lstm
    for threads in (2, 3, 4):  # 4 asks for more shares than the batch has chunks: 4 chunks, 4 shares
        assert np.array_equal(design.predict(x, raw=True, threads=threads), serial)
    pids = _pids(design)
    assert len(pids) == 3
    assert np.array_equal(design.predict(x, raw=True, threads=2), serial)
    assert _pids(design) == pids  # forked once, kept for the next predicts


def test_a_killed_worker_reruns_its_share_here_and_is_forked_anew(lstm):
    design, x, serial = lstm
    design.predict(x, raw=True, threads=2)
    pids = _pids(design)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    assert np.array_equal(design.predict(x, raw=True, threads=2), serial)
    assert np.array_equal(design.predict(x, raw=True, threads=2), serial)
    assert not _pids(design) & pids


def test_an_error_in_a_worker_is_the_serial_runs_own(lstm, monkeypatch):
    """A share that fails in its worker runs again here: the caller sees the serial run's result (or its
    error), never a pickled traceback from another process."""
    design, x, serial = lstm
    design.program._workers = None
    monkeypatch.setattr(emulator.workers, "_run_share", _failing_share)
    here = []
    serial_run = emulator.run_serial
    monkeypatch.setattr(emulator, "run_serial", lambda p, xs: here.append(len(xs[0])) or serial_run(p, xs))
    assert np.array_equal(design.predict(x, raw=True, threads=2), serial)
    assert here == [2 * emulator.CHUNK, x.shape[0] - 2 * emulator.CHUNK]  # its own share, then the failed one
    design.program._workers = None


def _failing_share(key, xs):
    raise RuntimeError("a worker failed")


def test_a_daemonic_caller_runs_serially(lstm, monkeypatch):
    import multiprocessing

    design, x, serial = lstm
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True, raising=False)
    called = []
    monkeypatch.setattr(emulator.workers, "run_parallel", lambda *a: called.append(a))
    assert np.array_equal(design.predict(x, raw=True, threads=2), serial)
    assert called == []
