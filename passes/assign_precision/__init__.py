"""fxp-assign-precision: give every tensor of a float `fxp` program its fixed-point format.

Applies the user configuration (model defaults, per-layer overrides keyed by the PyTorch module path
carried in each op's NameLoc): inputs are cast to the input format at the function boundary, weights and
biases are quantized at compile time into `fxp.constant`s holding stored integers, every op's result gets
its layer's result format, and dense accumulators get their configured format or, by default, the exact
one (`fxflow.fixed.accum.exact_accumulator`).

Alongside, an exact range analysis (`fxflow.fixed.interval`) follows every tensor from the input format
through the program; a role configured as "auto" takes the narrowest format of its range — so it can
never overflow and, for accumulators and results, never rounds — and weights/biases set to "auto" take
the narrowest format holding each value within the configured tolerance.

Calibration data (`calibration`, set by `fxflow.compile(calibration_data=...)`) replace the input format's
full range by the data's per-feature range as the analysis's starting point, and choose the input format
when it is "auto".  Formats fixed by the model itself (`convert-fake-quant-to-fxp`: casts with a fixed
result type already in the float program, and the `fxflow.model_formats` of weights and biases) are kept
as they are; results feeding them are exact, so the model's quantizer is the only rounding.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from fxflow.config import AUTO, EXACT, Config
from fxflow.dialects.fxp import COMPUTE_OPS, FXP_OPS, CastOp, ConstantOp, OpRegistry, fixed_type, format_of
from fxflow.dialects.fxp.traits import MULTIPLIER_OPS
from fxflow.errors import ConfigError, FxflowError, ShapeError
from fxflow.fixed import FixedFormat
from fxflow.fixed.accum import exact_accumulator
from fxflow.fixed.interval import Interval, cast_interval, fit_constants, smallest_format
from fxflow.fixed.quantize import quantize
from fxflow.ir import defining_op, elements_array, func, ir, layer_alias, layer_name

from fxflow.passes.accepted_ops import op_names, require_accepted_ops
from fxflow.passes.assign_precision.hls4ml_auto import hls4ml_roles
from fxflow.passes.assign_precision.model_exact import is_model_cast
from fxflow.passes.registry import register_pass


@dataclass
class AssignPrecisionOptions:
    precision: str = "ap_fixed<16,6>"  # or "auto" (then `input` is required)
    input: str = ""  # input format; default: `precision`
    config: str = ""  # path to a YAML/JSON config file; overrides `precision` and `input`
    config_obj: Config | None = None  # set by the compile driver
    calibration: list | None = None  # per float argument, inputs (N, *shape); set by the compile driver
    # the fxflow pass whose output the input is (set by the drivers): an op this pass does not accept is then
    # fxflow's bug (an InternalError naming that pass), not the user's (programmatic only, as `config_obj`)
    produced_by: str | None = None

    def resolve(self) -> Config:
        if self.config_obj is not None:
            return self.config_obj
        if self.config:
            return Config.load(self.config)
        model = {"precision": self.precision}
        if self.input:
            model["input"] = self.input
        return Config.from_dict({"model": model})


@register_pass("fxp-assign-precision", "Assign fixed-point formats to inputs, weights, accumulators and results",
               AssignPrecisionOptions)
def assign_precision(module_op, options: AssignPrecisionOptions | None = None) -> None:
    import importlib

    for mod in FAMILIES:
        importlib.import_module(mod)
    options = options or AssignPrecisionOptions()
    require_accepted_ops(module_op, ACCEPTED_OPS, "fxp-assign-precision",
                         "fxp ops in functions (raise the function first: convert-linalg-to-fxp)", options.produced_by)
    cfg = options.resolve()
    funcs = [op for op in module_op.regions[0].blocks[0].operations if op.operation.name == "func.func"]
    known = sorted({n for f in funcs for n in _layer_names(f)})
    cfg = cfg.with_aliases({n: a for f in funcs for n, a in _layer_aliases(f).items()})
    cfg.check_layers(known)
    cfg = cfg.keyed_by(known)
    _check_multiplier_layers(cfg, {n for f in funcs for n in _layer_names(f, MULTIPLIER_OPS)})
    with ir.Location.unknown(module_op.context):
        for f in funcs:
            _assign_function(f, cfg, options.calibration)


def _check_multiplier_layers(cfg: Config, mac_layers: set[str]) -> None:
    """A per-layer `multiplier` on a layer without products would be silently ignored: reject it."""
    from fxflow.hls4ml_compat import hls4ml_name

    spelled = mac_layers | {hls4ml_name(n) for n in mac_layers}
    bad = [n for n, s in cfg.layers.items() if "multiplier" in s and n not in spelled]
    if bad:
        raise ConfigError(f"config sets a multiplier on layer(s) {', '.join(repr(n) for n in bad)}, which have "
                          f"no multiplications (dense/conv/matmul layers: {', '.join(sorted(mac_layers)) or '(none)'})")


def _layer_names(fn, ops=COMPUTE_OPS) -> list[str]:
    names = []
    for op in fn.regions[0].blocks[0].operations:
        if op.operation.name in ops:
            n = layer_name(op.location)
            if n:
                names.append(n)
    return names


def _layer_aliases(fn) -> dict[str, str]:
    """Layer name -> torch.fx name of the functional calls in `fn` (hls4ml's dicts name them so)."""
    out = {}
    for op in fn.regions[0].blocks[0].operations:
        name, alias = layer_name(op.location), layer_alias(op.location)
        if name and alias:
            out[name] = alias
    return out


# Per-op precision rules, keyed by op class: `assign(op, cfg, ranges)` gives the op's results their
# formats (and quantizes its constants), recording in `ranges` the exact Interval of every result.
# Op families register theirs with `@assigner(OpClass, ...)` in assign_precision/<family>.py (FAMILIES).
ASSIGNERS: OpRegistry = OpRegistry("precision assigner")

# Ops with no assigner, with the reason (test_op_coverage.py asks every op of FXP_OPS).
UNSUPPORTED = {ConstantOp: "quantized by the rule of the op that reads it (its role: weight, bias, ...); "
                           "an already fixed constant keeps its stored integers"}
# The ops the pass takes (in functions): every op of FXP_OPS (an assigner each, or UNSUPPORTED's reason: the
# pass reads the constants) and the function's return.
ACCEPTED_OPS = op_names(FXP_OPS, (func.ReturnOp,))
FAMILIES = ["fxflow.passes.assign_precision.elementwise", "fxflow.passes.assign_precision.layers",
            "fxflow.passes.assign_precision.shape", "fxflow.passes.assign_precision.tables",
            "fxflow.passes.assign_precision.transformer",
            "fxflow.passes.assign_precision.recurrent"]


def assigner(*classes: type):
    return ASSIGNERS.decorate(classes)


class Ranges(dict):
    """value -> Interval of its stored integers, plus `model_exact`: the results that the model's own
    quantizers fix (assign_precision/model_exact.py), which take their exact format."""

    def __init__(self, model_exact=()):
        super().__init__()
        self.model_exact = set(model_exact)
        self.calibration = None  # calibration inputs per function argument (HCCS softmax calibration)


def fixed_tensor_type(like: ir.Value, fmt: FixedFormat) -> ir.Type:
    return ir.RankedTensorType.get(list(ir.RankedTensorType(like.type).shape), fixed_type(fmt))


def _assign_function(fn, cfg: Config, calibration: list | None = None) -> None:
    block = fn.regions[0].blocks[0]
    ops = list(block.operations)
    pulled = _model_input_formats(block.arguments, cfg)
    ranges = Ranges(_model_exact_results(fn, ops, cfg, pulled))
    data = _calibration_by_arg(block.arguments, calibration)
    if data and all(a in data for a in block.arguments):
        ranges.calibration = [data[a] for a in block.arguments]
    # 1. Inputs: cast float arguments to the input format right at the boundary (unless the model's own
    #    input quantizer is their only user and no input format is configured: it is the boundary cast).
    if ops:
        with ir.InsertionPoint(ops[0]):
            for arg in block.arguments:
                if format_of(arg.type) is None:
                    boundary = _threshold_boundary(arg) if cfg.input is None else None
                    if boundary is None and cfg.input is None and _feeds_model_casts(arg):
                        for use in arg.uses:
                            res = use.owner.results[0]
                            ranges[res] = _input_interval(format_of(res.type), data.get(arg), _shape(arg))
                        continue
                    fmt = boundary or pulled.get(arg) or _input_format(cfg, data.get(arg))
                    with ir.Location.name("input", childLoc=arg.location):
                        cast = CastOp(arg, fixed_tensor_type(arg, fmt))
                    arg.replace_all_uses_except(cast.output, cast.operation)
                    ranges[cast.output] = _input_interval(fmt, data.get(arg), _shape(arg))
                elif format_of(arg.type) is not None:
                    ranges[arg] = Interval.of_format(format_of(arg.type), _shape(arg))
    # 2. Ops in program order.
    for op in ops:
        name = op.operation.name
        assign = ASSIGNERS.get(name)
        if assign is not None:
            assign(op, hls4ml_roles(cfg, op), ranges)  # (hls4ml arithmetic: its meaning of "auto")
        elif name == "fxp.constant" and format_of(op.operation.results[0].type) is not None:
            res = op.operation.results[0]  # already quantized (IR given at the fxp stage): its stored values
            ranges[res] = Interval.of_constant(elements_array(op.operation.attributes["value"], _shape(res)),
                                               format_of(res.type).f)
        elif name.startswith("fxp.") and name not in ("fxp.constant",):
            raise FxflowError(f"fxp-assign-precision does not know '{name}' ({op.location})")
    # 3. Drop the float constants nothing uses any more; update the signature.
    for op in list(block.operations):
        if op.operation.name == "fxp.constant" and not list(op.operation.results[0].uses):
            op.operation.erase()
    ret = list(block.operations)[-1]
    result_types = [v.type for v in ret.operation.operands]
    fn.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get([a.type for a in block.arguments], result_types))


