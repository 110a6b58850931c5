"""The Catapult flavour: the same kernels printed with ac_fixed, C-simulated with g++ against the real
ac_types headers (hls4ml wheel), equal to predict bit for bit across random MLPs and every rounding x
overflow mode."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fxflow
from fxflow.errors import UnsupportedOpError
from fxflow.fixed import FixedFormat
from fxflow.lowering.hls.flavour import AC_OVERFLOW, AC_ROUNDING, CATAPULT

from models import OVERFLOW, ROUNDING, ap, identity_chain, inputs, mlp
from test_differential import random_design

pytestmark = pytest.mark.needs("g++", "ac_types")


def _check(design, x):
    y = design.predict(x, raw=True)
    yc = design.csim(x, raw=True, verbose=False)
    bad = np.argwhere(np.asarray(y) != np.asarray(yc))
    assert bad.size == 0, f"{len(bad)} mismatches, first at {bad[0]}: predict {y[tuple(bad[0])]} csim {yc[tuple(bad[0])]}"


def test_every_mode_has_an_ac_spelling():
    assert set(AC_ROUNDING) == set(ROUNDING) and set(AC_OVERFLOW) == set(OVERFLOW)
    assert CATAPULT.type_name(FixedFormat.parse("ap_ufixed<7,-2,AP_RND_CONV,AP_SAT_SYM>"), "t") == \
        "ac_fixed<7,-2,false,AC_RND_CONV,AC_SAT_SYM>"


def test_a_mode_without_ac_equivalent_names_the_tensor():
    fmt = FixedFormat.parse("ap_fixed<8,3>")
    wrap_sm = object.__new__(FixedFormat)  # a format fxflow may grow (AP_WRAP_SM); ac_fixed has no such mode
    for f in dataclasses.fields(FixedFormat):
        object.__setattr__(wrap_sm, f.name, getattr(fmt, f.name))
    object.__setattr__(wrap_sm, "overflow", "WRAP_SM")
    with pytest.raises(UnsupportedOpError, match=r"fc1_accum_t \(kernel fc1\) uses the mode WRAP_SM, which ac_fixed"):
        CATAPULT.type_name(wrap_sm, "fc1_accum_t (kernel fc1)")


def test_every_mode_combination_bit_exact(tmp_path):
    """Each of the 28 (rounding, overflow) pairs on a layer's weights, bias, narrow accumulator and result."""
    combos = [(q, o) for q in ROUNDING for o in OVERFLOW]
    cfg = {"model": {"precision": "ap_fixed<12,4>", "input": "ap_fixed<10,3,AP_RND_CONV,AP_SAT>"}, "layers": {}}
    for i, (q, o) in enumerate(combos):
        cfg["layers"][f"fc{i}"] = {"weight": ap(True, 7, 2, q, o), "bias": ap(True, 9, 3, q, o),
                                   "accum": ap(i % 3 != 0, 12, 4, q, o), "result": ap(True, 11, 4, q, o)}
        if i % 2 == 1 and i < len(combos) - 1:
            cfg["layers"][f"act{i}"] = {"result": ap(i % 4 == 1, 10, 4, q, o)}
    design = fxflow.compile(identity_chain(6, len(combos), seed=3), np.zeros((1, 6)), config=cfg,
                            output_dir=tmp_path, backend="catapult")
    defines = (tmp_path / "firmware" / "defines.h").read_text()
    assert "#include <ac_fixed.h>" in defines and "ap_fixed" not in defines
    for q, o in combos:
        assert f"AC_{q},AC_{o}>" in defines
    assert "#pragma HLS" not in (tmp_path / "firmware" / "layers" / "fc0.cpp").read_text()
    x = inputs(np.random.default_rng(5), 300, 6, scale=3.0)
    x[:20] = (np.arange(20 * 6).reshape(20, 6) - 60) / 128.0 + 1 / 256.0  # ties of the input grid
    x[20:30] = 1e6 * np.sign(x[20:30])
    assert len(np.unique(design.predict(x, raw=True))) > 50, "the signal died; the test would check nothing"
    _check(design, x)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_design())
def test_random_mlps_bit_exact(tmp_path_factory, case):
    widths, cfg, seed, scale = case
    design = fxflow.compile(mlp(widths, seed=seed, scale=scale), np.zeros((1, widths[0])), config=cfg,
                            output_dir=tmp_path_factory.mktemp("cat"), backend="catapult")
    _check(design, inputs(np.random.default_rng(seed), 200, widths[0]))


def test_unknown_backend_is_an_error():
    with pytest.raises(fxflow.ConfigError, match="unknown backend 'quartus'"):
        fxflow.compile(mlp([2, 2]), np.zeros((1, 2)), backend="quartus")
