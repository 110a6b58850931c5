"""Multiply-accumulate layers: `fxp.dense`, `fxp.conv` and `fxp.pool`.

Each accumulates in an explicit `accum` type in a documented order — one C++ `acc += term` per step,
every partial sum assigned to `accum` — and assigns the final accumulator to the result type.  Before
precision assignment `accum` is f64 (exact) and the ops mean exact real arithmetic.

An optional `product` type (hls4ml compatibility) assigns every exact product to that type before it is
added: `acc += product_t(x * w)`, which is how hls4ml 1.3 computes Dense and Conv.

An optional `approx_mul` string (dense, conv and fxp.matmul; a `fxflow.approx` multiplier spec such as "drum(k=4)")
replaces each exact product by the multiplier's: x * w becomes approx(stored(x), stored(w)) * 2^-(f_x + f_w),
for every term that is computed (pruned zero weights and padding taps are skipped, as always).
"""

import math
from typing import Any

from fxflow.errors import FormatError
from fxflow.ir import ext, ir

from ..verify import check_tensor, emit, verifier
from .base import Fxp, check_formats, check_i64_array, check_tensors, format_of, i64_array, shape_of


def check_approx_mul(op) -> bool:
    """`approx_mul` names a multiplier (syntax checked here; widths against the operands when it is used)."""
    attrs = op.operation.attributes
    if "approx_mul" not in attrs:
        return True
    if not isinstance(attrs["approx_mul"], ir.StringAttr):
        return emit(op, f"approx_mul must be a string attribute, got {attrs['approx_mul']}")
    from fxflow.approx.multiplier import parse_spec
    from fxflow.errors import ConfigError

    try:
        parse_spec(ir.StringAttr(attrs["approx_mul"]).value)
    except ConfigError as e:
        return emit(op, str(e))
    if "product" in attrs:
        return emit(op, "approx_mul and a product type cannot be combined")
    return True


def f64_type_attr():
    return ir.TypeAttr.get(ir.F64Type.get())


def check_accum(op, role: str = "accum") -> bool:
    """`accum` (and an optional `product`) are type attributes; fixed results need fixed accumulators."""
    attrs = op.operation.attributes
    for name in (role, "product"):
        if name in attrs and not isinstance(attrs[name], ir.TypeAttr):
            return emit(op, f"{name} must be a type attribute, got {attrs[name]}")
    try:
        acc = format_of(ir.TypeAttr(attrs[role]).value) if role in attrs else None
        prod = format_of(ir.TypeAttr(attrs["product"]).value) if "product" in attrs else None
        out = format_of(op.output.type)
    except FormatError as e:
        return emit(op, f"illegal accumulator format: {e}")
    if out is not None and acc is None:
        return emit(op, f"a fixed-point {op.operation.name[4:]} needs a !fxp.fixed accumulator type")
    if "product" in attrs and out is not None and prod is None:
        return emit(op, "a fixed-point product type must be !fxp.fixed")
    return True


class DenseOp(Fxp.Operation, name="dense", traits=[ext.Pure]):
    """y[b, n] = result(accum(bias[n]) (+)= x[b, k] * w[k, n] for k = 0..K-1 in order).

    input [B, K], weight [K, N], bias [N] (zeros when the layer has none), result [B, N].  An input
    [B, ..., K] (a Linear on tokens) applies the same to every row of its last axis: result [B, ..., N].
    The accumulator starts at the bias
    assigned to `accum`, then each exact product is added and the sum assigned to `accum`
    (one C++ `acc += x*w` per k); the final accumulator is assigned to the result type.
    `accum` is a `!fxp.fixed` type for fixed tensors, f64 (exact) before precision assignment."""

    input: ext.Operand[Any]
    weight: ext.Operand[Any]
    bias: ext.Operand[Any]
    output: ext.Result[Any]
    accum: ir.TypeAttr = ext.attribute(default_factory=f64_type_attr)

    @verifier
    def verify_invariants(self):
        vals = [self.input, self.weight, self.output, self.bias]
        for v, what in zip(vals, ("input", "weight", "result", "bias")):
            if not check_tensor(self, v, what):
                return False
        x, w, y = (ir.RankedTensorType(v.type).shape for v in (self.input, self.weight, self.output))
        if len(x) < 2 or len(w) != 2 or len(y) != len(x):
            return emit(self, f"expects input and result of one rank >= 2 and a rank-2 weight, got {list(x)}, "
                              f"{list(w)}, {list(y)}")
        if x[-1] != w[0]:
            return emit(self, f"input features {x[-1]} do not match weight rows {w[0]} (input {list(x)}, weight {list(w)})")
        if list(y) != list(x[:-1]) + [w[1]]:
            return emit(self, f"result shape {list(y)} must be {list(x[:-1]) + [w[1]]}")
        b = ir.RankedTensorType(self.bias.type).shape
        if list(b) != [w[1]]:
            return emit(self, f"bias shape {list(b)} must be [{w[1]}]")
        return check_formats(self, vals) and check_accum(self) and check_approx_mul(self)


