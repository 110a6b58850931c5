"""Registry of fxflow's Python passes and translations, keyed by their command-line names.

A pass is a function `run(module_op, options) -> None` plus an options dataclass; registering it makes it
available to `fxflow-opt` (as `--<name>` and inside `--pass-pipeline`), to the compile driver, and to
`PassManager` pipelines via `add_to_pass_manager`.  Passes anchor on `builtin.module` (see
shared/reference/mlir-python.md §3) and report failures with `FxflowError`s or MLIR diagnostics.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class PassInfo:
    name: str
    description: str
    run: Callable[[Any, Any], None]
    options: type = None  # a dataclass; None for no options

    def textual_options(self) -> list:
        """The option fields settable from text (`{key=value}`): str/int/float/bool ones.  Fields holding
        Python objects (a parsed Config handed over by the compile driver) are programmatic only."""
        if self.options is None:
            return []
        return [f for f in dataclasses.fields(self.options) if f.type in _TEXT_TYPES]

    def make_options(self, values: dict[str, str] | None = None):
        """Options from textual `{key=value ...}` pairs, converting to the dataclass field types."""
        values = dict(values or {})
        if self.options is None:
            if values:
                raise ValueError(f"pass '{self.name}' takes no options, got {sorted(values)}")
            return None
        known = {f.name.replace("_", "-"): f for f in self.textual_options()}
        kwargs = {}
        for key, raw in values.items():
            f = known.get(key) or known.get(key.replace("_", "-"))
            if f is None:
                raise ValueError(f"unknown option '{key}' for pass '{self.name}' (known: {', '.join(sorted(known))})")
            kwargs[f.name] = _convert(raw, f, self.name)
        return self.options(**kwargs)


_TEXT_TYPES = (str, int, float, bool, "str", "int", "float", "bool")
UNCHANGED = object()  # what a pass's run may return when it left the IR exactly as it was: nothing to verify
PASSES: dict[str, PassInfo] = {}
TRANSLATIONS: dict[str, tuple[str, Callable[[Any], str]]] = {}


def register_pass(name: str, description: str, options: type | None = None):
    """Decorator: `@register_pass("fxp-assign-precision", "...", Options)` on `run(module_op, options)`."""

    def wrap(fn):
        if name in PASSES:
            raise RuntimeError(f"pass '{name}' registered twice")
        PASSES[name] = PassInfo(name, description, fn, options)
        return fn

    return wrap


def register_translation(name: str, description: str):
    """Decorator for `emit(module) -> str` translations used by `fxflow-translate --<name>`."""

    def wrap(fn):
        TRANSLATIONS[name] = (description, fn)
        return fn

    return wrap


def add_to_pass_manager(pm, name: str, options=None, *, verify: bool = True) -> None:
    """Append a registered Python pass to an MLIR PassManager (anchored on builtin.module).

    With `verify`, the IR is verified right after the pass: a pass that succeeds but leaves invalid IR is a
    bug in fxflow, raised as an InternalError naming the pass (the PassManager's own verifier would report
    it as an anonymous pipeline failure, indistinguishable from bad input).  A pass returning UNCHANGED
    left its input as it was, which was valid: verifying it again (a walk of every op's Python verifier)
    is skipped."""
    info = PASSES[name]
    opts = options if options is not None else info.make_options()

    def run(op, pass_):
        # An error diagnostic emitted by the pass (`loc.emit_error(...)`) must fail the pass: while a
        # PassManager runs, the bindings capture errors and silently drop them when the run succeeds.
        errors = []

        def note_errors(diag):
            if str(diag.severity).endswith("ERROR"):
                errors.append(diag.message)
            return False  # not handled: let the diagnostic reach the caller

        from fxflow.dialects.fxp.base import formats_remembered

        with formats_remembered(op.context):
            handler = op.context.attach_diagnostic_handler(note_errors)
            try:
                outcome = info.run(op, opts)
            finally:
                handler.detach()
            if errors:
                pass_.signal_pass_failure()
            elif verify and outcome is not UNCHANGED:
                _verify_after(op, name)

    pm.add(run, name=name, argument=name, description=info.description)


def _verify_after(op, name: str) -> None:
    from fxflow.errors import InternalError
    from fxflow.ir import ir

    try:
        op.verify()
    except ir.MLIRError as e:
        raise InternalError(f"fxflow's pass '{name}' left IR that fails verification: {e}", where=name) from None


def _convert(raw: str, f, pass_name: str):
    typ = f.type if not isinstance(f.type, str) else f.type
    text = str(raw).strip().strip('"')
    try:
        if typ in (bool, "bool"):
            if text.lower() in ("1", "true", "yes", "on", ""):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if typ in (int, "int"):
            return int(text)
        if typ in (float, "float"):
            return float(text)
    except ValueError:
        raise ValueError(f"option '{f.name}' of pass '{pass_name}' expects {typ}, got '{raw}'") from None
    return text
