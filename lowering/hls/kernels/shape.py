"""C++ printers for the data-movement ops (reshape, transpose, gather, pad, resize, concat): copies between
flat, row-major, channels-first arrays; zero padding writes 0, concat assigns both inputs to its result type."""

from __future__ import annotations

import math

from fxflow.dialects.fxp import ConcatOp, GatherOp, PadOp, ReshapeOp, ResizeOp, TransposeOp, i64_array
from fxflow.ir import ir

from fxflow.lowering.hls.cwriter import index_expr
from fxflow.lowering.hls.kernels import KernelEmitter, print_elementwise, printer
from fxflow.lowering.hls.kernels.layers import strides_of


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
    yi = index_expr(*zip(names, strides_of(ys)))
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
    xst = strides_of(list(k.shape(op.operands[0], op, "input")))
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
    xst = strides_of(xs)

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
    xst = strides_of(list(k.shape(op.operands[0], op, "input")))

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
