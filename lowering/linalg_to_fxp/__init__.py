"""convert-linalg-to-fxp: raise the linalg-on-tensors program torch-mlir produces into layer-level `fxp` ops.

Patterns (applied with MLIR's greedy driver, constants folded first):
  linalg.transpose(constant)                 -> constant (transposed at compile time)
  linalg.matmul(x, constant W, fill(0))      -> fxp.dense(x, W, zeros)
  linalg.generic{add, bias broadcast}(dense) -> fxp.dense(x, W, bias)
  linalg.generic{cmpf ugt/select 0 | max 0}  -> fxp.relu
  linalg.generic{addf of two tensors}        -> fxp.add
  arith.constant tensor                      -> fxp.constant
The result still computes in float (exact reals); `fxp-assign-precision` then gives every tensor its format.
Anything left that is not fxp/func afterwards is reported as unsupported, with its op name and layer.
"""

from __future__ import annotations

import numpy as np

from fxflow.dialects.fxp import AddOp, CastOp, ConstantOp, DenseOp, OpRegistry, ReluOp, RnnOp, check_op_classes
from fxflow.errors import UnsupportedOpError
from fxflow.ir import defining_op, elements_array, ir, layer_name, rewrite
from fxflow.passes.registry import register_pass


# ------------------------------------------------------------------------------------------------
# Matching helpers
# ------------------------------------------------------------------------------------------------
def constant_array(value: ir.Value) -> np.ndarray | None:
    """The values of a tensor constant (arith.constant or fxp.constant with a float payload)."""
    owner = defining_op(value)
    if owner is None or owner.name not in ("arith.constant", "fxp.constant"):
        return None
    attr = owner.attributes["value"]
    if not isinstance(attr, ir.DenseElementsAttr):
        return None
    return elements_array(attr, ir.RankedTensorType(value.type).shape).astype(np.float64)


def owner_name(value: ir.Value) -> str | None:
    owner = defining_op(value)
    return owner.name if owner is not None else None


def body_ops(generic) -> list:
    return list(generic.region.blocks[0].operations)


def affine_maps(generic) -> list[str]:
    return [str(ir.AffineMapAttr(a).value) for a in generic.indexing_maps]


def is_identity_map(m: str) -> bool:
    lhs, _, rhs = m.partition(" -> ")
    return lhs.strip() == rhs.strip()


def is_zero_scalar(v: ir.Value) -> bool:
    if owner_name(v) != "arith.constant":
        return False
    attr = v.owner.attributes["value"]
    return isinstance(attr, ir.FloatAttr) and attr.value == 0.0


def _float_tensor(shape, like: ir.Value) -> ir.Type:
    return ir.RankedTensorType.get(list(shape), ir.RankedTensorType(like.type).element_type)


def emit_constant(array: np.ndarray, element_type: ir.Type) -> ir.Value:
    arr = np.ascontiguousarray(array, dtype=np.float32 if str(element_type) == "f32" else np.float64)
    attr = ir.DenseElementsAttr.get(arr, type=element_type)
    return ConstantOp(attr, ir.RankedTensorType.get(list(arr.shape), element_type)).output


# ------------------------------------------------------------------------------------------------
# Patterns: return None on success, True when the pattern does not apply (binding convention)
# ------------------------------------------------------------------------------------------------
def fold_constant_transpose(op, rewriter):
    arr = constant_array(op.operation.operands[0])
    if arr is None:
        return True
    perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
    et = ir.RankedTensorType(op.operation.operands[0].type).element_type
    with rewriter.ip, op.location:
        new = emit_constant(np.transpose(arr, perm), et)
    rewriter.replace_op(op, [new])


def matmul_to_dense(op, rewriter):
    x, w = op.inputs
    init = op.outputs[0]
    warr = constant_array(w)
    if warr is None or owner_name(init) != "linalg.fill" or not is_zero_scalar(init.owner.operands[0]):
        return True
    if len(ir.RankedTensorType(x.type).shape) != 2:
        return True
    et = ir.RankedTensorType(x.type).element_type
    with rewriter.ip, op.location:
        wc = emit_constant(warr, et)
        bias = emit_constant(np.zeros(warr.shape[1]), et)
        dense = DenseOp(x, wc, bias, op.result.type)
    rewriter.replace_op(op, [dense.output])


def _adds_its_two_inputs(generic) -> bool:
    """The body is `yield(addf(in0, in1))` over exactly two inputs (in either order)."""
    ops = body_ops(generic)
    if len(list(generic.inputs)) != 2 or len(ops) != 2 or ops[0].operation.name != "arith.addf":
        return False
    args = list(generic.region.blocks[0].arguments)
    return set(map(str, ops[0].operation.operands)) == {str(args[0]), str(args[1])}


def bias_add_into_dense(op, rewriter):
    ins = list(op.inputs)
    if not _adds_its_two_inputs(op):
        return True
    maps = affine_maps(op)
    if not (is_identity_map(maps[0]) and maps[1].endswith("-> (d1)") and is_identity_map(maps[2])):
        return True
    acc, bias = ins
    barr = constant_array(bias)
    if barr is None or owner_name(acc) != "fxp.dense":
        return True
    dense = acc.owner
    old_bias = constant_array(dense.operands[2])
    if old_bias is None or len(list(acc.uses)) != 1:
        return True
    et = ir.RankedTensorType(acc.type).element_type
    # The layer is named after its matmul (PyTorch: the same module; ONNX: the MatMul node, not the Add).
    with rewriter.ip, dense.location:
        new_bias = emit_constant(old_bias + barr, et)
        new = DenseOp(dense.operands[0], dense.operands[1], new_bias, op.result.type)
    rewriter.replace_op(op, [new.output])
    rewriter.erase_op(dense)


