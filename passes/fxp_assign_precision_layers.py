"""fxp-assign-precision rules for the conv/pool, per-channel affine, elementwise and data-movement ops."""

from __future__ import annotations
