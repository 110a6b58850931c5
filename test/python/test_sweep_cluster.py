"""Sweeps on an existing Ray cluster: a real head node (`ray start --head`, one CPU, loopback only, a temp dir of
its own) that `fxflow.sweep(address=...)` and `fxflow sweep --address` join; their records equal the serial run's.
A point whose worker dies is rerun, or recorded as failed when it kills every worker it gets; the other points
complete and the cache gets no entry for the failed one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import fxflow
from test_sweep import BASE, EX, _same, jet  # noqa: F401 (jet: the shared model-and-data fixture)
from toolchains import needs

START_SECONDS = 90  # a head node starts in ~5 s on a quiet machine; a loaded 2-core CI runner is slower


@dataclass
class Cluster:
    address: str
    temp: Path  # the node's --temp-dir: its session's logs name every driver that connected

    def drivers(self) -> list[Path]:
        """This process's driver logs in the node's session (one per ray.init that reached this node)."""
        return sorted((self.temp / "session_latest" / "logs").glob(f"python-core-driver-*_{os.getpid()}.log"))


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _group(pgid: int) -> list[int]:
    """The processes of a process group (Linux /proc), zombies included."""
    pids = []
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and os.getpgid(int(name)) == pgid:
                pids.append(int(name))
        except ProcessLookupError:
            pass
    return pids


@pytest.fixture(scope="module")
def cluster():
    """A one-CPU Ray head node on 127.0.0.1 (free ports, 100 MB object store, no dashboard), stopped afterwards
    by killing its process group — never `ray stop`, which stops every Ray node of the user on the machine."""
    needs("ray")
    temp = Path(tempfile.mkdtemp(prefix="fxray"))  # short: Ray's socket paths under it must fit 107 bytes
    port, agent_port = _free_ports(2)
    log = temp / "head.log"
    # single-node mode: the head's address stays 127.0.0.1 instead of the machine's network address; no token
    # authentication (as on a machine without ~/.ray/auth_token, such as CI): the driver here sends none
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_AUTH_MODE": "disabled"}
    cmd = [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
           f"--port={port}", f"--dashboard-agent-listen-port={agent_port}", "--num-cpus=1",
           f"--object-store-memory={100 * 2**20}", "--include-dashboard=false", "--disable-usage-stats",
           f"--temp-dir={temp}"]
    with open(log, "w") as out:
        head = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + START_SECONDS
        while "Ray runtime started" not in log.read_text():
            if head.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start --head did not start (exit {head.poll()}):\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield Cluster(f"127.0.0.1:{port}", temp)
    finally:
        try:  # the head's daemons and the workers its raylet started share the group `ray start` leads
            os.killpg(head.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        head.wait(timeout=30)
        deadline = time.monotonic() + 15  # killed processes are gone once their new parent has reaped them
        while (left := _group(head.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        shutil.rmtree(temp, ignore_errors=True)
        assert not left, f"processes of the Ray test node still running: {left}"


def test_sweeps_on_a_cluster_equal_the_serial_run(cluster, jet, tmp_path, capsys):
    from fxflow.cli import main

    model, x = jet
    space = {"model.reuse_factor": [1, 4], "model.precision": ["ap_fixed<16,6>", "ap_fixed<8,4>"]}
    serial = fxflow.sweep(model, space, data=x, config=BASE, executor="serial", cache=False, progress=False)
    assert not cluster.drivers()
    on = fxflow.sweep(model, space, data=x, config=BASE, address=cluster.address, cache=False)
    assert on.executor == "ray" and on.computed == 4 and not on.failed() and _same(on.records, serial.records)
    assert "4/4 points (0 cached, 0 failed)" in capsys.readouterr().err  # the progress bar of a Ray run
    assert len(cluster.drivers()) == 1  # it joined this node, it did not start an instance of its own
    # the CLI: a bundled example (its own config and inputs), the same points as a file, no progress bar
    (tmp_path / "space.json").write_text(json.dumps(space))
    assert main(["sweep", "jet_tagger", "--space", str(tmp_path / "space.json"), "--samples", "100", "--address",
                 cluster.address, "--no-cache", "--quiet", "--out", str(tmp_path / "r.json")]) == 0
    out, err = capsys.readouterr()
    assert "4 points (0 failed): 4 computed on ray" in out and "[sweep" not in err
    assert len(cluster.drivers()) == 2
    cli_serial = fxflow.sweep(EX.make_model(), space, data=EX.make_inputs(100), config=EX.DEFAULT_CONFIG,
                              executor="serial", cache=False, progress=False)
    assert _same(json.loads((tmp_path / "r.json").read_text())["records"], cli_serial.records)
    with pytest.raises(fxflow.ConfigError, match="executor 'ray' or 'auto'"):
        fxflow.sweep(model, space, data=x, address=cluster.address, executor="serial")


def _crashing_metric(marks: str, limit: float):
    """max_abs, except that it kills its own process (a Ray worker): once for the first accurate point that
    finds the file `once` (which it removes), and every time for a point whose error exceeds `limit` while the
    file `always` exists.  A closure, so Ray ships it by value and the cluster's workers need not import tests."""

    def crash_max_abs(y, ref):
        err = float(np.max(np.abs(y - ref)))
        if err <= limit:
            try:
                os.remove(os.path.join(marks, "once"))
                os._exit(17)
            except FileNotFoundError:
                pass
        elif os.path.exists(os.path.join(marks, "always")):
            os._exit(17)
        return err

    return crash_max_abs


def test_a_killed_worker_is_rerun_or_recorded_and_never_cached(cluster, jet, tmp_path, capsys):
    model, x = jet
    marks = tmp_path / "marks"
    marks.mkdir()
    (marks / "once").touch()
    (marks / "always").touch()
    space = {"model.precision": ["ap_fixed<16,6>", "ap_fixed<12,5>", "ap_fixed<10,4>", "ap_fixed<4,2>"]}
    kw = dict(data=x, config=BASE, metric=_crashing_metric(str(marks), 0.25), cache_dir=tmp_path / "cache")
    r = fxflow.sweep(model, space, address=cluster.address, **kw)
    assert not (marks / "once").exists()  # an accurate point killed its worker once: rerun, recorded ok
    assert [rec["status"] for rec in r.records] == ["ok", "ok", "ok", "error"]
    crashed = r.records[3]
    assert crashed["model.precision"] == "ap_fixed<4,2>" and crashed["error_type"] == "WorkerCrashedError"
    assert "Ray could not run this point (worker reruns: 1)" in crashed["error"]
    assert all(rec["crash_max_abs"] == rec["max_abs"] for rec in r.records[:3])
    assert "4/4 points (0 cached, 1 failed)" in capsys.readouterr().err
    assert len(list((tmp_path / "cache").glob("*.json"))) == 3  # no entry for the crashed point
    # a rerun serves the three from the cache and computes the crashed point (now without the crash)
    (marks / "always").unlink()
    again = fxflow.sweep(model, space, executor="serial", progress=False, **kw)
    assert (again.cache_hits, again.computed) == (3, 1) and not again.failed()
    assert [rec["cached"] for rec in again.records] == [True, True, True, False]
    assert _same(again.records[:3], r.records[:3]) and again.records[3]["crash_max_abs"] > 0.25
