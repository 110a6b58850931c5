"""QONNX and ONNX-QDQ quantizers -> standard ONNX that fxflow imports as exact fixed-point casts.

Runs on the ONNX graph before torch-mlir sees it (`lower_quantizers`, called by onnx_import).  Following
fixed-point.md §5, a quantizer whose scale is a power of two 2^-f and whose zero point is 0 is a cast:

  Quant / IntQuant (bitwidth b, signed, narrow, rounding_mode)  -> (k, b-k-f, f, Q, SAT | SAT_SYM if narrow)
  QuantizeLinear -> DequantizeLinear (int8, uint8, int16, ...)   -> (k, W-k-f, f, RND_CONV, SAT)
  Trunc (v2: 6 inputs; 7 with an output zero point)              -> a RND_CONV cast to the input grid, then
                                                                    the output cast (qonnx rounds twice)
  BipolarQuant, and a 1-bit signed Quant (qonnx executes it so)  -> x >= 0 ? +s : -s
Rounding modes: ROUND/HALF_EVEN -> RND_CONV, FLOOR -> TRN, DOWN -> TRN_ZERO, HALF_UP -> RND_INF,
HALF_DOWN -> RND_ZERO; CEIL and UP have no ap_fixed mode (threshold quantizers, below).

* On a constant (weights, biases) the quantizer is evaluated here, in integers (`fxflow.fixed.quantize`),
  and the constant's role ("<layer>.weight" / "<layer>.bias" of the Gemm, MatMul(+Add) or Conv it feeds,
  also through constant Transpose/Reshape/Flatten/Squeeze/Unsqueeze/Identity nodes) is returned with its
  format: fxp-assign-precision keeps that format (`fxflow.model_formats`).
* On an activation it becomes Mul(2^f) -> Clip(integer range) -> rounding -> Mul(2^-f), every new node
  named like the quantizer, which convert-fake-quant-to-fxp turns into one `fxp.cast`.  ONNX has Round
  (half even), Floor and Ceil only; the symmetric modes are written Where(v < 0, R-(v), R+(v)) with
  floor/ceil (and +-0.5) on each side, a form that pass recognises.  BipolarQuant with one power-of-two
  scale becomes Where(x < 0, -s, +s) (an exact two-entry select) followed by a cast to its 2-bit format.
A Quant whose scale is not a power of two, whose zero point is not 0 or whose rounding is CEIL/UP, a
BipolarQuant with any other scale, and QDQ pairs with such parameters or with a Clip between them (Brevitas'
QCDQ), are exact threshold quantizers (`fxp.threshold`, lowering/qdq.py).
Per-channel parameters on an activation (a QDQ pair's axis, a QONNX Quant / BipolarQuant's broadcast scale
such as [1, C, 1, 1]) are split into the channels, one threshold quantizer each (`_split_channels`).
Anything else (parameters varying per element, a config with no fixed-point equivalent, non-constant
parameters) is an UnsupportedOpError naming the node and its op type — never an approximation.
"""

from __future__ import annotations

import math

import numpy as np

from fxflow.errors import UnsupportedOpError
from fxflow.fixed import FixedFormat
from fxflow.fixed.interval import smallest_format
from fxflow.fixed.quantize import quantize, requantize, to_float
from fxflow.lowering import qdq

QONNX_DOMAINS = ("qonnx.custom_op.general", "finn.custom_op.general", "onnx.brevitas", "qonnx", "finn")
QONNX_OPS = ("Quant", "IntQuant", "BipolarQuant", "Trunc")
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
ROUNDING = {"ROUND": "RND_CONV", "HALF_EVEN": "RND_CONV", "FLOOR": "TRN", "DOWN": "TRN_ZERO",
            "HALF_UP": "RND_INF", "HALF_DOWN": "RND_ZERO"}
_NO_EQUIVALENT = {
    "CEIL": "rounds toward +infinity (CEIL), which no ap_fixed quantization mode does",
    "UP": "rounds away from zero (UP), which no ap_fixed quantization mode does",
    "ROUND_TO_ZERO": "uses Brevitas' ROUND_TO_ZERO, which is not a QONNX rounding mode (did the exporter mean DOWN?)",
}
# integer element types of QuantizeLinear outputs: (signed, bits)
_QDQ_TYPES = {2: (False, 8), 3: (True, 8), 4: (False, 16), 5: (True, 16), 21: (False, 4), 22: (True, 4)}
MAX_ACTIVATION_BITS = 24  # a clamp bound of a float32 graph is exact up to 2^24
LAYOUT_OPS = ("Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity")  # looked through on weights
_WEIGHT_SLOTS = {"Gemm": {1: "weight", 2: "bias"}, "MatMul": {1: "weight"}, "Conv": {1: "weight", 2: "bias"}}


def is_quantizer(node) -> bool:
    """A node this module lowers (onnx_import lets these through its standard-domain check)."""
    if node.op_type in QONNX_OPS:
        return node.domain in QONNX_DOMAINS or node.domain.startswith(("qonnx.", "finn."))
    return node.op_type in QDQ_OPS and node.domain in ("", "ai.onnx")


def lower_quantizers(model, thresholds: dict | None = None) -> dict[str, str]:
    """Rewrite every quantizer node of `model` (in place); returns {"<layer>.weight"|".bias": format}.
    Quantizers with float scales or zero points become placeholders whose `fixed.threshold.Thresholds`
    land in `thresholds` (placeholder output -> spec; lowering/qdq.py)."""
    graph = model.graph
    if not any(is_quantizer(n) for n in graph.node):
        return {}
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    low = _Lowering(model, opset)
    low.thresholds = {} if thresholds is None else thresholds
    return low.run()


