"""Op properties ("traits"): the sets of fxp ops that share a property, the only place such lists exist.

Each set is written over op classes of `oplist.FXP_OPS`, the one op list (a misspelt op is a NameError at
import, not a set that silently never matches) and tests membership of an op name, an Operation or an OpView:

    if o.name in MULTIPLIER_OPS: ...        # or: if op in MULTIPLIER_OPS
"""

from __future__ import annotations

from .base import Fxp
from .elementwise import AddOp, CastOp, ConstantOp, MinMaxOp, MulOp, ReluOp, ScaleShiftOp, SubOp
from .layers import ConvOp, DenseOp, PoolOp
from .oplist import FXP_OPS, op_name
from .shape import ConcatOp, GatherOp, PadOp, ReshapeOp, ResizeOp, TransposeOp
from .tables import ClampOp, LutOp, PReluOp, SelectOp, SoftmaxOp, ThresholdOp
from .transformer import MatmulOp


class OpSet:
    """A named set of fxp op classes; `x in s` for an op name, an Operation or an OpView."""

    def __init__(self, *classes: type):
        unknown = [c for c in classes if c not in FXP_OPS or not issubclass(c, Fxp.Operation)]
        if unknown:
            raise TypeError(f"not fxp ops: {unknown}")
        self.classes = frozenset(classes)
        self.names = frozenset(c.OPERATION_NAME for c in classes)

    def __contains__(self, op) -> bool:
        return op_name(op) in self.names

    def __iter__(self):
        return iter(sorted(self.names))

    def __len__(self) -> int:
        return len(self.names)

    def __or__(self, other: "OpSet") -> "OpSet":
        return OpSet(*(self.classes | other.classes))

    def __sub__(self, other: "OpSet") -> "OpSet":
        return OpSet(*(self.classes - other.classes))

    def __eq__(self, other) -> bool:
        return isinstance(other, OpSet) and self.classes == other.classes

    def __hash__(self) -> int:
        return hash(self.classes)

    def __repr__(self) -> str:
        return f"OpSet({', '.join(self)})"


COMPUTE_OPS = OpSet(*(c for c in FXP_OPS if c is not ConstantOp))
"""Ops that compute: each becomes a df.kernel and is a layer a config can name.  Constants are cloned into
the kernels that read them; `fxp.yield` only terminates a lut region."""

MULTIPLIER_OPS = OpSet(DenseOp, ConvOp, MatmulOp)
"""Ops whose products an approximate multiplier (`approx_mul`, a config's per-layer `multiplier`) replaces."""

WEIGHTED_OPS = OpSet(DenseOp, ConvOp)
"""MULTIPLIER_OPS whose second operand is a constant weight tensor (with a bias and an `accum`): the layers
whose weight format a report shows and whose products an approximate multiplier is searched or fine-tuned
for by weight.  The difference, `fxp.matmul`, multiplies two computed activations."""

PER_POSITION = OpSet(CastOp, ReluOp, AddOp, SubOp, MulOp, MinMaxOp, ScaleShiftOp, ClampOp, PReluOp, SelectOp, LutOp,
                     ConcatOp, SoftmaxOp, ReshapeOp, ThresholdOp)
"""Ops an io_stream kernel can run one stream token (one spatial position, all channels) at a time, when
their operands are streamed the same way (HLS stream printers)."""

WINDOWED = OpSet(ConvOp, PoolOp)
"""Ops whose stream form reads a sliding window of positions (a line buffer in io_stream)."""

REORDERED = OpSet(PadOp, ResizeOp)
"""Ops whose stream form inserts or repeats positions and leaves each position's channels untouched."""

WIDENED = OpSet(ConvOp, PoolOp, ScaleShiftOp, SubOp, MulOp, PReluOp, ConcatOp)
"""Ops whose exact result is the same op with a wide accumulator and result (conv: the full sum; pool: the
window's max, or its mean truncated on a fine grid; affine/elementwise: the exact expression); profiling's
overflow count evaluates them so."""

PER_SAMPLE_MOVES = OpSet(ReshapeOp, TransposeOp, GatherOp)
"""Data movement that keeps each sample's values (reorders, never mixes or scales them): a per-tensor scale
commutes with it, so raising may fold such a scale through it into the producing dense layer."""
