"""Combinational hardware of each `fxp` op, element by element, with the emulator's exact semantics.

A tensor is a NumPy object array of `signals.Wire` (batch dimension 1 included, as in the IR), so shape
handling is NumPy's: data movement runs the array functions of `fixed.shape` (as the emulator does) on wire arrays,
a convolution is a dense layer over `fixed.window.patches` rows (the tap order of the C++ loops), and the
accumulation paths of a dense layer are chosen by `fixed.dense.plan_dense`, as in the emulator.  Every rounding and
overflow goes through `fixed.assign`.  Builders register by op class with `@rtl_op(DenseOp, ...)` in the module of
the op's family (elementwise.py, layers.py, shape.py, tables.py, transformer.py; this module holds the registry and
the helpers they share); an op without one is an `UnsupportedOpError` naming the layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fxflow.dialects.fxp import ConstantOp, LayerNormOp, MatmulOp, OpRegistry, RnnOp, format_of
from fxflow.dialects.fxp.accessors import accum_format, op_multiplier, result_format
from fxflow.errors import UnsupportedOpError
from fxflow.fixed import FixedFormat
from fxflow.fixed.dense import Tensor, plan_dense
from fxflow.ir import layer_name

from .. import signals as s
from ..fixed import assign
from ..options import PRODUCT_STYLES


@dataclass
class Value:
    """A tensor in hardware: wires (object array, IR shape) and the fixed-point format they carry."""

    wires: np.ndarray
    fmt: FixedFormat


@dataclass
class OpContext:
    consts: dict  # MLIR value -> emulator Tensor of an fxp.constant
    products: str = "mul"  # constant products: "mul" (comb.mul), "shift_add" (CSD adder trees), "adder_graph"
    clk: object = None  # the kernel's clock, when a dense adder graph is pipelined by timing (clock_mhz)
    budget_ns: float | None = None  # ... its delay budget per register stage
    stages: int = 0  # register stages the adder graph took (set by the builder)
    levels: int = 0  # adder levels on its longest path within one stage


RTL_OPS: OpRegistry = OpRegistry("RTL builder")

# Ops the RTL backend rejects, with the reason (test_op_coverage.py asks every op of FXP_OPS).
UNSUPPORTED = {
    ConstantOp: "no builder: constants become the constant operands of their readers (rtl/build.py)",
    MatmulOp: "no RTL datapath for a product of two activations yet (HLS backends only)",
    LayerNormOp: "no RTL datapath for the mean/variance/reciprocal square root yet (HLS backends only)",
    RnnOp: "no sequential (time-step) RTL datapath yet (HLS backends only)",
}


def rtl_op(*classes: type):
    return RTL_OPS.decorate(classes)


def where(o) -> str:
    return layer_name(o.location) or str(o.location)


def unsupported(o, why: str):
    raise UnsupportedOpError(f"the RTL backend {why} ('{o.name}' in layer '{where(o)}')", layer=where(o))


def build_op(o, args: list[Value], ctx: OpContext) -> Value:
    fn = RTL_OPS.get(o.name)
    if fn is None:
        unsupported(o, "does not support this op yet")
    out = result_format(o)
    if out is None or any(a.fmt is None for a in args):
        unsupported(o, "needs fixed-point formats (run fxp-assign-precision first)")
    return Value(fn(o, args, ctx, out), out)


def map_wires(fn, *arrays) -> np.ndarray:
    """fn applied element by element over wire arrays (an object array, as the tensors of this backend are)."""
    res = np.frompyfunc(fn, len(arrays), 1)(*arrays)
    return np.asarray(res, dtype=object)


def const_array(data: np.ndarray) -> np.ndarray:
    return map_wires(lambda v: s.const(int(v)), np.asarray(data, dtype=object))


def constant(o, index: int, ctx: OpContext, what: str) -> Tensor:
    t = ctx.consts.get(o.operands[index])
    if t is None:
        unsupported(o, f"needs a constant {what}")
    return t


# --- dense products and accumulation (layers.py, build.py) ---------------------------------------------------
def dense_rows(rows: np.ndarray, plan, style: str, layer: str = "", ctx: OpContext | None = None) -> np.ndarray:
    """fxp.dense over rows [P, K] of wires -> [P, N] wires of the result format, in the plan's order.
    Zero weights and padding taps (None) add nothing, as in the C++ (which skips them).  Style "adder_graph"
    builds the whole matrix as one shared adder graph (rtl/addergraph.py) where the plan's sum is exact;
    elsewhere its products are shift-add trees."""
    if style == "adder_graph":
        from .. import addergraph

        if addergraph.eligible(plan):
            return addergraph.dense_rows(rows, plan, ctx)
        style = "shift_add"  # a rounding k-loop or approximate products: product by product, in k order
    acc, out, pf = plan.acc, plan.out, plan.x_fmt.f + plan.w_fmt.f
    kk, nn = plan.w.shape
    res = np.empty((rows.shape[0], nn), dtype=object)
    for r in range(rows.shape[0]):
        for n in range(nn):
            terms = [product(rows[r, k], s.const(int(plan.w[k, n])), plan, style, layer) for k in range(kk)
                     if plan.w[k, n] != 0 and rows[r, k] is not None]
            a = accumulate(s.const(int(plan.acc0[n])), terms, pf, plan)
            res[r, n] = assign(a, acc.f, out)
    return res


def accumulate(a: s.Wire, terms: list[s.Wire], pf: int, plan) -> s.Wire:
    """acc (stored at acc.f) after adding the products `terms` (at grid pf) in order, as `fxp.dense` does:
    one exact adder tree and one assignment where the plan proves that equal to the k-loop, else the
    k-loop itself (each partial sum assigned to the accumulator; hls4ml's product type first if set)."""
    acc = plan.acc
    if plan.path in ("blas", "int64", "split", "table"):  # exact sums ("table": approximate products)
        return assign(s.add_tree([a] + [s.shl(t, acc.f - pf) for t in terms]), acc.f, acc)
    if plan.path == "loop":
        f = max(acc.f, pf)
        for t in terms:
            a = assign(s.add(s.shl(a, f - acc.f), s.shl(t, f - pf)), f, acc)
        return a
    prod = plan.prod  # "product": acc += prod_t(x * w)
    f = max(acc.f, prod.f)
    exact_sum = acc.overflow == "WRAP" and acc.f >= prod.f
    a = s.shl(a, f - acc.f)
    for t in terms:
        a = s.add(a, s.shl(assign(t, pf, prod), f - prod.f))
        if not exact_sum:
            a = s.shl(assign(a, f, acc), f - acc.f)
    return assign(a, f, acc)


def dense_plan(o, x_fmt: FixedFormat, w: Tensor, b: Tensor, w_data=None, b_data=None):
    """The emulator's plan of this dense/conv layer (its accumulation path), with its approximate
    multiplier (`plan.mult`, None for exact products) — the one the emulator's term tables come from."""
    mult = op_multiplier(o, x_fmt, w.fmt)
    plan = plan_dense(x_fmt, w.data if w_data is None else w_data, w.fmt, b.data if b_data is None else b_data,
                      b.fmt, accum_format(o), result_format(o), accum_format(o, "product"), mult)
    plan.mult = mult
    return plan


def product(x: s.Wire, w: s.Wire, plan, style: str, layer: str) -> s.Wire:
    """One term x * w at grid f_x + f_w: the layer's approximate multiplier, else the exact product."""
    if plan.mult is not None:
        from ..approx import approx_product

        return approx_product(x, w, plan.mult, layer)
    return s.mul_const(x, w.lo, style) if w.is_constant else s.mul(x, w)


__all__ = ["RTL_OPS", "rtl_op", "build_op", "Value", "OpContext", "PRODUCT_STYLES", "dense_rows", "accumulate",
           "dense_plan", "product", "const_array", "format_of"]
