"""RTL builders, transformer family: `fxp.add_constant` (the other transformer ops have no RTL datapath yet)."""

from __future__ import annotations

import numpy as np

from fxflow.dialects.fxp import AddConstantOp
from fxflow.ir import ir

from .. import signals as s
from ..fixed import assign
from .base import constant, map_wires, rtl_op


@rtl_op(AddConstantOp)
def _add_constant(o, args, ctx, out):
    """result(x + c) of the exact sum, as fxp.add; masked (-inf) entries are the result format's minimum."""
    x = args[0]
    c = constant(o, 1, ctx, "mask")
    shape = x.wires.shape
    masked = np.asarray(list(ir.DenseI64ArrayAttr(o.attributes["masked"])), dtype=bool).reshape(shape)
    f = x.fmt.add_result(c.fmt).f

    def one(w, v, m):
        if m:
            return s.const(out.min_int)
        return assign(s.add(s.shl(w, f - x.fmt.f), s.const(int(v) << (f - c.fmt.f))), f, out)

    return map_wires(one, x.wires, np.asarray(c.data).reshape(shape), masked)
