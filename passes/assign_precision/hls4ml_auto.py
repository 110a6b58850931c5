"""hls4ml's meaning of "auto" under hls4ml arithmetic (the roles hls4ml's `granularity='name'` dict sets to 'auto').

hls4ml 1.3 infers such a type from bit widths (its InferPrecisionTypes pass), not from values:
  * Dense / Conv accumulator and result: the exact sum of the products plus the bias by bit widths
    (`hls4ml_compat.hls4ml_mac_result`); BatchNorm's result x * scale + bias (`hls4ml_bn_result`); add, subtract
    and multiply by their rules (`hls4ml_merge_result`) -- all lossless, so the values are fxflow's own "auto"
    ones, with hls4ml's widths;
  * pooling and the data movers: their input's type (average pooling's division rounds into it);
  * activations, softmax, clamps, selects, recurrent layers: the model's default precision;
  * a matmul (hls4ml's Einsum, the only way a PyTorch product of two activations reaches it): accumulator and
    result the model's default precision, as its inference pass has no Einsum rule;
  * weights and biases (a recurrent layer's w_hh and b_hh too): the default precision; LeakyReLU's slope and
    ELU's alpha the narrowest type holding the constant's 8 leading bits (`hls4ml_compat.constant_format`),
    PReLU's per-channel slope its input's type.
A BatchNorm after a Dense/Conv with an "auto" result is folded into it before this runs, as hls4ml does.
Rules fxflow does not reproduce (concat, min/max: exact too, of other widths) keep fxflow's "auto" with a
warning naming the layer.  LayerNorm's roles: passes/assign_precision/transformer.py.
`hls4ml_roles(cfg, op)` is the config the op's assigner sees: its layer's "auto" roles replaced by these."""

from __future__ import annotations

import math
import warnings

import numpy as np

from fxflow.config import AUTO, Config
from fxflow.dialects.fxp import format_of
from fxflow.fixed import FixedFormat
from fxflow.ir import defining_op, elements_array, ir, layer_name

_DEFAULT_RESULT = ("fxp.relu", "fxp.lut", "fxp.softmax", "fxp.clamp", "fxp.prelu", "fxp.threshold",
                   "fxp.select", "fxp.rnn")  # no rule: the model's default precision
_DEFAULT_CONSTANTS = ("fxp.dense", "fxp.conv", "fxp.rnn", "fxp.scale_shift")  # weights, biases: default
_INPUT_RESULT = ("fxp.pool", "fxp.reshape", "fxp.transpose", "fxp.pad", "fxp.resize", "fxp.gather")
_OTHER_RULES = ("fxp.concat", "fxp.minmax", "fxp.add_constant", "fxp.cast")
_UNINFERRED_PARAMS = ("fxp.select", "fxp.threshold")  # param_t hls4ml infers from the input type


def hls4ml_roles(cfg: Config, op) -> Config:
    """`cfg` with the op's layer's "auto" roles resolved as hls4ml infers them (module doc); `cfg` itself outside
    hls4ml arithmetic or when nothing is "auto"."""
    from fxflow.hls4ml_compat import hls4ml_bn_result, hls4ml_mac_result, hls4ml_merge_result

    o, layer = op.operation, layer_name(op.location)
    if cfg.arithmetic != "hls4ml" or not layer or cfg.precision == AUTO:
        return cfg
    lc, name, roles = cfg.layer(layer), o.name, {}
    if name in _DEFAULT_CONSTANTS:
        roles.update({r: cfg.precision for r in ("weight", "bias") if getattr(lc, r) == AUTO})
        if name == "fxp.rnn":  # w_hh, b_hh too
            own = cfg.recurrent_config(layer)
            roles.update({r: cfg.precision for r in ("recurrent_weight", "recurrent_bias") if own.get(r) == AUTO})
    elif lc.weight == AUTO and name in ("fxp.prelu", "fxp.lut"):
        param = _parameter(op, name)
        if param is not None:
            roles["weight"] = param
    x = format_of(o.operands[0].type) if o.operands else None
    if name in ("fxp.dense", "fxp.conv") and AUTO in (lc.accum, lc.result) and x is not None:
        w, b = roles.get("weight", lc.weight), roles.get("bias", lc.bias)
        if isinstance(w, FixedFormat) and isinstance(b, FixedFormat):
            shape = list(ir.RankedTensorType(o.operands[1].type).shape)  # dense [K, N], conv [F, C/g, *kernel]
            n_ops = shape[0] if name == "fxp.dense" else math.prod(shape[1:])
            inferred = hls4ml_mac_result(x, w, b, n_ops)
            roles.update({r: inferred for r in ("accum", "result") if getattr(lc, r) == AUTO})
    elif name == "fxp.matmul":
        roles.update({r: cfg.precision for r in ("accum", "result") if getattr(lc, r) == AUTO})
    elif lc.result == AUTO and x is not None:
        if name in _DEFAULT_RESULT:
            roles["result"] = cfg.precision
        elif name in _INPUT_RESULT:
            roles["result"] = x
        elif name == "fxp.scale_shift":
            roles["result"] = hls4ml_bn_result(x, roles.get("weight", lc.weight), roles.get("bias", lc.bias))
        elif name in ("fxp.add", "fxp.sub", "fxp.mul") and len(o.operands) == 2 \
                and format_of(o.operands[1].type) is not None:
            roles["result"] = hls4ml_merge_result(x, format_of(o.operands[1].type), name[4:])
        elif name in _OTHER_RULES:
            warnings.warn(f"layer '{layer}': its 'auto' result is fxflow's exact range, not hls4ml's bit-width rule "
                          "(the same values, other widths): give it a type to match hls4ml's", stacklevel=2)
    if name in _UNINFERRED_PARAMS and lc.weight == AUTO:
        warnings.warn(f"layer '{layer}': its 'auto' parameter precision is fxflow's fit of the constant, not "
                      "hls4ml's inference (from the input type): give it a type to match hls4ml", stacklevel=2)
    return cfg.with_layer_roles(layer, roles) if roles else cfg


def _parameter(op, name: str):
    """An activation parameter's type as hls4ml infers it: LeakyReLU's slope (a one-value PReLU) and ELU's alpha
    from the constant, a per-channel PReLU slope its input's type; None where the op has no such parameter."""
    from fxflow.hls4ml_compat import constant_format

    if name == "fxp.prelu":
        alpha = op.operation.operands[1]
        owner = defining_op(alpha)
        if owner is not None and owner.name == "fxp.constant":
            values = elements_array(owner.attributes["value"], list(ir.RankedTensorType(alpha.type).shape))
            if np.asarray(values).size == 1:
                return constant_format(float(np.asarray(values).ravel()[0]))
        return format_of(op.operation.operands[0].type)
    from fxflow.fixed.table import hls4ml_function
    from fxflow.scalar_eval import region_function

    found = hls4ml_function(region_function(op.operation))
    return constant_format(found[1]) if found is not None and found[0] == "elu" else None
