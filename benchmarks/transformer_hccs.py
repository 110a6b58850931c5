"""HCCS against the exact softmax on the particle-transformer example (`fxflow example transformer`): for the
table softmax (default) and HCCS (uint8 / int16 outputs, "clb" and "div" reciprocals) on both attention layers,
`softmax_accuracy` per attention layer and head, and the model output against the float model.  The HCCS
parameters are calibrated on one synthetic jet sample, the accuracy measured on another (deterministic seeds).

    .venv/bin/python benchmarks/transformer_hccs.py [--samples 2000] [--calibration 1000]
"""

from __future__ import annotations

import argparse

VARIANTS = (("table", None, None), ("hccs uint8 clb", "uint8", "clb"), ("hccs int16 clb", "int16", "clb"),
            ("hccs uint8 div", "uint8", "div"), ("hccs int16 div", "int16", "div"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2000, help="inputs the accuracy is measured on (seed 1)")
    ap.add_argument("--calibration", type=int, default=1000, help="inputs the HCCS parameters are fitted to (seed 2)")
    args = ap.parse_args()

    import fxflow
    from fxflow.examples import load
    from fxflow.softmax_report import softmax_accuracy

    ex = load("transformer")
    model = ex.make_model()
    x, cal = ex.make_inputs(args.samples, seed=1), ex.make_inputs(args.calibration, seed=2)
    print(f"transformer example, {args.samples} jets (calibration: {args.calibration} others), "
          f"precision {ex.DEFAULT_CONFIG['model']['precision']}")
    print("| softmax | layer | head | max abs err | mean abs err | argmax agree | model max abs err vs float "
          "| model argmax agree vs float |")
    print("|---|---|---|---|---|---|---|---|")
    for label, output, reciprocal in VARIANTS:
        cfg = ex.DEFAULT_CONFIG if output is None else ex.hccs_config(output, reciprocal)
        design = fxflow.compile(model, x[:1], config=cfg, calibration_data=cal)
        rep = softmax_accuracy(design, x)
        m = rep["model"]
        model_cols = f"{m['max_abs_error']:.4f} | {m['argmax_agreement']:.2%}"
        for row in rep["layers"]:
            if row["layer"] not in ex.ATTENTION_LAYERS:
                continue
            for h, e in enumerate(row["heads"]):
                print(f"| {label} | {row['layer']} | {h} | {e['max_abs_error']:.4f} | {e['mean_abs_error']:.5f} | "
                      f"{e['argmax_agreement']:.2%} | {model_cols} |")


if __name__ == "__main__":
    main()
