"""Precision profiling: where each layer's float values lie against its fixed-point range.

`profile` is the table (per layer: float range, format range, how many float values the format cannot
hold, how many values of the fixed-point design itself overflow or saturate, fixed-vs-float error);
`plot_profile` draws it as hls4ml users know it — one row per layer, the value
distribution as a box plot over the shaded representable range of the chosen format.
"""

from __future__ import annotations

import math

from pathlib import Path

import numpy as np


def profile(design, x) -> list[dict]:
    """Per layer: the float reference's range, the chosen format and its range, the number of float values
    outside it (they overflow or saturate in hardware), and the fixed-vs-float errors."""
    trace = design.trace(x)
    formats = _result_formats(design)
    counts = overflow_counts(design, x)
    rows = []
    if "input" in counts and len(design.program.input_types) == 1:  # the boundary cast of the input
        data, fmt = np.asarray(x, dtype=np.float64), design.program.input_types[0][1]
        rows.append({"layer": "input", "format": str(fmt), "float_min": float(data.min()),
                     "float_max": float(data.max()), "max_abs_error": 0.0, "mean_abs_error": 0.0,
                     "format_min": fmt.min_value, "format_max": fmt.max_value,
                     "out_of_range": int(np.sum((data < fmt.min_value) | (data > fmt.max_value))),
                     **counts.pop("input")})
    for name, t in trace.items():
        fmt = formats.get(name)
        ref = t.get("float", t["fixed"])
        row = {"layer": name, "format": str(fmt) if fmt else "", "float_min": float(ref.min()),
               "float_max": float(ref.max()), "max_abs_error": t.get("max_abs_error", 0.0),
               "mean_abs_error": t.get("mean_abs_error", 0.0)}
        if fmt is not None:
            row["format_min"], row["format_max"] = fmt.min_value, fmt.max_value
            row["out_of_range"] = int(np.sum((ref < fmt.min_value) | (ref > fmt.max_value)))
        row.update(counts.get(name, {}))
        rows.append(row)
    return rows


# --- overflow and saturation of the fixed-point design itself ---------------------------------------------
def overflow_counts(design, x) -> dict[str, dict]:
    """Per layer of the fixed-point design run on `x`: `overflows`, the values whose exact result (computed
    from the design's own fixed-point inputs, rounded onto the result grid) lies outside the result format
    — they wrap or saturate — and for dense layers `accum_overflows`, the final sums outside the
    accumulator's range.  The boundary cast of the inputs is reported as layer "input"."""
    from . import emulator
    from .dialects.fxp import format_of
    from .dialects.fxp.traits import WIDENED
    from .fixed import dense
    from .ir import elements_array, ir, layer_name

    with design.ctx:
        module = ir.Module.parse(design.stages["fxp"])
        program = emulator.compile_program(module)
        fn = next(op for op in module.body.operations if op.operation.name == "func.func")
        ops = [op.operation for op in fn.regions[0].blocks[0].operations
               if op.operation.name not in ("fxp.constant", "func.return")]
        consts = {}
        for op in fn.regions[0].blocks[0].operations:
            if op.operation.name == "fxp.constant":
                r = op.operation.results[0]
                consts[r] = (elements_array(op.operation.attributes["value"], ir.RankedTensorType(r.type).shape),
                             format_of(r.type))
        info = []
        for o in ops:
            accum = format_of(ir.TypeAttr(o.attributes["accum"]).value) if "accum" in o.attributes else None
            wb = [consts.get(v) for v in list(o.operands)[1:]] if o.name == "fxp.dense" else []
            exact_step = _exact_step(o) if o.name in WIDENED else None
            info.append((o.name, layer_name(o.location) or "input", format_of(o.results[0].type), accum, wb,
                         exact_step))
    values: list = []
    xs = emulator.check_inputs(program, list(x) if isinstance(x, (list, tuple)) else [x])
    emulator.run_chunk(program, xs, values)
    out: dict[str, dict] = {}
    for (name, layer, fmt, accum, wb, exact_step), (_, args, _) in zip(info, program.steps):
        if fmt is None:
            continue
        ins = [values[a] for a in args]
        row = {}
        if name == "fxp.dense" and ins[0].fmt is not None:
            from .fixed.accum import exact_accumulator

            (w, w_fmt), (b, b_fmt) = wb
            wide = exact_accumulator(ins[0].fmt, w_fmt, b_fmt, w.shape[0])
            exact = dense.dense(ins[0], dense.plan_dense(ins[0].fmt, w, w_fmt, b, b_fmt, wide, wide))
            row["accum_overflows"] = _outside(exact, accum)
        elif name == "fxp.add":
            exact = dense.add(ins[0], ins[1], ins[0].fmt.add_result(ins[1].fmt))
        elif name in ("fxp.relu", "fxp.cast"):
            exact = dense.relu(ins[0], ins[0].fmt) if name == "fxp.relu" else ins[0]
        elif exact_step is not None and all(t.fmt is not None for t in ins):
            exact = exact_step(*ins)
            if accum is not None and name == "fxp.conv":
                row["accum_overflows"] = _outside(exact, accum)
        else:
            continue  # ops without a known exact form are not counted
        row["overflows"] = _outside(exact, fmt)
        out[layer] = {k: out.get(layer, {}).get(k, 0) + v for k, v in row.items()}
    return out


