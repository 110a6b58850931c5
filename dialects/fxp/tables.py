"""Lookup-table `fxp` ops: pointwise non-linear activations (`fxp.lut`, and the piecewise-linear `fxp.clamp`,
`fxp.prelu`, `fxp.select`, which share the tables' family in every concern) and `fxp.softmax`.

`fxp.lut` carries the activation as a region: one block taking a scalar float and ending in `fxp.yield`
of a scalar float, holding the arith/math ops the front-end produced (sigmoid, tanh, GELU, SiLU, ELU, ...).
Before precision assignment it means that exact real function; `fxp-assign-precision` evaluates the
region once per table entry and attaches the table (discardable attributes, so the op keeps verifying
without them):
  `table`        dense<...> : tensor<Nxi64>, stored integers in the result format
  `index_shift`  i64, `index_offset` i64:
  y = table[clamp((raw(x) >> index_shift) - index_offset, 0, N - 1)] where raw(x) is x's stored integer.
  `identity_from` i64 (optional): y = x assigned to the result type when raw(x) >= identity_from.
  `index_toward_zero` unit (optional): the shift truncates toward zero instead of down (hls4ml's index,
  `(raw + (raw < 0 ? 2^index_shift - 1 : 0)) >> index_shift`).
Each entry is the function at the centre of the input values sharing that index; the default tables'
range and bins are derived from the function and the formats (`fxflow.fixed.table.accurate_table`).
"""

from typing import Any

from fxflow.ir import ext, ir

from ..verify import check_choice, check_same_shape, emit, verifier
from .base import Fxp, check_formats, check_pointwise, check_tensors, shape_of
from .elementwise import check_channel_param

SOFTMAX_IMPLEMENTATIONS = ("stable", "latency", "argmax", "hccs")
HCCS_ATTRS = ("hccs_b", "hccs_s", "hccs_dmax")  # tensor<Hxi64> each, one entry per head (or one)


class YieldOp(Fxp.Operation, name="yield", traits=[ir.IsTerminatorTrait]):
    """Ends the scalar function region of `fxp.lut`."""

    value: ext.Operand[Any]


class LutOp(Fxp.Operation, name="lut", traits=[ext.Pure, ir.IsIsolatedFromAboveTrait]):
    """A pointwise function of one input, computed by a lookup table in hardware (see module doc)."""

    input: ext.Operand[Any]
    output: ext.Result[Any]
    function: ext.Region

    @verifier
    def verify_invariants(self):
        if not check_pointwise(self):
            return False
        blocks = list(self.function.blocks)
        if len(blocks) != 1 or len(blocks[0].arguments) != 1:
            return emit(self, "function region must have one block with one scalar argument")
        ops = list(blocks[0].operations)
        if not ops or ops[-1].operation.name != "fxp.yield":
            return emit(self, "function region must end with fxp.yield")
        attrs = self.operation.attributes
        if "table" in attrs:
            for name in ("index_shift", "index_offset"):
                if name not in attrs or not isinstance(attrs[name], ir.IntegerAttr):
                    return emit(self, f"a lut with a table needs an integer '{name}' attribute")
            if "identity_from" in attrs and not isinstance(attrs["identity_from"], ir.IntegerAttr):
                return emit(self, "identity_from must be an integer (the first stored input that bypasses the table)")
            if not isinstance(attrs["table"], ir.DenseIntElementsAttr):
                return emit(self, "table must be a dense integer attribute of stored integers")
        return True


class SoftmaxOp(Fxp.Operation, name="softmax", traits=[ext.Pure]):
    """exp(x) / sum(exp(x)) along `axis`.  Before precision assignment: the exact function.  With
    fixed-point types, `implementation` picks the hardware algorithm — "stable" (hls4ml's: tables of
    exp(-(max - x)) and of 1/sum), "latency" (tables of exp(x) and 1/sum, no max), "argmax" (1 at the
    first maximum, 0 elsewhere), "hccs" (integer clipped-linear softmax, `fxflow.fixed.hccs`: attributes
    `hccs_b`, `hccs_s`, `hccs_dmax` (tensor<Hxi64>, per head), `hccs_output`, `hccs_reciprocal`) — whose
    tables, parameters and intermediate formats `fxp-assign-precision` attaches as discardable attributes
    (documented with the pass)."""

    input: ext.Operand[Any]
    output: ext.Result[Any]
    axis: ir.IntegerAttr
    implementation: ir.StringAttr

    @verifier
    def verify_invariants(self):
        if not check_pointwise(self):
            return False
        impl = ir.StringAttr(self.implementation).value
        if impl not in SOFTMAX_IMPLEMENTATIONS:
            return emit(self, f"implementation '{impl}' is not one of {', '.join(SOFTMAX_IMPLEMENTATIONS)}")
        ax = ir.IntegerAttr(self.axis).value
        if not 0 < ax < len(shape_of(self.input)):
            return emit(self, f"axis {ax} must be a non-batch dim of {shape_of(self.input)}")
        if impl == "hccs" and HCCS_ATTRS[0] in self.operation.attributes:
            return self._verify_hccs()
        return True

    def _verify_hccs(self) -> bool:
        from fxflow.fixed.hccs import OUTPUTS, RECIPROCALS

        attrs = self.operation.attributes
        sizes = set()
        for name in HCCS_ATTRS:
            if name not in attrs or not isinstance(attrs[name], ir.DenseIntElementsAttr):
                return emit(self, f"an hccs softmax needs a dense integer '{name}' attribute")
            sizes.add(ir.ShapedType(attrs[name].type).shape[0])
        if len(sizes) != 1:
            return emit(self, f"{', '.join(HCCS_ATTRS)} must have one entry per head each")
        for name, allowed in (("hccs_output", OUTPUTS), ("hccs_reciprocal", RECIPROCALS)):
            if name not in attrs or ir.StringAttr(attrs[name]).value not in allowed:
                return emit(self, f"an hccs softmax needs '{name}' in {', '.join(allowed)}")
        return True