def require_fixed(op, values, what: str) -> None:
    for v in values:
        if format_of(v.type) is None:
            where = layer_name(op.location) or str(op.location)
            raise FxflowError(f"'{what}' in layer '{where}' has an operand without a fixed-point format ({v.type})")


def _shape(v: ir.Value) -> list[int]:
    return list(ir.RankedTensorType(v.type).shape)


def set_result(op, fmt, exact: Interval, ranges: dict) -> None:
    """Give the op's result `fmt` (AUTO: the narrowest exact format of `exact`) and record its range.

    A result that only feeds the model's own quantizers, or that they fix (`ranges.model_exact`), is exact
    (AUTO): the model's quantizer is then the one rounding, as in the model's forward pass."""
    res = op.operation.results[0]
    if _feeds_model_casts(res) or res in getattr(ranges, "model_exact", ()):
        fmt = AUTO
    if fmt == AUTO:
        fmt = smallest_format(min(exact.lo.ravel(), default=0), max(exact.hi.ravel(), default=0), exact.f)
        ranges[res] = exact
    else:
        ranges[res] = cast_interval(exact, fmt)
    res.set_type(fixed_tensor_type(res, fmt))


def _float_values(value: ir.Value, role: str, layer: str) -> np.ndarray:
    owner = defining_op(value)
    if owner is None or owner.name != "fxp.constant":
        raise FxflowError(f"the {role} of layer '{layer}' is not a compile-time constant")
    return elements_array(owner.attributes["value"], _shape(value)).astype(np.float64)


