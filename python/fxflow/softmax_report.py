"""Accuracy of a design's fixed-point softmax layers (HCCS or table-based) against the exact softmax.

`softmax_accuracy(design, x)` works on any compiled design and input batch: for every `fxp.softmax` it runs
the design up to the softmax (`fxflow.emulator.probe`), applies the layer as compiled, and compares with the
exact softmax of the *same* fixed-point inputs — the error the softmax itself adds, separated from upstream
quantization — overall and per head; then the model outputs against the float reference (`predict_float`),
with the agreement of the arg-max (classifiers).  `fxflow softmax-accuracy MODEL --data X.npy` prints it.
"""

from __future__ import annotations

import numpy as np

from .emulator import OP_STEPS
from fxflow.emulator.probe import operand_values
from .fixed.hccs import head_axis_of
from .fixed.quantize import to_float
from .fixed.softmax import exact_softmax
from .ir import ir, layer_name


def _errors(got: np.ndarray, ref: np.ndarray) -> dict:
    err = np.abs(got - ref)
    rows_got, rows_ref = got.reshape(-1, got.shape[-1]), ref.reshape(-1, ref.shape[-1])
    return {"max_abs_error": float(err.max(initial=0.0)), "mean_abs_error": float(err.mean()),
            "mse": float((err**2).mean()),
            "argmax_agreement": float(np.mean(rows_got.argmax(-1) == rows_ref.argmax(-1))),
            "max_row_sum_error": float(np.abs(rows_got.sum(-1) - 1.0).max(initial=0.0))}


def softmax_accuracy(design, x, config=None, calibration_data=None, example_input=None) -> dict:
    """{"layers": [per softmax: layer, implementation, rows, errors (+ "heads": per-head errors)],
    "model": errors of predict against predict_float (the last axis as the class axis)}.

    `design` is a compiled Design, or a model (PyTorch module, .pt2 / .onnx path) compiled here with `config`,
    `calibration_data` and `example_input` (default: the first sample of x)."""
    from .design import Design

    xs = list(x) if isinstance(x, (list, tuple)) else [x]
    if not isinstance(design, Design):
        from .compiler import compile as compile_model

        if example_input is None:
            firsts = [np.asarray(a)[:1] for a in xs]
            example_input = firsts[0] if len(firsts) == 1 else firsts
        design = compile_model(design, example_input, config=config, calibration_data=calibration_data)
    layers = []
    with design.ctx:
        module = ir.Module.parse(design.stages["fxp"])
        fn = next(op for op in module.body.operations if op.operation.name == "func.func")
        for pos, op in enumerate(fn.regions[0].blocks[0].operations):
            o = op.operation
            if o.name != "fxp.softmax":
                continue
            axis = ir.IntegerAttr(o.attributes["axis"]).value
            t = operand_values(fn, pos, 0, [np.asarray(a, dtype=np.float64) for a in xs])
            y = OP_STEPS["fxp.softmax"](o, {})(t)
            got = np.moveaxis(to_float(y.data, y.fmt.f), axis, -1)
            ref = np.moveaxis(exact_softmax(to_float(t.data, t.fmt.f), axis), axis, -1)
            row = {"layer": layer_name(o.location) or str(o.location),
                   "implementation": ir.StringAttr(o.attributes["implementation"]).value,
                   "input": str(t.fmt), "result": str(y.fmt), "rows": int(np.prod(got.shape[:-1])),
                   **_errors(got, ref)}
            head = head_axis_of(t.data.shape, axis)
            if head is not None:
                row["heads"] = [_errors(np.take(got, h, head), np.take(ref, h, head)) for h in range(got.shape[head])]
            layers.append(row)
    fixed, ref = design.predict(x), design.predict_float(x)
    fixed, ref = (fixed, ref) if isinstance(fixed, list) else ([fixed], [ref])
    model = _errors(np.asarray(fixed[0], dtype=np.float64), np.asarray(ref[0], dtype=np.float64))
    return {"layers": layers, "model": model}


def format_report(report: dict) -> str:
    """The report as a text table."""
    cols = ["layer", "implementation", "input", "result", "rows", "max_abs_error", "mean_abs_error", "mse",
            "argmax_agreement"]
    rows = []
    for r in report["layers"]:  # each layer, then its heads
        rows.append([f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in cols])
        for h, e in enumerate(r.get("heads", [])):
            rows.append([f"  head {h}", "", "", "", ""] + [f"{e[c]:.4g}" for c in cols[5:]])
    m = report["model"]
    rows.append(["(model output)", "", "", "", ""] + [f"{m[c]:.4g}" for c in cols[5:]])
    widths = [max(len(c), *(len(t[i]) for t in rows)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(t, widths)) for t in rows]
    return "\n".join(lines)


__all__ = ["softmax_accuracy", "format_report"]
