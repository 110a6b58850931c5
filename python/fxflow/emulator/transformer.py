"""Emulator steps of the transformer family: `fxp.matmul` and `fxp.layernorm`.

Float tensors evaluate the exact real functions (the float reference); fixed-point tensors call the
semantics of `fxflow.fixed.matmul` / `fxflow.fixed.layernorm` with the formats the precision pass attached.
"""

from __future__ import annotations

import numpy as np

from fxflow.dialects.fxp import AddConstantOp, LayerNormOp, MatmulOp, format_of
from fxflow.dialects.fxp.accessors import accum_format, hls4ml_norm, norm_formats, op_multiplier, result_format, where
from fxflow.emulator import constant_operand, op_step
from fxflow.fixed.dense import Tensor, add
from fxflow.errors import FxflowError
from fxflow.fixed.layernorm import hls4ml_layernorm, layernorm, layernorm_float
from fxflow.fixed.matmul import matmul
from fxflow.ir import ir


@op_step(MatmulOp)
def _matmul_step(o, consts):
    if any(v.owner.name == "fxp.constant" for v in o.operands if isinstance(v, ir.OpResult)):
        raise FxflowError(f"fxp.matmul in layer '{where(o)}' takes two computed tensors, not a constant")
    out, acc = result_format(o), accum_format(o)
    products = matmul_products(o)

    def run(a: Tensor, b: Tensor) -> Tensor:
        if a.fmt is None:
            return Tensor(np.matmul(a.data, b.data), None)
        return Tensor(matmul(a.data, a.fmt, b.data, b.fmt, acc, out, products), out)

    return run


def matmul_products(o):
    """The products of a fixed fxp.matmul: None (exact) or its approximate multiplier's table gather."""
    fa, fb = (format_of(v.type) for v in o.operands)
    mult = op_multiplier(o, fa, fb, ("lhs", "rhs")) if fa is not None else None
    if mult is None:
        return None
    from fxflow.approx.emulate import table_products

    return table_products(mult)


@op_step(LayerNormOp)
def _layernorm_step(o, consts):
    gamma = constant_operand(o, 1, consts, "gamma")
    beta = constant_operand(o, 2, consts, "beta")
    dims = ir.IntegerAttr(o.attributes["dims"]).value
    eps = ir.FloatAttr(o.attributes["epsilon"]).value
    rms = bool(ir.IntegerAttr(o.attributes["rms"]).value)
    out = result_format(o)
    if out is None:
        return lambda x: Tensor(layernorm_float(x.data, dims, gamma.data, beta.data, eps, rms), None)
    hm = hls4ml_norm(o)
    fm = norm_formats(o) if hm is None else None

    def run(x: Tensor) -> Tensor:
        shape = x.data.shape
        rows = np.asarray(x.data).reshape(-1, int(np.prod(shape[-dims:])))
        if hm is not None:
            y = hls4ml_layernorm(rows, x.fmt, gamma.data.reshape(-1), gamma.fmt, beta.data.reshape(-1), beta.fmt,
                                 hm, eps, out)
        else:
            y = layernorm(rows, x.fmt, gamma.data.reshape(-1), gamma.fmt, beta.data.reshape(-1), beta.fmt, fm,
                          eps, rms, out)
        return Tensor(np.asarray(y).reshape(shape), out)

    run.any_layout = True  # computed on the columns: a transposed view is read without a copy
    return run


@op_step(AddConstantOp)
def _add_constant_step(o, consts):
    bias = constant_operand(o, 1, consts, "mask")
    shape = tuple(ir.RankedTensorType(o.results[0].type).shape)
    masked = np.asarray(list(ir.DenseI64ArrayAttr(o.attributes["masked"])), dtype=bool).reshape(shape)
    out = result_format(o)

    def run(x: Tensor) -> Tensor:
        if out is None:
            return Tensor(np.where(masked, -np.inf, x.data + bias.data), None)
        y = add(x, Tensor(bias.data.reshape(shape), bias.fmt), out)
        return Tensor(np.where(masked, out.min_int, y.data), out)

    return run
