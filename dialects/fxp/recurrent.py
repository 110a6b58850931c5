"""Recurrent `fxp` op: `fxp.rnn`, one layer of an LSTM, GRU or Elman RNN over a whole sequence.

fxp.rnn(x [1, T, F], w_ih [G*H, F], w_hh [G*H, H], b_ih [G*H], b_hh [G*H] [, h0 [1, H] [, c0 [1, H]]])
-> [1, T, H] (`sequences` = 1) or [1, H] (the last state, `sequences` = 0).  PyTorch's gate order and
equations (LSTM i, f, g, o; GRU r, z, n).  The initial states are zero, or the optional operands h0 (and
c0 for an LSTM) assigned to the result (state) format.  With fixed-point types (`fxflow.fixed.recurrent`), per step t:
  ax = accum(b_ih) + x_t * w_ih^T, ah = accum(b_hh) + h * w_hh^T   (ordered like fxp.dense, k = 0..K-1)
  LSTM: p = gate(ax + ah); i, f, o = sigmoid_table(p); g = tanh_table(p);
        c = state(f * c + i * g); h = result(o * tanh_table(c))
  GRU:  r, z = sigmoid_table(gate(ax + ah)); n = tanh_table(gate(ax_n + r * gate(ah_n)));
        h = result(n + z * (h - n))
  Elman (cell rnn_tanh / rnn_relu): p = gate(ax + ah); h = result(tanh_table(p)) or result(max(p, 0))
Every expression is exact before its assignment.  The formats (`gate_format`, `sigmoid_format`,
`tanh_format`, LSTM `state_format`) and `table_size` are attached by fxp-assign-precision; the tables
are built from them (`fxflow.fixed.recurrent.rnn_tables`) by `table_style`: "accurate" (the default: range and
bins from the function and the formats, at most `table_size` entries), "fxflow" (when absent: `table_size` bins
over the whole input format) or "hls4ml".  Before precision assignment the op means the exact real recurrence.
"""

from typing import Any, Sequence

from fxflow.ir import ext, ir

from ..verify import emit, verifier
from .base import Fxp, check_format_attrs, check_formats, check_tensors, format_of, shape_of
from .layers import check_accum, f64_type_attr

CELL_GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}  # rnn_*: Elman nn.RNN (nonlinearity)
TABLE_STYLES = ("accurate", "fxflow", "hls4ml")
RNN_FORMATS = ("gate_format", "sigmoid_format", "tanh_format")  # + "state_format" for an LSTM


class RnnOp(Fxp.Operation, name="rnn", traits=[ext.Pure]):
    """One LSTM/GRU/Elman layer over the sequence (see module doc)."""

    input: ext.Operand[Any]
    w_ih: ext.Operand[Any]
    w_hh: ext.Operand[Any]
    b_ih: ext.Operand[Any]
    b_hh: ext.Operand[Any]
    output: ext.Result[Any]
    cell: ir.StringAttr
    sequences: ir.IntegerAttr
    # initial states given as inputs: [h0] or (LSTM) [h0, c0], each [1, H]; none: zero states.  One variadic
    # group (IRDL then needs no segment sizes) of one type: fxp-assign-precision casts them to a common format.
    states: Sequence[ext.Operand[Any]] = ext.operand(kw_only=True)
    accum: ir.TypeAttr = ext.attribute(default_factory=f64_type_attr)

    @verifier
    def verify_invariants(self):
        # positional: the generated accessors need `operandSegmentSizes` (the builder adds it, textual IR may not)
        ops = list(self.operation.operands)
        if len(ops) < 5:
            return emit(self, f"needs input, w_ih, w_hh, b_ih and b_hh, got {len(ops)} operands")
        vals = tuple(zip(ops[:5], ("input", "w_ih", "w_hh", "b_ih", "b_hh"))) + ((self.operation.results[0], "result"),)
        if not check_tensors(self, vals):
            return False
        cell = ir.StringAttr(self.cell).value
        if cell not in CELL_GATES:
            return emit(self, f"cell '{cell}' is not one of {', '.join(CELL_GATES)}")
        seq = ir.IntegerAttr(self.sequences).value
        if seq not in (0, 1):
            return emit(self, "sequences must be 0 (last state) or 1 (whole sequence)")
        x, wi, wh, bi, bh, y = (shape_of(v) for v, _ in vals)
        if len(x) != 3 or x[0] != 1:
            return emit(self, f"input must be [1, T, F] (sample, time, features), got {x}")
        hidden = wh[-1] if len(wh) == 2 else 0
        g = CELL_GATES[cell]
        if wi != [g * hidden, x[2]] or wh != [g * hidden, hidden] or bi != [g * hidden] or bh != [g * hidden]:
            return emit(self, f"{cell} weights must be w_ih [{g}H, {x[2]}], w_hh [{g}H, H], biases [{g}H]; "
                              f"got {wi}, {wh}, {bi}, {bh}")
        want = [1, x[1], hidden] if seq else [1, hidden]
        if y != want:
            return emit(self, f"result shape {y} must be {want}")
        states = initial_states(self)
        if (cell == "lstm" and len(states) not in (0, 2)) or (cell != "lstm" and states and "c0" in states):
            return emit(self, f"initial states {', '.join(states) or 'none'}: an LSTM takes h0 and c0 or neither, "
                              "other cells h0 only")
        for name, v in states.items():
            if not check_tensors(self, ((v, name),)) or shape_of(v) != [1, hidden]:
                return emit(self, f"initial state {name} must be a [1, {hidden}] tensor")
        if not (check_formats(self, [v for v, _ in vals]) and check_accum(self)):
            return False
        return _check_rnn_formats(self, cell)


def initial_states(op) -> dict:
    """{"h0": value, "c0": value} of the initial states the op takes as operands (none: zero states)."""
    o = op.operation if hasattr(op, "operation") else op
    extra = list(o.operands)[5:]  # the `states` group
    return dict(zip(("h0", "c0"), extra))


def _check_rnn_formats(op, cell: str) -> bool:
    """A fixed rnn carries its internal formats and table size (fxp-assign-precision)."""
    attrs = op.operation.attributes
    fixed = format_of(op.output.type) is not None
    if not check_format_attrs(op, RNN_FORMATS + (("state_format",) if cell == "lstm" else ()), "rnn"):
        return False
    if fixed and not isinstance(attrs["table_size"] if "table_size" in attrs else None, ir.IntegerAttr):
        return emit(op, "a fixed-point rnn needs an integer 'table_size' (run fxp-assign-precision)")
    style = ir.StringAttr(attrs["table_style"]).value if "table_style" in attrs else "fxflow"
    if style not in TABLE_STYLES:
        return emit(op, f"table_style must be one of {', '.join(TABLE_STYLES)}, got '{style}'")
    return True
