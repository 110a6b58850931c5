"""PyTorch -> linalg on tensors, through torch.export and torch-mlir's FX importer.

Every imported op is wrapped in a NameLoc carrying the PyTorch module path it came from (`fc1`,
`encoder.0`), so later passes can apply per-layer configuration and name layers in errors.
Parameters are imported as plain dense constants (not resource blobs) so their values stay readable
from the IR, also when the IR comes back from a file.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np

# The exporter's machinery is imported with this module (it is what compile needs), so that its
# multi-second import cost is paid at import time, not inside the first compile.
import torch  # noqa: F401
import torch._dynamo  # noqa: F401
import torch.export  # noqa: F401
from torch_mlir import fx  # noqa: F401
from torch_mlir.extras import fx_decomp_util, fx_importer  # noqa: F401

from fxflow.errors import FxflowError, ShapeError, UnsupportedOpError
from fxflow.ir import PassManager, ir, layer_name, register_torch_dialect
from fxflow.lowering.recurrent_import import keep_recurrent, recurrent_to_calls, recurrent_to_fxp, replace_recurrent

LINALG_PIPELINE_NOTE = "torch-mlir's torch-backend-to-linalg-on-tensors-backend-pipeline"


@dataclass
class ImportedModel:
    module: ir.Module
    input_shapes: list[tuple[int, ...]]  # per input, without the batch dimension
    layer_names: list[str]  # module paths in execution order (leaf modules that produced ops)


def _hooks_and_cache():
    import torch
    from torch_mlir.extras.fx_importer import ContextCache, FxImporterHooks

    class NamedLocCache(ContextCache):
        """Locations that name the PyTorch module path (the innermost `nn_module_stack` entry)."""

        def get_node_location(self, node):
            inner = super().get_node_location(node) or ir.Location.unknown()
            stack = node.meta.get("nn_module_stack")
            path = list(stack.values())[-1][0] if stack else ""
            return ir.Location.name(path or node.name, childLoc=inner)

    class DenseLiterals(FxImporterHooks):
        """Import tensor literals (parameters) as DenseElementsAttr instead of resource blobs.
        `gni._cc` is torch-mlir's own context cache: the hook API passes no public handle to it."""

        def resolve_literal(self, gni, literal, info):
            if isinstance(literal, torch.Tensor) and literal.dtype == torch.uint8:  # boolean masks arrive as uint8
                arr = np.asarray(literal.detach().cpu().tolist(), dtype=np.uint8).reshape(tuple(literal.shape))
                attr = ir.DenseElementsAttr.get(arr, type=ir.IntegerType.get_unsigned(8))
                return ir.Operation.create("torch.vtensor.literal", results=[gni._cc.tensor_to_vtensor_type(literal)],
                                           attributes={"value": attr}).result
            if not isinstance(literal, torch.Tensor) or literal.dtype not in (torch.float32, torch.float64):
                return None
            arr = np.asarray(literal.detach().cpu().tolist(), dtype=np.float32 if literal.dtype == torch.float32
                             else np.float64).reshape(tuple(literal.shape))
            attr = ir.DenseElementsAttr.get(arr)
            vtype = gni._cc.tensor_to_vtensor_type(literal)
            return ir.Operation.create("torch.vtensor.literal", results=[vtype], attributes={"value": attr}).result

    return NamedLocCache, DenseLiterals


def _reject_training_dropout(model) -> None:
    """Dropout in training mode is random; compiling it as the identity (eval) would silently change the model."""
    import torch

    for name, m in model.named_modules():
        # torch's common base of every DropoutNd (no public alias)
        p = m.p if isinstance(m, torch.nn.modules.dropout._DropoutNd) else getattr(m, "dropout", 0.0)
        if m.training and isinstance(p, float) and p > 0:
            raise UnsupportedOpError(f"module '{name or type(m).__name__}' applies dropout (p={p}) in training "
                                     "mode; call model.eval() before compiling", layer=name or None)


