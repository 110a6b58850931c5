"""convert-linalg-to-fxp, tables family (activations): clamps, (leaky/parametric) ReLUs, table functions and softmax.

torch-mlir lowers an activation into one or a few elementwise `linalg.generic`s (ELU: max, min, exp, sub,
add; Hardsigmoid: add, max, min, div).  The patterns look at the *cone* of such a generic: the
elementwise generics of the same layer (NameLoc) feeding it whose results are read only inside the
cone.  When the cone computes a function of one tensor x and contains more than affine arithmetic:
  a chain of max/min (maximumf/minimumf, cmpf+select) with constants    -> fxp.clamp (fxp.relu for [0, inf))
  select(x > 0, x, x*a) | max(x, 0) + min(x, 0)*a, a per tensor/channel -> fxp.prelu     (PReLU, LeakyReLU)
  select(x cmp c, a, b), a and b each x or a scalar constant             -> fxp.select   (Threshold, where)
  any other arith/math body with scalar constants                       -> fxp.lut, the cone's bodies
                                                                           cloned into its region
and the softmax decomposition (reduce max, x - max, exp, reduce sum, div; any dim) -> fxp.softmax
("stable"; fxp-assign-precision applies the layer's configured implementation).  Pure affine cones
(x*c + d) are left to the elementwise family's scale_shift.  The new op keeps the root's location (the layer).

"""

from __future__ import annotations

import functools
import math

import numpy as np

from fxflow.dialects.fxp import ClampOp, ConstantOp, LutOp, PReluOp, ReluOp, ReshapeOp, SelectOp, SoftmaxOp, YieldOp
from fxflow.errors import FxflowError
from fxflow.ir import defining_op, ir, layer_name

from fxflow.lowering.linalg_to_fxp import raising_pattern
from .common import affine_maps, constant_array, emit_constant, is_identity_map, lift_to_sample, shape_of


_AFFINE = {"arith.addf", "arith.subf", "arith.mulf", "arith.divf", "arith.negf", "arith.truncf", "arith.extf"}
_GT = (2, 3, 9, 10)  # cmpf ogt, oge, ugt, uge
_LT = (4, 5, 11, 12)  # cmpf olt, ole, ult, ule


# ------------------------------------------------------------------------------------------------
# Cones of elementwise generics
# ------------------------------------------------------------------------------------------------
def _is_elementwise(op) -> bool:
    """A linalg.generic with parallel iterators only, one result, an identity output map, an unused out
    argument and no index-dependent ops."""
    if op is None or op.name != "linalg.generic" or len(op.results) != 1:
        return False
    if "reduction" in str(op.attributes["iterator_types"]):
        return False
    maps = affine_maps(op.opview)
    if not is_identity_map(maps[-1]):
        return False
    block = op.regions[0].blocks[0]
    out_arg = block.arguments[len(block.arguments) - 1]
    if any(True for _ in out_arg.uses):
        return False
    return all(o.operation.name.startswith(("arith.", "math.", "linalg.yield")) for o in block.operations)


_tensor_constant = constant_array  # the values of a constant tensor operand, else None


def _users(value) -> list:
    return [u.owner for u in value.uses]


def _cone(root, masks: bool = False):
    """(ops in program order, the single non-constant source x) of root's cone, or None.  With `masks`, also
    the comparisons of other layers whose boolean result only the cone reads (`_is_mask`)."""
    layer = layer_name(root.location)
    members = [root]

    def inside(o) -> bool:
        return any(o == m for m in members)

    changed = True
    while changed:
        changed = False
        for m in list(members):
            for v in m.operands[: _n_inputs(m)]:
                p = defining_op(v)
                if p is None or inside(p) or not _is_elementwise(p):
                    continue
                if layer_name(p.location) != layer and not (masks and _is_mask(p)):
                    continue
                if all(inside(u) for u in _users(p.results[0])):
                    members.append(p)
                    changed = True
    sources = []
    for m in members:
        maps = affine_maps(m.opview)
        for i, v in enumerate(m.operands[: _n_inputs(m)]):
            p = defining_op(v)
            if (p is not None and inside(p)) or _tensor_constant(v) is not None:
                continue
            if not is_identity_map(maps[i]):
                return None
            if not any(v == s for s in sources):
                sources.append(v)
    if len(sources) != 1:
        return None
    return _program_order(root, members), sources[0]


