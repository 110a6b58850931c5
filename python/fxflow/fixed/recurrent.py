"""Semantics of `fxp.rnn` (LSTM / GRU / Elman RNN layers): formats, tables, the float reference and the exact
integer cell updates shared by the emulator (`fxflow.emulator.recurrent`) and, through the same tables,
the C++ printer.  Stored integers throughout: a value v of format F is the integer v * 2^F.f.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .format import FixedFormat
from .quantize import quantize, requantize
from .table import TableIndex, accurate_table, build_table, hls4ml_float_entries, lookup, table_index


@dataclass(frozen=True)
class RnnFormats:
    """The formats of one fixed-point rnn layer (dialects/fxp/recurrent.py)."""

    accum: FixedFormat  # both gate accumulators (input and recurrent products)
    gate: FixedFormat  # pre-activations: the tables' input
    sigmoid: FixedFormat  # sigmoid table entries
    tanh: FixedFormat  # tanh table entries
    state: FixedFormat | None  # LSTM cell state c (None for a GRU)
    result: FixedFormat  # h: the layer output and the recurrent state
    table_size: int  # "accurate": the most entries a table may have; else every table's entries
    style: str = "fxflow"  # "accurate": `accurate_table`s (the default); "fxflow": table_size bins over the whole
    # input format; "hls4ml": hls4ml 1.3's tables (Hls4mlIndex) and per-product casts
    table_format: FixedFormat | None = None  # hls4ml: the table_t the entries are stored in first
    product: FixedFormat | None = None  # every product assigned to this type before it is added


HLS4ML_SPANS = {"sigmoid": 16, "tanh": 8, "state_tanh": 8}  # hls4ml's tables cover [-span/2, span/2)


@dataclass(frozen=True)
class Hls4mlIndex:
    """hls4ml 1.3's activation index (nnet_activation.h): clamp(int(x * N / span) + N / 2, 0, N - 1), the
    int conversion truncating toward zero; entry j holds fn(span * (j - N/2) / N) (the bin's left edge)."""

    size: int
    span: int
    f: int  # fractional bits of the input format

    def lookup_index(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw)
        scale = self.size << max(-self.f, 0)
        top = max(-int(raw.min()), int(raw.max()), 0) if raw.size and raw.dtype != object else None
        exact = top is not None and (top * scale).bit_length() <= INT64_SAFE_BITS
        num = raw.astype(np.int64) * scale if exact else raw.astype(object) * scale
        den = self.span << max(self.f, 0)
        q = np.abs(num) // den * np.where(num < 0, -1, 1)  # truncation toward zero
        return np.clip(q.astype(np.int64) + self.size // 2, 0, self.size - 1)


def hls4ml_entries(name: str, size: int, table_t: FixedFormat, out: FixedFormat) -> np.ndarray:
    """hls4ml's table of sigmoid / tanh: evaluated in single precision at the left edges, assigned to
    table_t, then (the `(res_T)table[index]` cast) to `out`; stored integers of `out`."""
    v = hls4ml_float_entries("sigmoid" if name == "sigmoid" else "tanh", size)
    stored = quantize(v.astype(np.float64), table_t)
    return np.asarray(requantize(stored, table_t.f, out), dtype=np.int64)


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


@dataclass(frozen=True)
class Table:
    index: "TableIndex | Hls4mlIndex"
    values: np.ndarray  # stored integers of the entry format
    in_fmt: FixedFormat
    out_fmt: FixedFormat

    def __call__(self, raw) -> np.ndarray:
        return lookup(raw, self.index, self.values)


@lru_cache(maxsize=64)
def _accurate(name: str, fin: FixedFormat, fout: FixedFormat, size: int, where: str) -> Table | None:
    """The accurate table of sigmoid / tanh (the same rule as fxp.lut's default; tails are constant)."""
    fn = _sigmoid if name == "sigmoid" else np.tanh
    t = accurate_table(fn, fin, fout, f"the {name} table of {where}", size, identity=False)
    return None if t is None else Table(t.index, t.values, fin, fout)


def rnn_tables(fm: RnnFormats, where: str = "the rnn") -> dict[str, Table]:
    """sigmoid and tanh over the gate format; for an LSTM also tanh over the cell state ("state_tanh").
    The default ("accurate") tables are sized like fxp.lut's (`fxflow.fixed.table.accurate_table`, at most
    `table_size` entries, error bound in docs/layers.md); "fxflow" spreads table_size entries over the whole
    input format."""
    specs = {"sigmoid": (_sigmoid, fm.gate, fm.sigmoid), "tanh": (np.tanh, fm.gate, fm.tanh)}
    if fm.state is not None:
        specs["state_tanh"] = (np.tanh, fm.state, fm.tanh)
    out = {}
    for name, (fn, fin, fout) in specs.items():
        if fm.style == "hls4ml":
            out[name] = Table(Hls4mlIndex(fm.table_size, HLS4ML_SPANS[name], fin.f),
                              hls4ml_entries(name, fm.table_size, fm.table_format, fout), fin, fout)
            continue
        if fm.style == "accurate":
            found = _accurate("sigmoid" if name == "sigmoid" else "tanh", fin, fout, fm.table_size, where)
            if found is not None:
                out[name] = found
                continue
        idx = table_index(fin, fm.table_size, where=f"the {name} table of {where}")
        out[name] = Table(idx, build_table(fn, fin, fout, idx, where), fin, fout)
    return out


def rnn_float(x: np.ndarray, w_ih, w_hh, b_ih, b_hh, cell: str, sequences: bool, h0=None, c0=None) -> np.ndarray:
    """The exact real recurrence (PyTorch's equations) for a batch x [N, T, F], float64; initial states
    h0, c0 [N, H] (default zero)."""
    n, steps, _ = x.shape
    hidden = w_hh.shape[1]
    h = np.zeros((n, hidden)) if h0 is None else np.asarray(h0, dtype=np.float64)
    c = np.zeros((n, hidden)) if c0 is None else np.asarray(c0, dtype=np.float64)
    outs = []
    for t in range(steps):
        ax = x[:, t] @ w_ih.T + b_ih
        ah = h @ w_hh.T + b_hh
        if cell == "lstm":
            p = ax + ah
            i, f, g, o = (p[:, j * hidden:(j + 1) * hidden] for j in range(4))
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
        elif cell in ELMAN_CELLS:
            h = np.tanh(ax + ah) if cell == "rnn_tanh" else np.maximum(ax + ah, 0.0)
        else:
            r = _sigmoid(ax[:, :hidden] + ah[:, :hidden])
            z = _sigmoid(ax[:, hidden:2 * hidden] + ah[:, hidden:2 * hidden])
            nn = np.tanh(ax[:, 2 * hidden:] + r * ah[:, 2 * hidden:])
            h = (1 - z) * nn + z * h
        outs.append(h)
    return np.stack(outs, axis=1) if sequences else h


INT64_SAFE_BITS = 62


def _ints(a, bits: int) -> np.ndarray:
    """Stored integers for exact arithmetic whose magnitudes stay below 2^bits: int64, or Python ints (no copy
    when `a` already is int64: callers never modify their arguments in place)."""
    return np.asarray(a).astype(np.int64 if bits <= INT64_SAFE_BITS else object, copy=False)


ELMAN_CELLS = ("rnn_tanh", "rnn_relu")  # nn.RNN with nonlinearity "tanh" / "relu"


def elman_update(pre, fm: RnnFormats, tables: dict, cell: str) -> np.ndarray:
    """h' from the pre-activation p = gate(ax + ah) [N, H]: result(tanh_table(p)) or result(max(p, 0))."""
    if cell == "rnn_tanh":
        return np.asarray(requantize(tables["tanh"](pre), fm.tanh.f, fm.result))
    return np.asarray(requantize(np.maximum(np.asarray(pre), 0), fm.gate.f, fm.result))


def _obj(a) -> np.ndarray:
    return np.asarray(a).astype(object)


def lstm_update(pre, c, fm: RnnFormats, tables: dict) -> tuple[np.ndarray, np.ndarray]:
    """(c', h') from the pre-activations p [N, 4H] (gate format) and c [N, H] (state format):
    c' = state(f * c + i * g), h' = result(o * tanh(c'))."""
    hidden = pre.shape[1] // 4
    sig, tanh = tables["sigmoid"], tables["tanh"]
    i, f, g, o = (pre[:, j * hidden:(j + 1) * hidden] for j in range(4))
    return lstm_cell(sig(i), sig(f), tanh(g), sig(o), c, fm, tables)


def lstm_cell(i, f, g, o, c, fm: RnnFormats, tables: dict) -> tuple[np.ndarray, np.ndarray]:
    """(c', h') from the table outputs i, f, o (sigmoid format), g (tanh format) and c (state format), all of
    one shape (elementwise; any layout): c' = state(f * c + i * g), h' = result(o * tanh(c')).
    i and f are modified in place when int64 (they are the caller's fresh table lookups)."""
    fs, ft, fc = fm.sigmoid.f, fm.tanh.f, fm.state.f
    ws, wt = fm.sigmoid.width, fm.tanh.width
    top = max(fs + fc, fs + ft)
    bits = max(ws + fm.state.width + top - fs - fc, ws + wt + top - fs - ft) + 2
    i, f, o, g = _ints(i, bits), _ints(f, bits), _ints(o, bits), _ints(g, bits)
    if f.dtype == np.int64:  # the same sums, in place
        f *= _ints(c, bits)
        if top - fs - fc:
            f <<= top - fs - fc
        i *= g
        if top - fs - ft:
            i <<= top - fs - ft
        f += i
        s = f
    else:
        s = f * _ints(c, bits) * (1 << (top - fs - fc)) + i * g * (1 << (top - fs - ft))
    c_new = requantize(s, top, fm.state)
    tc = _ints(tables["state_tanh"](c_new), bits)
    if tc.dtype == np.int64:
        tc *= o
    else:
        tc = o * tc
    h_new = requantize(tc, fs + ft, fm.result)
    return np.asarray(c_new), np.asarray(h_new)


def gru_update(ax, ah, h, fm: RnnFormats, tables: dict) -> np.ndarray:
    """h' from the accumulators ax, ah [N, 3H] (accum format) and h [N, H] (result format):
    r, z = sigmoid(gate(ax + ah)), n = tanh(gate(ax_n + r * gate(ah_n))), h' = result(n + z * (h - n));
    with a `product` type, r * gate(ah_n) is assigned to it first (hls4ml's gru)."""
    hidden = ah.shape[1] // 3
    acc, gate = fm.accum, fm.gate
    sig, tanh = tables["sigmoid"], tables["tanh"]
    fs, ft, fh = fm.sigmoid.f, fm.tanh.f, fm.result.f
    ws, wt, wh = fm.sigmoid.width, fm.tanh.width, fm.result.width
    rh_f = fm.product.f if fm.product is not None else fs + gate.f
    rh_w = max(ws + gate.width, fm.product.width if fm.product is not None else 0)
    top_n = max(acc.f, rh_f)
    fd = max(ft, fh)  # h - n, exact
    d_w = max(wh + fd - fh, wt + fd - ft) + 1
    # every intermediate below stays under 2^bits: int64 when that is at most 62 bits
    bits = max(acc.width + 1, rh_w, acc.width + top_n - acc.f + 1, rh_w + top_n - rh_f + 1,
               wt + fs + fd - ft + 1, ws + d_w + 1) + 1
    rz = requantize(_ints(ax[:, :2 * hidden], bits) + _ints(ah[:, :2 * hidden], bits), acc.f, gate)
    r, z = _ints(sig(rz[:, :hidden]), bits), _ints(sig(rz[:, hidden:]), bits)
    hn = _ints(requantize(_ints(ah[:, 2 * hidden:], bits), acc.f, gate), bits)
    rh = r * hn
    if fm.product is not None:  # hls4ml: r * hn assigned to its type before the sum
        rh = _ints(requantize(rh, fs + gate.f, fm.product), bits)
    pn = _ints(ax[:, 2 * hidden:], bits) * (1 << (top_n - acc.f)) + rh * (1 << (top_n - rh_f))
    n = _ints(tanh(requantize(pn, top_n, gate)), bits)
    d = _ints(h, bits) * (1 << (fd - fh)) - n * (1 << (fd - ft))
    top = fs + fd
    s = n * (1 << (top - ft)) + z * d
    return np.asarray(requantize(s, top, fm.result))
