"""C-simulation build of large designs: an SFC-sized MLP (784-256-256-256-10, 330 k weights) and a CNV-sized
CNN (Brevitas bnn_pynq CNV's shape: 3x32x32 input, conv 64-64-pool-128-128-pool-256-256, FC 512-512-10,
1.5 M weights), built in plain torch with 2-bit weights from the fxflow config.  Prints per design: weights,
weight-header bytes written (and the part the C simulation compiles), the C-sim build's wall and CPU time, the peak RSS of one compiler process, and
whether the C simulation equals `predict` bit for bit.  Every build is cold (a fresh cache).

    .venv/bin/python benchmarks/csim_build.py [--designs sfc,cnv] [--jobs 2] [--samples 10]
    .venv/bin/python benchmarks/csim_build.py --before [--before-timeout 900] [--memory-limit-gb 8] [--before-jobs 1]

`--before` also builds each project with the previous weight form (the C simulation compiling the
fixed-point literal arrays, one constructor call per weight), under a timeout and an address-space limit
so that it cannot take the machine's memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CONFIG = {"model": {"precision": "ap_fixed<8,3>", "input": "ap_fixed<8,1>", "weight": "ap_fixed<2,1>",
                    "bias": "ap_fixed<8,3>"}}

# Run in a child process: the build's own resource usage (its compilers are its children).
_BUILD = """
import json, resource, sys, time
from fxflow.lowering.hls import csim
t0 = time.perf_counter()
csim.build(sys.argv[1], jobs=int(sys.argv[2]), verbose=False)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024}))
"""


def sfc():
    from torch import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)), (1, 28, 28)


def cnv():
    from torch import nn

    def conv(i, o):
        return [nn.Conv2d(i, o, 3), nn.ReLU()]

    return nn.Sequential(*conv(3, 64), *conv(64, 64), nn.MaxPool2d(2), *conv(64, 128), *conv(128, 128),
                         nn.MaxPool2d(2), *conv(128, 256), *conv(256, 256), nn.Flatten(), nn.Linear(256, 512),
                         nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)), (3, 32, 32)


DESIGNS = {"sfc": sfc, "cnv": cnv}


def _build(project: Path, jobs: int, timeout: float | None, mem_gb: float | None) -> dict:
    """Cold C-sim build of `project` in a child process; a timeout or a compiler failure is reported."""
    def limit():
        if mem_gb:
            cap = int(mem_gb * (1 << 30))
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    proc = subprocess.Popen([sys.executable, "-c", _BUILD, str(project), str(jobs)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=limit, start_new_session=True)
    seen_mb, start = 0.0, time.monotonic()
    while True:  # poll: the largest process of the build's session so far (a build cut off has no rusage)
        try:
            out, err = proc.communicate(timeout=1.0)
            break
        except subprocess.TimeoutExpired:
            seen_mb = max(seen_mb, _session_rss_mb(proc.pid))
            if timeout is not None and time.monotonic() - start > timeout:
                os.killpg(proc.pid, signal.SIGKILL)  # the child's own session: it and its compilers
                proc.communicate()
                return {"failed": f"timeout after {timeout:.0f} s", "rss_mb": seen_mb}
    if proc.returncode != 0:
        low = err.lower()
        why = "out of memory" if ("memory" in low or "killed" in low or "bad_alloc" in low) else "failed"
        return {"failed": f"{why} (exit {proc.returncode}) after {time.monotonic() - start:.0f} s",
                "rss_mb": seen_mb, "log": err[-2000:]}
    return json.loads(out.strip().splitlines()[-1])


def _session_rss_mb(sid: int) -> float:
    """The largest resident set (MB) of the processes in session `sid` (Linux /proc; 0 elsewhere)."""
    best = 0
    for d in Path("/proc").glob("[0-9]*"):
        try:
            stat = (d / "stat").read_text()
            if int(stat[stat.rindex(")") + 2:].split()[3]) != sid:  # fields after "(comm)": state ppid pgrp session
                continue
            rss = next(line for line in (d / "status").read_text().splitlines() if line.startswith("VmRSS:"))
            best = max(best, int(rss.split()[1]))
        except (OSError, ValueError, StopIteration):
            continue
    return best / 1024


def _weight_bytes(project: Path) -> tuple[int, int]:
    """Bytes of the weight headers written, and of the part the C simulation compiles (before `#else`: the
    `__SYNTHESIS__` literal arrays are skipped by the preprocessor)."""
    total = sim = 0
    for p in (project / "firmware" / "weights").glob("*.h"):
        text = p.read_text()
        total += len(text)
        sim += len(text.split("\n#else\n", 1)[0])
    return total, sim


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--designs", default="sfc,cnv")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--before", action="store_true", help="also build with the previous (literal) weight form")
    ap.add_argument("--before-timeout", type=float, default=900.0)
    ap.add_argument("--before-jobs", type=int, default=1, help="parallel compilers of a --before build")
    ap.add_argument("--memory-limit-gb", type=float, default=8.0, help="address-space limit of a --before build")
    args = ap.parse_args()
    import torch

    import importlib

    import fxflow
    from fxflow.lowering.hls import csim

    emit_cpp = importlib.import_module("fxflow.lowering.hls.emit_cpp")  # the module (the package exports a function)

    rows = []
    with tempfile.TemporaryDirectory(prefix="fxflow_csim_bench_") as tmp:
        for name in args.designs.split(","):
            torch.manual_seed(0)
            model, shape = DESIGNS[name]()
            design = fxflow.compile(model.eval(), torch.zeros(1, *shape), config=CONFIG)
            n_weights = sum(p.numel() for p in model.parameters() if p.dim() > 1)
            x = np.random.default_rng(0).uniform(-1, 1, size=(args.samples, *shape))
            forms = [("compact", None)] + ([("literal (before)", lambda fmt: None)] if args.before else [])
            for form, storage in forms:
                project = Path(tmp) / f"{name}_{form.split()[0]}"
                saved = emit_cpp.storage_int
                if storage is not None:
                    emit_cpp.storage_int = storage
                try:
                    design.write(project)
                finally:
                    emit_cpp.storage_int = saved
                os.environ["FXFLOW_CACHE_DIR"] = str(Path(tmp) / f"cache_{name}_{form.split()[0]}")
                before = storage is not None
                res = _build(project, args.before_jobs if before else args.jobs, args.before_timeout if before else None,
                             args.memory_limit_gb if before else None)
                equal = "-"
                if "failed" not in res:
                    got = csim.run(project, x.reshape(len(x), -1))
                    want = np.asarray(design.predict(x, raw=True)).reshape(len(x), -1)
                    equal = "yes" if np.array_equal(got, want) else f"NO ({int((got != want).sum())} values)"
                written, compiled = _weight_bytes(project)
                rows.append((name, f"{n_weights:,}", form, f"{written / 1e6:.1f} MB", f"{compiled / 1e6:.1f} MB",
                             res.get("failed") or f"{res['wall']:.1f} s", "-" if "failed" in res else f"{res['cpu']:.1f} s",
                             (">" if "failed" in res else "") + f"{res['rss_mb']:.0f} MB", equal))
                print(" | ".join(rows[-1]), flush=True)
                if "log" in res:
                    print(res["log"], file=sys.stderr)
    head = ("design", "weights", "weight form", "weight headers", "C-sim compiles", "build wall", "build CPU", "peak RSS (1 compiler)",
            f"C-sim == predict ({args.samples} samples)")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    print()
    for r in [head, tuple("-" * w for w in widths)] + rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    print(f"\n{args.jobs} parallel compiler jobs, {os.cpu_count()} cpus, load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
