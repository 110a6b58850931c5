"""Predict's batch on several cores: worker processes forked from the caller, each running whole shares of
the batch.

Threads do not scale here.  A chunk is hundreds of short NumPy calls and each one hands the GIL over, so two
threads made thousands of context switches per predict and ran slower than one (the jet MLP, the transformer
and the LSTM tagger on a quiet 2-core machine).  A forked worker inherits the compiled program: only the
inputs of its share and its outputs cross the pipe.  The workers of a program are forked at its first
parallel predict and kept for the next ones; they end with the program (or the interpreter).

Any failure in a worker (an error, a killed process) reruns that share in the caller, so results and
errors are exactly the serial run's.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import weakref
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from fxflow.fixed.dense import Tensor

_PROGRAMS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # key -> program (forked workers read it)
_SERIAL: dict = {}  # key -> the serial run of a share, run_serial(program, xs) (the emulator's; passed in)
_KEYS = itertools.count()
_LOCK = threading.Lock()


def can_fork() -> bool:
    """Worker processes need fork (the program is inherited, not pickled) and a caller allowed to have
    children (not itself a daemonic multiprocessing worker)."""
    return "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


class _Workers:
    """A program's forked worker processes (`size` of them) and the key they find it under."""

    def __init__(self, program, size: int, serial):
        self.key, self.size = next(_KEYS), size
        _PROGRAMS[self.key], _SERIAL[self.key] = program, serial
        self.pool = ProcessPoolExecutor(size, mp_context=multiprocessing.get_context("fork"))
        weakref.finalize(program, self.pool.shutdown, wait=False, cancel_futures=True)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _workers(program, size: int, serial) -> _Workers:
    """The program's workers, forked now when it has none or fewer than `size`."""
    with _LOCK:
        w = program._workers
        if w is None or w.size < size:
            if w is not None:
                w.close()
            w = program._workers = _Workers(program, size, serial)
        return w


def _run_share(key: int, xs: list):
    """In a worker: the serial run of one share of the batch."""
    return _SERIAL[key](_PROGRAMS[key], xs)


def run_parallel(program, xs: list, shares: int, run_serial) -> list:
    """The batch in up to `shares` contiguous shares of whole chunks, each run by `run_serial(program, xs)`:
    the first in the caller, the others in worker processes, concatenated in order (the serial run's
    integers)."""
    n, chunk = xs[0].shape[0], program.chunk_rows()
    per = -(-n // shares // chunk) * chunk  # whole chunks per share
    parts = [[x[a:a + per] for x in xs] for a in range(0, n, per)]
    w = _workers(program, len(parts) - 1, run_serial)
    try:
        futures = [w.pool.submit(_run_share, w.key, p) for p in parts[1:]]
    except RuntimeError:  # a broken or closed pool: these shares run here
        futures = [None] * (len(parts) - 1)
    outs = [run_serial(program, parts[0])]
    for f, p in zip(futures, parts[1:]):
        outs.append(_result_or_rerun(program, w, f, p, run_serial))
    return concat_outputs(outs)


def _result_or_rerun(program, w: _Workers, future, xs: list, run_serial):
    """A worker's outputs, or the share run here when the worker failed (its error is then the serial
    run's own); a killed worker breaks the pool, which is dropped: the next predict forks anew."""
    if future is not None:
        try:
            return future.result()
        except BrokenProcessPool:
            pass
        except Exception:  # noqa: BLE001 -- rerun here
            return run_serial(program, xs)
    with _LOCK:
        if program._workers is w:
            w.close()
            program._workers = None
    return run_serial(program, xs)


def concat_outputs(parts: list[list[Tensor]]) -> list[Tensor]:
    """The output Tensors of consecutive pieces of a batch, joined along the batch."""
    if len(parts) == 1:
        return parts[0]
    return [Tensor(np.concatenate([p[j].data for p in parts]), parts[0][j].fmt) for j in range(len(parts[0]))]


def worker_pids(program) -> list[int]:
    """The process ids of the program's workers (none before its first parallel run): for CPU accounting."""
    w = program._workers
    return sorted(w.pool._processes or ()) if w is not None else []
