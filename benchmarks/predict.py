"""Emulator throughput side by side: fxflow predict vs hls4ml 1.3's predict vs float PyTorch, on the jet
tagger MLP (16->64->32->32->5), with 1 and 2 BLAS/OpenMP threads, for fxflow's default formats and for the
config hls4ml's `config_from_pytorch_model` returns (each product assigned to accum_t before it is added);
then the bundled particle transformer and LSTM tagger examples (their default configs) against float PyTorch.

Each thread setting (OPENBLAS/OMP/MKL_NUM_THREADS, torch's threads and FXFLOW_THREADS, the most cores fxflow
runs shares of the batch on, in the caller and forked worker processes: fewer when the load average leaves
fewer cores idle, printed) runs in a child process, because OpenBLAS reads OPENBLAS_NUM_THREADS when it loads.
The children of the settings alternate (`--rounds`, best of all): on a shared machine the load drifts
within a minute, and one child after the other would credit the drift to the thread setting.  fxflow's
rates per CPU second (all threads and worker processes counted) are printed too: steadier than wall time under load.
hls4ml's predict is its compiled C++ called once over the batch (no BLAS, one thread): it is built and
timed once, in this process, and is the denominator of both thread columns.  Best of 3 everywhere.

    .venv/bin/python benchmarks/predict.py [--samples 100000] [--hls4ml-samples 10000] [--seq-samples 10000]
                                           [--only mlp|sequence] [--rounds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

PRECISION = "ap_fixed<16,6>"
THREADS = (1, 2)
SEQUENCE_EXAMPLES = ("transformer", "lstm_tagger")


def _best(fn, repeats: int = 3):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _best_cpu(fn, pids=lambda: ()) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds of the whole process and its worker processes `pids()`, every
    thread counted) of `fn`, best of 3."""
    wall, cpu = float("inf"), float("inf")
    for _ in range(3):
        before = {p: _proc_cpu(p) for p in pids()}
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        t, c = time.perf_counter() - t0, time.process_time() - c0
        c += sum(_proc_cpu(p) - before.get(p, 0.0) for p in pids())
        wall, cpu = min(wall, t), min(cpu, c)
    return wall, cpu


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc; 0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _configs(model):
    import hls4ml

    with contextlib.redirect_stdout(io.StringIO()):
        h = hls4ml.utils.config_from_pytorch_model(model, (16,), default_precision=PRECISION)
    return {"default formats": {"model": {"precision": PRECISION}}, "hls4ml config": h}


def child(samples: int, seq_samples: int, only: str | None = None) -> None:
    """One thread setting (from the environment): fxflow for both configs, then float PyTorch; the same for
    the token / time-step examples (`only`: one of the two parts)."""
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    res = {"fxflow threads": []}
    if only != "sequence":
        res.update(_child_mlp(samples))
    if only != "mlp":
        res.update(_child_sequence(seq_samples))
    print(json.dumps(res))


def _child_mlp(samples: int) -> dict:
    import torch

    import fxflow
    from fxflow.emulator import idle_cores, predict_threads
    from fxflow.emulator.workers import worker_pids
    from fxflow.examples import jet_tagger

    model = jet_tagger.make_model()
    x = jet_tagger.make_inputs(samples)
    res = {"fxflow threads": []}
    for name, cfg in _configs(model).items():
        design = fxflow.compile(model, x[:1], config=cfg)
        design.predict(x[:100])
        res["fxflow threads"].append(min(predict_threads(), idle_cores()))
        t, cpu = _best_cpu(lambda: design.predict(x, raw=True), lambda: worker_pids(design.program))
        res[name], res[name + " CPU"] = samples / t, samples / cpu
    xt = torch.from_numpy(x.astype(np.float32))
    with torch.inference_mode():
        model(xt[:100])
        t, _ = _best(lambda: model(xt))
    res["float PyTorch"] = samples / t
    return res


def _child_sequence(seq_samples: int) -> dict:
    import torch

    import fxflow
    from fxflow.examples import load

    res = {}
    for name in SEQUENCE_EXAMPLES:
        ex = load(name)
        m, xs = ex.make_model(), ex.make_inputs(seq_samples)
        design = fxflow.compile(m, xs[:1], config=ex.DEFAULT_CONFIG)
        design.predict(xs[:16])
        t, _ = _best(lambda: design.predict(xs, raw=True))
        res[name] = seq_samples / t
        xt = torch.as_tensor(xs, dtype=torch.float32)
        with torch.inference_mode():
            m(xt[:16])
            t, _ = _best(lambda: m(xt))
        res[name + " float PyTorch"] = seq_samples / t
    return res


