"""The transformer family: fxp.matmul (products of two activations) and fxp.layernorm (LayerNorm, RMSNorm).

Semantics against independent scalar references (ordered sums, the 1/sqrt bisection), predict == csim bit for
bit on random shapes and formats in io_parallel and io_stream (hypothesis, one C-sim build per example), and
closeness to float64 within the stated bounds: a matmul with the exact accumulator rounds once (<= 1 LSB of
its result), a layernorm stays within `fxflow.fixed.layernorm.error_bound`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import fxflow
from fxflow.errors import ConfigError, UnsupportedOpError
from fxflow.fixed import FixedFormat, quantize, requantize_int, to_float
from fxflow.fixed.layernorm import error_bound, inv_sqrt, layernorm_float
from fxflow.fixed.matmul import ordered_sum

from models import OVERFLOW, ROUNDING, ap

NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]  # a failing compile-and-simulate example is reported as is
SLOW = settings(max_examples=4, deadline=None, phases=NO_SHRINK,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FAST = settings(max_examples=40, deadline=None)


@st.composite
def formats(draw, min_width=2, max_width=24, signed=None):
    k = draw(st.booleans()) if signed is None else signed
    w = draw(st.integers(max(min_width, 1 + k), max_width))
    i = draw(st.integers(-2, w + 2)) - k
    return FixedFormat(int(k), i, w - k - i, draw(st.sampled_from(ROUNDING)), draw(st.sampled_from(OVERFLOW)))


# --- semantics against scalar references -------------------------------------------------------------------
@FAST
@given(st.data())
def test_ordered_sum_equals_the_cpp_loop(data):
    acc = data.draw(formats(max_width=16))
    f = data.draw(st.integers(-2, 12))
    terms = np.array(data.draw(st.lists(st.lists(st.integers(-3000, 3000), min_size=5, max_size=5),
                                        min_size=1, max_size=4)), dtype=np.int64)
    got = ordered_sum(terms, f, acc)
    assert np.array_equal(ordered_sum(np.ascontiguousarray(terms.T), f, acc, axis=0), got)  # terms laid out [k, ...]
    for row, g in zip(terms, got):
        a = 0  # acc = acc_t(0); acc = acc_t(acc + t) on the finer of the two grids
        for t in row:
            g_f = max(f, acc.f)
            a = requantize_int((a << (g_f - acc.f)) + (int(t) << (g_f - f)), g_f, acc)
        assert int(g) == a


@FAST
@given(st.data())
def test_inv_sqrt_is_the_largest_root_in_range(data):
    var = data.draw(formats(max_width=20, signed=False))
    inv = data.draw(formats(max_width=20, signed=False))
    e = data.draw(st.integers(0, 50))
    v = np.array(data.draw(st.lists(st.integers(0, var.max_int), min_size=1, max_size=8)), dtype=np.int64)
    r = inv_sqrt(v, var, e, inv)
    p = 2 * inv.f + var.f
    for vi, ri in zip(v.tolist(), r.tolist()):
        lhs = lambda t: t * t * (vi + e) * (2 ** max(-p, 0))  # noqa: E731  (compared with 2^p exactly)
        rhs = 2 ** max(p, 0)
        assert 0 <= ri <= inv.max_int
        assert ri == 0 or lhs(ri) <= rhs
        assert ri == inv.max_int or lhs(ri + 1) > rhs


def _layernorm_reference(row, x, g, g_fmt, b, b_fmt, fm, e, rms, out) -> list[int]:
    """One row of `fxflow.fixed.layernorm.layernorm`, step by step on Python ints (its module doc)."""
    from fxflow.fixed.layernorm import derived_formats

    n = len(row)
    diff, _ = derived_formats(x, fm, n, rms)

    def trunc_div(a: int) -> int:
        return -((-a) // n) if a < 0 else a // n

    m = 0
    if not rms:
        s = 0
        for t in row:
            gf = max(x.f, fm.accum.f)
            s = requantize_int((s << (gf - fm.accum.f)) + (t << (gf - x.f)), gf, fm.accum)
        m = trunc_div(requantize_int(s, fm.accum.f, fm.mean))
    d = [(t << (diff.f - x.f)) - (0 if rms else m << (diff.f - fm.mean.f)) for t in row]
    v = trunc_div(requantize_int(sum(t * t for t in d), 2 * diff.f, fm.var))
    p, top = 2 * fm.inv_std.f + fm.var.f, (1 << fm.inv_std.width) - 1
    r = top if v + e == 0 else min(math.isqrt((1 << p) // (v + e)), top)
    f = max(fm.norm.f + g_fmt.f, b_fmt.f)
    ys = []
    for dj, gj, bj in zip(d, g, b):
        t = requantize_int(dj * r, diff.f + fm.inv_std.f, fm.norm)
        ys.append(requantize_int((t * gj << (f - fm.norm.f - g_fmt.f)) + (bj << (f - b_fmt.f)), f, out))
    return ys


@FAST
@given(st.data())
def test_layernorm_equals_the_scalar_reference(data):
    """The vectorized LayerNorm / RMSNorm (computed on the columns [n, R], any input layout) against the
    step-by-step definition, on random formats: rows given row-major and as the transposed view of [n, R]."""
    from fxflow.fixed.layernorm import NormFormats, epsilon_units, layernorm

    rms = data.draw(st.booleans())
    x = data.draw(formats(max_width=18))
    fm = NormFormats(data.draw(formats(max_width=24)), data.draw(formats(max_width=24)),
                     data.draw(formats(max_width=24, signed=False).filter(lambda v: v.f >= 0)),
                     data.draw(formats(max_width=20, signed=False).filter(lambda v: v.f >= 0)),
                     data.draw(formats(max_width=18)))
    g_fmt, b_fmt, out = (data.draw(formats(max_width=16)) for _ in range(3))
    n, rows_n = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 5))
    rows = np.array([[data.draw(st.integers(x.min_int, x.max_int)) for _ in range(n)] for _ in range(rows_n)],
                    dtype=np.int64)
    g = np.array([data.draw(st.integers(g_fmt.min_int, g_fmt.max_int)) for _ in range(n)], dtype=np.int64)
    b = np.array([data.draw(st.integers(b_fmt.min_int, b_fmt.max_int)) for _ in range(n)], dtype=np.int64)
    eps = data.draw(st.sampled_from([0.0, 1e-5, 0.25]))
    e = epsilon_units(eps, fm.var)
    want = [_layernorm_reference(r, x, g.tolist(), g_fmt, b.tolist(), b_fmt, fm, e, rms, out) for r in rows.tolist()]
    for given_rows in (rows, np.ascontiguousarray(rows.T).T):
        got = layernorm(given_rows, x, g, g_fmt, b, b_fmt, fm, eps, rms, out)
        assert np.asarray(got).tolist() == want


@FAST
@given(st.integers(0, 62), st.integers(1, 2**31), st.integers(-2, 2), st.integers(1, 40))
def test_inv_sqrt_closed_form_near_perfect_squares(p, k, delta, w):
    """The int64 closed form (one correction of the float64 square root each way) where the estimate is off
    by one: 2^p // (V + E) next to a perfect square, up to the largest p it takes."""
    from fxflow.fixed.layernorm import _inv_sqrt_int64

    q = min(max(k * k + delta, 1), 1 << p)
    ve = np.array([max(1, (1 << p) // q) + d for d in (-1, 0, 1)], dtype=np.int64)
    ve = ve[ve > 0]
    r = _inv_sqrt_int64(ve, p, w)
    for v, ri in zip(ve.tolist(), r.tolist()):
        assert ri == min(math.isqrt((1 << p) // v), (1 << w) - 1)


# --- models --------------------------------------------------------------------------------------------------
class Attention(torch.nn.Module):
    """softmax(relu(x) * s @ relu(x)^T) @ relu(x): both products of two activations, through a transpose."""

    def __init__(self, heads: int = 0, t: int = 3, d: int = 4):
        super().__init__()
        self.heads, self.t, self.d = heads, t, d

    def forward(self, x):
        h = torch.relu(x)
        if self.heads:
            h = h.reshape(-1, self.heads, self.t, self.d)
        a = (h * 0.5) @ h.transpose(-1, -2)
        return torch.softmax(a, dim=-1) @ h


class Norm(torch.nn.Module):
    def __init__(self, shape, rms: bool, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.norm = torch.nn.RMSNorm(shape, eps=1e-5) if rms else torch.nn.LayerNorm(shape)
        with torch.no_grad():
            self.norm.weight.uniform_(0.25, 2.0)
            if not rms:
                self.norm.bias.uniform_(-1.0, 1.0)

    def forward(self, x):
        return self.norm(x)


def _same(design, x):
    y = design.predict(x, raw=True)
    yc = design.csim(x, raw=True, verbose=False)
    bad = np.argwhere(np.asarray(y) != np.asarray(yc))
    assert bad.size == 0, f"{len(bad)} mismatches, first at {bad[0]}"
    return y


def _inputs(seed: int, n: int, shape, scale: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)) * scale * rng.choice([0.1, 1.0, 4.0], size=(n,) + (1,) * len(shape))
    return x.astype(np.float32).astype(np.float64)


# --- fxp.matmul ------------------------------------------------------------------------------------------------
@SLOW
@given(t=st.integers(1, 4), d=st.integers(1, 4), heads=st.sampled_from([0, 2]), seed=st.integers(0, 999),
       io=st.sampled_from(["io_parallel", "io_stream"]), narrow=st.booleans(), data=st.data())
def test_matmul_predict_equals_csim(tmp_path_factory, t, d, heads, seed, io, narrow, data):
    x_fmt = data.draw(formats(min_width=4, max_width=14, signed=True))
    model = {"precision": ap(True, 16, 6, data.draw(st.sampled_from(ROUNDING)), data.draw(st.sampled_from(OVERFLOW))),
             "input": x_fmt.to_ap()}
    if narrow:  # an accumulator that rounds and overflows at every step: the emulator's step-by-step path
        model["accum"] = ap(True, 10, 3, data.draw(st.sampled_from(ROUNDING)), data.draw(st.sampled_from(OVERFLOW)))
    shape = (heads * t * d,) if heads else (t, d)
    design = fxflow.compile(Attention(heads, t, d), torch.zeros(1, *shape), config={"model": model}, io_type=io,
                            output_dir=tmp_path_factory.mktemp("mm"))
    assert design.mlir("fxp").count('"fxp.matmul"') == 2
    _same(design, _inputs(seed, 60, shape, 2.0))


def test_matmul_rounds_once_with_the_exact_accumulator():
    """y = x @ x^T with an exact accumulator: y - float64(xq @ xq^T) in (-LSB, 0] (one TRN rounding)."""

    class Gram(torch.nn.Module):
        def forward(self, x):
            return x @ x.transpose(-1, -2)

    design = fxflow.compile(Gram(), torch.zeros(1, 3, 5), config={"model": {"precision": "ap_fixed<14,6>",
                                                                           "result": "ap_fixed<28,14>"}})
    x = _inputs(1, 500, (3, 5), 1.5)
    xq = to_float(quantize(x, FixedFormat.parse("ap_fixed<14,6>")), 8)
    ref = xq @ np.swapaxes(xq, -1, -2)
    err = design.predict(x) - ref
    assert np.all(err <= 0) and np.all(err > -2.0**-14), np.abs(err).max()  # floor onto 2^-14
    assert np.abs(err).max() > 0  # the result format really rounds


def test_products_that_mix_samples_are_rejected():
    class Outer(torch.nn.Module):
        def forward(self, x):
            return x.transpose(0, 1) @ x

    with pytest.raises(UnsupportedOpError, match="unsupported operation .* from module"):
        fxflow.compile(Outer(), torch.zeros(1, 3))


# --- fxp.layernorm -------------------------------------------------------------------------------------------
@SLOW
@given(rows=st.integers(1, 3), n=st.integers(2, 9), two_dims=st.booleans(), rms=st.booleans(),
       seed=st.integers(0, 999), io=st.sampled_from(["io_parallel", "io_stream"]), configured=st.booleans(),
       data=st.data())
def test_layernorm_predict_equals_csim(tmp_path_factory, rows, n, two_dims, rms, seed, io, configured, data):
    shape = (rows, 2, n) if two_dims else (rows, n)
    norm_shape = list(shape[-2:]) if two_dims else [n]
    x_fmt = data.draw(formats(min_width=5, max_width=14, signed=True))
    layer = {"result": ap(True, data.draw(st.integers(8, 18)), 4, data.draw(st.sampled_from(ROUNDING)), "SAT")}
    if configured:  # narrow internals: every assignment rounds, var and mean may overflow
        layer.update({"mean": ap(True, 10, 3, data.draw(st.sampled_from(ROUNDING)), data.draw(st.sampled_from(OVERFLOW))),
                      "var": ap(False, 12, 5, data.draw(st.sampled_from(ROUNDING)), data.draw(st.sampled_from(OVERFLOW))),
                      "inv_std": ap(False, 12, 4), "norm": ap(True, 12, 4, "RND", "SAT")})
    cfg = {"model": {"precision": "ap_fixed<16,6>", "input": x_fmt.to_ap()}, "layers": {"norm": layer}}
    design = fxflow.compile(Norm(norm_shape, rms, seed), torch.zeros(1, *shape), config=cfg, io_type=io,
                            output_dir=tmp_path_factory.mktemp("ln"))
    assert '"fxp.layernorm"' in design.mlir("fxp")
    y = _same(design, _inputs(seed, 80, shape, 2.0))
    assert len(np.unique(y)) > 3  # the signal is not saturated away


@settings(max_examples=8, deadline=None, phases=NO_SHRINK)
@given(n=st.integers(2, 16), rms=st.booleans(), seed=st.integers(0, 999), f_x=st.integers(4, 10),
       f_y=st.integers(6, 12))
def test_layernorm_within_its_stated_bound(n, rms, seed, f_x, f_y):
    """Default ("auto") internals: |predict - float64 layernorm of the quantized input| <= error_bound."""
    x_fmt = FixedFormat(1, 4, f_x)
    out = FixedFormat(1, 4, f_y, "RND", "SAT")
    model = Norm([n], rms, seed)
    design = fxflow.compile(model, torch.zeros(1, 2, n), config={
        "model": {"precision": out.to_ap(), "input": x_fmt.to_ap(), "weight": "ap_fixed<12,3,AP_RND>",
                  "bias": "ap_fixed<12,3,AP_RND>"}})
    x = _inputs(seed, 400, (2, n), 3.0)
    xq = to_float(quantize(x, x_fmt), x_fmt.f)
    from fxflow.dialects.fxp.accessors import norm_formats
    from fxflow.ir import ir  # noqa: F401

    op = next(o for o in _ops(design) if o.name == "fxp.layernorm")
    fm = norm_formats(op)
    g = _constant_values(op, 1)
    b = _constant_values(op, 2)
    ref = layernorm_float(xq, 1, g, b, model.norm.eps or 0.0, rms)
    bound = error_bound(xq.reshape(-1, n), x_fmt, g, fm, model.norm.eps or 0.0, rms, out).reshape(ref.shape)
    err = np.abs(design.predict(x) - ref)
    finite = np.isfinite(bound)
    assert finite.mean() > 0.9
    assert np.all(err[finite] <= bound[finite]), float((err - bound)[finite].max())
    assert float(np.median(bound[finite])) < 0.1  # the bound says something


def _ops(design):
    ops = []
    design.module.operation.walk(lambda o: ops.append(o) or fxflow.ir.ir.WalkResult.ADVANCE)
    return ops


def _constant_values(op, index):
    from fxflow.dialects.fxp import format_of
    from fxflow.ir import elements_array, ir

    owner = op.operands[index].owner
    fmt = format_of(op.operands[index].type)
    raw = elements_array(owner.attributes["value"], ir.RankedTensorType(op.operands[index].type).shape)
    return to_float(raw, fmt.f)


@pytest.mark.parametrize("layer, message", [
    ({"var": "ap_fixed<12,4>"}, "'layers.norm.var' must be unsigned"),
    ({"inv_std": "ap_fixed<12,4>"}, "'layers.norm.inv_std' must be unsigned"),
    ({"mean": "ap_fixed<12"}, "layers.norm.mean"),
    ({"variance": "auto"}, "unknown key"),
])
def test_layernorm_config_errors(layer, message):
    with pytest.raises(ConfigError, match=message):
        fxflow.compile(Norm([4], False, 0), torch.zeros(1, 2, 4), config={"layers": {"norm": layer}})


def test_zero_epsilon_needs_a_saturating_norm():
    class NoEps(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = torch.nn.RMSNorm(4)  # eps=None: torch-mlir's graph adds nothing

        def forward(self, x):
            return self.norm(x)

    with pytest.raises(ConfigError, match="saturating"):
        fxflow.compile(NoEps(), torch.zeros(1, 4), config={"layers": {"norm": {"norm": "ap_fixed<12,4>"}}})
    design = fxflow.compile(NoEps(), torch.zeros(1, 4))  # the auto norm saturates: a zero row stays finite
    assert np.all(np.isfinite(design.predict(np.zeros((2, 4)))))


def test_transformer_estimates():
    design = fxflow.compile(Attention(2, 3, 4), torch.zeros(1, 24))
    layers = {r["op"]: r for r in design.report()["layers"]}
    assert layers["matmul"]["multipliers"] == 2 * 3 * 3 * 4 and layers["matmul"]["dsp"] > 0
    ln = fxflow.compile(Norm([8], False, 0), torch.zeros(1, 3, 8)).report()["layers"][0]
    assert ln["op"] == "layernorm" and ln["dsp"] > 0 and ln["latency_cycles"] > 1


class Block(torch.nn.Module):
    """LayerNorm then attention: the two new layers feeding each other."""

    def __init__(self):
        super().__init__()
        self.norm = Norm([4], False, 1)
        self.att = Attention()

    def forward(self, x):
        return self.att(self.norm(x))


def test_block_in_catapult_ac_fixed(tmp_path):
    design = fxflow.compile(Block().eval(), torch.zeros(1, 3, 4), backend="catapult", output_dir=tmp_path)
    _same(design, _inputs(3, 50, (3, 4), 2.0))


def test_block_auto_formats_from_calibration():
    """precision auto + calibration data: every internal format from the ranges; close to float64 of the input."""
    model = Block().eval()
    x = _inputs(4, 400, (3, 4), 1.0)
    design = fxflow.compile(model, torch.zeros(1, 3, 4), config={"model": {"precision": "auto",
                                                                           "input": "ap_fixed<16,6>"}},
                            calibration_data=x)
    xq = to_float(quantize(x, FixedFormat.parse("ap_fixed<16,6>")), 10)  # the LayerNorm amplifies input rounding
    ref = model.double()(torch.tensor(xq)).detach().numpy()
    assert np.abs(design.predict(x) - ref).max() < 0.02


def test_outer_product_of_one_sample_is_a_matmul():
    """h.unsqueeze(2) @ h.unsqueeze(1) (per sample [4, 1] @ [1, 4]) was rejected before; now an exact fxp.matmul."""

    class Outer(torch.nn.Module):
        def forward(self, h):
            return torch.matmul(h.unsqueeze(2), h.unsqueeze(1)).flatten(1)

    design = fxflow.compile(Outer(), torch.zeros(1, 4), config={"model": {"precision": "ap_fixed<24,12>",
                                                                         "input": "ap_fixed<10,4>"}})
    assert '"fxp.matmul"' in design.mlir("fxp")
    x = _inputs(2, 100, (4,), 1.0)
    xq = to_float(quantize(x, FixedFormat.parse("ap_fixed<10,4>")), 6)
    assert np.array_equal(design.predict(x), (xq[:, :, None] * xq[:, None, :]).reshape(100, 16))


@pytest.mark.parametrize("affine", [True, False])
def test_functional_layer_norm_and_no_affine(affine):
    class Functional(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = torch.nn.LayerNorm(4, elementwise_affine=affine)

        def forward(self, x):
            return self.norm(x) if affine else torch.nn.functional.layer_norm(x, (4,))

    model = Functional().eval()
    design = fxflow.compile(model, torch.zeros(1, 3, 4))
    assert design.mlir("fxp-float").count('"fxp.layernorm"') == 1
    x = np.random.default_rng(5).normal(size=(100, 3, 4)) * 2  # rows with a variance well above the var grid
    ref = model(torch.tensor(x, dtype=torch.float32)).detach().numpy()
    assert np.abs(design.predict(x) - ref).max() < 0.02