class _Lowering:
    def __init__(self, model, opset: int):
        self.model, self.graph, self.opset, self.opset_import = model, model.graph, opset, model.opset_import
        graph = model.graph
        self.consts = _constants(graph)          # tensor name -> np.ndarray
        self.quantized: dict[str, FixedFormat] = {}  # folded constant -> its format
        self.taken = {t.name for t in graph.initializer} | {v for n in graph.node for v in [*n.input, *n.output]}
        self.producers: dict = {}                 # folded constant -> the quantizer node that made it
        self.pending_qdq: dict = {}               # QuantizeLinear output -> (scale, node[, format])
        self.pending_float: dict = {}             # float-scale QuantizeLinear (-> Clip) output -> _FloatQ
        self.thresholds: dict = {}                # placeholder output -> fixed.threshold.Thresholds
        self.nodes: list = []
        self.new_inits: list = []
        self.shapes: dict | None = None           # activation -> shape (None per unknown dim), when asked

    # --- driver ------------------------------------------------------------------------------------
    def run(self) -> dict[str, str]:
        from onnx import numpy_helper

        users = {}
        for n in self.graph.node:
            for v in n.input:
                users.setdefault(v, []).append(n)
        self.users = users
        self.outputs = {o.name for o in self.graph.output}
        for node in self.graph.node:
            if self._qcdq_clip(node):
                continue
            if not is_quantizer(node):
                if not self._fold_layout(node):
                    self.nodes.append(node)
                continue
            self.node = node
            op = node.op_type
            if op in ("Quant", "IntQuant"):
                self._quant()
            elif op == "BipolarQuant":
                self._bipolar()
            elif op == "Trunc":
                self._trunc()
            elif op == "QuantizeLinear":
                self._quantize_linear()
            else:
                self._dequantize_linear()
        del self.graph.node[:]
        self.graph.node.extend(self.nodes)
        for name, fmt in self.quantized.items():
            if any(name == v for n in self.nodes for v in n.input) or name in self.outputs:
                arr = self.consts[name]
                typed = arr.astype(np.float32)
                if not np.array_equal(typed.astype(np.float64), arr):
                    raise self._error(f"the quantized constant '{name}' ({fmt}) is not exactly representable in "
                                      "float32", self.producers[name])
                self.new_inits.append(numpy_helper.from_array(typed, name))
        self.graph.initializer.extend(self.new_inits)
        formats = self._roles()
        formats.update(qdq.float_biases(self.nodes, self.consts, formats))
        _prune(self.graph)
        return {k: str(v) for k, v in sorted(formats.items())}

    def _fold_layout(self, node) -> bool:
        """A Transpose/Reshape/... of a quantized constant (TorchScript exports `Quant(W) -> Transpose ->
        MatMul`) is evaluated here: its output is the same quantized values in another layout, with the same
        format, so the weight role is found through it."""
        src = node.input[0] if node.input else ""
        if node.op_type not in LAYOUT_OPS or node.domain not in ("", "ai.onnx") or src not in self.quantized \
                or len(node.output) != 1 or not all(v in self.consts for v in node.input if v):
            return False
        from fxflow.lowering.onnx_nodes import evaluate_node

        try:
            (out,) = evaluate_node(node, {v: self.consts[v] for v in node.input if v}, self.opset_import)
        except Exception as e:  # the reference evaluator raises many types for inconsistent shapes/attributes
            raise self._error(f"it cannot be evaluated on the quantized constant '{src}': {type(e).__name__}: {e}",
                              node) from None
        name = node.output[0]
        self.consts[name] = np.asarray(out, dtype=np.float64)
        self.quantized[name], self.producers[name] = self.quantized[src], self.producers[src]
        return True

    def _error(self, detail: str, node=None) -> UnsupportedOpError:
        from fxflow.lowering.onnx_nodes import unsupported_message

        node = node or self.node
        return UnsupportedOpError(unsupported_message(node.name, node.op_type, detail), layer=node.name)

    # --- parameters ----------------------------------------------------------------------------------
    def _input(self, slot: int, what: str, optional: bool = False):
        node = self.node
        if slot >= len(node.input) or not node.input[slot]:
            if optional:
                return None
            raise self._error(f"its {what} input is missing")
        arr = self.consts.get(node.input[slot])
        if arr is None:
            raise self._error(f"its {what} ('{node.input[slot]}') is not a constant; fxflow needs the quantizer's "
                              "parameters at compile time")
        return arr

    def _attr(self, name: str, default):
        from onnx import helper

        for a in self.node.attribute:
            if a.name == name:
                v = helper.get_attribute_value(a)
                return v.decode() if isinstance(v, bytes) else v
        return default

    def _scale_exponent(self, scale: np.ndarray, what: str = "scale", per_channel: bool = False):
        """f with scale = 2^-f (an array of f per element when `per_channel` and the scale varies)."""
        s = np.asarray(scale, dtype=np.float64)
        if s.size == 0 or not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise self._error(f"its {what} must be positive and finite, got {_show(s)}")
        mant, exp = np.frexp(s)
        if np.any(mant != 0.5):
            bad = s.reshape(-1)[np.argmax(mant.reshape(-1) != 0.5)]
            raise self._error(f"its {what} {bad:.9g} is not a power of two; only scales 2^-f are fixed-point "
                              "(a general scale needs a multiplier, which fxflow does not infer)")
        f = 1 - exp
        if np.all(f == f.reshape(-1)[0]):
            return int(f.reshape(-1)[0])
        if not per_channel:
            raise self._error(f"its {what}s differ per channel ({_show(s)}); fxflow supports per-channel scales "
                              "only on constants (weights), an activation needs one format")
        return f

    def _zero_point(self, zp, what: str = "zero point"):
        if zp is not None and np.any(np.asarray(zp, dtype=np.float64) != 0):
            raise self._error(f"its {what} is {_show(np.asarray(zp))}; fxflow supports zero point 0 only "
                              "(an offset needs an explicit add)")

    def _bitwidth(self, arr, what: str = "bitwidth") -> int:
        b = np.asarray(arr, dtype=np.float64)
        if b.size != 1 or not np.isfinite(b.reshape(-1)[0]) or b.reshape(-1)[0] != int(b.reshape(-1)[0]) \
                or b.reshape(-1)[0] < 1:
            raise self._error(f"its {what} must be one integer >= 1, got {_show(b)}")
        return int(b.reshape(-1)[0])

    def _rounding(self, default: str) -> str:
        mode = str(self._attr("rounding_mode", default)).upper()
        if mode in ROUNDING:
            return ROUNDING[mode]
        if mode in _NO_EQUIVALENT:
            raise self._error(_NO_EQUIVALENT[mode])
        raise self._error(f"unknown rounding_mode '{mode}' (known: {', '.join([*ROUNDING, *_NO_EQUIVALENT])})")

    def _int_format(self, bits: int, signed: bool, narrow: bool, f, rounding: str) -> FixedFormat:
        """The format of an IntQuant's integer range at grid 2^-f (f an int)."""
        if narrow and not signed:
            raise self._error("it is narrow and unsigned (range [0, 2^b - 2]), which no ap_fixed format is")
        k = 1 if signed else 0
        return FixedFormat(k, bits - k - f, f, rounding, "SAT_SYM" if narrow else "SAT")

    # --- Quant / IntQuant --------------------------------------------------------------------------------
    def _quant(self):
        node = self.node
        scale, zp = self._input(1, "scale"), self._input(2, "zero point")
        bits = self._bitwidth(self._input(3, "bitwidth"))
        signed, narrow = bool(self._attr("signed", 1)), bool(self._attr("narrow", 0))
        x = node.input[0]
        threshold_only = str(self._attr("rounding_mode", "ROUND")).upper() in ("CEIL", "UP")  # no ap_fixed mode
        plain = qdq.is_power_of_two_scale(scale) and qdq.is_zero(zp) \
            and (x in self.consts or not _varies(scale, zp))  # per channel on an activation: thresholds, split
        if not (bits == 1 and signed) and (threshold_only or not plain):
            self._float_quant(x, scale, zp, bits, signed, narrow)
            return
        self._zero_point(zp)
        if bits == 1 and signed:  # qonnx executes a 1-bit signed Quant as bipolar (x >= 0 -> +s, else -s)
            self._bipolar_of(x, scale)
            return
        q = self._rounding("ROUND")
        if x in self.consts:
            self._fold(x, scale, lambda fc: self._int_format(bits, signed, narrow, fc, q))
            return
        f = self._scale_exponent(scale)
        fmt = self._int_format(bits, signed, narrow, f, q)
        self._activation_cast(x, node.output[0], fmt)

    def _fold(self, x: str, scale, fmt_of, convert=quantize):
        """Evaluate the quantizer on the constant `x` into the node's output: `convert(values, fmt)` gives
        the stored integers of each channel's format `fmt_of(f)` (per channel when the scale varies); the
        role format is that format, or for per-channel scales the narrowest one holding every value."""
        xs = self.consts[x]
        f = self._scale_exponent(scale, per_channel=True)
        shape = self._constant_shape(x, f)
        if np.ndim(f) == 0:
            fmt = fmt_of(int(f))
            values, role_fmt = to_float(convert(xs, fmt), fmt.f), fmt
        else:
            f_b = np.broadcast_to(f, shape)
            xs = np.broadcast_to(xs, f_b.shape)
            values = np.empty(xs.shape, dtype=np.float64)
            fine, lo, hi = int(np.max(f_b)), 0, 0
            for fc in np.unique(f_b):
                sel = f_b == fc
                fmt = fmt_of(int(fc))
                n = convert(xs[sel], fmt)
                values[sel] = to_float(n, fmt.f)
                scaled = [int(v) << (fine - int(fc)) for v in np.asarray(n).reshape(-1)]
                lo, hi = min([lo, *scaled]), max([hi, *scaled])
            role_fmt = smallest_format(lo, hi, fine, fmt.rounding, "SAT")
        self._set_const(self.node.output[0], np.asarray(values, dtype=np.float64).reshape(xs.shape), role_fmt)

    def _constant_shape(self, x: str, f) -> tuple:
        """The shape of the constant `x` quantized with per-element exponents `f` (checked: broadcastable, not
        empty)."""
        try:
            shape = np.broadcast_shapes(np.shape(f), np.shape(self.consts[x]))
        except ValueError:
            raise self._error(f"its scale of shape {list(np.shape(f))} does not broadcast against the constant "
                              f"'{x}' of shape {list(np.shape(self.consts[x]))}") from None
        if 0 in shape:
            raise self._error(f"it quantizes the empty constant '{x}' (shape {list(shape)})")
        return shape

    def _set_const(self, name: str, values: np.ndarray, fmt: FixedFormat | None):
        self.consts[name] = values
        if fmt is not None:
            self.quantized[name] = fmt
            self.producers[name] = self.node

    # --- BipolarQuant ----------------------------------------------------------------------------------
    def _bipolar(self):
        self._bipolar_of(self.node.input[0], self._input(1, "scale"))

    def _bipolar_of(self, x: str, scale):
        """y = s if x >= 0 else -s (qonnx's `binary_quant`): a two-entry select for one power-of-two scale on
        an activation, else the one-threshold quantizer (per channel: split); a constant is evaluated."""
        node = self.node
        if x in self.consts:
            self._set_const(node.output[0], *qdq.fold_constant(self._error, self.consts[x], scale, None,
                                                                self._bipolar_spec))
            return
        if not qdq.is_power_of_two_scale(scale) or _varies(scale, None):
            self._threshold_activation(x, node.output[0], scale, None, self._bipolar_spec)
            return
        f = self._scale_exponent(scale)
        s = math.ldexp(1.0, -f)
        neg = self._fresh(node.output[0] + "_negative")
        sel = self._fresh(node.output[0] + "_bipolar")
        self._emit("Less", [x, self._const(0.0)], [neg])
        self._emit("Where", [neg, self._const(-s), self._const(s)], [sel])
        # {-s, +s} on the 2-bit grid 2^-f: the cast marks the model's format (values pass unchanged)
        self._activation_cast(sel, node.output[0], FixedFormat(1, 1 - f, f, "RND_CONV", "SAT_SYM"))

    def _bipolar_spec(self, scale, _zero_point):  # the spec_of of a BipolarQuant, which has no zero point
        return qdq.bipolar_of(self._error, scale)

    # --- Trunc -----------------------------------------------------------------------------------------
    def _trunc(self):
        node = self.node
        n_in = len(node.input)
        if n_in == 5:
            raise self._error("it is a Trunc v1 (5 inputs: no output scale, no clipping), whose output range is "
                              "unbounded; fxflow supports Trunc v2 (X, scale, zeropt, in_bitwidth, out_scale, "
                              "out_bitwidth)")
        if n_in not in (6, 7):
            raise self._error(f"it has {n_in} inputs; Trunc v2 takes 6 (7 with an output zero point)")
        scale, zp = self._input(1, "scale"), self._input(2, "zero point")
        self._bitwidth(self._input(3, "input bitwidth"))
        out_scale = self._input(4, "output scale")
        if n_in == 7:
            self._zero_point(self._input(5, "output zero point"), "output zero point")
        out_bits = self._bitwidth(self._input(n_in - 1, "output bitwidth"), "output bitwidth")
        self._zero_point(zp)
        f_in = self._scale_exponent(scale)
        f_out = self._scale_exponent(out_scale, "output scale")
        signed, narrow = bool(self._attr("signed", 1)), bool(self._attr("narrow", 0))
        q = self._rounding("FLOOR")
        out_fmt = self._int_format(out_bits, signed, narrow, f_out, q)
        # step 1 (round half even to the input grid) has no clip of its own: a clamp wide enough that the
        # output clip decides alone makes it a fixed-point cast (t = f_in - f_out bits are dropped after it)
        t = f_in - f_out
        wide = FixedFormat(1, out_bits + max(t, 0) - f_in, f_in, "RND_CONV", "SAT")
        x = node.input[0]
        if x in self.consts:
            self._fold(x, out_scale, lambda fc: out_fmt,
                       lambda a, fmt: requantize(quantize(a, wide), wide.f, fmt))
            return
        mid = self._fresh(node.output[0] + "_input_grid")
        self._activation_cast(x, mid, wide)
        self._activation_cast(mid, node.output[0], out_fmt)

    # --- QuantizeLinear / DequantizeLinear --------------------------------------------------------------
    def _qdq_format(self, scale, zp, per_channel: bool):
        node = self.node
        if zp is not None:
            zp_t = self._const_type(node.input[2])
        else:
            zp_t = int(self._attr("output_dtype", 0)) or 2  # uint8 by default
        if zp_t not in _QDQ_TYPES:
            raise self._error(f"its integer type ({_type_name(zp_t)}) has no fixed-point equivalent here "
                              f"(supported: int4/uint4/int8/uint8/int16/uint16)")
        if self._attr("block_size", 0):
            raise self._error("blocked quantization (block_size) is not supported")
        self._zero_point(zp)
        signed, bits = _QDQ_TYPES[zp_t]
        f = self._scale_exponent(scale, per_channel=per_channel)
        return signed, bits, f

    def _along_axis(self, scale, shape):
        """A 1-D per-channel QDQ scale laid along the node's `axis` (default 1) of an input of `shape`, so it
        broadcasts over the right dimension (NumPy would broadcast it along the last one)."""
        scale = np.asarray(scale)
        if scale.ndim != 1 or scale.size == 1:
            return scale
        axis = int(self._attr("axis", 1))
        axis = axis + len(shape) if axis < 0 else axis
        if not 0 <= axis < len(shape) or shape[axis] != scale.size:
            raise self._error(f"its {scale.size} per-channel scales do not match axis {self._attr('axis', 1)} of "
                              f"its input of shape {list(shape)}")
        return scale.reshape([scale.size if d == axis else 1 for d in range(len(shape))])

    def _const_type(self, name: str) -> int:
        for t in self.graph.initializer:
            if t.name == name:
                return t.data_type
        for n in self.graph.node:
            if n.op_type == "Constant" and name in n.output:
                for a in n.attribute:
                    if a.name == "value":
                        return a.t.data_type
        return 0

    def _quantize_linear(self):
        node = self.node
        scale, zp = self._input(1, "scale"), self._input(2, "zero point", optional=True)
        x = node.input[0]
        users = self.users.get(node.output[0], [])
        if not (qdq.is_power_of_two_scale(scale) and qdq.is_zero(zp)) or any(u.op_type == "Clip" for u in users) \
                or x not in self.consts and _varies(scale, zp):  # per channel on an activation: split (below)
            self._float_quantize_linear(scale, zp)
            return
        signed, bits, f = self._qdq_format(scale, zp, per_channel=x in self.consts)
        k = 1 if signed else 0
        if x in self.consts:
            def fmt_of(fc):
                return FixedFormat(k, bits - k - fc, fc, "RND_CONV", "SAT")
            self._fold(x, self._along_axis(scale, np.shape(self.consts[x])), fmt_of)  # DequantizeLinear checks the scale
            self.pending_qdq[node.output[0]] = (np.asarray(scale, np.float64), node)
            return
        users = self.users.get(node.output[0], [])
        if node.output[0] in self.outputs or not users or any(u.op_type != "DequantizeLinear" for u in users):
            raise self._error("its integer output is used by other ops than DequantizeLinear; fxflow imports "
                              "QuantizeLinear only in QuantizeLinear -> DequantizeLinear pairs")
        self.pending_qdq[node.output[0]] = (np.asarray(scale, np.float64), node,
                                            FixedFormat(k, bits - k - f, f, "RND_CONV", "SAT"))

    def _dequantize_linear(self):
        node = self.node
        scale, zp = self._input(1, "scale"), self._input(2, "zero point", optional=True)
        x = node.input[0]
        if x in self.pending_float or (x in self.consts and x not in self.pending_qdq
                                       and not (qdq.is_power_of_two_scale(scale) and qdq.is_zero(zp))):
            self._float_dequantize_linear(scale, zp)
            return
        pending = self.pending_qdq.get(x)
        if pending is not None:
            q_scale, q_node = pending[0], pending[1]
            self._zero_point(zp)
            if q_scale.shape != np.shape(scale) or not np.array_equal(q_scale, np.asarray(scale, np.float64)):
                raise self._error(f"its scale {_show(np.asarray(scale))} differs from the scale of its "
                                  f"QuantizeLinear '{q_node.name}' ({_show(q_scale)}): that is a rescale, not a "
                                  "quantize-dequantize pair")
            if len(pending) == 2:  # a constant: QuantizeLinear already produced the dequantized values
                self._set_const(node.output[0], self.consts[x], self.quantized[x])
            else:  # the cast is the QuantizeLinear's: named after it
                self.node = q_node
                self._activation_cast(q_node.input[0], node.output[0], pending[2])
            return
        if x not in self.consts:
            raise self._error("its input comes from no QuantizeLinear and is not a constant: an integer tensor "
                              "fxflow cannot import")
        signed, bits, f = self._qdq_format(scale, zp, per_channel=True)
        k = 1 if signed else 0
        scale = self._along_axis(scale, np.shape(self.consts[x]))
        self._fold(x, scale, lambda fc: FixedFormat(k, bits - k - fc, fc, "RND_CONV", "SAT"),
                   lambda q, fmt: np.asarray(q).astype(np.int64))  # the stored integers themselves

    # --- float scales and zero points: exact threshold quantizers (lowering/qdq.py) ---------------------
    def _float_quant(self, x: str, scale, zp, bits: int, signed: bool, narrow: bool):
        """A QONNX Quant with a float scale or a zero point: q = clip(R(x/s + z)), y = (q - z)*s."""
        mode = str(self._attr("rounding_mode", "ROUND")).upper()
        if mode not in qdq.QONNX_ROUNDING:
            raise self._error(f"unknown rounding_mode '{mode}' (known: {', '.join(qdq.QONNX_ROUNDING)})")
        qmin, qmax = qdq.qonnx_range(bits, signed, narrow)
        self._float_finish(x, self.node.output[0], scale, zp, qmin, qmax, qdq.QONNX_ROUNDING[mode], True)

    def _float_finish(self, x: str, out: str, scale, zp, qmin: int, qmax: int, rounding: str, inside: bool):
        def spec_of(s, z):
            return qdq.thresholds_of(self._error, s, z, qmin, qmax, rounding, inside)

        if x in self.consts:
            self._set_const(out, *qdq.fold_constant(self._error, self.consts[x], scale, zp, spec_of))
            return
        fmt = _format_of_int_range(qmin, qmax, scale, zp) if rounding == "HALF_EVEN" else None
        if fmt is not None:  # a power-of-two QCDQ on a format's range: the plain cast
            self._activation_cast(x, out, fmt)
            return
        self._threshold_activation(x, out, scale, zp, spec_of)

    def _float_quantize_linear(self, scale, zp):
        """QuantizeLinear of a QDQ/QCDQ pair that is no plain cast: kept pending until its DequantizeLinear."""
        node = self.node
        zp_t = self._const_type(node.input[2]) if zp is not None else (int(self._attr("output_dtype", 0)) or 2)
        if zp_t not in _QDQ_TYPES:
            raise self._error(f"its integer type ({_type_name(zp_t)}) has no fixed-point equivalent here "
                              f"(supported: int4/uint4/int8/uint8/int16/uint16)")
        if self._attr("block_size", 0):
            raise self._error("blocked quantization (block_size) is not supported")
        signed, bits = _QDQ_TYPES[zp_t]
        qmin, qmax = qdq.qonnx_range(bits, signed, False)
        x = node.input[0]
        if x in self.consts and np.size(scale) > 1:
            scale = self._along_axis(scale, np.shape(self.consts[x]))
            zp = None if zp is None else self._along_axis(zp, np.shape(self.consts[x]))
        users = self.users.get(node.output[0], [])
        if node.output[0] in self.outputs or not users or \
                any(u.op_type not in ("DequantizeLinear", "Clip") for u in users):
            raise self._error("its integer output is used by other ops than Clip or DequantizeLinear; fxflow "
                              "imports QuantizeLinear only in QuantizeLinear -> [Clip ->] DequantizeLinear chains")
        self.pending_float[node.output[0]] = _FloatQ(node, x, np.asarray(scale, np.float64),
                                                     None if zp is None else np.asarray(zp, np.float64), qmin, qmax)

    def _qcdq_clip(self, node) -> bool:
        """A Clip between QuantizeLinear and DequantizeLinear (QCDQ) narrows the integer range; a Clip of
        integer weights stored as a constant (the TorchScript QCDQ export) is evaluated."""
        if node.op_type != "Clip" or not node.input:
            return False
        src = node.input[0]
        users = self.users.get(node.output[0], [])
        if src in self.consts and np.asarray(self.consts[src]).dtype.kind in "iu" and users \
                and all(u.op_type == "DequantizeLinear" for u in users) and node.output[0] not in self.outputs:
            self.node = node
            lo, hi = (self._input(k, name) if k < len(node.input) and node.input[k] else None
                      for k, name in ((1, "min"), (2, "max")))
            arr = self.consts[src]
            self.consts[node.output[0]] = arr if lo is None and hi is None else np.clip(arr, lo, hi)
            return True
        if src not in self.pending_float:
            return False
        pending = self.pending_float[src]
        self.node = node
        bounds = []
        for slot, attr_name, default in ((1, "min", pending.qmin), (2, "max", pending.qmax)):
            if slot < len(node.input) and node.input[slot]:
                v = self._input(slot, attr_name)
            else:
                v = self._attr(attr_name, default)
            v = np.asarray(v, dtype=np.float64).reshape(-1)
            if v.size != 1 or v[0] != int(v[0]):
                raise self._error(f"its {attr_name} bound on a quantized integer tensor must be one integer")
            bounds.append(int(v[0]))
        qmin, qmax = max(pending.qmin, bounds[0]), min(pending.qmax, bounds[1])
        users = self.users.get(node.output[0], [])
        if node.output[0] in self.outputs or not users or any(u.op_type != "DequantizeLinear" for u in users):
            raise self._error("it clips a QuantizeLinear's integers for other ops than DequantizeLinear")
        self.pending_float[node.output[0]] = _FloatQ(pending.node, pending.x, pending.scale, pending.zp, qmin, qmax)
        return True

    def _float_dequantize_linear(self, scale, zp):
        node = self.node
        x = node.input[0]
        pending = self.pending_float.get(x)
        if pending is None:  # integer weights stored as a constant (onnxruntime's QDQ): q is given
            q = np.asarray(self.consts[x], dtype=np.float64)
            if np.size(scale) > 1:
                scale = self._along_axis(scale, np.shape(q))
                zp = None if zp is None else self._along_axis(zp, np.shape(q))
            z = 0.0 if zp is None else np.asarray(zp, np.float64)
            try:
                values = ((q - z) * np.asarray(scale, np.float64)).astype(np.float32).astype(np.float64)
            except ValueError:
                raise self._error(f"its scale of shape {list(np.shape(scale))} does not broadcast against its "
                                  f"input of shape {list(np.shape(q))}") from None
            from fxflow.fixed.threshold import levels_format

            self._set_const(node.output[0], values, levels_format(values.ravel()))
            return
        def flat(a):
            return np.zeros(1) if a is None else np.asarray(a, np.float64).ravel()

        same = np.array_equal(flat(pending.scale), flat(scale))
        zq, zd = flat(pending.zp), flat(zp)
        if not same or not (np.array_equal(zq, zd) or (not np.any(zq) and not np.any(zd))):
            raise self._error(f"its scale/zero point differ from those of its QuantizeLinear '{pending.node.name}': "
                              "that is a rescale, not a quantize-dequantize pair")
        self.node = pending.node
        if pending.x not in self.consts and _varies(pending.scale, pending.zp):
            self._per_channel_activation(pending, node.output[0])
            return
        self._float_finish(pending.x, node.output[0], pending.scale, pending.zp, pending.qmin, pending.qmax,
                           "HALF_EVEN", False)

    def _per_channel_activation(self, pending, out: str):
        """A QDQ pair with a scale (zero point) per channel along `axis` on an activation: its channels."""
        if self.opset < 13:
            raise self._error(f"the model's ONNX opset is {self.opset}; a per-axis QuantizeLinear needs opset 13")
        scale = np.asarray(pending.scale, np.float64).reshape(-1)
        zp = np.zeros_like(scale) if pending.zp is None else np.asarray(pending.zp, np.float64).reshape(-1)
        if zp.size != scale.size:
            raise self._error(f"its per-axis scale ({scale.size}) and zero point ({zp.size}) differ in size")

        def spec_of(s, z):
            return qdq.thresholds_of(self._error, s, z, pending.qmin, pending.qmax, "HALF_EVEN", False)

        self._split_channels(pending.x, out, int(self._attr("axis", 1)), scale, zp, spec_of)

    def _threshold_activation(self, x: str, out: str, scale, zp, spec_of):
        """x -> out through the threshold quantizer `spec_of(s, z)`; with a broadcast scale or zero point that
        varies along one axis (a QONNX Quant's [1, C, 1, 1]), one per channel."""
        if not _varies(scale, zp):
            qdq.emit_placeholder(self, x, out, spec_of(scale, zp), self.thresholds)
            return
        axis, shape = self._channel_axis(x, scale, zp)
        scales, zps = (np.broadcast_to(np.asarray(0.0 if a is None else a, np.float64), shape).reshape(-1)
                       for a in (scale, zp))  # the C values along the axis
        self._split_channels(x, out, axis, scales, zps, spec_of)

    def _channel_axis(self, x: str, scale, zp) -> tuple[int, tuple]:
        """The one axis of the activation `x` along which broadcast parameters vary, and their shape aligned
        to x's rank (checked: they do not vary per element, along the batch or widen x)."""
        try:
            shape = np.broadcast_shapes(*(np.shape(a) for a in (scale, zp) if a is not None))
        except ValueError:
            raise self._error(f"its scale (shape {list(np.shape(scale))}) and zero point (shape "
                              f"{list(np.shape(zp))}) do not broadcast together") from None
        xs = self._activation_shape(x)
        if xs is None or len(shape) > len(xs):
            known = "unknown" if xs is None else f"of rank {len(xs)}"
            raise self._error(f"its per-channel scale of shape {list(shape)} needs its input '{x}' to have a known "
                              f"rank at least as large; the input's shape is {known}")
        shape = (1,) * (len(xs) - len(shape)) + tuple(shape)
        axes = [d for d, n in enumerate(shape) if n != 1]
        if len(axes) != 1:
            raise self._error(f"its scale or zero point of shape {list(shape)} varies along several axes; fxflow "
                              "supports one scale per channel on an activation, not per element")
        axis = axes[0]
        if axis == 0 and len(xs) > 1:
            raise self._error(f"its scale or zero point of shape {list(shape)} varies along the batch dimension")
        if xs[axis] is not None and xs[axis] != shape[axis]:
            raise self._error(f"its {shape[axis]} per-channel scales do not match dimension {axis} of its input "
                              f"'{x}' of shape {[d if d is not None else '?' for d in xs]}")
        return axis, shape

    def _activation_shape(self, x: str):
        """x's shape (None per unknown dim; None if unknown), by onnx shape inference on a copy of the graph
        in which every QONNX quantizer is an Identity (qonnx's own shape rule for them)."""
        if self.shapes is None:
            self.shapes = _inferred_shapes(self.model)
        return self.shapes.get(x)

    def _split_channels(self, x: str, out: str, axis: int, scales, zps, spec_of):
        """Split x into its channels along `axis`, one threshold quantizer `spec_of(s_c, z_c)` each (a threshold
        set is per tensor), Concat back into `out`."""
        if self.opset < 11:
            raise self._error(f"the model's ONNX opset is {self.opset}; fxflow splits a per-channel quantizer "
                              "with opset 11 ops (Split, Concat): re-export with opset >= 11")
        parts = [self._fresh(f"{out}_channel{c}") for c in range(len(scales))]
        if self.opset >= 13:  # the split sizes are an input from opset 13 on, an attribute before
            from onnx import numpy_helper

            sizes = self._fresh(f"{self.node.name}_split")
            self.new_inits.append(numpy_helper.from_array(np.ones(len(scales), np.int64), sizes))
            self.nodes.append(_node("Split", [x, sizes], parts, self.node.name, axis=axis))
        else:
            self.nodes.append(_node("Split", [x], parts, self.node.name, axis=axis, split=[1] * len(scales)))
        quantized = []
        for part, s, z in zip(parts, scales, zps):  # thresholds even for power-of-two scales: a model input read
            q = self._fresh(f"{part}_quantized")  # through the split takes their lossless boundary format
            qdq.emit_placeholder(self, part, q, spec_of(s, z), self.thresholds)
            quantized.append(q)
        self.nodes.append(_node("Concat", quantized, [out], self.node.name, axis=axis))

    # --- emitting standard ONNX ---------------------------------------------------------------------------
    def _activation_cast(self, x: str, out: str, fmt: FixedFormat):
        """x -> Mul(2^f) -> Clip -> rounding -> Mul(2^-f) -> out: exactly the cast to fmt."""
        if self.opset < 11:
            raise self._error(f"the model's ONNX opset is {self.opset}; fxflow lowers quantizers with opset 11 "
                              "ops (Round, Clip with inputs): re-export with opset >= 11")
        if fmt.width > MAX_ACTIVATION_BITS:
            raise self._error(f"it quantizes an activation to {fmt.width} bits; the float32 graph holds the "
                              f"quantizer's integer range exactly only up to {MAX_ACTIVATION_BITS} bits")
        name = out
        v, c = self._fresh(name + "_scaled"), self._fresh(name + "_clipped")
        self._emit("Mul", [x, self._const(math.ldexp(1.0, fmt.f))], [v])
        lo = fmt.min_int + (1 if fmt.overflow == "SAT_SYM" and fmt.signed else 0)
        self._emit("Clip", [v, self._const(float(lo)), self._const(float(fmt.max_int))], [c])
        r = self._fresh(name + "_rounded")
        self._round(c, r, fmt.rounding)
        self._emit("Mul", [r, self._const(math.ldexp(1.0, -fmt.f))], [out])

    def _round(self, c: str, out: str, mode: str):
        if mode == "RND_CONV":
            self._emit("Round", [c], [out])
        elif mode == "TRN":
            self._emit("Floor", [c], [out])
        else:  # symmetric modes: Where(c < 0, rounding of the negative side, rounding of the positive side)
            neg_op, neg_b, pos_op, pos_b = {"RND_INF": ("Ceil", -0.5, "Floor", 0.5),
                                            "RND_ZERO": ("Floor", 0.5, "Ceil", -0.5),
                                            "TRN_ZERO": ("Ceil", 0.0, "Floor", 0.0)}[mode]
            sides = []
            for op, b in ((neg_op, neg_b), (pos_op, pos_b)):
                arg = c
                if b:
                    arg = self._fresh(out + "_offset")
                    self._emit("Add", [c, self._const(b)], [arg])
                side = self._fresh(out + "_" + op.lower())
                self._emit(op, [arg], [side])
                sides.append(side)
            neg = self._fresh(out + "_negative")
            self._emit("Less", [c, self._const(0.0)], [neg])
            self._emit("Where", [neg, *sides], [out])

    def _emit(self, op_type: str, inputs, outputs):
        from onnx import helper

        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=self.node.name))

    def _const(self, value: float) -> str:
        from onnx import numpy_helper

        name = self._fresh(f"{self.node.name}_c")
        self.new_inits.append(numpy_helper.from_array(np.array(value, dtype=np.float32), name))
        return name

    def _fresh(self, base: str) -> str:
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    # --- roles of quantized constants ------------------------------------------------------------------------
    def _roles(self) -> dict[str, FixedFormat]:
        producers = {o: n for n in self.nodes for o in n.output}
        formats: dict[str, FixedFormat] = {}
        for name, fmt in self.quantized.items():
            for user in self.nodes:
                for slot, v in enumerate(user.input):
                    if v != name:
                        continue
                    role = self._role(user, slot, producers)
                    if role is None and _adds_to_activation(user, slot, self.consts):
                        continue  # an elementwise add of the exact constant (an fxp.scale_shift held exactly)
                    if role is None:
                        raise self._error(f"it quantizes a constant that feeds the {user.op_type} node '{user.name}' "
                                          f"(input {slot}); fxflow keeps a quantized constant exact only as the weight "
                                          "or bias of a Gemm, MatMul(+Add) or Conv, or added to an activation",
                                          self.producers[name])
                    if role in formats and formats[role] != fmt:
                        raise self._error(f"{role} is quantized twice, to {formats[role]} and {fmt}",
                                          self.producers[name])
                    formats[role] = fmt
        return formats

    @staticmethod
    def _role(user, slot: int, producers) -> str | None:
        from onnx import helper

        kind = _WEIGHT_SLOTS.get(user.op_type, {}).get(slot)
        if kind is not None and user.domain in ("", "ai.onnx"):
            if user.op_type == "Gemm":
                attrs = {a.name: helper.get_attribute_value(a) for a in user.attribute}
                if attrs.get("alpha" if slot == 1 else "beta", 1.0) != 1.0:
                    return None  # alpha/beta would rescale the quantized values
            return f"{user.name}.{kind}"
        if user.op_type == "Add" and user.domain in ("", "ai.onnx") and len(user.input) == 2:
            other = producers.get(user.input[1 - slot])
            if other is not None and other.op_type == "MatMul":
                return f"{other.name}.bias"
        return None


