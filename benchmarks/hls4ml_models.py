"""fxflow against hls4ml 1.3 itself on the PyTorch models of hls4ml's own test suite (the table
test/python/hls4ml_test_models.py): for every model and io type, hls4ml's `config_from_pytorch_model` dict
(granularity 'name', backend Vitis, as hls4ml's tests mostly build it) is given to hls4ml (convert, compile,
predict) and, unchanged, to `fxflow.compile`; prints per model x io type the number of values where fxflow's
predict differs from hls4ml's, whether fxflow's C simulation equals its predict, or why hls4ml / fxflow failed.

    nohup .venv/bin/python benchmarks/hls4ml_models.py --out build/hls4ml_models > hls4ml_models.log 2>&1 &
    .venv/bin/python benchmarks/hls4ml_models.py --out build/hls4ml_models --table   # the table from the results

hls4ml's builds (tens of seconds each) are cached under OUT/hls4ml/<model>.<io>/ (its predictions and, when it
failed, the reason), fxflow's results in OUT/results.json: a rerun only redoes what changed (--refresh-fxflow
redoes fxflow's side, e.g. after a fix or a change of a model's keywords).  Each model's dict is built with the
`config_from_pytorch_model` keywords hls4ml's own test of it passes (`hls4ml_kwargs`; for both tools).  hls4ml
returns channels-last tensors where its ChannelsLastConversion is 'full' or 'internal' (and is given channels-last
inputs under 'internal', as hls4ml's tests give them); the comparison reads hls4ml's output shape to put fxflow's
PyTorch-layout result in the same order.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test" / "python"))

IO_TYPES = ("io_parallel", "io_stream")
# rows with a note in the table (none now: LayerNorm's hls4ml arithmetic is merged)
PENDING: dict[str, str] = {}


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:160]


def run_hls4ml(name: str, io_type: str, xs, granularity: str, cache: Path) -> dict:
    """hls4ml's predictions (cached): {'y': array, 'shape': hls4ml's output shape} or {'failed': reason}.
    Built in a child process: hls4ml's C++ may abort (its assertions) and would take this process with it.
    Rebuilt when the model's hls4ml keywords (`hls4ml_kwargs`, kept in kwargs.json) changed."""
    from hls4ml_test_models import hls4ml_kwargs

    npz, failed, stamp = cache / "predict.npz", cache / "failed.txt", cache / "kwargs.json"
    keywords = json.dumps(hls4ml_kwargs(name, io_type), sort_keys=True)
    if (stamp.read_text() if stamp.exists() else "{}") != keywords:
        npz.unlink(missing_ok=True)
        failed.unlink(missing_ok=True)
    if not npz.exists() and not failed.exists():
        cache.mkdir(parents=True, exist_ok=True)
        stamp.write_text(keywords)
        np.savez(cache / "inputs.npz", **{f"x{i}": x for i, x in enumerate(xs)})
        proc = subprocess.run([sys.executable, __file__, "--build-one", name, io_type, granularity, str(cache)],
                              capture_output=True, text=True)
        if not npz.exists() and not failed.exists():
            lines = [ln for ln in (proc.stderr or "").splitlines() if "Assertion" in ln or "Error" in ln]
            why = lines[0][lines[0].find("Assertion"):] if lines else f"exit status {proc.returncode}"
            failed.write_text(f"crashed: {why}"[:200] + "\n")
    if npz.exists():
        data = np.load(npz)
        if all(np.array_equal(data[f"x{i}"], x) for i, x in enumerate(xs)):
            return {"y": data["y"], "shape": tuple(int(v) if v.isdigit() else v for v in map(str, data["shape"]))}
        npz.unlink()
        return run_hls4ml(name, io_type, xs, granularity, cache)
    return {"failed": failed.read_text().strip()}


