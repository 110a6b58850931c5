"""C++ printers for the elementwise ops: constant (the weight arrays a kernel reads), cast (per tensor or per
channel), relu, add, sub, mul, minmax and the per-channel affine scale_shift.  One statement per element, the exact expression assigned to the result
type once (`print_elementwise`)."""

from __future__ import annotations

import math

from fxflow.dialects.fxp import AddOp, CastOp, ConstantOp, MinMaxOp, MulOp, ReluOp, ScaleShiftOp, SubOp
from fxflow.errors import IRError
from fxflow.ir import ir

from fxflow.lowering.hls.design import ConstArray
from fxflow.lowering.hls.kernels import KernelEmitter, constant_role, print_elementwise, printer, register_roles

register_roles({(ScaleShiftOp, 1): ("s", "scale"), (ScaleShiftOp, 2): ("t", "shift")})


@printer(CastOp)
def _cast(k: KernelEmitter, op) -> None:
    if "formats" in op.attributes:  # --- per-channel cast (channels.py): one type per channel group ---
        from fxflow.lowering.hls.channels import print_channel_cast

        print_channel_cast(k, op)
        return
    print_elementwise(k, op, "cast", ("input",), "fxp.cast", lambda d, s: [f"{d}[i] = {s[0]}[i];"])


@printer(ReluOp)
def _relu(k: KernelEmitter, op) -> None:
    print_elementwise(k, op, "relu", ("input",), "fxp.relu: max(x, 0)",
                 lambda d, s: [f"if ({s[0]}[i] > 0) {d}[i] = {s[0]}[i];", f"else {d}[i] = 0;"])


@printer(AddOp)
def _add(k: KernelEmitter, op) -> None:
    print_elementwise(k, op, "add", ("lhs", "rhs"), "fxp.add: exact sum",
                 lambda d, s: [f"{d}[i] = {s[0]}[i] + {s[1]}[i];"])


@printer(ScaleShiftOp)
def _scale_shift(k: KernelEmitter, op) -> None:
    x, s, t = op.operands[0], op.operands[1], op.operands[2]
    xs = k.shape(x, op, "input")
    channels = xs[1] if len(xs) > 1 else 1
    inner = math.prod(xs[2:])

    def channel_index(v) -> str:
        if list(k.shape(v, op, "parameter")) == [1]:
            return "0"
        return f"(i / {inner}) % {channels}" if inner > 1 else f"i % {channels}"

    si, ti = channel_index(s), channel_index(t)
    print_elementwise(k, op, "scale_shift", ("input", "scale", "shift"), "fxp.scale_shift: x * scale + shift (exact)",
                 lambda d, src: [f"{d}[i] = {src[0]}[i] * {src[1]}[{si}] + {src[2]}[{ti}];"])


@printer(SubOp)
def _sub(k: KernelEmitter, op) -> None:
    print_elementwise(k, op, "sub", ("lhs", "rhs"), "fxp.sub: exact difference",
                 lambda d, s: [f"{d}[i] = {s[0]}[i] - {s[1]}[i];"])


@printer(MulOp)
def _mul(k: KernelEmitter, op) -> None:
    print_elementwise(k, op, "mul", ("lhs", "rhs"), "fxp.mul: exact product",
                 lambda d, s: [f"{d}[i] = {s[0]}[i] * {s[1]}[i];"])


@printer(MinMaxOp)
def _minmax(k: KernelEmitter, op) -> None:
    kind = ir.StringAttr(op.attributes["kind"]).value
    cmp = ">" if kind == "max" else "<"  # ap_fixed compares two formats exactly; on a tie both are the value
    print_elementwise(k, op, "minmax", ("lhs", "rhs"), f"fxp.minmax: exact {kind}",
                      lambda d, s: [f"if ({s[0]}[i] {cmp} {s[1]}[i]) {d}[i] = {s[0]}[i];", f"else {d}[i] = {s[1]}[i];"])


@printer(ConstantOp)
def _constant(k: KernelEmitter, op) -> None:
    v = op.results[0]
    fmt = k.fmt(v, op, "result")
    shape = k.shape(v, op, "result")
    attr = op.attributes["value"]
    if not isinstance(attr, ir.DenseIntElementsAttr):
        raise k.error(op, "a fixed-point constant must hold its stored integers in an integer dense attribute")
    import numpy as np

    values = [int(n) for n in np.asarray(ir.DenseIntElementsAttr(attr)).reshape(-1)]
    if len(values) != math.prod(shape):
        raise k.error(op, f"constant holds {len(values)} values for shape {list(shape)}")
    lo, hi = fmt.min_int, fmt.max_int
    bad = next((n for n in values if not lo <= n <= hi), None)
    if bad is not None:
        raise IRError(f"HLS emitter: stored integer {bad} is outside [{lo}, {hi}] of {fmt}: {k.where(op)}")
    short, role = constant_role(v)
    name = k.design.ident(f"{k.name}_{short}")
    ctype = k.design.typedef(f"{k.name}_{role}", fmt, f"kernel {k.name}")
    header = f"weights/{k.design.stem(name)}.h"
    k.consts.append(ConstArray(name, ctype, fmt, shape, values, k.name, role, header))
    k.arrays[v], k.ctypes[v] = name, ctype
    if "formats" in op.attributes:  # --- per-channel formats (channels.py): typedef per channel group ---
        from fxflow.lowering.hls.channels import declare_constant_channels

        declare_constant_channels(k, op, name, role, ctype)
