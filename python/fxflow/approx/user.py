"""User-supplied multipliers: a product table file (NumPy .npy or CSV) and/or a C function.

A table is indexed by the operands' *bit patterns*: row `a & (2^wa - 1)`, column `b & (2^wb - 1)` (so a
signed -1 is row 2^wa - 1, as in EvoApproxLib/AdaPT LUTs); its shape gives the widths (powers of two), its
values the products (integers).  A CSV holds the rows of that matrix, or one value per line (square
tables).  A C function `R f(A a, B b)` with integer types (EvoApproxLib's `int16_t mul8s_1L2H(int8_t,
int8_t)`, say) is compiled with g++ once to tabulate it; the emitted C++ includes its source and calls it.
Given both, every pair is compared and the first disagreement is an error naming the operands.
"""

from __future__ import annotations

import functools
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ToolchainError
from . import expr
from .multiplier import MAX_TABLE_BITS, Multiplier, canonical

TABLE_KEYS = {"path", "signed", "c", "function", "gates"}
CFUNC_KEYS = {"path", "function", "bits", "bits_b", "signed", "gates"}


def load_user(kind: str, params: dict, spec: str) -> Multiplier:
    allowed = TABLE_KEYS if kind == "table" else CFUNC_KEYS
    unknown = set(params) - allowed
    if unknown:
        raise ConfigError(f"multiplier '{spec}': unknown parameter(s) {', '.join(sorted(unknown))} "
                          f"(allowed: {', '.join(sorted(allowed))})")
    if "path" not in params:
        raise ConfigError(f"multiplier '{spec}': 'path' is required")
    return _load(kind, tuple(sorted(params.items())), spec)


@functools.lru_cache(maxsize=64)
def _load(kind: str, items: tuple, spec: str) -> Multiplier:
    p = dict(items)
    signed = _flag(p.get("signed", 0), "signed", spec)
    gates = p.get("gates", 0)
    if kind == "table":
        table = read_table(p["path"], spec)
        wa, wb = (int(n).bit_length() - 1 for n in table.shape)
        c_path, fn = p.get("c"), p.get("function")
        if (c_path is None) != (fn is None):
            raise ConfigError(f"multiplier '{spec}': a C model needs both 'c' (its file) and 'function'")
    else:
        if "function" not in p:
            raise ConfigError(f"multiplier '{spec}': 'function' (the C function's name) is required")
        c_path, fn = p["path"], p["function"]
        wa = p.get("bits", 8)
        wb = p.get("bits_b", wa)
        table = None
    for w in (wa, wb):
        if isinstance(w, bool) or not isinstance(w, int) or not 1 <= w <= 12:
            raise ConfigError(f"multiplier '{spec}': operand width {w!r} outside 1..12 for a user model")
    internal = None if table is None else _to_offset_order(table, wa, signed, wb, signed)
    prelude = ""
    if c_path is not None:
        source = _read_text(c_path, spec)
        from_c = tabulate_c(source, str(fn), wa, signed, wb, signed, spec)
        if internal is not None:
            check_agree(internal, from_c, wa, signed, wb, signed, spec)
        internal = from_c
        prelude = f"// user multiplier source: {Path(c_path).name}\n{source}\n"
        node = expr.Node("call", (expr.A, expr.B), table=from_c, offsets=(_lo(wa, signed), _lo(wb, signed)),
                         symbol=str(fn))
    else:
        node = expr.rom(internal, _lo(wa, signed), _lo(wb, signed))
    m = Multiplier(canonical(kind, p), kind, p, wa, signed, wb, signed, node, int(gates), c_prelude=prelude,
                   fixed_widths=True)
    m.table_cache = internal
    return m


def _flag(v, name: str, spec: str) -> bool:
    if v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise ConfigError(f"multiplier '{spec}': '{name}' must be 0 or 1, got {v!r}")


def _lo(bits: int, signed: bool) -> int:
    return -(1 << (bits - 1)) if signed else 0


def _read_text(path, spec: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"multiplier '{spec}': cannot read {path}: {e.strerror}") from None


