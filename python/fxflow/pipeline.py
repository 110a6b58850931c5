"""Running fxflow's pass pipelines on MLIR's PassManager."""

from __future__ import annotations

from .errors import IRError
from .ir import PassManager, ir


def run_passes(module: ir.Module, passes: list, *, print_ir_after_all: bool = False, verify_input: bool = True) -> None:
    """Run `passes` — registered Python pass names, `(name, options)` pairs, or upstream textual pipeline
    pieces (`"canonicalize"`) — in order in one PassManager anchored on builtin.module.

    Python exceptions raised inside a pass (FxflowErrors naming the layer) propagate through `pm.run`
    unchanged; an MLIR failure (verifier, upstream pass) becomes an IRError with MLIR's diagnostics.
    The input is verified first: IR that is invalid before the pipeline is the caller's (an IRError),
    IR that one of our passes leaves invalid is a bug in fxflow (an InternalError naming the pass).

    Each registered pass verifies the IR it leaves (`add_to_pass_manager`), so the PassManager's own verifier
    (the whole module again after every pass) only runs when the list holds an upstream pass.  A caller
    whose module is the output of a previous `run_passes` (verified, untouched since) passes
    `verify_input=False`: one walk of the verifiers per pass instead of two or three."""
    from fxflow.passes import PASSES, add_to_pass_manager, load_all

    load_all()
    if verify_input:
        try:
            module.operation.verify()
        except ir.MLIRError as e:
            raise IRError(f"the input IR is invalid before the pass pipeline: {e}") from None
    pm = PassManager("builtin.module", context=module.context)
    upstream = False
    for item in passes:
        if isinstance(item, str) and item not in PASSES:
            pm.add(item)
            upstream = True
            continue
        name, options = (item, None) if isinstance(item, str) else item
        add_to_pass_manager(pm, name, options)
    pm.enable_verifier(upstream)
    if print_ir_after_all:
        pm.enable_ir_printing(print_after_all=True)
    try:
        pm.run(module.operation)
    except ir.MLIRError as e:
        raise IRError(f"pass pipeline failed: {e}") from None
