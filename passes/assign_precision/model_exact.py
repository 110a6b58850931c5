"""Which tensors of a float `fxp` program the model's own quantizers fix exactly (used by fxp-assign-precision).

A quantized model (QONNX/Brevitas, QDQ, PyTorch fake quantization) fixes its activations with casts
(`fxp.cast` to a `!fxp.fixed` type already in the float program) and its weights/biases with
`fxflow.model_formats`.  The tensors *between* those quantizers — Brevitas' `Gemm/Conv -> Relu -> Quant`,
max-pool, flatten, concat after a quantizer — must not take the configured default format, or the design
silently loses bits the model keeps.  This analysis marks, before any format is assigned:

* **fixed** values: a model quantizer's output, or the result of an *exact* op (one whose real result the
  range analysis holds exactly: relu, add, dense with model-quantized weights, max-pool, reshape, ...)
  whose activation operands are all fixed and whose constants the model quantized (or are zero), or, for a
  scale/shift (a BatchNorm or FINN TensorNorm kept beside a quantized layer), constants fxflow holds exactly
  in their narrowest exact formats (float32 constants are dyadic rationals);
* **between** values: exact-op results whose activation operands are all fixed and which reach model
  quantizers (through exact ops only), whatever their constants.

Both take the exact ("auto") format of their range unless the layer's own `result` is configured.  An op
that cannot be exact (a table, a division by a non-power of two, an affine by constants the model did not
quantize) lying between quantizers gets a warning naming the layer and the reason.

Exactness is registered per op family (`@exactness("fxp.pool")`, a function op -> None if exact, else the
reason), next to each family's precision rules.
"""

from __future__ import annotations

import warnings

import numpy as np

from fxflow.dialects.fxp import CastOp, ConstantOp, LayerNormOp, MatmulOp, OpRegistry, format_of
from fxflow.ir import defining_op, elements_array, ir, layer_name

# op class -> rule(op) -> None (exact) | reason it is not; unregistered ops are not exact
EXACTNESS: OpRegistry = OpRegistry("exactness rule")
# op class -> the operand slots that hold constants the model must quantize for the result to be fixed
CONSTANT_ROLES: OpRegistry = OpRegistry("constant roles")
# op classes whose constants fxflow holds exactly when the model did not quantize them (a BatchNorm or
# TensorNorm kept beside a quantized layer): their result is fixed too, and their assigner gives those roles
# their exact format (`exact_constant_roles`)
HELD_EXACTLY: OpRegistry = OpRegistry("constants held exactly")

# Ops with no exactness rule (so never exact), with the reason (test_op_coverage.py asks every op).
UNSUPPORTED = {
    ConstantOp: "not a computation: its readers' `constants=` roles say whether the model quantized it",
    CastOp: "a model quantizer is the boundary itself (is_model_cast); any other cast may round",
    MatmulOp: "no exactness rule yet: its result counts as inexact",
    LayerNormOp: "no exactness rule: the reciprocal square root rounds",
}


def exactness(*classes: type, constants: dict | None = None, held_exactly: bool = False):
    """Register `rule(op) -> None | reason` for the op classes; `constants` maps operand slots to their role
    (`{1: "weight", 2: "bias"}`): the result is fixed only when the model quantized those (or they are 0), or,
    with `held_exactly`, when fxflow can hold them exactly (and the user configured no format for them)."""
    if constants:
        CONSTANT_ROLES.register(classes, constants)
    if held_exactly:
        HELD_EXACTLY.register(classes, True)
    return EXACTNESS.decorate(classes)


def _constant_values(v):
    d = defining_op(v)
    if d is None or d.name != "fxp.constant":
        return None
    return np.asarray(elements_array(d.attributes["value"], list(ir.RankedTensorType(v.type).shape)), np.float64)


def exact_constant_roles(op, model_formats: dict, configured) -> dict:
    """{role: exact format} for the constants of a HELD_EXACTLY op that the model did not quantize and the
    user did not configure (`configured(layer, role)`), each exactly representable; {} if any is not."""
    from fxflow.fixed.interval import exact_constant_format

    if op.name not in HELD_EXACTLY:
        return {}
    layer, out = layer_name(op.location), {}
    for slot, role in CONSTANT_ROLES.get(op.name, {}).items():
        if f"{layer}.{role}" in model_formats or configured(layer, role):
            continue
        arr = _constant_values(op.operands[slot])
        fmt = None if arr is None else exact_constant_format(arr)
        if fmt is None:
            return {}
        out[role] = fmt
    return out


def always_exact(op) -> None:
    return None