def import_torch(model, example_inputs, ctx: ir.Context) -> ImportedModel:
    """Import a `torch.nn.Module` (or an `ExportedProgram`) called on `example_inputs` into `ctx` as linalg.

    The first dimension of every input is the batch; the design is built for one sample, so the
    example inputs are cut to batch 1."""
    import torch
    from torch_mlir import fx
    from torch_mlir.compiler_utils import OutputType
    from torch_mlir.extras.fx_importer import FxImporter

    if not isinstance(example_inputs, (tuple, list)):
        example_inputs = (example_inputs,)
    example_inputs = tuple(_to_tensor(x) for x in example_inputs)
    for x in example_inputs:
        if x.dim() < 2:
            raise ShapeError(f"example input of shape {tuple(x.shape)} needs a leading batch dimension")
    example_inputs = tuple(x[:1] for x in example_inputs)
    NamedLocCache, DenseLiterals = _hooks_and_cache()
    register_torch_dialect(ctx)
    importer = FxImporter(context=ctx, hooks=DenseLiterals())
    # torch-mlir's FxImporter has no public way to swap its ContextCache (for named locations)
    importer._cc = NamedLocCache(ctx, py_attr_tracker=importer._py_attr_tracker)
    if isinstance(model, torch.export.ExportedProgram):
        _check_program_shapes(model)
    if isinstance(model, torch.nn.Module):
        _reject_training_dropout(model)
        model = model.eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program, recurrent = _export(model, example_inputs)
            with ctx:
                module = fx.export_and_import(program, output_type=OutputType.RAW if recurrent else OutputType.TORCH,
                                              fx_importer=importer, decomposition_table={})
                if recurrent:  # calls hide the custom op from torch-mlir's backend contract
                    recurrent_to_calls(module, recurrent)
                    PassManager.parse(TORCH_BACKEND).run(module.operation)
    except ir.MLIRError as e:
        raise UnsupportedOpError(_describe_lowering_failure(e)) from None
    except FxflowError:
        raise
    except Exception as e:  # torch.export raises many types (Unsupported, AssertionError, UserError, ...)
        raise FxflowError(f"torch.export could not trace the model: {type(e).__name__}: {_first_line(e)}") from None
    aten_ops = _aten_ops(module)
    with ctx:
        handler = ctx.attach_diagnostic_handler(lambda d: True)  # reported below as one UnsupportedOpError
        try:
            _linalg_pipeline(bool(recurrent)).run(module.operation)
        except ir.MLIRError as e:  # name the aten op torch-mlir left behind, not the diagnostic's constant
            left = _aten_ops(module)
            if left:
                names, loc = next(iter(left.values()))
                raise UnsupportedOpError(unsupported_aten(names[0], loc, f"{LINALG_PIPELINE_NOTE} cannot lower it "
                                                          "to linalg"), layer=layer_name(loc) or None) from None
            raise UnsupportedOpError(_describe_lowering_failure(e)) from None
        finally:
            handler.detach()
    recurrent_to_fxp(module, recurrent)
    imported = ImportedModel(module, [tuple(x.shape[1:]) for x in example_inputs], traced_layer_names(module))
    imported.aten_ops = aten_ops
    return imported


def _export(model, example_inputs):
    """torch.export + torch-mlir's decompositions, recurrent modules kept whole and replaced
    (`recurrent_import`): the program to import and the RecurrentSpecs of its `fxflow::recurrent` calls."""
    import torch
    from torch_mlir.extras.fx_decomp_util import get_decomposition_table

    program = model if isinstance(model, torch.export.ExportedProgram) else \
        torch.export.export(model, tuple(example_inputs), strict=False)
    program = program.run_decompositions(keep_recurrent(get_decomposition_table()))
    _keep_sample_dim(program)
    return program, replace_recurrent(program)


_SQUEEZES = ("prims.squeeze.default", "aten.squeeze.dims", "aten.squeeze.dim", "aten.squeeze.default")


def _keep_sample_dim(program) -> None:
    """A squeeze never removes dim 0, the sample: traced with one sample, `x.squeeze()` of a [1, 3] result
    drops it (hls4ml's SqueezeModel), while for a batch of N it keeps [N, 3].  The squeeze keeps dim 0 and
    the shapes after it are propagated again (each sample's result is then [1, 3], predict's [N, 3])."""
    import torch
    from torch.fx.passes.fake_tensor_prop import FakeTensorProp

    graph = program.graph_module.graph
    changed = False
    for node in list(graph.nodes):
        if node.op != "call_function" or str(node.target) not in _SQUEEZES:
            continue
        shape = list(node.args[0].meta["val"].shape)
        if not shape or shape[0] != 1:
            continue
        if str(node.target) == "aten.squeeze.default":
            dims = [d for d, n in enumerate(shape) if n == 1]
        else:
            arg = node.args[1] if len(node.args) > 1 else []
            dims = [d % len(shape) for d in (arg if isinstance(arg, (list, tuple)) else [arg])]
        if 0 not in dims:
            continue
        rest = [d for d in dims if d != 0 and shape[d] == 1]
        changed = True
        if rest:
            with graph.inserting_before(node):
                new = graph.call_function(torch.ops.prims.squeeze.default, (node.args[0], rest))
            new.meta = dict(node.meta)
            node.replace_all_uses_with(new)
        else:
            node.replace_all_uses_with(node.args[0])
        graph.erase_node(node)
    if changed:
        graph.lint()
        program.graph_module.recompile()
        inputs = [n.meta["val"] for n in graph.nodes if n.op == "placeholder"]
        mode = torch._guards.detect_fake_mode(inputs)
        FakeTensorProp(program.graph_module, mode=mode).propagate_dont_convert_inputs(*inputs)
        from torch.fx.passes.shape_prop import _extract_tensor_metadata

        for n in graph.nodes:  # torch-mlir's importer reads the types from `tensor_meta`
            if isinstance(n.meta.get("val"), torch.Tensor) and "tensor_meta" in n.meta:
                n.meta["tensor_meta"] = _extract_tensor_metadata(n.meta["val"])


