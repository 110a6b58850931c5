"""fxp-assign-precision rules for the data-movement ops (reshape, transpose, gather, pad, resize: the input
format, the range moved like the data) and concat (both inputs assigned to the layer's result format)."""

from __future__ import annotations

import numpy as np

from fxflow.config import Config
from fxflow.dialects.fxp import ConcatOp, GatherOp, PadOp, ReshapeOp, ResizeOp, TransposeOp, format_of, i64_array
from fxflow.fixed.gather import gather_rows
from fxflow.fixed.interval import Interval
from fxflow.ir import ir, layer_name

from fxflow.passes.assign_precision import assigner, fixed_tensor_type, require_fixed, set_result
from fxflow.passes.assign_precision.model_exact import always_exact, exactness

exactness(ReshapeOp, GatherOp, TransposeOp, PadOp, ResizeOp, ConcatOp)(always_exact)


def _keep_format(op, ranges: dict, move) -> None:
    """Data movement: the result has the input's element type; `move` maps the interval bounds."""
    o = op.operation
    x = o.operands[0]
    require_fixed(op, [x], o.name)
    res = o.results[0]
    res.set_type(fixed_tensor_type(res, format_of(x.type)))
    iv = ranges[x]
    ranges[res] = Interval(move(iv.lo), move(iv.hi), iv.f)


@assigner(ReshapeOp)
def _assign_reshape(op, cfg: Config, ranges: dict) -> None:
    shape = list(ir.RankedTensorType(op.operation.results[0].type).shape)
    _keep_format(op, ranges, lambda a: a.reshape(shape))


@assigner(GatherOp)
def _assign_gather(op, cfg: Config, ranges: dict) -> None:
    shape = list(ir.RankedTensorType(op.operation.results[0].type).shape)
    idx = np.asarray(i64_array(op, "indices"), dtype=np.int64)
    _keep_format(op, ranges, lambda a: gather_rows(a, idx).reshape(shape))


@assigner(TransposeOp)
def _assign_transpose(op, cfg: Config, ranges: dict) -> None:
    perm = i64_array(op, "permutation")
    _keep_format(op, ranges, lambda a: np.ascontiguousarray(a.transpose(perm)))


@assigner(PadOp)
def _assign_pad(op, cfg: Config, ranges: dict) -> None:
    p = i64_array(op, "padding")
    n = len(p) // 2
    widths = [(0, 0), (0, 0)] + [(p[d], p[n + d]) for d in range(n)]
    _keep_format(op, ranges, lambda a: np.pad(a, widths, constant_values=0))


@assigner(ResizeOp)
def _assign_resize(op, cfg: Config, ranges: dict) -> None:
    scales = i64_array(op, "scales")

    def move(a):
        for d, s in enumerate(scales):
            a = np.repeat(a, s, axis=2 + d)
        return a

    _keep_format(op, ranges, move)


@assigner(ConcatOp)
def _assign_concat(op, cfg: Config, ranges: dict) -> None:
    o = op.operation
    require_fixed(op, list(o.operands), "fxp.concat")
    axis = ir.IntegerAttr(o.attributes["axis"]).value
    fmt = cfg.layer(layer_name(op.location)).result
    a, b = (ranges[v] for v in o.operands)
    f = max(a.f, b.f)
    a, b = a.aligned(f), b.aligned(f)
    joined = Interval(np.concatenate([a.lo, b.lo], axis=axis), np.concatenate([a.hi, b.hi], axis=axis), f)
    set_result(op, fmt, joined, ranges)
