"""Per-element activation quantizers at import: one `fxp.cast` with a `formats` attribute per quantizer module.

HGQ-style quantizers give every element of an activation its own (k, i, f).  Traced through torch.export they
are `clamp(round(x * 2^f), lo, hi) / 2^f` with *tensor* constants, which the scalar fake-quantization raising
(`fake_quant_to_fxp.py`) cannot read; and the ONNX export of PQuantML collapses them.  So the modules are read
directly, before export: `replace_quantizers` swaps each per-element quantizer module for a call of the opaque
custom op `fxflow::quantize(x, index)` and keeps its formats in a `QuantizerSpec` (ChannelFormats, broadcast
over the batch).  torch-mlir imports the op as `torch.operator`; `quantize_to_calls` makes it a call of a
private function (which survives the linalg pipeline), and `quantize_to_fxp` replaces each call with the
model-quantizer pair every other quantizer becomes (`fxp.cast` to the container with `formats`, then back to
float, which fxp-assign-precision folds away).  Zero-bit elements are `channels.PRUNED`: always 0.

Read: PQuantML's `Quantizer` on data with HGQ (`use_high_granularity_quantization`) and its `HGQQuantizer`
(k, round(i), round(f), the round and overflow modes; eval semantics: clip, round, zero where k + i + f <= 0),
and any module with a method `fxflow_formats()` returning `(k, i, f, rounding, overflow)` (arrays broadcasting
against the input including its batch dimension; the example `fxflow.examples.hgq_jet_tagger` uses it).
PQuantML's per-tensor and weight quantizers are left to the graph: weights fold to constants whose formats
fxflow records, scalar quantizers are ordinary fake quantization.  WRAP_SM, a scaler or an affine map is an
UnsupportedOpError naming the module.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from fxflow.errors import UnsupportedOpError
from fxflow.fixed.channels import PRUNED, ChannelFormats

QUANTIZE_OP = "fxflow.quantize"  # the name torch-mlir gives the custom op's torch.operator
CALLEE = "__fxflow_quantize_"
PQUANT_MODES = {"overflow": ("WRAP", "SAT", "SAT_SYM"),
                "rounding": ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_MIN_INF", "RND_INF", "RND_CONV")}


@torch.library.custom_op("fxflow::quantize", mutates_args=())
def quantize(x: torch.Tensor, index: int) -> torch.Tensor:
    """Placeholder for a per-element quantizer module (never executed: only imported)."""
    return x.clone()


@quantize.register_fake
def _quantize_fake(x, index):
    return torch.empty_like(x)


@dataclass
class QuantizerSpec:
    layer: str  # module path
    formats: ChannelFormats


class _Placeholder(torch.nn.Module):
    def __init__(self, index: int):
        super().__init__()
        self.index = index

    def forward(self, x):
        return torch.ops.fxflow.quantize(x, self.index)


def element_formats(k, i, f, rounding: str, overflow: str, layer: str) -> ChannelFormats:
    """ChannelFormats from HGQ's (k, i, f) tensors: i raised to -f (the quantizer's own rule), an element
    with k + i + f <= 0 pruned."""
    rounding, overflow = str(rounding).upper(), str(overflow).upper()
    for what, mode in (("overflow", overflow), ("rounding", rounding)):
        if mode not in PQUANT_MODES[what]:
            raise UnsupportedOpError(f"the quantizer '{layer}' uses {what} mode '{mode}'; fxflow reads "
                                     f"{', '.join(PQUANT_MODES[what])}", layer=layer)
    arrs = [np.asarray(v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v, dtype=np.float64)
            for v in (k, i, f)]
    if any(not np.all(np.isfinite(a)) or np.any(a != np.round(a)) for a in arrs):
        raise UnsupportedOpError(f"the quantizer '{layer}' has non-integer bit widths", layer=layer)
    k, i, f = np.broadcast_arrays(*(a.astype(np.int64) for a in arrs))
    if np.any((k != 0) & (k != 1)):
        raise UnsupportedOpError(f"the quantizer '{layer}' has a sign bit k outside {{0, 1}}", layer=layer)
    kif = np.stack([k, np.maximum(i, -f), f], axis=-1)
    kif[k + i + f <= 0] = PRUNED  # with the raw i, as the quantizer's own mask
    if overflow == "SAT_SYM":  # a sign bit alone clips to [-0, 0] (ap_fixed<1,..>'s SAT_SYM would keep -1)
        kif[(kif[..., 0] == 1) & (kif[..., 1] + kif[..., 2] == 0)] = PRUNED
    return ChannelFormats(kif, rounding, overflow)


def _pquant_formats(mod, path: str) -> ChannelFormats | None:
    """PQuantML: the HGQ data quantizer inside `Quantizer`, or an `HGQQuantizer` on data; None otherwise."""
    name = type(mod).__name__
    if not type(mod).__module__.startswith("pquant."):
        return None
    if name == "Quantizer":
        if not (getattr(mod, "use_hgq", False) and getattr(mod, "is_data", False)):
            return None
        mod = mod.quantizer
        name = type(mod).__name__
    if name != "HGQQuantizer" or not getattr(mod, "is_data", False):
        return None
    if not mod.built:
        raise UnsupportedOpError(f"the HGQ quantizer '{path}' is not built (run one forward pass before compiling: "
                                 "its bit widths get their shape then)", layer=path)
    for attr in ("scaler", "affine"):
        if getattr(mod, attr, None) is not None:
            raise UnsupportedOpError(f"the HGQ quantizer '{path}' has a {attr}; fxflow reads plain fixed-point "
                                     "quantizers only", layer=path)
    i = mod._i_raw if mod.overflow_mode == "WRAP" else mod._i
    return element_formats(mod._k, torch.round(i.detach()), torch.round(mod._f.detach()), mod.round_mode,
                           mod.overflow_mode, path)


def module_formats(mod, path: str) -> ChannelFormats | None:
    """The per-element formats a module quantizes its input to (None: not a module read here)."""
    if callable(getattr(mod, "fxflow_formats", None)):
        k, i, f, rounding, overflow = mod.fxflow_formats()
        return element_formats(k, i, f, rounding, overflow, path)
    return _pquant_formats(mod, path)


def replace_quantizers(model) -> tuple[object, list[QuantizerSpec]]:
    """A copy of `model` with every per-element quantizer module replaced by `fxflow::quantize` (the model
    itself when it has none), and the specs by index."""
    found = []
    for path, mod in model.named_modules():
        if any(path.startswith(f"{p}.") for p, _, _ in found):
            continue  # inside a quantizer already read (PQuantML's Quantizer holds its HGQQuantizer)
        cf = module_formats(mod, path)
        if cf is not None:
            found.append((path, mod, cf))
    if not found:
        return model, []
    model = copy.deepcopy(model)
    specs = []
    for index, (path, _, cf) in enumerate(found):
        parent_path, _, name = path.rpartition(".")
        parent = model.get_submodule(parent_path) if parent_path else model
        if not path:
            raise UnsupportedOpError("the model itself is a quantizer; wrap it in a module", layer="<model>")
        parent._modules[name] = _Placeholder(index)
        specs.append(QuantizerSpec(path, cf))
    return model, specs


def quantize_to_calls(module) -> None:
    """torch.operator "fxflow.quantize"(x, index) -> func.call @__fxflow_quantize_<index>(x) of a private
    declaration: torch-mlir's pipelines convert calls like any function boundary."""
    from fxflow.ir import func, ir

    from .recurrent_import import _torch_constant

    found = []

    def visit(op):
        if op.name == "torch.operator" and QUANTIZE_OP in str(op.attributes["name"]):
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    for op in found:
        name = f"{CALLEE}{_torch_constant(op.operands[1])}"
        x, result = op.operands[0], op.results[0]
        with op.context, op.location:
            with ir.InsertionPoint.at_block_begin(module.body):
                func.FuncOp(name, ir.FunctionType.get([x.type], [result.type]), visibility="private")
            with ir.InsertionPoint(op):
                call = func.CallOp([result.type], ir.FlatSymbolRefAttr.get(name), [x])
        result.replace_all_uses_with(call.result)
        op.erase()


