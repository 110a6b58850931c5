"""convert-fake-quant-to-fxp: the fake quantization of QAT models becomes exact fixed-point casts.

QAT tools (hand-written PyTorch, PQuantML, Brevitas-style power-of-two quantizers) quantize with
sequences like `clamp(round(x * 2**f), lo, hi) / 2**f`, `floor(x * 2**f + 0.5)`, saturation before
rounding, and straight-through estimators (`x + (q - x).detach()`, `q + (x - x)`).  After torch-mlir
they are chains of element-wise `linalg.generic`s.  This pass runs on that linalg IR, before
convert-linalg-to-fxp:

1. Constant chains are folded (NumPy, float64 — the model's forward pass in float64): the scalar
   arithmetic deriving 2**f from a quantizer's (k, i, f) parameters, and whole weight/bias quantizers.
   A folded tensor whose computation rounded is a pre-quantized weight: its consumer's role
   ("<layer>.weight" / "<layer>.bias") is recorded in the function's `fxflow.model_formats` with the
   narrowest format holding every value exactly, and fxp-assign-precision keeps it.
2. Chains over activations are evaluated symbolically: a value is `r * clip(R(a * clip(y, L, H) + b),
   nlo, nhi) + d` for a rounding R of one tensor y.  A chain equal to the fixed-point cast of y (r * a = 1,
   r a power of two, b the rounding mode's offset, the clamps a format's range) is replaced by
   `fxp.cast` y to that format followed by `fxp.cast` back to float — quantize, dequantize, exactly
   what the model computes; fxp-assign-precision then keeps the fixed format and drops the dequantize.
Rounding modes: floor -> AP_TRN, floor(v + 0.5) -> AP_RND, ceil(v - 0.5) -> AP_RND_MIN_INF,
torch.round (round half to even) -> AP_RND_CONV, round half away -> AP_RND_INF, trunc -> AP_TRN_ZERO, and
select(v < 0, ceil(v - 0.5) | floor(v + 0.5) | ceil(v), floor(v + 0.5) | ceil(v - 0.5) | floor(v)) ->
AP_RND_INF | AP_RND_ZERO | AP_TRN_ZERO (how lowering/qonnx.py writes QONNX's symmetric modes in ONNX).
A rounding applied to a value that is already a complete cast starts a new quantizer there (a cast of a
cast: QONNX Trunc, consecutive quantizers).  A chain that reaches back through a constant affine
z = +-2^e * y + c (Brevitas bnn_pynq's `2 * x - 1` before its input quantizer) and only looks like a rescale
or a zero point on y is the cast of z, when z is a value the program computes (`_cast_of_affine`).
Clamps to [-2^(W-1), 2^(W-1)-1] / [0, 2^W-1] are AP_SAT, to [-(2^(W-1)-1), 2^(W-1)-1] AP_SAT_SYM.
Anything else that rounds (a non-power-of-two scale, a zero point, an unknown rounding, a clamp that is
not a format's range, no clamp at all) is an UnsupportedOpError naming the layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fxflow.errors import UnsupportedOpError
from fxflow.fixed import FixedFormat
from fxflow.fixed.interval import smallest_format
from fxflow.ir import defining_op, elements_array, ir, layer_name
from fxflow.passes.registry import register_pass

ROUNDING_OPS = ("math.floor", "math.ceil", "math.roundeven", "math.round", "math.trunc")
_PURE = ("linalg.generic", "linalg.transpose", "arith.constant", "tensor.empty", "linalg.fill")
MODEL_FORMATS_ATTR = "fxflow.model_formats"  # read by fxp-assign-precision


@register_pass("convert-fake-quant-to-fxp",
               "Turn fake quantization (round/floor, clamp, power-of-two scaling, STE) into exact fxp casts "
               "and pre-quantized weight constants")
def convert_fake_quant_to_fxp(module_op, options=None) -> None:
    for op in module_op.regions[0].blocks[0].operations:
        if op.operation.name == "func.func":
            _convert_function(op)


def _convert_function(fn) -> None:
    block = fn.regions[0].blocks[0]
    formats = _fold_constants(block)
    _erase_dead(block)
    if _rounds(block):  # (a rounding is what makes a fake quantizer: without one there is nothing to convert)
        _convert_activations(block)
        _erase_dead(block)
    if formats:
        old = {}
        if MODEL_FORMATS_ATTR in fn.attributes:
            d = ir.DictAttr(fn.attributes[MODEL_FORMATS_ATTR])
            old = {d[i].name: d[i].attr for i in range(len(d))}
        old.update({k: ir.StringAttr.get(str(v)) for k, v in formats.items()})
        fn.attributes[MODEL_FORMATS_ATTR] = ir.DictAttr.get(old)


# ------------------------------------------------------------------------------------------------
# Element-wise generics: shapes, maps, bodies
# ------------------------------------------------------------------------------------------------
def _elementwise(op) -> bool:
    """An all-parallel linalg.generic with one result whose inputs broadcast without transposition."""
    if op.name != "linalg.generic" or len(op.results) != 1:
        return False
    iters = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    # a gather (nearest upsampling: tensor.extract at computed indices) is data movement, not a quantizer
    if any(o.operation.name in ("tensor.extract", "linalg.index") for o in op.regions[0].blocks[0].operations):
        return False
    return all("parallel" in t for t in iters) and all(m is not None for m in _input_axes(op))


def _maps(op) -> list[str]:
    return [str(ir.AffineMapAttr(a).value) for a in ir.ArrayAttr(op.attributes["indexing_maps"])]


def _input_axes(op) -> list:
    """Per input: the output axes its dimensions follow (None: a map this pass does not handle)."""
    maps = _maps(op)
    out = []
    for m in maps[:-1]:
        lhs, _, rhs = m.partition(" -> ")
        dims = [t.strip() for t in lhs.strip("() ").split(",") if t.strip()]
        res = [t.strip() for t in rhs.strip("() ").split(",") if t.strip()]
        axes = []
        for t in res:
            if t in dims:
                axes.append(dims.index(t))
            elif t == "0":
                axes.append(-1)  # a size-1 dimension broadcast along the output
            else:
                axes = None
                break
        if axes is not None and [a for a in axes if a >= 0] != sorted(a for a in axes if a >= 0):
            axes = None
        out.append(axes)
    return out


def _n_inputs(op) -> int:
    return len(op.operands) - 1  # the last operand is the `outs` init


def _body(op) -> list:
    return list(op.regions[0].blocks[0].operations)


def _scalar_constant(v: ir.Value):
    """A float/int scalar captured by a body (defined outside it), or None."""
    owner = defining_op(v)
    if owner is None or owner.name != "arith.constant":
        return None
    attr = owner.attributes["value"]
    if isinstance(attr, ir.FloatAttr):
        return ir.FloatAttr(attr).value
    if isinstance(attr, ir.IntegerAttr):
        return ir.IntegerAttr(attr).value
    return None


def _shape(v: ir.Value) -> list[int]:
    return list(ir.RankedTensorType(v.type).shape)


# ------------------------------------------------------------------------------------------------
# 1. Constant folding (NumPy, float64)
# ------------------------------------------------------------------------------------------------
def _constant_tensor(v: ir.Value):
    owner = defining_op(v)
    if owner is None or owner.name != "arith.constant" or not isinstance(v.type, ir.RankedTensorType):
        return None
    attr = owner.attributes["value"]
    if not isinstance(attr, ir.DenseElementsAttr):
        return None
    return elements_array(attr, _shape(v)).astype(np.float64)


def _evaluate(op, inputs: list) -> np.ndarray | None:
    """The generic's result from NumPy input arrays (None: a body op this folder does not know)."""
    from fxflow.errors import FxflowError
    from fxflow.scalar_eval import compile_scalar

    out_shape = _shape(op.results[0])
    arrays = []
    for arr, axes in zip(inputs, _input_axes(op)):
        shape = [1] * len(out_shape)
        for size, ax in zip(arr.shape, axes):
            if ax >= 0:
                shape[ax] = size
        arrays.append(np.broadcast_to(arr.reshape(shape), out_shape))
    block = op.regions[0].blocks[0]
    args = list(block.arguments)[:len(arrays)]
    try:  # the one scalar interpreter (fxflow.scalar_eval); None for ops it does not know
        val = compile_scalar(list(block.operations)[-1].operands[0], args)(*arrays)
    except FxflowError:
        return None
    return np.broadcast_to(np.asarray(val, np.float64), out_shape).copy()


