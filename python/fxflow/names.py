"""Turning names taken from models (module paths, ONNX node names) into safe C++ identifiers and file names.

Model names are arbitrary strings; nothing derived from them may reach C++ or the file system unchecked.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import FxflowError

CPP_KEYWORDS = frozenset("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t char32_t class
compl concept const consteval constexpr constinit const_cast continue co_await co_return co_yield decltype
default delete do double dynamic_cast else enum explicit export extern false float for friend goto if inline
int long mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected public register
reinterpret_cast requires return short signed sizeof static static_assert static_cast struct switch template
this thread_local throw true try typedef typeid typename union unsigned using virtual void volatile wchar_t
while xor xor_eq main std hls ap_int ap_uint ap_fixed ap_ufixed
""".split())


def c_identifier(name: str, taken: set[str] | None = None, prefix: str = "l") -> str:
    """A valid, non-reserved C++ identifier derived from `name`; unique within `taken` (which is updated).

    `fc1` stays `fc1`; `seq.0` -> `seq_0`; `"x; system(...)"` -> `x_system`; leading digits get `prefix`."""
    ident = re.sub(r"[^0-9A-Za-z_]+", "_", str(name)).strip("_")
    ident = re.sub(r"_{2,}", "_", ident)  # double underscores are reserved in C++
    if not ident:
        ident = prefix
    if ident[0].isdigit():
        ident = f"{prefix}_{ident}"
    if ident in CPP_KEYWORDS or ident.startswith("_"):
        ident = f"{prefix}_{ident}"
    ident = ident[:64]
    if taken is not None:
        base, n = ident, 1
        while ident in taken:
            n += 1
            ident = f"{base}_{n}"
        taken.add(ident)
    return ident


def inside(root: Path, relative: str | Path) -> Path:
    """`root / relative`, refusing anything that would land outside `root` (absolute paths, `..`, links)."""
    root = Path(root).resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise FxflowError(f"refusing to write '{relative}': it is outside the output directory {root}")
    return target
