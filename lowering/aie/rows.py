"""Row kernels of the AIE backend besides HCCS: LayerNorm (`fxp.layernorm`), the table softmax (`fxp.softmax`
stable / latency) and table activations (`fxp.lut`: GELU, sigmoid, tanh, ...), each on one tile over whole rows of
features.

Their integer definitions are `fxflow.fixed.layernorm.layernorm` and `fxflow.fixed.softmax.softmax`: every step is a
requantization of an exact integer (ap_fixed rounding then overflow), a table lookup or an exact sum.  The kernels
(`kernels/rows_vec.py`, `kernels/transformer.py`) run those steps on int64 scalars (the exact sums on vectors), so a
layer is accepted only when every intermediate provably fits 62 bits (the same bounds `fxflow.fixed` uses for its
int64 paths) and its tables fit int32 lanes;
otherwise UnsupportedOpError names the layer and the limit.  The simulator calls the `fxflow.fixed` functions
(`run_row`), so `simulate == predict` checks the row layout, the padding and the wiring around them.  A table
activation is elementwise; it runs as a row kernel so it reuses the row layout, placement and memory checks
(`fxflow.fixed.table.lookup` is its integer definition).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from fxflow.errors import UnsupportedOpError
from fxflow.fixed import FixedFormat
from fxflow.fixed.hccs import hccs
from fxflow.fixed.layernorm import derived_formats, epsilon_units, layernorm
from fxflow.fixed.quantize import requantize
from fxflow.fixed.softmax import index_bits, softmax
from fxflow.fixed.table import TableIndex, lookup

from fxflow.lowering.aie.arith import STORAGE, storage_of
from fxflow.lowering.aie.program import LayerNormSpec, RowTile, TableSoftmaxSpec

INT64_BITS = 62  # the kernels' int64 scalars: every intermediate below this many magnitude bits
TABLE_STORE = "i32"


def _narrow(layer: str, what: str, fmt: FixedFormat, limit: int = 16) -> str:
    s = storage_of(fmt)
    if s is None or STORAGE[s][1] > limit:
        raise UnsupportedOpError(f"layer '{layer}': {what} format {fmt} needs more than {limit}-bit storage; the AIE "
                                 f"row kernels take int8/int16 {what}s" if limit == 16 else
                                 f"layer '{layer}': {what} format {fmt} needs more than {limit}-bit storage", layer)
    return s


def _fits(layer: str, what: str, bits: int) -> None:
    if bits > INT64_BITS:
        raise UnsupportedOpError(f"layer '{layer}': {what} needs {bits} bits; the AIE row kernel computes in int64 "
                                 f"scalars (at most {INT64_BITS} bits)", layer)


def layernorm_spec(layer: str, n: int, x: FixedFormat, gamma, g_fmt: FixedFormat, beta, b_fmt: FixedFormat, fm,
                   eps: float, rms: bool, out: FixedFormat) -> LayerNormSpec:
    """The LayerNorm of one row of n features, or UnsupportedOpError naming the limit it breaks."""
    _narrow(layer, "input", x)
    _narrow(layer, "result", out)
    for what, fmt in (("gamma", g_fmt), ("beta", b_fmt)):
        _narrow(layer, what, fmt, 32)
    diff, sq = derived_formats(x, fm, n, rms)
    _fits(layer, "the row sum", max(x.width + n.bit_length(), fm.accum.width) + abs(x.f - fm.accum.f) + 2)
    _fits(layer, "the centred value x - mean", diff.width + abs(diff.f - min(x.f, fm.mean.f)) + 1)
    _fits(layer, "the sum of squares", 2 * diff.width + n.bit_length())
    p = 2 * fm.inv_std.f + fm.var.f
    e_bits = int(epsilon_units(eps, fm.var)).bit_length()
    if not 0 <= p <= INT64_BITS:
        raise UnsupportedOpError(f"layer '{layer}': 1/sqrt(var) compares against 2^{p} (2 f_inv_std + f_var); the "
                                 f"AIE row kernel needs 0 <= {p} <= {INT64_BITS}", layer)
    _fits(layer, "var + eps", max(fm.var.width, e_bits) + 1)  # 1/sqrt: isqrt(2^p // (var + eps)), capped
    _fits(layer, "(x - mean) * inv_std", diff.width + fm.inv_std.width + 2)
    pf = fm.norm.f + g_fmt.f
    f = max(pf, b_fmt.f)
    _fits(layer, "norm * gamma + beta", max(fm.norm.width + g_fmt.width + f - pf, b_fmt.width + f - b_fmt.f) + 1)
    spec = LayerNormSpec(x, np.asarray(gamma, dtype=np.int64).reshape(-1), g_fmt,
                         np.asarray(beta, dtype=np.int64).reshape(-1), b_fmt, fm, float(eps), bool(rms), out)
    check_plan(layer, layernorm_plan(spec, n))
    return spec


def table_softmax_spec(layer: str, x: FixedFormat, out: FixedFormat, implementation: str, fm, exp_tab,
                       inv_tab) -> TableSoftmaxSpec:
    """The table softmax of one row, or UnsupportedOpError naming the limit it breaks."""
    if implementation not in ("stable", "latency"):
        raise UnsupportedOpError(f"layer '{layer}': softmax implementation '{implementation}' has no AIE kernel "
                                 "(stable, latency and hccs do)", layer)
    _narrow(layer, "input", x)
    _narrow(layer, "result", out)
    for what, fmt in (("exp table (in the accumulator format)", fm.accum), ("inverse table", fm.inv)):
        _narrow(layer, what, fmt, 32)
    _fits(layer, "exp * inverse", fm.accum.width + fm.inv.width)
    if implementation == "stable":
        _fits(layer, "max - x", x.width + 2)
    exp_acc = np.asarray(requantize(np.asarray(exp_tab, dtype=np.int64), fm.exp.f, fm.accum), dtype=np.int64)
    spec = TableSoftmaxSpec(x, out, implementation, fm, exp_acc, np.asarray(inv_tab, dtype=np.int64))
    check_plan(layer, softmax_plan(spec))
    return spec


@dataclass(frozen=True)
class LutSpec:
    """`fxp.lut` on stored integers (`fxflow.fixed.table.lookup`): entry clamp((x >> shift) - offset, 0, size - 1),
    or out(x) from `index.identity_from` on; the entries (stored integers of `out`) are resident in the tile."""

    x: FixedFormat
    out: FixedFormat
    index: TableIndex
    table: np.ndarray


def lut_spec(layer: str, x: FixedFormat, out: FixedFormat, index: TableIndex, table) -> LutSpec:
    """The table activation of one row, or UnsupportedOpError naming the limit it breaks."""
    _narrow(layer, "input", x)
    _narrow(layer, "result", out)
    if not 0 <= index.shift <= x.width:
        raise UnsupportedOpError(f"layer '{layer}': the table index shifts the input by {index.shift} bits; the AIE "
                                 f"lookup kernel takes shifts of 0..{x.width}", layer)
    if index.identity_from is not None and abs(x.f - out.f) > INT64_BITS:
        raise UnsupportedOpError(f"layer '{layer}': the identity tail rescales by 2^{out.f - x.f}; the AIE row kernel "
                                 f"shifts by at most {INT64_BITS} bits", layer)
    return LutSpec(x, out, index, np.asarray(table, dtype=np.int64).reshape(-1))


def lut_plan(spec: LutSpec) -> dict:
    """The lookup kernel's result format and index constants (`fxflow.fixed.table.TableIndex`)."""
    ix = spec.index
    ident = ix.identity_from is not None
    return {"formats": {"Out": spec.out}, "shifts": {"ID_SHIFT": spec.x.f - spec.out.f}, "ups": {},
            "ints": {"SHIFT": ix.shift, "OFFSET": ix.offset, "SIZE": ix.size,
                     "ID_FROM": ix.identity_from if ident else 0}}


