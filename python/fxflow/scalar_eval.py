"""The float64 interpreter of the scalar arith/math functions in MLIR bodies: `fxp.lut` regions, the
linalg.generic bodies the front-end patterns fold over constants (BatchNorm parameters, weight quantizers)
and index arithmetic (nearest upsampling).  One interpreter for all of them, so a function means the same
thing wherever it is evaluated.  Values bound to `inputs` may be block arguments or any other value (e.g.
`linalg.index` results, which the caller binds to index grids).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .errors import FxflowError
from .ir import ir

# ------------------------------------------------------------------------------------------------
# Scalar interpreter: arith/math ops evaluated elementwise in float64 (truncf rounds to its type)
# ------------------------------------------------------------------------------------------------
_erf = np.frompyfunc(math.erf, 1, 1)

_UNARY = {
    "arith.negf": np.negative, "math.exp": np.exp, "math.exp2": np.exp2, "math.expm1": np.expm1,
    "math.log": np.log, "math.log2": np.log2, "math.log10": np.log10, "math.log1p": np.log1p,
    "math.tanh": np.tanh, "math.sinh": np.sinh, "math.cosh": np.cosh, "math.sin": np.sin, "math.cos": np.cos,
    "math.tan": np.tan, "math.atan": np.arctan, "math.asin": np.arcsin, "math.acos": np.arccos,
    "math.sqrt": np.sqrt, "math.rsqrt": lambda v: 1.0 / np.sqrt(v), "math.absf": np.abs,
    "math.cbrt": np.cbrt, "math.floor": np.floor, "math.ceil": np.ceil, "math.trunc": np.trunc,
    "math.round": lambda v: np.where(v >= 0, np.floor(v + 0.5), np.ceil(v - 0.5)), "math.roundeven": np.rint,
    "math.erf": lambda v: np.asarray(_erf(np.asarray(v, dtype=np.float64)), dtype=np.float64),
    "arith.extf": lambda v: v, "arith.sitofp": lambda v: np.asarray(v, dtype=np.float64),
    "arith.uitofp": lambda v: np.asarray(v, dtype=np.float64),
    # integer and index arithmetic (values stay float64, exactly integral)
    "arith.index_cast": lambda v: v, "arith.extsi": lambda v: v, "arith.trunci": lambda v: v,
    "arith.fptosi": np.trunc, "arith.fptoui": np.trunc,
}
_BINARY = {
    "arith.addf": np.add, "arith.subf": np.subtract, "arith.mulf": np.multiply, "arith.divf": np.divide,
    "arith.maximumf": np.maximum, "arith.minimumf": np.minimum, "arith.maxnumf": np.fmax,
    "arith.minnumf": np.fmin, "arith.remf": np.fmod, "math.powf": np.power, "math.fpowi": np.power,
    "math.ipowi": np.power, "math.atan2": np.arctan2, "math.copysign": np.copysign,
    "arith.addi": np.add, "arith.subi": np.subtract, "arith.muli": np.multiply, "arith.floordivsi": np.floor_divide,
    "arith.maxsi": np.maximum, "arith.minsi": np.minimum,
}
# arith.cmpf predicates (ordered and unordered agree: no NaN reaches a comparison of real inputs)
_CMPF = {0: lambda a, b: np.zeros(np.broadcast(a, b).shape, bool), 1: np.equal, 2: np.greater,
         3: np.greater_equal, 4: np.less, 5: np.less_equal, 6: np.not_equal, 7: lambda a, b: np.ones(
             np.broadcast(a, b).shape, bool), 8: np.equal, 9: np.greater, 10: np.greater_equal, 11: np.less,
         12: np.less_equal, 13: np.not_equal, 14: lambda a, b: np.zeros(np.broadcast(a, b).shape, bool),
         15: lambda a, b: np.ones(np.broadcast(a, b).shape, bool)}
_NARROW = {"f32": np.float32, "f16": np.float16}

SCALAR_OPS = frozenset(_UNARY) | frozenset(_BINARY) | {"arith.constant", "arith.cmpf", "arith.select",
                                                        "arith.truncf", "arith.cmpi"}
_CMPI = {0: np.equal, 1: np.not_equal, 2: np.less, 3: np.less_equal, 4: np.greater, 5: np.greater_equal,
         6: np.less, 7: np.less_equal, 8: np.greater, 9: np.greater_equal}


def compile_scalar(value: ir.Value, inputs: list, native_floats: bool = False) -> Callable:
    """`value` as a Python function of the arrays bound to `inputs` (block arguments), evaluated
    elementwise in float64.  No MLIR object is kept: the function outlives the IR it came from.
    `native_floats`: every f32/f16 result is rounded to its type, as the program computes it (index
    arithmetic, where floor(o / 2.4f) in float32 differs from the real quotient's floor); by default an
    activation means its exact real function."""
    slots = {v: i for i, v in enumerate(inputs)}
    code: list = []

    def visit(v) -> int:
        if v in slots:
            return slots[v]
        owner = v.owner
        if isinstance(owner, ir.Block):
            raise FxflowError("a scalar function reads a block argument that has no value")
        op = owner.operation if hasattr(owner, "operation") else owner
        args = [visit(a) for a in op.operands]
        fn = _op_function(op)
        narrow = _NARROW.get(str(op.results[0].type)) if native_floats and len(op.results) == 1 else None
        if narrow is not None:
            fn = (lambda f, t: lambda *a: np.asarray(np.asarray(f(*a), dtype=np.float64).astype(t),
                                                     dtype=np.float64))(fn, narrow)
        code.append((fn, args))
        slots[v] = len(inputs) + len(code) - 1
        return slots[v]

    root = visit(value)

    def run(*xs):
        vals = list(xs)
        with np.errstate(all="ignore"):
            for fn, args in code:
                vals.append(fn(*[vals[a] for a in args]))
        return vals[root]

    return run


def evaluate(value: ir.Value, env: dict):
    """The float64 value of `value` given values for some block arguments (`env`)."""
    keys = list(env)
    return compile_scalar(value, keys)(*[env[k] for k in keys])


def _op_function(op) -> Callable:
    """A NumPy function computing one arith/math op (its attributes read now)."""
    name = op.name
    if name == "arith.constant":
        attr = op.attributes["value"]
        if isinstance(attr, ir.FloatAttr):
            c = np.float64(ir.FloatAttr(attr).value)
        elif isinstance(attr, ir.IntegerAttr):
            c = np.float64(ir.IntegerAttr(attr).value)
        else:
            raise FxflowError(f"unsupported scalar constant {attr}")
        return lambda: c
    if name in _UNARY:
        f1 = _UNARY[name]
        return lambda a: np.asarray(f1(a), dtype=np.float64)
    if name in _BINARY:
        f2 = _BINARY[name]
        return lambda a, b: np.asarray(f2(a, b), dtype=np.float64)
    if name == "arith.cmpf":
        return _CMPF[ir.IntegerAttr(op.attributes["predicate"]).value]
    if name == "arith.cmpi":
        return _CMPI[ir.IntegerAttr(op.attributes["predicate"]).value]
    if name == "arith.select":
        return lambda c, a, b: np.where(c, a, b).astype(np.float64)
    if name == "arith.truncf":
        narrow = _NARROW.get(str(op.results[0].type))
        if narrow is None:
            raise FxflowError(f"arith.truncf to {op.results[0].type} is not supported")
        return lambda a: np.asarray(np.asarray(a, dtype=np.float64).astype(narrow), dtype=np.float64)
    raise FxflowError(f"the scalar function uses '{name}', which fxflow cannot evaluate "
                      f"(supported: {', '.join(sorted(SCALAR_OPS))})")


def region_function(op):
    """The fxp.lut region as a Python function of a float64 array (elementwise)."""
    block = op.regions[0].blocks[0]
    fn = compile_scalar(list(block.operations)[-1].operands[0], [block.arguments[0]])

    def apply(x):
        x = np.asarray(x, dtype=np.float64)
        return np.broadcast_to(fn(x), x.shape).astype(np.float64)

    return apply
