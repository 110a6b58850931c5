"""Emulator step of `fxp.rnn` (semantics: dialects/fxp/recurrent.py, `fxflow.fixed.recurrent`).

The products of each step are two `fxp.dense` evaluations (`emulator.dense`: the same ordered
accumulation and exactness proofs as a dense layer), the gates the integer updates of
`fxflow.fixed.recurrent`; float tensors run the exact real recurrence.
"""

from __future__ import annotations

import numpy as np

from .dialects.fxp import RnnOp, format_of
from .emulator import Tensor, accum_format, add, constant_operand, dense, op_step, plan_dense, result_format
from .errors import FxflowError
from .fixed import FixedFormat
from .fixed.recurrent import RnnFormats, gru_update, lstm_update, rnn_float, rnn_tables
from .ir import ir, layer_name


def rnn_formats(o) -> RnnFormats:
    """The formats fxp-assign-precision attached to a fixed-point fxp.rnn."""
    attrs = o.attributes
    where = layer_name(o.location) or str(o.location)

    def fmt(name) -> FixedFormat | None:
        if name not in attrs:
            return None
        return format_of(ir.TypeAttr(attrs[name]).value)

    cell = ir.StringAttr(attrs["cell"]).value
    fm = RnnFormats(accum_format(o), fmt("gate_format"), fmt("sigmoid_format"), fmt("tanh_format"),
                    fmt("state_format"), result_format(o),
                    ir.IntegerAttr(attrs["table_size"]).value if "table_size" in attrs else 0,
                    ir.StringAttr(attrs["table_style"]).value if "table_style" in attrs else "fxflow",
                    fmt("table_format"), fmt("product"))
    if (None in (fm.gate, fm.sigmoid, fm.tanh) or fm.table_size == 0 or (cell == "lstm") != (fm.state is not None)
            or (fm.style == "hls4ml") != (fm.table_format is not None)):
        raise FxflowError(f"fxp.rnn in layer '{where}' lacks its formats: run fxp-assign-precision")
    return fm


@op_step(RnnOp)
def _rnn_step(o, consts):
    w_ih, w_hh, b_ih, b_hh = (constant_operand(o, i, consts, what) for i, what in
                              ((1, "input weight"), (2, "recurrent weight"), (3, "input bias"), (4, "recurrent bias")))
    cell = ir.StringAttr(o.attributes["cell"]).value
    sequences = bool(ir.IntegerAttr(o.attributes["sequences"]).value)
    x_fmt = format_of(o.operands[0].type)
    if x_fmt is None:
        return lambda x: Tensor(rnn_float(x.data, w_ih.data, w_hh.data, b_ih.data, b_hh.data, cell, sequences), None)
    fm = rnn_formats(o)
    tables = rnn_tables(fm, layer_name(o.location) or "the rnn")
    plan_x = plan_dense(x_fmt, w_ih.data.T, w_ih.fmt, b_ih.data, b_ih.fmt, fm.accum, fm.accum, fm.product)
    plan_h = plan_dense(fm.result, w_hh.data.T, w_hh.fmt, b_hh.data, b_hh.fmt, fm.accum, fm.accum, fm.product)

    def run(x: Tensor) -> Tensor:
        n, steps = x.data.shape[0], x.data.shape[1]
        hidden = w_hh.data.shape[1]
        h = np.zeros((n, hidden), dtype=np.int64)
        c = np.zeros((n, hidden), dtype=np.int64)
        outs = []
        for t in range(steps):
            ax = dense(Tensor(np.ascontiguousarray(x.data[:, t]), x_fmt), plan_x)
            ah = dense(Tensor(h, fm.result), plan_h)
            if cell == "lstm":
                pre = add(ax, ah, fm.gate).data
                c, h = lstm_update(pre, c, fm, tables)
            else:
                h = gru_update(ax.data, ah.data, h, fm, tables)
            h = np.asarray(h).astype(np.int64)
            c = np.asarray(c).astype(np.int64)
            outs.append(h)
        return Tensor(np.stack(outs, axis=1) if sequences else h, fm.result)

    return run
