"""C++ printers for the multiply-accumulate layers: dense, conv and pool.

Arrays are flat, row-major, channels first (the IR's layout, batch of 1 included).  Convolution and
pooling loop over output channel and position, then over the window in the op's documented order;
taps in the zero padding are skipped (adding an exact 0 never changes an accumulator), which the
`if` on the input coordinates expresses.  In a `latency` kernel the function-level PIPELINE unrolls
every loop; the numbers never depend on pragmas.
"""

from __future__ import annotations

import math

from fxflow.dialects.df import UNROLLED
from fxflow.dialects.fxp import ConvOp, DenseOp, PoolOp, i64_array
from fxflow.ir import ir

from fxflow.lowering.hls.cwriter import index_expr
from fxflow.lowering.hls.design import fixed_format
from fxflow.lowering.hls.kernels import KernelEmitter, printer, product_cast, register_roles

register_roles({(DenseOp, 1): ("w", "weight"), (DenseOp, 2): ("b", "bias"),
                (ConvOp, 1): ("w", "weight"), (ConvOp, 2): ("b", "bias")})

SPATIAL_SUFFIXES = ("h", "w")  # names of the spatial loop variables' suffixes (1-D uses the last)


def strides_of(shape) -> list[int]:
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
    if k.is_const(w) and k.strategy in UNROLLED and k.rf == 1:
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
    product = product_cast(k, op)
    body = k.body
    body(f"{acc_t} acc = {B}[f];")
    body.loop("c", cg)
    ins, cond = _window_loops(k, in_spatial, ws[2:], strides, dilations, padding)
    chan = "c" if groups == 1 else f"(f / {f_out // groups}) * {cg} + c"
    wst = strides_of(ws)
    ks = [f"k{SPATIAL_SUFFIXES[d + 2 - len(ins)]}" for d in range(len(ins))]
    wi = index_expr(("f", wst[0]), ("c", wst[1]), *[(v, wst[2 + d]) for d, v in enumerate(ks)])
    from fxflow.lowering.hls.approx import multiply  # x * w, or the layer's approximate multiplier

    term = product(multiply(k, op, tap(ins, chan), f"{W}[{wi}]"))
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
    if k.strategy == "distributed_arithmetic":
        from fxflow.lowering.hls.kernels.distributed import print_conv

        if print_conv(k, op, strides_of(xs[1:]), strides_of(ys[1:])):  # one adder graph per group and position
            return
    acc_t = conv_prologue(k, op, xs, ys)
    Y = k.dest(y, op, "conv")
    X = k.ref(x)
    xst, yst = strides_of(xs[1:]), strides_of(ys[1:])
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
    xst, yst = strides_of(xs[1:]), strides_of(ys[1:])
    k.body.loop("c", xs[1])
    outs = _output_loops(k, ys[2:])
    value = pool_output(k, op, xs[2:], k.ctypes[x], lambda ins, chan: f"{X}[" + index_expr(
        (chan, xst[0]), *[(v, xst[1 + d]) for d, v in enumerate(ins)]) + "]")
    k.body(f"{Y}[{index_expr(('c', yst[0]), *[(v, yst[1 + d]) for d, v in enumerate(outs)])}] = {value};")
    for _ in range(len(outs) + 1):
        k.body.close()


