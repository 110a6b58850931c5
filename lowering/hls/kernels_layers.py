"""C++ printers for conv/pool, per-channel affine, elementwise sub/mul and the data-movement ops.

Arrays are flat, row-major, channels first (the IR's layout, batch of 1 included).  Convolution and
pooling loop over output channel and position, then over the window in the op's documented order;
taps in the zero padding are skipped (adding an exact 0 never changes an accumulator), which the
`if` on the input coordinates expresses.  In a `latency` kernel the function-level PIPELINE unrolls
every loop; the numbers never depend on pragmas.
"""

from __future__ import annotations

import math

from fxflow.dialects.fxp import (ConcatOp, ConvOp, GatherOp, MulOp, PadOp, PoolOp, ReshapeOp, ResizeOp, ScaleShiftOp,
                                 SubOp, TransposeOp, i64_array)
from fxflow.ir import ir

from .cwriter import index_expr
from .design import fixed_format
from .kernels import KernelEmitter, print_elementwise, printer, product_type, register_roles

register_roles({(ConvOp, 1): ("w", "weight"), (ConvOp, 2): ("b", "bias"),
               (ScaleShiftOp, 1): ("s", "scale"), (ScaleShiftOp, 2): ("t", "shift")})

SPATIAL_SUFFIXES = ("h", "w")  # names of the spatial loop variables' suffixes (1-D uses the last)


def _strides_of(shape) -> list[int]:
    return [math.prod(shape[d + 1:]) for d in range(len(shape))]


def _window_loops(k: KernelEmitter, in_spatial, kernel, strides, dilations, padding):
    """Open the window loops; returns (coordinate names, bounds condition).  The caller closes len(kernel) loops."""
    n = len(kernel)
    names, conds = [], []
    for d in range(n):
        s = SPATIAL_SUFFIXES[d + 2 - n]
        k.body.loop(f"k{s}", kernel[d])
        coord = index_expr((f"o{s}", strides[d]), (f"k{s}", dilations[d]))
        if padding[d]:
            coord = f"{coord} - {padding[d]}"
        k.body(f"const int i{s} = {coord};")
        names.append(f"i{s}")
        if padding[d] or padding[n + d]:
            conds.append(f"i{s} >= 0 && i{s} < {in_spatial[d]}")
    return names, " && ".join(conds)


def _output_loops(k: KernelEmitter, out_spatial) -> list[str]:
    n = len(out_spatial)
    names = []
    for d in range(n):
        s = SPATIAL_SUFFIXES[d + 2 - n]
        k.body.loop(f"o{s}", out_spatial[d])
        names.append(f"o{s}")
    return names


def conv_prologue(k: KernelEmitter, op, in_shape, out_shape) -> str:
    """The comment, partitions and accumulator typedef (returned) of a conv kernel (array and stream forms)."""
    x, w, b = op.operands[0], op.operands[1], op.operands[2]
    for v, what in ((x, "input"), (w, "weight"), (b, "bias")):
        k.fmt(v, op, what)
    acc_fmt = fixed_format(ir.TypeAttr(op.attributes["accum"]).value, f"accumulator of {k.where(op)}")
    ws = list(k.shape(w, op, "weight"))
    k.body(f"// fxp.conv {list(in_shape)} * {ws} (groups {_attr_int(op, 'groups')}, strides "
           f"{i64_array(op, 'strides')}, dilations {i64_array(op, 'dilations')}, padding {i64_array(op, 'padding')}) "
           f"-> {list(out_shape)}, accumulator {acc_fmt}")
    if k.is_const(w) and k.strategy == "latency" and k.rf == 1:
        k.partition(k.ref(w))
    if k.is_const(b):
        k.partition(k.ref(b))
    return k.design.typedef(f"{k.name}_accum", acc_fmt, f"kernel {k.name}")


def _attr_int(op, name: str) -> int:
    return ir.IntegerAttr(op.attributes[name]).value


