"""Approximate multipliers in the HLS C++: `firmware/approx_mul.h` and the product expression of a term.

A dense/conv/matmul op with `approx_mul` computes each term as `fxam_product<P>(f(fxam_bits(x), fxam_bits(w)))`:
the operands' stored integers go into the multiplier's C++ function (printed from its one definition,
`fxflow.approx`), and its integer result is read back as the product type P (the integer at the grid
2^-(f_x + f_w), wide enough for every product the multiplier returns).  Only the stored-integer access
differs between the flavours (ap_fixed `.V` / ac_fixed `slc`/`set_slc`); it lives here.
"""

from __future__ import annotations

from fxflow.approx.expr import C_HELPERS
from fxflow.errors import ConfigError, UnsupportedOpError
from fxflow.ir import ir

_BITS = {
    "vitis": """// Stored integer of a fixed-point value, and a value from its stored integer (two's complement, W bits).
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
inline long long fxam_bits(const ap_fixed_base<W, I, S, Q, O, N> &v) {
    ap_int_base<W, S> n;
    n.V = v.V;
    return n.to_int64();
}
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
inline void fxam_set(ap_fixed_base<W, I, S, Q, O, N> &v, long long bits) {
    ap_int_base<W, S> n = bits;
    v.V = n.V;
}
""",
    "catapult": """// Stored integer of a fixed-point value, and a value from its stored integer (two's complement, W bits).
template <int W, int I, bool S, ac_q_mode Q, ac_o_mode O>
inline long long fxam_bits(const ac_fixed<W, I, S, Q, O> &v) {
    return v.template slc<W>(0).to_int64();
}
template <int W, int I, bool S, ac_q_mode Q, ac_o_mode O>
inline void fxam_set(ac_fixed<W, I, S, Q, O> &v, long long bits) {
    v.set_slc(0, ac_int<W, S>(bits));
}
""",
}

_PRODUCT = """template <class T>
inline T fxam_product(long long bits) {
    T v;
    fxam_set(v, bits);
    return v;
}
"""

HEADER = "approx_mul.h"


def multiply(k, op, x_expr: str, w_expr: str) -> str:
    """The C++ of one product term of dense/conv `op` in kernel `k`: `x * w`, or the approximate multiplier's
    call (skipped for a zero weight, as every loop form of fxp.dense/conv skips pruned weights)."""
    if "approx_mul" not in op.attributes:
        return f"{x_expr} * {w_expr}"
    call, p_t = approx_call(k, op, x_expr, w_expr, ("input", "weight"))
    return f"({w_expr} != 0 ? {call} : {p_t}(0))"


def approx_call(k, op, a_expr: str, b_expr: str, roles: tuple[str, str]) -> tuple[str, str]:
    """(`fxam_product<P>(f(fxam_bits(a), fxam_bits(b)))`, P) for the `approx_mul` of `op`, whose operands 0 and
    1 (named by `roles`) are the multiplier's; the function and P are registered with the design once."""
    from fxflow.approx.select import resolve

    a_fmt = k.fmt(op.operands[0], op, roles[0])
    b_fmt = k.fmt(op.operands[1], op, roles[1])
    spec = ir.StringAttr(op.attributes["approx_mul"]).value
    try:
        mult = resolve(spec, a_fmt, b_fmt, k.layer or k.name, roles)
    except ConfigError as e:
        raise UnsupportedOpError(f"HLS emitter: {e}: {k.where(op)}") from None
    design = k.design
    if mult.c_name not in design.multipliers:  # a project-unique identifier (a layer may have any name)
        fn = design.ident(mult.c_name, prefix="fxam")
        design.multipliers[mult.c_name] = (fn, mult.c_source(fn))
    fn = design.multipliers[mult.c_name][0]
    key = (k.name, mult.c_name)
    if key not in design.product_types:
        design.product_types[key] = design.typedef(f"{k.name}_approx_product",
                                                   mult.product_format(a_fmt.f, b_fmt.f), f"kernel {k.name}")
    p_t = design.product_types[key]
    return f"fxam_product<{p_t}>({fn}(fxam_bits({a_expr}), fxam_bits({b_expr})))", p_t


def header(design, guard: str, banner: list[str]) -> str:
    """`firmware/approx_mul.h`: the stored-integer helpers of the flavour and every multiplier used."""
    out = banner + [f"#ifndef {guard}", f"#define {guard}", "", '#include "defines.h"', "",
                    _BITS[design.flavour.name], _PRODUCT, C_HELPERS]
    out += [source for _, source in design.multipliers.values()]
    out += [f"#endif  // {guard}", ""]
    return "\n".join(out)
