"""C++ of an `fxp.softmax` with implementation "hccs": the integer definition of `fxflow.fixed.hccs`, on
stored integers (the same arithmetic the emulator runs), for Vitis (ap_int) and Catapult (ac_int).

Per row: the input's stored integers, their maximum, the clipped distances and scores (16-bit), their
16-bit sum, one reciprocal (a division, or for "clb" the leading-bit position and a division of the
normalized sum), then per element multiply / shift / saturate and the stored bits of the result.
Per-head parameters are `static const` arrays indexed by the head (axis -3 of [B, H, Tq, Tk]).
"""

from __future__ import annotations

import math

from fxflow.dialects.fxp.accessors import hccs_spec
from fxflow.fixed.hccs import CLB_SHIFT, DIV_SHIFT, SUM_BITS, head_axis_of
from fxflow.ir import ir

from fxflow.lowering.hls.kernels import KernelEmitter


def _param(k: KernelEmitter, name: str, values: tuple[int, ...], head: str) -> str:
    """A literal (one head) or a static const array indexed by `head`."""
    if len(values) == 1:
        return f"{values[0]}LL"
    arr = k.fresh(name)
    k.body(f"static const long long {arr}[{len(values)}] = {{{', '.join(map(str, values))}}};")
    return f"{arr}[{head}]"


def print_hccs(k: KernelEmitter, op) -> None:
    x, y = op.operands[0], op.results[0]
    xf, yf = k.fmt(x, op, "input"), k.fmt(y, op, "result")
    shape = k.shape(x, op, "input")
    axis = ir.IntegerAttr(op.attributes["axis"]).value
    spec = hccs_spec(op)
    outer, n, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    X, body, fl = k.ref(x), k.body, k.design.flavour
    f = yf.f
    body(f"// fxp.softmax (hccs: {spec.reciprocal} reciprocal, {spec.output} output) along axis {axis}: "
         f"{outer} x {n} x {inner} -> {yf}")
    body("// d = min(max - x, Dmax); s = B - S*d; t = sum s; r = reciprocal(t); y = min((s*r) >> k, max)")
    Y = k.dest(y, op, "softmax")
    head_axis = head_axis_of(shape, axis)
    head = "0"
    if head_axis is not None and spec.heads > 1:
        head = f"(o / {math.prod(shape[head_axis + 1:axis])}) % {shape[head_axis]}"
    dm_bits = max(max(spec.Dmax), 1).bit_length()
    xw = xf.width
    x_t, d_t, s_t = fl.int_type(xw, bool(xf.signed)), fl.int_type(xw + 1, True), fl.int_type(SUM_BITS, False)
    p_t = fl.int_type(2 * SUM_BITS, False)
    body.loop("o", outer)
    body.loop("c", inner)
    B, S, D = (_param(k, nm, v, head) for nm, v in (("hccs_b", spec.B), ("hccs_s", spec.S), ("hccs_dmax", spec.Dmax)))

    def at(j) -> str:
        return f"(o * {n} + {j}) * {inner} + c" if inner > 1 or outer > 1 else f"{j}"

    xr, s = k.fresh("xr"), k.fresh("sc")
    body(f"{x_t} {xr}[{n}];")
    body(f"{s_t} {s}[{n}];")
    k.partition(xr)
    k.partition(s)
    body.loop("j", n)
    body(f"{xr}[j] = {fl.stored_integer(X + '[' + at('j') + ']', xf)};")
    body.close()
    body(f"{x_t} m = {xr}[0];")
    body.loop("j", n)
    body(f"if ({xr}[j] > m) m = {xr}[j];")
    body.close()
    body(f"{s_t} t = 0;")
    body.loop("j", n)
    body(f"{d_t} d = m - {xr}[j];")
    body(f"{fl.int_type(dm_bits, False)} dc = d > {D} ? {fl.int_type(dm_bits, False)}({D}) : {fl.int_type(dm_bits, False)}(d);")
    body(f"{s}[j] = {B} - {S} * dc;")
    body(f"t += {s}[j];")
    body.close()
    if spec.reciprocal == "div":
        body(f"{s_t} r = {1 << DIV_SHIFT}LL / t;")
        body(f"const int sh = {DIV_SHIFT - f};")
    else:
        body("int p = 0;")
        body.loop("b", SUM_BITS)
        body("if (t[b]) p = b + 1;")
        body.close()
        body(f"{s_t} tn = t << ({SUM_BITS} - p);")
        body(f"{s_t} r = {(1 << CLB_SHIFT) - 1}LL / tn;")
        body(f"const int sh = {14 - f} + p;")
    body.loop("j", n)
    body(f"{p_t} q = ({p_t}({s}[j]) * r) >> sh;")
    body(f"if (q > {yf.max_int}) q = {yf.max_int};")
    body(fl.set_stored_bits(f"{Y}[{at('j')}]", yf, "q"))
    body.close()
    body.close()
    body.close()
