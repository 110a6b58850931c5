"""The per-layer design report as public API: `design_report` and `format_table` (fxflow.estimate.report).

They are an analysis of the df IR next to the estimator, so backends use them from there; this module keeps the
documented `fxflow.report` names.
"""

from fxflow.estimate.report import COLUMNS, ESTIMATE_KEYS, HEADINGS, design_report, format_table

__all__ = ["design_report", "format_table", "COLUMNS", "ESTIMATE_KEYS", "HEADINGS"]
