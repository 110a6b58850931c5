"""Per-channel and per-element fixed-point formats (the k, i, f tensors of HGQ and PQuantML).

A tensor keeps one *container* format (its `!fxp.fixed` element type) that holds every value exactly;
`ChannelFormats` records the finer formats its parts were quantized to: an integer array of shape
S + (3,) of (k, i, f) triples, where S has the tensor's rank and each dimension is 1 (shared) or the
tensor's (one format per index) — NumPy broadcasting.  All channel formats share the container's
rounding and overflow modes.

A zero-bit element (HGQ prunes an element by learning it no bits: k = 0, i + f <= 0) is the triple
`PRUNED` = (0, 0, 0): its value is 0 whatever the input, it belongs to no format group (`groups`) and costs
nothing; `pruned(shape)` lists those elements.

Semantics (`cast_channels`): element x[p] is assigned to its channel format F(p) (round with Q, overflow
with O, via `fxflow.fixed.quantize`) and the result is stored in the container, which covers every F(p),
so that second assignment is exact.  Constants carrying channel formats hold values exact in their F(p).
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from .format import FixedFormat
from .interval import Interval, cast_interval, smallest_format
from .quantize import saturation_bounds, quantize, requantize


PRUNED = (0, 0, 0)  # a zero-bit element: always 0


class ChannelFormats:
    """(k, i, f) per channel / element, broadcast against a tensor shape; modes shared by all."""

    def __init__(self, kif, rounding: str = "TRN", overflow: str = "WRAP"):
        kif = np.asarray(kif)
        if kif.dtype.kind not in "iu" or kif.ndim < 1 or kif.shape[-1] != 3:
            raise FormatError(f"channel formats must be integer (k, i, f) triples, shape [..., 3]; got shape "
                              f"{list(kif.shape)} of {kif.dtype}")
        self.kif = kif.astype(np.int64)
        self.rounding, self.overflow = rounding, overflow
        self._formats = {}
        for t in {tuple(int(v) for v in row) for row in self.kif.reshape(-1, 3)}:
            if t != PRUNED:
                self._formats[t] = FixedFormat(*t, rounding, overflow)  # FormatError for an illegal one

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.kif.shape[:-1])

    def formats(self) -> list[FixedFormat]:
        """The distinct formats of the unpruned elements, widest first (then by k, i, f): a deterministic order."""
        return sorted(self._formats.values(), key=lambda f: (-f.width, f.k, f.i, f.f))

    def shape_error(self, shape) -> str | None:
        """Why these formats do not broadcast against `shape` (None when they do)."""
        shape = tuple(shape)
        if len(self.shape) != len(shape) or any(s not in (1, d) for s, d in zip(self.shape, shape)):
            return (f"channel formats of shape {list(self.shape)} do not broadcast to the tensor shape {list(shape)} "
                    "(same rank; each dimension 1 or the tensor's)")
        return None

    def expand(self, shape) -> np.ndarray:
        """The (k, i, f) of every element: shape `shape` + (3,)."""
        return np.broadcast_to(self.kif, tuple(shape) + (3,))

    def groups(self, shape) -> list[tuple[FixedFormat, np.ndarray]]:
        """(format, flat row-major indices of its elements) per distinct format, in `formats()` order."""
        flat = self.expand(shape).reshape(-1, 3)
        out = []
        for fmt in self.formats():
            idx = np.flatnonzero(np.all(flat == (fmt.k, fmt.i, fmt.f), axis=1))
            if idx.size:
                out.append((fmt, idx))
        return out

    def pruned(self, shape) -> np.ndarray:
        """Flat row-major indices of the zero-bit elements (always 0)."""
        return np.flatnonzero(np.all(self.expand(shape).reshape(-1, 3) == PRUNED, axis=1))

    def uncovered(self, container: FixedFormat) -> FixedFormat | None:
        """A channel format some of whose cast results the container cannot take unchanged (None: it covers
        them all).  Both sides use the range an assignment can produce (`saturation_bounds`: SAT_SYM excludes
        min_int), so storing a channel's result in the container is the identity."""
        def covered(f: FixedFormat) -> bool:
            if container.f < f.f:
                return False
            (lo, hi), (clo, chi), d = saturation_bounds(f), saturation_bounds(container), container.f - f.f
            return clo <= lo << d and hi << d <= chi

        return next((f for f in self.formats() if not covered(f)), None)

    def misfit(self, stored: np.ndarray, f: int, shape):
        """(flat index, stored integer, format) of a value at grid 2^-f not exactly representable in its
        channel format, or None."""
        vals = np.asarray(stored).reshape(-1)
        for i in self.pruned(shape):
            if int(vals[i]) != 0:
                return int(i), int(vals[i]), "zero bits (a pruned element)"
        for fmt, idx in self.groups(shape):
            n = np.array([int(v) for v in vals[idx]], dtype=object)
            s = f - fmt.f
            if s < 0:
                return int(idx[0]), int(n[0]) if n.size else 0, fmt
            on = n % (1 << s) == 0 if s else np.ones(n.shape, bool)
            scaled = n // (1 << s)
            bad = ~on | (scaled < fmt.min_int) | (scaled > fmt.max_int)
            if np.any(bad):
                j = int(np.flatnonzero(bad)[0])
                return int(idx[j]), int(n[j]), fmt
        return None

    def container(self) -> FixedFormat:
        """The narrowest format covering every channel format (a valid element type)."""
        fmts = self.formats()
        if not fmts:  # every element pruned: any format holds the zeros
            return FixedFormat(0, 1, 0, self.rounding, self.overflow)
        f = max(x.f for x in fmts)
        lo = min(x.min_int << (f - x.f) for x in fmts)
        hi = max(x.max_int << (f - x.f) for x in fmts)
        c = smallest_format(lo, hi, f, self.rounding, self.overflow)
        if self.uncovered(c) is not None:  # SAT_SYM: min_int is not assignable, one more integer bit
            c = FixedFormat(c.k, c.i + 1, c.f, c.rounding, c.overflow)
        return c

    def total_bits(self, shape) -> int:
        """Bits of a tensor of `shape` stored in its channel formats."""
        return int(sum(fmt.width * idx.size for fmt, idx in self.groups(shape)))

    def __eq__(self, other) -> bool:
        return (isinstance(other, ChannelFormats) and self.kif.shape == other.kif.shape
                and np.array_equal(self.kif, other.kif) and (self.rounding, self.overflow) == (other.rounding, other.overflow))

    def __repr__(self) -> str:
        return f"ChannelFormats(shape={list(self.shape)}, formats=[{', '.join(map(str, self.formats()))}])"


