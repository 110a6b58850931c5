"""Estimate model of the data-movement ops (registered into `fxflow.estimate.base.OP_MODELS`): wiring, no cost
beyond the registers of the result."""

from __future__ import annotations

from fxflow.dialects.fxp import ConcatOp, GatherOp, PadOp, ReshapeOp, ResizeOp, TransposeOp
from fxflow.estimate.base import Ctx, OpCost, fmt_of, op_model, size_of


@op_model(ReshapeOp, GatherOp, TransposeOp, PadOp, ResizeOp, ConcatOp)
def _data_movement(ctx: Ctx, op) -> OpCost:
    """Wires only: the registers of the moved result."""
    return OpCost(ff=size_of(op.results[0]) * fmt_of(op.results[0], ctx.where).width)
