"""Semantics of `fxp.rnn` (LSTM / GRU layers): formats, tables, the float reference and the exact
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
        num = np.asarray(raw).astype(object) * (self.size << max(-self.f, 0))
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


def rnn_float(x: np.ndarray, w_ih, w_hh, b_ih, b_hh, cell: str, sequences: bool) -> np.ndarray:
    """The exact real recurrence (PyTorch's equations) for a batch x [N, T, F], float64."""
    n, steps, _ = x.shape
    hidden = w_hh.shape[1]
    h = np.zeros((n, hidden))
    c = np.zeros((n, hidden))
    outs = []
    for t in range(steps):
        ax = x[:, t] @ w_ih.T + b_ih
        ah = h @ w_hh.T + b_hh
        if cell == "lstm":
            p = ax + ah
            i, f, g, o = (p[:, j * hidden:(j + 1) * hidden] for j in range(4))
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
        else:
            r = _sigmoid(ax[:, :hidden] + ah[:, :hidden])
            z = _sigmoid(ax[:, hidden:2 * hidden] + ah[:, hidden:2 * hidden])
            nn = np.tanh(ax[:, 2 * hidden:] + r * ah[:, 2 * hidden:])
            h = (1 - z) * nn + z * h
        outs.append(h)
    return np.stack(outs, axis=1) if sequences else h


def _obj(a) -> np.ndarray:
    return np.asarray(a).astype(object)


def lstm_update(pre, c, fm: RnnFormats, tables: dict) -> tuple[np.ndarray, np.ndarray]:
    """(c', h') from the pre-activations p [N, 4H] (gate format) and c [N, H] (state format):
    c' = state(f * c + i * g), h' = result(o * tanh(c'))."""
    hidden = pre.shape[1] // 4
    sig, tanh = tables["sigmoid"], tables["tanh"]
    i, f, g, o = (pre[:, j * hidden:(j + 1) * hidden] for j in range(4))
    i, f, o, g = _obj(sig(i)), _obj(sig(f)), _obj(sig(o)), _obj(tanh(g))
    fs, ft, fc = fm.sigmoid.f, fm.tanh.f, fm.state.f
    top = max(fs + fc, fs + ft)
    s = f * _obj(c) * (1 << (top - fs - fc)) + i * g * (1 << (top - fs - ft))
    c_new = requantize(s, top, fm.state)
    tc = _obj(tables["state_tanh"](c_new))
    h_new = requantize(o * tc, fs + ft, fm.result)
    return np.asarray(c_new), np.asarray(h_new)


def gru_update(ax, ah, h, fm: RnnFormats, tables: dict) -> np.ndarray:
    """h' from the accumulators ax, ah [N, 3H] (accum format) and h [N, H] (result format):
    r, z = sigmoid(gate(ax + ah)), n = tanh(gate(ax_n + r * gate(ah_n))), h' = result(n + z * (h - n));
    with a `product` type, r * gate(ah_n) is assigned to it first (hls4ml's gru)."""
    hidden = ah.shape[1] // 3
    acc, gate = fm.accum, fm.gate
    sig, tanh = tables["sigmoid"], tables["tanh"]
    rz = requantize(_obj(ax[:, :2 * hidden]) + _obj(ah[:, :2 * hidden]), acc.f, gate)
    r, z = _obj(sig(rz[:, :hidden])), _obj(sig(rz[:, hidden:]))
    hn = _obj(requantize(_obj(ah[:, 2 * hidden:]), acc.f, gate))
    fs = fm.sigmoid.f
    rh, rh_f = r * hn, fs + gate.f
    if fm.product is not None:  # hls4ml: r * hn assigned to its type before the sum
        rh, rh_f = _obj(requantize(rh, rh_f, fm.product)), fm.product.f
    top = max(acc.f, rh_f)
    pn = _obj(ax[:, 2 * hidden:]) * (1 << (top - acc.f)) + rh * (1 << (top - rh_f))
    n = _obj(tanh(requantize(pn, top, gate)))
    ft, fh = fm.tanh.f, fm.result.f
    fd = max(ft, fh)  # h - n, exact
    d = _obj(h) * (1 << (fd - fh)) - n * (1 << (fd - ft))
    top = fs + fd
    s = n * (1 << (top - ft)) + z * d
    return np.asarray(requantize(s, top, fm.result))