def _is_mask(op) -> bool:
    """A comparison of float tensors into a boolean tensor (torch.where's condition, made by a `gt` of its own
    name): joins the cone of the select that reads it when the cone is then an fxp.select (an attention mask's
    select of -inf is the transformer family's)."""
    def element(v):
        return str(ir.RankedTensorType(v.type).element_type)

    ins = list(op.operands[: _n_inputs(op)])
    return element(op.results[0]) == "i1" and bool(ins) and all(element(v) != "i1" for v in ins)


def _n_inputs(op) -> int:
    return len(list(op.opview.inputs))


def _program_order(root, members) -> list:
    """The members in block order when all sit in root's function body, else reversed discovery order.

    Compares positions with `is_before_in_block` (MLIR's cached op order) instead of scanning the whole
    block: a scan per cone made the pass quadratic in the number of layers."""
    if root.parent.name == "builtin.module":
        return list(reversed(members))
    block = root.parent.regions[0].blocks[0]
    ops = [m.operation for m in members]
    if any(o.block != block for o in ops):
        return list(reversed(members))
    return sorted(ops, key=functools.cmp_to_key(lambda a, b: -1 if a.is_before_in_block(b) else 1))


# ------------------------------------------------------------------------------------------------
# The cone as an expression tree: ("x",) | ("c", float) | ("ct", array over x's shape) | (name, attr, *args)
# ------------------------------------------------------------------------------------------------
class _NoMatch(Exception):
    pass


def _expression(order, x):
    from fxflow.scalar_eval import evaluate

    shape = list(ir.RankedTensorType(x.type).shape)
    results: dict = {}

    def const_input(m, i, v):
        arr = _tensor_constant(v)
        full = _broadcast(arr, affine_maps(m.opview)[i], shape)
        if np.all(full == full.reshape(-1)[0]):
            return ("c", float(full.reshape(-1)[0]))
        return ("ct", full)

    for m in order:
        block = m.regions[0].blocks[0]
        env: dict = {}
        for i, v in enumerate(m.operands[: _n_inputs(m)]):
            arg = block.arguments[i]
            if v == x:
                env[arg] = ("x",)
            elif defining_op(v) is not None and any(defining_op(v) == o for o in order):
                env[arg] = results[_key(v)]
            else:
                env[arg] = const_input(m, i, v)

        def expr(v, env=env, block=block):
            if v in env:
                return env[v]
            owner = defining_op(v)
            if owner is None:
                raise _NoMatch()
            inside_body = owner.parent is not None and owner.parent == m
            if not inside_body:  # a captured value: must be a compile-time scalar
                try:
                    return ("c", float(evaluate(v, {})))
                except FxflowError:
                    raise _NoMatch() from None
            args = [expr(a) for a in owner.operands]
            if all(a[0] == "c" for a in args) and owner.name != "arith.cmpf":
                env[v] = ("c", float(evaluate(v, {})))
                return env[v]
            attr = ir.IntegerAttr(owner.attributes["predicate"]).value if owner.name == "arith.cmpf" else None
            env[v] = (owner.name, attr, *args)
            return env[v]

        yield_op = list(block.operations)[-1].operation
        results[_key(m.results[0])] = expr(yield_op.operands[0])
    return results[_key(order[-1].results[0])]


def _key(v):
    return v