def hls4ml_auto(role, cfg: Config, layer: str, key: str):
    """A role's format under hls4ml arithmetic: an "auto" (or "exact") role is what hls4ml's precision inference
    gives a role it has no rule for, the model's default precision."""
    if role not in (AUTO, EXACT):
        return role
    if cfg.precision == AUTO:
        raise ConfigError(f"layer '{layer}': its '{key}' is 'auto', which hls4ml infers as the model's default "
                          "precision, but that is 'auto' too: give 'Model.Precision.default' a type")
    return cfg.precision


def quantized_constant(value: ir.Value, fmt, role: str, layer: str, tolerance: float, decimal: bool = False):
    """The constant quantized to `fmt` (AUTO: fitted within `tolerance` of its largest magnitude); with
    `decimal`, through hls4ml's decimal text (hls4ml_compat.decimal_constants) first."""
    arr = _float_values(value, role, layer)
    shape = _shape(value)
    if fmt == AUTO:
        fmt = fit_constants(arr, tolerance * float(np.max(np.abs(arr), initial=0.0)))
    if decimal:
        from fxflow.hls4ml_compat import decimal_constants

        arr = decimal_constants(arr, fmt.f)
    if fmt.width > 53:
        raise ConfigError(f"the {role} format of layer '{layer}' ({fmt}) is wider than 53 bits")
    stored = np.asarray(quantize(arr, fmt), dtype=np.int64)
    i64 = ir.IntegerType.get_signless(64)
    dense = ir.DenseElementsAttr.get(np.ascontiguousarray(stored), type=i64)
    return ConstantOp(dense, ir.RankedTensorType.get(shape, fixed_type(fmt))).output, stored, fmt


