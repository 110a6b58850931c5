"""PyTorch -> linalg on tensors, through torch.export and torch-mlir's FX importer.

Every imported op is wrapped in a NameLoc carrying the PyTorch module path it came from (`fc1`,
`encoder.0`), so later passes can apply per-layer configuration and name layers in errors.
Parameters are imported as plain dense constants (not resource blobs) so their values stay readable
from the IR, also when the IR comes back from a file.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np

# The exporter's machinery is imported with this module (it is what compile needs), so that its
# multi-second import cost is paid at import time, not inside the first compile.
import torch  # noqa: F401
import torch._dynamo  # noqa: F401
import torch.export  # noqa: F401
from torch_mlir import fx  # noqa: F401
from torch_mlir.extras import fx_decomp_util, fx_importer  # noqa: F401

from fxflow.errors import FxflowError, ShapeError, UnsupportedOpError
from fxflow.ir import TRACER_PREFIX, PassManager, ir, layer_name, op_layer_names, register_torch_dialect
from fxflow.lowering.quantizer_import import quantize_to_calls, quantize_to_fxp, replace_quantizers
from fxflow.lowering.recurrent_import import keep_recurrent, recurrent_to_calls, recurrent_to_fxp, replace_recurrent

LINALG_PIPELINE_NOTE = "torch-mlir's torch-backend-to-linalg-on-tensors-backend-pipeline"


@dataclass
class ImportedModel:
    module: ir.Module
    input_shapes: list[tuple[int, ...]]  # per input, without the batch dimension
    layer_names: list[str]  # module paths in execution order (leaf modules that produced ops)
    # every layer of the exported program, also those lowering removes (a squeeze folded into its dense)
    source_layers: set[str] = field(default_factory=set)


def _hooks_and_cache():
    import torch
    from torch_mlir.extras.fx_importer import ContextCache, FxImporterHooks

    class NamedLocCache(ContextCache):
        """Locations that name the PyTorch module path (the innermost `nn_module_stack` entry)."""

        def get_node_location(self, node):
            inner = super().get_node_location(node) or ir.Location.unknown()
            stack = node.meta.get("nn_module_stack")
            path = list(stack.values())[-1][0] if stack else ""
            alias = None if path else _tracer_name(node)
            if alias and alias != node.name:
                inner = ir.Location.name(TRACER_PREFIX + alias, childLoc=inner)
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


def _tracer_name(node) -> str | None:
    """The name torch.fx's tracer gives the functional call `node` came from: export records the call as
    `torch_fn = ("<function>_<k>", ...)` for its k-th call (k from 1); torch.fx names calls `<function>`,
    `<function>_1`, ...  (hls4ml's dicts use these names.)"""
    fn = (node.meta.get("torch_fn") or (None,))[0]
    match = re.fullmatch(r"(.+)_(\d+)", fn or "")
    if not match:
        return None
    k = int(match.group(2))
    return match.group(1) if k <= 1 else f"{match.group(1)}_{k - 1}"


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
    # per-element quantizer modules (HGQ, PQuantML): read from the modules, calls of fxflow::quantize until fxp
    model, quantizers = replace_quantizers(model) if isinstance(model, torch.nn.Module) else (model, [])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program, recurrent = _export(model, example_inputs)
            opaque = bool(recurrent) or bool(quantizers)
            with ctx:
                module = fx.export_and_import(program, output_type=OutputType.RAW if opaque else OutputType.TORCH,
                                              fx_importer=importer, decomposition_table={})
                if opaque:  # calls hide the custom ops from torch-mlir's backend contract
                    recurrent_to_calls(module, recurrent)
                    quantize_to_calls(module)
                    PassManager.parse(TORCH_BACKEND).run(module.operation)
    except ir.MLIRError as e:
        raise UnsupportedOpError(_describe_lowering_failure(e)) from None
    except FxflowError:
        raise
    except Exception as e:  # torch.export raises many types (Unsupported, AssertionError, UserError, ...)
        raise FxflowError(f"torch.export could not trace the model: {type(e).__name__}: {_first_line(e)}") from None
    aten_ops, source_layers = _aten_ops(module), op_layer_names(module)
    with ctx:
        handler = ctx.attach_diagnostic_handler(lambda d: True)  # reported below as one UnsupportedOpError
        try:
            _linalg_pipeline(opaque).run(module.operation)
            module.operation.verify()  # once, after the pipeline (see _linalg_pipeline)
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
    quantize_to_fxp(module, quantizers)
    imported = ImportedModel(module, [tuple(x.shape[1:]) for x in example_inputs], traced_layer_names(module),
                             source_layers)
    imported.aten_ops = aten_ops
    return imported


def _export(model, example_inputs):
    """torch.export + torch-mlir's decompositions, recurrent modules kept whole and replaced
    (`recurrent_import`): the program to import and the RecurrentSpecs of its `fxflow::recurrent` calls."""
    import torch
    from torch.fx._lazy_graph_module import _use_lazy_graph_module
    from torch_mlir.extras.fx_decomp_util import get_decomposition_table

    table = keep_recurrent(get_decomposition_table())
    # torch.export's tracer and passes regenerate the Python code of its intermediate graph modules after each
    # step (about a sixth of the export of a deep model); lazy graph modules generate it only when called
    with _use_lazy_graph_module(True):
        if isinstance(model, torch.export.ExportedProgram):
            program = model.run_decompositions(table)
        else:
            program = torch.export.export(model, tuple(example_inputs), strict=False)
            program = decompose_by_signature(program, table) or program.run_decompositions(table)
    _keep_sample_dim(program)
    return program, replace_recurrent(program)


SIGNATURE_REUSE = 20  # nodes per distinct signature from which decompose_by_signature pays off


class _Whole(Exception):
    """A graph decompose_by_signature leaves to run_decompositions."""


def decompose_by_signature(program, table):
    """`program.run_decompositions(table)` in place, tracing each distinct node signature once, or None.

    run_decompositions re-traces the whole graph through AOT autograd (about 10 ms per node: 15 s for a
    1,000-layer chain).  A graph of functional single-output ATen ops decomposes node by node: every node with
    the same op, tensor shapes/dtypes/strides and constant arguments decomposes into the same subgraph, so
    each signature is exported and decomposed once on its own (a one-op program) and its nodes are replayed
    in program order into a new graph, named as run_decompositions names them and with the source node's
    module path and stack trace (the imported IR is identical, locations included).  Graphs with few
    repeats (fewer than SIGNATURE_REUSE nodes per signature) and anything else (mutations, multiple results,
    constants inside a decomposition, recurrent modules) return None: the caller runs the whole-graph
    decomposition."""
    import torch
    from torch.fx import Graph

    graph = program.graph_module.graph
    for n in graph.nodes:
        if n.op in ("call_module", "call_method", "get_attr"):
            return None
        if n.op == "call_function":
            t = n.target
            if not isinstance(t, torch._ops.OpOverload) or t._schema.is_mutable or len(t._schema.returns) != 1 \
                    or not isinstance(n.meta.get("val"), torch.Tensor):
                return None
    try:
        keys = {n: (n.target, _signature(n.args), _signature(dict(n.kwargs))) for n in graph.nodes
                if n.op == "call_function"}
    except _Whole:
        return None
    if len(keys) < SIGNATURE_REUSE * len(set(keys.values())):  # one-op exports cost ~15 nodes' re-tracing
        return None
    new, env, traced = Graph(), {}, {}
    try:
        for n in graph.nodes:
            if n.op == "placeholder":
                env[n] = new.create_node("placeholder", n.target, name=n.name)
                env[n].name = n.name  # also a name fx would otherwise suffix (`input`): as run_decompositions keeps it
                env[n].meta = dict(n.meta)
            elif n.op == "output":
                outs = torch.fx.node.map_arg(n.args[0], lambda a: env[a])
                new.output(outs)
            else:
                key = keys[n]
                if key not in traced:
                    traced[key] = _decompose_one(n, table)
                env[n] = _replay(traced[key], n, new, env)
    except _Whole:
        return None
    out_names = [a.name for a in new.output_node().args[0]] if isinstance(new.output_node().args[0], (tuple, list)) \
        else None
    specs = program.graph_signature.output_specs
    if out_names is None or len(out_names) != len(specs) or any(not hasattr(s.arg, "name") for s in specs):
        return None
    for spec, name in zip(specs, out_names):
        spec.arg.name = name
    program.graph_module.graph = new  # (the setter recompiles the module's code)
    return program


def _signature(a):
    """What a node's decomposition depends on: tensor metadata and constant arguments (hashable)."""
    import torch
    from torch.fx import Node

    if isinstance(a, Node):
        v = a.meta.get("val")
        if not isinstance(v, torch.Tensor):
            raise _Whole
        return ("tensor", tuple(v.shape), v.dtype, tuple(v.stride()))
    if isinstance(a, (list, tuple)):
        return (type(a).__name__, tuple(_signature(x) for x in a))
    if isinstance(a, dict):
        return tuple((k, _signature(v)) for k, v in sorted(a.items()))
    if a is None or isinstance(a, (bool, int, float, str, torch.dtype, torch.device, torch.memory_format,
                                   torch.layout)):
        return (type(a).__name__, a)
    raise _Whole


def _decompose_one(node, table):
    """The decomposed graph of `node` alone: a one-op program over its tensor arguments, run_decompositions."""
    import torch
    from torch.fx import Node

    tensors = [a for a in _leaves((node.args, dict(node.kwargs))) if isinstance(a, Node)]
    slot = {a: i for i, a in enumerate(tensors)}
    target, args, kwargs = node.target, node.args, dict(node.kwargs)

    class One(torch.nn.Module):
        def forward(self, *xs):
            put = lambda a: xs[slot[a]]  # noqa: E731
            return target(*torch.fx.node.map_arg(args, put), **torch.fx.node.map_arg(kwargs, put))

    examples = tuple(torch.empty_strided(tuple(a.meta["val"].shape), tuple(a.meta["val"].stride()),
                                         dtype=a.meta["val"].dtype) for a in tensors)
    one = torch.export.export(One(), examples, strict=False).run_decompositions(table)
    specs = one.graph_signature
    if any(s.kind != torch.export.graph_signature.InputKind.USER_INPUT for s in specs.input_specs) or \
            len(specs.output_specs) != 1:
        raise _Whole
    return one.graph, tensors


def _leaves(a):
    if isinstance(a, (list, tuple)):
        return [y for x in a for y in _leaves(x)]
    if isinstance(a, dict):
        return [y for x in a.values() for y in _leaves(x)]
    return [a]


def _replay(traced, node, new, env):
    """Copy the decomposed graph of one signature into `new` for `node`; returns the node of its result."""
    import torch

    graph, tensors = traced
    local = dict(zip([t for t in graph.nodes if t.op == "placeholder"], [env[a] for a in _leaves(
        (node.args, dict(node.kwargs))) if isinstance(a, torch.fx.Node)]))
    result = None
    for t in graph.nodes:
        if t.op == "call_function":
            m = new.create_node("call_function", t.target, torch.fx.node.map_arg(t.args, lambda a: local[a]),
                                torch.fx.node.map_arg(t.kwargs, lambda a: local[a]), name=re.sub(r"_\d+$", "", t.name))
            m.meta = {k: t.meta[k] for k in ("val", "tensor_meta") if k in t.meta}
            m.meta.update({k: node.meta[k] for k in ("stack_trace", "nn_module_stack", "torch_fn", "source_fn_stack")
                           if k in node.meta})
            local[t] = m
        elif t.op == "output":
            out = t.args[0]
            result = local[out[0] if isinstance(out, (tuple, list)) else out]
    return result


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
    that only linalg-level ops remain.  The raising pass reports any op that is not fxp later.
    The caller verifies the result once: the PassManager's verifier after each of the pipeline's dozens of
    passes took 60% of its time on deep models."""
    pm = without_contract(TORCH_TO_LINALG) if recurrent else PassManager.parse(TORCH_TO_LINALG)
    pm.enable_verifier(False)
    return pm


def without_contract(pipeline: str):
    """`pipeline` (expanded) without torch-mlir's final linalg backend-contract check: for modules that still
    hold calls of private functions fxflow replaces by fxp ops right after (recurrent layers, thresholds)."""
    text = str(PassManager.parse(pipeline))
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
    names: dict[str, None] = {}  # (ordered; a list's `in` made this quadratic in the number of layers)

    def visit(op):
        op_name = op.name
        if op_name.startswith("linalg.") or op_name == "fxp.rnn":
            name = layer_name(op.location)
            if name:
                names.setdefault(name)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return list(names)


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