def is_model_cast(op) -> bool:
    """A cast (or a threshold quantizer, `fxp.threshold`) to a fixed format that the float program already
    has: the model's quantizer."""
    return op.name in ("fxp.cast", "fxp.threshold") and format_of(op.results[0].type) is not None


def _owner(use):
    return use.owner if isinstance(use.owner, ir.Operation) else use.owner.operation


def _activation_operands(op) -> list:
    return [v for v in op.operands if (d := defining_op(v)) is None or d.name != "fxp.constant"]


class ModelExactness:
    """The fixed/between analysis of one function's float program (see the module docstring)."""

    def __init__(self, ops, model_formats: dict, configured=lambda layer, role: False, fixed_inputs=()):
        self.model_formats = model_formats
        self.configured = configured  # (layer, role) -> whether the user gave that role a format
        self.fixed: set = set(fixed_inputs)  # arguments whose format the model's first quantizer fixes
        self.reaches: dict = {}
        self.reasons: list = []  # (inexact op between quantizers, reason)
        self.between: set = set()
        for op in ops:
            self._visit(op.operation)

    def _visit(self, o) -> None:
        if o.name == "fxp.threshold" and is_model_cast(o):  # a model quantizer with a float scale
            self.fixed.add(o.results[0])
            return
        if o.name == "fxp.cast":  # a model quantizer, or its dequantization back to float
            src = o.operands[0]
            if is_model_cast(o) or format_of(src.type) is not None or src in self.fixed:
                self.fixed.add(o.results[0])
            return
        if not o.name.startswith("fxp.") or o.name == "fxp.constant" or len(o.results) != 1:
            return
        acts = _activation_operands(o)
        if not acts or not all(v in self.fixed for v in acts):
            return
        res = o.results[0]
        rule = EXACTNESS.get(o.name)
        reason = "fxflow has no exact form of it" if rule is None else rule(o)
        if reason is not None:
            if self._reaches_quantizers(res, first=True):
                self.reasons.append((o, reason))
            return
        if self._constants_fixed(o):
            self.fixed.add(res)
        elif self._reaches_quantizers(res):
            self.between.add(res)

    def _constants_fixed(self, o) -> bool:
        layer = layer_name(o.location)
        held = exact_constant_roles(o, self.model_formats, self.configured)
        for slot, role in CONSTANT_ROLES.get(o.name, {}).items():
            if f"{layer}.{role}" in self.model_formats or role in held:
                continue
            arr = _constant_values(o.operands[slot])
            if arr is None or np.any(arr != 0):
                return False
        return True

    def _reaches_quantizers(self, v, first: bool = False) -> bool:
        """Every path from v ends at a model quantizer, through exact ops only (`first`: v's own op may be
        inexact, as for the warning)."""
        if v in self.reaches:
            return self.reaches[v]
        self.reaches[v] = False  # cycles cannot occur in SSA; this only guards repeated visits
        users = [_owner(u) for u in v.uses]
        ok = bool(users)
        for u in users:
            if is_model_cast(u):
                continue
            rule = EXACTNESS.get(u.name)
            if rule is None or rule(u) is not None or len(u.results) != 1 or \
                    not self._reaches_quantizers(u.results[0]):
                ok = False
                break
        self.reaches[v] = ok
        return ok

    def exact_results(self, layer_result_configured) -> set:
        """The results that take their exact format: fixed and between values of exact ops, minus layers
        whose `result` the user configured (`layer_result_configured(layer) -> bool`)."""
        out = set()
        for v in self.fixed | self.between:
            owner = defining_op(v)
            if owner is None or owner.name == "fxp.cast" or layer_result_configured(layer_name(owner.location)):
                continue
            out.add(v)
        return out

    def warn_inexact(self, result_format_of) -> None:
        """One warning per inexact op between the model's quantizers, naming the layer and the format used."""
        for o, reason in self.reasons:
            layer = layer_name(o.location) or "<unnamed>"
            direct = all(is_model_cast(_owner(u)) for u in o.results[0].uses)
            fmt = "the narrowest format of its range" if direct else result_format_of(layer)
            warnings.warn(f"layer '{layer}' ({o.name}) lies between the model's quantizers but cannot be computed "
                          f"exactly: {reason}; its result takes {fmt}, so the design may differ from the model's "
                          "own (float) execution there", stacklevel=3)


__all__ = ["CONSTANT_ROLES", "EXACTNESS", "HELD_EXACTLY", "UNSUPPORTED", "ModelExactness", "always_exact",
           "exact_constant_roles", "exactness", "is_model_cast"]
