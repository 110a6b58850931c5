"""End-to-end example: approximate multipliers on the bundled task.

    .venv/bin/python -m fxflow.approx.demo [-o build/approx_demo]

Trains the task's MLP in float, compiles it with 8-bit formats and a broken-array multiplier, checks
predict == C simulation, fine-tunes through the approximate forward pass, searches a per-layer assignment
under a 1% accuracy budget and writes the HLS project and the Pareto plot.
"""

from __future__ import annotations

import argparse
from pathlib import Path

FORMATS = {"precision": "ap_fixed<16,6>", "input": "ap_fixed<8,3,AP_RND,AP_SAT>",
           "weight": "ap_fixed<8,2,AP_RND,AP_SAT>", "result": "ap_fixed<8,3,AP_RND,AP_SAT>"}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", default="build/approx_demo")
    args = ap.parse_args(argv)
    import numpy as np

    import fxflow
    from fxflow import approx
    from fxflow.approx import finetune as ft

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    xtr, ytr = ft.task(4000, seed=1)
    xte, yte = ft.task(2000, seed=2)
    model = ft.train(ft.model(), xtr, ytr, epochs=30)
    cfg = {"model": {**FORMATS, "multiplier": "bam(hbl=2, vbl=8)"}}
    exact = fxflow.compile(model, xte[:1], config={"model": FORMATS})
    design = fxflow.compile(model, xte[:1], config=cfg)
    y, yc = design.predict(xte[:200], raw=True), design.csim(xte[:200], raw=True, verbose=False)
    print(f"predict vs C-sim: {int(np.count_nonzero(y != yc))} differing values of {y.size}")
    print(f"accuracy: exact multipliers {ft.accuracy(exact.predict(xte), yte):.3f}, "
          f"bam(hbl=2, vbl=8) {ft.accuracy(design.predict(xte), yte):.3f}")
    tuned = ft.finetune(model, design, xtr, ytr, epochs=5)
    design = fxflow.compile(tuned, xte[:1], config=cfg)
    print(f"after 5 epochs of approximate fine-tuning: {ft.accuracy(design.predict(xte), yte):.3f}")
    design.write(out / "hls")
    r = approx.search(model, xte[:1000], yte[:1000], budget=0.01, config={"model": FORMATS}, progress=False)
    print(r.summary())
    print(r.pareto_table())
    print(f"Pareto plot: {r.plot(out / 'pareto.png')}; HLS project: {out / 'hls'}")


if __name__ == "__main__":
    main()