def layernorm_plan(spec: LayerNormSpec, n: int) -> dict:
    """The kernel's formats (requantization targets) and constant shifts, one entry per step of the module doc of
    `fxflow.fixed.layernorm` (a shift S requantizes a value at grid 2^-(f + S) to a format of f fractional bits)."""
    fm, x = spec.formats, spec.x
    diff, sq = derived_formats(x, fm, n, spec.rms)
    g = max(x.f, fm.accum.f)
    pf = fm.norm.f + spec.g_fmt.f
    f = max(pf, spec.b_fmt.f)
    return {
        "formats": {"Acc": fm.accum, "Mean": fm.mean, "Diff": diff, "Var": fm.var, "Norm": fm.norm, "Out": spec.out},
        "shifts": {"SUM_SHIFT": g - fm.accum.f, "MEAN_SHIFT": fm.accum.f - fm.mean.f, "DX_SHIFT": x.f - diff.f,
                   "DM_SHIFT": fm.mean.f - diff.f, "VAR_SHIFT": sq.f - fm.var.f,
                   "NORM_SHIFT": diff.f + fm.inv_std.f - fm.norm.f, "OUT_SHIFT": f - spec.out.f},
        "ups": {"SUM_UP_ACC": g - fm.accum.f, "SUM_UP_X": g - x.f, "G_UP": f - pf, "B_UP": f - spec.b_fmt.f},
        "ints": {"EPS": epsilon_units(spec.epsilon, fm.var), "P": 2 * fm.inv_std.f + fm.var.f,
                 "INV_W": fm.inv_std.width},
    }


