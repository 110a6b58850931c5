"""Emulator step of `fxp.rnn` (semantics: dialects/fxp/recurrent.py, `fxflow.fixed.recurrent`).

The products of each step are two `fxp.dense` evaluations (`fixed.dense`: the same ordered
accumulation and exactness proofs as a dense layer; the input products of all steps in one call, batch and
time together), the gates the integer updates of
`fxflow.fixed.recurrent`; float tensors run the exact real recurrence.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from fxflow.dialects.fxp import RnnOp, format_of
from fxflow.dialects.fxp.accessors import rnn_formats
from fxflow.emulator import constant_operand, native, op_step
from fxflow.fixed.dense import Tensor, add, dense, matmul_cols_into, plan_dense
from fxflow.fixed.quantize import quantize, requantize, saturation_bounds
from fxflow.fixed.table import TableIndex
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

    build, run_kernel = {"lstm": (_lstm_kernel, _run_lstm_kernel), "gru": (_gru_kernel, _run_gru_kernel)}.get(
        cell, (None, None))  # the exact float64 time loops
    real = (_real_products(plan_x), _real_products(plan_h)) if build is not None else (None, None)
    exact = None not in real and fm.result.width <= 52
    kernel = build(plan_x, plan_h, *real, fm, tables) if exact else None
    fused = real if exact and cell == "lstm" else None

    def run(x: Tensor, *states: Tensor) -> Tensor:
        if kernel is not None and not states:  # initial states given as inputs take the general loop
            return run_kernel(x, kernel, sequences)
        if fused is not None and not states:
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


# --- the LSTM time loop in float64, table lookups without index arithmetic ---------------------------------------
LSTM_COLUMNS = 512  # samples per pass of the time loop: a step's [4H + H, B] buffers stay in L2
MAX_KERNEL_ENTRIES = 1 << 20  # per layer: the gate and state tables spread over every reachable index
_HALF = {"RND": Fraction(1, 2), "TRN": Fraction(0)}  # floor(v + half): the roundings the kernel takes
_EXACT = 2 ** 53  # float64 holds every integer below this (and every sum that stays below it) exactly


@dataclass(frozen=True)
class _LstmKernel:
    """An LSTM layer as float64 arithmetic on exact dyadic reals (see `_lstm_kernel`)."""

    w: np.ndarray  # [4H, H + F + 1]: recurrent and input weights, each gate's rows scaled onto its table
    #                position, then the bias column: both biases scaled likewise, plus each gate's rounding and
    #                segment start
    table: np.ndarray  # segments o | i | f | g | tanh(c'): every reachable position's entry, pre-scaled
    state_index: tuple  # (scale, start): the position of tanh(c') is c' * scale + start, truncated
    state_half: float  # c' = floor(X + state_half), then clipped to state_clip (None: never overflows)
    state_clip: tuple | None
    result_half: float  # h' likewise
    result_clip: tuple | None
    result: object  # FixedFormat of h
    free: list = field(default_factory=list, compare=False)  # buffer sets of `_run_lstm_kernel` not in use


def _frac_max(a) -> Fraction:
    return max((abs(Fraction(int(v))) for v in np.asarray(a).ravel()), default=Fraction(0))


def _fits(bound: Fraction, *grids: int) -> bool:
    """Every value of magnitude <= bound on the grid 2^-max(grids) is an exact float64 (and so is every sum
    of such values whose magnitudes add up to at most the bound)."""
    return bound * 2 ** max(max(grids), 0) < _EXACT


def _floor(v: Fraction) -> int:
    return v.numerator // v.denominator


def _plain_indexes(*tabs) -> bool:
    """Every table indexed by clamp((raw >> s) - o) (no identity tail, no rounding toward zero): the kernels'
    position arithmetic."""
    return all(isinstance(t.index, TableIndex) and t.index.identity_from is None and not t.index.toward_zero
               for t in tabs)


def _input_bound(plan) -> Fraction:
    """|x @ w + b| (a real) for inputs anywhere in their format."""
    return Fraction(plan.sum_bound, 2 ** (plan.x_fmt.f + plan.w_fmt.f)) + _frac_max(plan.acc0) / 2 ** plan.acc.f


def _recurrent_bound(plan, h_max: int) -> Fraction:
    """|h @ w + b| (a real) for stored |h| <= h_max."""
    h_l1 = plan.sum_bound // max(-plan.x_fmt.min_int, plan.x_fmt.max_int, 1)  # max column L1 norm of w
    return Fraction(h_l1 * h_max, 2 ** (plan.x_fmt.f + plan.w_fmt.f)) + _frac_max(plan.acc0) / 2 ** plan.acc.f


def _product_grid(plan_x, plan_h) -> int:
    """The grid of every product, bias and sum of the gate pre-activations."""
    return max(plan_x.x_fmt.f + plan_x.w_fmt.f, plan_h.x_fmt.f + plan_h.w_fmt.f, plan_x.acc.f, plan_h.acc.f)


def _gate_saturation(gate, v_hi: Fraction, half: Fraction):
    """None when floor(v + half) with |v| <= v_hi never leaves the gate format; its saturation bounds (ints)
    when it saturates; False when it could wrap (the kernels do not apply)."""
    g_lo, g_hi = saturation_bounds(gate)
    if -_floor(v_hi - half) - 1 >= g_lo and _floor(v_hi + half) <= g_hi:
        return None
    return (g_lo, g_hi) if gate.overflow in ("SAT", "SAT_SYM") else False


def _gate_segment(tab, scale: Fraction, v_hi: Fraction, half: Fraction, sat, start: int, pre_bound: Fraction,
                  grid_pre: int, fg: int):
    """(entries, k, const) of one gate's table segment starting at `start`, or None: the gate's table position
    is pre * k + const (pre the real pre-activation, |pre| <= pre_bound on the grid 2^-grid_pre), truncated;
    the entries are every reachable q = floor((pre 2^fg + half) / 2^s)'s (saturated when `sat`), times
    `scale`.  None when the segment is too large or a position is not an exact float64."""
    ix = tab.index
    q_lo, q_hi = _floor((half - v_hi) / 2 ** ix.shift), _floor((half + v_hi) / 2 ** ix.shift)
    if start + q_hi - q_lo + 1 > MAX_KERNEL_ENTRIES:
        return None
    q = np.arange(q_lo, q_hi + 1, dtype=np.int64)
    if sat:  # the saturated raw, shifted
        q = np.clip(q, sat[0] >> ix.shift, sat[1] >> ix.shift)
    k = Fraction(2) ** (fg - ix.shift)
    const = half / 2 ** ix.shift + start - q_lo
    if not _fits(pre_bound * k + abs(const), grid_pre - fg + ix.shift, ix.shift + 1):
        return None
    return tab.values[np.clip(q - ix.offset, 0, ix.size - 1)].astype(np.float64) * float(scale), float(k), \
        float(const)


def _lstm_kernel(plan_x, plan_h, real_x, real_h, fm, tables) -> _LstmKernel | None:
    """The LSTM step (zero initial states) as float64 arithmetic that is provably the integer semantics, or
    None.

    Gates: with a gate rounding of floor(v + half) (RND, TRN) and a table index clamp((raw >> s) - o),
    floor(floor(v + half) / 2^s) = floor((v + half) / 2^s), so each gate's weights and bias scaled by
    2^(f_gate - s) (exact), plus half * 2^-s and the start of the gate's segment, give its table position by
    a float to int conversion (truncation is floor on these non-negative values).  The segment holds the
    entry of every q = floor((v + half) / 2^s) the bounds of the weights, inputs and h allow: the gate
    format's saturation (q clamped to its bounds >> s) and the index clamp are applied when the table is
    built.  The entries are pre-scaled by the power of two that puts f*c + i*g on the state's grid and
    o * tanh(c') on the result's, so c' and h' are floor(X + half), clamped when saturating; tanh(c') is one
    lookup at position c'.  Every value and partial sum is bounded below 2^53 on its grid (checked here), so
    each float64 operation is exact."""
    (w_x, b_x), (w_h, b_h) = real_x, real_h
    gate, st, res = fm.gate, fm.state, fm.result
    if fm.style == "hls4ml" or any(m.rounding not in _HALF for m in (gate, st, res)):
        return None
    sig, tanh, stanh = tables["sigmoid"], tables["tanh"], tables["state_tanh"]
    if not _plain_indexes(sig, tanh, stanh):
        return None
    hidden = w_h.shape[1] // 4
    fs, ft, fc, fr, fg = fm.sigmoid.f, fm.tanh.f, st.f, res.f, gate.f
    vmax = {name: _frac_max(tables[name].values) for name in ("sigmoid", "tanh", "state_tanh")}
    scales = (Fraction(1), Fraction(1, 2 ** fs), Fraction(2) ** (fc - fs - ft), Fraction(2) ** (fr - fs - ft))
    # h' = floor(O 2^(fr-fs-ft) TC + half): |h'| stays below h_max (zero initial state)
    half_r = _HALF[res.rounding]
    y_bound = vmax["sigmoid"] * scales[3] * vmax["state_tanh"] + half_r
    result_clip = _clip_or_none(res, -_floor(y_bound) - 1, _floor(y_bound) + 1)
    if result_clip is False or not _fits(y_bound, fs + ft - fr, 1):
        return None
    h_max = min(int(y_bound) + 1, max(-res.min_int, res.max_int))
    # |gate pre-activation| (a real): the input products (inputs anywhere in their format), the recurrent
    # products (|h| <= h_max) and both biases
    pre_bound = _input_bound(plan_x) + _recurrent_bound(plan_h, h_max)
    grid_pre = _product_grid(plan_x, plan_h)
    half_g = _HALF[gate.rounding]
    v_hi = pre_bound * 2 ** fg
    sat = _gate_saturation(gate, v_hi, half_g)
    if sat is False:
        return None
    segments, start = [], 0
    w_xs, w_hs, bias = w_x.T.copy(), w_h.T.copy(), (b_x + b_h).astype(np.float64)[:, None].copy()
    perm = []
    for j, tab, scale in ((3, sig, scales[3]), (0, sig, scales[0]), (1, sig, scales[1]), (2, tanh, scales[2])):
        # gate rows reordered o, i, f, g (from PyTorch's i, f, g, o): [i f] and [g c] are contiguous pairs
        seg = _gate_segment(tab, scale, v_hi, half_g, sat, start, pre_bound, grid_pre, fg)
        if seg is None:
            return None
        values, k, const = seg
        segments.append(values)
        rows = slice(j * hidden, (j + 1) * hidden)
        w_xs[rows] *= k
        w_hs[rows] *= k
        bias[rows] = bias[rows] * k + const
        perm.extend(range(j * hidden, (j + 1) * hidden))
        start += values.size
    # c' = floor(F c 2^-fs + I G 2^(fc-fs-ft) + half): each product and the sum exact
    c_max = Fraction(max(-st.min_int, st.max_int))
    half_c = _HALF[st.rounding]
    x_bound = vmax["sigmoid"] * c_max / 2 ** fs + vmax["sigmoid"] * vmax["tanh"] * scales[2] + half_c
    state_clip = _clip_or_none(st, -_floor(x_bound) - 1, _floor(x_bound) + 1)
    if state_clip is False or not _fits(x_bound, fs, fs + ft - fc, 1):
        return None
    c_lo, c_hi = (int(v) for v in state_clip) if state_clip else (-int(x_bound) - 1, int(x_bound) + 1)
    six = stanh.index  # position of tanh(c'): c' 2^-s + (start - (c_lo >> s)), floor by truncation
    q = np.arange(c_lo >> six.shift, (c_hi >> six.shift) + 1, dtype=np.int64)
    state_index = (float(Fraction(1, 2 ** six.shift)), float(start - q[0]))
    if start + q.size > MAX_KERNEL_ENTRIES or not _fits(c_max / 2 ** six.shift + start + q.size, six.shift):
        return None
    segments.append(stanh.values[np.clip(q - six.offset, 0, six.size - 1)].astype(np.float64))
    return _LstmKernel(np.ascontiguousarray(np.hstack([w_hs, w_xs, bias])[perm]),
                       np.concatenate(segments), state_index, float(half_c), state_clip, float(half_r),
                       result_clip, res)


def _clip_or_none(fmt, lo: int, hi: int):
    """None when stored values in [lo, hi] never leave fmt; its saturation bounds (floats) when fmt
    saturates; False when they could wrap (the kernel does not apply)."""
    f_lo, f_hi = saturation_bounds(fmt)
    if lo >= f_lo and hi <= f_hi:
        return None
    if fmt.overflow in ("SAT", "SAT_SYM"):
        return float(f_lo), float(f_hi)
    return False


def _run_lstm_kernel(x: Tensor, k: _LstmKernel, sequences: bool) -> Tensor:
    """The time loop of `_lstm_kernel` on column blocks of the batch (batch innermost: [rows, B] buffers, kept
    on the kernel for its next calls).  Per step, one BLAS product [W_h | W_x | bias] @ [h; x_t; 1] gives the
    gate positions (every term and partial sum an exact float64, `_lstm_kernel`, so the order of the sum does
    not matter), one conversion to int and one gather the four gates, then c' and h' in place; h' is written
    straight into the next step's product operand (blocks and output layout: `_run_on_blocks`).  The same loop
    runs in native code when it is available (`_run_native`)."""
    lib = native.library()
    if lib is not None:
        return _run_native(lib, 0, x, k, [*k.state_index, k.state_half, *_bounds(k.state_clip), k.result_half,
                                          *_bounds(k.result_clip)], sequences)
    hidden = k.w.shape[0] // 4
    table, w = k.table, k.w
    scale2, start2 = k.state_index
    multiply, add, take, copyto = np.multiply, np.add, table.take, np.copyto
    shapes = {"t2": (hidden,), "pre": (4 * hidden,), "v": (5 * hidden,), "idx": (4 * hidden,), "idx2": (hidden,)}

    def time_loop(buf: dict) -> None:
        z, t2, pre, v, idx, idx2 = (buf[name] for name in ("z",) + tuple(shapes))
        o, i, f, c = v[:hidden], v[hidden:2 * hidden], v[2 * hidden:3 * hidden], v[4 * hidden:]
        gates, if_, gc = v[:4 * hidden], v[hidden:3 * hidden], v[3 * hidden:]
        c[...] = 0
        for t in range(z.shape[0] - 1):
            matmul_cols_into(w, z[t], pre)  # in column pieces: the BLAS never spreads one over its threads
            copyto(idx, pre, casting="unsafe")  # truncation: floor of these non-negative positions
            take(idx, out=gates, mode="clip")  # (in range: "clip" only skips the checked, buffered copy)
            multiply(if_, gc, out=if_)  # i * g, f * c
            add(i, f, out=c)
            _floor_into(c, k.state_half, k.state_clip, c)
            multiply(c, scale2, out=t2)
            add(t2, start2, out=t2)
            copyto(idx2, t2, casting="unsafe")
            take(idx2, out=t2, mode="clip")
            multiply(o, t2, out=o)
            _floor_into(o, k.result_half, k.result_clip, z[t + 1, :hidden])

    return _run_on_blocks(x, k, sequences, shapes, time_loop)


@dataclass(frozen=True)
class _GruKernel:
    """A GRU layer as float64 arithmetic on exact dyadic reals (see `_gru_kernel`)."""

    w: np.ndarray  # [4H, H + F + 1] rows: r, z positions (both products and biases), the n position's input
    #                part (W_in x + b_in, scaled, plus its rounding and segment start), hn = W_hn h + b_hn
    #                times 2^f_gate plus the gate rounding
    table: np.ndarray  # segments r | z | n: every reachable position's entry, pre-scaled
    hn_clip: tuple | None  # gate(hn) saturation (None: never overflows)
    result_half: float  # h' = floor(N + Z (H - N) + result_half), clipped to result_clip
    result_clip: tuple | None
    result: object  # FixedFormat of h
    free: list = field(default_factory=list, compare=False)  # buffer sets of `_run_gru_kernel` not in use


def _gru_kernel(plan_x, plan_h, real_x, real_h, fm, tables) -> _GruKernel | None:
    """The GRU step (`gru_update`, zero initial state) as float64 arithmetic that is provably the integer
    semantics, or None.

    r and z: table positions as in `_lstm_kernel` (weights and both biases scaled by 2^(f_gate - s), plus
    half * 2^-s and the segment start).  hn = gate(W_hn h + b_hn) = floor(v 2^f_gate + half), saturated,
    from its own rows (h only).  n = tanh(gate(W_in x + b_in + r hn)): its position is the input part (x
    only, scaled like a gate) plus r hn 2^-(f_s + s), the r entries pre-scaled by 2^-(f_s + s) so that one
    product of two exact values adds the r-gated hidden term.  h' = result(n + z (h - n)) = floor(N +
    Z (H - N) + half) with N = n 2^(f_h - f_t) and Z = z 2^-f_s (pre-scaled entries), H the stored h: that
    expression is multilinear in (Z, H, N), so its range is the range over the corners, which decides the
    clip.  Every value and partial sum is bounded below 2^53 on its grid (checked here), so each float64
    operation is exact."""
    (w_x, b_x), (w_h, b_h) = real_x, real_h
    gate, res = fm.gate, fm.result
    if fm.style == "hls4ml" or fm.product is not None or any(m.rounding not in _HALF for m in (gate, res)):
        return None
    sig, tanh = tables["sigmoid"], tables["tanh"]
    if not _plain_indexes(sig, tanh):
        return None
    hidden = w_h.shape[1] // 3
    fs, ft, fh, fg = fm.sigmoid.f, fm.tanh.f, res.f, gate.f
    r_lo, r_hi = saturation_bounds(res)
    h_max = max(-r_lo, r_hi)  # any h of the result format
    half_g = _HALF[gate.rounding]
    bound_x, bound_h = _input_bound(plan_x), _recurrent_bound(plan_h, h_max)
    grid_pre = _product_grid(plan_x, plan_h)
    two = Fraction(2)  # exact powers of two, negative exponents included
    hn_sat = _gate_saturation(gate, bound_h * two ** fg, half_g)
    if hn_sat is False or not _fits(bound_h * two ** fg + half_g, grid_pre - fg, 1):
        return None
    hn_max = _floor(bound_h * two ** fg + half_g) + 1
    if hn_sat:
        hn_max = min(hn_max, max(-hn_sat[0], hn_sat[1]))
    sig_max = _frac_max(sig.values)
    pre_bound = max(bound_x + bound_h, bound_x + sig_max * hn_max * two ** -(fs + fg))
    v_hi = pre_bound * two ** fg
    sat = _gate_saturation(gate, v_hi, half_g)
    if sat is False:
        return None
    s_n = tanh.index.shift
    w = np.zeros((4 * hidden, hidden + w_x.shape[0] + 1))
    segments, start = [], 0
    for j, tab, scale, xh in ((0, sig, two ** -(fs + s_n), "xh"), (1, sig, two ** -fs, "xh"),
                              (2, tanh, two ** (fh - ft), "x")):
        seg = _gate_segment(tab, scale, v_hi, half_g, sat, start,
                            pre_bound, max(grid_pre, fs + fg) if j == 2 else grid_pre, fg)
        if seg is None:
            return None
        values, k, const = seg
        segments.append(values)
        rows = slice(j * hidden, (j + 1) * hidden)
        w[rows, hidden:-1] = w_x.T[rows] * k
        w[rows, -1] = b_x[rows] * k + const
        if xh == "xh":
            w[rows, :hidden] = w_h.T[rows] * k
            w[rows, -1] += b_h[rows] * k
        start += values.size
    rows = slice(2 * hidden, 3 * hidden)
    w[3 * hidden:, :hidden] = w_h.T[rows] * float(two ** fg)
    w[3 * hidden:, -1] = b_h[rows] * float(two ** fg) + float(half_g)
    # h' = floor(N + Z (H - N) + half): the corners of Z, H, N
    half_r = _HALF[res.rounding]
    zs = [int(v) * two ** -fs for v in (sig.values.min(), sig.values.max())]
    ns = [int(v) * two ** (fh - ft) for v in (tanh.values.min(), tanh.values.max())]
    corners = [nv + zv * (hv - nv) for zv in zs for hv in (r_lo, r_hi) for nv in ns]
    result_clip = _clip_or_none(res, _floor(min(corners) + half_r), _floor(max(corners) + half_r))
    n_max = max(abs(v) for v in ns)
    z_max = max(abs(v) for v in zs)
    if result_clip is False or not _fits(n_max + z_max * (h_max + n_max) + h_max + n_max + half_r,
                                         fs + max(ft - fh, 0), 1):
        return None
    return _GruKernel(w, np.concatenate(segments), hn_sat and tuple(float(v) for v in hn_sat), float(half_r),
                      result_clip, res)


def _run_gru_kernel(x: Tensor, k: _GruKernel, sequences: bool) -> Tensor:
    """The time loop of `_gru_kernel` (blocks and output layout: `_run_on_blocks`).  Per step, one BLAS product [W_h | W_x | bias] @ [h; x_t; 1] gives the r and z
    positions, n's input part and hn; one gather r and z, then hn (floor, saturate) times r added to n's
    input part, one gather n, and h' = floor(N + Z (H - N) + half) in place into the next operand.  Native
    code when available, as for the LSTM."""
    lib = native.library()
    if lib is not None:
        return _run_native(lib, 1, x, k, [*_bounds(k.hn_clip), k.result_half, *_bounds(k.result_clip)],
                           sequences)
    hidden = k.w.shape[0] // 4
    table, w = k.table, k.w
    multiply, add, subtract, take, copyto = np.multiply, np.add, np.subtract, table.take, np.copyto
    shapes = {"pre": (4 * hidden,), "rz": (2 * hidden,), "nn": (hidden,), "idx": (2 * hidden,), "idxn": (hidden,)}

    def time_loop(buf: dict) -> None:
        z, pre, rz, nn, idx, idxn = (buf[name] for name in ("z",) + tuple(shapes))
        r, zg = rz[:hidden], rz[hidden:]
        pn, hn = pre[2 * hidden:3 * hidden], pre[3 * hidden:]
        for t in range(z.shape[0] - 1):
            matmul_cols_into(w, z[t], pre)
            copyto(idx, pre[:2 * hidden], casting="unsafe")  # truncation: floor of these positions
            take(idx, out=rz, mode="clip")
            _floor_into(hn, 0.0, k.hn_clip, hn)
            multiply(hn, r, out=hn)
            add(pn, hn, out=pn)
            copyto(idxn, pn, casting="unsafe")
            take(idxn, out=nn, mode="clip")
            h = pn  # (free now) N + Z (H - N)
            subtract(z[t, :hidden], nn, out=h)
            multiply(h, zg, out=h)
            add(h, nn, out=h)
            _floor_into(h, k.result_half, k.result_clip, z[t + 1, :hidden])

    return _run_on_blocks(x, k, sequences, shapes, time_loop)


def _run_native(lib, cell: int, x: Tensor, k, params: list, sequences: bool) -> Tensor:
    """A kernel's time loop in native code (kernels/recurrent.cpp, `cell` 0 LSTM, 1 GRU, `params` its scalars
    in the order documented there): the NumPy loop's float64 operations on the same exact values, so the same
    bits, in the same output layout (`_run_on_blocks`); the GIL is released during the call."""
    n, steps, feats = x.data.shape
    hidden = k.w.shape[0] // 4
    xs = np.asarray(x.data).astype(np.int64, copy=False)  # stored integers below 2^52 (`_real_products`)
    out = np.empty((steps, hidden, n) if sequences else (hidden, n), dtype=np.int64)
    p = np.asarray(params, dtype=np.float64)
    status = lib.fxflow_rnn(cell, k.w.ctypes.data, k.table.ctypes.data, k.table.size, xs.ctypes.data,
                            *(s // xs.itemsize for s in xs.strides), n, steps, feats, hidden, p.ctypes.data,
                            int(sequences), out.ctypes.data)
    if status:
        raise MemoryError("the native time loop could not allocate its block buffers")
    return Tensor(np.transpose(out, (2, 0, 1)) if sequences else out.T, k.result)


def _bounds(clip: tuple | None) -> tuple:
    """A kernel's saturation bounds, (-inf, inf) for None (never overflows): the same clip."""
    return clip if clip is not None else (-np.inf, np.inf)


