"""Transformations inside fxflow's dialects; importing this package registers every pass."""

from .registry import PASSES, TRANSLATIONS, add_to_pass_manager, register_pass, register_translation  # noqa: F401


# Modules that register nothing and import heavy front-end libraries (torch): `load_all` skips them so that
# `fxflow-opt` / `fxflow-translate` start in well under a second.
# The RTL builders import CIRCT (an optional extra); their translations live in lowering/rtl/emit.py.
_NOT_REGISTERING = ("fxflow.lowering.torch_import", "fxflow.lowering.recurrent_import", "fxflow.lowering.quantizer_import",
                    "fxflow.lowering.rtl.build", "fxflow.lowering.rtl.ops", "fxflow.lowering.rtl.signals",
                    "fxflow.lowering.rtl.fixed", "fxflow.lowering.rtl.approx")


def load_all() -> None:
    """Import every pass and lowering module so their registrations run."""
    import importlib
    import pkgutil

    import fxflow.lowering as lowering_pkg
    import fxflow.passes as passes_pkg

    def walk(path, prefix):
        # not pkgutil.walk_packages: it imports every package to descend into it, skipped ones too (rtl.ops)
        for mod in pkgutil.iter_modules(path, prefix):
            if mod.name.endswith(".registry") or mod.name in _NOT_REGISTERING:
                continue
            module = importlib.import_module(mod.name)
            if mod.ispkg:
                walk(module.__path__, mod.name + ".")

    for pkg in (passes_pkg, lowering_pkg):
        walk(pkg.__path__, pkg.__name__ + ".")
