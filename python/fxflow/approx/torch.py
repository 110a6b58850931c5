"""PyTorch emulation of approximate multipliers for training (what AdaPT / TransAxx do), from a compiled design.

    design = fxflow.compile(model, x[:1], config={"model": {..., "multiplier": "drum(k=4)"}})
    amodel = fxflow.approx.torch.approximate(model, design)   # Linear/Conv2d/Conv1d swapped, matmuls wrapped
    amodel(x)            # forward == design.predict(x), bit for bit; backward: exact-product gradients

Each swapped module keeps the original's parameters (so training updates them) and the layer's fixed-point
formats and multiplier read from the design's IR.  Its forward quantizes the input and the *current*
weights and bias with `fxflow.fixed.quantize`, then runs the emulator's own dense/conv code on them (the same
product table, accumulator and result assignment as `predict`); the result is returned as
`y_fixed + (y_float - y_float.detach())`, so the gradient is the straight-through exact-product one of the
float layer.  Products of two activations (`q @ k.transpose(-1, -2)`, `torch.matmul(attn, v)`: the design's
fxp.matmul ops, named after the module whose forward computes them) cannot be swapped as modules: that module
is wrapped in `ApproxMatmuls`, whose forward runs the original under a `TorchFunctionMode` scoped to it, which
turns its k-th torch.matmul / @ / bmm into the layer's k-th fxp.matmul (same operand formats, product table,
accumulator and result; the same straight-through gradient).  Runs on the CPU (NumPy); formats stay those of
the design: use explicit (not `auto`) weight formats when fine-tuning, and recompile afterwards.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ..dialects.fxp import format_of, i64_array
from ..dialects.fxp.accessors import op_multiplier
from ..dialects.fxp.traits import WEIGHTED_OPS
from ..fixed.dense import Tensor, dense, plan_dense
from ..errors import FxflowError, UnsupportedOpError
from ..fixed import FixedFormat
from ..fixed.matmul import matmul
from ..fixed.quantize import quantize, to_float
from ..ir import ir
from .emulate import table_products


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


@dataclass
class MatmulFormats:
    """What one fxp.matmul of a design computes with: operand, accumulator and result formats, multiplier."""

    a: FixedFormat
    b: FixedFormat
    acc: FixedFormat
    out: FixedFormat
    mult: object  # fxflow.approx.Multiplier or None (exact products)


def _design_ops(design, names) -> list[tuple[str, object]]:
    """(layer, op) of every op named in `names` of a (HLS) design, in program order."""
    from ..ir import layer_name

    found = []
    with design.ctx:
        def visit(op):
            o = op.operation if hasattr(op, "operation") else op
            if o.name in names:
                found.append((layer_name(o.location) or "", o))
            for region in o.regions:
                for block in region.blocks:
                    for inner in block.operations:
                        visit(inner)

        for op in design.module.body.operations:
            visit(op)
    return found


def layer_formats(design) -> dict[str, LayerFormats]:
    """Every dense/conv layer of a (HLS) design, keyed by its PyTorch module path."""
    with design.ctx:
        return {layer: _formats(o) for layer, o in _design_ops(design, WEIGHTED_OPS)}


def matmul_formats(design) -> list[tuple[str, MatmulFormats]]:
    """(layer, formats) of the design's fxp.matmul ops in program order; the layer is the module whose forward
    computes the product, or the FX node name (`bmm_2`) when that is the top-level model."""
    found = []
    with design.ctx:
        for layer, o in _design_ops(design, ("fxp.matmul",)):
            fa, fb = (format_of(v.type) for v in o.operands)
            acc = format_of(ir.TypeAttr(o.attributes["accum"]).value)
            found.append((layer, MatmulFormats(fa, fb, acc, format_of(o.results[0].type),
                                               op_multiplier(o, fa, fb, ("lhs", "rhs")))))
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
        from fxflow.emulator.layers import conv_runner

        f = self.fmts
        w, b = self._stored()
        run = conv_runner(f.x, Tensor(w, f.w), Tensor(b, f.b), f.acc, f.out, None, f.mult, f.groups, f.window,
                          f.out_spatial)
        return run(x)


MATMUL_FUNCTIONS = (torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__, torch.bmm, torch.Tensor.bmm)


class _MatmulMode(TorchFunctionMode):
    """Active during one ApproxMatmuls forward: its k-th product of two tensors is the layer's k-th fxp.matmul."""

    def __init__(self, owner: "ApproxMatmuls"):
        super().__init__()
        self.owner = owner
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func not in MATMUL_FUNCTIONS:
            return func(*args, **kwargs)
        fmts = self.owner.fmts
        if self.count >= len(fmts):
            raise FxflowError(f"fxflow.approx.torch: layer '{self.owner.layer}' computes more products of two "
                              f"tensors than the design's {len(fmts)} fxp.matmul op(s)")
        f = fmts[self.count]
        self.count += 1
        with torch._C.DisableTorchFunction():  # the float product and the arithmetic below: no mode
            a, b = args[0], args[1]
            y_float = func(*args, **kwargs)
            with torch.no_grad():
                ai = np.asarray(quantize(a.detach().double().cpu().numpy(), f.a), dtype=np.int64)
                bi = np.asarray(quantize(b.detach().double().cpu().numpy(), f.b), dtype=np.int64)
                products = None if f.mult is None else table_products(f.mult)
                y = matmul(ai, f.a, bi, f.b, f.acc, f.out, products)
                y_fixed = torch.from_numpy(np.asarray(to_float(y, f.out.f), dtype=np.float64))
            return y_fixed.to(y_float.dtype).reshape(y_float.shape) + (y_float - y_float.detach())


