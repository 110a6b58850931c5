"""PyTorch emulation of approximate multipliers for training (what AdaPT / TransAxx do), from a compiled design.

    design = fxflow.compile(model, x[:1], config={"model": {..., "multiplier": "drum(k=4)"}})
    amodel = fxflow.approx.torch.approximate(model, design)   # Linear/Conv2d/Conv1d swapped
    amodel(x)            # forward == design.predict(x), bit for bit; backward: exact-product gradients

Each swapped module keeps the original's parameters (so training updates them) and the layer's fixed-point
formats and multiplier read from the design's IR.  Its forward quantizes the input and the *current*
weights and bias with `fxflow.fixed.quantize`, then runs the emulator's own dense/conv code on them (the same
product table, accumulator and result assignment as `predict`); the result is returned as
`y_fixed + (y_float - y_float.detach())`, so the gradient is the straight-through exact-product one of the
float layer.  Runs on the CPU (NumPy); formats stay those of the design: use explicit (not `auto`) weight
formats when fine-tuning, and recompile afterwards.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..dialects.fxp import format_of, i64_array
from ..emulator import Tensor, dense, op_multiplier, plan_dense
from ..errors import FxflowError, UnsupportedOpError
from ..fixed import FixedFormat
from ..fixed.quantize import quantize, to_float
from ..ir import ir


@dataclass
class LayerFormats:
    """What one dense/conv layer of a design computes with (read from its fxp op)."""

    x: FixedFormat
    w: FixedFormat
    b: FixedFormat
    acc: FixedFormat
    out: FixedFormat
    mult: object  # fxflow.approx.Multiplier or None (exact products)
    groups: int = 1
    window: tuple | None = None  # conv: (kernel, strides, dilations, padding)
    out_spatial: tuple = ()


def layer_formats(design) -> dict[str, LayerFormats]:
    """Every dense/conv layer of a (HLS) design, keyed by its PyTorch module path."""
    from ..ir import layer_name

    found: dict[str, LayerFormats] = {}
    with design.ctx:
        def visit(op):
            o = op.operation if hasattr(op, "operation") else op
            if o.name in ("fxp.dense", "fxp.conv"):
                found[layer_name(o.location) or ""] = _formats(o)
            for region in o.regions:
                for block in region.blocks:
                    for inner in block.operations:
                        visit(inner)

        for op in design.module.body.operations:
            visit(op)
    return found


def _formats(o) -> LayerFormats:
    fmt = [format_of(o.operands[i].type) for i in range(3)]
    if "product" in o.attributes:
        raise UnsupportedOpError(f"fxflow.approx.torch: layer '{o.location}' uses per-product casts (hls4ml)")
    acc = format_of(ir.TypeAttr(o.attributes["accum"]).value)
    out = format_of(o.results[0].type)
    mult = op_multiplier(o, fmt[0], fmt[1])
    if o.name == "fxp.dense":
        return LayerFormats(*fmt, acc, out, mult)
    kernel = list(ir.RankedTensorType(o.operands[1].type).shape[2:])
    window = (kernel, i64_array(o, "strides"), i64_array(o, "dilations"), i64_array(o, "padding"))
    return LayerFormats(*fmt, acc, out, mult, ir.IntegerAttr(o.attributes["groups"]).value, window,
                        tuple(ir.RankedTensorType(o.results[0].type).shape[2:]))


class _Approx(nn.Module):
    """Base of the swapped modules: the original layer plus its formats."""

    def __init__(self, inner: nn.Module, fmts: LayerFormats):
        super().__init__()
        self.inner = inner
        self.fmts = fmts

    def _stored(self):
        f = self.fmts
        w = quantize(self.inner.weight.detach().double().cpu().numpy(), f.w)
        b = self.inner.bias
        b = np.zeros(w.shape[0]) if b is None else b.detach().double().cpu().numpy()
        return np.asarray(w, dtype=np.int64), np.asarray(quantize(b, f.b), dtype=np.int64)

    def forward(self, x):
        y_float = self.inner(x.to(self.inner.weight.dtype))
        f = self.fmts
        with torch.no_grad():
            xi = np.asarray(quantize(x.detach().double().cpu().numpy(), f.x), dtype=np.int64)
            y = self._fixed(Tensor(xi, f.x))
            y_fixed = torch.from_numpy(np.asarray(to_float(y.data, f.out.f), dtype=np.float64))
        # the value is y_fixed exactly (y - y == 0); the gradient is the float layer's
        return y_fixed.to(y_float.dtype).reshape(y_float.shape) + (y_float - y_float.detach())


class ApproxLinear(_Approx):
    def _fixed(self, x: Tensor) -> Tensor:
        f = self.fmts
        w, b = self._stored()
        plan = plan_dense(f.x, w.T.copy(), f.w, b, f.b, f.acc, f.out, None, f.mult)
        return dense(Tensor(x.data.reshape(len(x.data), -1), f.x), plan)


class ApproxConv(_Approx):
    def _fixed(self, x: Tensor) -> Tensor:
        from ..emulator_layers import conv_runner

        f = self.fmts
        w, b = self._stored()
        run = conv_runner(f.x, Tensor(w, f.w), Tensor(b, f.b), f.acc, f.out, None, f.mult, f.groups, f.window,
                          f.out_spatial)
        return run(x)


def approximate(model: nn.Module, design) -> nn.Module:
    """A copy of `model` whose Linear / Conv1d / Conv2d modules compute like the design's layers."""
    fmts = layer_formats(design)
    out = copy.deepcopy(model)
    swapped = set()
    for name, module in list(out.named_modules()):
        if name in fmts and isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            cls = ApproxLinear if isinstance(module, nn.Linear) else ApproxConv
            _set_module(out, name, cls(module, fmts[name]))
            swapped.add(name)
    missing = sorted(set(fmts) - swapped)
    if missing:
        raise FxflowError(f"fxflow.approx.torch: the design's layer(s) {', '.join(missing)} are not Linear/Conv "
                          "modules of the model")
    return out


def _set_module(root: nn.Module, path: str, module: nn.Module) -> None:
    parent, _, leaf = path.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, module)
