"""df-legalize-reuse: check each kernel's reuse factor against its work and make it legal.

A dense kernel with K inputs and N outputs does K*N multiplications; with reuse factor R its multiplier
array has ceil(K*N/R) units and an initiation interval of R.  R must lie in [1, K*N]; an R that does not
divide K*N would leave multipliers idle, so it is rounded to the nearest divisor (a warning says to what,
as hls4ml users expect).  Element-wise kernels do no multiplications and keep R = 1.
"""

from __future__ import annotations

import warnings

from fxflow.errors import ConfigError
from fxflow.ir import i64_attr, ir

from .registry import register_pass


def dense_work(kernel) -> int | None:
    """K*N of the dense op in a kernel, or None when the kernel has no dense op."""
    for op in kernel.regions[0].blocks[0].operations:
        if op.operation.name == "fxp.dense":
            w = ir.RankedTensorType(op.operation.operands[1].type).shape
            return int(w[0]) * int(w[1])
    return None


def nearest_divisor(n: int, target: int) -> int:
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    return min(divisors, key=lambda d: (abs(d - target), -d))  # ties: the larger (fewer multipliers)


@register_pass("df-legalize-reuse", "Check reuse factors against each kernel's work; round to a divisor")
def legalize_reuse(module_op, options=None) -> None:
    kernels = []

    def collect(op):  # (exceptions must not cross MLIR's walk; collect first, then check)
        if op.name == "df.kernel":
            kernels.append(op)
            return ir.WalkResult.SKIP
        return ir.WalkResult.ADVANCE

    module_op.walk(collect, ir.WalkOrder.PRE_ORDER)
    for op in kernels:
        _legalize_kernel(op)


def _legalize_kernel(op) -> None:
    name = ir.StringAttr(op.attributes["layer"]).value
    rf = ir.IntegerAttr(op.attributes["reuse_factor"]).value
    work = dense_work(op)
    if work is None:
        if rf != 1:
            op.attributes["reuse_factor"] = i64_attr(1)
        return
    if rf < 1 or rf > work:
        raise ConfigError(f"reuse_factor {rf} of layer '{name}' is outside [1, {work}] "
                          f"(the layer does {work} multiplications)")
    if work % rf:
        legal = nearest_divisor(work, rf)
        warnings.warn(f"reuse_factor {rf} of layer '{name}' does not divide its {work} multiplications; "
                      f"using {legal}", stacklevel=2)
        op.attributes["reuse_factor"] = i64_attr(legal)
