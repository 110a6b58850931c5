"""The `fxp` op list, and the op-class registry every concern keys its per-op table with.

Each concern (precision, exactness, emulator, estimate, HLS printers, RTL builders, raising) registers its
per-op entry under the op's *class* (`@op_step(DenseOp)`), so a misspelt op fails at import time, and a test
(test/python/test_op_coverage.py) can ask every concern about every op of `FXP_OPS`.
The sets of ops sharing a property (MULTIPLIER_OPS, PER_POSITION, ...) are built on this list in traits.py.
"""

from __future__ import annotations

from .elementwise import AddOp, CastOp, ConstantOp, MinMaxOp, MulOp, ReluOp, ScaleShiftOp, SubOp
from .layers import ConvOp, DenseOp, PoolOp
from .recurrent import RnnOp
from .shape import ConcatOp, GatherOp, PadOp, ReshapeOp, ResizeOp, TransposeOp
from .tables import ClampOp, LutOp, PReluOp, SelectOp, SoftmaxOp, ThresholdOp, YieldOp
from .transformer import AddConstantOp, LayerNormOp, MatmulOp

# The ops that stand in a function body, in family order (elementwise, layers, shape, tables, transformer,
# recurrent).  `fxp.yield` only terminates a `fxp.lut` region: it is no op of its own to any concern.
FXP_OPS: tuple[type, ...] = (
    ConstantOp, CastOp, AddOp, SubOp, MulOp, MinMaxOp, ReluOp, ScaleShiftOp,
    DenseOp, ConvOp, PoolOp,
    ReshapeOp, TransposeOp, ConcatOp, PadOp, ResizeOp, GatherOp,
    LutOp, SoftmaxOp, ClampOp, PReluOp, SelectOp, ThresholdOp,
    MatmulOp, LayerNormOp, AddConstantOp,
    RnnOp,
)
REGION_OPS: tuple[type, ...] = (YieldOp,)

_BY_NAME = {c.OPERATION_NAME: c for c in FXP_OPS + REGION_OPS}


def op_class(op) -> type | None:
    """The op class of an `fxp.*` op name, Operation or OpView; None for an op of another dialect."""
    return _BY_NAME.get(op_name(op))


def op_name(op_or_class) -> str:
    """`fxp.dense` for DenseOp, a DenseOp view, its Operation or the name itself."""
    if isinstance(op_or_class, type):
        return op_or_class.OPERATION_NAME
    if isinstance(op_or_class, str):
        return op_or_class
    return (op_or_class.operation if hasattr(op_or_class, "operation") else op_or_class).name


def check_op_classes(classes, concern: str) -> tuple[type, ...]:
    """The classes, after refusing anything that is not an op class of `FXP_OPS` (a string, a typo)."""
    for c in classes:
        if not (isinstance(c, type) and c in FXP_OPS):
            raise TypeError(f"{concern}: registered for {c!r}, which is not an fxp op class "
                            f"(one of {', '.join(k.__name__ for k in FXP_OPS)})")
    return tuple(classes)


class OpRegistry(dict):
    """op class -> one concern's entry for it.  Registration takes op classes only; lookups also take an
    op name, an operation or an OpView (mapped through `op_class`), so every concern looks up alike."""

    def __init__(self, concern: str):
        super().__init__()
        self.concern = concern

    def register(self, classes, entry) -> None:
        for c in check_op_classes(classes, self.concern):
            dict.__setitem__(self, c, entry)

    def decorate(self, classes, entry=None):
        """A decorator registering the function (or `entry(function)`) for the classes, checked right away."""
        classes = check_op_classes(classes, self.concern)

        def wrap(fn):
            self.register(classes, fn if entry is None else entry(fn))
            return fn

        return wrap

    @staticmethod
    def key(k):
        if isinstance(k, type):
            return k
        return op_class(k)

    def __getitem__(self, k):
        return dict.__getitem__(self, self.key(k))

    def __setitem__(self, k, v):
        self.register([self.key(k)], v)

    def __contains__(self, k):
        return dict.__contains__(self, self.key(k))

    def get(self, k, default=None):
        return dict.get(self, self.key(k), default)

    def pop(self, k, *default):
        return dict.pop(self, self.key(k), *default)

    def names(self) -> list[str]:
        """The registered op names, sorted (for error messages)."""
        return sorted(c.OPERATION_NAME for c in self)


__all__ = ["FXP_OPS", "REGION_OPS", "OpRegistry", "check_op_classes", "op_class", "op_name"]
