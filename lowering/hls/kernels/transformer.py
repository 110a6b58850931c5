"""C++ printers for `fxp.matmul` and `fxp.layernorm` (semantics: dialects/fxp/transformer.py,
`fxflow.fixed.matmul`, `fxflow.fixed.layernorm`).

Both are plain ap_fixed/ac_fixed assignments in the documented order, so the numbers do not depend on the
pragmas.  The layernorm's 1/sqrt is a bisection written out bit by bit: `t = r + 2^-b; if (t * t * (v + eps')
<= 1) r = t;` from the highest bit of inv_std_t down — every expression exact, so it finds the same stored
integer as `fxflow.fixed.layernorm.inv_sqrt`.  An hls4ml-style layernorm is hls4ml 1.3's nnet_layernorm.h
(`fxflow.fixed.layernorm.Hls4mlNorm`): accum_t assignments, its 1/sqrt table as constants, the index as the
exact product's integer part (toward zero, low 32 bits, as ap_fixed's int conversion).
"""

from __future__ import annotations

import math

from fxflow.dialects.fxp import AddConstantOp, LayerNormOp, MatmulOp, format_of
from fxflow.dialects.fxp.accessors import format_attr, hls4ml_norm
from fxflow.fixed.interval import smallest_format
from fxflow.fixed.layernorm import (NormFormats, derived_formats, epsilon_units, hls4ml_epsilon_power,
                                    hls4ml_inv_sqrt_table, hls4ml_k_inv)
from fxflow.ir import ir

from fxflow.lowering.hls.cwriter import hex_float
from fxflow.lowering.hls.kernels import KernelEmitter, print_elementwise, printer, register_roles

register_roles({(LayerNormOp, 1): ("gamma", "weight"), (LayerNormOp, 2): ("beta", "bias"),
               (AddConstantOp, 1): ("mask", "bias")})


def _type_attr(k: KernelEmitter, op, name: str):
    if name not in op.attributes:
        raise k.error(op, f"fxp.layernorm lacks {name} (run fxp-assign-precision)")
    return format_attr(op, name)


def _typedef(k: KernelEmitter, hint: str, fmt) -> str:
    return k.design.typedef(f"{k.name}_{hint}", fmt, f"kernel {k.name}")


@printer(MatmulOp)
def _matmul(k: KernelEmitter, op) -> None:
    """y[t, m, n] = acc with acc = accum(0); acc += a[t, m, j] * b[t, j, n] for j = 0..K-1 in order (the product:
    the `approx_mul` multiplier's call when set)."""
    a, b, y = op.operands[0], op.operands[1], op.results[0]
    k.fmt(a, op, "lhs")
    k.fmt(b, op, "rhs")
    sa, sb = k.shape(a, op, "lhs"), k.shape(b, op, "rhs")
    batch, mm, kk, nn = math.prod(sa[:-2]), sa[-2], sa[-1], sb[-1]
    acc_fmt = format_of(ir.TypeAttr(op.attributes["accum"]).value)
    A, B = k.ref(a), k.ref(b)
    body = k.body
    body(f"// fxp.matmul {batch} x [{mm}x{kk}] @ [{kk}x{nn}], accumulator {acc_fmt}, in order j")
    Y = k.dest(y, op, "matmul")
    acc_t = _typedef(k, "accum", acc_fmt)
    body.loop("t", batch)
    body.loop("m", mm)
    body.loop("n", nn)
    body(f"{acc_t} acc = 0;")
    body.loop("j", kk)
    a_j, b_j = f"{A}[(t * {mm} + m) * {kk} + j]", f"{B}[(t * {kk} + j) * {nn} + n]"
    if "approx_mul" in op.attributes:  # every term through the approximate multiplier (fxflow.approx)
        from fxflow.lowering.hls.approx import approx_call

        body(f"acc += {approx_call(k, op, a_j, b_j, ('lhs', 'rhs'))[0]};")
    else:
        body(f"acc += {a_j} * {b_j};")
    body.close()
    body(f"{Y}[(t * {mm} + m) * {nn} + n] = acc;")
    for _ in range(3):
        body.close()


