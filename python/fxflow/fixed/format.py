"""The fixed-point number format, with exactly the meaning of Vitis HLS `ap_fixed<W,I,Q,O>`.

A format is (k, i, f) plus a rounding mode Q and an overflow mode O: k = 1 for signed, i integer bits
*excluding* the sign, f fractional bits (either may be negative).  W = k + i + f, and ap_fixed's "I" = k + i.
Q and O only act when a value is *assigned* to the format; arithmetic between formats is exact
(see `mul_result` / `add_result`, the ap_fixed operator result types).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import FormatError

ROUNDING_MODES = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_MIN_INF", "RND_INF", "RND_CONV")
OVERFLOW_MODES = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")
MAX_WIDTH = 1024  # AP_INT_MAX_W default

_AP_RE = re.compile(r"^\s*(ap_fixed|ap_ufixed|fixed|ufixed)\s*<\s*([^>]*)>\s*$")
_INT_RE = re.compile(r"^\s*(ap_int|ap_uint|int|uint)\s*<\s*([+-]?\d+)\s*>\s*$")


@dataclass(frozen=True, order=True)
class FixedFormat:
    """A fixed-point format (k, i, f, rounding, overflow); immutable and hashable."""

    k: int
    i: int
    f: int
    rounding: str = "TRN"
    overflow: str = "WRAP"

    def __post_init__(self):
        if self.k not in (0, 1):
            raise FormatError(f"signedness k must be 0 or 1, got {self.k}")
        if self.rounding not in ROUNDING_MODES:
            raise FormatError(
                f"unknown rounding mode '{self.rounding}' (expected one of {', '.join(ROUNDING_MODES)})"
            )
        if self.overflow not in OVERFLOW_MODES:
            raise FormatError(
                f"unknown overflow mode '{self.overflow}' (expected one of {', '.join(OVERFLOW_MODES)})"
            )
        if not 1 <= self.width <= MAX_WIDTH:
            raise FormatError(f"width W = k+i+f = {self.width} is outside [1, {MAX_WIDTH}] in {self}")

    # --- derived quantities -------------------------------------------------------------------
    @property
    def signed(self) -> bool:
        return self.k == 1

    @property
    def width(self) -> int:
        """W: total number of bits."""
        return self.k + self.i + self.f

    @property
    def int_bits(self) -> int:
        """ap_fixed's I: integer bits including the sign bit."""
        return self.k + self.i

    @property
    def min_int(self) -> int:
        """Smallest stored integer."""
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_int(self) -> int:
        """Largest stored integer."""
        return (1 << (self.width - self.k)) - 1

    @property
    def lsb(self) -> float:
        return 2.0 ** -self.f

    @property
    def min_value(self) -> float:
        return self.min_int * 2.0 ** -self.f

    @property
    def max_value(self) -> float:
        return self.max_int * 2.0 ** -self.f

    def with_modes(self, rounding: str | None = None, overflow: str | None = None) -> "FixedFormat":
        return FixedFormat(self.k, self.i, self.f, rounding or self.rounding, overflow or self.overflow)

    # --- construction from ap syntax ----------------------------------------------------------
    @classmethod
    def from_ap(cls, width: int, int_bits: int, signed: bool = True, rounding: str = "TRN",
                overflow: str = "WRAP") -> "FixedFormat":
        k = 1 if signed else 0
        return cls(k, int_bits - k, width - int_bits, rounding, overflow)

    @classmethod
    def parse(cls, text: str) -> "FixedFormat":
        """Parse `ap_fixed<W,I[,Q[,O[,N]]]>`, `ap_ufixed<...>`, `ap_int<W>`, `ap_uint<W>`.

        Modes may be written `AP_RND` or `RND`.  A saturation-bit count N other than 0 is rejected
        (it changes WRAP semantics in ways fxflow does not model).
        """
        if isinstance(text, FixedFormat):
            return text
        if not isinstance(text, str):
            raise FormatError(f"a precision must be a string like 'ap_fixed<16,6>', got {text!r}")
        m = _INT_RE.match(text)
        if m:
            w = int(m.group(2))
            signed = not m.group(1).endswith("uint")
            return cls._checked(text, w, w, signed, "TRN", "WRAP")
        m = _AP_RE.match(text)
        if not m:
            raise FormatError(
                f"malformed precision '{text}': expected ap_fixed<W,I[,Q[,O]]>, ap_ufixed<W,I[,Q[,O]]>, "
                "ap_int<W> or ap_uint<W>"
            )
        signed = m.group(1) in ("ap_fixed", "fixed")
        parts = [p.strip() for p in m.group(2).split(",")]
        if len(parts) < 2 or len(parts) > 5 or any(p == "" for p in parts):
            raise FormatError(f"malformed precision '{text}': expected 2 to 4 parameters W,I[,Q[,O]]")
        try:
            w, i = int(parts[0]), int(parts[1])
        except ValueError:
            raise FormatError(f"malformed precision '{text}': W and I must be integers") from None
        q = _mode(parts[2], ROUNDING_MODES, "rounding", text) if len(parts) > 2 else "TRN"
        o = _mode(parts[3], OVERFLOW_MODES + ("WRAP_SM",), "overflow", text) if len(parts) > 3 else "WRAP"
        if o == "WRAP_SM":
            raise FormatError(f"precision '{text}': AP_WRAP_SM is not supported by fxflow")
        if len(parts) > 4 and parts[4] != "0":
            raise FormatError(f"precision '{text}': saturation bits N must be 0")
        return cls._checked(text, w, i, signed, q, o)

    @classmethod
    def _checked(cls, text, w, i, signed, q, o):
        if not 1 <= w <= MAX_WIDTH:
            raise FormatError(f"precision '{text}': width {w} is outside [1, {MAX_WIDTH}]")
        return cls.from_ap(w, i, signed, q, o)

    # --- printing ------------------------------------------------------------------------------
    def to_ap(self, full: bool = True) -> str:
        """The C++ type: `ap_fixed<W,I,AP_Q,AP_O>` (modes always explicit when `full`)."""
        base = "ap_fixed" if self.signed else "ap_ufixed"
        if not full and self.rounding == "TRN" and self.overflow == "WRAP":
            return f"{base}<{self.width},{self.int_bits}>"
        return f"{base}<{self.width},{self.int_bits},AP_{self.rounding},AP_{self.overflow}>"

    def __str__(self) -> str:
        return self.to_ap(full=False) if (self.rounding, self.overflow) == ("TRN", "WRAP") else self.to_ap()

    # --- exact operator result types (ap_fixed RType rules) ------------------------------------
    def mul_result(self, other: "FixedFormat") -> "FixedFormat":
        """Type of the exact product a*b: W = W1+W2, I = I1+I2, signed if either is."""
        k = self.k | other.k
        int_bits = self.int_bits + other.int_bits
        return FixedFormat(k, int_bits - k, self.f + other.f)

    def add_result(self, other: "FixedFormat", subtract: bool = False) -> "FixedFormat":
        """Type of the exact sum a+b (a-b when `subtract`), following ap_fixed's RType::plus."""
        k = 1 if subtract else (self.k | other.k)
        f = max(self.f, other.f)
        i1 = self.int_bits + (1 if (other.k and not self.k) else 0)
        i2 = other.int_bits + (1 if (self.k and not other.k) else 0)
        int_bits = max(i1, i2) + 1
        return FixedFormat(k, int_bits - k, f)

    def covers(self, other: "FixedFormat") -> bool:
        """True when every value of `other` is representable here exactly (no rounding, no overflow)."""
        if self.f < other.f:
            return False
        # exact integer comparison on self's grid (floats overflow / round for wide formats)
        d = self.f - other.f
        return self.min_int <= other.min_int << d and other.max_int << d <= self.max_int


def _mode(token: str, allowed: tuple, what: str, text: str) -> str:
    name = token.strip().upper()
    if name.startswith("AP_"):
        name = name[3:]
    if name not in allowed:
        raise FormatError(f"precision '{text}': unknown {what} mode '{token.strip()}'")
    return name
