"""'auto' formats from exact range analysis: they never overflow and (accumulators, results) never round,
so the fixed-point design computes exactly what the quantized-weight network computes in exact arithmetic
— checked on adversarial inputs at the edges of the input format — and the C-sim agrees bit for bit."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import fxflow
from fxflow.fixed import FixedFormat, quantize
from fxflow.fixed.interval import fit_constants, smallest_format

from models import identity_chain, inputs, mlp


def _exact_reference(design, x):
    """The network in exact rational arithmetic, with the design's own quantized weights and input cast."""
    import re

    from fxflow.dialects.fxp import format_of
    from fxflow.ir import ir

    fin = design.program.input_types[0][1]
    vals = [[Fraction(int(n), 1 << fin.f) if fin.f >= 0 else Fraction(int(n) << -fin.f) for n in row]
            for row in quantize(x, fin)]
    with design.ctx:
        for graph in design.module.body.operations:
            for kernel in graph.regions[0].blocks[0].operations:
                if kernel.operation.name != "df.kernel":
                    continue
                consts, op_name = [], None
                for inner in kernel.regions[0].blocks[0].operations:
                    o = inner.operation
                    if o.name == "fxp.constant":
                        fmt = format_of(o.results[0].type)
                        arr = np.array(ir.DenseElementsAttr(o.attributes["value"]))
                        consts.append(np.vectorize(lambda n, f=fmt.f: Fraction(int(n), 1 << f) if f >= 0
                                                   else Fraction(int(n) << -f), otypes=[object])(arr))
                    elif o.name.startswith("fxp."):
                        op_name = o.name
                if op_name == "fxp.dense":
                    w, b = consts
                    vals = [[sum((row[k] * w[k][n] for k in range(len(row))), b[n]) for n in range(w.shape[1])]
                            for row in vals]
                elif op_name == "fxp.relu":
                    vals = [[max(v, 0) for v in row] for row in vals]
                else:
                    raise AssertionError(f"unexpected {op_name}")
    return vals


def _adversarial(fmt: FixedFormat, n: int, features: int, seed: int) -> np.ndarray:
    """Inputs at the corners of the input format (where ranges are attained) plus random ones."""
    rng = np.random.default_rng(seed)
    corners = rng.choice([fmt.min_value, fmt.max_value, 0.0], size=(n, features))
    rand = rng.uniform(fmt.min_value, fmt.max_value, size=(n, features))
    return np.concatenate([corners, rand])


@pytest.mark.parametrize("widths, input_fmt", [([5, 7, 4, 3], "ap_fixed<8,3>"), ([6, 9, 2], "ap_ufixed<6,2>")])
def test_auto_never_overflows_or_rounds(widths, input_fmt):
    model = mlp(widths, seed=11, scale=2.0)
    design = fxflow.compile(model, np.zeros((1, widths[0])),
                            config={"model": {"precision": "auto", "input": input_fmt}})
    fin = FixedFormat.parse(input_fmt)
    x = _adversarial(fin, 200, widths[0], seed=1)
    got = design.predict(x, raw=True)
    out_fmt = design.program.output_types[0][1]
    ref = _exact_reference(design, x)
    scale = Fraction(1 << out_fmt.f) if out_fmt.f >= 0 else Fraction(1, 1 << -out_fmt.f)
    want = np.array([[int(v * scale) for v in row] for row in ref], dtype=object)
    assert all((v * scale).denominator == 1 for row in ref for v in row), "auto result format rounded"
    assert np.array_equal(got.astype(object), want)


def test_auto_accumulators_are_tighter_than_bit_width_exact():
    from fxflow.examples import jet_tagger

    model = jet_tagger.make_model()
    exact = fxflow.compile(model, np.zeros((1, 16))).report()["layers"]
    auto = fxflow.compile(model, np.zeros((1, 16)), config={"model": {"accum": "auto"}}).report()["layers"]
    for e, a in zip(exact, auto):
        if e["op"] == "dense":
            we = FixedFormat.parse(e["accum"]).width
            wa = FixedFormat.parse(a["accum"]).width
            assert wa < we, (e["layer"], e["accum"], a["accum"])


def test_auto_designs_are_bit_exact_in_csim(tmp_path):
    cfg = {"model": {"precision": "ap_fixed<10,4,AP_RND,AP_SAT>", "weight": "auto", "bias": "auto",
                     "accum": "auto", "auto_tolerance": 2**-6},
           "layers": {"fc1": {"result": "auto"}}}
    design = fxflow.compile(identity_chain(6, 3, seed=2), np.zeros((1, 6)), config=cfg, output_dir=tmp_path)
    x = inputs(np.random.default_rng(3), 200, 6)
    assert np.array_equal(design.predict(x, raw=True), design.csim(x, raw=True, verbose=False))


def test_fit_constants_and_smallest_format():
    w = np.array([0.5, -0.25, 0.126])
    fmt = fit_constants(w, 0.002)
    err = np.abs(quantize(w, fmt) * 2.0**-fmt.f - w)
    assert err.max() <= 0.002 and fmt.signed
    assert fit_constants(w, 0.2).width < fmt.width
    assert smallest_format(0, 255, 0) == FixedFormat(0, 8, 0)
    assert smallest_format(-128, 127, 3) == FixedFormat(1, 4, 3)
    assert smallest_format(-129, 0, 0) == FixedFormat(1, 8, 0)


def test_auto_needs_an_input_range():
    with pytest.raises(fxflow.ConfigError, match="no input range is known"):
        fxflow.compile(mlp([3, 2]), np.zeros((1, 3)), config={"model": {"precision": "auto"}})
    with pytest.raises(fxflow.ConfigError, match="auto_tolerance"):
        fxflow.Config.from_dict({"model": {"auto_tolerance": 2}})