def conv_output(k: KernelEmitter, op, acc_t: str, in_spatial, tap) -> None:
    """Inside the loops over output channel `f` and one output position: `acc` = bias, then acc += x * w over
    the group's channels and the window in the op's order; `tap(coords, channel)` is the C++ of one input.
    Padding taps and pruned (zero) weights are skipped: adding an exact 0 changes no accumulator."""
    w, b = op.operands[1], op.operands[2]
    ws = list(k.shape(w, op, "weight"))
    groups = _attr_int(op, "groups")
    strides, dilations, padding = (i64_array(op, n) for n in ("strides", "dilations", "padding"))
    f_out, cg = ws[0], ws[1]
    W, B = k.ref(w), k.ref(b)
    prod_t = product_type(k, op)
    body = k.body
    body(f"{acc_t} acc = {B}[f];")
    body.loop("c", cg)
    ins, cond = _window_loops(k, in_spatial, ws[2:], strides, dilations, padding)
    chan = "c" if groups == 1 else f"(f / {f_out // groups}) * {cg} + c"
    wst = _strides_of(ws)
    ks = [f"k{SPATIAL_SUFFIXES[d + 2 - len(ins)]}" for d in range(len(ins))]
    wi = index_expr(("f", wst[0]), ("c", wst[1]), *[(v, wst[2 + d]) for d, v in enumerate(ks)])
    from .approx import multiply  # x * w, or the layer's approximate multiplier

    term = multiply(k, op, tap(ins, chan), f"{W}[{wi}]")
    if prod_t:
        term = f"{prod_t}({term})"
    w_const = next((c for c in k.consts if c.name == W), None)
    if w_const is not None and 0 in w_const.values:
        cond = f"{cond} && {W}[{wi}] != 0" if cond else f"{W}[{wi}] != 0"
    body(f"if ({cond}) acc += {term};" if cond else f"acc += {term};")
    for _ in range(len(ins) + 1):
        body.close()


def pool_output(k: KernelEmitter, op, in_spatial, in_type: str, tap) -> str:
    """Inside the loops over channel `c` and one output position: max over the in-bounds taps (`m`), or
    acc = 0; acc += x; acc /= n (ap_fixed division by an integer truncates toward zero).  Returns the C++
    variable holding the pooled value; `tap(coords, channel)` is the C++ of one input."""
    kind = ir.StringAttr(op.attributes["kind"]).value
    kernel, strides, padding = (i64_array(op, n) for n in ("kernel", "strides", "padding"))
    body = k.body
    if kind == "max":
        body(f"{in_type} m = 0;")
        body("bool seen = false;")
    else:
        acc_fmt = fixed_format(ir.TypeAttr(op.attributes["accum"]).value, f"accumulator of {k.where(op)}")
        body(f"{k.design.typedef(f'{k.name}_accum', acc_fmt, f'kernel {k.name}')} acc = 0;")
    ins, cond = _window_loops(k, in_spatial, kernel, strides, [1] * len(kernel), padding)
    v = tap(ins, "c")
    stmt = f"if (!seen || {v} > m) {{ m = {v}; seen = true; }}" if kind == "max" else f"acc += {v};"
    body(f"if ({cond}) {stmt}" if cond else stmt)
    for _ in ins:
        body.close()
    if kind == "max":
        return "m"
    body(f"acc /= (unsigned) {math.prod(kernel)};  // ap_fixed division by an integer truncates toward zero")
    return "acc"


@printer(ConvOp)
def _conv(k: KernelEmitter, op) -> None:
    x, y = op.operands[0], op.results[0]
    xs, ys = k.shape(x, op, "input"), k.shape(y, op, "result")
    acc_t = conv_prologue(k, op, xs, ys)
    Y = k.dest(y, op, "conv")
    X = k.ref(x)
    xst, yst = _strides_of(xs[1:]), _strides_of(ys[1:])
    grouped = _attr_int(op, "groups") > 1
    k.body.loop("f", ys[1])
    outs = _output_loops(k, ys[2:])
    conv_output(k, op, acc_t, xs[2:], lambda ins, chan: f"{X}[" + index_expr(
        (f"({chan})" if grouped else chan, xst[0]), *[(v, xst[1 + d]) for d, v in enumerate(ins)]) + "]")
    k.body(f"{Y}[{index_expr(('f', yst[0]), *[(v, yst[1 + d]) for d, v in enumerate(outs)])}] = acc;")
    for _ in range(len(outs) + 1):
        k.body.close()


@printer(PoolOp)
def _pool(k: KernelEmitter, op) -> None:
    x, y = op.operands[0], op.results[0]
    k.fmt(x, op, "input")
    kind = ir.StringAttr(op.attributes["kind"]).value
    kernel, strides, padding = (i64_array(op, n) for n in ("kernel", "strides", "padding"))
    xs, ys = k.shape(x, op, "input"), k.shape(y, op, "result")
    X = k.ref(x)
    k.body(f"// fxp.pool {kind} {xs} window {kernel} strides {strides} padding {padding} -> {ys}")
    Y = k.dest(y, op, "pool")
    xst, yst = _strides_of(xs[1:]), _strides_of(ys[1:])
    k.body.loop("c", xs[1])
    outs = _output_loops(k, ys[2:])
    value = pool_output(k, op, xs[2:], k.ctypes[x], lambda ins, chan: f"{X}[" + index_expr(
        (chan, xst[0]), *[(v, xst[1 + d]) for d, v in enumerate(ins)]) + "]")
    k.body(f"{Y}[{index_expr(('c', yst[0]), *[(v, yst[1 + d]) for d, v in enumerate(outs)])}] = {value};")
    for _ in range(len(outs) + 1):
        k.body.close()


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