_GREATER_PREDICATES = (2, 3, 9, 10)  # arith.cmpf ogt, oge, ugt, uge: x > 0 and x >= 0 select the same values


def generic_to_relu(op, rewriter):
    ins = list(op.inputs)
    ops = body_ops(op)
    names = [o.operation.name for o in ops]
    if len(ins) != 1 or not all(is_identity_map(m) for m in affine_maps(op)):
        return True
    block_arg = op.region.blocks[0].arguments[0]
    if names == ["arith.cmpf", "arith.select", "linalg.yield"]:
        cmp, sel = ops[0].operation, ops[1].operation
        pred = ir.IntegerAttr(cmp.attributes["predicate"]).value
        ok = (cmp.operands[0] == block_arg and is_zero_scalar(cmp.operands[1]) and pred in _GREATER_PREDICATES
              and sel.operands[1] == block_arg and is_zero_scalar(sel.operands[2]))
    elif names in (["arith.maximumf", "linalg.yield"], ["arith.maxnumf", "linalg.yield"]):
        a, b = ops[0].operation.operands
        ok = (a == block_arg and is_zero_scalar(b)) or (b == block_arg and is_zero_scalar(a))
    else:
        ok = False
    if not ok:
        return True
    with rewriter.ip, op.location:
        new = ReluOp(ins[0], op.result.type)
    rewriter.replace_op(op, [new.output])


def generic_to_add(op, rewriter):
    ins = list(op.inputs)
    if not _adds_its_two_inputs(op) or not all(is_identity_map(m) for m in affine_maps(op)):
        return True
    with rewriter.ip, op.location:
        new = AddOp(ins[0], ins[1], op.result.type)
    rewriter.replace_op(op, [new.output])


def arith_constant_to_fxp(op, rewriter):
    if not isinstance(op.result.type, ir.RankedTensorType) or not list(op.result.uses):
        return True
    arr = constant_array(op.result)
    if arr is None:
        return True
    with rewriter.ip, op.location:
        new = emit_constant(arr, ir.RankedTensorType(op.result.type).element_type)
    rewriter.replace_op(op, [new])


# (root op name, pattern, benefit); op families add theirs with `@raising_pattern` in their own
# modules (layer_patterns.py: conv/pool/BatchNorm/shape ops, activation_patterns.py: tables/softmax).
PATTERNS: list[tuple[str, object, int]] = []


# Patterns of the early stage run to a fixed point first: they match whole chains of generics (LayerNorm)
# that the patterns above would otherwise split into smaller ops.
EARLY_PATTERNS: list[tuple[str, object, int]] = []

# fxp op class -> the patterns declared to produce it (`produces=`); test_op_coverage.py asks every op.
RAISED_BY: OpRegistry = OpRegistry("raising pattern")

# Ops no linalg pattern produces: the importer that builds them instead (also read by test_op_coverage.py).
IMPORTED = {
    CastOp: "fxflow.lowering.fake_quant_to_fxp: the model's own quantizers (fake-quant, QONNX, Brevitas)",
    RnnOp: "fxflow.lowering.recurrent_import: LSTM/GRU layers, before torch-mlir sees them",
}


def raising_pattern(root: str, benefit: int = 1, early: bool = False, produces: tuple = ()):
    """Register a rewrite of the linalg/tensor op `root`; `produces` names the fxp op classes it creates."""
    check_op_classes(produces, f"raising pattern on {root}")

    def wrap(fn):
        (EARLY_PATTERNS if early else PATTERNS).append((root, fn, benefit))
        for c in produces:
            RAISED_BY.setdefault(c, []).append(f"{fn.__module__}.{fn.__name__}")
        return fn

    return wrap


for _root, _fn, _benefit, _made in (
    ("linalg.transpose", fold_constant_transpose, 3, (ConstantOp,)),
    ("linalg.matmul", matmul_to_dense, 2, (DenseOp, ConstantOp)),
    ("linalg.generic", bias_add_into_dense, 3, (DenseOp,)),
    ("linalg.generic", generic_to_relu, 2, (ReluOp,)),
    ("linalg.generic", generic_to_add, 1, (AddOp,)),
):
    raising_pattern(_root, _benefit, produces=_made)(_fn)


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


FAMILIES = ["fxflow.lowering.linalg_to_fxp.layers", "fxflow.lowering.linalg_to_fxp.tables",
            "fxflow.lowering.linalg_to_fxp.transformer"]


_LEGAL_AFTER = ("fxp.", "func.", "builtin.module", "arith.constant", "tensor.empty", "linalg.fill")


@register_pass("convert-linalg-to-fxp", "Raise linalg-on-tensors layers (matmul+bias, relu, add) into fxp ops")
def convert_linalg_to_fxp(module_op, options=None) -> None:
    _load_families()
    if EARLY_PATTERNS:
        rewrite.apply_patterns_and_fold_greedily(module_op, _patterns(EARLY_PATTERNS))
    rewrite.apply_patterns_and_fold_greedily(module_op, _patterns())
    _cleanup(module_op)
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