def _broadcast(arr: np.ndarray, amap: str, shape: list[int]) -> np.ndarray:
    """The constant operand's value at every index of the iteration space (the shape of x)."""
    rhs = amap.partition(" -> ")[2].strip().strip("()")
    exprs = [e.strip() for e in rhs.split(",")] if rhs.strip() else []
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    idx = []
    for e in exprs:
        if e.startswith("d") and e[1:].isdigit():
            idx.append(grids[int(e[1:])])
        elif e.lstrip("-").isdigit():
            idx.append(np.full(shape, int(e)))
        else:
            raise _NoMatch()
    try:
        return np.asarray(arr[tuple(idx)] if idx else np.full(shape, arr.reshape(())), dtype=np.float64)
    except (IndexError, ValueError):  # a generic of another iteration space (e.g. over parameters only)
        raise _NoMatch() from None


def _names(e) -> set:
    if e[0] in ("x", "c", "ct"):
        return set()
    out = {e[0]}
    for a in e[2:]:
        out |= _names(a)
    return out


def _has_tensor_constant(e) -> bool:
    if e[0] == "ct":
        return True
    return e[0] not in ("x", "c") and any(_has_tensor_constant(a) for a in e[2:])


def _minmax(e):
    """("max" | "min", a, b) when e selects the larger / smaller of a and b."""
    name = e[0]
    if name in ("arith.maximumf", "arith.maxnumf"):
        return "max", e[2], e[3]
    if name in ("arith.minimumf", "arith.minnumf"):
        return "min", e[2], e[3]
    if name == "arith.select" and e[2][0] == "arith.cmpf":
        cmp, a, b = e[2], e[3], e[4]
        pred, ca, cb = cmp[1], cmp[2], cmp[3]
        if (ca, cb) == (a, b):
            pass
        elif (ca, cb) == (b, a):
            pred = {2: 4, 3: 5, 9: 11, 10: 12, 4: 2, 5: 3, 11: 9, 12: 10}.get(pred, pred)
        else:
            return None
        if pred in _GT:
            return "max", a, b
        if pred in _LT:
            return "min", a, b
    return None


def _clamp_bounds(e):
    """(lo, hi) when e is x clamped by a chain of max/min with scalar constants."""
    if e == ("x",):
        return -math.inf, math.inf
    m = _minmax(e)
    if m is None:
        return None
    kind, a, b = m
    if a[0] == "c":
        a, b = b, a
    if b[0] != "c":
        return None
    inner = _clamp_bounds(a)
    if inner is None:
        return None
    lo, hi = inner
    c = b[1]
    return (max(lo, c), max(hi, c)) if kind == "max" else (min(lo, c), min(hi, c))


def _slope(e):
    """a when e is x*a or a*x with a constant (scalar or tensor)."""
    if e[0] != "arith.mulf":
        return None
    a, b = e[2], e[3]
    if a == ("x",) and b[0] in ("c", "ct"):
        return b
    if b == ("x",) and a[0] in ("c", "ct"):
        return a
    return None


def _is_zero(e) -> bool:
    return e[0] == "c" and e[1] == 0.0


def _positive_test(cmp):
    """True when cmp means x > 0 (or x >= 0), False for x < 0 (x <= 0), None otherwise."""
    if cmp[0] != "arith.cmpf":
        return None
    pred, a, b = cmp[1], cmp[2], cmp[3]
    if a == ("x",) and _is_zero(b):
        return True if pred in _GT else False if pred in _LT else None
    if b == ("x",) and _is_zero(a):
        return True if pred in _LT else False if pred in _GT else None
    return None


def _prelu_slope(e):
    """The slope a when e is a (leaky / parametric) ReLU of x."""
    if e[0] == "arith.select":
        pos = _positive_test(e[2])
        if pos is None:
            return None
        keep, scaled = (e[3], e[4]) if pos else (e[4], e[3])
        if keep == ("x",) and scaled == ("x",):
            return ("c", 1.0)  # LeakyReLU(1.0): x * 1.0 folded away
        return _slope(scaled) if keep == ("x",) else None
    if e[0] == "arith.addf":
        for p, n in ((e[2], e[3]), (e[3], e[2])):
            if _clamp_bounds(p) == (0.0, math.inf) and _clamp_bounds(n) == (-math.inf, 0.0):
                return ("c", 1.0)  # max(x, 0) + min(x, 0): LeakyReLU(1.0), the product by 1.0 folded away
            if _clamp_bounds(p) == (0.0, math.inf) and n[0] == "arith.mulf":
                for inner, a in ((n[2], n[3]), (n[3], n[2])):
                    if a[0] in ("c", "ct") and _clamp_bounds(inner) == (-math.inf, 0.0):
                        return a
    return None