def _fold_constants(block) -> dict:
    """Fold element-wise generics over constants; returns the model formats of rounded weights/biases."""
    values: dict = {}  # folded value -> (array, rounded?)
    for op in list(block.operations):
        o = op.operation
        if not _elementwise(o):
            continue
        ins = []
        rounded = any(inner.operation.name in ROUNDING_OPS for inner in _body(o))
        for v in list(o.operands)[:_n_inputs(o)]:
            if v in values:
                arr, r = values[v]
            else:
                arr, r = _constant_tensor(v), False
            if arr is None:
                break
            ins.append(arr)
            rounded = rounded or r
        else:
            val = _evaluate(o, ins)
            if val is not None:
                values[o.results[0]] = (val, rounded)
    formats = {}
    for v, (arr, rounded) in values.items():
        users = [u.owner for u in v.uses]
        if all(u.name == "linalg.generic" and u.results[0] in values for u in users):
            continue  # an intermediate of a longer constant chain
        if not isinstance(ir.RankedTensorType(v.type).element_type, (ir.F32Type, ir.F64Type)):
            continue  # a mask used by something not folded: left as it is
        role = _consumer_role(v) if rounded else None
        if rounded and role is not None:
            formats[role] = _exact_format(arr, role)
        owner = v.owner
        with ir.InsertionPoint(owner), owner.location:
            et = ir.RankedTensorType(v.type).element_type
            typed = arr.astype(np.float32 if et == ir.F32Type.get() else np.float64)
            if rounded and role is not None and not np.array_equal(typed.astype(np.float64), arr):
                raise UnsupportedOpError(f"the quantized {role} ({_exact_format(arr, role)}) is not exactly "
                                         f"representable as {et}", layer=role.rsplit('.', 1)[0])
            new = ir.Operation.create("arith.constant", results=[v.type], attributes={
                "value": ir.DenseElementsAttr.get(np.ascontiguousarray(typed), type=et)}).results[0]
        v.replace_all_uses_with(new)
    return formats


