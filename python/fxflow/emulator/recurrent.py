"""Emulator step of `fxp.rnn` (semantics: dialects/fxp/recurrent.py, `fxflow.fixed.recurrent`).

The products of each step are two `fxp.dense` evaluations (`fixed.dense`: the same ordered
accumulation and exactness proofs as a dense layer; the input products of all steps in one call, batch and
time together), the gates the integer updates of
`fxflow.fixed.recurrent`; float tensors run the exact real recurrence.
"""

from __future__ import annotations

import numpy as np

from fxflow.dialects.fxp import RnnOp, format_of
from fxflow.dialects.fxp.accessors import rnn_formats
from fxflow.emulator import constant_operand, op_step
from fxflow.fixed.dense import Tensor, add, dense, plan_dense
from fxflow.fixed.recurrent import ELMAN_CELLS, elman_update, gru_update, lstm_update, rnn_float, rnn_tables
from fxflow.fixed.quantize import requantize
from fxflow.ir import ir, layer_name


@op_step(RnnOp)
def _rnn_step(o, consts):
    w_ih, w_hh, b_ih, b_hh = (constant_operand(o, i, consts, what) for i, what in
                              ((1, "input weight"), (2, "recurrent weight"), (3, "input bias"), (4, "recurrent bias")))
    cell = ir.StringAttr(o.attributes["cell"]).value
    sequences = bool(ir.IntegerAttr(o.attributes["sequences"]).value)
    x_fmt = format_of(o.operands[0].type)
    if x_fmt is None:
        return lambda x, *st: Tensor(rnn_float(x.data, w_ih.data, w_hh.data, b_ih.data, b_hh.data, cell, sequences,
                                               *[s.data for s in st]), None)
    fm = rnn_formats(o)
    tables = rnn_tables(fm, layer_name(o.location) or "the rnn")
    plan_x = plan_dense(x_fmt, w_ih.data.T, w_ih.fmt, b_ih.data, b_ih.fmt, fm.accum, fm.accum, fm.product)
    plan_h = plan_dense(fm.result, w_hh.data.T, w_hh.fmt, b_hh.data, b_hh.fmt, fm.accum, fm.accum, fm.product)

    def run(x: Tensor, *states: Tensor) -> Tensor:
        n, steps = x.data.shape[0], x.data.shape[1]
        hidden = w_hh.data.shape[1]
        h = np.zeros((n, hidden), dtype=np.int64)
        c = np.zeros((n, hidden), dtype=np.int64)
        if states:  # initial states given as inputs: assigned to the result (h) and state (c) formats
            h = np.asarray(requantize(states[0].data, states[0].fmt.f, fm.result)).astype(np.int64)
        if len(states) > 1:
            c = np.asarray(requantize(states[1].data, states[1].fmt.f, fm.state)).astype(np.int64)
        outs = []
        # the input products of every step at once (one dense over [N*T, F]); only h runs step by step
        ax_all = dense(Tensor(np.ascontiguousarray(x.data).reshape(n * steps, -1), x_fmt), plan_x)
        ax_all = Tensor(ax_all.data.reshape(n, steps, -1), ax_all.fmt)
        for t in range(steps):
            ax = Tensor(np.ascontiguousarray(ax_all.data[:, t]), ax_all.fmt)
            ah = dense(Tensor(h, fm.result), plan_h)
            if cell == "lstm":
                pre = add(ax, ah, fm.gate).data
                c, h = lstm_update(pre, c, fm, tables)
            elif cell in ELMAN_CELLS:
                h = elman_update(add(ax, ah, fm.gate).data, fm, tables, cell)
            else:
                h = gru_update(ax.data, ah.data, h, fm, tables)
            h = np.asarray(h).astype(np.int64)
            c = np.asarray(c).astype(np.int64)
            outs.append(h)
        return Tensor(np.stack(outs, axis=1) if sequences else h, fm.result)

    return run
