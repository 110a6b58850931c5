"""Sweep executors: the points run in this process (`serial`) or as Ray tasks (`ray`), with one progress bar.

Both call `fxflow.dse.eval.evaluate` on the same `Job`, so they give the same records; results are put
back in point order whatever the order they complete in.  Ray: `ray.init(address=...)` joins an
existing cluster (whose workers must have fxflow installed; a loopback address such as 127.0.0.1:6379 is
kept as it is, in the same single-node mode as below), otherwise a local instance with `num_cpus`
workers (default: the machine's cores, at most one per point) listening on the loopback interface only
(Ray's single-node mode, set before Ray is first imported), a 512 MB object store, no dashboard and no
worker log forwarding, shut down afterwards; an already initialized Ray is used as it is and left running.  The
job (imported program, data) is shipped once with `ray.put`; each point is one task.  A point whose worker
dies (killed, out of memory, a node lost) is run again up to `WORKER_RETRIES` times, then recorded as failed
with the reason; the other points go on.
"""

from __future__ import annotations

import os
import sys
import time

from fxflow.dse.eval import Job, evaluate
from fxflow.errors import ToolchainError

EXECUTORS = ("auto", "ray", "serial")
# a local instance's shared-memory object store: the job (program text, data) and the records fit many times;
# Ray's default (30% of the machine's memory) is more than a sweep needs on a shared machine
OBJECT_STORE_BYTES = 512 * 2**20
# reruns of a point whose worker died (Ray's max_retries; a point's own errors are records, never retried):
# one rerun recovers a killed or preempted worker, a point that kills every worker it gets fails after two tries
WORKER_RETRIES = 1
LOOPBACK = ("127.", "localhost", "[::1]", "::1")


def ray_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None  # without importing it (see run_ray)


class Progress:
    """A one-line progress bar on stderr: points done of all, cached, failed, elapsed time."""

    def __init__(self, total: int, cached: int, failed: int, enabled: bool, label: str):
        self.total, self.done, self.cached, self.failed = total, cached, cached, failed
        self.enabled, self.label, self.t0 = enabled, label, time.perf_counter()
        self.tty = enabled and sys.stderr.isatty()  # a log gets one line per tenth instead of redraws
        self._shown = -1
        self._show()

    def update(self, record: dict) -> None:
        self.done += 1
        self.failed += record["status"] != "ok"
        self._show()

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr, flush=True)

    def _show(self) -> None:
        tenth = 10 * self.done // max(self.total, 1)
        if not self.enabled or (not self.tty and tenth == self._shown):
            return
        self._shown = tenth
        width = 30
        filled = width * self.done // max(self.total, 1)
        start = "\r" if self.tty else ""
        print(f"{start}[sweep {self.label}] |{'#' * filled}{'.' * (width - filled)}| "
              f"{self.done}/{self.total} points ({self.cached} cached, {self.failed} failed) "
              f"{time.perf_counter() - self.t0:.1f} s", end="" if self.tty else "\n", file=sys.stderr, flush=True)


def run_serial(job: Job, todo: list[tuple[int, dict]], bar: Progress) -> dict[int, dict]:
    results = {}
    for index, point in todo:
        results[index] = evaluate(job, index, point)
        bar.update(results[index])
    return results


def run_ray(job: Job, todo: list[tuple[int, dict]], bar: Progress, address: str | None = None,
            num_cpus: int | None = None) -> dict[int, dict]:
    # a local instance on the loopback interface only (Ray's single-node mode), not the LAN's IP; for a cluster
    # on loopback the same mode keeps Ray from rewriting 127.0.0.1 in `address` to the LAN's IP
    single_node = not address or address.startswith(LOOPBACK)
    if single_node:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise ToolchainError("executor 'ray' needs Ray (pip install -e '.[sweep]', which pins ray==2.60.0)") from None
    if single_node:  # Ray read the variable when it was first imported (perhaps before us): set its constant too
        from ray._private import ray_constants  # third-party internal: the only switch for single-node mode

        ray_constants.ENABLE_RAY_CLUSTER = False
    started = not ray.is_initialized()
    if started:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            if address:
                ray.init(address=address, log_to_driver=False, logging_level="ERROR")
            else:
                ray.init(num_cpus=num_cpus or max(1, min(os.cpu_count() or 1, len(todo))), include_dashboard=False,
                         log_to_driver=False, logging_level="ERROR", object_store_memory=OBJECT_STORE_BYTES)
        except Exception as e:  # Ray raises ConnectionError, RuntimeError, ValueError, ...
            where = f"reach the Ray cluster at {address}" if address else "start a local Ray instance"
            raise ToolchainError(f"could not {where} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                                 "run the sweep with executor='serial' (fxflow sweep --serial)") from None
    try:
        job_ref = ray.put(job)
        task = ray.remote(num_cpus=1, max_retries=WORKER_RETRIES)(evaluate)
        pending = {task.remote(job_ref, index, point): (index, point) for index, point in todo}
        results = {}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                index, point = pending.pop(ref)
                try:
                    record = ray.get(ref)
                except Exception as e:  # the worker died on every try (out of memory, killed): record it, go on
                    first = str(e).splitlines()[0] if str(e) else type(e).__name__
                    record = {"point": index, **point, "status": "error",
                              "error": f"Ray could not run this point (worker reruns: {WORKER_RETRIES}): {first}",
                              "error_type": type(e).__name__, "seconds": None}
                results[index] = record
                bar.update(record)
        return results
    finally:
        if started:
            ray.shutdown()
