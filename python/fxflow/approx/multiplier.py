"""`Multiplier`: one family instance for given operand widths and signedness, and everything derived from its
single expression — the NumPy function, the full product table, the C++ function, error metrics, cost.

Specs are strings: `"drum(k=4)"`, `"trunc(k=6, compensate=1)"`, `"bam(hbl=1, vbl=6)"`, `"mitchell"`,
`"exact"` (width-generic: the widths come from the operands), a registered name (`multipliers()`, fixed
widths: `"mul8s_drum4"`), or a user model `"table(path=m.npy, signed=1)"` / `"cfunc(path=m.c, function=f,
bits=8, signed=1)"` / both (`"table(path=m.npy, signed=1, c=m.c, function=f)"`, checked against each other).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from ..fixed import FixedFormat
from . import expr
from .families import FAMILIES

MAX_OPERAND_BITS = 16
MAX_TABLE_BITS = 24  # exhaustive measures (ranges, error bounds, metrics) over at most 2^24 operand pairs
MAX_FULL_TABLE_BITS = 20  # `products` gathers from the stored full table (`table()`) up to 2^20 entries (8 MB)
BLOCK_PAIRS = 1 << 20  # operand pairs per block of an exhaustive measure
OPERAND_ROLES = ("input", "weight")  # what the two operands are called in errors (fxp.matmul: "lhs", "rhs")


@dataclass(eq=False)
class Multiplier:
    """A multiplier of a `wa`-bit by a `wb`-bit operand (stored integers; `sa`/`sb`: two's complement)."""

    spec: str  # canonical spec (what the fxp `approx_mul` attribute holds)
    family: str
    params: dict
    wa: int
    sa: bool
    wb: int
    sb: bool
    node: expr.Node
    gates: int
    c_prelude: str = ""  # user C source the function calls (cfunc)
    fixed_widths: bool = False  # a registered or user model: operands must fit its widths
    table_cache: np.ndarray | None = field(default=None, repr=False)  # table() memo; a user model presets it
    _stats: tuple | None = field(default=None, repr=False)

    # --- operands ------------------------------------------------------------------------------
    @property
    def a_range(self) -> tuple[int, int]:
        return _int_range(self.wa, self.sa)

    @property
    def b_range(self) -> tuple[int, int]:
        return _int_range(self.wb, self.sb)

    @property
    def signed_product(self) -> bool:
        return self.sa or self.sb

    @property
    def c_name(self) -> str:
        """The C++ function name: family, parameters and widths (unique per distinct multiplier)."""
        tag = re.sub(r"[^A-Za-z0-9]+", "_", self.spec).strip("_")
        return f"fxam_{tag}_{self.wa}{'s' if self.sa else 'u'}{self.wb}{'s' if self.sb else 'u'}"

    # --- derived forms -------------------------------------------------------------------------
    def __call__(self, a, b) -> np.ndarray:
        """The products of stored-integer operands (int64 arrays, broadcast)."""
        return expr.evaluate(self.node, a, b)

    def products(self, a, b) -> np.ndarray:
        """The products of stored-integer operands (broadcast), the one table-or-evaluate rule: gathered from
        the full product table while it has at most 2^MAX_FULL_TABLE_BITS entries, else evaluated (bounded
        memory).  Both give the same values; this only decides memory and speed, never by call history."""
        if self.wa + self.wb > MAX_FULL_TABLE_BITS:
            return self(a, b)
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        return self.table()[a - self.a_range[0], b - self.b_range[0]]

    def table(self) -> np.ndarray:
        """Every product: table[a - a_min, b - b_min] (int64, exhaustive)."""
        if self.table_cache is None:
            if self.wa + self.wb > MAX_TABLE_BITS:
                raise ConfigError(f"multiplier '{self.spec}': a {self.wa}x{self.wb}-bit product table has "
                                  f"2^{self.wa + self.wb} entries (at most 2^{MAX_TABLE_BITS})")
            a = np.arange(self.a_range[0], self.a_range[1] + 1, dtype=np.int64)
            b = np.arange(self.b_range[0], self.b_range[1] + 1, dtype=np.int64)
            self.table_cache = self(a[:, None], b[None, :])
        return self.table_cache

    def c_source(self, name: str | None = None) -> str:
        """The synthesizable C++ function `long long <name>(long long a, long long b)` (default `c_name`)."""
        doc = (f"{self.spec}: {self.wa}-bit {'signed' if self.sa else 'unsigned'} x {self.wb}-bit "
               f"{'signed' if self.sb else 'unsigned'} stored integers -> product (integer)")
        return self.c_prelude + expr.c_function(self.node, name or self.c_name, doc)

    def product_range(self) -> tuple[int, int]:
        p_lo, p_hi, _, _ = self.column_stats()
        return int(p_lo.min()), int(p_hi.max())

    def product_format(self, fa: int, fb: int) -> FixedFormat:
        """The narrowest format holding every product at the grid 2^-(fa + fb) (the C++ product type)."""
        lo, hi = self.product_range()
        signed = lo < 0
        bits = max(int(hi).bit_length(), int(-lo - 1).bit_length() if lo < 0 else 0, 1)
        k = 1 if signed else 0
        return FixedFormat(k, bits - (fa + fb), fa + fb)

    def error_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per weight code (b - b_min): min and max over all a of approx(a, b) - a*b."""
        _, _, e_lo, e_hi = self.column_stats()
        return e_lo, e_hi

    def exact_table(self) -> np.ndarray:
        a = np.arange(self.a_range[0], self.a_range[1] + 1, dtype=np.int64)
        b = np.arange(self.b_range[0], self.b_range[1] + 1, dtype=np.int64)
        return a[:, None] * b[None, :]

    def blocks(self, a_lo: int | None = None, a_hi: int | None = None, b_lo: int | None = None,
               b_hi: int | None = None):
        """(approx, exact) over a[a_lo..a_hi] x b[b_lo..b_hi] (default: every operand), in row blocks of at
        most `BLOCK_PAIRS` pairs: what every exhaustive measure reduces, in bounded memory."""
        a_lo, a_hi = self.a_range[0] if a_lo is None else a_lo, self.a_range[1] if a_hi is None else a_hi
        b_lo, b_hi = self.b_range[0] if b_lo is None else b_lo, self.b_range[1] if b_hi is None else b_hi
        b = np.arange(b_lo, b_hi + 1, dtype=np.int64)[None, :]
        rows = max(1, BLOCK_PAIRS // b.size)
        for start in range(a_lo, a_hi + 1, rows):
            a = np.arange(start, min(start + rows, a_hi + 1), dtype=np.int64)[:, None]
            yield self.products(a, b), a * b

    def column_stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per weight code (b - b_min), over every a: min and max of the product and of its error (one blocked
        pass over all pairs, cached)."""
        if self._stats is None:
            nb = self.b_range[1] - self.b_range[0] + 1
            big = np.iinfo(np.int64)
            p_lo, p_hi = np.full(nb, big.max), np.full(nb, big.min)
            e_lo, e_hi = p_lo.copy(), p_hi.copy()
            for approx, exact in self.blocks():
                err = approx - exact
                p_lo, p_hi = np.minimum(p_lo, approx.min(axis=0)), np.maximum(p_hi, approx.max(axis=0))
                e_lo, e_hi = np.minimum(e_lo, err.min(axis=0)), np.maximum(e_hi, err.max(axis=0))
            self._stats = (p_lo, p_hi, e_lo, e_hi)
        return self._stats

    def metrics(self) -> dict:
        from .metrics import error_metrics_blocks

        return error_metrics_blocks(self.blocks())

    def accepts(self, a: FixedFormat, b: FixedFormat, roles: tuple[str, str] = OPERAND_ROLES) -> str | None:
        """None when every stored integer of `a`/`b` is a valid operand, else why not (`roles` name them)."""
        for fmt, (lo, hi), role, bits, signed in ((a, self.a_range, roles[0], self.wa, self.sa),
                                                  (b, self.b_range, roles[1], self.wb, self.sb)):
            if fmt.min_int < lo or fmt.max_int > hi:
                return (f"its {role} format {fmt} ({fmt.width}-bit {'signed' if fmt.signed else 'unsigned'}) does "
                        f"not fit the multiplier's {role} operand ({bits}-bit {'signed' if signed else 'unsigned'})")
        return None

    def error_range(self, a: FixedFormat, b: FixedFormat) -> tuple[int, int]:
        """min and max of approx(x, y) - x*y over every stored integer x of `a` and y of `b` (exhaustive)."""
        cols = slice(b.min_int - self.b_range[0], b.max_int - self.b_range[0] + 1)
        if (a.min_int, a.max_int) == self.a_range:  # every row: the cached per-column bounds
            e_lo, e_hi = self.error_bounds()
            return int(e_lo[cols].min()), int(e_hi[cols].max())
        lo, hi = None, None
        for approx, exact in self.blocks(a.min_int, a.max_int, b.min_int, b.max_int):
            err = approx - exact
            lo = int(err.min()) if lo is None else min(lo, int(err.min()))
            hi = int(err.max()) if hi is None else max(hi, int(err.max()))
        return lo, hi


def _int_range(bits: int, signed: bool) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


# --- spec parsing --------------------------------------------------------------------------------------
_SPEC_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)