def _consumer_role(v: ir.Value) -> str | None:
    """"<layer>.weight" when `v` feeds a matmul (maybe through a transpose), "<layer>.bias" when it is
    added to a matmul's result; the layer is the matmul's (convert-linalg-to-fxp names dense layers so)."""
    for use in v.uses:
        u = use.owner
        if u.name == "linalg.transpose":
            for use2 in u.results[0].uses:
                if use2.owner.name == "linalg.matmul":
                    return f"{layer_name(use2.owner.location)}.weight"
        elif u.name == "linalg.matmul":
            return f"{layer_name(u.location)}.weight"
        elif u.name == "linalg.generic":
            for other in list(u.operands)[:_n_inputs(u)]:
                src = defining_op(other)
                if other != v and src is not None and src.name == "linalg.matmul":
                    return f"{layer_name(src.location)}.bias"
    return None


def _exact_format(arr: np.ndarray, role: str) -> FixedFormat:
    """The narrowest format holding every value exactly (RND/SAT like fitted weights)."""
    finite = arr[np.isfinite(arr)]
    if finite.size != arr.size:
        raise UnsupportedOpError(f"the quantized {role} contains NaN or infinity", layer=role.rsplit('.', 1)[0])
    f = -60
    while f <= 52 and not np.all(np.ldexp(finite, f) == np.rint(np.ldexp(finite, f))):
        f += 1
    if f > 52:
        raise UnsupportedOpError(f"the quantized {role} of layer '{role.rsplit('.', 1)[0]}' is not on a power-of-two "
                                 "grid (a non-power-of-two quantizer scale?); fxflow needs fixed-point values",
                                 layer=role.rsplit('.', 1)[0])
    n = np.rint(np.ldexp(finite, f)) if finite.size else np.zeros(1)
    return smallest_format(int(n.min()), int(n.max()), f, "RND", "SAT")


# ------------------------------------------------------------------------------------------------
# 2. Activations: symbolic evaluation of element-wise chains
# ------------------------------------------------------------------------------------------------
INF = math.inf


@dataclass(frozen=True)
class Core:
    """n = R(a * clip(y, L, H) + b) for one tensor y."""

    y: object  # the ir.Value
    a: float
    b: float
    lo: float
    hi: float
    mode: str  # the rounding op's name
    parts: tuple = ()  # a symmetric rounding's two one-sided cores (see _symmetric_rounding)


