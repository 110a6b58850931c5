"""HCCS softmax (Head-Calibrated Clipped-Linear Softmax) on stored integers: the one definition that the
emulator, the calibration, the HLS printer's comments and the AIE simulator share.

For one row of n stored integers x (the input format's two's complement codes; Dmax is in those units) and
the integer parameters (B, S, Dmax) of the row's head:

    m   = max_j x_j
    d_i = min(m - x_i, Dmax)                    0 <= d_i <= Dmax
    s_i = B - S * d_i                           0 <= s_i <= B          (B - S*Dmax >= 0)
    T   = sum_i s_i                             256 <= T <= 65535      (16-bit unsigned sum)
    "div":  r = floor(2^22 / T)                 r <= 2^14;  k = 22 - F
    "clb":  p = bit_length(T) (9..16), t = T << (16 - p) in [2^15, 2^16),
            r = floor((2^30 - 1) / t)           2^14 <= r < 2^15;  k = 14 + p - F
    y_i = min(floor(s_i * r / 2^k), 2^F - 1)    (s_i * r < 2^31)

with F the output's fractional bits: "uint8" is ap_ufixed<8,0,TRN,SAT> (F = 8), "int16" is
ap_fixed<16,1,TRN,SAT> (F = 15): y_i / 2^F approximates s_i / T, the clipped-linear probability.  The
"clb" (count-leading-bits) variant normalizes T by its leading-bit position so that the reciprocal always
carries 15 significant bits; "div" has only 22 - p of them (r >= 64).  Both r fit int16, s_i fits int16
when B < 2^15 (the AIE kernel requires it), products fit int32.

Error against the real value s_i / T (derivation in docs/layers.md, "HCCS softmax"):
    0 <= s_i/T - y_i/2^F < 2^-F + s_i/2^22      (div)
    0 <= s_i/T - y_i/2^F < 2^-F + 2^-14 (1 + 2^-15)      (clb)
The clipped-linear model's distance to the exact softmax depends on the data: `calibrate` minimizes it.

ABI constraints (`check_params`): B - S*Dmax >= 0, n*B <= 65535 (the sum fits 16 bits), n*(B - S*Dmax) >= 256
(so T >= 256 and r stays in range); B >= 1, S >= 0, Dmax >= 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .format import FixedFormat
from .softmax import exact_softmax

OUTPUTS = {"uint8": FixedFormat(0, 0, 8, "TRN", "SAT"), "int16": FixedFormat(1, 0, 15, "TRN", "SAT")}
RECIPROCALS = ("div", "clb")
SUM_BITS = 16
SUM_MAX = (1 << SUM_BITS) - 1
MIN_SUM = 256
DIV_SHIFT = 22
CLB_SHIFT = 30
B_MAX = (1 << 15) - 1  # s_i is an int16 lane on the AIE; calibration stays below it
PARAMS = ("B", "S", "Dmax")


@dataclass(frozen=True)
class HccsSpec:
    """Per-head parameters (tuples of equal length: one entry per head, or one for every row) and variant."""

    B: tuple[int, ...]
    S: tuple[int, ...]
    Dmax: tuple[int, ...]
    output: str = "uint8"
    reciprocal: str = "clb"

    @property
    def heads(self) -> int:
        return len(self.B)

    @property
    def result(self) -> FixedFormat:
        return OUTPUTS[self.output]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(np.asarray(getattr(self, p), dtype=np.int64) for p in PARAMS)


def check_params(spec: HccsSpec, n: int, where: str) -> None:
    """The ABI constraints for rows of n elements; a ConfigError naming `where`, the head and the constraint."""
    if not 1 <= n <= SUM_MAX:
        raise ConfigError(f"{where}: an HCCS softmax row of {n} elements cannot have a 16-bit sum")
    for h, (b, s, dm) in enumerate(zip(spec.B, spec.S, spec.Dmax)):
        head = f"{where}, head {h}" if spec.heads > 1 else where
        if b < 1 or s < 0 or dm < 0:
            raise ConfigError(f"{head}: HCCS needs B >= 1, S >= 0, Dmax >= 0 (got B={b}, S={s}, Dmax={dm})")
        if b - s * dm < 0:
            raise ConfigError(f"{head}: HCCS constraint B - S*Dmax >= 0 violated (B={b}, S={s}, Dmax={dm}: "
                              f"{b - s * dm})")
        if n * b > SUM_MAX:
            raise ConfigError(f"{head}: HCCS constraint N*B <= {SUM_MAX} (the sum fits 16 bits) violated "
                              f"(N={n}, B={b}: {n * b})")
        if n * (b - s * dm) < MIN_SUM:
            raise ConfigError(f"{head}: HCCS constraint N*(B - S*Dmax) >= {MIN_SUM} violated (N={n}, B={b}, S={s}, "
                              f"Dmax={dm}: {n * (b - s * dm)})")


def bit_length(t: np.ndarray) -> np.ndarray:
    """Position of the leading one of each non-negative int below 2^SUM_BITS (0 for 0)."""
    t = np.asarray(t, dtype=np.int64)
    return sum((t >= (1 << b)).astype(np.int64) for b in range(SUM_BITS + 1))


def scores(raw: np.ndarray, B, S, Dmax) -> np.ndarray:
    """s_i = B - S * min(max(x) - x_i, Dmax) along the last axis; B, S, Dmax broadcast against raw[..., :1]."""
    raw = np.asarray(raw, dtype=np.int64)
    d = np.minimum(raw.max(axis=-1, keepdims=True) - raw, Dmax)
    return B - S * d


def reciprocal(total: np.ndarray, variant: str, f: int) -> tuple[np.ndarray, np.ndarray]:
    """(r, k) of the sums `total`: y = floor(s * r / 2^k) approximates s / total * 2^f (see module doc)."""
    total = np.asarray(total, dtype=np.int64)
    if variant == "div":
        return (1 << DIV_SHIFT) // total, np.full_like(total, DIV_SHIFT - f)
    p = bit_length(total)
    return ((1 << CLB_SHIFT) - 1) // (total << (SUM_BITS - p)), 14 + p - f


def scale(s: np.ndarray, r: np.ndarray, k: np.ndarray, out: FixedFormat) -> np.ndarray:
    """min(floor(s * r / 2^k), max code): the multiply / shift / saturate pass."""
    return np.minimum((np.asarray(s, dtype=np.int64) * r) >> k, out.max_int)


def hccs(raw: np.ndarray, spec: HccsSpec, head_axis: int | None = None) -> np.ndarray:
    """HCCS along the last axis of stored integers `raw` -> stored integers of spec.result.  Head h of
    `head_axis` (an axis of raw other than the last) uses parameter entry h; None: one entry for all rows."""
    raw = np.asarray(raw, dtype=np.int64)
    B, S, Dm = (a.reshape(_param_shape(raw.ndim, head_axis, a.size)) for a in spec.arrays())
    s = scores(raw, B, S, Dm)
    r, k = reciprocal(s.sum(axis=-1, keepdims=True), spec.reciprocal, spec.result.f)
    return scale(s, r, k, spec.result)


def _param_shape(ndim: int, head_axis: int | None, size: int) -> tuple[int, ...]:
    shape = [1] * ndim
    if head_axis is not None and size > 1:
        shape[head_axis] = size
    return tuple(shape)


def head_axis_of(shape, axis: int) -> int | None:
    """Heads are axis -3 of a softmax over the last axis of a rank >= 4 tensor ([B, H, Tq, Tk])."""
    return len(shape) - 3 if len(shape) >= 4 and axis == len(shape) - 1 else None


# --- calibration ---------------------------------------------------------------------------------------------
CAL_ROWS = 512  # rows per head the fit looks at (evenly strided)
CAL_DMAX = 40  # Dmax candidates
CAL_S = 48  # S candidates per Dmax (then a local refinement)


def _mse(d: np.ndarray, p: np.ndarray, b: int, s_vals: np.ndarray, dmax: int) -> np.ndarray:
    """Mean squared error of the real clipped-linear probabilities against p, for every S in s_vals."""
    dd = np.minimum(d, dmax)[None].astype(np.float64)
    s = b - s_vals[:, None, None].astype(np.float64) * dd
    q = s / s.sum(axis=-1, keepdims=True)
    return ((q - p[None]) ** 2).mean(axis=(1, 2))


def calibrate_head(raw_rows: np.ndarray, f: int) -> tuple[int, int, int, float]:
    """(B, S, Dmax, mse) fitted to the exact softmax of one head's rows of stored integers at grid 2^-f.

    Objective: the mean squared error, over the rows and their elements, between the real clipped-linear
    probabilities s_i / T and softmax(x * 2^-f).  B is the largest the constraints allow (finest scores:
    min(65535 // n, 2^15 - 1)); Dmax runs over a grid of the observed distances max - x, S over a grid of
    [0, (B - ceil(256/n)) / Dmax] and then its integer neighbours (the constraints hold by construction)."""
    rows = np.asarray(raw_rows, dtype=np.int64)
    n = rows.shape[-1]
    if len(rows) > CAL_ROWS:
        rows = rows[np.linspace(0, len(rows) - 1, CAL_ROWS).astype(np.int64)]
    b = min(SUM_MAX // n, B_MAX)
    floor_s = -(-MIN_SUM // n)  # B - S*Dmax >= ceil(256 / n)
    if b < floor_s:
        raise ConfigError(f"an HCCS row of {n} elements cannot meet N*(B - S*Dmax) >= {MIN_SUM} with N*B <= {SUM_MAX}")
    d = rows.max(axis=-1, keepdims=True) - rows
    p = exact_softmax(rows * 2.0**-f)
    d_hi = int(d.max()) if d.size else 0
    if d_hi == 0 or b == floor_s:
        return b, 0, 0, float(((1.0 / n - p) ** 2).mean())
    dm_grid = np.unique(np.round(np.geomspace(1, d_hi, CAL_DMAX)).astype(np.int64))
    best = (np.inf, 0, 0)
    for dm in dm_grid:
        s_max = (b - floor_s) // int(dm)
        grid = np.unique(np.round(np.linspace(0, s_max, CAL_S)).astype(np.int64))
        err = _mse(d, p, b, grid, int(dm))
        i = int(np.argmin(err))
        near = np.arange(max(grid[i] - 3, 0), min(grid[i] + 3, s_max) + 1)
        err2 = _mse(d, p, b, near, int(dm))
        j = int(np.argmin(err2))
        if err2[j] < best[0]:
            best = (float(err2[j]), int(near[j]), int(dm))
    return b, best[1], best[2], best[0]


def calibrate(raw: np.ndarray, f: int, head_axis: int | None, output: str, variant: str) -> HccsSpec:
    """An HccsSpec fitted per head (see `calibrate_head`) to stored integers `raw` (softmax over the last axis)."""
    raw = np.asarray(raw, dtype=np.int64)
    n = raw.shape[-1]
    if head_axis is None:
        groups = [raw.reshape(-1, n)]
    else:
        groups = [np.take(raw, h, axis=head_axis).reshape(-1, n) for h in range(raw.shape[head_axis])]
    fits = [calibrate_head(g, f)[:3] for g in groups]
    return HccsSpec(*(tuple(int(fit[i]) for fit in fits) for i in range(3)), output=output, reciprocal=variant)


def quantization_bound(spec: HccsSpec) -> float:
    """max over s_i of the bound on s_i/T - y_i/2^F (module doc), in value units."""
    f = spec.result.f
    if spec.reciprocal == "div":
        return 2.0**-f + max(spec.B) / 2.0**DIV_SHIFT
    return 2.0**-f + 2.0**-14 * (1 + 2.0**-15)


# --- configuration ------------------------------------------------------------------------------------------
SETTING_KEYS = ("implementation", "output", "reciprocal") + PARAMS


def parse_settings(d: dict, where: str) -> dict:
    """A layer's `softmax: {"implementation": "hccs", "output": "uint8"|"int16", "reciprocal": "clb"|"div",
    "B": int | [int per head], "S": ..., "Dmax": ...}`, validated for types (the constraints need the row
    length and are checked by the precision pass).  Without B/S/Dmax the parameters are calibrated."""
    from .softmax import IMPLEMENTATIONS

    unknown = [k for k in d if k not in SETTING_KEYS]
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(map(repr, unknown))} in config '{where}' "
                          f"(allowed: {', '.join(SETTING_KEYS)})")
    impl = str(d.get("implementation", "")).strip().lower()
    if impl not in IMPLEMENTATIONS + ("hccs",):
        raise ConfigError(f"config '{where}.implementation' must be one of {', '.join(IMPLEMENTATIONS)}, hccs, "
                          f"got {d.get('implementation')!r}")
    if impl != "hccs":
        if len(d) > 1:
            raise ConfigError(f"config '{where}': output, reciprocal, B, S, Dmax belong to implementation 'hccs'")
        return {"implementation": impl}
    out: dict = {"implementation": "hccs", "output": d.get("output", "uint8"), "reciprocal": d.get("reciprocal", "clb")}
    for key, allowed in (("output", tuple(OUTPUTS)), ("reciprocal", RECIPROCALS)):
        if out[key] not in allowed:
            raise ConfigError(f"config '{where}.{key}' must be one of {', '.join(allowed)}, got {out[key]!r}")
    given = [p for p in PARAMS if p in d]
    if given and len(given) != len(PARAMS):
        missing = ", ".join(p for p in PARAMS if p not in d)
        raise ConfigError(f"config '{where}' gives {', '.join(given)} but not {missing}: give all of B, S, Dmax "
                          "(per head) or none (calibrated)")
    lengths = set()
    for p in given:
        v = d[p]
        vals = v if isinstance(v, (list, tuple)) else [v]
        if not vals or not all(isinstance(e, int) and not isinstance(e, bool) for e in vals):
            raise ConfigError(f"config '{where}.{p}' must be an integer or a list of integers (one per head), "
                              f"got {v!r}")
        out[p] = [int(e) for e in vals]
        lengths.add(len(vals))
    if len(lengths - {1}) > 1:
        raise ConfigError(f"config '{where}': B, S, Dmax have different numbers of heads ({sorted(lengths)})")
    return out


def spec_from_settings(settings: dict, heads: int) -> HccsSpec | None:
    """The HccsSpec of validated settings broadcast to `heads` entries; None when they must be calibrated."""
    if "B" not in settings:
        return None
    return HccsSpec(*(tuple(settings[p] * heads if len(settings[p]) == 1 else settings[p]) for p in PARAMS),
                    output=settings["output"], reciprocal=settings["reciprocal"])
