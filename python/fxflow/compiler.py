"""`fxflow.compile`: PyTorch model -> linalg -> fxp -> df, returning a `Design`."""

from __future__ import annotations

import os
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

from fxflow.lowering.backend import get as get_backend
from fxflow.lowering.backend import names as backend_names
from fxflow.lowering.linalg_to_fxp import LinalgToFxpOptions

from .config import IO_TYPES, Config
from .design import Design
from .dialects import new_context
from .errors import ConfigError, FxflowError, UnsupportedOpError
from .hls4ml_compat import forward_parameters
from .hls4ml_layout import warn_channels_last_defects, warn_stream_flatten
from .ir import op_layer_names
from .pipeline import run_passes

BACKENDS = backend_names()  # the registry's names (fxflow/lowering/backend.py): vitis, catapult, aie, rtl, versal


def _collecting_new_objects_only(fn):
    """Run `fn` with the objects that exist before it frozen out of Python's cyclic garbage collector
    (`gc.freeze`), unfrozen after.  Tracing a deep model allocates enough to set off full collections, and
    each one scanned the whole heap of torch and the caller's objects again (about 0.25 s each at 1,000
    layers); frozen, they scan what the compile made.  Left alone when objects are frozen already (the
    caller's own freeze, or a compile running in another thread)."""
    import functools
    import gc

    @functools.wraps(fn)
    def run(*args, **kwargs):
        if gc.get_freeze_count():
            return fn(*args, **kwargs)
        gc.freeze()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.unfreeze()

    return run