@dataclass(frozen=True)
class Form:
    """A linear form: const + sum(coeff * term).  Terms: ("y", value, L, H) = clip(y, L, H);
    ("n", Core, nlo, nhi) = clip(n, nlo, nhi)."""

    terms: tuple  # ((term, coeff), ...) sorted by repr
    const: float = 0.0

    @staticmethod
    def leaf(v) -> "Form":
        return Form(((("y", v, -INF, INF), 1.0),))

    def scaled(self, c: float) -> "Form":
        return Form(tuple((t, k * c) for t, k in self.terms), self.const * c)

    def plus(self, other: "Form | float") -> "Form":
        if not isinstance(other, Form):
            return Form(self.terms, self.const + other)
        acc: dict = {}
        for t, k in self.terms + other.terms:
            acc[t] = acc.get(t, 0.0) + k
        terms = tuple(sorted(((t, k) for t, k in acc.items() if k != 0.0), key=lambda tk: hash(tk[0])))
        return Form(terms, self.const + other.const)

    def single(self):
        return self.terms[0] if len(self.terms) == 1 else None

    def has_rounding(self) -> bool:
        return any(t[0] == "n" for t, _ in self.terms)


@dataclass(frozen=True)
class Cmp:
    form: Form
    greater: bool  # form > c (else form < c)
    c: float


def _clip(form: Form, lo: float, hi: float) -> Form | None:
    """clip(form, lo, hi) as a Form, when the form has one term (affine maps commute with clamps)."""
    single = form.single()
    if single is None:
        return None
    (term, k), d = single, form.const
    if k == 0:
        return None
    tlo, thi = ((lo - d) / k, (hi - d) / k) if k > 0 else ((hi - d) / k, (lo - d) / k)
    if term[0] == "n":
        tlo, thi = math.ceil(tlo) if tlo != -INF else tlo, math.floor(thi) if thi != INF else thi
    new = (term[0], term[1], max(term[2], tlo), min(term[3], thi))
    return Form(((new, k),), d)


def _symbolic(op, env: dict):
    """The generic's result as a Form (None: not a quantizer step)."""
    vals = {}
    for arg, v in zip(op.regions[0].blocks[0].arguments, list(op.operands)[:_n_inputs(op)]):
        vals[arg] = env.get(v)
        if vals[arg] is None:
            c = _constant_tensor(v)
            if c is not None and (c.size == 1 or np.all(c == c.flat[0])):
                vals[arg] = float(c.flat[0]) if c.size else 0.0
            elif _shape(v) == _shape(op.results[0]):
                vals[arg] = Form.leaf(v)
            else:
                return None
    for inner in _body(op):
        o = inner.operation
        args = []
        for v in o.operands:
            if v in vals:
                args.append(vals[v])
            elif (c := _scalar_constant(v)) is not None:
                args.append(float(c))
            else:
                return None
        r = _step(o, args)
        if o.name == "linalg.yield":
            return args[0] if isinstance(args[0], (Form, Cmp)) else None
        if r is None:
            return None
        vals[o.results[0]] = r
    return None