def parse_spec(spec: str) -> tuple[str, dict]:
    """`"drum(k=4)"` -> ("drum", {"k": 4}); integers stay ints, anything else a string."""
    if not isinstance(spec, str):
        raise ConfigError(f"a multiplier must be a string like 'drum(k=4)', got {spec!r}")
    m = _SPEC_RE.match(spec)
    if not m:
        raise ConfigError(f"malformed multiplier '{spec}' (expected name or name(key=value, ...))")
    params: dict = {}
    for part in filter(None, (p.strip() for p in (m.group(2) or "").split(","))):
        key, eq, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not eq or not re.match(r"^[A-Za-z_]\w*$", key) or not value:
            raise ConfigError(f"malformed parameter '{part}' in multiplier '{spec}' (expected key=value)")
        if key in params:
            raise ConfigError(f"parameter '{key}' given twice in multiplier '{spec}'")
        params[key] = int(value) if re.match(r"^[+-]?\d+$", value) else value
    return m.group(1).lower(), params


def canonical(name: str, params: dict) -> str:
    return name if not params else f"{name}({', '.join(f'{k}={v}' for k, v in params.items())})"


# --- registry ----------------------------------------------------------------------------------------
REGISTRY: dict[str, Multiplier] = {}


def register(name: str, mult: Multiplier) -> Multiplier:
    """Make `mult` available by `name` (config, `multipliers()`); its widths are then fixed."""
    if not re.match(r"^[A-Za-z_]\w*$", name):
        raise ConfigError(f"multiplier name '{name}' must be an identifier")
    if name in FAMILIES or name in ("table", "cfunc"):
        raise ConfigError(f"multiplier name '{name}' is a family name")
    mult.fixed_widths = True
    REGISTRY[name] = mult
    return mult


