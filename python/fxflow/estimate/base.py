"""The estimator's framework: the cost record, what a model sees, the op-model registry and the helpers the model
families share. The package `fxflow.estimate` (the aggregator: `estimate`, `estimate_kernel`) imports this and then
the family modules (elementwise, layers, shape, tables, transformer, recurrent); the families import only this,
never the aggregator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from fxflow.devices import Device
from fxflow.dialects.fxp import AddConstantOp, ClampOp, ConstantOp, MinMaxOp, MulOp, OpRegistry, SelectOp, SubOp
from fxflow.errors import IRError

if TYPE_CHECKING:
    from fxflow.approx.cost import LutCosts

CLOCK_UNCERTAINTY = 0.27  # Vitis HLS default: 27 % of the period is kept free for routing
DSP_MIN_WIDTH = 9  # a product goes to DSPs only when both operands are at least this wide (hls4ml: weight >= 9)
DSP_ADD_MAX = 48  # widest sum a DSP post-adder holds (not used for LUT savings: see docs)
SRL_MAX_DEPTH = 64  # FIFOs up to this depth are shift registers (LUTs), deeper ones block RAM
RESOURCES = ("dsp", "lut", "ff", "bram18", "uram")
# The OpCost fields that add up: a kernel sums them over its ops, the design over its kernels.
ADDITIVE = ("work", "multiplications", "zero_weights", "multipliers", *RESOURCES)


@dataclass
class OpCost:
    """What one op of a kernel costs.  `delay_ns` chains inside a pipeline; `cycles` is set instead by
    sequential (loop-based) implementations whose latency does not come from a combinational path."""

    work: int = 0  # multiplications the reuse factor divides (K*N for dense)
    multiplications: int = 0  # products computed per sample (zero weights skipped when unrolled)
    zero_weights: int = 0
    multipliers: int = 0
    dsp: int = 0
    lut: int = 0
    ff: int = 0
    bram18: int = 0
    uram: int = 0
    delay_ns: float = 0.0
    cycles: int | None = None
    tokens_in: int = 1  # stream tokens per sample on each input / output (1: the whole tensor)
    tokens_out: int = 1


@dataclass(frozen=True)
class Ctx:
    """What an op model sees: the part, the clock and the kernel's parallelism knobs."""

    device: Device
    period: float
    reuse_factor: int
    strategy: str
    where: str
    lut_costs: LutCosts | None = None  # yosys-measured approximate multipliers (passed by the caller)
    kernel: object = None  # the df.kernel op, to see where a kernel input comes from (`input_element_ranges`)

    @property
    def usable(self) -> float:
        return self.period * (1.0 - CLOCK_UNCERTAINTY)

    def t_add(self, width: int) -> float:
        fam = self.device.family
        return fam.t_add + fam.t_add_bit * width


CostFn = Callable[[Ctx, object], OpCost]


@dataclass(frozen=True)
class OpModel:
    cost: CostFn


OP_MODELS: OpRegistry = OpRegistry("estimate model")

# Ops without a model of their own, with the reason; they take the aggregator's `_default` cost (one LUT and one
# FF per result bit, one adder delay).  test_op_coverage.py asks every op of FXP_OPS.
DEFAULT_COST = {
    ConstantOp: "no cost of its own: kernels skip constants; their readers' models count the weights",
    SubOp: "default cost: one LUT and one FF per result bit, one adder delay",
    MulOp: "default cost (one LUT and one FF per result bit): no multiplier counted yet",
    ClampOp: "default cost: one LUT and one FF per result bit, one adder delay",
    SelectOp: "default cost: one LUT and one FF per result bit, one adder delay (a comparison and a mux)",
    MinMaxOp: "default cost: one LUT and one FF per result bit, one adder delay (a comparison and a mux)",
    AddConstantOp: "default cost: one LUT and one FF per result bit, one adder delay",
}


def op_model(*classes: type):
    """Register the cost model of the fxp op classes (the work its reuse factor divides is the dialect's
    `accessors.work`)."""
    return OP_MODELS.decorate(classes, OpModel)


# --- IR helpers -----------------------------------------------------------------------------------

def _ir():
    from fxflow.ir import ir

    return ir


def fmt_of(value_or_type, where: str):
    from fxflow.dialects.fxp import format_of

    ir = _ir()
    t = value_or_type if isinstance(value_or_type, ir.Type) else value_or_type.type
    fmt = format_of(t)
    if fmt is None:
        raise IRError(f"estimator: {where} is not a fixed-point tensor ({t}); run fxp-assign-precision first")
    return fmt


