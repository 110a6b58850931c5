"""Error metrics of a multiplier, computed exhaustively over every operand pair (uniform operands).

With e = approx - exact over all 2^(wa+wb) pairs: MAE = mean |e|, WCE = max |e|, MRE = mean |e| / |exact|
over the pairs whose exact product is not 0, EP = the fraction of pairs with e != 0, bias = mean e.
`nmed` is MAE divided by the largest exact magnitude (the normalized mean error distance of the literature).
"""

from __future__ import annotations

import numpy as np


def error_metrics(table: np.ndarray, exact: np.ndarray) -> dict:
    return error_metrics_blocks([(table, exact)])


def error_metrics_blocks(blocks) -> dict:
    """The metrics over (approx, exact) blocks that together cover every operand pair once (bounded memory)."""
    n = n_nz = n_err = 0
    sum_ae = sum_e = sum_re = 0.0
    wce = max_exact = 0
    for table, exact in blocks:
        e = table - exact
        ae = np.abs(e).astype(np.float64)
        nz = exact != 0
        n += e.size
        n_nz += int(nz.sum())
        n_err += int((e != 0).sum())
        sum_ae += float(ae.sum())
        sum_e += float(e.sum(dtype=np.float64))
        sum_re += float((ae[nz] / np.abs(exact[nz])).sum())
        wce = max(wce, int(np.abs(e).max(initial=0)))
        max_exact = max(max_exact, int(np.abs(exact).max(initial=0)))
    return {
        "mae": sum_ae / n,
        "wce": wce,
        "mre": sum_re / n_nz if n_nz else 0.0,
        "ep": n_err / n,
        "bias": sum_e / n,
        "nmed": sum_ae / n / max(1, max_exact),
    }


def metrics_table(mults: dict) -> str:
    """A Markdown table: name, gates, MAE, WCE, MRE, EP, bias (one row per multiplier)."""
    rows = ["| multiplier | gates | MAE | WCE | MRE | EP | bias |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, m in mults.items():
        d = m.metrics()
        rows.append(f"| `{name}` | {m.gates} | {d['mae']:.2f} | {d['wce']} | {d['mre']:.4f} | {d['ep']:.3f} | "
                    f"{d['bias']:.2f} |")
    return "\n".join(rows)
