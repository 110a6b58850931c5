"""Transformer `fxp` ops: products of two activations (`fxp.matmul`), normalization (`fxp.layernorm`) and
constants of the sample's shape (`fxp.add_constant`: position embeddings, class tokens, attention masks).

fxp.matmul   y[..., m, n] = result(acc) with acc = accum(0); acc = accum(acc + a[..., m, k] * b[..., k, n])
             for k = 0..K-1 in order.  Both operands are tensors computed by the model (q @ k^T, attn @ v);
             dim 0 is the sample, the other leading dims are batch dims (heads) shared by both operands.
             An optional `approx_mul` (a `fxflow.approx` spec) makes every term approx(stored(a), stored(b))
             * 2^-(f_a + f_b); all K terms are computed (no operand is a constant to skip).
fxp.layernorm  over the last `dims` dims (n elements) of x, with gamma/beta of that shape:
             s = accum(sum x), mean = mean_t(s) / n, d = x - mean (exact), var = var_t(sum d*d) / n,
             r = inv_std_t(1 / sqrt(var + epsilon)) rounded toward zero by an exact integer bisection
             (`fxflow.fixed.layernorm.inv_sqrt`; epsilon rounded up onto var's grid), t = norm_t(d * r),
             y = result(t * gamma + beta).  With rms = 1 (RMSNorm) the mean
             is 0: d = x.  Divisions by n truncate toward zero on the dividend's grid, as `fxp.pool` avg does.
             With `style = "hls4ml"` (hls4ml arithmetic), hls4ml 1.3's algorithm instead
             (`fxflow.fixed.layernorm.Hls4mlNorm`): every intermediate in `accum`, 1/sqrt from a table of
             `table_size` entries of `table_format` indexed by var * table_size * 2^table_range_power2; the
             four internal formats are then absent.
Before precision assignment `accum` is f64 and the formats absent: the ops mean the exact real functions.
"""

import math
from typing import Any

from fxflow.ir import ext, ir

from ..verify import emit, verifier
from .base import Fxp, check_format_attrs, check_formats, check_tensors, format_of, shape_of
from .layers import check_accum, check_approx_mul, f64_type_attr


class MatmulOp(Fxp.Operation, name="matmul", traits=[ext.Pure]):
    """Batched product of two activations, exact accumulation in `accum` in order k (see module doc)."""

    lhs: ext.Operand[Any]
    rhs: ext.Operand[Any]
    output: ext.Result[Any]
    accum: ir.TypeAttr = ext.attribute(default_factory=f64_type_attr)

    @verifier
    def verify_invariants(self):
        if not check_tensors(self, ((self.lhs, "lhs"), (self.rhs, "rhs"), (self.output, "result"))):
            return False
        a, b, y = shape_of(self.lhs), shape_of(self.rhs), shape_of(self.output)
        if not len(a) == len(b) == len(y) >= 3:
            return emit(self, f"expects lhs, rhs and result of one rank >= 3 (sample, batch..., rows, cols), "
                              f"got {a}, {b}, {y}")
        if a[:-2] != b[:-2]:
            return emit(self, f"batch dims {a[:-2]} of lhs and {b[:-2]} of rhs differ")
        if a[-1] != b[-2]:
            return emit(self, f"lhs columns {a[-1]} do not match rhs rows {b[-2]} (lhs {a}, rhs {b})")
        if y != a[:-1] + [b[-1]]:
            return emit(self, f"result shape {y} must be {a[:-1] + [b[-1]]}")
        return (check_formats(self, [self.lhs, self.rhs, self.output]) and check_accum(self)
                and check_approx_mul(self))