def assign_multiply_accumulate(op, cfg: Config, ranges: dict, interval, n_terms: int) -> None:
    """Dense and conv: quantize weight and bias (operands 1, 2) to their roles, derive the exact range
    `interval(x_range, w_int, w_f, b_int, b_f)`, choose the accumulator (`exact`: by bit widths for
    `n_terms` products; `auto`: by that range) and the result."""
    layer = layer_name(op.location) or "<unnamed>"
    lc = cfg.layer(layer)
    x, w, b = op.operation.operands[:3]
    require_fixed(op, [x], op.operation.name)
    model_formats = _model_formats(op.operation.parent)
    w_role = _model_format(model_formats, cfg, layer, "weight", lc.weight)
    b_role = _model_format(model_formats, cfg, layer, "bias", lc.bias)
    hls4ml = cfg.arithmetic == "hls4ml"
    with ir.InsertionPoint(op), op.location:
        wq, w_int, w_fmt = quantized_constant(w, w_role, "weight", layer, cfg.auto_tolerance, decimal=hls4ml)
        bq, b_int, b_fmt = quantized_constant(b, b_role, "bias", layer, cfg.auto_tolerance, decimal=hls4ml)
    op.operation.operands[1] = wq
    op.operation.operands[2] = bq
    # --- per-channel formats of weights/biases the model quantized itself (fxflow.fixed.channels) ---
    if not hls4ml:
        axis = 1 if op.operation.name == "fxp.dense" else 0  # the output channel: dense [K, N], conv [F, C/g, *K]
        # `auto` roles too: the values stay as fitted; each channel records the narrowest format holding them
        _attach_channel_formats(wq, w_int, w_fmt, axis, model_formats.get(f"{layer}.weight") or
                                (w_fmt if w_role == AUTO else None))
        _attach_channel_formats(bq, b_int, b_fmt, 0, model_formats.get(f"{layer}.bias") or
                                (b_fmt if b_role == AUTO else None))
    exact = interval(ranges[x], w_int, w_fmt.f, b_int, b_fmt.f)
    product = None
    mult = layer_multiplier(op, cfg, format_of(x.type), w_fmt, layer)
    if mult is not None:  # --- approximate multiplier (fxflow.approx): its products' range ---
        from fxflow.approx.ranges import widen

        product = mult.product_format(format_of(x.type).f, w_fmt.f)
        dense = op.operation.name == "fxp.dense"
        exact = widen(exact, mult, w_int, format_of(x.type).f + w_fmt.f, 1 if dense else 0, -1 if dense else 1)
    accum = lc.accum
    if accum == EXACT:
        accum = exact_accumulator(format_of(x.type), w_fmt, b_fmt, n_terms, product)
    elif accum == AUTO:
        accum = smallest_format(min(exact.lo.ravel(), default=0), max(exact.hi.ravel(), default=0), exact.f)
    op.operation.attributes["accum"] = ir.TypeAttr.get(fixed_type(accum))
    if hls4ml:  # acc += accum_t(x * w): each product rounded on its own, so only the accumulator's range is known
        op.operation.attributes["product"] = ir.TypeAttr.get(fixed_type(accum))
        exact = Interval.of_format(accum, exact.lo.shape)
    set_result(op, lc.result, after_accumulator(exact, accum), ranges)


def layer_multiplier(op, cfg: Config, x_fmt: FixedFormat, w_fmt: FixedFormat, layer: str,
                     roles: tuple[str, str] = ("input", "weight")):
    """The layer's configured approximate multiplier for its operand formats (None: exact products), recorded
    in the op's `approx_mul` attribute; errors name the layer (and the operands by `roles`)."""
    spec = cfg.layer(layer).multiplier
    if spec == "exact":
        return None
    from fxflow.approx.select import resolve

    if cfg.arithmetic == "hls4ml" and op.operation.name != "fxp.matmul":  # (matmul has no per-product casts)
        raise ConfigError(f"layer '{layer}': approximate multipliers cannot be combined with arithmetic "
                          "'hls4ml' (its per-product accumulator casts)")
    mult = resolve(spec, x_fmt, w_fmt, layer, roles)
    op.operation.attributes["approx_mul"] = ir.StringAttr.get(spec)
    return mult


