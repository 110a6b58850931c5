"""convert-linalg-to-fxp: matching and building helpers shared by several op families' patterns."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from fxflow.dialects.fxp import ConstantOp, ReshapeOp
from fxflow.ir import defining_op, elements_array, ir


# ------------------------------------------------------------------------------------------------
# Attribute memo of one pass run
# ------------------------------------------------------------------------------------------------
_MEMO: list = [None]  # {(what, attribute, ...): value} while the raising pass runs, else None


@contextmanager
def attribute_memo():
    """Remember what patterns derive from attributes (printed affine maps, constant payloads) for one run:
    the greedy driver tries many patterns on each op, and each printed the same maps and converted the same
    constants again.  MLIR attributes are uniqued and live as long as their context, so within a run an
    attribute object is a safe key; outside a run nothing is kept (a later context may reuse an address)."""
    if _MEMO[0] is not None:  # (nested: the outer run's memo)
        yield
        return
    _MEMO[0] = {}
    try:
        yield
    finally:
        _MEMO[0] = None


def _memoized(key, compute):
    memo = _MEMO[0]
    if memo is None:
        return compute()
    value = memo.get(key)
    if value is None:
        value = memo[key] = compute()
    return value


def _payload(attr, shape) -> np.ndarray:
    """elements_array(attr, shape), converted once per run (callers get their own copy)."""
    return _memoized(("payload", attr, tuple(shape)), lambda: elements_array(attr, shape)).copy()


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
    return _payload(attr, ir.RankedTensorType(value.type).shape).astype(np.float64)


def owner_name(value: ir.Value) -> str | None:
    owner = defining_op(value)
    return owner.name if owner is not None else None


def body_ops(generic) -> list:
    return list(generic.region.blocks[0].operations)


def affine_maps(generic) -> list[str]:
    maps = generic.indexing_maps
    return list(_memoized(("maps", maps), lambda: [str(ir.AffineMapAttr(a).value) for a in maps]))


def is_identity_map(m: str) -> bool:
    lhs, _, rhs = m.partition(" -> ")
    return lhs.strip() == rhs.strip()


def is_zero_scalar(v: ir.Value) -> bool:
    if owner_name(v) != "arith.constant":
        return False
    attr = v.owner.attributes["value"]
    return isinstance(attr, ir.FloatAttr) and attr.value == 0.0


def emit_constant(array: np.ndarray, element_type: ir.Type) -> ir.Value:
    arr = np.ascontiguousarray(array, dtype=np.float32 if str(element_type) == "f32" else np.float64)
    attr = ir.DenseElementsAttr.get(arr, type=element_type)
    return ConstantOp(attr, ir.RankedTensorType.get(list(arr.shape), element_type)).output


def adds_its_two_inputs(generic) -> bool:
    """The body is `yield(addf(in0, in1))` over exactly two inputs (in either order)."""
    ops = body_ops(generic)
    if len(list(generic.inputs)) != 2 or len(ops) != 2 or ops[0].operation.name != "arith.addf":
        return False
    args = list(generic.region.blocks[0].arguments)
    return set(map(str, ops[0].operation.operands)) == {str(args[0]), str(args[1])}


# ------------------------------------------------------------------------------------------------
# Attributes, shapes, scalar constants, pads
# ------------------------------------------------------------------------------------------------
def i64_list(attr) -> list[int]:
    """dense<..> : vector<Nxi64> or array<i64: ..> as a list."""
    if isinstance(attr, ir.DenseI64ArrayAttr):
        return list(attr)
    return [int(v) for v in np.asarray(ir.DenseIntElementsAttr(attr)).reshape(-1)]


def i64_array_attr(values) -> ir.DenseI64ArrayAttr:
    return ir.DenseI64ArrayAttr.get([int(v) for v in values])


def i64_attr(v: int) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(v))


def shape_of(v) -> list[int]:
    return list(ir.RankedTensorType(v.type).shape)


def tensor_like(shape, like) -> ir.Type:
    return ir.RankedTensorType.get(list(shape), ir.RankedTensorType(like.type).element_type)


def scalar_constant(v) -> float | None:
    if owner_name(v) == "arith.truncf":  # a double scalar (torch's mul.Scalar) used in f32: its f32 value
        inner = scalar_constant(v.owner.operands[0])
        return None if inner is None else float(np.float32(inner))
    if owner_name(v) != "arith.constant":
        return None
    attr = v.owner.attributes["value"]
    return float(ir.FloatAttr(attr).value) if isinstance(attr, ir.FloatAttr) else None


def pad_of(value, fill: float):
    """(source, low, high) when `value` is a tensor.pad yielding the scalar `fill`, else None."""
    owner = defining_op(value)
    if owner is None or owner.name != "tensor.pad":
        return None
    body = list(owner.regions[0].blocks[0].operations)
    if len(body) != 1 or scalar_constant(body[0].operands[0]) != fill:
        return None
    low, high = i64_list(owner.attributes["static_low"]), i64_list(owner.attributes["static_high"])
    return owner.operands[0], low, high


# ------------------------------------------------------------------------------------------------
# Views of one sample (its tokens regrouped into rows) and ops lifted onto them
# ------------------------------------------------------------------------------------------------
RESHAPES = ("tensor.collapse_shape", "tensor.expand_shape", "fxp.reshape")


def lift_to_sample(op, rewriter, build, inputs):
    """op on rows that are views of one sample (dim 0 != 1) -> the same op on [1, *shape] tensors between
    reshapes, which then fold into the views' sample-leading sources; only for operands that are such views."""
    if any(sample_view_of(v) is None for v in inputs):
        return True  # dim 0 mixes samples (x.T @ x on the batch): left for the unsupported-op report
    out = op.results[0]
    with rewriter.ip, op.location:
        ins = [ReshapeOp(v, ir.RankedTensorType.get([1] + shape_of(v), ir.RankedTensorType(v.type).element_type))
               .output for v in inputs]
        y = build(ins, ir.RankedTensorType.get([1] + shape_of(out), ir.RankedTensorType(out.type).element_type))
        new = ReshapeOp(y, out.type).output
    rewriter.replace_op(op, [new])