# what fx.export_and_import runs for OutputType.TORCH
TORCH_BACKEND = ("builtin.module(func.func(torch-match-quantized-custom-ops), "
                 "torchdynamo-export-to-torch-backend-pipeline{ extra-library=})")
TORCH_TO_LINALG = "builtin.module(torch-backend-to-linalg-on-tensors-backend-pipeline{allow-non-finites=true})"
CONTRACT = ",torch-verify-linalg-on-tensors-backend-contract"


def _linalg_pipeline(recurrent: bool):
    """TORCH_TO_LINALG; with recurrent calls (replaced by fxp.rnn right after) without its final check
    that only linalg-level ops remain.  The raising pass reports any op that is not fxp later."""
    pm = PassManager.parse(TORCH_TO_LINALG)
    if not recurrent:
        return pm
    text = str(pm)
    assert CONTRACT in text, f"torch-mlir's linalg pipeline no longer ends with {CONTRACT!r}: {text}"
    return PassManager.parse(text.replace(CONTRACT, ""))


# torch ops that only carry values for others (constants, lists): never the op to name
_CARRIERS = ("torch.constant.", "torch.prim.ListConstruct", "torch.prim.TupleConstruct", "torch.vtensor.literal",
             "torch.prim.Uninitialized")


def _aten_ops(module) -> dict:
    """{printed location: ([aten op names], location)} of the torch-dialect ops in `module`, in program order."""
    found: dict = {}

    def visit(op):
        name = op.name
        if name.startswith("torch.") and not name.startswith(_CARRIERS):
            found.setdefault(str(op.location), ([], op.location))[0].append(name[len("torch."):])
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return found


def source_line(loc) -> str:
    """'file:line' of the innermost source position in a location (torch.export's stack), or ''."""
    m = re.search(r'"([^"]+)":(\d+):\d+', str(loc))
    return f"{m.group(1)}:{m.group(2)}" if m else ""


def unsupported_aten(name: str, loc, detail: str) -> str:
    where = layer_name(loc) or "<top level>"
    line = source_line(loc)
    return f"unsupported operation '{name}' in module '{where}'{f' at {line}' if line else ''}: {detail}"


def explain_unsupported(err: UnsupportedOpError, imported) -> UnsupportedOpError:
    """A raising failure (linalg -> fxp) restated with the aten op its linalg op came from (same location)."""
    loc_text = getattr(err, "location", None)
    hit = getattr(imported, "aten_ops", {}).get(loc_text)
    if hit is None:
        return err
    names, loc = hit
    return UnsupportedOpError(unsupported_aten(names[-1], loc, f"fxflow cannot compile what torch-mlir lowers it to "
                                               f"({err})"), layer=err.layer)


def load_exported_program(path):
    """A program saved with `torch.export.save` and its example inputs (which give the shapes)."""
    import torch

    try:
        ep = torch.export.load(str(path))
    except FileNotFoundError:
        raise FxflowError(f"no such file: {path}") from None
    except Exception as e:  # torch raises many types for a corrupt archive
        raise FxflowError(f"'{path}' is not a program saved with torch.export.save: {_first_line(e)}") from None
    if ep.example_inputs is None:
        raise FxflowError(f"'{path}' carries no example inputs; save it from torch.export.export(model, args)")
    args, _ = ep.example_inputs
    return ep, tuple(args)


def _check_program_shapes(ep) -> None:
    """A saved program is specialised to the shapes it was exported with: the design needs one sample."""
    for spec in ep.graph_signature.input_specs:
        if spec.kind.name != "USER_INPUT":
            continue
        node = next((n for n in ep.graph.nodes if n.name == spec.arg.name), None)
        val = node.meta.get("val") if node is not None else None
        shape = tuple(val.shape) if val is not None and hasattr(val, "shape") else None
        if shape is None:
            continue
        if not all(isinstance(d, int) for d in shape) or shape[0] != 1:
            raise ShapeError(f"the saved program's input '{spec.arg.name}' has shape {shape}; fxflow builds the "
                             "design for one sample, so export it with a static batch of 1, e.g. "
                             "torch.export.export(model, (x[:1],))")


def _to_tensor(x):
    import torch

    if isinstance(x, torch.Tensor):
        return x.detach().to(torch.float32)
    return torch.as_tensor(np.asarray(x), dtype=torch.float32)


def traced_layer_names(module: ir.Module) -> list[str]:
    names: list[str] = []

    def visit(op):
        name = layer_name(op.location)
        if name and name not in names and (op.name.startswith("linalg.") or op.name == "fxp.rnn"):
            names.append(name)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return names


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _describe_lowering_failure(e: "ir.MLIRError") -> str:
    """torch-mlir failed to lower an op to linalg: name the op and the module it came from."""
    for d in getattr(e, "error_diagnostics", []):
        for note in [d, *d.notes]:
            msg = note.message
            if "failed to legalize operation" in msg or "unsupported" in msg.lower():
                where = layer_name(note.location) or str(note.location)
                return f"unsupported operation in module '{where}': {msg}"
    return f"the PyTorch program could not be lowered to linalg: {_first_line(e)}"
