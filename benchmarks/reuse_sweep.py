"""Reuse-factor sweep of the bundled examples: estimated latency vs DSPs (and LUT/FF/BRAM), as a table and
a PNG plot, for both strategies.  No vendor tool runs: the numbers are fxflow.estimate's (docs/estimates.md).

    .venv/bin/python benchmarks/reuse_sweep.py [--part xcvu9p-flga2104-2L-e] [--clock 5] [-o reuse_sweep.png]

Every module in fxflow.examples with `make_model()` and `make_inputs(n)` is swept (the jet MLP; CNN
examples as they are added).  Each model is compiled once; each reuse factor R is applied to every
kernel as the next divisor of its work at or above min(R, work), the rule df-legalize-reuse applies.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

import numpy as np


def examples():
    import fxflow.examples as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        m = importlib.import_module(f"fxflow.examples.{mod.name}")
        if hasattr(m, "make_model") and hasattr(m, "make_inputs"):
            yield mod.name, m


def sweep(design, rfs, strategies, part, clock):
    from fxflow.dialects.fxp.accessors import work as op_work
    from fxflow.estimate import estimate
    from fxflow.ir import i64_attr, ir, str_attr
    from fxflow.passes.df_legalize_reuse import next_divisor

    rows = []
    with design.ctx:
        for strategy in strategies:
            for rf in rfs:
                m = ir.Module.parse(design.mlir("df"))
                kernels = [o.operation for g in m.body.operations for o in g.regions[0].blocks[0].operations
                           if o.operation.name == "df.kernel"]
                for k in kernels:
                    work = op_work(k)
                    k.attributes["reuse_factor"] = i64_attr(1 if work is None else next_divisor(work, min(rf, work)))
                    k.attributes["strategy"] = str_attr(strategy if work is not None else "latency")
                t = estimate(m, part=part, clock=clock)["total"]
                rows.append({"strategy": strategy, "rf": rf, **{k: t[k] for k in (
                    "latency_cycles", "latency_ns", "ii", "dsp", "lut", "ff", "bram18")}})
    return rows


def table(rows) -> str:
    cols = ["strategy", "rf", "latency_cycles", "latency_ns", "ii", "dsp", "lut", "ff", "bram18"]
    text = [[str(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in text)) for i, c in enumerate(cols)]
    out = ["  ".join(c.rjust(w) for c, w in zip(cols, widths))]
    out += ["  ".join(v.rjust(w) for v, w in zip(t, widths)) for t in text]
    return "\n".join(out)


def plot(results, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, rows in results.items():
        for strategy, marker in (("latency", "o"), ("resource", "s")):
            pts = [r for r in rows if r["strategy"] == strategy]
            if not pts:
                continue
            ax.plot([max(r["dsp"], 0.5) for r in pts], [r["latency_ns"] for r in pts], marker=marker,
                    label=f"{name} ({strategy})")
            for r in pts:
                ax.annotate(f"R{r['rf']}", (max(r["dsp"], 0.5), r["latency_ns"]), fontsize=7,
                            textcoords="offset points", xytext=(3, 3))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("DSP slices (estimate)")
    ax.set_ylabel("latency [ns] (estimate)")
    ax.set_title("fxflow reuse-factor sweep: latency vs DSP")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="xcvu9p-flga2104-2L-e")
    ap.add_argument("--clock", default="5")
    ap.add_argument("--precision", default="ap_fixed<16,6>")
    ap.add_argument("--max-rf", type=int, default=2048)
    ap.add_argument("-o", "--output", default="reuse_sweep.png")
    args = ap.parse_args()

    import warnings

    import fxflow

    rfs = [r for r in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048) if r <= args.max_rf]
    results = {}
    for name, mod in examples():
        t0 = time.perf_counter()
        x = np.asarray(mod.make_inputs(1))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                design = fxflow.compile(mod.make_model(), x, config={"model": {"precision": args.precision}})
        except fxflow.FxflowError as e:
            print(f"{name}: skipped ({e})", file=sys.stderr)
            continue
        rows = sweep(design, rfs, ("latency", "resource"), args.part, args.clock)
        results[name] = rows
        print(f"== {name} ({args.precision}, {args.part}, clock {args.clock}) in {time.perf_counter() - t0:.1f} s")
        print(table(rows))
    plot(results, args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