class ClampOp(Fxp.Operation, name="clamp", traits=[ext.Pure]):
    """min(max(x, min), max) in exact arithmetic, assigned to the result type (ReLU6, Hardtanh).
    The bounds are exact reals (f64); the C++ compares against them in a format that holds them exactly."""

    input: ext.Operand[Any]
    output: ext.Result[Any]
    min: ir.FloatAttr
    max: ir.FloatAttr

    @verifier
    def verify_invariants(self):
        lo, hi = ir.FloatAttr(self.min).value, ir.FloatAttr(self.max).value
        if not lo <= hi:
            return emit(self, f"min {lo} must not exceed max {hi}")
        return (check_tensors(self, ((self.input, "input"), (self.output, "result")))
                and check_same_shape(self, self.input, self.output)
                and check_formats(self, [self.input, self.output]))


class PReluOp(Fxp.Operation, name="prelu", traits=[ext.Pure]):
    """x > 0 ? x : x * alpha (exact product), assigned to the result type.  `alpha` is a constant per
    channel ([C]) or per tensor ([1]): PReLU and LeakyReLU."""

    input: ext.Operand[Any]
    alpha: ext.Operand[Any]
    output: ext.Result[Any]

    @verifier
    def verify_invariants(self):
        return (check_tensors(self, ((self.input, "input"), (self.alpha, "alpha"), (self.output, "result")))
                and check_same_shape(self, self.input, self.output)
                and check_channel_param(self, self.input, self.alpha, "alpha")
                and check_formats(self, [self.input, self.alpha, self.output]))


class ThresholdOp(Fxp.Operation, name="threshold", traits=[ext.Pure]):
    """A multi-threshold quantizer (FINN's MultiThreshold): y = levels[c], c = #{k : x >= thresholds[k]
    where inclusive[k], x > thresholds[k] elsewhere}, assigned to the result type (exact: its result format
    holds every level).  The importers make it for affine quantizers with float scales or zero points
    (`fxflow.fixed.threshold`: every threshold and level is an exact real), with the result format
    already fixed, as a model quantizer; the input may still be float before precision assignment.
    `thresholds` dense<N x f64> ascending, `inclusive` dense<N x i64> of 0/1, `levels` dense<N+1 x f64>."""

    input: ext.Operand[Any]
    output: ext.Result[Any]
    thresholds: Any
    inclusive: Any
    levels: Any

    @verifier
    def verify_invariants(self):
        import numpy as np

        if not (check_tensors(self, ((self.input, "input"), (self.output, "result")))
                and check_same_shape(self, self.input, self.output)
                and check_formats(self, [self.input, self.output], uniform=False)):
            return False
        arrays = []
        for name, kind in (("thresholds", ir.DenseFPElementsAttr), ("inclusive", ir.DenseIntElementsAttr),
                           ("levels", ir.DenseFPElementsAttr)):
            attr = self.operation.attributes[name]
            if not isinstance(attr, kind) or len(ir.ShapedType(attr.type).shape) != 1:
                what = "float" if kind is ir.DenseFPElementsAttr else "integer"
                return emit(self, f"{name} must be a 1-D dense {what} tensor attribute, got {attr}")
            arrays.append(np.asarray(attr))
        t, inc, lv = arrays
        if t.size < 1 or inc.size != t.size or lv.size != t.size + 1:
            return emit(self, f"needs N >= 1 thresholds, N inclusive flags and N + 1 levels, got {t.size}, {inc.size}, "
                              f"{lv.size}")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(lv))):
            return emit(self, "thresholds and levels must be finite")
        if np.any(np.diff(t) < 0) or not np.all((inc == 0) | (inc == 1)):
            return emit(self, "thresholds must ascend and inclusive flags be 0 or 1")
        return True


SELECT_PREDICATES = ("gt", "ge", "lt", "le", "eq", "ne")


class SelectOp(Fxp.Operation, name="select", traits=[ext.Pure]):
    """(x `predicate` threshold) ? on_true : on_false, assigned to the result type: nn.Threshold,
    torch.where with a comparison against a constant and constant or x branches, maximum/minimum with a
    constant that is not a clamp.  The comparison is exact (the threshold is an exact real, f64); each
    branch is a constant (an exact real) or, when its attribute is NaN, the input x itself."""

    input: ext.Operand[Any]
    output: ext.Result[Any]
    predicate: ir.StringAttr
    threshold: ir.FloatAttr
    on_true: ir.FloatAttr
    on_false: ir.FloatAttr

    @verifier
    def verify_invariants(self):
        if not check_choice(self, "predicate", ir.StringAttr(self.predicate).value, SELECT_PREDICATES):
            return False
        t = ir.FloatAttr(self.threshold).value
        if t != t or t in (float("inf"), float("-inf")):
            return emit(self, f"threshold {t} must be a finite real")
        for name in ("on_true", "on_false"):
            v = ir.FloatAttr(getattr(self, name)).value
            if v in (float("inf"), float("-inf")):
                return emit(self, f"{name} {v} must be a finite real or NaN (the input)")
        return (check_tensors(self, ((self.input, "input"), (self.output, "result")))
                and check_same_shape(self, self.input, self.output)
                and check_formats(self, [self.input, self.output]))
