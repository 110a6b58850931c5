"""hls4ml's meaning of "auto" under hls4ml arithmetic (the roles hls4ml's `granularity='name'` dict sets to 'auto').

hls4ml 1.3 infers such a type from bit widths (its InferPrecisionTypes pass), not from values:
  * the result (and accumulator) of Dense, Conv, BatchNorm, the merges (add, subtract, multiply, minimum,
    maximum, concatenate), max pooling and the data movers (reshape, transpose, padding, resize) is wide enough
    never to round or overflow — fxflow's own "auto" (the narrowest lossless format) gives the same values,
    so it stays "auto";
  * average pooling's result is its input's type (the division rounds into it);
  * every other result and accumulator (activations, softmax, recurrent layers, einsum, ...) is the model's
    default precision;
  * weights and biases are the default precision; LeakyReLU's and ELU's slope/alpha take the narrowest type
    holding the constant's 8 leading bits (`hls4ml_compat.constant_format`), PReLU's per-channel slope its
    input's type.
`hls4ml_roles(cfg, op)` is the config the op's assigner sees: its layer's "auto" roles replaced by these.
LayerNorm keeps its own rules (its hls4ml arithmetic is separate work)."""

from __future__ import annotations

import dataclasses

import numpy as np

from fxflow.config import AUTO, Config
from fxflow.dialects.fxp import format_of
from fxflow.ir import defining_op, elements_array, ir, layer_name

# results hls4ml infers lossless: fxflow's "auto" (narrowest lossless) computes the same values
LOSSLESS = {"fxp.dense", "fxp.conv", "fxp.scale_shift", "fxp.add", "fxp.sub", "fxp.mul", "fxp.minmax",
            "fxp.concat", "fxp.reshape", "fxp.transpose", "fxp.pad", "fxp.resize", "fxp.gather"}
UNCHANGED = {"fxp.layernorm", "fxp.cast", "fxp.threshold"}


def hls4ml_roles(cfg: Config, op) -> Config:
    """`cfg` with the op's layer's "auto" roles resolved as hls4ml infers them (module doc); `cfg` itself outside
    hls4ml arithmetic or when the layer has no "auto" role."""
    name = op.operation.name
    if cfg.arithmetic != "hls4ml" or name in UNCHANGED:
        return cfg
    layer = layer_name(op.location) or ""
    lc = cfg.layer(layer)
    default = cfg.precision
    chosen: dict = {}
    if lc.result == AUTO and name not in LOSSLESS:
        avg = name == "fxp.pool" and ir.StringAttr(op.operation.attributes["kind"]).value != "max"
        if avg:
            chosen["result"] = format_of(op.operation.operands[0].type)
        elif name != "fxp.pool":
            chosen["result"] = default
    if lc.accum == AUTO and name not in LOSSLESS and name != "fxp.pool":
        chosen["accum"] = default
    if lc.bias == AUTO:
        chosen["bias"] = default
    if lc.weight == AUTO:
        chosen["weight"] = _weight(op, name, default)
    if not chosen:
        return cfg
    own = dict(cfg.layers.get(layer) or cfg._own(layer))
    return dataclasses.replace(cfg, layers={**cfg.layers, layer: {**own, **chosen}})


def _weight(op, name: str, default):
    """A parameter's type: PReLU / LeakyReLU slope and ELU alpha as hls4ml infers them, else the default."""
    from fxflow.hls4ml_compat import constant_format

    if name == "fxp.prelu":
        alpha = op.operation.operands[1]
        owner = defining_op(alpha)
        if owner is not None and owner.name == "fxp.constant":
            values = elements_array(owner.attributes["value"], list(ir.RankedTensorType(alpha.type).shape))
            if np.asarray(values).size == 1:  # LeakyReLU (or a one-parameter PReLU): its constant's type
                return constant_format(float(np.asarray(values).ravel()[0]))
        return format_of(op.operation.operands[0].type)  # PReLU: the input's type
    if name == "fxp.lut":
        from fxflow.fixed.table import hls4ml_function
        from fxflow.scalar_eval import region_function

        found = hls4ml_function(region_function(op.operation))
        if found is not None and found[0] == "elu":
            return constant_format(found[1])
    return default
