"""Transformations inside fxflow's dialects; importing this package registers every pass."""

from .registry import PASSES, TRANSLATIONS, add_to_pass_manager, register_pass, register_translation  # noqa: F401


# Modules that register nothing and import heavy front-end libraries (torch): `load_all` skips them so that
# `fxflow-opt` / `fxflow-translate` start in well under a second.
# The RTL builders import CIRCT (an optional extra); their translations live in lowering/rtl/emit.py.
_NOT_REGISTERING = ("fxflow.lowering.torch_import", "fxflow.lowering.recurrent_import",
                    "fxflow.lowering.rtl.build", "fxflow.lowering.rtl.ops", "fxflow.lowering.rtl.signals",
                    "fxflow.lowering.rtl.fixed", "fxflow.lowering.rtl.approx")


def load_all() -> None:
    """Import every pass and lowering module so their registrations run."""
    import importlib
    import pkgutil

    import fxflow.lowering as lowering_pkg
    import fxflow.passes as passes_pkg

    for pkg in (passes_pkg, lowering_pkg):
        for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if mod.name.endswith(".registry") or mod.name in _NOT_REGISTERING:
                continue
            importlib.import_module(mod.name)
