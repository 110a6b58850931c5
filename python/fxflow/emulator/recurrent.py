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
from fxflow.fixed.dense import Tensor, add, dense, matmul_cols_into, plan_dense
from fxflow.fixed.quantize import quantize, requantize
from fxflow.fixed.recurrent import (ELMAN_CELLS, elman_update, gru_update, lstm_cell, lstm_update, rnn_float,
                                    rnn_tables)
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

    real = (_real_products(plan_x), _real_products(plan_h)) if cell == "lstm" else (None, None)
    fused = real if None not in real and fm.result.width <= 52 else None

    def run(x: Tensor, *states: Tensor) -> Tensor:
        if fused is not None and not states:  # initial states given as inputs take the general loop
            return _run_lstm_fused(x, *fused, fm, tables, sequences)
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


def _real_products(plan) -> tuple[np.ndarray, np.ndarray] | None:
    """(weights times 2^-(f_x + f_w), bias as reals), float64, when `dense(x, plan)` is x @ w + b exactly in
    float64 for stored integers x: an exact BLAS product whose accumulator never overflows (assigning to it
    changes nothing) on a grid as fine as the products', and the sum of two accumulator values (the input and
    the recurrent gates) stays below 2^52 of its LSBs (every float64 sum below is then an exact dyadic)."""
    acc, pf = plan.acc, plan.x_fmt.f + plan.w_fmt.f
    if plan.path != "blas" or not plan.acc_identity or acc.f < pf or acc.width > 51 or plan.x_fmt.width > 52:
        return None
    return np.ldexp(plan.w.astype(np.float64), -pf), np.ldexp(np.asarray(plan.acc0, dtype=np.float64), -acc.f)


def _run_lstm_fused(x: Tensor, real_x, real_h, fm, tables, sequences: bool) -> Tensor:
    """The LSTM time loop on preallocated buffers, batch innermost ([gate, N]) and gates as exact float64
    reals: the input products of all steps in one BLAS product (both biases added once; gates reordered
    i, f, o, g so that one sigmoid lookup covers three of them on contiguous rows), then per step the
    recurrent product into the gate buffer, the step's input products added in place, one assignment to the
    gate format (`quantize` of the exact real: the same as `add(ax, ah, gate)` on the accumulators) and the
    integer cell update (`lstm_cell`)."""
    (w_x, b_x), (w_h, b_h) = real_x, real_h
    n, steps = x.data.shape[0], x.data.shape[1]
    hidden = w_h.shape[0]
    perm = np.r_[0:2 * hidden, 3 * hidden:4 * hidden, 2 * hidden:3 * hidden]  # i f g o -> i f o g
    w_xt, w_ht = np.ascontiguousarray(w_x[:, perm].T), np.ascontiguousarray(w_h[:, perm].T)  # [4H, F], [4H, H]
    xt = np.transpose(x.data, (2, 1, 0)).astype(np.float64).reshape(-1, steps * n)  # [F, T*N]: step t, sample b
    ax = matmul_cols_into(w_xt, xt, np.empty((w_xt.shape[0], steps * n), dtype=np.float64))
    ax += (b_x + b_h)[perm][:, None]
    sig, tanh = tables["sigmoid"], tables["tanh"]
    c = np.zeros((hidden, n), dtype=np.int64)
    h = np.zeros((hidden, n), dtype=np.int64)
    h_f = np.zeros((hidden, n), dtype=np.float64)
    pre_f = np.empty((w_ht.shape[0], n), dtype=np.float64)
    outs = np.empty((steps, hidden, n), dtype=np.int64) if sequences else None
    for t in range(steps):
        matmul_cols_into(w_ht, h_f, pre_f)
        pre_f += ax[:, t * n:(t + 1) * n]
        pre = quantize(pre_f, fm.gate)
        s = sig(pre[:3 * hidden])
        c, h = lstm_cell(s[:hidden], s[hidden:2 * hidden], tanh(pre[3 * hidden:]), s[2 * hidden:], c, fm, tables)
        h = np.asarray(h).astype(np.int64, copy=False)
        c = np.asarray(c).astype(np.int64, copy=False)
        h_f[...] = h
        if sequences:
            outs[t] = h
    y = np.transpose(outs, (2, 0, 1)) if sequences else h.T  # [N, T, H] / [N, H]
    return Tensor(np.ascontiguousarray(y), fm.result)
