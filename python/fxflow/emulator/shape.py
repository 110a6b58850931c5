"""Emulator steps of the data-movement `fxp` ops (reshape, gather, transpose, concat, pad, resize): they move
stored integers and never touch the format (concat assigns both inputs to its result format first)."""

from __future__ import annotations

import numpy as np

from fxflow.dialects.fxp import ConcatOp, GatherOp, PadOp, ReshapeOp, ResizeOp, TransposeOp
from fxflow.dialects.fxp.accessors import data_movement, result_format
from fxflow.emulator import op_step
from fxflow.fixed.dense import Tensor, cast
from fxflow.ir import ir


@op_step(ConcatOp)
def _concat_step(o, consts):
    axis, out = ir.IntegerAttr(o.attributes["axis"]).value, result_format(o)

    def run(a: Tensor, b: Tensor) -> Tensor:
        a, b = cast(a, out), cast(b, out)
        dtype = object if object in (a.data.dtype, b.data.dtype) else None
        return Tensor(np.concatenate([a.data, b.data], axis=axis, dtype=dtype), out)

    return run


@op_step(ReshapeOp, GatherOp, TransposeOp, PadOp, ResizeOp)
def _movement_step(o, consts):
    """The one-operand moves: `accessors.data_movement`, the rule every concern shares (fixed/shape.py)."""
    move = data_movement(o)
    run = lambda x: Tensor(move(x.data), x.fmt)  # noqa: E731
    name = o.operation.name
    if name in ("fxp.transpose", "fxp.gather"):  # (emulator.fuse_chains: the view when every reader takes it)
        view = data_movement(o, copy=False)
        run.view = lambda x: Tensor(view(x.data), x.fmt)
        if name == "fxp.transpose":
            run.any_layout = run.view.any_layout = True  # a permutation of any layout
    return run