@_collecting_new_objects_only
def compile(model, example_input=None, config=None, backend: str = "vitis", io_type: str = "io_parallel",
            output_dir: str | os.PathLike | None = None, project_name: str = "myproject",
            ap_types: str | os.PathLike | None = None, calibration_data=None,
            aie: dict | None = None, rtl: dict | None = None, versal: dict | None = None) -> Design:
    """Compile a `torch.nn.Module` (or an `ExportedProgram`, the path of a `torch.export.save` file, or the
    path of an ONNX model) for fixed-point hardware; both front-ends feed the same pass pipeline.

    `config` is a dict (`{"model": {...}, "layers": {...}}`), a `Config`, or a YAML/JSON path.
    `example_input` gives the input shape (its first dimension is the batch).  `backend` picks the HLS
    flavour of the written project ("vitis": ap_fixed, "catapult": ac_fixed); `ap_types` is then the
    folder of the ap_types or ac_types headers for the C simulation.  `calibration_data` (an array
    (N, *input_shape), or a list of them for several inputs) starts the range analysis behind "auto"
    formats at the data's range instead of the input format's, and picks an "auto" input format.
    `backend="rtl"` builds SystemVerilog through CIRCT (`rtl` = {"products": "mul" | "shift_add" | "adder_graph",
    "pipeline": register stages per layer, "layers": per-layer overrides}; see docs/rtl.md).
    `backend="versal"` plans each layer on PL or AI Engines (`versal` = fxflow.lowering.versal.options.VersalOptions
    as a dict: {"device", "partition": "auto" | {layer: "pl" | "aie"}, "target_rate_mhz", ...})."""
    from fxflow.lowering.fxp_to_df import FxpToDfOptions
    from fxflow.passes.assign_precision import AssignPrecisionOptions

    impl = get_backend(backend)  # unknown names: a ConfigError listing the registry
    if io_type not in IO_TYPES:
        raise ConfigError(f"unknown io_type '{io_type}' (expected one of {', '.join(IO_TYPES)})")
    impl.check_io_type(io_type)
    given = {"aie": aie, "rtl": rtl, "versal": versal}  # keyword per backend that takes an options dict
    for name, value in given.items():
        if value is not None and name != backend:
            raise ConfigError(f"{name} options are given but the backend is not '{name}'")
    options = impl.parse_options(given.get(backend))
    cfg = _config(config)
    if not isinstance(model, ImportedProgram):  # torch.export's machinery takes seconds to import: only when used
        from fxflow.lowering.torch_import import explain_unsupported as explain_aten
        from fxflow.lowering.torch_import import import_torch, load_exported_program
    ctx = new_context()
    t0 = time.perf_counter()
    if isinstance(model, ImportedProgram):  # imported once by the caller (fxflow.sweep): parse, no re-import
        imported, restate = model.parse(ctx), (lambda err: err)
    elif isinstance(model, (str, os.PathLike)) and Path(model).suffix.lower() == ".onnx":
        from fxflow.lowering.onnx_import import explain_unsupported, import_onnx

        imported = import_onnx(model, ctx)
        restate = lambda err: explain_unsupported(err, imported)  # noqa: E731  (names the ONNX op type)
    else:
        if isinstance(model, (str, os.PathLike)):
            model, inputs = load_exported_program(model)
            example_input = example_input if example_input is not None else inputs
        if example_input is None:
            raise FxflowError("compile needs an example input (a tensor or array whose first dimension is the batch)")
        if hasattr(model, "buffers"):  # QAT layers branch on boolean flag buffers (see specialize_flag_buffers)
            from fxflow.lowering.fake_quant_to_fxp import specialize_flag_buffers

            model = specialize_flag_buffers(model)
        imported = import_torch(model, example_input, ctx)
        restate = lambda err: explain_aten(err, imported)  # noqa: E731  (names the aten op)
    timings = {"import": time.perf_counter() - t0}
    module, stages = imported.module, StageTexts()
    with ctx:
        stages["linalg"] = _snapshot(module)
        t0 = time.perf_counter()
        try:
            folded: set[str] = set()  # hls4ml folds a BatchNorm only into a layer whose result is 'auto'

            def hls4ml_fold(layer: str, batchnorm: str) -> bool:
                fold = cfg.layer(layer).result == "auto"
                if fold:
                    folded.add(batchnorm)
                return fold

            raising = LinalgToFxpOptions(fold_batchnorm=cfg.arithmetic != "hls4ml" or hls4ml_fold)
            before = op_layer_names(module) | getattr(imported, "source_layers", set())
            run_passes(module, ["convert-fake-quant-to-fxp", ("convert-linalg-to-fxp", raising)])
            after = op_layer_names(module)
            folded -= after  # (folds that did not happen)
            # the folded BatchNorms' own entries (hls4ml's dict names them) are no layers any more, nor are
            # data movements raising absorbed (a squeeze into the dense it feeds): hls4ml's entry for one only
            # says its result is 'auto' (the input's format, as fxflow keeps it), so it is dropped too
            absorbed = {n for n in before - after - folded if set(cfg.own(n).values()) == {"auto"}}
            cfg = cfg.without_layers(folded | absorbed)
        except UnsupportedOpError as err:
            raise restate(err) from None
        stages["fxp-float"] = _snapshot(module)
        warn_channels_last_defects(module, cfg, forward_parameters(model))  # (hls4ml dicts only)
        warn_stream_flatten(module, cfg, io_type)
        calibration = None if calibration_data is None else _as_inputs(calibration_data)
        # the module is the verified output of the raising passes (only printed since): no input verification
        run_passes(module, [("fxp-assign-precision", AssignPrecisionOptions(config_obj=cfg, calibration=calibration,
                                                                       produced_by="convert-linalg-to-fxp"))],
                   verify_input=False)
        stages["fxp"] = _snapshot(module)
        run_passes(module, [
            ("convert-fxp-to-df", FxpToDfOptions(top=project_name, io_type=io_type, config_obj=cfg)),
            "df-legalize-reuse",
        ], verify_input=False)
        if io_type == "io_stream":  # FIFO depths by the cycle-level model (lowering/hls/passes/df_size_fifos.py)
            run_passes(module, ["df-size-fifos"])
        stages["df"] = _snapshot(module)
        timings["lowering"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    try:
        backend_stages, state = impl.lower(module, options, ctx, project_name)
    except UnsupportedOpError as err:
        raise restate(err) from None
    stages.update(backend_stages)
    timings[backend] = time.perf_counter() - t0
    design = Design(ctx=ctx, module=module, stages=stages, config=cfg, project_name=project_name,
                    output_dir=Path(output_dir) if output_dir is not None else None, ap_types=ap_types,
                    timings=timings, backend=backend, backend_state=state)
    if output_dir is not None:
        design.write()
    return design


@dataclass(frozen=True)
class ImportedProgram:
    """A model's `linalg` stage (`Design.mlir("linalg")`), compiled again without re-importing it.

    torch.export and torch-mlir take most of a small model's compile time; parsing this text into a new
    context takes milliseconds, so `compile(ImportedProgram.of(design), config=...)` is how a sweep
    compiles one model under many configurations.  Plain text: it pickles to other processes."""

    linalg: str

    @classmethod
    def of(cls, design: Design) -> "ImportedProgram":
        return cls(design.stages["linalg"])

    def parse(self, ctx):
        from types import SimpleNamespace

        from .ir import ir

        return SimpleNamespace(module=ir.Module.parse(self.linalg, context=ctx))


def _config(config) -> Config:
    if config is None or isinstance(config, (dict, Config)):
        return Config.from_dict(config)
    if isinstance(config, (str, os.PathLike)):
        return Config.load(config)
    raise ConfigError(f"config must be a dict, a Config or a file path, got {type(config).__name__}")


def _as_inputs(data) -> list:
    """One array per model input (a list/tuple for several; torch tensors accepted)."""
    items = list(data) if isinstance(data, (list, tuple)) else [data]
    return [x.detach().cpu().numpy() if hasattr(x, "detach") else x for x in items]


as_inputs = _as_inputs  # public name: fxflow.dse takes sweep data the same way


def _snapshot(module):
    """The module as it is now: a clone, printed by `StageTexts` when the stage is first read."""
    return module.operation.clone()


class StageTexts(MutableMapping):
    """Stage name -> the IR's text (generic form, with locations).  A stage is stored as a clone of the module
    (milliseconds) and printed on first read: printing takes about 0.1 s per stage at 1,000 layers, and most
    compiles (a sweep's points) read one stage or none."""

    def __init__(self):
        self._stages: dict = {}

    def __getitem__(self, stage: str) -> str:
        value = self._stages[stage]
        if not isinstance(value, str):
            value = self._stages[stage] = value.get_asm(print_generic_op_form=True, enable_debug_info=True,
                                                        large_elements_limit=None)
        return value

    def __setitem__(self, stage: str, value) -> None:
        self._stages[stage] = value

    def __delitem__(self, stage: str) -> None:
        del self._stages[stage]

    def __iter__(self):
        return iter(self._stages)

    def __len__(self) -> int:
        return len(self._stages)