def _step(o, args):
    name = o.name
    if name == "linalg.yield":
        return True
    forms = [a for a in args if isinstance(a, Form)]
    nums = [a for a in args if isinstance(a, float)]
    if name == "arith.mulf" and len(forms) == 1 and len(nums) == 1:
        return forms[0].scaled(nums[0])
    if name == "arith.divf" and isinstance(args[0], Form) and isinstance(args[1], float) and args[1] != 0:
        return args[0].scaled(1.0 / args[1]) if _pow2(args[1]) else None
    if name == "arith.negf" and forms:
        return forms[0].scaled(-1.0)
    if name in ("arith.addf", "arith.subf") and len(args) == 2:
        a, b = args
        if isinstance(a, Form) and isinstance(b, Form) and name == "arith.subf" and a == b:
            return Form(())  # x - x: the straight-through estimator's zero
        sign = -1.0 if name == "arith.subf" else 1.0
        if isinstance(a, Form):
            return a.plus(b.scaled(sign) if isinstance(b, Form) else sign * b)
        if isinstance(b, Form):
            return b.scaled(sign).plus(a)
        return None
    if name in ROUNDING_OPS and forms:
        single = forms[0].single()
        if single is None or single[0][0] != "y":
            return None
        (term, k), b = single, forms[0].const
        core = Core(term[1], k, b, term[2], term[3], name)
        return Form(((("n", core, -INF, INF), 1.0),))
    if name in ("arith.maximumf", "arith.maxnumf", "arith.minimumf", "arith.minnumf") and len(forms) == 1 and nums:
        lo, hi = (nums[0], INF) if "max" in name else (-INF, nums[0])
        return _clip(forms[0], lo, hi)
    if name == "arith.cmpf" and len(forms) == 1 and len(nums) == 1:
        pred = ir.IntegerAttr(o.attributes["predicate"]).value
        greater = pred in (2, 3, 9, 10)
        if pred not in (2, 3, 4, 5, 9, 10, 11, 12):
            return None
        if isinstance(args[1], Form):  # c < form  ==  form > c
            greater = not greater
        return Cmp(forms[0], greater, nums[0])
    if name == "arith.select" and isinstance(args[0], Cmp):
        cmp, t, e = args
        sym = _symmetric_rounding(cmp, t, e)
        if sym is not None:
            return sym
        # select(f > c, c, g) = min(g, c); select(f > c, g, c) = max(g, c); mirrored for f < c — where g
        # is f or f already clamped on the other side (PQuantML: where(x > hi, hi, where(x < lo, lo, x)))
        if t == cmp.c and _same_affine(e, cmp.form):
            return _clip(e, -INF, cmp.c) if cmp.greater else _clip(e, cmp.c, INF)
        if e == cmp.c and _same_affine(t, cmp.form):
            return _clip(t, cmp.c, INF) if cmp.greater else _clip(t, -INF, cmp.c)
        return None
    return None


# --- begin: symmetric roundings (QONNX DOWN / HALF_UP / HALF_DOWN, lowering/qonnx.py) ----------------------
# select(u < 0, R-(u + b-), R+(u + b+)) for u = a*clip(y): (negative side, positive side) -> rounding
_SYMMETRIC = {(("math.ceil", -0.5), ("math.floor", 0.5)): "math.round",          # half away from zero
              (("math.floor", 0.5), ("math.ceil", -0.5)): "round_half_zero",     # half toward zero
              (("math.ceil", 0.0), ("math.floor", 0.0)): "math.trunc"}           # toward zero


def _symmetric_rounding(cmp: Cmp, t, e) -> Form | None:
    """A select on the sign of a rounded argument between two one-sided roundings of it (both give 0 at 0)."""
    sides = []
    for side in (t, e):
        single = side.single() if isinstance(side, Form) else None
        if single is None or single[0][0] != "n" or single[1] != 1.0 or side.const != 0.0 \
                or single[0][2:] != (-INF, INF):
            return None
        sides.append(single[0][1])
    ct, ce = sides
    c_single = cmp.form.single()
    if c_single is None or c_single[0][0] != "y" or ct.y != ce.y or c_single[0][1] != ct.y:
        return None
    (term, k), d = c_single, cmp.form.const
    if (ct.a, ct.lo, ct.hi) != (ce.a, ce.lo, ce.hi) or ct.a <= 0 or k <= 0 or (cmp.c - d) / k != 0.0 \
            or not (term[2] <= 0 <= term[3] and ct.lo <= 0 <= ct.hi):
        return None
    neg, pos = (ct, ce) if not cmp.greater else (ce, ct)  # u < 0 takes t; u > 0 takes t
    mode = _SYMMETRIC.get(((neg.mode, neg.b), (pos.mode, pos.b)))
    if mode is None:
        return None
    core = Core(ct.y, ct.a, 0.0, ct.lo, ct.hi, mode, parts=(ct, ce))
    return Form(((("n", core, -INF, INF), 1.0),))
# --- end: symmetric roundings ------------------------------------------------------------------------------


def _same_affine(g, f: Form) -> bool:
    """g and f are the same affine function of the same term, up to that term's clamp bounds."""
    if not isinstance(g, Form) or g.single() is None or f.single() is None:
        return False
    (tg, kg), (tf, kf) = g.single(), f.single()
    return tg[0] == tf[0] and tg[1] == tf[1] and kg == kf and g.const == f.const


