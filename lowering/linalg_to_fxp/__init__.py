"""convert-linalg-to-fxp: raise the linalg-on-tensors program torch-mlir produces into layer-level `fxp` ops.

The patterns live in one module per fxp op family (FAMILIES; helpers shared by several in common.py), each
registered with `@raising_pattern(root, benefit, produces=...)` in the family of an op it produces, and applied
with MLIR's greedy driver (constants folded first).
The result still computes in float (exact reals); `fxp-assign-precision` then gives every tensor its format.
Anything left that is not fxp/func afterwards is reported as unsupported, with its op name and layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fxflow.dialects.fxp import CastOp, check_op_classes, OpRegistry, RnnOp, ThresholdOp
from fxflow.errors import UnsupportedOpError
from fxflow.ir import ir, layer_name, rewrite
from fxflow.passes.registry import register_pass

from .common import attribute_memo, constant_array, emit_constant, owner_name


def arith_constant_to_fxp(op, rewriter):
    if not isinstance(op.result.type, ir.RankedTensorType) or not list(op.result.uses):
        return True
    arr = constant_array(op.result)
    if arr is None:
        return True
    with rewriter.ip, op.location:
        new = emit_constant(arr, ir.RankedTensorType(op.result.type).element_type)
    rewriter.replace_op(op, [new])


# (root op name, pattern, benefit); the op families (FAMILIES) add theirs with `@raising_pattern`.
PATTERNS: list[tuple[str, object, int]] = []


# Patterns of the early stage run to a fixed point first: they match whole chains of generics (LayerNorm)
# that the patterns above would otherwise split into smaller ops.
EARLY_PATTERNS: list[tuple[str, object, int]] = []

# fxp op class -> the patterns declared to produce it (`produces=`); test_op_coverage.py asks every op.
RAISED_BY: OpRegistry = OpRegistry("raising pattern")

# Ops no linalg pattern produces: the importer that builds them instead (also read by test_op_coverage.py).
IMPORTED = {
    CastOp: "fxflow.lowering.fake_quant_to_fxp: the model's own quantizers (fake-quant, QONNX, Brevitas)",
    RnnOp: "fxflow.lowering.recurrent_import: LSTM/GRU/RNN layers, before torch-mlir sees them",
    ThresholdOp: "fxflow.lowering.qdq: ONNX QDQ / QCDQ / QONNX quantizers with float scales or zero points",
}


def raising_pattern(root: str, benefit: int = 1, early: bool = False, produces: tuple = ()):
    """Register a rewrite of the linalg/tensor op `root`; `produces` names the fxp op classes it creates.
    A pattern returns None on success, True when it does not apply (the bindings' convention)."""
    check_op_classes(produces, f"raising pattern on {root}")

    def wrap(fn):
        (EARLY_PATTERNS if early else PATTERNS).append((root, fn, benefit))
        for c in produces:
            RAISED_BY.setdefault(c, []).append(f"{fn.__module__}.{fn.__name__}")
        return fn

    return wrap


def _patterns(patterns=None):
    """The raising patterns (frozen pattern sets belong to one Context, so they are built per run)."""
    _load_families()
    ps = rewrite.RewritePatternSet()
    for root, fn, benefit in (PATTERNS if patterns is None else patterns):
        ps.add(root, fn, benefit=benefit)
    return ps.freeze()


def _load_families() -> None:
    import importlib

    for mod in FAMILIES:
        importlib.import_module(mod)


# The modules registering the patterns, one per op family.  MLIR tries patterns of equal benefit on the same
# root in registration order, so this order (and the order inside each file) is part of the pass's behaviour.
FAMILIES = ["fxflow.lowering.linalg_to_fxp.elementwise", "fxflow.lowering.linalg_to_fxp.transformer",
            "fxflow.lowering.linalg_to_fxp.layers", "fxflow.lowering.linalg_to_fxp.tables",
            "fxflow.lowering.linalg_to_fxp.shape"]


_LEGAL_AFTER = ("fxp.", "func.", "builtin.module", "arith.constant", "tensor.empty", "linalg.fill")


@dataclass
class LinalgToFxpOptions:
    # fold a BatchNorm (a scale_shift of another layer) into the Linear/Conv before it: True, False, or a
    # predicate of the Linear/Conv's and the BatchNorm's layer names (hls4ml arithmetic: hls4ml 1.3 folds it
    # only into a layer whose result precision is 'auto', and keeps it a layer of its own otherwise)
    fold_batchnorm: bool | Callable[[str, str], bool] = True


FOLD_ACROSS_LAYERS: list = [True]  # the running pass's fold_batchnorm, read by elementwise.fuse_scale_shift


@register_pass("convert-linalg-to-fxp", "Raise linalg-on-tensors layers (matmul+bias, relu, add) into fxp ops",
               LinalgToFxpOptions)
def convert_linalg_to_fxp(module_op, options=None) -> None:
    _load_families()
    FOLD_ACROSS_LAYERS[0] = options is None or options.fold_batchnorm
    try:
        with attribute_memo():
            if EARLY_PATTERNS:
                rewrite.apply_patterns_and_fold_greedily(module_op, _patterns(EARLY_PATTERNS))
            rewrite.apply_patterns_and_fold_greedily(module_op, _patterns())
            _cleanup(module_op)
    finally:
        FOLD_ACROSS_LAYERS[0] = True
    _reject_leftovers(module_op)


def _cleanup(module_op) -> None:
    """Tensor constants become fxp.constant; then dead ops (unused fills, empties, scalars) go away."""
    ps = rewrite.RewritePatternSet()
    ps.add("arith.constant", arith_constant_to_fxp)
    rewrite.apply_patterns_and_fold_greedily(module_op, ps.freeze())


def _reject_leftovers(module_op) -> None:
    bad = []

    def visit(op):
        name = op.name
        if name.startswith("fxp.") and name != "fxp.constant" and not _sample_leading(op):
            bad.append(op)  # a view whose dim 0 is not the sample (rows mixing samples and tokens)
            return ir.WalkResult.SKIP
        if name.startswith("fxp."):
            return ir.WalkResult.SKIP  # fxp.lut regions hold arith/math scalar ops by design
        if name.startswith(("func.", "builtin.")):
            return ir.WalkResult.ADVANCE
        if name in ("arith.constant", "tensor.empty", "linalg.fill") and not any(True for r in op.results for _ in r.uses):
            return ir.WalkResult.ADVANCE
        bad.append(op)
        return ir.WalkResult.SKIP

    module_op.walk(visit, ir.WalkOrder.PRE_ORDER)
    if bad:
        # Report the op that computes something, not the scalar constants it captured.
        bad.sort(key=lambda o: o.name in ("arith.constant", "tensor.empty", "linalg.fill"))
        op = bad[0]
        where = layer_name(op.location)
        what = _describe(op)
        raise UnsupportedOpError(
            f"unsupported operation {what} from module '{where or '<unknown module>'}' ({op.location}); "
            "supported layers: Linear, Conv1d/2d, pooling, BatchNorm, activations, Softmax, elementwise and "
            "shape operations (see docs/layers.md)", layer=where, location=str(op.location))


def _sample_leading(op) -> bool:
    """Every computed tensor of an fxp op has the sample (batch 1) as dim 0, as the executors assume."""
    values = [v for v in op.operands if owner_name(v) != "fxp.constant"] + list(op.results)
    return all(not isinstance(v.type, ir.RankedTensorType) or not ir.RankedTensorType(v.type).shape
               or ir.RankedTensorType(v.type).shape[0] == 1 for v in values)


def _describe(op) -> str:
    if op.name.startswith("fxp.") and not _sample_leading(op):
        shapes = [list(ir.RankedTensorType(v.type).shape) for v in list(op.operands) + list(op.results)
                  if isinstance(v.type, ir.RankedTensorType)]
        return f"'{op.name}' on a view {shapes} whose dim 0 merges the sample with other dims"
    if op.name == "linalg.generic":
        body = [o.operation.name for o in op.regions[0].blocks[0].operations][:-1]
        return f"'linalg.generic' computing {', '.join(body) or 'a copy'}"
    return f"'{op.name}'"
