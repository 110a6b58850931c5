"""Integer arithmetic of AIE-ML dense kernels, and the proof that it equals `fxp.dense` (+ fused ReLU).

`fxp.dense` means: acc = accum(bias); acc = accum(acc + x[k]*w[k][n]) for k in order; y = result(acc).
An AIE core instead accumulates exact integer products in acc32/acc64 lanes (bias preloaded as the
accumulator start, partial sums passed along cascades) and converts once with SRS (shift-round-saturate).
`lower_dense` accepts a layer only when the two are provably equal:

1. every product lies on the accumulator grid (accum f >= f_x + f_w), so no `acc +=` ever rounds;
2. accum(bias) lies on the product grid, so it can be the integer accumulator start;
3. interval bounds over the real weights and the input range show that no partial sum (in any order,
   hence also across cascade splits and padding) leaves the accum range — every `accum(...)` assignment
   is the identity — nor the hardware accumulator (2^31 / 2^63);
4. the final `result(acc)` is one SRS: shift f_acc - f_out with the AIE rounding mode equal to the
   ap_fixed one (reference fixed-point.md §6), saturation at the storage type, plus a clamp / sign
   extension / zero select when the format is narrower than its storage or its overflow mode has no SRS
   equivalent (done after an SRS to int32, exact because the format is narrower than 32 bits).

Otherwise it raises UnsupportedOpError naming the layer and the violated condition.  The simulator runs
these steps with `fxflow.fixed` (no rounding logic of its own), so `simulate == predict` tests the proof.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from fxflow.errors import UnsupportedOpError
from fxflow.fixed import FixedFormat
from fxflow.fixed.quantize import apply_overflow, requantize, round_shift

# ap_fixed rounding mode -> AIE API aie::rounding_mode (UG1583 "Mode Settings"; fixed-point.md §6)
AIE_ROUNDING = {"TRN": "floor", "TRN_ZERO": "symmetric_floor", "RND": "positive_inf",
                "RND_MIN_INF": "negative_inf", "RND_INF": "symmetric_inf", "RND_ZERO": "symmetric_zero",
                "RND_CONV": "conv_even"}
FXP_ROUNDING = {v: k for k, v in AIE_ROUNDING.items()}
# ap_fixed overflow mode -> aie::saturation_mode when SRS saturates at exactly the format's width
AIE_SATURATION = {"WRAP": "none", "SAT": "saturate", "SAT_SYM": "symmetric"}
FXP_SATURATION = {v: k for k, v in AIE_SATURATION.items()}

# acc64 kernels seed the accumulator from the bias as hi * 2^BIAS64_SPLIT + lo, two int32 vectors (AIE-ML has no
# 64-bit lanes to load): the bias at the product grid must fit 31 + BIAS64_SPLIT bits plus sign.
BIAS64_SPLIT = 16

STORAGE = {"i8": (1, 8), "u8": (0, 8), "i16": (1, 16), "u16": (0, 16), "i32": (1, 32)}
CTYPE = {"i8": "int8", "u8": "uint8", "i16": "int16", "u16": "uint16", "i32": "int32"}


@dataclass(frozen=True)
class Mode:
    """An AIE-ML `aie::mmul` mode: operand widths, accumulator, peak MAC/cycle, microtile (M, K, N)."""

    name: str
    x_bits: int
    w_bits: int
    acc_bits: int
    macs: int
    microtile: tuple[int, int, int]

    @property
    def acc(self) -> str:
        return f"acc{self.acc_bits}"


MODES = {m.name: m for m in (Mode("8x8", 8, 8, 32, 256, (4, 8, 8)), Mode("16x8", 16, 8, 32, 128, (4, 4, 8)),
                             Mode("16x16", 16, 16, 64, 64, (4, 4, 4)))}
# AIE2P (npu2) has no 4x4x4 mmul for 16b x 16b; its acc64 mode is 4x4x8 (the AIE API's aie2p modes).
MICROTILES = {"aie2": {name: m.microtile for name, m in MODES.items()},
              "aie2p": {"8x8": (4, 8, 8), "16x8": (4, 4, 8), "16x16": (4, 4, 8)}}


def device_mode(name: str, device) -> Mode:
    """The mode `name` with the microtile the device's core architecture offers for it."""
    m = MODES[name]
    return replace(m, microtile=MICROTILES[device.arch][name])


def storage_of(fmt: FixedFormat) -> str | None:
    """The narrowest AIE storage type holding every stored integer of `fmt` (None: wider than 32 bits)."""
    for name, (k, bits) in STORAGE.items():
        if fmt.min_int >= (-(1 << (bits - 1)) if k else 0) and fmt.max_int <= (1 << (bits - k)) - 1:
            return name
    return None


def int_format(k: int, bits: int, overflow: str) -> FixedFormat:
    return FixedFormat(k, bits - k, 0, "TRN", overflow)


