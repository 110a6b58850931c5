"""What the `fxflow` subcommands share (cli.py and the sweep's dse/cli.py, which cli.py runs), kept below both so
that a subcommand module does not import the command line back."""

from __future__ import annotations


def load_npy(path, what: str):
    """The array saved at `path` (None when the flag was not given); a file NumPy cannot read is a ShapeError
    naming `what` (the flag's meaning, e.g. "calibration data")."""
    if path is None:
        return None
    import numpy as np

    from .errors import ShapeError

    try:
        return np.load(path)
    except (OSError, ValueError) as e:
        raise ShapeError(f"cannot read the {what} {path}: {e}") from None