def _build_one(name: str, io_type: str, granularity: str, cache: Path) -> None:
    """The child process of run_hls4ml: hls4ml's predictions of the inputs saved in `cache`, or the reason."""
    from hls4ml_test_models import _model, hls4ml_kwargs, hls4ml_predict

    data = np.load(cache / "inputs.npz")
    xs = [data[f"x{i}"] for i in range(len(data.files))]
    model, shapes = _model(name)
    try:
        y, shape = hls4ml_predict(model, shapes, xs, io_type, cache / "prj", granularity,
                                  hls4ml_kwargs(name, io_type))
    except Exception as exc:  # noqa: BLE001 - hls4ml's own failures are results of this benchmark
        (cache / "failed.txt").write_text(_short(exc) + "\n")
        return
    np.savez(cache / "predict.npz", y=y, shape=np.array([str(v) for v in shape]),
             **{f"x{i}": x for i, x in enumerate(xs)})


def run_fxflow(name: str, io_type: str, xs, granularity: str, hls: dict, out: Path, csim: bool) -> dict:
    import torch

    import fxflow
    from hls4ml_test_models import _model, _one, as_hls4ml_layout, hls4ml_config, hls4ml_kwargs

    model, shapes = _model(name)
    try:
        config = hls4ml_config(model, shapes, granularity, **hls4ml_kwargs(name, io_type))
    except Exception:  # noqa: BLE001 - hls4ml cannot parse the model: no dict to compile with
        return {}
    result: dict = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            example = _one([torch.from_numpy(x[:1]).float() for x in xs])
            design = fxflow.compile(model, example, copy.deepcopy(config), io_type=io_type,
                                    output_dir=out / "fxflow" / f"{name}.{io_type}")
    except Exception as exc:  # noqa: BLE001 - a refusal is a result of this benchmark
        return {"refused": _short(exc)}
    y = np.asarray(design.predict(_one(xs)), dtype=np.float64)
    if "y" in hls:
        got = as_hls4ml_layout(y, hls["shape"])
        want = hls["y"].reshape(len(y), -1)
        if got.shape != want.shape:
            result["differ"] = f"shape {list(got.shape)} vs hls4ml {list(want.shape)}"
        else:
            result["differ"] = int(np.sum(got != want))
            result["size"] = int(got.size)
            result["max_abs"] = float(np.abs(got - want).max()) if got.size else 0.0
    if csim:
        try:
            raw = design.predict(_one(xs), raw=True)
            raw_c = design.csim(_one(xs), raw=True, verbose=False)
            same = all(np.array_equal(a, b) for a, b in zip(raw if isinstance(raw, list) else [raw],
                                                            raw_c if isinstance(raw_c, list) else [raw_c]))
            result["csim"] = "equal" if same else "DIFFERS"
        except Exception as exc:  # noqa: BLE001
            result["csim"] = f"failed: {_short(exc)}"
    return result


def _cell(r: dict | None) -> str:
    if r is None:
        return "-"
    if "hls4ml_failed" in r:
        return f"hls4ml failed ({r['hls4ml_failed'][:60]})"
    if "refused" in r:
        return f"fxflow refused ({r['refused'][:60]})"
    d = r.get("differ")
    text = f"{d}/{r['size']}" if isinstance(d, int) else str(d)
    if r.get("csim") and r["csim"] != "equal":
        text += f", C-sim {r['csim'][:50]}"
    return text


def print_table(results: dict, names: list[str], io_types) -> None:
    width = max(len(n) for n in names)
    print(f"| {'model'.ljust(width)} | " + " | ".join(io_types) + " | C-sim == predict |")
    print(f"|{'-' * (width + 2)}|" + "|".join("-" * (len(t) + 2) for t in io_types) + "|---|")
    for name in names:
        cells = [_cell(results.get(f"{name}.{io}")) for io in io_types]
        sims = [results.get(f"{name}.{io}", {}).get("csim") for io in io_types]
        sim = "yes" if all(s == "equal" for s in sims) else ("-" if not any(sims) else "no")
        note = f" ({PENDING[name]})" if name in PENDING else ""
        print(f"| {name.ljust(width)} | " + " | ".join(cells) + f" | {sim}{note} |")
    rows = [results.get(f"{n}.{io}") for n in names for io in io_types]
    rows = [r for r in rows if r]
    exact = sum(1 for r in rows if r.get("differ") == 0)
    compared = sum(1 for r in rows if isinstance(r.get("differ"), int))
    print(f"\n{exact} of {compared} compared cases bit-identical; "
          f"{sum(1 for r in rows if 'hls4ml_failed' in r)} hls4ml failures, "
          f"{sum(1 for r in rows if 'refused' in r)} fxflow refusals, "
          f"{sum(1 for r in rows if r.get('csim') == 'equal')} of {sum(1 for r in rows if r.get('csim'))} "
          "C-sims equal to predict")


