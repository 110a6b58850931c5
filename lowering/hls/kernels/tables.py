"""C++ printers for `fxp.clamp`, `fxp.select`, `fxp.prelu`, `fxp.lut` and `fxp.softmax`.

Tables are `static const` arrays of exact stored values (weights/ headers), computed at compile time by
the precision pass, so the C++ only indexes them.  An index comes from the stored bits of a value (the
same integer arithmetic as `fxflow.fixed.table` / `fxflow.fixed.softmax`): the bits are read into an
integer of the value's width (`.range()` / `.slc<W>()`), then shifted arithmetically.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from fxflow.dialects.fxp import ClampOp, LutOp, PReluOp, SelectOp, SoftmaxOp, ThresholdOp
from fxflow.dialects.fxp.accessors import format_attr
from fxflow.fixed import FixedFormat
from fxflow.fixed.select import branch_value, fold_test, raw_test
from fxflow.ir import ir

from fxflow.lowering.hls.cwriter import hex_float, short_hex
from fxflow.lowering.hls.design import ConstArray
from fxflow.lowering.hls.kernels import KernelEmitter, print_elementwise, printer, register_roles
from fxflow.lowering.hls.kernels.hccs import print_hccs

register_roles({(PReluOp, 1): ("alpha", "alpha")})


def _table(k: KernelEmitter, op, hint: str, role: str, fmt: FixedFormat, values) -> str:
    """Register a table as a constant array (a weights header) and return its C name."""
    name = k.design.ident(f"{k.name}_{hint}")
    ctype = k.design.typedef(f"{k.name}_{hint}", fmt, f"kernel {k.name}")
    vals = [int(v) for v in np.asarray(values).reshape(-1)]
    k.consts.append(ConstArray(name, ctype, fmt, (len(vals),), vals, k.name, role,
                               f"weights/{k.design.stem(name)}.h"))
    return name


def _table_values(op, name: str) -> list[int]:
    attr = op.attributes[name]
    return [int(v) for v in np.asarray(ir.DenseIntElementsAttr(attr)).reshape(-1)]


@printer(ClampOp)
def _clamp(k: KernelEmitter, op) -> None:
    x = op.operands[0]
    xf = k.fmt(x, op, "input")
    lo, hi = (ir.FloatAttr(op.attributes[n]).value for n in ("min", "max"))
    xt = k.ctypes[x]
    scale = Fraction(2) ** xf.f
    lines = []
    if math.isfinite(lo):  # x < lo  <=>  raw < ceil(lo * 2^f)
        c = -((-Fraction(lo) * scale).__floor__())
        if c > xf.max_int:
            lines.append(("true", short_hex(lo)))
        elif c > xf.min_int:
            lines.append((f"{{x}} < {xt}({hex_float(c, xf.f)})", short_hex(lo)))
    if math.isfinite(hi):  # x > hi  <=>  raw > floor(hi * 2^f)
        c = (Fraction(hi) * scale).__floor__()
        if c < xf.min_int:
            lines.append(("true", short_hex(hi)))
        elif c < xf.max_int:
            lines.append((f"{{x}} > {xt}({hex_float(c, xf.f)})", short_hex(hi)))

    def stmt(d, s):
        out, kw = [], "if"
        for cond, value in lines:
            if cond == "true":
                return out + ([f"else {d}[i] = {value};"] if out else [f"{d}[i] = {value};"])
            out.append(f"{kw} ({cond.format(x=f'{s[0]}[i]')}) {d}[i] = {value};")
            kw = "else if"
        return out + ([f"else {d}[i] = {s[0]}[i];"] if out else [f"{d}[i] = {s[0]}[i];"])

    print_elementwise(k, op, "clamp", ("input",), f"fxp.clamp: min(max(x, {lo}), {hi})", stmt)


@printer(SelectOp)
def _select(k: KernelEmitter, op) -> None:
    x, y = op.operands[0], op.results[0]
    xf, yf = k.fmt(x, op, "input"), k.fmt(y, op, "result")
    pred = ir.StringAttr(op.attributes["predicate"]).value
    t, a, b = (ir.FloatAttr(op.attributes[n]).value for n in ("threshold", "on_true", "on_false"))
    kind, c = fold_test(raw_test(pred, t, xf.f), xf)  # x pred t  <=>  raw(x) kind c, c inside x's range
    xt = k.ctypes[x]

    def value(v, src):  # x itself, or the constant's exact value in the result type
        return src if math.isnan(v) else hex_float(branch_value(v, yf), yf.f)

    def stmt(d, s):
        if kind in ("true", "false"):
            return [f"{d}[i] = {value(a if kind == 'true' else b, f'{s[0]}[i]')};"]
        return [f"if ({s[0]}[i] {kind} {xt}({hex_float(c, xf.f)})) {d}[i] = {value(a, f'{s[0]}[i]')};",
                f"else {d}[i] = {value(b, f'{s[0]}[i]')};"]

    print_elementwise(k, op, "select", ("input",), f"fxp.select: x {pred} {t} ? {a} : {b} (NaN: x)", stmt)


@printer(PReluOp)
def _prelu(k: KernelEmitter, op) -> None:
    x, a = op.operands[0], op.operands[1]
    xs = k.shape(x, op, "input")
    channels = xs[1] if len(xs) > 1 else 1
    inner = math.prod(xs[2:])
    if list(k.shape(a, op, "alpha")) == [1]:
        ci = "0"
    else:
        ci = f"(i / {inner}) % {channels}" if inner > 1 else f"i % {channels}"
    print_elementwise(k, op, "prelu", ("input", "alpha"), "fxp.prelu: x > 0 ? x : x * alpha (exact)",
                 lambda d, s: [f"if ({s[0]}[i] > 0) {d}[i] = {s[0]}[i];", f"else {d}[i] = {s[0]}[i] * {s[1]}[{ci}];"])


@printer(LutOp)
def _lut(k: KernelEmitter, op) -> None:
    x, y = op.operands[0], op.results[0]
    xf, yf = k.fmt(x, op, "input"), k.fmt(y, op, "result")
    if "table" not in op.attributes:
        raise k.error(op, "fxp.lut has no table (run fxp-assign-precision)")
    table = _table_values(op, "table")
    shift = ir.IntegerAttr(op.attributes["index_shift"]).value
    offset = ir.IntegerAttr(op.attributes["index_offset"]).value
    identity = ir.IntegerAttr(op.attributes["identity_from"]).value if "identity_from" in op.attributes else None
    toward_zero = "index_toward_zero" in op.attributes and shift > 0
    n = len(table)
    tab = _table(k, op, "table", "table", yf, table)
    k.partition(tab)
    fl = k.design.flavour
    bits_t, init = fl.int_type(xf.width, xf.signed), fl.stored_bits("{x}", xf)
    idx_t = fl.int_type(xf.width + 2, True)
    # the index needs no clamping when every stored integer maps into [0, n)
    clamped = (xf.min_int >> shift) - offset < 0 or (xf.max_int >> shift) - offset > n - 1

    def stmt(d, s):
        out = [f"{bits_t} r = {init.format(x=f'{s[0]}[i]')};"]
        if toward_zero:  # hls4ml's int conversion: the shift truncates toward zero
            out += [f"{idx_t} t = r;", f"if (t < 0) t += {(1 << shift) - 1}LL;", f"t >>= {shift};"]
        else:
            out.append(f"{idx_t} t = r >> {shift};")
        if offset:
            out.append(f"t -= {offset}LL;" if offset > 0 else f"t += {-offset}LL;")
        if clamped:
            out += ["if (t < 0) t = 0;", f"else if (t > {n - 1}) t = {n - 1};"]
        if identity is None:
            out.append(f"{d}[i] = {tab}[t.to_int()];")
        else:  # the inputs from identity_from on bypass the table: y = x assigned to the result type
            out += [f"if (r >= {bits_t}({identity}LL)) {d}[i] = {s[0]}[i];", f"else {d}[i] = {tab}[t.to_int()];"]
        return out

    bypass = "" if identity is None else f", x when raw(x) >= {identity}"
    rounding = " (toward zero)" if toward_zero else ""
    print_elementwise(k, op, "lut", ("input",),
                 f"fxp.lut: table[clamp((raw(x) >> {shift}){rounding} - ({offset}), 0, {n - 1})]{bypass}", stmt)


@printer(ThresholdOp)
def _threshold(k: KernelEmitter, op) -> None:
    """y = levels[#thresholds x passes].  Thresholds that every value of x's type passes (a base count) or
    none does are dropped (`fixed.threshold.grid_thresholds` decides on x's grid); the others are stored as
    their exact reals in a type holding them all, with a flag each for `>=` (inclusive) or `>`, and compared
    with x exactly (ap_fixed comparisons across formats are exact).  The count is a binary search over the
    ascending thresholds (ceil(log2(N + 1)) compares per element)."""
    from fxflow.dialects.fxp.accessors import threshold_bounds, threshold_params
    from fxflow.fixed.threshold import levels_format, stored_levels

    x, y = op.operands[0], op.results[0]
    xf, yf = k.fmt(x, op, "input"), k.fmt(y, op, "result")
    t, inc, levels = threshold_params(op)
    bounds = threshold_bounds(op, xf.f)
    base = sum(1 for c in bounds if c <= xf.min_int)
    inner = [j for j, c in enumerate(bounds) if xf.min_int < c <= xf.max_int]
    table = stored_levels(levels, yf)[base:base + len(inner) + 1]
    lv = _table(k, op, "levels", "table", yf, table)
    k.partition(lv)
    if not inner:
        print_elementwise(k, op, "threshold", ("input",), "fxp.threshold: a constant over the input's range",
                          lambda d, s: [f"{d}[i] = {lv}[0];"])
        return
    reals = t[inner]
    tf = levels_format(reals)
    thr = _table(k, op, "thresholds", "table", tf, stored_levels(reals, tf))
    flags = _table(k, op, "inclusive", "table", FixedFormat(0, 1, 0, "TRN", "WRAP"), [int(inc[j]) for j in inner])
    k.partition(thr)
    k.partition(flags)
    m = len(inner)
    top = 1 << (m.bit_length() - 1)

    def stmt(d, s):
        return ["int c = 0;",
                f"for (int step = {top}; step > 0; step >>= 1) {{",
                f"    if (c + step <= {m}) {{",
                "        int j = c + step - 1;",
                f"        if ({flags}[j] != 0 ? {s[0]}[i] >= {thr}[j] : {s[0]}[i] > {thr}[j]) c += step;",
                "    }",
                "}",
                f"{d}[i] = {lv}[c];"]

    print_elementwise(k, op, "threshold", ("input",),
                      f"fxp.threshold: levels[#{{k : x passes thresholds[k]}}], {m} thresholds", stmt)


def _tree_sum(k: KernelEmitter, terms: list[str], acc_t: str) -> str:
    """hls4ml's balanced reduce: every partial sum assigned to acc_t; returns the name of the total."""
    if len(terms) == 1:
        return terms[0]
    left = 1 << ((len(terms) - 1).bit_length() - 1)
    a, b = _tree_sum(k, terms[:left], acc_t), _tree_sum(k, terms[left:], acc_t)
    s = k.fresh("s")
    k.body(f"{acc_t} {s} = {a} + {b};")
    return s


@printer(SoftmaxOp)
def _softmax(k: KernelEmitter, op) -> None:
    x, y = op.operands[0], op.results[0]
    xf, yf = k.fmt(x, op, "input"), k.fmt(y, op, "result")
    shape = k.shape(x, op, "input")
    axis = ir.IntegerAttr(op.attributes["axis"]).value
    impl = ir.StringAttr(op.attributes["implementation"]).value
    if impl == "hccs":
        print_hccs(k, op)
        return
    outer, n, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    X = k.ref(x)
    body = k.body
    body(f"// fxp.softmax ({impl}) along axis {axis}: {outer} x {n} x {inner} -> {yf}")
    Y = k.dest(y, op, "softmax")
    body.loop("o", outer)
    body.loop("c", inner)

    def at(j) -> str:
        return f"(o * {n} + {j}) * {inner} + c" if inner > 1 or outer > 1 else f"{j}"

    if impl == "argmax":
        body("int best = 0;")
        body.loop("j", n)
        body(f"if ({X}[{at('j')}] > {X}[{at('best')}]) best = j;")
        body.close()
        body.loop("j", n)
        body(f"if (j == best) {Y}[{at('j')}] = 1;")
        body(f"else {Y}[{at('j')}] = 0;")
        body.close()
        body.close()
        body.close()
        return
    if "exp_table" not in op.attributes:
        raise k.error(op, "fxp.softmax has no tables (run fxp-assign-precision)")
    exp_f, inv_f = format_attr(op, "exp_format"), format_attr(op, "inv_format")
    inv_in_f, acc_f = format_attr(op, "inv_input_format"), format_attr(op, "accum")
    exp_vals, inv_vals = _table_values(op, "exp_table"), _table_values(op, "inv_table")
    exp_tab = _table(k, op, "exp_table", "exp_table", exp_f, exp_vals)
    inv_tab = _table(k, op, "inv_table", "inv_table", inv_f, inv_vals)
    k.partition(exp_tab)
    k.partition(inv_tab)
    acc_t = k.design.typedef(f"{k.name}_accum", acc_f, f"kernel {k.name}")
    inv_in_t = k.design.typedef(f"{k.name}_inv_input", inv_in_f, f"kernel {k.name}")
    ne, ni = len(exp_vals).bit_length() - 1, len(inv_vals).bit_length() - 1
    e = k.fresh("e")
    body(f"{acc_t} {e}[{n}];")
    k.partition(e)
    if impl == "stable":
        norm_f = format_attr(op, "norm_format")
        norm_t = k.design.typedef(f"{k.name}_norm", norm_f, f"kernel {k.name}")
        xt = k.ctypes[x]
        body(f"{xt} m = {X}[{at(0)}];")
        body.loop("j", n)
        body(f"if ({X}[{at('j')}] > m) m = {X}[{at('j')}];")
        body.close()
        idx_fmt, src = norm_f, "d"
    else:
        idx_fmt, src = xf, f"{X}[{at('j')}]"
    fl = k.design.flavour
    bits_t, init = fl.int_type(idx_fmt.width, False), fl.stored_bits(src, idx_fmt)
    body.loop("j", n)
    if impl == "stable":
        body(f"{norm_t} d = m - {X}[{at('j')}];")
    body(f"{bits_t} u = {init};")
    body(f"{e}[j] = {exp_tab}[(u >> {idx_fmt.width - ne}).to_int()];")
    body.close()
    total = _tree_sum(k, [f"{e}[{j}]" for j in range(n)], acc_t)
    body(f"{inv_in_t} si = {total};")
    bits_t, init = fl.int_type(inv_in_f.width, False), fl.stored_bits("si", inv_in_f)
    body(f"{bits_t} ui = {init};")
    inv_t = k.consts[-1].ctype
    body(f"{inv_t} r = {inv_tab}[(ui >> {inv_in_f.width - ni}).to_int()];")
    body.loop("j", n)
    body(f"{Y}[{at('j')}] = {e}[j] * r;")
    body.close()
    body.close()
    body.close()


# Public names for the other families' printers (recurrent cells index the same kind of tables).
table_array = _table