class AddConstantOp(Fxp.Operation, name="add_constant", traits=[ext.Pure]):
    """x plus a constant of the sample's shape (position embeddings, a class token, an additive attention
    mask): y = result(x + bias) exactly, except where `masked` (0/1 per element of a sample) is 1: there y is
    the result format's minimum (a mask's -inf: its softmax weight is the softmax's saturated exp(-D)).
    bias (0 where masked) has x's shape."""

    input: ext.Operand[Any]
    bias: ext.Operand[Any]
    output: ext.Result[Any]
    masked: Any

    @verifier
    def verify_invariants(self):
        vals = ((self.input, "input"), (self.bias, "bias"), (self.output, "result"))
        if not check_tensors(self, vals):
            return False
        x, b, y = (shape_of(v) for v, _ in vals)
        if not x == b == y:
            return emit(self, f"input {x}, bias {b} and result {y} must have one shape")
        flags = list(ir.DenseI64ArrayAttr(self.operation.attributes["masked"])) \
            if isinstance(self.operation.attributes["masked"], ir.DenseI64ArrayAttr) else None
        if flags is None or len(flags) != math.prod(x[1:]) or any(f not in (0, 1) for f in flags):
            return emit(self, f"masked must be an array<i64> of {math.prod(x[1:])} flags 0/1 (one per element)")
        return check_formats(self, [v for v, _ in vals])


LAYERNORM_FORMATS = ("mean_format", "var_format", "inv_std_format", "norm_format")
LAYERNORM_STYLES = ("fxflow", "hls4ml")


class LayerNormOp(Fxp.Operation, name="layernorm", traits=[ext.Pure]):
    """LayerNorm / RMSNorm over the last `dims` dims (see module doc); gamma and beta are constants of the
    normalized shape, `epsilon` the real added to the variance, `rms` 1 for RMSNorm (no mean, beta 0)."""

    input: ext.Operand[Any]
    gamma: ext.Operand[Any]
    beta: ext.Operand[Any]
    output: ext.Result[Any]
    dims: ir.IntegerAttr
    epsilon: ir.FloatAttr
    rms: ir.IntegerAttr
    accum: ir.TypeAttr = ext.attribute(default_factory=f64_type_attr)

    @verifier
    def verify_invariants(self):
        vals = ((self.input, "input"), (self.gamma, "gamma"), (self.beta, "beta"), (self.output, "result"))
        if not check_tensors(self, vals):
            return False
        x, g, b, y = (shape_of(v) for v, _ in vals)
        d = ir.IntegerAttr(self.dims).value
        if not 1 <= d < len(x):
            return emit(self, f"dims {d} must be in [1, {len(x) - 1}] (the normalized trailing dims of {x})")
        if x != y:
            return emit(self, f"shape mismatch: {x} vs {y}")
        if g != x[-d:] or b != x[-d:]:
            return emit(self, f"gamma {g} and beta {b} must have the normalized shape {x[-d:]}")
        if ir.FloatAttr(self.epsilon).value < 0:
            return emit(self, f"epsilon {ir.FloatAttr(self.epsilon).value} must not be negative")
        if ir.IntegerAttr(self.rms).value not in (0, 1):
            return emit(self, "rms must be 0 (LayerNorm) or 1 (RMSNorm)")
        if not (check_formats(self, [v for v, _ in vals]) and check_accum(self)):
            return False
        return _check_norm_formats(self)


def _check_norm_formats(op) -> bool:
    """A fixed layernorm carries its internal formats (fxp-assign-precision); var and inv_std are unsigned.
    An hls4ml-style one carries its table's format, size (> 0) and range power (>= 0) instead."""
    attrs = op.operation.attributes
    style = ir.StringAttr(attrs["style"]).value if "style" in attrs else "fxflow"
    if style not in LAYERNORM_STYLES:
        return emit(op, f"style must be one of {', '.join(LAYERNORM_STYLES)}, got '{style}'")
    if style == "hls4ml":
        if not check_format_attrs(op, ("table_format",), "hls4ml layernorm"):
            return False
        for name, low in (("table_size", 1), ("table_range_power2", 0)):
            if name in attrs and not (isinstance(attrs[name], ir.IntegerAttr)
                                      and ir.IntegerAttr(attrs[name]).value >= low):
                return emit(op, f"{name} must be an integer >= {low}, got {attrs[name]}")
            if name not in attrs and format_of(op.output.type) is not None:
                return emit(op, f"a fixed-point hls4ml layernorm needs its '{name}' (run fxp-assign-precision)")
        return True
    if not check_format_attrs(op, LAYERNORM_FORMATS, "layernorm"):
        return False
    for name in ("var_format", "inv_std_format"):
        if name in attrs and format_of(ir.TypeAttr(attrs[name]).value).signed:
            return emit(op, f"{name} must be unsigned (ap_ufixed): the variance and 1/sqrt are non-negative")
    return True