def input_element_ranges(ctx: Ctx, value):
    """Per-element integer ranges (flat lo, hi; `df.graph.element_ranges`) of an op operand that is a kernel
    input produced as a per-element cast, None otherwise: the same ranges the RTL builder gives its wires."""
    from fxflow.dialects.df.graph import element_ranges

    if ctx.kernel is None:
        return None
    args = list(ctx.kernel.regions[0].blocks[0].arguments)
    index = next((i for i, a in enumerate(args) if a == value), None)
    return None if index is None else element_ranges(list(ctx.kernel.operands)[index])


def shape_of(value) -> tuple[int, ...]:
    ir = _ir()
    return tuple(int(d) for d in ir.RankedTensorType(value.type).shape)


def size_of(value) -> int:
    return math.prod(shape_of(value))


def constant_values(value):
    """The stored integers of a value defined by `fxp.constant` (numpy, its shape), else None."""
    from fxflow.ir import defining_op, elements_array

    owner = defining_op(value)
    if owner is None or owner.name != "fxp.constant":
        return None
    return elements_array(owner.attributes["value"], shape_of(value))


# --- shared by the op models --------------------------------------------------------------------

def dsp_per_multiplier(device: Device, wx: int, sx: bool, ww: int, sw: bool) -> int:
    """DSP slices of one wx x ww product, or 0 when it stays in LUTs (an operand narrower than
    DSP_MIN_WIDTH).  Unsigned operands need one more bit on the signed DSP ports; wide products tile."""
    if min(wx, ww) < DSP_MIN_WIDTH:
        return 0
    a, b = wx + (not sx), ww + (not sw)
    fam = device.family
    return min(math.ceil(a / fam.dsp_a) * math.ceil(b / fam.dsp_b), math.ceil(b / fam.dsp_a) * math.ceil(a / fam.dsp_b))


def lut_multiplier_luts(wa: int, wb: int) -> int:
    """LUTs of a generic (exact) wa x wb LUT multiplier: one LUT6_2 per two partial products."""
    return math.ceil(wa * wb / 2)


def approx_products(ctx: Ctx, op, count: int, fa, fb, roles: tuple[str, str] = ("input", "weight")):
    """(lut, delay) of `count` parallel approximate multipliers of `op` (its `approx_mul`, fxflow.approx), or None
    for exact products.  An approximate multiplier is logic, never a DSP: each costs its multiplier's LUTs
    (`fxflow.approx.cost.lut_cost`: measured in `ctx.lut_costs`, else the gate model scaling the exact LUT
    multiplier)."""
    if "approx_mul" not in op.attributes:
        return None
    from fxflow.approx.cost import lut_cost
    from fxflow.dialects.fxp.accessors import op_multiplier

    mult = op_multiplier(op, fa, fb, roles)
    each, _ = lut_cost(mult, lut_multiplier_luts(mult.wa, mult.wb), ctx.lut_costs)
    fam = ctx.device.family
    return count * each, fam.t_lut_mul + fam.t_lut_mul_bit * (mult.wa + mult.wb)


def rounds(fmt) -> bool:
    return fmt.rounding != "TRN" or fmt.overflow != "WRAP"


def per_element_product(ctx: Ctx, op, param_index: int) -> OpCost:
    """One product per result element by a per-channel parameter (scale_shift's scale, prelu's alpha): a
    multiplier each (DSP or LUTs) plus the result's adder and registers."""
    x, p, y = op.operands[0], op.operands[param_index], op.results[0]
    fx, fp, fy = (fmt_of(x, f"input of {ctx.where}"), fmt_of(p, f"parameter of {ctx.where}"),
                  fmt_of(y, f"result of {ctx.where}"))
    mults = size_of(y)
    dsp_each = dsp_per_multiplier(ctx.device, fx.width, fx.signed, fp.width, fp.signed)
    fam = ctx.device.family
    c = OpCost(multiplications=mults, multipliers=mults, dsp=mults * dsp_each,
               lut=(0 if dsp_each else mults * math.ceil(fx.width * fp.width / 2)) + mults * fy.width,
               ff=mults * fy.width)
    c.delay_ns = (fam.t_dsp if dsp_each else fam.t_lut_mul + fam.t_lut_mul_bit * (fx.width + fp.width)) + \
        ctx.t_add(fy.width)
    return c