@printer(DenseOp)
def _dense(k: KernelEmitter, op) -> None:
    """acc[n] = accum(bias[n]); acc[n] += x[k] * w[k][n] for k = 0..K-1 in order; y[n] = acc[n].

    latency: every loop unrolled inside the function pipeline (II = reuse factor); with RF > 1 the
    weights are partitioned cyclically and the multipliers limited to ceil(K*N/RF).
    resource: the K*N products are folded into ceil(K*N/P) pipelined steps of P = ceil(K*N/RF)
    consecutive (k, n) pairs (k-major), the weights reshaped so one ROM word feeds one step.  Both
    keep, for every n, the order k = 0..K-1 of the accumulation, so the C semantics are unchanged."""
    x, w, b = op.operands[0], op.operands[1], op.operands[2]
    y = op.results[0]
    for v, what in ((x, "input"), (w, "weight"), (b, "bias")):
        k.fmt(v, op, what)
    if k.strategy == "distributed_arithmetic":
        from fxflow.lowering.hls.kernels.distributed import print_dense

        if print_dense(k, op):  # the weight matrix as one shared adder graph
            return
    acc_fmt = fixed_format(ir.TypeAttr(op.attributes["accum"]).value, f"accumulator of {k.where(op)}")
    *lead, kk = k.shape(x, op, "input")
    bsz = math.prod(lead)  # rows: the sample, or the tokens of a Linear applied per token
    nn = k.shape(w, op, "weight")[1]
    X, W, Bi = k.ref(x), k.ref(w), k.ref(b)
    body = k.body
    body(f"// fxp.dense [{bsz}x{kk}] x [{kk}x{nn}] -> [{bsz}x{nn}], accumulator {acc_fmt}")
    Y = k.dest(y, op, "dense")
    acc_t = k.design.typedef(f"{k.name}_accum", acc_fmt, f"kernel {k.name}")
    acc = k.fresh("acc")
    total = kk * nn
    per_step = -(-total // k.rf)  # multiplications per cycle, P = ceil(K*N/RF)
    body(f"{acc_t} {acc}[{nn}];")
    k.partition(acc)
    if k.is_const(b):
        k.partition(Bi)
    if k.strategy == "resource":
        if k.is_const(w):
            body.pragma(f"ARRAY_RESHAPE variable={W} cyclic factor={per_step} dim=1")
            body.pragma(f"BIND_STORAGE variable={W} type=rom_2p impl=bram")
            k.partitioned.add(W)
    elif k.rf == 1:
        if k.is_const(w):
            k.partition(W)
    else:
        if k.is_const(w):
            k.partition(W, f"cyclic factor={per_step} dim=1")
        k.mul_limit += per_step
    if bsz > 1:
        body.loop("b", bsz, unroll=k.strategy in UNROLLED)
    row = "b" if bsz > 1 else 0
    body.loop("n", nn)
    body(f"{acc}[n] = {Bi}[n];")
    body.close()
    product = product_cast(k, op)

    from fxflow.lowering.hls.approx import multiply  # x * w, or the layer's approximate multiplier

    if k.strategy == "resource":
        steps = -(-total // per_step)
        body.loop("r", steps, unroll=False)
        body.pragma("PIPELINE II=1")
        body.loop("j", per_step)
        body(f"const int t = r * {per_step} + j;")
        x_t = f"{X}[{index_expr((row, kk), (f't / {nn}', 1))}]"
        stmt = f"{acc}[t % {nn}] += {product(multiply(k, op, x_t, f'{W}[t]'))};"
        if steps * per_step != total:
            body(f"if (t < {total}) {stmt}")
        else:
            body(stmt)
        body.close()
        body.close()
    else:
        body.loop("k", kk)
        body.loop("n", nn)
        w_kn = f"{W}[{index_expr(('k', nn), ('n', 1))}]"
        x_k = f"{X}[{index_expr((row, kk), ('k', 1))}]"
        mac = f"{acc}[n] += {product(multiply(k, op, x_k, w_kn))};"
        # Pruned weights: acc += x*0 leaves acc (already of accum_t) unchanged under every mode, so the
        # guard keeps the C semantics; unrolled over a constant array it folds away the multiplier.
        w_const = next((c for c in k.consts if c.name == W), None)
        if w_const is not None and 0 in w_const.values:
            mac = f"if ({w_kn} != 0) {mac}"
        body(mac)
        body.close()
        body.close()
    body.loop("n", nn)
    body(f"{Y}[{index_expr((row, nn), ('n', 1))}] = {acc}[n];")
    body.close()
    if bsz > 1:
        body.close()
