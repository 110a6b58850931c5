"""fxp-assign-precision rule for the recurrent family: `fxp.rnn` (LSTM / GRU / Elman RNN layers).

Weights: w_ih the layer's `weight`, w_hh its `recurrent_weight` (default: `weight`), b_ih its `bias`, b_hh
its `recurrent_bias` (default: `bias`; hls4ml's dict has both roles).  `accum` "exact"/"auto" (default): one
bit-width exact accumulator holding both dot products (bias + F products of x * w_ih, bias + H products of
h * w_hh).  Per-gate formats (config keys, defaults with P the model precision, or ap_fixed<16,6> when it is
auto):
  gate     P                          pre-activations, the tables' input
  sigmoid  ap_ufixed<P.f + 1, 1, RND, SAT>   sigmoid entries in [0, 1]
  tanh     ap_fixed<P.f + 2, 2, RND, SAT>    tanh entries in [-1, 1]
  state    P                          the LSTM cell state c
  result   the layer's `result`; "auto": o * tanh(c) exactly (LSTM), ap_fixed<tanh.f + 2, 2, RND, SAT> (GRU,
           Elman tanh), the gate format (Elman relu)
Initial states given as inputs (h0, c0) keep their formats; when the two differ, both are cast exactly to
one holding both (`states` is one operand group of one type); the cell assigns them to `result` / `state`.
Tables (`table_style` "accurate"): the accurate tables of fxp.lut's default (`fxflow.fixed.table.accurate_table`:
range and bins from the function and the gate / state and entry formats, error bound in docs/layers.md), at most
`table_size` entries if configured, else 2^ACCURATE_INDEX_BITS.
With `arithmetic: "hls4ml"` (an hls4ml config dict), hls4ml 1.3's LSTM instead: weights through their
decimal text, every product assigned to `accum` (`product`), gate, sigmoid and tanh outputs in `accum`,
the cell state in `result`, and hls4ml's tables (`table_style = "hls4ml"`: `table_format` ap_fixed<18,8>,
`fxflow.fixed.recurrent.Hls4mlIndex`).
"""

from __future__ import annotations

from fxflow.config import Config
from fxflow.errors import ConfigError
from fxflow.dialects.fxp import RnnOp, fixed_type, format_of
from fxflow.fixed import FixedFormat
from fxflow.fixed.accum import exact_accumulator
from fxflow.fixed.interval import Interval
from fxflow.fixed.recurrent import RnnFormats, rnn_tables
from fxflow.ir import i64_attr, ir, layer_name

from fxflow.passes.assign_precision import assigner, quantized_constant, require_fixed, set_result
from fxflow.passes.assign_precision.model_exact import exactness
from fxflow.passes.assign_precision.tables import accurate_size

DEFAULT_PRECISION = FixedFormat.parse("ap_fixed<16,6>")
HLS4ML_TABLE_T = FixedFormat.parse("ap_fixed<18,8>")  # hls4ml's lstm_table_t
MAX_STATE_WIDTH = 62


def _union(a: FixedFormat, b: FixedFormat) -> FixedFormat:
    """The narrowest (TRN, WRAP) format holding every value of a and of b."""
    return FixedFormat(max(a.k, b.k), max(a.i, b.i), max(a.f, b.f))


def _hls4ml_formats(fm: RnnFormats, accum: FixedFormat) -> RnnFormats:
    """hls4ml 1.3's lstm_static: accum_t everywhere inside the cell, the state in res_T, its tables."""
    state = fm.result if fm.state is not None else None
    return RnnFormats(accum, accum, accum, accum, state, fm.result, fm.table_size, "hls4ml",
                      HLS4ML_TABLE_T, accum)


def _common_state_format(op) -> None:
    """The initial states given as inputs (one IRDL group: one type) cast exactly to a format holding both."""
    from fxflow.dialects.fxp import CastOp
    from fxflow.dialects.fxp.recurrent import initial_states

    states = list(initial_states(op).values())
    require_fixed(op, states, "fxp.rnn")
    fmts = [format_of(v.type) for v in states]
    if len({str(f) for f in fmts}) <= 1:
        return
    common = fmts[0]
    for f in fmts[1:]:
        common = _union(common, f)
    o = op.operation
    for i, v in enumerate(states, start=5):
        with ir.InsertionPoint(op), op.location:
            shape = list(ir.RankedTensorType(v.type).shape)
            o.operands[i] = CastOp(v, ir.RankedTensorType.get(shape, fixed_type(common))).output