def _attach_channel_formats(value, stored, fmt: FixedFormat, axis: int, model_fmt) -> None:
    """A constant the model quantized, or whose format `auto` fitted (`model_fmt` set), records each output
    channel's narrowest exact format when some channel needs fewer bits than the tensor's format: never wider
    than the model's quantizer or the fitted format, kept by the emitted C++ and counted by the estimator."""
    from fxflow.dialects.fxp.channels import set_channel_formats
    from fxflow.fixed.channels import exact_channel_formats

    if model_fmt is None or fmt != model_fmt or np.asarray(stored).ndim <= axis:
        return
    cf = exact_channel_formats(stored, fmt.f, axis, fmt)
    if cf.uncovered(fmt) is None and any((c.k, c.i, c.f) != (fmt.k, fmt.i, fmt.f) for c in cf.formats()):
        set_channel_formats(defining_op(value), cf)


def after_accumulator(exact: Interval, accum: FixedFormat) -> Interval:
    """The accumulator's final range: the exact one when every partial sum is held exactly (the grid is
    fine enough and the whole range fits), otherwise anything the accumulator can hold."""
    if accum.f >= exact.f:
        s = 1 << (accum.f - exact.f)
        lo, hi = min(exact.lo.ravel(), default=0) * s, max(exact.hi.ravel(), default=0) * s
        if accum.min_int <= lo and hi <= accum.max_int:
            return exact
    return Interval.of_format(accum, exact.lo.shape)


# --- calibration data and formats fixed by the model ------------------------------------------------------
MODEL_FORMATS_ATTR = "fxflow.model_formats"  # on func.func: {"<layer>.weight" | "<layer>.bias": format}


def _calibration_by_arg(args, calibration) -> dict:
    """Calibration arrays keyed by the float function argument they feed, shape-checked."""
    if calibration is None:
        return {}
    floats = [a for a in args if format_of(a.type) is None]
    if len(calibration) != len(floats):
        raise ShapeError(f"calibration data for {len(calibration)} input(s) given; the model has {len(floats)}")
    out = {}
    for i, (arg, x) in enumerate(zip(floats, calibration)):
        shape = tuple(_shape(arg)[1:])
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise ShapeError(f"calibration data for input {i} is not a numeric array: {e}") from None
        if x.ndim < 1 or x.shape[1:] != shape or len(x) == 0:
            raise ShapeError(f"calibration data for input {i} has shape {x.shape}; expected "
                             f"(N, {', '.join(map(str, shape))}) with N >= 1")
        if not np.all(np.isfinite(x)):
            raise ShapeError(f"calibration data for input {i} contains NaN or infinity")
        out[arg] = x
    return out


def _input_format(cfg: Config, data) -> FixedFormat:
    fmt = cfg.input_format
    if fmt != AUTO:
        return fmt
    if data is None:
        raise ConfigError("the input format is 'auto' but no input range is known: give 'model.input' a format "
                          "(e.g. ap_fixed<16,6>) or calibration data (compile(..., calibration_data=x), "
                          "CLI --calibration x.npy)")
    return fit_constants(data, cfg.auto_tolerance * float(np.max(np.abs(data), initial=0.0)))


def _input_interval(fmt: FixedFormat, data, shape) -> Interval:
    """The range the analysis starts from: the format's, or the calibration data's per-feature range on the
    format's grid (so every calibration input, and any input inside their box, is covered)."""
    if data is None:
        return Interval.of_format(fmt, shape)
    flat = data.reshape(len(data), -1)
    stored = quantize(flat, fmt.with_modes(overflow="SAT"))
    big = max(fmt.i, int(np.ceil(np.log2(float(np.max(np.abs(flat), initial=0.0)) + 1.0))) + 2)
    unbounded = quantize(flat, FixedFormat(1, big, fmt.f, fmt.rounding, "SAT"))  # the rounded data, no overflow
    if np.any(stored != unbounded):
        warnings.warn(f"calibration data lie outside the input format {fmt} (values from {float(data.min()):.6g} "
                      f"to {float(data.max()):.6g}); those inputs overflow at the input", stacklevel=2)
        return Interval.of_format(fmt, shape)
    lo = np.array([int(v) for v in stored.min(axis=0)], dtype=object).reshape(shape)
    hi = np.array([int(v) for v in stored.max(axis=0)], dtype=object).reshape(shape)
    return Interval(lo, hi, fmt.f)