def _pow2(x: float) -> bool:
    m, _ = math.frexp(abs(x))
    return x != 0 and m == 0.5


def _is_relu(op) -> bool:
    """A ReLU layer (convert-linalg-to-fxp raises it to fxp.relu): a boundary, not a quantizer clamp."""
    body = [o.operation.name for o in _body(op)]
    return _n_inputs(op) == 1 and body in (["arith.cmpf", "arith.select", "linalg.yield"],
                                           ["arith.maximumf", "linalg.yield"], ["arith.maxnumf", "linalg.yield"]) \
        and any(_scalar_constant(v) == 0.0 for o in _body(op) for v in o.operation.operands)


_MODES = {("math.floor", 0.0): "TRN", ("math.floor", 0.5): "RND", ("math.ceil", -0.5): "RND_MIN_INF",
          ("math.roundeven", 0.0): "RND_CONV", ("math.round", 0.0): "RND_INF", ("math.trunc", 0.0): "TRN_ZERO",
          ("round_half_zero", 0.0): "RND_ZERO"}  # round_half_zero: only from _symmetric_rounding
_NEGATED = {"math.floor": "math.ceil", "math.ceil": "math.floor"}  # R(-u) = -R'(u)


def _cast_format(form: Form, where: str) -> tuple[object, FixedFormat] | None:
    """(y, format) when `form` is exactly the fixed-point cast of y; None when it is a mere intermediate
    (a rounded value not yet scaled back); UnsupportedOpError for a quantizer fxflow cannot express."""
    single = form.single()
    if single is None or single[0][0] != "n":
        return None
    (term, r), d = single, form.const
    core, nlo, nhi = term[1], term[2], term[3]
    a, b, mode = core.a, core.b, core.mode
    if a < 0:  # R(-u) = -R'(u): flip to a positive scale
        a, b, mode = -a, -b, _NEGATED.get(mode, mode)
        r, nlo, nhi = -r, -nhi, -nlo
    if r * a != 1.0 or not _pow2(r):
        if not _pow2(r) or not _pow2(a):
            raise UnsupportedOpError(f"the fake quantization in layer '{where}' scales by {a:g} before rounding and "
                                     f"by {r:g} after: only power-of-two scales (2^f, 2^-f) are fixed-point",
                                     layer=where)
        if abs(r * a) < 1.0:
            return None  # e.g. round(x * 16) / 4: not scaled back yet
        raise UnsupportedOpError(f"the fake quantization in layer '{where}' rescales its result (x {r * a:g})",
                                 layer=where)
    if d != 0.0:
        raise UnsupportedOpError(f"the fake quantization in layer '{where}' has a zero point ({d:g}); fxflow "
                                 "supports symmetric power-of-two quantizers", layer=where)
    f = -math.frexp(r)[1] + 1
    q = _MODES.get((mode, b))
    if q is None:
        raise UnsupportedOpError(f"the fake quantization in layer '{where}' rounds with '{mode}' after adding {b:g}, "
                                 "which is no fixed-point rounding mode (floor, floor(x+0.5), ceil(x-0.5), "
                                 "round-half-even, round-half-away, trunc)", layer=where)
    rnd = _rounder(mode)
    lo = max(nlo, rnd(a * core.lo + b) if core.lo != -INF else -INF)
    hi = min(nhi, rnd(a * core.hi + b) if core.hi != INF else INF)
    if lo == -INF or hi == INF:
        raise UnsupportedOpError(f"the fake quantization in layer '{where}' has no clamp on {'both sides' if lo == hi else 'one side'}; "
                                 "its integer bits are unknown: clamp the rounded value to the format's range",
                                 layer=where)
    lo, hi = int(lo), int(hi)
    fmt = _format_of_range(lo, hi, f, q)
    if fmt is None:
        raise UnsupportedOpError(f"the fake quantization in layer '{where}' clamps to [{lo}, {hi}] (x 2^{-f}), "
                                 "which is not the range of a fixed-point format", layer=where)
    return core.y, fmt


def _rounder(mode: str):
    return {"math.floor": math.floor, "math.ceil": math.ceil, "math.roundeven": round,
            "math.round": lambda v: math.copysign(math.floor(abs(v) + 0.5), v), "math.trunc": math.trunc,
            "round_half_zero": lambda v: math.copysign(math.ceil(abs(v) - 0.5), v)}[mode]


