"""A per-layer summary of a compiled design (formats, parallelism, work), printable as a table."""

from __future__ import annotations

import math

from .dialects.fxp import format_of
from .ir import ir


def design_report(module: ir.Module) -> dict:
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
                    row["multipliers"] = math.ceil(work / row["reuse_factor"])
                    row["weights"] = work + int(w[1])
                    row["weight"] = str(format_of(inner.operation.operands[1].type))
                    row["accum"] = str(format_of(ir.TypeAttr(inner.operation.attributes["accum"]).value))
            layers.append(row)
    total = {k: sum(r[k] for r in layers) for k in ("multiplications", "multipliers", "weights")}
    return {"layers": layers, "total": total}


def format_table(report: dict) -> str:
    cols = ["layer", "op", "result", "weight", "accum", "reuse_factor", "multipliers", "weights"]
    rows = [[str(r.get(c, "")) for c in cols] for r in report["layers"]]
    rows.append(["total", "", "", "", "", "", str(report["total"]["multipliers"]), str(report["total"]["weights"])])
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join([line, sep, *body])
