"""PLIO stream bridges in HLS C++: the PL side of every AIE boundary port.

`<name>_plio(x[M][F], hls::stream<plio_t> &in0, ...)` runs the PL head's top on each of the batch's M rows
and packs its output into the AIE program's input ports; `<name>_plio(out0, ..., y[M][F])` unpacks the AIE
output ports and runs the PL tail's top on each row.  Each port carries, per batch, its feature slices
slice-major ([slice][row][element], padded with zeros past the last feature), every element the stored
integer of the boundary format sign- (or zero-) extended to its AIE lane (8 or 16 bits), lanes filling each
128-bit beat from bit 0, a port's last beat zero-padded.  A feature-map port (an AIE segment of conv / pool /
add layers, `HostPort.fmap`) carries each row's [C, H, W] map channels-last instead, [row][H][W][Cp], channels
zero-padded to Cp: the layout the AIE feature-map program reads from (writes to) its memory tile.
`pack`/`unpack` are the same layout in NumPy (the joined simulation's view of the beats; tested against the C++).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fxflow.lowering.aie.arith import STORAGE
from fxflow.lowering.aie.cost import nbytes
from fxflow.fixed import FixedFormat


@dataclass
class BridgePort:
    fifo: str
    first_feature: int
    slices: int
    slice_len: int
    lane_bits: int
    signed: bool = True  # the AIE storage type (i8/i16 or u8/u16): how a lane extends
    fmap: tuple[int, int, int, int] | None = None  # (C, H, W, Cp): a channels-last feature map per row
    rows: list[tuple[int, int]] = field(default_factory=list)  # the map's row bands [i0, i1), sent one after another

    def bands(self) -> list[tuple[int, int]]:
        return self.rows or [(0, self.fmap[1])]

    @property
    def elements_per_row(self) -> int:
        if self.fmap is not None:
            _, h, w, cp = self.fmap
            return sum(i1 - i0 for i0, i1 in self.bands()) * w * cp
        return self.slices * self.slice_len

    def fmap_features(self) -> np.ndarray:
        """Per element of a feature-map row in beat order ([band][rows][W][Cp]; a band's halo rows repeat a
        neighbour's): its index in the channels-first row [C*H*W], -1 for a padding channel."""
        c, h, w, cp = self.fmap
        idx = np.full((h, w, cp), -1, dtype=np.int64)
        idx[..., :c] = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0)
        return np.concatenate([idx[i0:i1].ravel() for i0, i1 in self.bands()])

    def beats(self, m: int, bits: int = 128) -> int:
        """Beats per batch of m rows."""
        return -(-self.elements_per_row * m // (bits // self.lane_bits))


def ports_of(prog, side: str) -> list[BridgePort]:
    """The bridge ports of an AieProgram's inputs (`side="in"`) or outputs."""
    out = []
    for p in prog.inputs if side == "in" else prog.outputs:
        f = prog.fifo(p.fifo)
        out.append(BridgePort(p.fifo, p.first_slice * p.slice_len, p.slices, p.slice_len, 8 * nbytes(f.store),
                              STORAGE[f.store][0] == 1, p.fmap, list(p.rows)))
    return out


def _lanes(port: BridgePort, bits: int) -> int:
    return bits // port.lane_bits


def pack(port: BridgePort, rows: np.ndarray, bits: int = 128) -> list[int]:
    """Rows [M, F] of stored integers -> the port's beats (Python ints of `bits` bits)."""
    m, feats = rows.shape
    vals = []
    if port.fmap is not None:
        idx = port.fmap_features()
        ok = (idx >= 0) & (idx < feats)
        for r in range(m):
            block = np.zeros(idx.size, dtype=np.int64)
            block[ok] = rows[r, idx[ok]]
            vals += [int(v) for v in block]
    for s in range(port.slices if port.fmap is None else 0):
        lo = port.first_feature + s * port.slice_len
        block = np.zeros((m, port.slice_len), dtype=np.int64)
        hi = min(lo + port.slice_len, feats)
        if hi > lo:
            block[:, :hi - lo] = rows[:, lo:hi]
        vals += [int(v) for v in block.ravel()]
    lanes, mask = _lanes(port, bits), (1 << port.lane_bits) - 1
    return [sum((vals[i + j] & mask) << (j * port.lane_bits) for j in range(min(lanes, len(vals) - i)))
            for i in range(0, len(vals), lanes)]


def unpack(port: BridgePort, beats: list[int], m: int, out: np.ndarray, bits: int = 128) -> None:
    """The port's beats -> its features of `out` [M, F] (stored integers; lanes sign-extended when signed)."""
    lanes, mask, half = _lanes(port, bits), (1 << port.lane_bits) - 1, 1 << (port.lane_bits - 1)
    vals = [((w >> (j * port.lane_bits)) & mask) for w in beats for j in range(lanes)]
    if port.signed:
        vals = [v - (1 << port.lane_bits) if v >= half else v for v in vals]
    feats = out.shape[1]
    if port.fmap is not None:
        idx = port.fmap_features()
        ok = (idx >= 0) & (idx < feats)
        for r in range(m):
            block = np.asarray(vals[r * idx.size:(r + 1) * idx.size], dtype=np.int64)
            out[r, idx[ok]] = block[ok]
        return
    for s in range(port.slices):
        for r in range(m):
            for e in range(port.slice_len):
                f = port.first_feature + s * port.slice_len + e
                if f < feats:
                    out[r, f] = vals[(s * m + r) * port.slice_len + e]


def _raw_type(fmt: FixedFormat) -> str:
    return f"ap_{'int' if fmt.k else 'uint'}<{fmt.width}>"


def _lane_type(fmt: FixedFormat, bits: int) -> str:
    return f"ap_{'int' if fmt.k else 'uint'}<{bits}>"


def _port_loop(p: BridgePort, m: int, feats: int, inner: list[str], after: list[str],
               read: str | None = None) -> list[str]:
    """One port's loop over its elements in beat order (slice, row, element; or for a feature map row, H, W,
    channel); `f` is the element's feature index, `feats` (out of range) for padding.
    `read`: the stream to read a new beat from whenever the lane index wraps to 0."""
    fetch = [f"if (lane == 0) word = {read}.read();"] if read else []
    pre: list[str] = []
    if p.fmap is not None:
        c, h, w, cp = p.fmap
        what = f"a {c}x{h}x{w} feature map per row, channels-last [{h}][{w}][{cp}]"
        bands = p.bands()
        if p.rows:
            what += f", in row bands {bands} (a band's halo rows sent again)"
        pre = [f"static const int band_lo[{len(bands)}] = {{{', '.join(str(b[0]) for b in bands)}}};",
               f"static const int band_hi[{len(bands)}] = {{{', '.join(str(b[1]) for b in bands)}}};"]
        loops = [f"for (int r = 0; r < {m}; r++)", f"    for (int band = 0; band < {len(bands)}; band++)",
                 "        for (int hh = band_lo[band]; hh < band_hi[band]; hh++)",
                 f"            for (int ww = 0; ww < {w}; ww++)",
                 f"                for (int ch = 0; ch < {cp}; ch++) {{"]
        index = f"const int f = ch < {c} ? ch * {h * w} + hh * {w} + ww : {feats};"
    else:
        what = f"features {p.first_feature}.. in {p.slices} slice(s) of {p.slice_len}"
        loops = [f"for (int s = 0; s < {p.slices}; s++)", f"    for (int r = 0; r < {m}; r++)",
                 f"        for (int e = 0; e < {p.slice_len}; e++) {{"]
        index = f"const int f = {p.first_feature} + s * {p.slice_len} + e;"
    ind = " " * (8 + 4 * len(loops))
    body = fetch + [index] + inner
    return [f"    {{  // @{p.fifo}: {what}", "        plio_t word = 0;", "        int lane = 0;",
            *[" " * 8 + line for line in pre],
            *[" " * 8 + line for line in loops], *[ind + line for line in body],
            " " * (4 + 4 * len(loops)) + "}", *[" " * 8 + line for line in after], "    }"]


def _pack_port(p: BridgePort, m: int, fmt: FixedFormat, feats: int) -> list[str]:
    """Rows y[m][feats] -> the port's beats, written to its stream."""
    b = p.lane_bits
    return _port_loop(p, m, feats, [
        f"{_raw_type(fmt)} raw = 0;",
        f"if (f < {feats}) raw.range({fmt.width - 1}, 0) = y[r][f].range({fmt.width - 1}, 0);",
        f"{_lane_type(fmt, b)} v = raw;",
        f"word.range(lane * {b} + {b - 1}, lane * {b}) = v.range({b - 1}, 0);",
        f"if (++lane == {128 // b}) {{ {p.fifo}.write(word); word = 0; lane = 0; }}"],
        [f"if (lane) {p.fifo}.write(word);"])


def _unpack_port(p: BridgePort, m: int, fmt: FixedFormat, feats: int) -> list[str]:
    """The port's beats, read from its stream -> its features of rows y[m][feats]."""
    b = p.lane_bits
    return _port_loop(p, m, feats, [
        f"{_lane_type(fmt, b)} v;", f"v.range({b - 1}, 0) = word.range(lane * {b} + {b - 1}, lane * {b});",
        f"if (f < {feats}) y[r][f].range({fmt.width - 1}, 0) = v.range({fmt.width - 1}, 0);",
        f"if (++lane == {128 // b}) lane = 0;"], [], read=p.fifo)


def _streams(ports: list[BridgePort]) -> str:
    return ", ".join(f"hls::stream<plio_t> &{p.fifo}" for p in ports)


def header(name: str, guard: str, includes: list[str], typedefs: list[str], decl: str, doc: list[str]) -> str:
    lines = [f"// {name}.h: PLIO stream bridge (generated by fxflow).", *[f"// {d}" for d in doc],
             f"#ifndef {guard}", f"#define {guard}", "", '#include "ap_int.h"', '#include "ap_fixed.h"',
             '#include "hls_stream.h"', *[f'#include "{i}"' for i in includes], "",
             "typedef ap_uint<128> plio_t;  // one PLIO beat", *typedefs, "", f"{decl};", "", f"#endif  // {guard}", ""]
    return "\n".join(lines)


def to_aie_source(name: str, m: int, src: tuple[str, int], top: str | None, mid: tuple[str, int],
                  fmt: FixedFormat, ports: list[BridgePort]) -> tuple[str, str]:
    """The bridge into the AIE: src = (ctype, features) of its input rows; `top` (the PL head's top function,
    None for a bare input) maps them to mid = (ctype, features), the AIE input in format `fmt`."""
    decl = f"void {name}(const {src[0]} x[{m}][{src[1]}], {_streams(ports)})"
    body = [f'#include "{name}.h"', "", decl + " {",
            "#pragma HLS INTERFACE axis port=" + " ".join(p.fifo for p in ports) if ports else "",
            f"    {mid[0]} y[{m}][{mid[1]}];",
            f"    for (int r = 0; r < {m}; r++) {{"]
    body += [f"        {top}(x[r], y[r]);"] if top else [f"        for (int i = 0; i < {mid[1]}; i++) y[r][i] = x[r][i];"]
    body += ["    }"]
    body += [line for p in ports for line in _pack_port(p, m, fmt, mid[1])]
    body += ["}", ""]
    return decl, "\n".join(line for line in body if line != "")


def from_aie_source(name: str, m: int, dst: tuple[str, int], top: str | None, mid: tuple[str, int],
                    fmt: FixedFormat, ports: list[BridgePort]) -> tuple[str, str]:
    """The bridge out of the AIE: unpack mid = (ctype, features) rows in format `fmt`, then `top` (the PL
    tail's top function, None for a bare output) maps each to dst = (ctype, features)."""
    decl = f"void {name}({_streams(ports)}, {dst[0]} z[{m}][{dst[1]}])"
    body = [f'#include "{name}.h"', "", decl + " {",
            "#pragma HLS INTERFACE axis port=" + " ".join(p.fifo for p in ports),
            f"    {mid[0]} y[{m}][{mid[1]}];"]
    body += [line for p in ports for line in _unpack_port(p, m, fmt, mid[1])]
    body += [f"    for (int r = 0; r < {m}; r++) {{"]
    body += [f"        {top}(y[r], z[r]);"] if top else [f"        for (int i = 0; i < {mid[1]}; i++) z[r][i] = y[r][i];"]
    body += ["    }", "}", ""]
    return decl, "\n".join(body)