WIDE_INT_BITS = 60


def _exact_step(o):
    """The emulator step of `o` with its accumulator and result widened so that nothing overflows and the
    grid is at least as fine as every input's and parameter's (the op's exact value, up to the average's
    truncation at 2^-(f + 16))."""
    import importlib

    from .dialects.fxp import fixed_type, format_of
    from .emulator import FAMILIES
    from .fixed import FixedFormat

    for mod in FAMILIES:
        importlib.import_module(mod)
    fmts = [format_of(v.type) for v in o.operands] + [format_of(o.results[0].type)]
    f = sum(max(0, m.f) for m in fmts if m is not None) + 16
    wide = fixed_type(FixedFormat(1, WIDE_INT_BITS, f, "TRN", "WRAP"))
    clone = o.clone()
    try:
        with o.location:
            return _widened_step(o, clone, wide)
    finally:
        clone.erase()


def _widened_step(o, clone, wide):
    """Build `o`'s emulator step on `clone` after giving it the wide result and accumulator types."""
    from .emulator import OP_STEPS, constant_value
    from .ir import ir

    t = ir.RankedTensorType(clone.results[0].type)
    clone.results[0].set_type(ir.RankedTensorType.get(list(t.shape), wide))
    for name in ("accum", "product"):
        if name in clone.attributes:
            clone.attributes[name] = ir.TypeAttr.get(wide)
    consts = {v: constant_value(v.owner) for v in clone.operands
              if isinstance(v, ir.OpResult) and v.owner.name == "fxp.constant"}
    return OP_STEPS[o.name](clone, consts)


def _outside(t, fmt) -> int:
    """How many values of the exact tensor `t`, rounded onto `fmt`'s grid, lie outside `fmt`'s range."""
    from .fixed import FixedFormat, quantize, requantize

    if t.fmt is None:
        big = int(np.ceil(np.log2(float(np.max(np.abs(t.data), initial=0.0)) + 1.0))) + 2
        n = quantize(t.data, FixedFormat(1, max(big, fmt.i) + 1, fmt.f, fmt.rounding, "WRAP"))
    else:
        n = requantize(t.data, t.fmt.f, FixedFormat(1, max(t.fmt.i, fmt.i) + 2, fmt.f, fmt.rounding, "WRAP"))
    n = np.asarray(n)
    return int(np.sum((n < fmt.min_int) | (n > fmt.max_int)))


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
    linthresh = 2.0**-8
    ax.set_xscale("symlog", linthresh=linthresh)
    # ticks at 0 and at powers of ten outside the linear band only (inside it they would overlap)
    lo, hi = ax.get_xlim()
    top = math.ceil(math.log10(max(abs(lo), abs(hi), 1.0)))
    decades = [10.0**k for k in range(math.ceil(math.log10(linthresh)) + 1, top + 1)]
    ax.set_xticks(sorted([-d for d in decades if -d >= lo] + [0.0] + [d for d in decades if d <= hi]))
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