def _format_of_range(lo: int, hi: int, f: int, rounding: str) -> FixedFormat | None:
    if lo == 0 and hi >= 1 and (hi + 1) & hi == 0:
        return FixedFormat(0, (hi + 1).bit_length() - 1 - f, f, rounding, "SAT")
    if hi >= 0 and (hi + 1) & hi == 0 and lo in (-(hi + 1), -hi):
        w = (hi + 1).bit_length()  # W - 1 magnitude bits + sign
        return FixedFormat(1, w - 1 - f, f, rounding, "SAT" if lo == -(hi + 1) else "SAT_SYM")
    return None


def _convert_activations(block) -> None:
    from fxflow.dialects.fxp import CastOp, fixed_type

    env: dict = {}
    cut: dict = {}  # --- chained casts: the forms again, with each complete cast taken as a leaf ---
    for op in block.operations:
        o = op.operation
        if not _elementwise(o) or _is_relu(o):
            continue
        form = _symbolic(o, env)
        inputs = [v for v in list(o.operands)[:_n_inputs(o)] if v in env]
        alt = _symbolic(o, {v: Form.leaf(v) if _complete(env[v], v) else cut.get(v, env[v]) for v in inputs})
        if form is None and alt is not None and any(i.operation.name in ROUNDING_OPS for i in _body(o)):
            form = alt  # a cast of a cast (QONNX Trunc, consecutive quantizers): the chain restarts at the first
            _restart_chain(inputs, env, cut)
        if alt is not None and (isinstance(alt, Cmp) or alt.has_rounding() or len(alt.terms) <= 1):
            cut[o.results[0]] = alt
        if form is None and any(i.operation.name in ROUNDING_OPS for i in _body(o)):
            where = layer_name(o.location) or "<unknown>"
            raise UnsupportedOpError(f"the fake quantization in layer '{where}' rounds in a way that is no fixed-point "
                                     "cast (only power-of-two scales 2^f, 2^-f, a clamp to a format's range and "
                                     "floor/round rounding are)", layer=where)
        if isinstance(form, Cmp) or isinstance(form, Form) and (form.has_rounding() or len(form.terms) <= 1):
            env[o.results[0]] = form
    replaced: dict = {}  # a finalized cast's value -> its replacement (the leaf of a chained cast)
    for v, form in list(env.items()):
        if not isinstance(form, Form) or not form.has_rounding():
            continue
        users = [u.owner for u in v.uses]
        if users and all(u.name == "linalg.generic" and u.results[0] in env and _shares_core(env[u.results[0]], form)
                         for u in users):
            continue  # an intermediate of a longer quantizer chain
        where = layer_name(v.owner.location) or "<unknown>"
        try:
            cast = _cast_format(form, where)
        except UnsupportedOpError:
            cast = _cast_of_affine(form, v, env, where)
            if cast is None:
                raise
        if cast is None:
            raise UnsupportedOpError(f"the fake quantization in layer '{where}' is not a complete fixed-point "
                                     "quantizer (round(x * 2^f) / 2^f with a clamp)", layer=where)
        y, fmt = cast
        y = replaced.get(y, y)
        with ir.InsertionPoint(v.owner), v.owner.location:
            et = ir.RankedTensorType(v.type).element_type
            fixed = CastOp(y, ir.RankedTensorType.get(_shape(v), fixed_type(fmt)))
            back = CastOp(fixed.output, ir.RankedTensorType.get(_shape(v), et))
        v.replace_all_uses_with(back.output)
        replaced[v] = back.output


# --- begin: a quantizer of an affine value (Brevitas bnn_pynq: Quant(2 * x - 1)) ---------------------------
def _cast_of_affine(form: Form, v, env: dict, where: str):
    """(z, format) when `form` is the fixed-point cast of an affine value z = +-2^e * y + c that the program
    computes on the way from the leaf y to the rounding (`2 * x - 1` before an input quantizer): the chain
    evaluation reaches back to y, where the scaling and offset look like a rescale or a zero point; taken on
    z they are exactly the quantizer's own cast.  None when no value of the chain makes it a cast."""
    single = form.single()
    if single is None or single[0][0] != "n":
        return None
    (term, r), d = single, form.const
    core = term[1]
    seen, stack = set(), [u for u in list(v.owner.operands)[:_n_inputs(v.owner)]]
    while stack:  # the chain's values, nearest to the rounding first
        u = stack.pop(0)
        if u in seen or u not in env:
            continue
        seen.add(u)
        rebased = _rebase(core, env[u], u)
        if rebased is not None:
            try:
                cast = _cast_format(Form(((("n", rebased, term[2], term[3]), r),), d), where)
            except UnsupportedOpError:
                cast = None
            if cast is not None:
                return cast
        owner = defining_op(u)
        if owner is not None and owner.name == "linalg.generic":
            stack.extend(list(owner.operands)[:_n_inputs(owner)])
    return None