def conv_output_shape(in_spatial, kernel, strides, dilations, padding) -> list[int]:
    """Output size per spatial dim: floor((S + lo + hi - d*(K-1) - 1) / s) + 1 (PyTorch's formula)."""
    n = len(in_spatial)
    return [(in_spatial[d] + padding[d] + padding[n + d] - dilations[d] * (kernel[d] - 1) - 1) // strides[d] + 1
            for d in range(n)]


def _check_window(op, spatial: int, with_dilations: bool = True) -> bool:
    names = ["strides", "padding"] + (["dilations"] if with_dilations else [])
    for name in names:
        n = 2 * spatial if name == "padding" else spatial
        if not check_i64_array(op, name, n, 0 if name == "padding" else 1):
            return False
    return True


class ConvOp(Fxp.Operation, name="conv", traits=[ext.Pure]):
    """N-d convolution (1-D and 2-D), channels first like PyTorch: input [B, C, *S], weight
    [F, C/groups, *K], bias [F], result [B, F, *O].

    For each output element: acc = accum(bias[f]); then for c in the group's input channels, and kernel
    positions in row-major order, acc += x[b, c, o*stride - pad_lo + k*dilation] * w[f, c, k]; positions in
    the zero padding contribute nothing (adding an exact 0 changes no accumulator under any mode);
    result = the accumulator assigned to the result type.  `padding` = [lo_0, .., lo_n-1, hi_0, .., hi_n-1]."""

    input: ext.Operand[Any]
    weight: ext.Operand[Any]
    bias: ext.Operand[Any]
    output: ext.Result[Any]
    strides: Any
    dilations: Any
    padding: Any
    groups: ir.IntegerAttr
    accum: ir.TypeAttr = ext.attribute(default_factory=f64_type_attr)

    @verifier
    def verify_invariants(self):
        vals = [self.input, self.weight, self.output, self.bias]
        if not check_tensors(self, zip(vals, ("input", "weight", "result", "bias"))):
            return False
        x, w, y, b = (shape_of(v) for v in vals)
        n = len(x) - 2
        if n not in (1, 2) or len(w) != n + 2 or len(y) != n + 2:
            return emit(self, f"expects 1-D or 2-D convolution shapes, got input {x}, weight {w}, result {y}")
        if not _check_window(self, n):
            return False
        g = ir.IntegerAttr(self.groups).value
        if g < 1 or x[1] % g or w[0] % g:
            return emit(self, f"groups {g} must divide input channels {x[1]} and filters {w[0]}")
        if w[1] * g != x[1]:
            return emit(self, f"weight has {w[1]} channels per group; input {x[1]} channels / {g} groups")
        if b != [w[0]]:
            return emit(self, f"bias shape {b} must be [{w[0]}]")
        o = conv_output_shape(x[2:], w[2:], i64_array(self, "strides"), i64_array(self, "dilations"),
                              i64_array(self, "padding"))
        if y != [x[0], w[0], *o]:
            return emit(self, f"result shape {y} must be {[x[0], w[0], *o]}")
        return check_formats(self, vals) and check_accum(self) and check_approx_mul(self)


POOL_KINDS = ("max", "avg")


class PoolOp(Fxp.Operation, name="pool", traits=[ext.Pure]):
    """N-d max or average pooling, channels first: input [B, C, *S], result [B, C, *O].

    max: the largest input of each window (padding positions are not part of the window), assigned to
    the result type.  avg: acc = 0; acc += x over the window in row-major order (padding adds 0);
    acc = acc / n with n = the full window size, truncated toward zero on the accumulator's grid (C++
    `acc /= n` on an ap_fixed, as hls4ml does); result = acc assigned to the result type.
    Global pooling is a window as large as the input."""

    input: ext.Operand[Any]
    output: ext.Result[Any]
    kind: ir.StringAttr
    kernel: Any
    strides: Any
    padding: Any
    accum: ir.TypeAttr = ext.attribute(default_factory=f64_type_attr)

    @verifier
    def verify_invariants(self):
        if not check_tensors(self, ((self.input, "input"), (self.output, "result"))):
            return False
        kind = ir.StringAttr(self.kind).value
        if kind not in POOL_KINDS:
            return emit(self, f"kind '{kind}' is not one of {', '.join(POOL_KINDS)}")
        x, y = shape_of(self.input), shape_of(self.output)
        n = len(x) - 2
        if n not in (1, 2) or len(y) != len(x):
            return emit(self, f"expects 1-D or 2-D pooling shapes, got input {x}, result {y}")
        if not (_check_window(self, n, with_dilations=False) and check_i64_array(self, "kernel", n, 1)):
            return False
        o = conv_output_shape(x[2:], i64_array(self, "kernel"), i64_array(self, "strides"), [1] * n,
                              i64_array(self, "padding"))
        if y != [x[0], x[1], *o]:
            return emit(self, f"result shape {y} must be {[x[0], x[1], *o]}")
        return check_formats(self, [self.input, self.output]) and check_accum(self)


def window_size(op) -> int:
    return math.prod(i64_array(op, "kernel"))
