"""Data-movement `fxp` ops: no arithmetic, the result type equals the input element type (`concat`
assigns each input to the result type, so inputs of different formats can be joined)."""

import math
from typing import Any

from fxflow.ir import ext, ir

from ..verify import emit, verifier
from .base import Fxp, check_formats, check_i64_array, check_tensors, i64_array, in_out_shapes, shape_of


def _same_element(op, a, b) -> bool:
    ea, eb = ir.RankedTensorType(a.type).element_type, ir.RankedTensorType(b.type).element_type
    if str(ea) != str(eb):
        return emit(op, f"element types differ: {ea} vs {eb} (data movement never converts; use fxp.cast)")
    return True


def _check_spatial(op, name: str, per_dim: int, minimum: int, out_size) -> bool:
    """Data movement over the spatial dims (after batch and channel): `name` holds `per_dim` entries per
    spatial dim (each >= minimum) and result dim 2+d is `out_size(input size, d, entries, n)`."""
    shapes = in_out_shapes(op)
    if shapes is None:
        return False
    a, b = shapes
    n = len(a) - 2
    if n < 1 or not check_i64_array(op, name, per_dim * n, minimum):
        return False
    vals = i64_array(op, name)
    expect = a[:2] + [out_size(a[2 + d], d, vals, n) for d in range(n)]
    if b != expect:
        return emit(op, f"result shape {b} must be {expect}")
    return _same_element(op, op.input, op.output)


class ReshapeOp(Fxp.Operation, name="reshape", traits=[ext.Pure]):
    """The same elements in row-major order under a new shape (Flatten, Reshape, squeeze/unsqueeze)."""

    input: ext.Operand[Any]
    output: ext.Result[Any]

    @verifier
    def verify_invariants(self):
        shapes = in_out_shapes(self)
        if shapes is None:
            return False
        a, b = shapes
        if math.prod(a) != math.prod(b):
            return emit(self, f"cannot reshape {a} ({math.prod(a)} elements) into {b} ({math.prod(b)})")
        return _same_element(self, self.input, self.output)


class TransposeOp(Fxp.Operation, name="transpose", traits=[ext.Pure]):
    """result[i_perm[0], ..] = input[i_0, ..]: result dim d is input dim permutation[d] (Permute)."""

    input: ext.Operand[Any]
    output: ext.Result[Any]
    permutation: Any

    @verifier
    def verify_invariants(self):
        shapes = in_out_shapes(self)
        if shapes is None:
            return False
        a, b = shapes
        if not check_i64_array(self, "permutation", len(a), 0):
            return False
        perm = i64_array(self, "permutation")
        if sorted(perm) != list(range(len(a))):
            return emit(self, f"permutation {perm} is not a permutation of {len(a)} dims")
        if b != [a[p] for p in perm]:
            return emit(self, f"result shape {b} must be {[a[p] for p in perm]}")
        return _same_element(self, self.input, self.output)


class GatherOp(Fxp.Operation, name="gather", traits=[ext.Pure]):
    """result[b].flat[i] = input[b].flat[indices[i]] for every sample b (row-major), 0 where indices[i] is -1
    (positions a constant fills, e.g. a class token, see fxp.add_constant): a composed chain
    of reshapes, transposes and slices whose intermediate views move the sample dim away from dim 0
    (torch's MultiheadAttention computes in [tokens, batch, features] and splits q, k, v by slicing)."""

    input: ext.Operand[Any]
    output: ext.Result[Any]
    indices: Any

    @verifier
    def verify_invariants(self):
        shapes = in_out_shapes(self)
        return shapes is not None and _check_gather(self, *shapes)


def _check_gather(op, a: list[int], b: list[int]) -> bool:
    """Both sample-leading; one index per result element of a sample, each -1 or inside an input sample."""
    if not a or not b or a[0] != b[0]:
        return emit(op, f"input {a} and result {b} must share the sample dim 0")
    if not check_i64_array(op, "indices", math.prod(b[1:]), -1):
        return False
    bad = [i for i in i64_array(op, "indices") if i >= math.prod(a[1:])]
    if bad:
        return emit(op, f"index {bad[0]} is outside a sample's {math.prod(a[1:])} elements")
    return _same_element(op, op.input, op.output)


class ConcatOp(Fxp.Operation, name="concat", traits=[ext.Pure]):
    """lhs and rhs joined along `axis`, each element assigned to the result type (Concatenate; more
    inputs chain).  Two operands, not a variadic list: IRDL gives one variadic group a single type."""

    lhs: ext.Operand[Any]
    rhs: ext.Operand[Any]
    output: ext.Result[Any]
    axis: ir.IntegerAttr

    @verifier
    def verify_invariants(self):
        if not check_tensors(self, ((self.lhs, "lhs"), (self.rhs, "rhs"), (self.output, "result"))):
            return False
        a, b, y = shape_of(self.lhs), shape_of(self.rhs), shape_of(self.output)
        ax = ir.IntegerAttr(self.axis).value
        if not 0 < ax < len(a) or len(b) != len(a):
            return emit(self, f"axis {ax} must be a non-batch dim of two equal-rank inputs {a} and {b}")
        expect = list(a)
        expect[ax] = a[ax] + b[ax]
        if any(a[d] != b[d] for d in range(len(a)) if d != ax) or y != expect:
            return emit(self, f"cannot concatenate {a} and {b} along {ax} into {y}")
        return check_formats(self, [self.lhs, self.rhs, self.output])


class PadOp(Fxp.Operation, name="pad", traits=[ext.Pure]):
    """Zero padding of the spatial dims: `padding` = [lo_0, .., lo_n-1, hi_0, .., hi_n-1] for the dims after
    batch and channel (ZeroPad1d/2d)."""

    input: ext.Operand[Any]
    output: ext.Result[Any]
    padding: Any

    @verifier
    def verify_invariants(self):
        return _check_spatial(self, "padding", 2, 0, lambda size, d, p, n: size + p[d] + p[n + d])


class ResizeOp(Fxp.Operation, name="resize", traits=[ext.Pure]):
    """Nearest-neighbour upsampling of the spatial dims by integer `scales`: y[.., o] = x[.., o // s]."""

    input: ext.Operand[Any]
    output: ext.Result[Any]
    scales: Any

    @verifier
    def verify_invariants(self):
        return _check_spatial(self, "scales", 1, 1, lambda size, d, s, n: size * s[d])