def cast_channels(x: np.ndarray, f_from: int | None, cf: ChannelFormats, container: FixedFormat,
                  shape) -> np.ndarray:
    """Assign each element of a batch to its channel format, stored in `container` (stored integers).

    `x`: (N, ...) stored integers at grid 2^-f_from, or reals (float64) when `f_from` is None; `shape`
    is the IR tensor shape whose leading (batch) dimension is 1 — the formats may not vary along it."""
    shape = tuple(shape)
    if cf.shape and cf.shape[0] != 1:
        raise FormatError("per-channel formats of an activation may not vary along the batch dimension")
    n = x.shape[0]
    flat = np.asarray(x).reshape(n, -1)
    out = np.zeros(flat.shape, dtype=object if container.width > 62 else np.int64)  # pruned elements stay 0
    for fmt, idx in cf.groups((1,) + shape[1:]):
        part = flat[:, idx]
        q = quantize(part, fmt) if f_from is None else requantize(part, f_from, fmt)
        out[:, idx] = requantize(q, fmt.f, container)  # exact: the container covers fmt
    return out.reshape(x.shape)


def channel_cast_interval(x: Interval, cf: ChannelFormats, container: FixedFormat) -> Interval:
    """The exact range after `cast_channels`: per group the range of the cast to its format."""
    shape = x.lo.shape
    lo = np.zeros(int(np.prod(shape)), dtype=object)  # pruned elements: [0, 0]
    hi = np.zeros(int(np.prod(shape)), dtype=object)
    for fmt, idx in cf.groups(shape):
        sub = cast_interval(Interval(x.lo.reshape(-1)[idx], x.hi.reshape(-1)[idx], x.f), fmt).aligned(container.f)
        lo[idx], hi[idx] = sub.lo, sub.hi
    return Interval(lo.reshape(shape), hi.reshape(shape), container.f)


def exact_channel_formats(stored: np.ndarray, f: int, axis: int, container: FixedFormat) -> ChannelFormats:
    """Per index along `axis`, the narrowest format holding that slice's values (stored integers at grid
    2^-f) exactly — the formats a per-channel quantizer with no spare bits would use.  Modes: the
    container's."""
    a = np.asarray(stored).astype(object)
    a = np.moveaxis(a, axis, 0).reshape(a.shape[axis], -1)
    kif = []
    for row in a:
        nz = [int(v) for v in row if int(v) != 0]
        s = min(((v & -v).bit_length() - 1 for v in nz), default=0)  # trailing zero bits shared by the slice
        lo, hi = (min(nz) >> s, max(nz) >> s) if nz else (0, 0)
        fmt = smallest_format(min(lo, 0), max(hi, 0), f - s)
        kif.append((fmt.k, fmt.i, fmt.f))
    shape = [1] * np.asarray(stored).ndim + [3]
    shape[axis] = len(kif)
    return ChannelFormats(np.array(kif, dtype=np.int64).reshape(shape), container.rounding, container.overflow)


def channel_param(p: np.ndarray, rank: int) -> np.ndarray:
    """A [C] or [1] parameter shaped to broadcast over a batch of rank-`rank` samples (channel = dim 1)."""
    p = np.asarray(p).reshape(-1)
    if p.size == 1:
        return p.reshape(())
    return p.reshape((1, p.size) + (1,) * (rank - 2))