def _hls4ml(model, x, cfg, out: Path):
    """hls4ml's predict throughput and outputs for the same model and config."""
    import hls4ml

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hm = hls4ml.converters.convert_from_pytorch_model(model, hls_config=cfg, output_dir=str(out),
                                                          backend="Vitis", io_type="io_parallel")
        hm.compile()
        xs = np.ascontiguousarray(x.astype(np.float32))
        hm.predict(xs[:10])
        t, y = _best(lambda: np.asarray(hm.predict(xs), dtype=np.float64))
    return len(x) / t, y


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--hls4ml-samples", type=int, default=10_000)
    ap.add_argument("--seq-samples", type=int, default=10_000, help="inputs of the transformer / LSTM examples")
    ap.add_argument("--only", choices=("mlp", "sequence"), help="run one part: the jet MLP (with hls4ml) or "
                    "the transformer / LSTM examples against float PyTorch")
    ap.add_argument("--rounds", type=int, default=2, help="children per thread setting, run alternately (1, 2, 1, "
                    "2, ...) so that a change of the machine's load does not favour one setting; best of all")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.samples, args.seq_samples, args.only)
        return
    rows: dict = {t: {} for t in THREADS}
    for _ in range(max(1, args.rounds)):
        for t in THREADS:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t),
                       FXFLOW_THREADS=str(t))
            cmd = [sys.executable, __file__, "--child", "--samples", str(args.samples), "--seq-samples",
                   str(args.seq_samples)] + (["--only", args.only] if args.only else [])
            out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
            for key, value in json.loads(out.strip().splitlines()[-1]).items():
                if key == "fxflow threads":
                    rows[t].setdefault(key, []).extend(v for v in value if v not in rows[t].get(key, []))
                else:
                    rows[t][key] = max(value, rows[t].get(key, 0.0))
    if args.only != "sequence":
        _print_mlp(args, rows)
    if args.only != "mlp":
        _print_sequence(args, rows)


def _print_mlp(args, rows: dict) -> None:
    import hls4ml

    import fxflow
    from fxflow.examples import jet_tagger

    model = jet_tagger.make_model()
    x = jet_tagger.make_inputs(args.hls4ml_samples)
    cfg = _configs(model)["hls4ml config"]
    with tempfile.TemporaryDirectory() as tmp:
        h_rate, yh = _hls4ml(model, x, cfg, Path(tmp) / "hls4ml")
    y = np.asarray(fxflow.compile(model, x[:1], config=cfg).predict(x), dtype=np.float64).reshape(yh.shape)

    load = os.getloadavg()[0]
    print(f"jet tagger MLP 16-64-32-32-5, {PRECISION}, {args.samples:,} samples (hls4ml {hls4ml.__version__}: "
          f"{args.hls4ml_samples:,}); samples/s, best of 3; load average {load:.1f} on {os.cpu_count()} cores")
    head = f"{'engine':34s}" + "".join(f"{f'{t} thread' + ('s' if t > 1 else ''):>14s}{'vs hls4ml':>11s}"
                                        for t in THREADS)
    print(head)
    print("-" * len(head))
    for name in ("default formats", "hls4ml config"):
        cells = "".join(f"{rows[t][name]:14,.0f}{rows[t][name] / h_rate:10.0f}x" for t in THREADS)
        print(f"{'fxflow predict, ' + name:34s}{cells}")
    print(f"{'hls4ml predict (C++, 1 thread)':34s}" + "".join(f"{h_rate:14,.0f}{1:10.0f}x" for _ in THREADS))
    cells = "".join(f"{rows[t]['float PyTorch']:14,.0f}{rows[t]['float PyTorch'] / h_rate:10.0f}x" for t in THREADS)
    print(f"{'float PyTorch':34s}{cells}")
    print("fxflow predict per CPU second (the CPU time of every thread and worker process counted; samples/s): " + "; ".join(
        f"{name} " + " / ".join(f"{rows[t][name + ' CPU']:,.0f}" for t in THREADS) for name in ("default formats",
                                                                                              "hls4ml config"))
          + f" ({' / '.join(map(str, THREADS))} threads)")
    print(f"fxflow predict (hls4ml config) != hls4ml predict: {int(np.sum(y != yh))} of {y.size} values")
    print("cores fxflow ran the MLP on (FXFLOW_THREADS: the caller and forked worker processes, fewer on busy cores;"
          " default / hls4ml config): "
          + ", ".join(f"{t} -> {'/'.join(map(str, rows[t]['fxflow threads']))}" for t in THREADS))


def _print_sequence(args, rows: dict) -> None:
    load = os.getloadavg()[0]
    print(f"\nexamples with tokens / time steps, default configs, {args.seq_samples:,} samples; samples/s, best of 3; "
          f"load average {load:.1f} on {os.cpu_count()} cores")
    head = f"{'engine':34s}" + "".join(f"{f'{t} thread' + ('s' if t > 1 else ''):>14s}{'vs torch':>11s}"
                                        for t in THREADS)
    print(head)
    print("-" * len(head))
    for name in SEQUENCE_EXAMPLES:
        for label, key in ((f"fxflow predict, {name}", name), (f"float PyTorch, {name}", name + " float PyTorch")):
            cells = "".join(f"{rows[t][key]:14,.0f}{rows[t][key] / rows[t][name + ' float PyTorch']:10.2f}x"
                            for t in THREADS)
            print(f"{label:34s}{cells}")


if __name__ == "__main__":
    main()