def read_table(path, spec: str = "table") -> np.ndarray:
    """The product matrix of a .npy or .csv file, validated (shape powers of two, integer values)."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npy":
            t = np.load(path, allow_pickle=False)
            if t.dtype.kind not in "iu":
                raise ConfigError(f"multiplier '{spec}': table {path} has dtype {t.dtype}; integer products needed")
        else:
            text = [line for line in path.read_text().splitlines() if line.strip()]
            try:
                rows = [[int(v) for v in line.replace(";", ",").split(",") if v.strip()] for line in text]
            except ValueError as e:
                raise ConfigError(f"multiplier '{spec}': table {path} holds a non-integer value ({e})") from None
            if rows and all(len(r) == 1 for r in rows):
                n = int(round(len(rows) ** 0.5))
                if n * n != len(rows):
                    raise ConfigError(f"multiplier '{spec}': table {path} has {len(rows)} values, not a square "
                                      "table")
                t = np.array([r[0] for r in rows], dtype=np.int64).reshape(n, n)
            elif len({len(r) for r in rows}) == 1:
                t = np.array(rows, dtype=np.int64)
            else:
                raise ConfigError(f"multiplier '{spec}': table {path} has rows of different lengths")
    except OSError as e:
        raise ConfigError(f"multiplier '{spec}': cannot read table {path}: {e.strerror or e}") from None
    except ValueError as e:
        raise ConfigError(f"multiplier '{spec}': cannot read table {path}: {e}") from None
    if t.ndim != 2 or any(n < 2 or n & (n - 1) for n in t.shape):
        raise ConfigError(f"multiplier '{spec}': table {path} has shape {t.shape}; expected (2^wa, 2^wb)")
    if sum(int(n).bit_length() - 1 for n in t.shape) > MAX_TABLE_BITS:
        raise ConfigError(f"multiplier '{spec}': table {path} of shape {t.shape} is too large")
    return t.astype(np.int64)


def _to_offset_order(t: np.ndarray, wa, sa, wb, sb) -> np.ndarray:
    """Bit-pattern order -> value order (row a - a_min): signed rows/columns rotated by half."""
    if sa:
        t = np.roll(t, 1 << (wa - 1), axis=0)
    if sb:
        t = np.roll(t, 1 << (wb - 1), axis=1)
    return np.ascontiguousarray(t)


def check_agree(table: np.ndarray, other: np.ndarray, wa, sa, wb, sb, spec: str) -> None:
    diff = np.argwhere(table != other)
    if len(diff):
        i, j = diff[0]
        a, b = int(i) + _lo(wa, sa), int(j) + _lo(wb, sb)
        raise ConfigError(f"multiplier '{spec}': the table and the C function disagree in {len(diff)} of "
                          f"{table.size} products; first at a={a}, b={b}: table {int(table[i, j])}, "
                          f"C {int(other[i, j])}")


def tabulate_c(source: str, function: str, wa, sa, wb, sb, spec: str) -> np.ndarray:
    """Every product of the C function (compiled with g++, run once), in value order."""
    from ..toolchain import find_cxx

    if not function.isidentifier():
        raise ConfigError(f"multiplier '{spec}': function name {function!r} is not a C identifier")
    a0, b0 = _lo(wa, sa), _lo(wb, sb)
    driver = (f"{source}\n#include <cstdio>\nint main() {{\n"
              f"  for (long long a = {a0}; a < {a0 + (1 << wa)}; a++)\n"
              f"    for (long long b = {b0}; b < {b0 + (1 << wb)}; b++) {{\n"
              f"      long long p = (long long) {function}(a, b);\n"
              f"      fwrite(&p, sizeof p, 1, stdout);\n    }}\n  return 0;\n}}\n")
    with tempfile.TemporaryDirectory(prefix="fxflow-mul-") as d:
        src, exe = Path(d) / "mul.cpp", Path(d) / "mul"
        src.write_text(driver)
        r = subprocess.run([find_cxx(), "-std=gnu++14", "-O1", "-o", str(exe), str(src)], capture_output=True,
                           text=True)
        if r.returncode:
            raise ToolchainError(f"multiplier '{spec}': the C function does not compile:\n{r.stderr[-2000:]}")
        out = subprocess.run([str(exe)], capture_output=True, timeout=120)
        if out.returncode:
            raise ConfigError(f"multiplier '{spec}': the C function's tabulation failed (exit {out.returncode})")
    vals = np.frombuffer(out.stdout, dtype=np.int64)
    if vals.size != 1 << (wa + wb):
        raise ConfigError(f"multiplier '{spec}': the C function produced {vals.size} products")
    return vals.reshape(1 << wa, 1 << wb).copy()