def sample_view_of(v):
    """The sample-leading tensor v is a reshape of (through reshapes and lifted ops), else None."""
    owner = defining_op(v)
    while owner is not None and owner.name in RESHAPES + ("fxp.scale_shift", "fxp.softmax"):
        v = owner.operands[0]
        if shape_of(v)[0] == 1:
            return v
        owner = defining_op(v)
    return None


def sample_view(v):
    """x [1, ..., K] when v is a reshape of it with the same last dim (rows regrouped), else None."""
    owner = defining_op(v)
    if owner is None or owner.name not in RESHAPES:
        return None
    src = owner.operands[0]
    s = shape_of(src)
    return src if len(s) >= 2 and s[0] == 1 and s[-1] == shape_of(v)[-1] else None


# ------------------------------------------------------------------------------------------------
# Constant operands of a generic, broadcast to its iteration space
# ------------------------------------------------------------------------------------------------
def broadcast_input(g, i: int, arr: np.ndarray):
    """Input i of generic g (values arr) broadcast to g's iteration space, with the dims it reads, or None."""
    amap = ir.AffineMapAttr(list(g.indexing_maps)[i]).value
    space = [int(n) for n in ir.RankedTensorType(g.outputs[0].type).shape]
    if [str(e) for e in ir.AffineMapAttr(list(g.indexing_maps)[-1]).value.results] != [f"d{j}" for j in
                                                                                      range(len(space))]:
        return None
    view, used = [1] * len(space), []
    for j, e in enumerate(str(e) for e in amap.results):
        if e.startswith("d") and e[1:].isdigit():
            pos = int(e[1:])
            if used and pos <= used[-1]:
                return None  # a transposing read
            used.append(pos)
            view[pos] = arr.shape[j]
        elif not (e == "0" and arr.shape[j] == 1):
            return None
    return np.broadcast_to(arr.reshape(view), space), used


def constant_input(v) -> np.ndarray | None:
    """A constant tensor's values, booleans included (a mask)."""
    owner = defining_op(v)
    if owner is None or owner.name not in ("arith.constant", "fxp.constant"):
        return None
    attr = owner.attributes["value"]
    return _payload(attr, shape_of(v)) if isinstance(attr, ir.DenseElementsAttr) else None
