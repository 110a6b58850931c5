"""Design-space sweep wall time, side by side in one run: Ray vs serial (cache off), then a rerun from the cache.

    .venv/bin/python benchmarks/sweep.py [--example jet_tagger] [--samples 1000] [--num-cpus N] [--multipliers]

The space is reuse factor x precision x io_type x fc2 reuse factor (54 points on the jet tagger; with
--multipliers also fc1's multiplier: 162 points).  Every run is the whole `fxflow.sweep` call, including the
one model import and, for Ray, starting and stopping the local instance.  Both runs must give the same
records (checked); the cache run fills a fresh cache, then times the rerun served from it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--example", default="jet_tagger")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--num-cpus", type=int, default=None, help="Ray workers (default: the machine's cores)")
    p.add_argument("--multipliers", action="store_true", help="also sweep fc1's multiplier (3x the points)")
    args = p.parse_args()

    import fxflow
    from fxflow.dse.eval import RUN_FIELDS
    from fxflow.examples import load

    ex = load(args.example)
    model, x = ex.make_model(), ex.make_inputs(args.samples)
    space = {"model.reuse_factor": [1, 2, 4], "model.precision": ["ap_fixed<16,6>", "ap_fixed<12,5>", "ap_fixed<8,4>"],
             "io_type": ["io_parallel", "io_stream"], "layers.fc2.reuse_factor": [1, 2, 4]}
    if args.multipliers:
        space["layers.fc1.multiplier"] = ["exact", "mitchell", "drum(k=4)"]
    config = {"model": {"input": "ap_fixed<8,3>", "weight": "ap_fixed<8,2>"}}
    fxflow.compile(model, x[:1], config=config)  # the first compile in a process pays for imports: not timed below
    load_avg = os.getloadavg()[0]
    times, runs = {}, {}
    for executor in ("ray", "serial"):
        t0 = time.perf_counter()
        runs[executor] = fxflow.sweep(model, space, data=x, config=config, executor=executor, cache=False,
                                      num_cpus=args.num_cpus, progress=False)
        times[executor] = time.perf_counter() - t0
    strip = lambda rs: [{k: v for k, v in r.items() if k not in RUN_FIELDS} for r in rs]  # noqa: E731
    same = strip(runs["ray"].records) == strip(runs["serial"].records)
    with tempfile.TemporaryDirectory() as cache:
        fxflow.sweep(model, space, data=x, config=config, executor="serial", cache_dir=cache, progress=False)
        t0 = time.perf_counter()
        cached = fxflow.sweep(model, space, data=x, config=config, executor="ray", cache_dir=cache, progress=False)
        times["cache"] = time.perf_counter() - t0
    n = len(runs["serial"].records)
    point = sum(r["seconds"] for r in runs["serial"].records) / n
    print(f"{args.example}: {n} points, {args.samples} samples each, {os.cpu_count()} cores "
          f"(load average {load_avg:.1f} at the start), {len(runs['serial'].pareto())} on the Pareto front")
    print(f"{'run':<28}{'wall s':>9}{'points/s':>10}")
    for label, key in ((f"Ray ({args.num_cpus or os.cpu_count()} workers, cache off)", "ray"),
                       ("serial (cache off)", "serial"), (f"rerun from the cache ({cached.cache_hits} hits)", "cache")):
        print(f"{label:<28}{times[key]:>9.2f}{n / times[key]:>10.1f}")
    print(f"serial / Ray: {times['serial'] / times['ray']:.2f}x; mean point (compile + predict + estimate) "
          f"{point * 1000:.0f} ms; Ray records == serial records: {same}")
    return 0 if same and cached.cache_hits == n else 1


if __name__ == "__main__":
    sys.exit(main())
