"""RTL builders, shape family: data movement and concat, wire permutations without logic: the array functions of
fxflow.fixed.shape (as in the emulator), run on wire arrays."""

from __future__ import annotations

import numpy as np

from fxflow.dialects.fxp import ConcatOp, GatherOp, PadOp, ReshapeOp, ResizeOp, TransposeOp
from fxflow.dialects.fxp.accessors import data_movement
from fxflow.ir import ir

from .. import signals as s
from ..fixed import assign
from .base import map_wires, rtl_op


def _zero_to_wire(v):
    return v if isinstance(v, s.Wire) else s.const(int(v))


@rtl_op(ReshapeOp, GatherOp, TransposeOp, PadOp, ResizeOp)
def _movement(o, args, ctx, out):
    x = args[0]
    return map_wires(_zero_to_wire, np.asarray(data_movement(o)(x.wires), dtype=object))


@rtl_op(ConcatOp)
def _concat(o, args, ctx, out):
    axis = ir.IntegerAttr(o.attributes["axis"]).value
    parts = [map_wires(lambda w, f=a.fmt.f: assign(w, f, out), a.wires) for a in args]
    return np.concatenate(parts, axis=axis)
