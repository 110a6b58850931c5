"""Error metrics of a multiplier, computed exhaustively over every operand pair (uniform operands).

With e = approx - exact over all 2^(wa+wb) pairs: MAE = mean |e|, WCE = max |e|, MRE = mean |e| / |exact|
over the pairs whose exact product is not 0, EP = the fraction of pairs with e != 0, bias = mean e.
`nmed` is MAE divided by the largest exact magnitude (the normalized mean error distance of the literature).
"""

from __future__ import annotations

import numpy as np


def error_metrics(table: np.ndarray, exact: np.ndarray) -> dict:
    e = (table - exact).astype(np.float64)
    ae = np.abs(e)
    nz = exact != 0
    return {
        "mae": float(ae.mean()),
        "wce": int(np.abs(table - exact).max()),
        "mre": float((ae[nz] / np.abs(exact[nz])).mean()) if nz.any() else 0.0,
        "ep": float((e != 0).mean()),
        "bias": float(e.mean()),
        "nmed": float(ae.mean() / max(1, int(np.abs(exact).max()))),
    }


def metrics_table(mults: dict) -> str:
    """A Markdown table: name, gates, MAE, WCE, MRE, EP, bias (one row per multiplier)."""
    rows = ["| multiplier | gates | MAE | WCE | MRE | EP | bias |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, m in mults.items():
        d = m.metrics()
        rows.append(f"| `{name}` | {m.gates} | {d['mae']:.2f} | {d['wce']} | {d['mre']:.4f} | {d['ep']:.3f} | "
                    f"{d['bias']:.2f} |")
    return "\n".join(rows)