def _model_input_formats(args, cfg: Config) -> dict:
    """Float arguments whose format the model's first quantizer fixes (assign_precision/input_format.py), when
    no input format is configured: argument -> format."""
    from fxflow.passes.assign_precision.input_format import model_input_format

    if cfg.input is not None:
        return {}
    found = {a: model_input_format(a) for a in args if format_of(a.type) is None and not _feeds_model_casts(a)}
    return {a: fmt for a, fmt in found.items() if fmt is not None}


def _model_exact_results(fn, ops, cfg: Config, fixed_inputs=()) -> set:
    """The results between (or fixed by) the model's quantizers, minus layers whose result is configured;
    warns about the ops there that cannot be exact.  `fixed_inputs`: arguments whose format the model fixes."""
    from fxflow.passes.assign_precision.model_exact import ModelExactness

    analysis = ModelExactness(ops, _model_formats(fn), lambda layer, role: role in cfg.layers.get(layer or "", {}),
                              fixed_inputs)
    analysis.warn_inexact(lambda layer: cfg.layer(layer).result)
    return analysis.exact_results(lambda layer: "result" in cfg.layers.get(layer or "", {}))


def _threshold_boundary(arg: ir.Value) -> FixedFormat | None:
    """A float32 input read only by threshold quantizers (fxp.threshold) takes the input format that loses
    nothing: their thresholds become inclusive ones at float32 values (equivalent on float32 inputs,
    `fixed.threshold.float32_inclusive`), and a truncating, saturating cast on the grid of those values
    keeps every comparison.  None when another op reads the input too."""
    from fxflow.fixed.threshold import float32_inclusive, fraction_bits

    users = [_through_moves(u.owner) for u in arg.uses]
    if not users or not all(u.name == "fxp.threshold" for u in users):
        return None
    moved = []
    for u in users:
        t = float32_inclusive(np.asarray(u.attributes["thresholds"], dtype=np.float64),
                              np.asarray(u.attributes["inclusive"]).astype(bool))
        u.attributes["thresholds"] = ir.DenseElementsAttr.get(np.ascontiguousarray(t), type=ir.F64Type.get())
        u.attributes["inclusive"] = ir.DenseElementsAttr.get(np.ones(t.size, dtype=np.int64),
                                                             type=ir.IntegerType.get_signless(64))
        moved.append(t)
    allt = np.concatenate(moved)
    f = fraction_bits(allt)
    raw = [int(v) for v in np.ldexp(allt, f)]
    return smallest_format(min(raw) - 1, max(raw), f, "TRN", "SAT")


def _through_moves(op):
    """The op a value reaches through data movement (reshape/transpose/gather, each read once): it keeps values
    (a gather: the channel split of a per-channel QDQ on the input, lowering/qonnx.py)."""
    from fxflow.passes.assign_precision.input_format import MOVES

    while op.name in (*MOVES, "fxp.gather") and len(list(op.results[0].uses)) == 1:
        op = next(iter(op.results[0].uses)).owner
    return op


def _feeds_model_casts(value: ir.Value) -> bool:
    """Every user is a cast to a fixed format that the float program already had: the model's quantizer."""
    users = [u.owner for u in value.uses]
    return format_of(value.type) is None and bool(users) and all(is_model_cast(u) for u in users)


def _model_formats(fn) -> dict:
    """The weight/bias formats the model fixes (recorded on the function by convert-fake-quant-to-fxp)."""
    if MODEL_FORMATS_ATTR not in fn.attributes:
        return {}
    d = ir.DictAttr(fn.attributes[MODEL_FORMATS_ATTR])
    return {d[i].name: FixedFormat.parse(ir.StringAttr(d[i].attr).value) for i in range(len(d))}


def _model_format(model_formats, cfg: Config, layer: str, role: str, configured):
    fmt = (model_formats or {}).get(f"{layer}.{role}")
    if fmt is None:
        return configured
    own = cfg.layers.get(layer, {}).get(role)
    if own is not None and own != fmt:
        warnings.warn(f"layer '{layer}': the model quantizes its {role} to {fmt}; the configured {own} is not used",
                      stacklevel=2)
    return fmt
