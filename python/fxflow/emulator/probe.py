"""The value an op *receives*, on given inputs: the emulator's taps record what layers produce, but HCCS
calibration and the softmax accuracy report need the operand of one op (e.g. the scores q @ k^T entering a
softmax), in the fixed-point formats assigned so far.

`operand_values` copies the function, cuts it right before the op and returns the operand instead, so the
ops after it (possibly not yet given formats, mid-way through fxp-assign-precision) never run.
"""

from __future__ import annotations

import numpy as np

from fxflow import emulator
from fxflow.emulator import Tensor
from fxflow.errors import FxflowError
from fxflow.ir import ir


def op_position(block, op) -> int:
    """Index of `op` among the operations of `block`."""
    for i, o in enumerate(block.operations):
        if o.operation == op.operation:
            return i
    raise FxflowError(f"{op.operation.name} is not in the function body")


def operand_values(fn, position: int, operand: int, xs: list[np.ndarray]) -> Tensor:
    """Operand `operand` of the op at `position` of func.func `fn`'s body, for the batch of inputs `xs`."""
    with fn.context, ir.Location.unknown():
        module = ir.Module.create()  # a clone, not a parse: mid-pass the ops after the cut may not verify
        copy = fn.operation.clone(ip=ir.InsertionPoint(module.body))
        block = copy.regions[0].blocks[0]
        ops = list(block.operations)
        value = ops[position].operation.operands[operand]
        for o in reversed(ops[position:]):
            o.operation.erase()
        ir.Operation.create("func.return", operands=[value], ip=ir.InsertionPoint(block))
        program = emulator.compile_program(module)
    return emulator.run(program, xs)[0]
