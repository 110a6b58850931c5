"""HLS flavours: what differs between the Vitis (ap_fixed) and the Catapult (ac_fixed) C++ of one design.

The op printers (kernels/) only use typedef names and plain C++ (`=`, `+=`, `*`, comparisons with 0),
which mean the same for ap_fixed and ac_fixed; everything that is spelled differently lives here:
the type of each typedef, the includes, the stream type, the testbench's stored-integer reader, the
build script and which headers the C simulation compiles against.  Every fxp rounding / overflow mode
is mapped explicitly; a mode without an equivalent in the flavour is an error naming the tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

from fxflow.errors import UnsupportedOpError
from fxflow.fixed import FixedFormat

from .cwriter import comment_text

# fxp mode -> the ac_fixed spelling (fixed-point.md §2a/2b: the same definitions; ac has no WRAP_SM)
AC_ROUNDING = {"TRN": "AC_TRN", "TRN_ZERO": "AC_TRN_ZERO", "RND": "AC_RND", "RND_ZERO": "AC_RND_ZERO",
               "RND_MIN_INF": "AC_RND_MIN_INF", "RND_INF": "AC_RND_INF", "RND_CONV": "AC_RND_CONV"}
AC_OVERFLOW = {"WRAP": "AC_WRAP", "SAT": "AC_SAT", "SAT_ZERO": "AC_SAT_ZERO", "SAT_SYM": "AC_SAT_SYM"}

_AP_STORED_INT = r"""// The stored integer of a fixed-point value (value = n * 2^-F), in decimal, exact for any width.
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
std::string stored_int(const ap_fixed_base<W, I, S, Q, O, N> &v) {
    ap_int_base<W, S> n;
    n.V = v.V;
    return n.to_string(10);
}
"""

_AC_STORED_INT = r"""// The stored integer of a fixed-point value (value = n * 2^-F), in decimal, exact for any width.
template <int W, int I, bool S, ac_q_mode Q, ac_o_mode O>
std::string stored_int(const ac_fixed<W, I, S, Q, O> &v) {
    return v.template slc<W>(0).to_string(AC_DEC);
}
"""


@dataclass(frozen=True)
class Flavour:
    name: str  # "vitis" | "catapult"
    includes: tuple[str, ...]
    stream_type: str  # the FIFO type of io_stream channels
    stored_int: str  # testbench helper: stored integer of a value as decimal text
    build_template: str  # template file of the vendor build script
    build_script: str  # its name in the project
    headers: str  # which headers the C simulation needs: "ap_types" | "ac_types"
    keeps_hls_pragmas: bool  # `#pragma HLS` lines are Vitis directives; other tools take Tcl directives
    type_doc: str  # how the type reads, for comments

    def type_name(self, fmt: FixedFormat, where: str) -> str:
        """The C++ type of `fmt` (for a typedef); `where` names the tensor in errors."""
        if self.name == "vitis":
            return fmt.to_ap()
        q, o = AC_ROUNDING.get(fmt.rounding), AC_OVERFLOW.get(fmt.overflow)
        if q is None or o is None:
            mode = fmt.rounding if q is None else fmt.overflow
            raise UnsupportedOpError(f"HLS emitter ({self.name}): {comment_text(where)} uses the mode {mode}, "
                                     f"which ac_fixed does not have (ac modes: {', '.join(AC_ROUNDING)}; "
                                     f"{', '.join(AC_OVERFLOW)})")
        return f"ac_fixed<{fmt.width},{fmt.int_bits},{'true' if fmt.signed else 'false'},{q},{o}>"

    def int_type(self, bits: int, signed: bool) -> str:
        """The C++ integer type of `bits` bits (two's complement when `signed`)."""
        if self.name == "vitis":
            return f"ap_{'' if signed else 'u'}int<{bits}>"
        return f"ac_int<{bits}, {'true' if signed else 'false'}>"

    def stored_bits(self, expr: str, fmt: FixedFormat) -> str:
        """The W stored bits of the fixed-point expression `expr` of format `fmt` (to initialize an integer
        of `int_type(W, ...)`)."""
        w = fmt.width
        if self.name == "vitis":
            return f"{expr}.range({w - 1}, 0)"
        return f"{expr}.template slc<{w}>(0)"

    def stored_integer(self, expr: str, fmt: FixedFormat) -> str:
        """The stored integer of fixed-point `expr` as an expression of `int_type(W, fmt.signed)`."""
        if self.name == "vitis":
            return f"{self.int_type(fmt.width, bool(fmt.signed))}({self.stored_bits(expr, fmt)})"
        return self.stored_bits(expr, fmt)  # ac_fixed's slc is already an ac_int of its signedness

    def set_stored_bits(self, dest: str, fmt: FixedFormat, value: str) -> str:
        """The statement that sets the W stored bits of fixed-point variable `dest` to integer `value`."""
        w = fmt.width
        if self.name == "vitis":
            return f"{dest}.range({w - 1}, 0) = {value};"
        return f"{dest}.set_slc(0, {self.int_type(w, bool(fmt.signed))}({value}));"

    def body_lines(self, lines: list[str]) -> list[str]:
        """Kernel / top body lines for this flavour (Vitis pragmas dropped where they mean nothing)."""
        if self.keeps_hls_pragmas:
            return lines
        return [line for line in lines if not line.lstrip().startswith("#pragma HLS")]


VITIS = Flavour("vitis", ("ap_fixed.h", "ap_int.h"), "hls::stream", _AP_STORED_INT, "build.tcl", "build.tcl",
                "ap_types", True, "ap_fixed<W,I,Q,O>")
CATAPULT = Flavour("catapult", ("ac_fixed.h", "ac_int.h", "ac_channel.h"), "ac_channel", _AC_STORED_INT,
                   "build_catapult.tcl", "build.tcl", "ac_types", False, "ac_fixed<W,I,S,Q,O>")
FLAVOURS = {f.name: f for f in (VITIS, CATAPULT)}


def flavour(name: str | Flavour | None) -> Flavour:
    if isinstance(name, Flavour):
        return name
    from fxflow.errors import ConfigError

    f = FLAVOURS.get(name or "vitis")
    if f is None:
        raise ConfigError(f"unknown HLS flavour '{name}' (available: {', '.join(FLAVOURS)})")
    return f
