"""C++ printer for `fxp.rnn`, LSTM, GRU and Elman (semantics: dialects/fxp/recurrent.py, `fxflow.fixed.recurrent`).

One cell body inside a loop over the time steps; the state (h, and c for an LSTM) lives in partitioned
local registers, zero at the start.  The products are written exactly like `fxp.dense`'s (`acc =
bias; acc += x * w` in order k), every gate expression is exact ap_fixed/ac_fixed arithmetic assigned
to its format, and the tables are the ones `fxflow.fixed.recurrent.rnn_tables` builds for the emulator.
io_parallel unrolls the time loop; io_stream runs it rolled, one pipelined cell reused per step, in the
gather kernel (the [1, T, F] sequence arrives as F tokens of T values, so every step needs the whole
input first).
"""

from __future__ import annotations

from fxflow.dialects.df import UNROLLED
from fxflow.dialects.fxp import RnnOp
from fxflow.fixed.recurrent import ELMAN_CELLS, Hls4mlIndex, Table, rnn_tables
from fxflow.ir import ir

from fxflow.lowering.hls.kernels import KernelEmitter, printer, product_cast, register_roles
from fxflow.lowering.hls.kernels.tables import table_array

register_roles({(RnnOp, 1): ("w_ih", "weight"), (RnnOp, 2): ("w_hh", "recurrent_weight"),
               (RnnOp, 3): ("b_ih", "bias"), (RnnOp, 4): ("b_hh", "recurrent_bias")})


def _lookup(k: KernelEmitter, name: str, table: Table, expr: str) -> str:
    """Emit the index of `expr` into `table` (`fxflow.fixed.table`'s shift/offset, or hls4ml's own int
    arithmetic, `Hls4mlIndex`), clamped where it can leave the table; return `name[index]`."""
    idx, fmt = table.index, table.in_fmt
    v = k.fresh("ix")
    if isinstance(idx, Hls4mlIndex):  # nnet_activation.h: int data_round = x * N / span; + N / 2
        k.body(f"int {v} = {expr} * {idx.size}U / {idx.span};")
        k.body(f"{v} += {idx.size // 2};")
        clamped = True
    else:
        fl = k.design.flavour
        bits_t, init = fl.int_type(fmt.width, fmt.signed), fl.stored_bits("{x}", fmt)
        k.body(f"long long {v} = ({bits_t}({init.format(x=expr)}) >> {idx.shift}).to_int64() - ({idx.offset}LL);")
        clamped = (fmt.min_int >> idx.shift) - idx.offset < 0 or (fmt.max_int >> idx.shift) - idx.offset > idx.size - 1
    if clamped:
        k.body(f"if ({v} < 0) {v} = 0; else if ({v} > {idx.size - 1}) {v} = {idx.size - 1};")
    return f"{name}[{v}]"