# --- data movement ----------------------------------------------------------------------------------
def _gather(k: KernelEmitter, op, what: str, source_index) -> None:
    """y[o] = x[source_index(o)] over every output position (nested loops over the result shape);
    `source_index(names)` returns the input flat index expression, or None for a zero (padding)."""
    x, y = op.operands[0], op.results[0]
    k.fmt(x, op, "input")
    ys = list(k.shape(y, op, "result"))
    X = k.ref(x)
    k.body(f"// fxp.{what} {list(k.shape(x, op, 'input'))} -> {ys}")
    Y = k.dest(y, op, what)
    names = [f"d{j}" for j in range(len(ys))]
    for nm, n in zip(names, ys):
        k.body.loop(nm, n)
    yi = index_expr(*zip(names, _strides_of(ys)))
    src, cond = source_index(names)
    if cond:
        k.body(f"if ({cond}) {Y}[{yi}] = {X}[{src}];")
        k.body(f"else {Y}[{yi}] = 0;")
    else:
        k.body(f"{Y}[{yi}] = {X}[{src}];")
    for _ in names:
        k.body.close()


@printer(ReshapeOp)
def _reshape(k: KernelEmitter, op) -> None:
    print_elementwise(k, op, "reshape", ("input",), "fxp.reshape: same elements, row-major",
                 lambda d, s: [f"{d}[i] = {s[0]}[i];"])


@printer(TransposeOp)
def _transpose(k: KernelEmitter, op) -> None:
    perm = i64_array(op, "permutation")
    xst = _strides_of(list(k.shape(op.operands[0], op, "input")))
    # result dim d is input dim perm[d]
    _gather(k, op, "transpose", lambda n: (index_expr(*[(n[d], xst[perm[d]]) for d in range(len(perm))]), ""))


@printer(GatherOp)
def _gather_indices(k: KernelEmitter, op) -> None:
    """y[i] = x[idx[i]] (0 for idx -1) with the composed indices as a constant table (wiring once unrolled)."""
    idx = i64_array(op, "indices")
    table = k.fresh(f"{k.name}_idx")
    k.body(f"static const int {table}[{len(idx)}] = {{{', '.join(map(str, idx))}}};")
    print_elementwise(k, op, "gather", ("input",), "fxp.gather: composed data movement",
                 lambda d, s: [f"if ({table}[i] < 0) {d}[i] = 0;", f"else {d}[i] = {s[0]}[{table}[i]];"])


@printer(PadOp)
def _pad(k: KernelEmitter, op) -> None:
    p = i64_array(op, "padding")
    xs = list(k.shape(op.operands[0], op, "input"))
    sp = len(xs) - 2
    xst = _strides_of(xs)

    def src(n):
        coords, conds = [n[0], n[1]], []
        for d in range(sp):
            c = f"({n[2 + d]} - {p[d]})" if p[d] else n[2 + d]
            coords.append(c)
            conds.append(f"{c} >= 0 && {c} < {xs[2 + d]}")
        return index_expr(*zip(coords, xst)), " && ".join(conds)

    _gather(k, op, "pad", src)


@printer(ResizeOp)
def _resize(k: KernelEmitter, op) -> None:
    scales = i64_array(op, "scales")
    xst = _strides_of(list(k.shape(op.operands[0], op, "input")))

    def src(n):
        coords = [n[0], n[1]] + [f"({n[2 + d]} / {s})" for d, s in enumerate(scales)]
        return index_expr(*zip(coords, xst)), ""

    _gather(k, op, "resize", src)


@printer(ConcatOp)
def _concat(k: KernelEmitter, op) -> None:
    a, b, y = op.operands[0], op.operands[1], op.results[0]
    k.fmt(a, op, "lhs")
    k.fmt(b, op, "rhs")
    axis = ir.IntegerAttr(op.attributes["axis"]).value
    as_, bs, ys = (list(k.shape(v, op, w)) for v, w in ((a, "lhs"), (b, "rhs"), (y, "result")))
    outer, inner = math.prod(ys[:axis]), math.prod(ys[axis + 1:])
    A, B = k.ref(a), k.ref(b)
    k.body(f"// fxp.concat {as_} + {bs} along {axis} -> {ys}")
    Y = k.dest(y, op, "concat")
    na, nb = as_[axis] * inner, bs[axis] * inner
    k.body.loop("o", outer)
    k.body.loop("i", na)
    k.body(f"{Y}[{index_expr(('o', na + nb), ('i', 1))}] = {A}[{index_expr(('o', na), ('i', 1))}];")
    k.body.close()
    k.body.loop("i", nb)
    k.body(f"{Y}[{index_expr(('o', na + nb), (str(na) + ' + i', 1))}] = {B}[{index_expr(('o', nb), ('i', 1))}];")
    k.body.close()
    k.body.close()