@exactness(RnnOp)
def _rnn_exactness(op) -> str:
    return "it is computed from tables of sigmoid and tanh"


@assigner(RnnOp)
def _assign_rnn(op, cfg: Config, ranges: dict) -> None:
    o = op.operation
    layer = layer_name(op.location) or "<unnamed>"
    x = o.operands[0]
    require_fixed(op, [x], "fxp.rnn")
    lc = cfg.layer(layer)
    own = cfg.recurrent_config(layer)
    cell = ir.StringAttr(o.attributes["cell"]).value
    hls4ml = cfg.arithmetic == "hls4ml"
    roles = ((1, lc.weight, "input weight"), (2, own.get("recurrent_weight", lc.weight), "recurrent weight"),
             (3, lc.bias, "input bias"), (4, own.get("recurrent_bias", lc.bias), "recurrent bias"))
    with ir.InsertionPoint(op), op.location:
        (wi, _, wi_fmt), (wh, _, wh_fmt), (bi, _, bi_fmt), (bh, _, bh_fmt) = (
            quantized_constant(o.operands[i], fmt, role, layer, cfg.auto_tolerance, decimal=hls4ml)
            for i, fmt, role in roles)
    for idx, v in enumerate((wi, wh, bi, bh), start=1):
        o.operands[idx] = v
    p = cfg.precision if isinstance(cfg.precision, FixedFormat) else DEFAULT_PRECISION
    gate = own.get("gate", p)
    sig = own.get("sigmoid", FixedFormat(0, 1, p.f, "RND", "SAT"))
    tanh = own.get("tanh", FixedFormat(1, 1, p.f, "RND", "SAT"))
    state = own.get("state", p) if cell == "lstm" else None
    result = lc.result
    if not isinstance(result, FixedFormat):
        result = (FixedFormat(1, 1, sig.f + tanh.f) if cell == "lstm" else gate if cell == "rnn_relu"
                  else FixedFormat(1, 1, tanh.f, "RND", "SAT"))
    features = ir.RankedTensorType(x.type).shape[2]
    hidden = ir.RankedTensorType(wh.type).shape[1]
    accum = lc.accum
    if not isinstance(accum, FixedFormat):  # exact / auto: both dot products exact
        accum = _union(exact_accumulator(format_of(x.type), wi_fmt, bi_fmt, features),
                       exact_accumulator(result, wh_fmt, bh_fmt, hidden))
    if hls4ml:
        fm = _hls4ml_formats(RnnFormats(accum, gate, sig, tanh, state, result, cfg.table_config(layer).table_size),
                             lc.accum if isinstance(lc.accum, FixedFormat) else p)
    else:
        fm = RnnFormats(accum, gate, sig, tanh, state, result, accurate_size(cfg, layer), "accurate")
    for what, fmt in (("gate", fm.gate), ("state", fm.state), ("result", fm.result)):
        if fmt is not None and fmt.width > MAX_STATE_WIDTH:
            raise ConfigError(f"layer '{layer}': the {what} format {fmt} is wider than {MAX_STATE_WIDTH} bits "
                              "(the recurrent state and the table indices are 64-bit integers)")
    rnn_tables(fm, f"layer '{layer}'")  # (checks the table size against the formats)
    o.attributes["accum"] = ir.TypeAttr.get(fixed_type(fm.accum))
    for name, fmt in (("gate_format", fm.gate), ("sigmoid_format", fm.sigmoid), ("tanh_format", fm.tanh),
                      ("state_format", fm.state)):
        if fmt is not None:
            o.attributes[name] = ir.TypeAttr.get(fixed_type(fmt))
    o.attributes["table_size"] = i64_attr(fm.table_size)
    o.attributes["table_style"] = ir.StringAttr.get(fm.style)
    _common_state_format(op)
    if fm.style == "hls4ml":
        o.attributes["table_format"] = ir.TypeAttr.get(fixed_type(fm.table_format))
        o.attributes["product"] = ir.TypeAttr.get(fixed_type(fm.product))
    set_result(op, fm.result, Interval.of_format(fm.result, list(ir.RankedTensorType(o.results[0].type).shape)), ranges)