def _varies(scale, zp) -> bool:
    """The scale or the zero point differs between channels."""
    return any(a is not None and np.size(a) > 1 and np.any(np.asarray(a).reshape(-1) != np.asarray(a).reshape(-1)[0])
               for a in (scale, zp))


def _inferred_shapes(model) -> dict:
    """Every value's shape that onnx infers (None per unknown dim) with the QONNX quantizers as Identities."""
    import onnx
    from onnx import helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    for node in m.graph.node:
        if is_quantizer(node) and node.op_type in QONNX_OPS:
            identity = helper.make_node("Identity", [node.input[0]], [node.output[0]], name=node.name)
            node.CopyFrom(identity)
    try:
        m = onnx.shape_inference.infer_shapes(m, data_prop=True)
    except Exception:  # a graph onnx cannot infer: shapes stay unknown (the caller says so, naming the node)
        pass
    shapes = {}
    for vi in [*m.graph.input, *m.graph.value_info, *m.graph.output]:
        t = vi.type.tensor_type
        if t.HasField("shape"):
            shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)
    return shapes


def _node(op_type: str, inputs, outputs, name: str, **attrs):
    from onnx import helper

    return helper.make_node(op_type, inputs, outputs, name=name, **attrs)


def _adds_to_activation(user, slot: int, consts: dict) -> bool:
    """`user` is an Add of the constant in `slot` and an activation (onnxruntime's `MatMul -> QDQ ->
    Add(DequantizeLinear(bias))`): the float graph adds the constant's float32 values, so it stays an
    elementwise add of those exact values, not a layer's bias."""
    return user.op_type == "Add" and user.domain in ("", "ai.onnx") and len(user.input) == 2 \
        and user.input[1 - slot] not in consts