@dataclass(frozen=True)
class Srs:
    """acc -> vector: round_shift by `shift` (<= 0: exact left shift) with AIE rounding `round`, saturate
    (`sat`) at `to`, then optionally apply `fix` (k, width, overflow mode) at the format's own width."""

    shift: int
    round: str
    sat: str
    to: str
    fix: tuple[int, int, str] | None = None

    def text(self) -> str:
        fix = f" fix={'i' if self.fix[0] else 'u'}{self.fix[1]}:{self.fix[2]}" if self.fix else ""
        return f"srs shift={self.shift} round={self.round} sat={self.sat} to={self.to}{fix}"

    @classmethod
    def parse(cls, text: str) -> "Srs":
        kv = dict(p.split("=", 1) for p in text.split()[1:])
        fix = None
        if "fix" in kv:
            w, o = kv["fix"].split(":")
            fix = (1 if w[0] == "i" else 0, int(w[1:]), o)
        return cls(int(kv["shift"]), kv["round"], kv["sat"], kv["to"], fix)

    def run(self, n: np.ndarray) -> np.ndarray:
        """The SRS (and fix) on integer accumulator lanes, through fxflow.fixed."""
        n = round_shift(n, self.shift, FXP_ROUNDING[self.round])
        k, bits = STORAGE[self.to]
        n = apply_overflow(n, int_format(k, bits, FXP_SATURATION[self.sat]))
        if self.fix is not None:
            n = apply_overflow(n, int_format(*self.fix))
        return np.asarray(n, dtype=np.int64)


def plan_srs(f_from: int, fmt: FixedFormat, layer: str) -> Srs:
    """The SRS steps equal to assigning an exact value at grid 2^-f_from to `fmt` (requantize)."""
    store = storage_of(fmt)
    if store is None:
        raise UnsupportedOpError(f"layer '{layer}': format {fmt} is wider than 32 bits; the AIE backend stores "
                                 "int8/int16/int32 vectors", layer)
    k, bits = STORAGE[store]
    shift, rnd = f_from - fmt.f, AIE_ROUNDING[fmt.rounding]
    overflow = "SAT" if fmt.overflow == "SAT_SYM" and not fmt.signed else fmt.overflow  # same for unsigned
    if overflow in AIE_SATURATION and fmt.width == bits and fmt.k == k:
        return Srs(shift, rnd, AIE_SATURATION[overflow], store)
    if fmt.width >= 32:
        raise UnsupportedOpError(f"layer '{layer}': overflow mode {fmt.overflow} of the 32-bit format {fmt} has no "
                                 "SRS equivalent", layer)
    # SRS to int32 first (saturating unless WRAP), then the format's own overflow at its width: exact because
    # clamping/wrapping at 32 bits never changes whether, or to what, a value overflows a narrower format.
    return Srs(shift, rnd, "none" if fmt.overflow == "WRAP" else "saturate", "i32",
               (fmt.k, fmt.width, fmt.overflow))


@dataclass
class DenseInt:
    """The integer form of one dense (+ReLU) kernel: mode, product-grid bias, epilogue."""

    mode: Mode
    x_store: str
    w_store: str
    y_store: str
    bias: np.ndarray  # int64 at grid 2^-(f_x + f_w)
    epilogue: list  # Srs | "relu"
    bound: int  # max |partial sum| at the product grid

    def attr_epilogue(self) -> list[str]:
        return [s if isinstance(s, str) else s.text() for s in self.epilogue]


def parse_epilogue(items) -> list:
    return [s if s == "relu" else Srs.parse(s) for s in items]


def run_epilogue(acc: np.ndarray, epilogue: list) -> np.ndarray:
    for step in epilogue:
        acc = np.maximum(acc, 0) if step == "relu" else step.run(acc)
    return acc


def bias_on_product_grid(b: np.ndarray, b_fmt: FixedFormat, acc: FixedFormat, pf: int, layer: str) -> np.ndarray:
    """accum(bias) as integers at the product grid 2^-pf (condition 2)."""
    acc0 = np.asarray(requantize(np.asarray(b, dtype=np.int64), b_fmt.f, acc), dtype=object)
    d = acc.f - pf
    if d and any(int(v) % (1 << d) for v in acc0):
        raise UnsupportedOpError(f"layer '{layer}': the bias assigned to the accumulator {acc} has bits below the "
                                 f"product LSB 2^-{pf}; the AIE accumulator holds products exactly at 2^-{pf}", layer)
    return np.array([int(v) >> d for v in acc0], dtype=object)


def check_product(layer: str, product: FixedFormat | None, x_fmt: FixedFormat, w_fmt: FixedFormat) -> None:
    """An hls4ml-style per-product type must hold every exact product: AIE multipliers never round them."""
    if product is not None and not product.covers(x_fmt.mul_result(w_fmt)):
        raise UnsupportedOpError(f"layer '{layer}': every product is assigned to {product}, which cannot hold the "
                                 f"exact products ({x_fmt.mul_result(w_fmt)}); AIE multipliers keep products exact",
                                 layer)