# a kernel's per-block buffers: z[t] the product operand [h after step t - 1; x_t; 1] (z[T]: the last h), then
# the kernel's own (LSTM: pre the gate positions, v the gates o, i, f, g and then c)
_KERNEL_LOCK = threading.Lock()


def _kernel_buffers(k, shapes: dict, steps: int, cols: int) -> dict:
    """A free set of the kernel's buffers (z and `shapes`, names "idx*" int) for `steps` x `cols`, or new ones
    (one set per concurrent call)."""
    shapes = {"z": (steps + 1, k.w.shape[1]), **shapes}
    with _KERNEL_LOCK:
        for j, bufs in enumerate(k.free):
            if all(bufs[name].shape == shape + (cols,) for name, shape in shapes.items()):
                return k.free.pop(j)
        if len(k.free) >= 4:  # other shapes: drop the oldest
            k.free.pop(0)
    return {name: np.empty(shape + (cols,), dtype=np.intp if name.startswith("idx") else np.float64)
            for name, shape in shapes.items()}


def _column_blocks(full: dict, x: Tensor, hidden: int):
    """(a, b, buffers) per column block [a, b) of the batch (the last, narrower block: contiguous views of
    `full`), z filled with [0; x_t; 1]."""
    n, steps = x.data.shape[0], x.data.shape[1]
    cols_max = full["z"].shape[-1]
    xt = np.transpose(x.data, (1, 2, 0))  # [T, F, N]
    for a in range(0, n, cols_max):
        b = min(n, a + cols_max)
        cols = b - a
        buf = full if cols == cols_max else {
            name: arr.reshape(-1)[:arr.size // cols_max * cols].reshape(arr.shape[:-1] + (cols,))
            for name, arr in full.items()}
        z = buf["z"]
        z[0, :hidden] = 0
        z[:steps, hidden:-1] = xt[:, :, a:b]  # exact: stored integers below 2^53
        z[:, -1] = 1  # times the bias column
        yield a, b, buf


def _run_on_blocks(x: Tensor, k, sequences: bool, shapes: dict, time_loop) -> Tensor:
    """A kernel's time loop (`time_loop(buffers)`, h' of step t into z[t + 1]) over the column blocks of the
    batch, on buffers kept on the kernel for its next calls.  The output is written time-major ([T, H, N],
    each block a contiguous run per row) and returned as its [N, T, H] view: the next layer reads that
    layout."""
    n, steps = x.data.shape[0], x.data.shape[1]
    hidden = k.w.shape[0] // 4
    out = np.empty((steps, hidden, n) if sequences else (hidden, n), dtype=np.int64)
    full = _kernel_buffers(k, shapes, steps, min(n, LSTM_COLUMNS))
    try:
        for a, b, buf in _column_blocks(full, x, hidden):
            time_loop(buf)
            z = buf["z"]
            if sequences:
                np.copyto(out[..., a:b], z[1:, :hidden], casting="unsafe")
            else:
                np.copyto(out[:, a:b], z[-1, :hidden], casting="unsafe")
    finally:
        with _KERNEL_LOCK:
            k.free.append(full)
    return Tensor(np.transpose(out, (2, 0, 1)) if sequences else out.T, k.result)


def _floor_into(v: np.ndarray, half: float, clip: tuple | None, out: np.ndarray) -> None:
    """floor(v + half) into out (v clobbered), saturated to clip (None: never overflows): the kernels' RND /
    TRN assignments of exact reals."""
    if half:
        np.add(v, half, out=v)
    np.floor(v, out=out)
    if clip is not None:
        np.clip(out, *clip, out=out)