def multipliers() -> list[str]:
    """The registered multiplier names (the bundled 8-bit catalogue and user registrations)."""
    _catalogue()
    return sorted(REGISTRY)


def families() -> dict[str, str]:
    """Family name -> its definition (parameters and defaults in `FAMILIES`)."""
    return {n: f.doc for n, f in FAMILIES.items()}


def build(spec: str, wa: int, sa: bool, wb: int, sb: bool) -> Multiplier:
    """A width-generic family spec instantiated for these operands (errors name the spec)."""
    return _build(spec, wa, bool(sa), wb, bool(sb))


@functools.lru_cache(maxsize=256)
def _build(spec, wa, sa, wb, sb) -> Multiplier:
    name, params = parse_spec(spec)
    fam = FAMILIES.get(name)
    if fam is None:
        raise ConfigError(f"unknown multiplier '{spec}' (families: {', '.join(FAMILIES)}, table, cfunc; "
                          f"names: {', '.join(multipliers())})")
    for bits in (wa, wb):
        if not 1 <= bits <= MAX_OPERAND_BITS:
            raise ConfigError(f"multiplier '{spec}': operands of {bits} bits (supported: 1..{MAX_OPERAND_BITS})")
    unknown = set(params) - set(fam.params)
    if unknown:
        raise ConfigError(f"multiplier '{spec}': unknown parameter(s) {', '.join(sorted(unknown))} "
                          f"(allowed: {', '.join(fam.params) or 'none'})")
    full = {k: params.get(k, d) for k, d in fam.params.items()}
    missing = [k for k, v in full.items() if v is None]
    if missing:
        raise ConfigError(f"multiplier '{spec}': parameter(s) {', '.join(missing)} required")
    node, gates = fam.build(full, wa, sa, wb, sb, spec)
    return Multiplier(canonical(name, full), name, full, wa, sa, wb, sb, node, gates)


# --- bundled catalogue: 8-bit signed and unsigned instances ---------------------------------------------
CATALOGUE = ("exact", "trunc(k=4)", "trunc(k=6)", "trunc(k=6, compensate=1)", "trunc(k=8, compensate=1)",
             "bam(hbl=1, vbl=4)", "bam(hbl=2, vbl=8)", "drum(k=3)", "drum(k=4)", "drum(k=5)", "drum(k=6)",
             "mitchell")


def catalogue_name(spec: str, bits: int, signed: bool) -> str:
    name, params = parse_spec(spec)
    tags = {"compensate": "c", "hbl": "h", "vbl": "v"}
    suffix = "".join(f"{tags.get(k, '')}{v}" for k, v in params.items() if not (k == "compensate" and v == 0))
    return f"mul{bits}{'s' if signed else 'u'}_{name}{suffix}"


@functools.cache
def _catalogue() -> None:
    for signed in (True, False):
        for spec in CATALOGUE:
            name = catalogue_name(spec, 8, signed)
            if name not in REGISTRY:
                register(name, _copy(build(spec, 8, signed, 8, signed)))


def _copy(m: Multiplier) -> Multiplier:
    return Multiplier(m.spec, m.family, dict(m.params), m.wa, m.sa, m.wb, m.sb, m.node, m.gates, m.c_prelude)