@printer(LayerNormOp)
def _layernorm(k: KernelEmitter, op) -> None:
    x, g, bt, y = op.operands[0], op.operands[1], op.operands[2], op.results[0]
    xf = k.fmt(x, op, "input")
    k.fmt(g, op, "gamma")
    k.fmt(bt, op, "beta")
    shape = k.shape(x, op, "input")
    dims = ir.IntegerAttr(op.attributes["dims"]).value
    rms = bool(ir.IntegerAttr(op.attributes["rms"]).value)
    eps = ir.FloatAttr(op.attributes["epsilon"]).value
    n = math.prod(shape[-dims:])
    rows = math.prod(shape) // n
    if hls4ml_norm(op) is not None:
        return _hls4ml_layernorm(k, op, n, rows, eps)
    fm = NormFormats(*(_type_attr(k, op, a) for a in ("accum", "mean_format", "var_format", "inv_std_format",
                                                        "norm_format")))
    diff_f, sq_f = derived_formats(xf, fm, n, rms)
    e = epsilon_units(eps, fm.var)
    ve_f = smallest_format(0, fm.var.max_int + e, fm.var.f)
    X, G, Be = k.ref(x), k.ref(g), k.ref(bt)
    body = k.body
    body(f"// fxp.layernorm ({'RMSNorm' if rms else 'LayerNorm'}) over {n} elements x {rows} rows, "
         f"epsilon {eps!r} -> {e} LSB of var")
    Y = k.dest(y, op, "layernorm")
    types = {h: _typedef(k, h, f) for h, f in (("accum", fm.accum), ("mean", fm.mean), ("diff", diff_f),
                                               ("sq", sq_f), ("var", fm.var), ("var_eps", ve_f),
                                               ("inv_std", fm.inv_std), ("norm", fm.norm))}
    d = k.fresh("d")
    body.loop("r", rows)
    body(f"{types['diff']} {d}[{n}];")
    k.partition(d)
    if rms:
        body.loop("j", n)
        body(f"{d}[j] = {X}[r * {n} + j];")
        body.close()
    else:
        body(f"{types['accum']} s = 0;")
        body.loop("j", n)
        body(f"s += {X}[r * {n} + j];")
        body.close()
        body(f"{types['mean']} m = s;")
        body(f"m /= (unsigned) {n};  // ap_fixed division by an integer truncates toward zero")
        body.loop("j", n)
        body(f"{d}[j] = {X}[r * {n} + j] - m;")
        body.close()
    body(f"{types['sq']} q = 0;")
    body.loop("j", n)
    body(f"q += {d}[j] * {d}[j];")
    body.close()
    body(f"{types['var']} v = q;")
    body(f"v /= (unsigned) {n};")
    body(f"{types['var_eps']} ve = v;")
    if e:
        body(f"ve += {types['var_eps']}({hex_float(e, fm.var.f)});")
    body(f"// inv_std = largest r with r * r * (v + eps') <= 1, bit by bit")
    body(f"{types['inv_std']} rs = 0;")
    for bit in reversed(range(fm.inv_std.width)):
        body(f"{{ {types['inv_std']} t = rs + {types['inv_std']}({hex_float(1 << bit, fm.inv_std.f)}); "
             f"if (t * t * ve <= 1) rs = t; }}")
    body.loop("j", n)
    body(f"{types['norm']} tn = {d}[j] * rs;")
    body(f"{Y}[r * {n} + j] = tn * {G}[j] + {Be}[j];")
    body.close()
    body.close()


def _hls4ml_layernorm(k: KernelEmitter, op, n: int, rows: int, eps: float) -> None:
    """hls4ml 1.3's LayerNorm (`fxflow.fixed.layernorm.Hls4mlNorm`), its table a constant array."""
    from fxflow.lowering.hls.kernels.tables import table_array

    hm = hls4ml_norm(op)
    x, g, bt, y = op.operands[0], op.operands[1], op.operands[2], op.results[0]
    acc, fl = hm.accum, k.design.flavour
    X, G, Be = k.ref(x), k.ref(g), k.ref(bt)
    body = k.body
    body(f"// fxp.layernorm (hls4ml 1.3) over {n} elements x {rows} rows, 1/sqrt table of {hm.table_size} "
         f"entries over [1e-{hls4ml_epsilon_power(eps)}, +2^-{hm.range_power2})")
    Y = k.dest(y, op, "layernorm")
    acc_t = _typedef(k, "accum", acc)
    tab = table_array(k, op, "inv_sqrt", "table", hm.table, hls4ml_inv_sqrt_table(hm, eps))
    s = hm.accum.f - hm.range_power2  # index = (V * N) >> s toward zero (V: var's stored integer)
    wide = acc.width + hm.table_size.bit_length() + max(-s, 0) + 2
    int_t = fl.int_type(wide, True)
    d = k.fresh("d")
    body(f"const {acc_t} kinv = {hex_float(hls4ml_k_inv(hm, n), acc.f)};")
    body.loop("r", rows)
    body(f"{acc_t} {d}[{n}];")
    k.partition(d)
    body(f"{acc_t} s = 0;")
    body.loop("j", n)
    body(f"s += {acc_t}({X}[r * {n} + j]);")
    body.close()
    body(f"{acc_t} m = s * kinv;")
    body(f"{acc_t} q = 0;")
    body.loop("j", n)
    body(f"{d}[j] = {acc_t}({X}[r * {n} + j]) - m;")
    body(f"{acc_t} sq = {d}[j] * {d}[j];")
    body("q += sq;")
    body.close()
    body(f"{acc_t} v = q * kinv;")
    body(f"{int_t} t = {fl.int_type(acc.width, acc.signed)}({fl.stored_bits('v', acc)});")
    body(f"t *= {hm.table_size};")
    if s > 0:
        body(f"if (t < 0) t += {(1 << s) - 1}LL;")
        body(f"t >>= {s};")
    elif s < 0:
        body(f"t <<= {-s};")
    body("int idx = t.to_int();  // the low 32 bits, as hls4ml's int conversion")
    body(f"if (idx < 0) idx = 0; else if (idx > {hm.table_size - 1}) idx = {hm.table_size - 1};")
    body.loop("j", n)
    body(f"{Y}[r * {n} + j] = {d}[j] * {tab}[idx] * {G}[j] + {Be}[j];")
    body.close()
    body.close()


@printer(AddConstantOp)
def _add_constant(k: KernelEmitter, op) -> None:
    """y[i] = masked[i] ? the result format's minimum : result_t(x[i] + mask[i]) (exact sum)."""
    masked = list(ir.DenseI64ArrayAttr(op.attributes["masked"]))
    out = k.fmt(op.results[0], op, "result")
    table = k.fresh(f"{k.name}_masked")
    k.body(f"static const bool {table}[{len(masked)}] = {{{', '.join(map(str, masked))}}};")
    low = hex_float(out.min_int, out.f)
    print_elementwise(k, op, "add_constant", ("input", "mask"), "fxp.add_constant: x + mask, masked -> minimum",
                 lambda d, s: [f"if ({table}[i]) {d}[i] = {low};", f"else {d}[i] = {s[0]}[i] + {s[1]}[i];"])
