"""Emulator steps of the data-movement `fxp` ops (reshape, gather, transpose, concat, pad, resize): they move
stored integers and never touch the format (concat assigns both inputs to its result format first)."""

from __future__ import annotations

import numpy as np

from .dialects.fxp import ConcatOp, GatherOp, PadOp, ReshapeOp, ResizeOp, TransposeOp, i64_array
from .emulator import Tensor, cast, op_step, result_format
from .fixed.gather import gather_rows
from .ir import ir


def _sample_shape(v) -> list[int]:
    return list(ir.RankedTensorType(v.type).shape[1:])


@op_step(ReshapeOp)
def _reshape_step(o, consts):
    shape = _sample_shape(o.results[0])
    return lambda x: Tensor(x.data.reshape(x.data.shape[0], *shape), x.fmt)


@op_step(GatherOp)
def _gather_step(o, consts):
    shape, idx = _sample_shape(o.results[0]), np.asarray(i64_array(o, "indices"), dtype=np.int64)
    return lambda x: Tensor(gather_rows(x.data, idx).reshape(x.data.shape[0], *shape), x.fmt)


@op_step(TransposeOp)
def _transpose_step(o, consts):
    perm = i64_array(o, "permutation")
    return lambda x: Tensor(np.ascontiguousarray(x.data.transpose(perm)), x.fmt)


@op_step(ConcatOp)
def _concat_step(o, consts):
    axis, out = ir.IntegerAttr(o.attributes["axis"]).value, result_format(o)

    def run(a: Tensor, b: Tensor) -> Tensor:
        a, b = cast(a, out), cast(b, out)
        dtype = object if object in (a.data.dtype, b.data.dtype) else None
        return Tensor(np.concatenate([a.data, b.data], axis=axis, dtype=dtype), out)

    return run


@op_step(PadOp)
def _pad_step(o, consts):
    p = i64_array(o, "padding")
    n = len(p) // 2
    widths = [(0, 0), (0, 0)] + [(p[d], p[n + d]) for d in range(n)]
    return lambda x: Tensor(np.pad(x.data, widths), x.fmt)


@op_step(ResizeOp)
def _resize_step(o, consts):
    scales = i64_array(o, "scales")

    def run(x: Tensor) -> Tensor:
        data = x.data
        for d, s in enumerate(scales):
            data = np.repeat(data, s, axis=2 + d)
        return Tensor(data, x.fmt)

    return run