class ApproxMatmuls(_Approx):
    """A module whose forward multiplies activations (`q @ k.transpose(-1, -2)`, `torch.matmul(attn, v)`):
    runs it under a torch function mode that makes each such product the design's fxp.matmul (its operand
    formats, multiplier, accumulator and result; straight-through gradient of the float product)."""

    def __init__(self, inner: nn.Module, fmts: list[MatmulFormats], layer: str):
        super().__init__(inner, fmts)
        self.layer = layer

    def forward(self, *args, **kwargs):
        mode = _MatmulMode(self)
        with mode:
            y = self.inner(*args, **kwargs)
        if mode.count != len(self.fmts):
            raise FxflowError(f"fxflow.approx.torch: layer '{self.layer}' computed {mode.count} product(s) of two "
                              f"tensors; the design has {len(self.fmts)} fxp.matmul op(s) there")
        return y


def approximate(model: nn.Module, design) -> nn.Module:
    """A copy of `model` whose Linear / Conv1d / Conv2d modules compute like the design's layers, and whose
    modules computing the design's fxp.matmul ops (products of two activations) are wrapped in ApproxMatmuls."""
    fmts = layer_formats(design)
    out = copy.deepcopy(model)
    swapped = set()
    modules = dict(out.named_modules())
    mm: dict[str, list[MatmulFormats]] = {}
    for layer, f in matmul_formats(design):  # the top-level forward's products carry FX node names
        mm.setdefault(layer if layer in modules else "", []).append(f)
    for name, module in modules.items():
        if name in fmts and isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            cls = ApproxLinear if isinstance(module, nn.Linear) else ApproxConv
            _set_module(out, name, cls(module, fmts[name]))
            swapped.add(name)
    missing = sorted(set(fmts) - swapped)
    if missing:
        raise FxflowError(f"fxflow.approx.torch: the design's layer(s) {', '.join(missing)} are not Linear/Conv "
                          "modules of the model")
    for name in sorted(mm, key=_depth, reverse=True):  # deepest first: the paths above stay valid
        wrapped = ApproxMatmuls(out.get_submodule(name), mm[name], name)
        if name:
            _set_module(out, name, wrapped)
        else:
            out = wrapped
    return out


def unwrap(amodel: nn.Module) -> nn.Module:
    """The float model inside an approximated one (every swapped or wrapped module's original put back)."""
    for name, module in sorted(amodel.named_modules(), key=lambda nm: _depth(nm[0]), reverse=True):
        if isinstance(module, _Approx):
            if not name:
                return module.inner
            _set_module(amodel, name, module.inner)
    return amodel


def _depth(path: str) -> int:
    """Nesting depth of a module path ("" is the model itself)."""
    return path.count(".") + 1 if path else 0


def _set_module(root: nn.Module, path: str, module: nn.Module) -> None:
    parent, _, leaf = path.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, module)