_PREDICATES = {1: "eq", 8: "eq", 2: "gt", 9: "gt", 3: "ge", 10: "ge", 4: "lt", 11: "lt", 5: "le", 12: "le",
               6: "ne", 13: "ne"}  # arith.cmpf (ordered and unordered alike: no NaN reaches the hardware)
_SWAPPED = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge", "eq": "eq", "ne": "ne"}


def _bare(e):
    """e without float widening/narrowing around it (torch-mlir compares f32 x as f64 against a double)."""
    while e[0] in ("arith.extf", "arith.truncf") and len(e) == 3:
        e = e[2]
    return e


def _select_of(e):
    """(predicate, threshold, on_true, on_false) when e is (x pred c) ? a : b with a, b each x (NaN) or a
    scalar constant: nn.Threshold, torch.where with constants, maximum/minimum with a constant."""
    if e[0] != "arith.select" or e[2][0] != "arith.cmpf" or e[2][1] not in _PREDICATES:
        return None
    pred, lhs, rhs = _PREDICATES[e[2][1]], _bare(e[2][2]), _bare(e[2][3])
    if lhs[0] == "c" and rhs == ("x",):
        pred, lhs, rhs = _SWAPPED[pred], rhs, lhs
    if lhs != ("x",) or rhs[0] != "c" or not math.isfinite(rhs[1]):
        return None
    branches = []
    for b in (_bare(e[3]), _bare(e[4])):
        if b == ("x",):
            branches.append(math.nan)
        elif b[0] == "c" and math.isfinite(b[1]):
            branches.append(b[1])
        else:
            return None
    return pred, rhs[1], branches[0], branches[1]


def _per_channel(a, shape) -> np.ndarray | None:
    """A slope constant as [1] or [C] (channel = dim 1), or None when it varies along other dims."""
    if a[0] == "c":
        return np.array([a[1]])
    full = a[1]
    if len(shape) < 2:
        return None
    c = full.reshape(shape[0], shape[1], -1)
    ref = c[:1, :, :1]
    if not np.all(c == ref):
        return None
    return ref.reshape(-1)


# ------------------------------------------------------------------------------------------------
# Patterns
# ------------------------------------------------------------------------------------------------
def _is_root(op) -> bool:
    """No single elementwise reader of the same layer would take this generic into its own cone."""
    users = _users(op.results[0])
    if len(users) != 1:
        return True
    u = users[0]
    if not _is_elementwise(u) or layer_name(u.location) != layer_name(op.location):
        return True
    found = _cone(u)
    return found is None or not any(o == op for o in found[0])