def softmax_plan(spec: TableSoftmaxSpec) -> dict:
    """The table softmax kernel's formats, shifts and index widths (module doc of `fxflow.fixed.softmax`)."""
    fm = spec.formats
    stable = spec.implementation == "stable"
    index = fm.norm if stable else spec.x
    return {
        "formats": {"Acc": fm.accum, "InvIn": fm.inv_in, "Out": spec.out, **({"Norm": fm.norm} if stable else {})},
        "shifts": {**({"NORM_SHIFT": spec.x.f - fm.norm.f} if stable else {}),
                   "INVIN_SHIFT": fm.accum.f - fm.inv_in.f, "OUT_SHIFT": fm.accum.f + fm.inv.f - spec.out.f},
        "ups": {},
        "ints": {"IDX_W": index.width, "EXP_BITS": index_bits(len(spec.exp_acc)), "INVIN_W": fm.inv_in.width,
                 "INV_BITS": index_bits(len(spec.inv))},
    }


def check_plan(layer: str, plan: dict) -> dict:
    """Every requantization target of a plan fits the kernel's int64 scalars and every shift is a legal one."""
    for name, fmt in plan["formats"].items():
        if not 1 <= fmt.width <= INT64_BITS:
            raise UnsupportedOpError(f"layer '{layer}': intermediate format {fmt} is {fmt.width} bits wide; the AIE "
                                     f"row kernel holds at most {INT64_BITS}-bit integers", layer)
    for name, s in {**plan["shifts"], **plan["ups"]}.items():
        if abs(s) > INT64_BITS:
            raise UnsupportedOpError(f"layer '{layer}': a rescaling by 2^{-s} exceeds the AIE row kernel's "
                                     f"{INT64_BITS}-bit shifts", layer)
    return plan


def row_tables(role: str, spec) -> list[tuple[str, np.ndarray]]:
    """The resident int32 buffers of a row kernel, (name suffix, values) in kernel argument order."""
    if role == "layernorm":
        return [("g", spec.gamma), ("b", spec.beta)]
    if role == "softmax":
        return [("exp", spec.exp_acc), ("inv", spec.inv)]
    if role == "lut":
        return [("tab", spec.table)]
    return []


def row_function(role: str, spec):
    """rows [R, n] stored integers -> [R, n] stored integers: the row kernel's integer definition."""
    if role == "hccs":
        return lambda rows: hccs(rows, spec)
    if role == "layernorm":
        return lambda rows: layernorm(rows, spec.x, spec.gamma, spec.g_fmt, spec.beta, spec.b_fmt, spec.formats,
                                      spec.epsilon, spec.rms, spec.out)
    if role == "lut":
        return lambda rows: lookup(rows, spec.index, spec.table, spec.x, spec.out)
    # the tables as the tile holds them: exp entries already assigned to accum (so the exp format is accum's)
    fm = replace(spec.formats, exp=spec.formats.accum)
    return lambda rows: softmax(rows, spec.x, spec.out, spec.implementation, fm, spec.exp_acc, spec.inv)


def run_row(role: str, t: RowTile, flat: np.ndarray, m: int) -> np.ndarray:
    """A row kernel on its slice-major input buffer: rows gathered from the slices, its integer definition on the
    n real features, scattered back with zero padding."""
    rows = flat.reshape(t.slices, m, t.slice_len).transpose(1, 0, 2).reshape(m, -1)
    out = np.zeros_like(rows)
    out[:, :t.n] = row_function(role, t.spec)(rows[:, :t.n])
    return out.reshape(m, t.slices, t.slice_len).transpose(1, 0, 2).ravel()