def lower_dense(layer: str, x_fmt: FixedFormat, w: np.ndarray, w_fmt: FixedFormat, b: np.ndarray,
                b_fmt: FixedFormat, acc: FixedFormat, out: FixedFormat, relu: FixedFormat | None = None) -> DenseInt:
    """Check conditions 1-4 for one dense layer (optionally followed by a ReLU assigned to `relu`)."""
    stores = []
    for what, fmt in (("input", x_fmt), ("weight", w_fmt)):
        s = storage_of(fmt)
        if s is None or STORAGE[s][1] > 16:
            raise UnsupportedOpError(f"layer '{layer}': {what} format {fmt} is {fmt.width} bits wide; AIE-ML "
                                     "dense kernels take int8 or int16 operands", layer)
        stores.append(s)
    x_bits, w_bits = (STORAGE[s][1] for s in stores)
    pf = x_fmt.f + w_fmt.f
    if acc.f < pf:
        raise UnsupportedOpError(f"layer '{layer}': accumulator {acc} keeps {acc.f} fractional bits but the products "
                                 f"have {pf}; it rounds every partial sum, which an exact integer accumulator cannot "
                                 "reproduce (use a wider accum or 'exact')", layer)
    bias = bias_on_product_grid(b, b_fmt, acc, pf, layer)
    # Condition 3: interval of every prefix sum, per output column, at the product grid (int64 while the
    # column sums provably fit: operands <= 16 bits, so |product| < 2^32 and 2^20 terms stay below 2^52).
    big = w.shape[0] >= (1 << 20)
    wo = np.asarray(w, dtype=object if big else np.int64)
    lo_x, hi_x = x_fmt.min_int, x_fmt.max_int
    a, c = wo * lo_x, wo * hi_x
    neg = np.minimum(np.minimum(a, c), 0).sum(axis=0)
    pos = np.maximum(np.maximum(a, c), 0).sum(axis=0)
    lo = min((int(p) + int(n) for p, n in zip(bias, neg)), default=0)
    hi = max((int(p) + int(q) for p, q in zip(bias, pos)), default=0)
    d = acc.f - pf
    if (lo << d) < acc.min_int or (hi << d) > acc.max_int:
        raise UnsupportedOpError(f"layer '{layer}': partial sums may reach [{lo * 2.0**-pf:g}, {hi * 2.0**-pf:g}], "
                                 f"outside the accumulator {acc}; the AIE accumulates exactly, so its "
                                 f"{acc.overflow} behaviour cannot be reproduced (use a wider accum or 'exact')", layer)
    bound = max(-lo, hi, 1)
    mode = MODES["8x8" if (x_bits, w_bits) == (8, 8) else "16x8" if (x_bits, w_bits) == (16, 8) else "16x16"]
    if bound.bit_length() >= mode.acc_bits:
        mode = MODES["16x16"]  # acc64: operands widened to int16
    if bound.bit_length() >= mode.acc_bits:
        raise UnsupportedOpError(f"layer '{layer}': partial sums need {bound.bit_length() + 1} bits, more than the "
                                 "64-bit AIE accumulator", layer)
    limit = 1 << (31 + BIAS64_SPLIT)
    if mode.acc_bits == 64 and any(not -limit <= int(v) < limit for v in bias):
        raise UnsupportedOpError(f"layer '{layer}': a bias needs more than {32 + BIAS64_SPLIT} bits at the product "
                                 f"grid 2^-{pf}; the acc64 kernel loads it as two int32 halves "
                                 f"(hi * 2^{BIAS64_SPLIT} + lo)", layer)
    first = plan_srs(pf, out, layer)
    if first.shift < 0 and (bound << -first.shift).bit_length() >= mode.acc_bits:
        raise UnsupportedOpError(f"layer '{layer}': the result {out} has more fractional bits than the products and "
                                 f"the up-shifted accumulator would exceed {mode.acc_bits} bits", layer)
    epilogue = relu_epilogue(first, out, relu, layer)
    y_store = storage_of(relu if relu is not None else out)
    return DenseInt(mode, stores[0], stores[1], y_store, bias.astype(np.int64), epilogue, bound)


def relu_epilogue(first: Srs, out: FixedFormat, relu: FixedFormat | None, layer: str) -> list:
    """[`first`, the SRS to the op's result `out`] + a fused ReLU assigned to `relu` (its own SRS when the format
    differs)."""
    epilogue: list = [first]
    if relu is not None:
        epilogue.append("relu")
        if relu != out:
            second = plan_srs(out.f, relu, layer)
            if second.shift < 0 and (max(-out.min_int, out.max_int) << -second.shift).bit_length() >= 32:
                raise UnsupportedOpError(f"layer '{layer}': the ReLU result {relu} has so many more fractional bits "
                                         f"than {out} that the up-shifted values exceed 32 bits", layer)
            epilogue.append(second)
    return epilogue