def _rebase(core: Core, z_form, z) -> Core | None:
    """`core` (R(a * clip(y, L, H) + b)) written over z when z = k * y + c (k = +-2^e, unclamped, same leaf y)."""
    if not isinstance(z_form, Form):
        return None
    single = z_form.single()
    if single is None or single[0][0] != "y" or single[0][1] != core.y or single[0][2:] != (-INF, INF):
        return None
    (_, k), c = single, z_form.const
    if not _pow2(k):  # z = 2^e * y + c is exact in fixed point; other scalings are a quantizer's own scale
        return None
    a = core.a / k
    lo, hi = sorted((k * core.lo + c, k * core.hi + c))
    return Core(z, a, core.b - a * c, lo, hi, core.mode)
# --- end: a quantizer of an affine value ------------------------------------------------------------------


def _shares_core(form: Form, other: Form) -> bool:
    cores = {t[1] for t, _ in other.terms if t[0] == "n"}
    cores |= {p for c in cores for p in c.parts}  # one side of a symmetric rounding is part of it
    return any(t[0] == "n" and (t[1] in cores or cores & set(t[1].parts)) for t, _ in form.terms)


def _complete(form, v) -> bool:
    """`form` (of value v) is a whole fixed-point cast: a later rounding starts a new quantizer there."""
    if not isinstance(form, Form) or not form.has_rounding():
        return False
    try:
        return _cast_format(form, layer_name(v.owner.location) or "<unknown>") is not None
    except UnsupportedOpError:
        return False


def _restart_chain(inputs, env: dict, cut: dict) -> None:
    """The values between a complete cast and the rounding that starts a new cast of it take their cut
    forms (the first cast as their leaf), so the first cast is finalized on its own."""
    stack = list(inputs)
    while stack:
        v = stack.pop()
        if v not in env or v not in cut or _complete(env[v], v) or env[v] is cut[v]:
            continue
        env[v] = cut[v]
        stack.extend(u for u in list(v.owner.operands)[:_n_inputs(v.owner)] if u in env)


def _rounds(block) -> bool:
    """Some element-wise generic of the block rounds (only a rounding op starts a cast's form in `_symbolic`)."""
    return any(op.operation.name == "linalg.generic" and any(i.operation.name in ROUNDING_OPS for i in _body(op))
               for op in block.operations)


def _erase_dead(block) -> None:
    """Erase the pure ops nothing reads.  One sweep from the end: an op's readers come after it in its block
    (SSA dominance), so they are gone by the time the sweep reaches it."""
    for op in reversed(list(block.operations)):
        o = op.operation
        if o.name in _PURE and not any(True for r in o.results for _ in r.uses):
            o.erase()


__all__ = ["convert_fake_quant_to_fxp", "MODEL_FORMATS_ATTR"]


def specialize_flag_buffers(model):
    """A copy of `model` whose 0-d boolean buffers are plain Python bools.

    QAT layers keep mode flags in buffers (PQuantML: `final_compression_done`) and branch on them in
    `forward`; torch.export cannot trace a branch on a tensor's value, but for inference the flags are
    constants of the trained model.  Returns `model` itself when it has no such buffer."""
    import copy

    import torch

    if not any(b is not None and b.dtype == torch.bool and b.dim() == 0 for b in model.buffers()):
        return model
    model = copy.deepcopy(model)
    for mod in model.modules():  # torch's own buffer dict: the only way to unregister a buffer in place
        for name, b in list(mod._buffers.items()):
            if b is not None and b.dtype == torch.bool and b.dim() == 0:
                del mod._buffers[name]
                object.__setattr__(mod, name, bool(b))
    return model
