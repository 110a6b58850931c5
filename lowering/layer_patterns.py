"""convert-linalg-to-fxp, layer family: convolutions, pooling, BatchNorm and other per-channel affine
maps, elementwise sub/mul, and the data-movement ops (reshape, transpose, concat, pad, upsample)."""

from __future__ import annotations
