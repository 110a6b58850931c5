"""Emulator steps of the elementwise `fxp` ops: cast (per tensor or per channel), relu, add, sub, mul, minmax and
the per-channel affine scale_shift.  Each computes the exact result in integers wide enough for it, then
assigns it to the result format once (`requantize`), as one C++ assignment would."""

from __future__ import annotations

import numpy as np

from fxflow.dialects.fxp import AddOp, CastOp, MinMaxOp, MulOp, ReluOp, ScaleShiftOp, SubOp
from fxflow.dialects.fxp.accessors import result_format
from fxflow.emulator import constant_operand, has_constant_operand, native, op_step
from fxflow.fixed import FixedFormat
from fxflow.fixed.dense import INT64_BITS, Tensor, add, as_int, cast, int_bits, max_abs_int, relu, shift_left
from fxflow.fixed.layout import memory_order
from fxflow.errors import FxflowError
from fxflow.fixed.quantize import requantize
from fxflow.fixed.select import minmax
from fxflow.ir import ir


@op_step(CastOp)
def _cast_step(o, consts):
    # --- per-channel cast (`formats`, fxflow.fixed.channels): each element to its own format ---
    from fxflow.dialects.fxp.channels import channel_formats

    cf = channel_formats(o)
    if cf is not None:
        from fxflow.fixed.channels import cast_channels

        shape = tuple(ir.RankedTensorType(o.results[0].type).shape)
        return lambda x, fmt=result_format(o), cf=cf: Tensor(
            cast_channels(x.data, None if x.fmt is None else x.fmt.f, cf, fmt, shape), fmt)
    step = lambda x, fmt=result_format(o): cast(x, fmt)  # noqa: E731
    step.chain_op = ("cast", result_format(o))  # read by the emulator's chain fusion (fuse_chains)
    return step


@op_step(ReluOp)
def _relu_step(o, consts):
    step = lambda x, fmt=result_format(o): relu(x, fmt)  # noqa: E731
    step.chain_op = ("relu", result_format(o))
    return step


@op_step(AddOp)
def _add_step(o, consts):
    if has_constant_operand(o, consts):
        raise FxflowError(f"fxp.add with a constant operand is not supported ({o.location})")
    out = result_format(o)
    native_add = NativeAdd(out) if out is not None else None

    def step(x, y):
        if native_add is not None:
            total = native_add(x, y)
            if total is not None:
                return total
        return add(x, y, out)

    step.any_layout = True  # elementwise: keeps its inputs' layout (emulator._any_layout)
    return step


class NativeAdd:
    """`add(a, b, out)` as kernels/elementwise.cpp for int64 operands of one memory order whose exact sum fits
    int64 (`__call__` returns None for the others, and without the native library); the shifts and the
    assignment per pair of input formats."""

    def __init__(self, out: FixedFormat):
        self.out, self.plans = out, {}

    def plan(self, fa: FixedFormat, fb: FixedFormat):
        if (fa, fb) not in self.plans:
            s = fa.add_result(fb)
            try:
                params = native.assignment(s.f, self.out) if s != self.out else None
            except ValueError:
                params = False
            self.plans[fa, fb] = None if s.width > INT64_BITS - 1 or params is False else (
                s.f - fa.f, s.f - fb.f, params)
        return self.plans[fa, fb]

    def __call__(self, a: Tensor, b: Tensor) -> Tensor | None:
        lib = native.library()  # (per call: FXFLOW_NATIVE=0 takes effect on a compiled design too)
        if lib is None or a.fmt is None or b.fmt is None or a.data.dtype != np.int64 or b.data.dtype != np.int64:
            return None
        if a.data.shape != b.data.shape or a.data.strides != b.data.strides:
            return None
        plan = self.plan(a.fmt, b.fmt)
        if plan is None:
            return None
        (da, back), (db, _) = memory_order(a.data), memory_order(b.data)
        sa, sb, params = plan
        y = np.empty(da.shape, dtype=np.int64)
        lib.fxflow_add(da.ctypes.data, db.ctypes.data, y.ctypes.data, y.size, sa, sb,
                                    int(params is not None), 0 if params is None else params.ctypes.data)
        return Tensor(y if back == sorted(back) else y.transpose(back), self.out)


def _channel_view(p: np.ndarray, rank: int) -> np.ndarray:
    """A [C] or [1] parameter shaped to broadcast along dim 1 of a [B, C, ...] tensor."""
    return p.reshape([1, -1] + [1] * (rank - 2)) if rank >= 2 else p


@op_step(ScaleShiftOp)
def _scale_shift_step(o, consts):
    s = constant_operand(o, 1, consts, "scale")
    t = constant_operand(o, 2, consts, "shift")
    out = result_format(o)
    s_max, t_max = (max((abs(int(v)) for v in np.asarray(c.data).reshape(-1)), default=0) for c in (s, t))

    def run(x: Tensor) -> Tensor:
        rank = x.data.ndim
        sv, tv = _channel_view(s.data, rank), _channel_view(t.data, rank)
        if x.fmt is None:
            return Tensor(x.data * sv + tv, None)
        pf = x.fmt.f + s.fmt.f
        f = max(pf, t.fmt.f)
        # from the constants' own magnitudes (exact BatchNorm constants are wide formats holding small values)
        bits = max(int_bits(max_abs_int(x.fmt) * s_max) + f - pf, int_bits(t_max) + f - t.fmt.f) + 2
        prod = as_int(x.data, bits) * as_int(sv, bits)
        total = shift_left(prod, f - pf, bits) + shift_left(as_int(tv, bits), f - t.fmt.f, bits)
        return Tensor(requantize(total, f, out), out)

    return run


@op_step(SubOp, MulOp)
def _binary_step(o, consts):
    out, mul = result_format(o), o.name == "fxp.mul"

    def run(a: Tensor, b: Tensor) -> Tensor:
        if a.fmt is None:
            return Tensor(a.data * b.data if mul else a.data - b.data, None)
        if mul:
            bits = int_bits(max_abs_int(a.fmt)) + int_bits(max_abs_int(b.fmt)) + 1
            return Tensor(requantize(as_int(a.data, bits) * as_int(b.data, bits), a.fmt.f + b.fmt.f, out), out)
        f = max(a.fmt.f, b.fmt.f)
        bits = max(int_bits(max_abs_int(a.fmt)) + f - a.fmt.f, int_bits(max_abs_int(b.fmt)) + f - b.fmt.f) + 2
        diff = shift_left(as_int(a.data, bits), f - a.fmt.f, bits) - shift_left(as_int(b.data, bits),
                                                                                   f - b.fmt.f, bits)
        return Tensor(requantize(diff, f, out), out)

    return run


@op_step(MinMaxOp)
def _minmax_step(o, consts):
    if has_constant_operand(o, consts):
        raise FxflowError(f"fxp.minmax with a constant operand is not supported (that is fxp.select) ({o.location})")
    out, kind = result_format(o), ir.StringAttr(o.attributes["kind"]).value

    def run(a: Tensor, b: Tensor) -> Tensor:
        if a.fmt is None:
            return Tensor(np.maximum(a.data, b.data) if kind == "max" else np.minimum(a.data, b.data), None)
        return Tensor(minmax(a.data, a.fmt.f, b.data, b.fmt.f, kind, out), out)

    return run
