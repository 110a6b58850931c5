"""Small helpers for printing C++ text: an indenting line buffer, literals and safe comments."""

from __future__ import annotations

import math
import re

from fxflow.errors import IRError

INDENT = "    "


class Lines:
    """A list of C++ lines with an indentation level; pragmas are indented like the code they annotate."""

    def __init__(self, level: int = 0):
        self.lines: list[str] = []
        self.level = level

    def __call__(self, text: str = "") -> "Lines":
        self.lines.append(INDENT * self.level + text if text else "")
        return self

    def pragma(self, text: str) -> "Lines":
        return self(f"#pragma HLS {text}")

    def open(self, text: str) -> "Lines":
        self(text + " {")
        self.level += 1
        return self

    def close(self, suffix: str = "") -> "Lines":
        self.level -= 1
        return self("}" + suffix)

    def loop(self, var: str, count: int, unroll: bool = True) -> "Lines":
        """Open `for (int var = 0; var < count; var++) {` (with `#pragma HLS UNROLL` when asked)."""
        self.open(f"for (int {var} = 0; {var} < {count}; {var}++)")
        if unroll:
            self.pragma("UNROLL")
        return self

    def extend(self, other: "Lines") -> "Lines":
        self.lines.extend(other.lines)
        return self

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


_COMMENT_OK = re.compile(r"[^A-Za-z0-9_.,:;=<>()\[\]/+ -]")


def comment_text(text: str, limit: int = 100) -> str:
    """Model-derived text made safe for a `//` comment: no newlines, no backslashes (line splicing),
    no `?` (trigraphs before C++17), no `*/`; long names are shortened."""
    s = _COMMENT_OK.sub("_", str(text))
    s = s.replace("*/", "_/")
    return s if len(s) <= limit else s[: limit - 3] + "..."


def hex_float(n: int, f: int) -> str:
    """The exact value n * 2^-f as a short C/C++ hexadecimal floating literal (`-0x1.8p-3`)."""
    x = math.ldexp(n, -f)
    if math.ldexp(x, f) != n or not math.isfinite(x):
        raise IRError(f"the constant {n} * 2^-{f} is not exactly representable as a double")
    return short_hex(x)


def short_hex(x: float) -> str:
    """`float.hex` without redundant trailing zeros: 0x1.8000000000000p-3 -> 0x1.8p-3, 0x0.0p+0 -> 0x0p+0."""
    h = float.hex(float(x))
    if "0p" not in h:  # nothing to strip (also inf / nan)
        return h
    mant, exp = h.split("p")
    if "." in mant:
        mant = mant.rstrip("0").rstrip(".")
    return f"{mant}p{exp}"


def index_expr(*terms: tuple[str | int, int]) -> str:
    """A flattened index `a * s + b` from (expression, stride) pairs, dropping zero terms and unit strides."""
    parts = []
    for expr, stride in terms:
        if expr == 0 or expr == "0" or stride == 0:
            continue
        parts.append(str(expr) if stride == 1 else f"{expr} * {stride}")
    return " + ".join(parts) if parts else "0"
