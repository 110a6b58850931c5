"""df-legalize-reuse: check each kernel's reuse factor against its work and make it legal.

A dense kernel with K inputs and N outputs does K*N multiplications (its "work", as the estimator's op
models define it: `fxflow.dialects.fxp.accessors.work`); with reuse factor R its multiplier array has
ceil(K*N/R) units and an initiation interval of R.  R must lie in [1, K*N]; an R that does not divide K*N
would leave multipliers idle, so it is rounded up to the next divisor (never more multipliers than the
user allowed; a warning says to what).  Kernels without multiplications keep R = 1.
"""

from __future__ import annotations

import warnings

from fxflow.dialects.fxp.accessors import work as op_work
from fxflow.errors import ConfigError
from fxflow.ir import i64_attr, ir

from .registry import UNCHANGED, register_pass


def next_divisor(n: int, target: int) -> int:
    """The smallest divisor of n that is >= target (n itself at worst)."""
    return next(d for d in range(max(target, 1), n + 1) if n % d == 0)


@register_pass("df-legalize-reuse", "Check reuse factors against each kernel's work; round to a divisor")
def legalize_reuse(module_op, options=None):
    kernels = []

    def collect(op):  # (exceptions must not cross MLIR's walk; collect first, then check)
        if op.name == "df.kernel":
            kernels.append(op)
            return ir.WalkResult.SKIP
        return ir.WalkResult.ADVANCE

    module_op.walk(collect, ir.WalkOrder.PRE_ORDER)
    changed = [_legalize_kernel(op) for op in kernels]
    return None if any(changed) else UNCHANGED


def _legalize_kernel(op) -> bool:
    """Make the kernel's reuse factor legal; True when it changed it."""
    name = ir.StringAttr(op.attributes["layer"]).value
    rf = ir.IntegerAttr(op.attributes["reuse_factor"]).value
    work = op_work(op)
    if work is None:
        if rf != 1:
            op.attributes["reuse_factor"] = i64_attr(1)
            return True
        return False
    if rf < 1 or rf > work:
        raise ConfigError(f"reuse_factor {rf} of layer '{name}' is outside [1, {work}] "
                          f"(the layer does {work} multiplications)")
    if work % rf:
        legal = next_divisor(work, rf)
        warnings.warn(f"reuse_factor {rf} of layer '{name}' does not divide its {work} multiplications; "
                      f"using {legal}, the next reuse factor that divides it", stacklevel=2)
        op.attributes["reuse_factor"] = i64_attr(legal)
        return True
    return False