def quantize_to_fxp(module, specs: list[QuantizerSpec]) -> None:
    """Each call @__fxflow_quantize_<index>(x) -> fxp.cast(x) to the container with `formats`, then fxp.cast
    back to x's element type (a model quantizer); the declarations are removed."""
    from fxflow.dialects.fxp import CastOp, fixed_type
    from fxflow.dialects.fxp.channels import set_channel_formats
    from fxflow.ir import ir

    if not specs:
        return
    decls = [op for op in module.body.operations if op.operation.name == "func.func"
             and ir.StringAttr(op.attributes["sym_name"]).value.startswith(CALLEE)]
    calls = []

    def visit(o):
        if o.name == "func.call" and str(o.attributes["callee"]).startswith(f"@{CALLEE}"):
            calls.append(o)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    for call in calls:
        spec = specs[int(str(call.attributes["callee"])[len(CALLEE) + 1:])]
        x = call.operands[0]
        xt = ir.RankedTensorType(x.type)
        shape = list(xt.shape)
        cf = spec.formats
        if len(cf.shape) != len(shape) or cf.shape[0] != 1:
            kif = cf.kif
            if kif.ndim - 1 == len(shape) - 1:  # formats of one sample: broadcast over the batch
                kif = kif[None]
            cf = ChannelFormats(kif, cf.rounding, cf.overflow)
        err = cf.shape_error(shape)
        if err or cf.shape[0] != 1:
            raise UnsupportedOpError(f"the quantizer '{spec.layer}': {err or 'its formats vary along the batch'}",
                                     layer=spec.layer)
        with call.context, call.location, ir.InsertionPoint(call):
            fixed = CastOp(x, ir.RankedTensorType.get(shape, fixed_type(cf.container())))
            set_channel_formats(fixed, cf)
            back = CastOp(fixed.output, ir.RankedTensorType.get(shape, xt.element_type))
        call.results[0].replace_all_uses_with(back.output)
        call.erase()
    for d in decls:
        d.operation.erase()