class _FloatQ:
    """A pending float-scale QuantizeLinear: its node, input, scale, zero point and integer range."""

    def __init__(self, node, x, scale, zp, qmin, qmax):
        self.node, self.x, self.scale, self.zp, self.qmin, self.qmax = node, x, scale, zp, qmin, qmax


def _format_of_int_range(qmin: int, qmax: int, scale, zp) -> FixedFormat | None:
    """The fixed-point format of a power-of-two, zero-point-free quantizer on [qmin, qmax] (None: another)."""
    if not (qdq.is_power_of_two_scale(scale) and qdq.is_zero(zp)) or np.size(scale) != 1:
        return None
    f = 1 - int(np.frexp(np.asarray(scale, np.float64).reshape(-1)[0])[1])
    if qmin == 0 and (qmax + 1) & qmax == 0:
        return FixedFormat(0, (qmax + 1).bit_length() - 1 - f, f, "RND_CONV", "SAT")
    if qmax > 0 and (qmax + 1) & qmax == 0 and qmin in (-(qmax + 1), -qmax):
        w = (qmax + 1).bit_length()
        return FixedFormat(1, w - 1 - f, f, "RND_CONV", "SAT" if qmin == -(qmax + 1) else "SAT_SYM")
    return None


# ------------------------------------------------------------------------------------------------------
def _constants(graph) -> dict:
    from onnx import helper, numpy_helper

    consts = {t.name: numpy_helper.to_array(t).astype(np.float64) if numpy_helper.to_array(t).dtype.kind == "f"
              else numpy_helper.to_array(t) for t in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx") and len(n.attribute) == 1:
            a = n.attribute[0]
            v = numpy_helper.to_array(a.t) if a.name == "value" else helper.get_attribute_value(a)
            if a.name in ("value", "value_float", "value_floats", "value_int", "value_ints"):
                arr = np.asarray(v)
                consts[n.output[0]] = arr.astype(np.float64) if arr.dtype.kind == "f" else arr
    return consts


def _prune(graph) -> None:
    """Drop initializers and Constant nodes that only fed the rewritten quantizers (and, for models of old IR
    versions that list initializers among the graph inputs, those inputs)."""
    used = {v for n in graph.node for v in n.input} | {o.name for o in graph.output}
    keep = [n for n in graph.node if n.op_type != "Constant" or any(o in used for o in n.output)]
    if len(keep) != len(graph.node):
        del graph.node[:]
        graph.node.extend(keep)
    dropped = {t.name for t in graph.initializer if t.name not in used}
    if not dropped:
        return
    inits = [t for t in graph.initializer if t.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    inputs = [vi for vi in graph.input if vi.name not in dropped]
    del graph.input[:]
    graph.input.extend(inputs)


def _show(arr: np.ndarray) -> str:
    flat = np.asarray(arr).reshape(-1)
    text = ", ".join(f"{float(v):.9g}" for v in flat[:4])
    return f"[{text}{', ...' if flat.size > 4 else ''}]" if flat.size != 1 else text


def _type_name(t: int) -> str:
    import onnx

    try:
        return onnx.TensorProto.DataType.Name(t)
    except ValueError:
        return str(t)


__all__ = ["lower_quantizers", "is_quantizer", "ROUNDING"]
