"""The ops a pass accepts as input, checked before the pass changes anything.

A pass that handles a closed set of ops (derived from the dialects' op lists, `op_names`) would otherwise meet
an op outside it half-way through its rewrite and leave IR with operands of the wrong type, or fail with a
Python exception far from the op.  `require_accepted_ops` walks the module's functions in program order and
names the first other op with its location.  Who wrote the IR decides the error: IR given by the user
(fxflow-opt, the Python API) is an UnsupportedOpError placed at the op; IR one of fxflow's own passes produced
(`produced_by`, set by the drivers) is an InternalError naming that pass.
"""

from __future__ import annotations

from fxflow.errors import InternalError, UnsupportedOpError
from fxflow.ir import func, layer_name

# Ops whose bodies hold the ops a pass works on (walked into); the regions of an accepted op are its own
# (fxp.lut's scalar body), checked by that op's verifier.
CONTAINERS = frozenset({func.FuncOp.OPERATION_NAME})


def op_names(*op_lists) -> frozenset[str]:
    """The operation names of lists of op classes (`FXP_OPS`, `(func.ReturnOp,)`)."""
    return frozenset(c.OPERATION_NAME for ops in op_lists for c in ops)


def first_unaccepted(op, accepted: frozenset[str]):
    """The first operation (program order) inside `op`'s functions whose name is not in `accepted`, or a function
    without a body (a declaration: nothing to work on), else None."""
    for region in op.regions:
        for block in region.blocks:
            for child in block.operations:
                child = child.operation
                if child.name in CONTAINERS and not any(len(r.blocks) for r in child.regions):
                    return child
                if child.name in CONTAINERS:
                    found = first_unaccepted(child, accepted)
                    if found is not None:
                        return found
                elif child.name not in accepted:
                    return child
    return None


def require_accepted_ops(module_op, accepted: frozenset[str], pass_name: str, expected: str,
                         produced_by: str | None = None) -> None:
    """Reject a module holding an op outside `accepted` (module doc); `expected` says what the pass takes and how
    to get there, e.g. "fxp ops (raise the function first: convert-linalg-to-fxp)"."""
    op = first_unaccepted(module_op.operation, accepted)
    if op is None:
        return
    what = "a function without a body" if op.name in CONTAINERS else "not an op this pass accepts"
    message = f"{pass_name}: '{op.name}' at {op.location} is {what}: it takes {expected}"
    if produced_by is not None:
        raise InternalError(f"fxflow's pass '{produced_by}' left an op {pass_name} does not accept: {message}",
                            where=produced_by)
    raise UnsupportedOpError(message, layer=layer_name(op.location), location=str(op.location))
