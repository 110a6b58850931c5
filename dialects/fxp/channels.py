"""The `formats` attribute of `fxp.constant` and `fxp.cast`: per-channel / per-element formats.

    %w = "fxp.constant"() {value = dense<...> : tensor<4x3xi64>,
                           formats = dense<[[[1, 0, 4], [1, 2, 6], [0, 1, 3]]]> : tensor<1x3x3xi64>}
         : () -> tensor<4x3x!fxp.fixed<1, 2, 6, "RND", "SAT">>

`formats` holds (k, i, f) triples that broadcast against the result shape (see
`fxflow.fixed.channels.ChannelFormats`); the element type is the *container*, which covers every one of
them, and supplies their rounding and overflow modes.  On a constant it records the formats the values were
quantized to (every value is exact in its own); on a cast it changes the semantics: each element is
assigned to its own format, then stored (exactly) in the container.
"""

from __future__ import annotations

import numpy as np

from fxflow.errors import FormatError
from fxflow.fixed.channels import ChannelFormats
from fxflow.ir import elements_array, ir

from ..verify import emit
from .base import format_of

FORMATS_ATTR = "formats"


def channel_formats(op) -> ChannelFormats | None:
    """The op's per-channel formats (None without the attribute); FormatError when malformed."""
    o = op.operation if hasattr(op, "operation") else op
    if FORMATS_ATTR not in o.attributes:
        return None
    attr = o.attributes[FORMATS_ATTR]
    if not isinstance(attr, ir.DenseIntElementsAttr):
        raise FormatError(f"'{FORMATS_ATTR}' must be a dense integer tensor of (k, i, f) triples, got {attr}")
    kif = elements_array(attr, ir.ShapedType(ir.DenseElementsAttr(attr).type).shape)
    container = format_of(o.results[0].type)
    if container is None:
        raise FormatError(f"'{FORMATS_ATTR}' needs a fixed-point result type (the container), got {o.results[0].type}")
    return ChannelFormats(kif, container.rounding, container.overflow)


def set_channel_formats(op, cf: ChannelFormats) -> None:
    o = op.operation if hasattr(op, "operation") else op
    o.attributes[FORMATS_ATTR] = ir.DenseElementsAttr.get(np.ascontiguousarray(cf.kif),
                                                          type=ir.IntegerType.get_signless(64))


def verify_channel_formats(op, stored=None) -> bool:
    """Shape, legality and container coverage of `formats`; for a constant (`stored`: its integers) also
    that every value is exact in its channel's format."""
    o = op.operation
    if FORMATS_ATTR not in o.attributes:
        return True
    try:
        cf = channel_formats(op)
    except FormatError as e:
        return emit(op, f"illegal channel formats: {e}")
    res = o.results[0]
    shape = list(ir.RankedTensorType(res.type).shape)
    container = format_of(res.type)
    err = cf.shape_error(shape)
    if err:
        return emit(op, err)
    if o.name == "fxp.cast" and cf.shape and cf.shape[0] != 1 and shape[0] != 1:
        return emit(op, "channel formats of a cast may not vary along the batch dimension 0")
    bad = cf.uncovered(container)
    if bad is not None:
        return emit(op, f"the result type {container} does not cover the channel format {bad} (every channel's "
                        "values must be exact in the container)")
    if stored is not None:
        miss = cf.misfit(stored, container.f, shape)
        if miss is not None:
            idx, n, fmt = miss
            return emit(op, f"stored integer {n} (element {idx}) is not exactly representable in its channel "
                            f"format {fmt}")
    return True