def main() -> None:
    if sys.argv[1:2] == ["--build-one"]:
        _build_one(*sys.argv[2:5], Path(sys.argv[5]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("build/hls4ml_models"))
    ap.add_argument("--models", default="", help="regular expression selecting model names")
    ap.add_argument("--io", choices=IO_TYPES, action="append", help="io type(s) (default both)")
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--granularity", default="name", choices=("model", "type", "name"))
    ap.add_argument("--no-csim", action="store_true")
    ap.add_argument("--refresh-fxflow", action="store_true", help="recompute fxflow's side of the cached cases")
    ap.add_argument("--hls4ml-dir", type=Path, help="where hls4ml's builds are cached (default OUT/hls4ml)")
    ap.add_argument("--hls4ml-only", action="store_true", help="only fill the cache of hls4ml's builds")
    ap.add_argument("--csim-only", action="store_true",
                    help="only fxflow's C simulation against its predict (no hls4ml; kept with the stored comparison)")
    ap.add_argument("--table", action="store_true", help="only print the table of the stored results")
    args = ap.parse_args()
    from hls4ml_test_models import MODELS, _inputs

    io_types = tuple(args.io or IO_TYPES)
    names = [n for n in MODELS if re.search(args.models, n)]
    store = args.out / "results.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    if not args.table:
        args.out.mkdir(parents=True, exist_ok=True)
        cases = [(n, io) for n in names for io in io_types]
        for i, (name, io_type) in enumerate(cases, 1):
            key = f"{name}.{io_type}"
            if key in results and not args.refresh_fxflow and (not args.csim_only or "csim" in results[key]):
                print(f"[{i}/{len(cases)}] {key}: stored ({_cell(results[key])})", flush=True)
                continue
            xs = _inputs(MODELS[name][1], args.samples, seed=5)
            if args.csim_only:
                r = run_fxflow(name, io_type, xs, args.granularity, {}, args.out, True)
                stored = results.get(key, {})  # hls4ml's side stays; fxflow's is redone
                kept = {k: stored[k] for k in ("differ", "size", "max_abs", "hls4ml_failed") if k in stored}
                results[key] = {**kept, **r}
                store.write_text(json.dumps(results, indent=1, sort_keys=True))
                print(f"[{i}/{len(cases)}] {key}: C-sim {r.get('csim', r.get('refused', 'no dict'))}", flush=True)
                continue
            t0 = time.perf_counter()
            hls = run_hls4ml(name, io_type, xs, args.granularity, (args.hls4ml_dir or args.out / "hls4ml") / key)
            t1 = time.perf_counter()
            if args.hls4ml_only:
                print(f"[{i}/{len(cases)}] {key}: hls4ml {t1 - t0:.1f}s "
                      f"{'failed: ' + hls['failed'] if 'failed' in hls else 'built'}", flush=True)
                continue
            try:
                r = run_fxflow(name, io_type, xs, args.granularity, hls, args.out, not args.no_csim)
            except Exception as exc:  # noqa: BLE001 - fxflow crashed after compiling: a bug, shown as such
                traceback.print_exc()
                r = {"refused": f"crash {_short(exc)}"}
            if "failed" in hls:
                r["hls4ml_failed"] = hls["failed"]
            results[key] = r
            store.write_text(json.dumps(results, indent=1, sort_keys=True))
            print(f"[{i}/{len(cases)}] {key}: hls4ml {t1 - t0:.1f}s, fxflow {time.perf_counter() - t1:.1f}s "
                  f"-> {_cell(r)}", flush=True)
    print()
    print_table(results, names, io_types)


if __name__ == "__main__":
    main()
