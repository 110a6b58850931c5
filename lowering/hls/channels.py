"""C++ for per-channel formats (the `formats` attribute, dialects/fxp/channels.py).

A per-channel `fxp.cast` gets one typedef per distinct channel format and assigns every element through
its channel's type (`y[i] = ch_t(x[i])`: the ap_types headers do the rounding and overflow), then stores
it in the container array (exact: the container covers every channel format).  A constant with channel
formats keeps its container-typed array (the arithmetic is exact either way); its channel types are
declared in defines.h and listed in the kernel, channel by channel.
"""

from __future__ import annotations

import numpy as np

from fxflow.dialects.fxp.channels import channel_formats
from fxflow.errors import FormatError, IRError


def _formats(k, op):
    try:
        return channel_formats(op)
    except FormatError as e:
        raise IRError(f"HLS emitter: {e}: {k.where(op)}") from None


def _progression(idx: np.ndarray) -> tuple[int, int] | None:
    """(start, step) when the indices are an arithmetic progression (one loop, no index table)."""
    if idx.size == 1:
        return int(idx[0]), 1
    steps = np.diff(idx)
    return (int(idx[0]), int(steps[0])) if np.all(steps == steps[0]) else None


def print_channel_cast(k, op) -> None:
    x, y = op.operands[0], op.results[0]
    if x in getattr(k, "views", {}):  # io_stream token kernels see one position at a time
        raise k.error(op, "a per-channel cast in an io_stream token kernel is not supported; use io_parallel")
    k.fmt(x, op, "input")
    container = k.fmt(y, op, "result")
    cf = _formats(k, op)
    shape = k.shape(y, op, "result")
    src = k.ref(x)
    groups = cf.groups(shape)
    k.body(f"// fxp.cast per channel -> {container}: each element assigned to its channel's type "
           f"({len(groups)} group(s)), stored exactly")
    dst = k.dest(y, op, "cast")
    pruned = cf.pruned(shape)
    if pruned.size:  # zero-bit elements are 0 whatever the input
        table = k.fresh("chzero")
        k.body(f"static const int {table}[{pruned.size}] = {{{', '.join(str(int(v)) for v in pruned)}}};")
        k.body.loop("j", int(pruned.size))
        k.body(f"{dst}[{table}[j]] = 0;")
        k.body.close()
    for j, (fmt, idx) in enumerate(groups):
        t = k.design.typedef(f"{k.name}_cast_ch{j}", fmt, f"kernel {k.name}")
        prog = _progression(idx)
        if prog is not None:
            start, step = prog
            k.body.loop("j", int(idx.size))
            i = "j" if step == 1 else f"j * {step}"
            i = i if start == 0 else f"{start} + {i}"
            k.body(f"{dst}[{i}] = {t}({src}[{i}]);")
        else:
            table = k.fresh("chidx")
            k.body(f"static const int {table}[{idx.size}] = {{{', '.join(str(int(v)) for v in idx)}}};")
            k.body.loop("j", int(idx.size))
            k.body(f"{dst}[{table}[j]] = {t}({src}[{table}[j]]);")
        k.body.close()


def _describe(cf, fmt, shape) -> str:
    """Which part of the tensor a channel format covers: channel indices along the one varying axis."""
    varying = [a for a, s in enumerate(cf.shape) if s != 1]
    if len(varying) == 1:
        a = varying[0]
        kif = np.moveaxis(cf.kif, a, 0).reshape(cf.shape[a], 3)
        chans = [c for c in range(cf.shape[a]) if tuple(int(v) for v in kif[c]) == (fmt.k, fmt.i, fmt.f)]
        return f"index {', '.join(map(str, chans))} of dimension {a}"
    n = int(np.all(cf.expand(shape).reshape(-1, 3) == (fmt.k, fmt.i, fmt.f), axis=1).sum())
    return f"{n} element(s)"


def declare_constant_channels(k, op, name: str, role: str, ctype: str) -> None:
    cf = _formats(k, op)
    shape = k.shape(op.results[0], op, "result")
    group = f"kernel {k.name}: {role} channel formats (values stored exactly in {ctype})"
    k.body(f"// {name}: per-channel formats of the {role}, each value exact in its channel's type:")
    for j, (fmt, _) in enumerate(cf.groups(shape)):
        t = k.design.typedef(f"{k.name}_{role}_ch{j}", fmt, group)
        k.body(f"//   {t} = {fmt}: {_describe(cf, fmt, shape)}")