@raising_pattern("linalg.generic", 3, produces=(LutOp, ClampOp, PReluOp, ReluOp, SelectOp, ConstantOp))
def elementwise_activation(op, rewriter):
    o = op.operation
    if not _is_elementwise(o) or not _is_root(o) or _feeds_softmax(o):
        return True
    if str(ir.RankedTensorType(o.results[0].type).element_type) == "i1":
        return True  # a boolean mask is no activation: it is read by a select (this family's or the transformer's)
    found, with_masks = _cone(o), False
    if found is None or str(ir.RankedTensorType(found[1].type).element_type) == "i1":  # reads a mask
        found, with_masks = _cone(o, masks=True), True
    if found is None:
        return True
    order, x = found
    if _only_affine(order):
        return True  # (what the check of the expression's names below concludes, without building it)
    try:
        e = _expression(order, x)
    except _NoMatch:
        return True
    names = _names(e)
    if not names or names <= _AFFINE:
        return True  # affine maps are the layer family's (scale_shift, mul)
    et = ir.RankedTensorType(x.type).element_type
    if not isinstance(et, ir.F32Type) and str(et) not in ("f32", "f64", "f16", "bf16"):
        return True
    shape = list(ir.RankedTensorType(x.type).shape)
    bounds = _clamp_bounds(e)
    slope = _prelu_slope(e) if bounds is None else None
    alpha = _per_channel(slope, shape) if slope is not None else None
    select = _select_of(e) if bounds is None and alpha is None else None
    if with_masks and bounds is None and alpha is None and select is None:
        return True  # a comparison of another layer only joins a clamp, prelu or select, never a table
    if bounds is None and alpha is None and _has_tensor_constant(e):
        return True
    with rewriter.ip, o.location:
        if bounds is not None and bounds == (0.0, math.inf):
            new = ReluOp(x, o.results[0].type).output
        elif bounds is not None:
            new = ClampOp(x, o.results[0].type, min=_f64(bounds[0]), max=_f64(bounds[1])).output
        elif alpha is not None:
            new = PReluOp(x, emit_constant(alpha, et), o.results[0].type).output
        elif select is not None:
            pred, t, a, b = select
            new = SelectOp(x, o.results[0].type, ir.StringAttr.get(pred), _f64(t), _f64(a), _f64(b)).output
        else:
            new = _build_lut(order, x, o.results[0].type)
    rewriter.replace_op(op, [new])


def _only_affine(order) -> bool:
    """Every op in the cone's bodies is an affine one, a constant or the yield: its expression's names (the
    ops left after folding constants) are then affine too.  Most generics raising visits (a Linear's bias
    add, a BatchNorm's scale) are such; building their expression cost more than the rest of the match."""
    allowed = _AFFINE | {"arith.constant", "linalg.yield"}
    return all(o.operation.name in allowed for m in order for o in m.regions[0].blocks[0].operations)


def _f64(v: float) -> ir.FloatAttr:
    return ir.FloatAttr.get(ir.F64Type.get(), float(v))


def _build_lut(order, x, result_type) -> ir.Value:
    """An fxp.lut whose region holds the cone's bodies (captured scalars cloned in: isolated from above)."""
    et = ir.RankedTensorType(x.type).element_type
    lut = LutOp(x, result_type)
    block = lut.function.blocks.append(et)
    arg = block.arguments[0]
    values: dict = {}  # value produced by a cone generic -> region scalar
    cloned: dict = {}  # captured scalar or splat constant -> region scalar
    shape = list(ir.RankedTensorType(x.type).shape)
    with ir.InsertionPoint(block):
        for m in order:
            body = m.regions[0].blocks[0]
            env: dict = {}
            for i, v in enumerate(m.operands[: _n_inputs(m)]):
                if v == x:
                    env[body.arguments[i]] = arg
                elif _key(v) in values:
                    env[body.arguments[i]] = values[_key(v)]
                else:
                    full = _broadcast(_tensor_constant(v), affine_maps(m.opview)[i], shape)
                    env[body.arguments[i]] = _scalar(float(full.reshape(-1)[0]), body.arguments[i].type)
            ops = list(body.operations)
            for inner in ops[:-1]:
                new = inner.operation.clone()
                for j, operand in enumerate(inner.operation.operands):
                    new.operands[j] = _mapped(operand, env, cloned)
                for r_old, r_new in zip(inner.operation.results, new.results):
                    env[r_old] = r_new
            values[_key(m.results[0])] = _mapped(ops[-1].operation.operands[0], env, cloned)
        YieldOp(values[_key(order[-1].results[0])])
    return lut.output


def _scalar(v: float, t) -> ir.Value:
    from fxflow.ir import arith

    return arith.ConstantOp(t, ir.FloatAttr.get(t, v)).result


def _mapped(v, env, cloned):
    if v in env:
        return env[v]
    if _key(v) in cloned:
        return cloned[_key(v)]
    owner = defining_op(v)  # a scalar captured from outside the generic: a constant (or a cast of one)
    if owner is None or owner.name not in ("arith.constant", "arith.truncf", "arith.extf"):
        raise FxflowError(f"cannot clone captured value {v} into a lut")
    new = owner.clone()
    for j, operand in enumerate(owner.operands):
        new.operands[j] = _mapped(operand, env, cloned)
    cloned[_key(v)] = new.results[0]
    return new.results[0]