@printer(RnnOp)
def _rnn(k: KernelEmitter, op) -> None:
    from fxflow.dialects.fxp.accessors import rnn_formats

    x, wi, wh, bi, bh = op.operands[:5]
    y = op.results[0]
    k.fmt(x, op, "input")
    for v, what in ((wi, "w_ih"), (wh, "w_hh"), (bi, "b_ih"), (bh, "b_hh")):
        k.fmt(v, op, what)
    cell = ir.StringAttr(op.attributes["cell"]).value
    seq = bool(ir.IntegerAttr(op.attributes["sequences"]).value)
    _, steps, feats = k.shape(x, op, "input")
    gh, hidden = k.shape(wh, op, "w_hh")
    fm = rnn_formats(op)
    if fm.style == "hls4ml" and k.design.flavour.name == "catapult":
        raise k.error(op, "hls4ml's recurrent arithmetic (ap_fixed's int conversion of x * N / span) is only "
                          "emitted for the Vitis backend; use arithmetic 'fxflow' with Catapult")
    tables = rnn_tables(fm, k.layer or k.name)
    X, WI, WH, BI, BH = (k.ref(v) for v in (x, wi, wh, bi, bh))
    body = k.body
    body(f"// fxp.rnn {cell}: {steps} steps, {feats} features, {hidden} hidden, "
         f"{'sequence' if seq else 'last state'}; accumulator {fm.accum}, gate {fm.gate}")
    Y = k.dest(y, op, "rnn")
    types = {h: k.design.typedef(f"{k.name}_{h}", f, f"kernel {k.name}")
             for h, f in (("accum", fm.accum), ("gate", fm.gate), ("sigmoid", fm.sigmoid), ("tanh", fm.tanh),
                          ("state", fm.state), ("h", fm.result)) if f is not None}
    prod = product_cast(k, op)
    tabs = {}
    if cell in ELMAN_CELLS:  # only tanh (rnn_tanh) or no table at all (rnn_relu)
        tables = {n: t for n, t in tables.items() if n == "tanh" and cell == "rnn_tanh"}
    for name, tab in tables.items():
        tabs[name] = table_array(k, op, f"{name}_table", "table", tab.out_fmt, tab.values)
        k.partition(tabs[name])
    acc, gate = types["accum"], types["gate"]

    def sig(e):
        return _lookup(k, tabs["sigmoid"], tables["sigmoid"], e)

    def tnh(e):
        return _lookup(k, tabs["tanh"], tables["tanh"], e)

    h = k.fresh("h")
    body(f"{types['h']} {h}[{hidden}];")
    k.partition(h)
    if cell == "lstm":
        c = k.fresh("c")
        body(f"{types['state']} {c}[{hidden}];")
        k.partition(c)
    states = [k.ref(v) for v in op.operands[5:]]  # initial states given as inputs, else zero
    body.loop("j", hidden)
    body(f"{h}[j] = {f'{states[0]}[j]' if states else '0'};" +
         (f" {c}[j] = {f'{states[1]}[j]' if len(states) > 1 else '0'};" if cell == "lstm" else ""))
    body.close()
    body.open(f"for (int t = 0; t < {steps}; t++)")
    if k.is_stream:  # io_stream: one cell, reused per step (no function-level pipeline)
        k.function_pipeline = False
        body.pragma(f"PIPELINE II={k.rf}")
    elif k.strategy in UNROLLED:
        body.pragma("UNROLL")
    ax, ah = k.fresh("ax"), k.fresh("ah")
    body(f"{acc} {ax}[{gh}];")
    body(f"{acc} {ah}[{gh}];")
    k.partition(ax)
    k.partition(ah)
    body.loop("j", gh)
    body(f"{acc} a = {BI}[j];")
    body.loop("q", feats)
    body(f"a += {prod(f'{X}[t * {feats} + q] * {WI}[j * {feats} + q]')};")
    body.close()
    body(f"{acc} b = {BH}[j];")
    body.loop("q", hidden)
    body(f"b += {prod(f'{h}[q] * {WH}[j * {hidden} + q]')};")
    body.close()
    body(f"{ax}[j] = a;")
    body(f"{ah}[j] = b;")
    body.close()
    body("// the gates of every unit, then the state update (h is read above, written below)")
    body.loop("j", hidden)
    H = hidden
    if cell == "lstm":
        for g, off in (("i", 0), ("f", H), ("g", 2 * H), ("o", 3 * H)):
            body(f"{gate} p{g} = {ax}[{off} + j] + {ah}[{off} + j];")
        body(f"{types['sigmoid']} gi = {sig('pi')};")
        body(f"{types['sigmoid']} gf = {sig('pf')};")
        body(f"{types['tanh']} gg = {tnh('pg')};")
        body(f"{types['sigmoid']} go = {sig('po')};")
        body(f"{c}[j] = gf * {c}[j] + gi * gg;")
        body(f"{types['tanh']} tc = {_lookup(k, tabs['state_tanh'], tables['state_tanh'], f'{c}[j]')};")
        body(f"{h}[j] = go * tc;")
    elif cell in ELMAN_CELLS:
        body(f"{gate} p = {ax}[j] + {ah}[j];")
        if cell == "rnn_tanh":
            body(f"{h}[j] = {tnh('p')};")
        else:
            body(f"if (p > 0) {h}[j] = p; else {h}[j] = 0;")
    else:
        body(f"{gate} pr = {ax}[j] + {ah}[j];")
        body(f"{gate} pz = {ax}[{H} + j] + {ah}[{H} + j];")
        body(f"{types['sigmoid']} r = {sig('pr')};")
        body(f"{types['sigmoid']} z = {sig('pz')};")
        body(f"{gate} hn = {ah}[{2 * H} + j];")
        body(f"{gate} pn = {ax}[{2 * H} + j] + {prod('r * hn')};")
        body(f"{types['tanh']} n = {tnh('pn')};")
        body(f"{h}[j] = n + z * ({h}[j] - n);")
    if seq:
        body(f"{Y}[t * {hidden} + j] = {h}[j];")
    body.close()
    body.close()
    if not seq:
        body.loop("j", hidden)
        body(f"{Y}[j] = {h}[j];")
        body.close()
