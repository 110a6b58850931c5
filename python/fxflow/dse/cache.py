"""The sweep's result cache: one JSON record per point, named by the content hash of all it depends on.

The key hashes the imported program (the `linalg` text: structure, weights, input shape), the shared
config and compile arguments, the point, the data, labels and calibration data, a custom metric (by its
source text; the built-in ones are all in every record, so choosing another reuses the cache), the report
settings and the fxflow version; a rerun finds every unchanged point.  Only deterministic outcomes are stored: successes and errors that the inputs decide (a bad
config, an unsupported op) — not a missing tool or a crashed worker.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from pathlib import Path

import numpy as np

# errors that depend only on the point's inputs (fxflow.errors); anything else is retried on a rerun
DETERMINISTIC_ERRORS = ("ConfigError", "FormatError", "UnsupportedOpError", "ShapeError", "IRError")


def default_dir() -> Path:
    """$FXFLOW_CACHE/sweep, else ~/.cache/fxflow/sweep."""
    root = os.environ.get("FXFLOW_CACHE") or Path.home() / ".cache" / "fxflow"
    return Path(root) / "sweep"


def array_digest(arrays) -> str | None:
    """The hash of a list of arrays (dtype, shape and bytes), None for no data."""
    if arrays is None:
        return None
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def metric_digest(metric) -> str | None:
    """A custom metric by its source text (its qualified name when the source is not available) plus the values
    its code can see beyond its arguments: default arguments and closure cells (a `lambda y, t: f(y, t, th)` made
    in a loop must not share one key).  Values are keyed by their pickle, so any picklable value counts."""
    import pickle

    if metric is None:
        return None
    try:
        text = inspect.getsource(metric)
    except (OSError, TypeError):
        text = getattr(metric, "__qualname__", repr(type(metric)))
    free = (getattr(metric, "__defaults__", None), getattr(metric, "__kwdefaults__", None),
            [c.cell_contents for c in getattr(metric, "__closure__", None) or ()])
    try:
        extra = hashlib.sha256(pickle.dumps(free)).hexdigest()
    except Exception:  # an unpicklable captured value: a key that never repeats (the metric is not cached)
        import uuid

        extra = uuid.uuid4().hex
    return text_digest(text + "\n" + extra)


def key(shared: dict, point: dict) -> str:
    """The content hash of one point under the settings every point shares (`shared`: JSON values)."""
    text = json.dumps({"shared": shared, "point": point}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def load(folder: Path, k: str) -> dict | None:
    try:
        return json.loads((folder / f"{k}.json").read_text())
    except (OSError, ValueError):
        return None


def store(folder: Path, k: str, record: dict) -> bool:
    """Write a deterministic record (atomically: a concurrent reader sees the old file or the new one)."""
    if record["status"] != "ok" and record.get("error_type") not in DETERMINISTIC_ERRORS:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{k}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(record))  # key order kept: it is the column order
    os.replace(tmp, folder / f"{k}.json")
    return True