# --- softmax -------------------------------------------------------------------------------------
def _single_body(op, names) -> bool:
    ops = [o.operation.name for o in op.regions[0].blocks[0].operations]
    return ops[:-1] == list(names)


def _reduction_axis(op) -> int | None:
    """The input dim a single-reduction generic reduces (through its input's indexing map)."""
    its = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    red = [i for i, t in enumerate(its) if "reduction" in t]
    if len(red) != 1:
        return None
    rhs = affine_maps(op.opview)[0].partition(" -> ")[2].strip().strip("()")
    exprs = [e.strip() for e in rhs.split(",")]
    return exprs.index(f"d{red[0]}") if f"d{red[0]}" in exprs else None


def _through_reshapes(v):
    p = defining_op(v)
    while p is not None and p.name in ("tensor.expand_shape", "tensor.collapse_shape"):
        v = p.operands[0]
        p = defining_op(v)
    return v, p


def _softmax_of(op):
    """(x, axis) when `op` is the division of the softmax decomposition."""
    if op.name != "linalg.generic" or _n_inputs(op) != 2 or not _single_body(op, ["arith.divf"]):
        return None
    block = op.regions[0].blocks[0]
    div = list(block.operations)[0].operation
    if list(div.operands) != [block.arguments[0], block.arguments[1]]:
        return None
    e, s = op.operands[0], op.operands[1]
    exp_op, sum_op = defining_op(e), _through_reshapes(s)[1]
    if exp_op is None or sum_op is None or not _is_elementwise(exp_op) or not _single_body(exp_op, ["math.exp"]):
        return None
    if sum_op.name != "linalg.generic" or sum_op.operands[0] != e or not _single_body(sum_op, ["arith.addf"]):
        return None
    axis = _reduction_axis(sum_op)
    if axis is None:
        return None
    x = exp_op.operands[0]
    sub = defining_op(x)
    if sub is not None and sub.name == "linalg.generic" and _single_body(sub, ["arith.subf"]) and _n_inputs(sub) == 2:
        mx = _through_reshapes(sub.operands[1])[1]
        if mx is not None and mx.name == "linalg.generic" and mx.operands[0] == sub.operands[0] \
                and "arith.maximumf" in [o.operation.name for o in mx.regions[0].blocks[0].operations] \
                and _reduction_axis(mx) == axis:
            x = sub.operands[0]
    if axis == 0:
        return None
    return x, axis


def _feeds_softmax(op) -> bool:
    return any(_softmax_of(u) is not None for u in _users(op.results[0]))


@raising_pattern("linalg.generic", 4, produces=(SoftmaxOp,))
def softmax_decomposition(op, rewriter):
    found = _softmax_of(op.operation)
    if found is None:
        return True
    x, axis = found
    with rewriter.ip, op.location:
        i64 = ir.IntegerType.get_signless(64)
        new = SoftmaxOp(x, op.result.type, ir.IntegerAttr.get(i64, axis), ir.StringAttr.get("stable"))
    rewriter.replace_op(op, [new.output])


@raising_pattern("fxp.softmax", 2, produces=(SoftmaxOp, ReshapeOp))
def lift_softmax(op, rewriter):
    """softmax over the last axis of a [B*H, T, S] view -> over the last axis of [1, B*H, T, S]."""
    from fxflow.dialects.fxp import SoftmaxOp

    x = op.operands[0]
    axis = ir.IntegerAttr(op.attributes["axis"]).value
    if shape_of(x)[0] == 1 or axis != len(shape_of(x)) - 1:
        return True
    i64 = ir.IntegerType.get_signless(64)
    return lift_to_sample(op, rewriter, lambda ins, ty: SoftmaxOp(ins[0], ty, ir.IntegerAttr.get(i64, axis + 1),
                                                           op.attributes["implementation"]).output, [x])
