"""A per-layer summary of a compiled design (formats, parallelism, work, estimates), printable as a table.

`design_report(module, part, clock)` returns plain dicts: `layers` (one per df.kernel: formats, the
approximate `multiplier` when set (fxflow.approx), reuse factor, multiplications, plus the estimator's
latency/II/DSP/LUT/FF/BRAM/URAM), `channels` (stream FIFOs) and `total` (sums, the design's latency and II,
the part and its utilization).  See fxflow.estimate.
"""

from __future__ import annotations

import math

from fxflow.dialects.fxp import format_of
from fxflow.dialects.fxp.traits import MULTIPLIER_OPS, WEIGHTED_OPS
from fxflow.ir import ir

ESTIMATE_KEYS = ("latency_cycles", "ii", "dsp", "lut", "ff", "bram18", "uram", "zero_weights")


def design_report(module: ir.Module, part: str | None = None, clock=None, lut_costs=None) -> dict:
    from fxflow.estimate import estimate

    est = estimate(module, part=part, clock=clock, lut_costs=lut_costs)
    layers = []
    for graph in module.body.operations:
        if graph.operation.name != "df.graph":
            continue
        for op in graph.regions[0].blocks[0].operations:
            o = op.operation
            if o.name != "df.kernel":
                continue
            row = {
                "layer": ir.StringAttr(o.attributes["layer"]).value,
                "kernel": ir.StringAttr(o.attributes["sym_name"]).value,
                "op": "",
                "result": str(format_of(o.results[0].type)),
                "reuse_factor": ir.IntegerAttr(o.attributes["reuse_factor"]).value,
                "strategy": ir.StringAttr(o.attributes["strategy"]).value,
                "multiplications": 0,
                "multipliers": 0,
                "weights": 0,
            }
            for inner in o.regions[0].blocks[0].operations:
                name = inner.operation.name
                if name.startswith("fxp.") and name != "fxp.constant":
                    row["op"] = name.split(".")[1]
                if name == "fxp.dense":
                    w = ir.RankedTensorType(inner.operation.operands[1].type).shape
                    work = int(w[0]) * int(w[1])
                    row["multiplications"] = work
                    row["weights"] = work + int(w[1])
                if name == "fxp.conv":  # weights [F, C/g, *K] and bias [F]; products counted by the estimator
                    w = [int(d) for d in ir.RankedTensorType(inner.operation.operands[1].type).shape]
                    row["weights"] = math.prod(w) + w[0]
                if name in MULTIPLIER_OPS and "approx_mul" in inner.operation.attributes:
                    row["multiplier"] = ir.StringAttr(inner.operation.attributes["approx_mul"]).value  # fxflow.approx
                if name in WEIGHTED_OPS:
                    row["weight"] = str(format_of(inner.operation.operands[1].type))
                    row["accum"] = str(format_of(ir.TypeAttr(inner.operation.attributes["accum"]).value))
            layers.append(row)
    for row, e in zip(layers, est["layers"]):
        # multipliers: the estimator's count (zero weights skipped when unrolled)
        row["multiplications"] = row["multiplications"] or e.get("work", 0)
        row["multipliers"] = e["multipliers"] if row["multiplications"] else 0
        row.update({k: e[k] for k in ESTIMATE_KEYS})
    total = {k: sum(r[k] for r in layers) for k in ("multiplications", "multipliers", "weights")}
    total.update({k: v for k, v in est["total"].items() if k not in total})
    return {"layers": layers, "channels": est["channels"], "total": total}


COLUMNS = ["layer", "op", "result", "weight", "accum", "multiplier", "reuse_factor", "strategy", "multipliers", "weights",
           "latency_cycles", "ii", "dsp", "lut", "ff", "bram18", "uram",
           # RTL backend: the exact schedule, and yosys counts with the estimate / yosys ratio after synth()
           "rtl_latency", "yosys_dsp", "dsp_ratio", "yosys_lut", "lut_ratio", "yosys_inv", "yosys_ff", "ff_ratio",
           "yosys_carry"]
HEADINGS = {"multiplier": "mult", "reuse_factor": "rf", "latency_cycles": "latency", "multipliers": "mults", "rtl_latency": "rtl lat",
            "yosys_dsp": "dsp (yosys)", "yosys_lut": "lut (yosys)", "yosys_inv": "inv (yosys)", "yosys_ff": "ff (yosys)",
            "yosys_carry": "carry (yosys)", "dsp_ratio": "est/ys", "lut_ratio": "est/ys", "ff_ratio": "est/ys"}


def format_table(report: dict) -> str:
    """The report as an aligned text table: one line per layer, stream FIFOs, the total and the part."""
    cols = [c for c in COLUMNS if c in ("layer", "op", "result") or any(c in r for r in report["layers"])]
    rows = [[str(r.get(c, "")) for c in cols] for r in report["layers"]]
    for ch in report.get("channels", []):
        row = {"layer": f"fifo {ch['channel']}", "op": f"depth {ch['depth']}", "result": f"{ch['width']} bits"}
        row.update({k: ch[k] for k in ("lut", "ff", "bram18", "uram")})
        rows.append([str(row.get(c, "")) for c in cols])
    t = report["total"]
    rows.append([str(t.get(c, "")) if c not in ("layer", "op", "result", "reuse_factor", "strategy") else ""
                 for c in cols])
    rows[-1][0] = "total"
    heads = [HEADINGS.get(c, c) for c in cols]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    line = "  ".join(h.ljust(w) for h, w in zip(heads, widths))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    out = [line, sep, *body]
    if "latency_cycles" in t:
        util = t.get("utilization", {})
        out.append(
            f"{t['part']} at {t['clock_mhz']:g} MHz ({t['clock_ns']:g} ns): latency {t['latency_cycles']} cycles "
            f"= {t['latency_ns']:g} ns, II {t['ii']} ({t['schedule']}); "
            + ", ".join(f"{r.upper() if r != 'bram18' else 'BRAM18'} {_pct(util.get(r))}" for r in
                        ("dsp", "lut", "ff", "bram18", "uram")))
    if "rtl_latency" in t:
        out.append(f"RTL: latency {t['rtl_latency']} cycles (exact, as Verilator measures it), "
                   f"a new sample every {t['rtl_interval']} cycle(s)")
    if report.get("note"):
        out.append(f"{report['note']} (family {t.get('yosys_family', '?')})")
    return "\n".join(out)


def _pct(value) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "n/a (none on the part)"
    return f"{value:g} %"
