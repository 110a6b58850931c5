"""Emulator steps of the conv/pool, per-channel affine, elementwise and data-movement `fxp` ops."""

from __future__ import annotations
