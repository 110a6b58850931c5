"""Precision profiling: where each layer's float values lie against its fixed-point range.

`profile` is the table (per layer: float range, format range, how many float values the format cannot
hold, fixed-vs-float error); `plot_profile` draws it as hls4ml users know it — one row per layer, the value
distribution as a box plot over the shaded representable range of the chosen format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def profile(design, x) -> list[dict]:
    """Per layer: the float reference's range, the chosen format and its range, the number of float values
    outside it (they overflow or saturate in hardware), and the fixed-vs-float errors."""
    trace = design.trace(x)
    formats = _result_formats(design)
    rows = []
    for name, t in trace.items():
        fmt = formats.get(name)
        ref = t.get("float", t["fixed"])
        row = {"layer": name, "format": str(fmt) if fmt else "", "float_min": float(ref.min()),
               "float_max": float(ref.max()), "max_abs_error": t.get("max_abs_error", 0.0),
               "mean_abs_error": t.get("mean_abs_error", 0.0)}
        if fmt is not None:
            row["format_min"], row["format_max"] = fmt.min_value, fmt.max_value
            row["out_of_range"] = int(np.sum((ref < fmt.min_value) | (ref > fmt.max_value)))
        rows.append(row)
    return rows


def plot_profile(design, x, path) -> Path:
    """Write a PNG: per layer, the float value distribution over the format's representable range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trace = design.trace(x)
    formats = _result_formats(design)
    names = list(trace)
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(names) + 1.5))
    for row, name in enumerate(names):
        fmt = formats.get(name)
        if fmt is not None:
            lo, hi = fmt.min_value, fmt.max_value
            ax.barh(row, hi - lo, left=lo, height=0.8, color="#cfe3f7", edgecolor="#5b8fc9",
                    label="format range" if row == 0 else None)
        ref = trace[name].get("float", trace[name]["fixed"]).ravel()
        ax.boxplot(ref, positions=[row], orientation="horizontal", widths=0.5, showfliers=True,
                   flierprops={"markersize": 2, "alpha": 0.4})
    ax.set_yticks(range(len(names)), [f"{n}\n{formats.get(n, '')}" for n in names], fontsize=7)
    ax.set_xscale("symlog", linthresh=2.0**-8)
    ax.invert_yaxis()
    ax.set_xlabel("value (float reference); shaded: representable range of the chosen format")
    ax.set_title(f"precision profile of {design.project_name} on {len(np.asarray(x))} samples")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _result_formats(design) -> dict:
    from .dialects.fxp import format_of
    from .ir import ir

    out = {}
    with design.ctx:
        for graph in design.module.body.operations:
            for op in graph.regions[0].blocks[0].operations:
                if op.operation.name == "df.kernel":
                    out[ir.StringAttr(op.operation.attributes["layer"]).value] = format_of(op.operation.results[0].type)
    return out
