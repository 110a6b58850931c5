"""Transformations inside fxflow's dialects; importing this package registers every pass."""

from .registry import PASSES, TRANSLATIONS, add_to_pass_manager, register_pass, register_translation  # noqa: F401


def load_all() -> None:
    """Import every pass and lowering module so their registrations run."""
    import importlib
    import pkgutil

    import fxflow.lowering as lowering_pkg
    import fxflow.passes as passes_pkg

    for pkg in (passes_pkg, lowering_pkg):
        for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if mod.name.endswith(".registry"):
                continue
            importlib.import_module(mod.name)
