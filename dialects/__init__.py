"""fxflow's dialects, defined in Python on top of IRDL (`torch_mlir.dialects.ext`)."""

from fxflow.ir import ir


def load_all() -> None:
    """Load `fxp` and `df` into the current Context (once per Context)."""
    from .df import Df
    from .fxp import Fxp

    ctx = ir.Context.current
    for dialect in (Fxp, Df):
        if not ctx.is_dialect_loaded(dialect.DIALECT_NAMESPACE):
            dialect.load()


def new_context() -> ir.Context:
    """A Context with upstream dialects plus fxflow's `fxp` and `df` dialects loaded.

    It lives here, not in `fxflow.ir`: the binding layer sits below the dialects and does not know them."""
    ctx = ir.Context()
    ctx.allow_unregistered_dialects = False
    with ctx:
        load_all()
    return ctx


def irdl_text() -> str:
    """The IRDL of both dialects, for `torch-mlir-opt --irdl-file=` (an independent parser/verifier)."""
    from .df import Df
    from .fxp import Fxp

    return "\n".join(str(d._mlir_module) for d in (Fxp, Df))  # mlir ext.Dialect internal: its IRDL module once loaded
