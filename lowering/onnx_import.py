"""ONNX -> linalg on tensors, through torch-mlir's ONNX importer.

The model is loaded and checked with `onnx`, its batch dimension is fixed to 1 (the design is built for
one sample), every node gets a name (`<op_type>_<index>` when it has none) and the importer places each
op at a NameLoc carrying that node name; torch-mlir's pipeline then lowers the `onnx.*` ops to linalg,
which keeps those locations, so per-layer configuration and error messages use the ONNX node names.
"""

from __future__ import annotations

import numpy as np

import re
from pathlib import Path

from fxflow.errors import FxflowError, ShapeError, UnsupportedOpError
from fxflow.ir import PassManager, ir, layer_name, register_torch_dialect
from fxflow.lowering.onnx_nodes import evaluate_node, unsupported_message

ONNX_TO_LINALG = ("builtin.module(func.func(convert-torch-onnx-to-torch),torch-lower-to-backend-contract,"
                  "torch-backend-to-linalg-on-tensors-backend-pipeline)")


def _first_line(e: Exception) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else ""


def load_onnx(path_or_model):
    """An `onnx.ModelProto` from a path or a proto; any reading problem is an FxflowError naming the file."""
    import onnx

    if isinstance(path_or_model, onnx.ModelProto):
        _check_strings(path_or_model, "<ModelProto>")
        return path_or_model, "<ModelProto>"
    path = Path(path_or_model)
    if not path.is_file():
        raise FxflowError(f"cannot read ONNX model '{path}': no such file")
    try:
        model = onnx.load(str(path))
    except Exception as e:  # DecodeError for truncated/garbage files, OSError, external-data errors, ...
        raise FxflowError(f"cannot read ONNX model '{path}': {type(e).__name__}: {_first_line(e) or 'malformed'}") from None
    if not model.HasField("graph") or not model.graph.node:
        raise FxflowError(f"cannot read ONNX model '{path}': it holds no graph (empty, truncated or not ONNX)")
    _check_strings(model, str(path))
    return model, str(path)


def _check_strings(model, where: str) -> None:
    """protobuf hands out undecodable string fields as text with surrogates that fail when written back: a
    name that is not UTF-8 must fail here, not deep in the import."""
    g = model.graph
    names = [o.domain for o in model.opset_import] + [v.name for v in [*g.input, *g.output, *g.value_info,
                                                                        *g.initializer]]
    for n in g.node:
        names += [n.name, n.op_type, n.domain, *n.input, *n.output, *(a.name for a in n.attribute)]
    for text in names:
        try:
            if not isinstance(text, str):  # protobuf gives the raw bytes of a field it could not decode
                raise UnicodeError("not decodable")
            text.encode("utf-8")
        except UnicodeError:
            raise FxflowError(f"cannot read ONNX model '{where}': it holds a name that is not UTF-8 text "
                              f"({text!r:.60})") from None


def import_onnx(path_or_model, ctx: ir.Context):
    """Import an ONNX model (a path or an `onnx.ModelProto`) into `ctx` as linalg on tensors.

    Returns torch_import's `ImportedModel` (layer names are node names) with one more attribute,
    `node_types`: node name -> ONNX op type. torch_import (and so torch) is imported only here, so that
    loading this module (as `fxflow.passes.load_all` does) stays cheap."""
    import onnx

    from fxflow.lowering.torch_import import ImportedModel, traced_layer_names

    model, where = load_onnx(path_or_model)
    model = _copy(model)
    node_types = _name_nodes(model.graph)
    # --- QONNX / ONNX-QDQ quantizers -> standard ONNX + model weight formats (lowering/qonnx.py) ---
    from fxflow.lowering.qonnx import lower_quantizers

    thresholds: dict = {}  # float-scale quantizers (lowering/qdq.py): placeholder output -> thresholds
    model_formats = lower_quantizers(model, thresholds)
    # ---
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise UnsupportedOpError(unsupported_message(node.name, node.op_type, f"operators of domain "
                                                         f"'{node.domain}' are not supported (standard ONNX only)"))
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        raise FxflowError(f"invalid ONNX model '{where}': {_first_line(e)}") from None
    _check_window_attributes(model.graph)
    _fold_gemm_scales(model.graph)
    input_shapes = _fix_batch(model.graph, where)
    model = _fold_constant_subgraphs(model)
    try:
        model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except Exception as e:
        raise FxflowError(f"ONNX shape inference failed on '{where}': {_first_line(e)}") from None
    _check_static(model.graph, where)
    from fxflow.lowering.qdq import mark_placeholders

    ordered = mark_placeholders(model, thresholds) if thresholds else []
    module = _import(model, ctx, node_types, where, ordered)
    if model_formats:  # --- QONNX: the quantized weights keep the model's formats (fxp-assign-precision) ---
        from fxflow.lowering.fake_quant_to_fxp import MODEL_FORMATS_ATTR

        with ctx:
            for op in module.body.operations:
                if op.operation.name == "func.func":
                    op.attributes[MODEL_FORMATS_ATTR] = ir.DictAttr.get(
                        {k: ir.StringAttr.get(v) for k, v in model_formats.items()})
    imported = ImportedModel(module, input_shapes, traced_layer_names(module))
    imported.node_types = node_types
    return imported


FOLDABLE_LIMIT = 1 << 16  # elements: shape arithmetic and small parameter computations, not big tensors


def _fold_constant_subgraphs(model):
    """Evaluate nodes whose inputs are all known now (initializers, Constant nodes, `Shape` of a statically
    shaped value) and replace them by initializers, as onnx-simplifier does: PyTorch exports compute pads,
    reshape targets and parameter transforms this way, which shape inference alone cannot see through."""
    import onnx
    from onnx import numpy_helper

    graph = model.graph
    for _ in range(len(graph.node) + 1):
        try:
            inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
        except Exception:
            return model  # reported with its reason by the strict inference that follows
        shapes = {}
        for vi in list(inferred.graph.value_info) + list(inferred.graph.input):
            dims = vi.type.tensor_type.shape.dim
            if vi.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
                shapes[vi.name] = [d.dim_value for d in dims]
        known = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        folded = False
        for node in list(graph.node):
            if node.op_type == "Shape" and node.input[0] in shapes and len(node.attribute) == 0:
                values = [np.array(shapes[node.input[0]], dtype=np.int64)]
            elif node.op_type == "Constant" or (node.input and all(i == "" or i in known for i in node.input)):
                if any(i in known and known[i].size > FOLDABLE_LIMIT for i in node.input):
                    continue
                try:
                    values = evaluate_node(node, {i: known[i] for i in node.input if i}, model.opset_import)
                except Exception:
                    continue  # left to torch-mlir (an op the reference cannot run, e.g. random ones)
            else:
                continue
            for name, value in zip(node.output, values):
                graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
                known[name] = np.asarray(value)
            graph.node.remove(node)
            folded = True
        if not folded:
            return model
    return model


# integer attributes torch-mlir's ONNX conversion trusts (a negative group crashes it): name -> least value
_WINDOW_ATTRIBUTES = {"group": 1, "strides": 1, "dilations": 1, "kernel_shape": 1, "pads": 0}
_WINDOW_OPS = ("Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "ConvInteger", "QLinearConv")


def _check_window_attributes(graph) -> None:
    from onnx import helper

    for node in graph.node:
        if node.op_type not in _WINDOW_OPS:
            continue
        for a in node.attribute:
            least = _WINDOW_ATTRIBUTES.get(a.name)
            if least is None:
                continue
            value = helper.get_attribute_value(a)
            values = list(value) if isinstance(value, (list, tuple)) else [value]
            if not all(isinstance(v, int) and v >= least for v in values):
                raise UnsupportedOpError(unsupported_message(node.name, node.op_type, f"its attribute '{a.name}' is "
                                                             f"{value!r}; it must be integers >= {least}"),
                                         layer=node.name)


def _copy(model):
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(model)
    return out


def _name_nodes(graph) -> dict[str, str]:
    """Give every node a unique name (unnamed: `<op_type>_<index>`); returns name -> op type."""
    types: dict[str, str] = {}
    for i, node in enumerate(graph.node):
        name = node.name or f"{node.op_type}_{i}"
        if name in types:
            name = f"{name}_{i}"
        node.name = name
        types[name] = node.op_type
    return types


def _fold_gemm_scales(graph) -> None:
    """Gemm's alpha and beta multiply constant weights and biases into them (alpha*A@B + beta*C), so the
    layer lowers to a plain matmul + bias instead of extra elementwise multiplications."""
    from onnx import numpy_helper

    inits = {t.name: t for t in graph.initializer}
    taken = set(inits) | {v for n in graph.node for v in [*n.input, *n.output]}
    for i, node in enumerate(graph.node):
        if node.op_type != "Gemm" or node.domain not in ("", "ai.onnx"):
            continue
        attrs = {a.name: a for a in node.attribute}
        for attr_name, slot in (("alpha", 1), ("beta", 2)):
            a = attrs.get(attr_name)
            if a is None or a.f == 1.0 or len(node.input) <= slot or node.input[slot] not in inits:
                continue
            arr = numpy_helper.to_array(inits[node.input[slot]])
            name, k = f"{node.input[slot]}_{attr_name}_{i}", 0
            while name in taken:
                k += 1
                name = f"{node.input[slot]}_{attr_name}_{i}_{k}"
            taken.add(name)
            graph.initializer.append(numpy_helper.from_array((arr * a.f).astype(arr.dtype), name))
            node.input[slot] = name
            a.f = 1.0


def _real_inputs(graph):
    inits = {t.name for t in graph.initializer} | {t.name for t in graph.sparse_initializer}
    return [vi for vi in graph.input if vi.name not in inits]


def _type_name(elem_type) -> str:
    import onnx

    try:
        return onnx.TensorProto.DataType.Name(elem_type)
    except ValueError:
        return str(elem_type)


_FLOAT_TYPES = (1, 10, 11, 16)  # FLOAT, FLOAT16, DOUBLE, BFLOAT16


def _fix_batch(graph, where) -> list[tuple[int, ...]]:
    """Set the batch (first) dimension of every input to 1; every other dimension must be static."""
    shapes = []
    for vi in _real_inputs(graph):
        tt = vi.type.tensor_type
        if not vi.type.HasField("tensor_type") or not tt.HasField("shape"):
            raise ShapeError(f"ONNX input '{vi.name}' of '{where}' has no tensor shape")
        if tt.elem_type not in _FLOAT_TYPES:
            raise ShapeError(f"ONNX input '{vi.name}' of '{where}' has element type "
                             f"{_type_name(tt.elem_type)}; fxflow takes floating-point inputs")
        dims = tt.shape.dim
        if len(dims) < 2:
            raise ShapeError(f"ONNX input '{vi.name}' of '{where}' has rank {len(dims)}; fxflow needs a leading "
                             "batch dimension followed by the feature dimensions")
        for k, d in enumerate(dims[1:], start=1):
            if not d.HasField("dim_value") or d.dim_value <= 0:
                what = repr(d.dim_param) if d.HasField("dim_param") else "unknown"
                raise ShapeError(f"ONNX input '{vi.name}' of '{where}' has a dynamic dimension {k} ({what}); only "
                                 "the batch (first) dimension may be symbolic")
        dims[0].Clear()
        dims[0].dim_value = 1
        shapes.append(tuple(int(d.dim_value) for d in dims[1:]))
    # Shapes recorded for intermediate values and outputs may still carry the symbolic batch: re-infer them.
    del graph.value_info[:]
    for vi in graph.output:
        dims = vi.type.tensor_type.shape.dim
        if len(dims) and not dims[0].HasField("dim_value"):
            dims[0].Clear()
            dims[0].dim_value = 1
    return shapes


def _check_static(graph, where) -> None:
    for vi in list(graph.output) + list(graph.value_info):
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            raise ShapeError(f"the shape of ONNX value '{vi.name}' of '{where}' cannot be inferred")
        for d in tt.shape.dim:
            if not d.HasField("dim_value"):
                raise ShapeError(f"ONNX value '{vi.name}' of '{where}' has a dynamic shape that shape inference "
                                 "cannot resolve with batch 1")


def _import(model, ctx, node_types, where, thresholds=()) -> ir.Module:
    from torch_mlir.extras import onnx_importer

    from fxflow.lowering import qdq

    register_torch_dialect(ctx)
    try:
        info = onnx_importer.ModelInfo(model)
        module = info.create_module(context=ctx)
        onnx_importer.NodeImporter.define_function(info.main_graph, module.operation).import_all()
    except onnx_importer.OnnxImportError as e:
        raise UnsupportedOpError(f"torch-mlir cannot import '{where}': {_first_line(e)}") from None
    with ctx:
        if thresholds:  # calls hide the threshold placeholders from torch-mlir (replaced by fxp.threshold below)
            qdq.to_calls(module)
        try:
            _onnx_pipeline(bool(thresholds)).run(module.operation)
        except ir.MLIRError as e:
            raise UnsupportedOpError(_describe_failure(e, node_types, where)) from None
        if thresholds:
            qdq.to_fxp(module, thresholds)
    with ctx:
        _name_unnamed(module)
    return module


def _onnx_pipeline(calls: bool):
    """ONNX_TO_LINALG; with threshold placeholder calls (replaced right after) without its final contract check."""
    from fxflow.lowering.torch_import import without_contract

    return without_contract(ONNX_TO_LINALG) if calls else PassManager.parse(ONNX_TO_LINALG)


def _name_unnamed(module) -> None:
    """Ops the pipeline created without a node take a node name too, so every op is located at an ONNX node:
    ops inside a named op's region (linalg bodies) take their parent's name, shared values (zero constants,
    empty tensors) the name of their first named user."""
    skip = ("builtin.module", "func.func", "func.return")
    ops = []

    def visit(op):
        ops.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)

    def from_parent(op):
        parent = op.parent
        while parent is not None and parent.name not in skip:
            if layer_name(parent.location):
                return layer_name(parent.location)
            parent = parent.parent
        return None

    def from_users(op):
        for res in op.results:
            for use in res.uses:
                owner = use.owner if isinstance(use.owner, ir.Operation) else use.owner.operation
                name = layer_name(owner.location) or from_parent(owner)
                if name:
                    return name
        return None

    for op in reversed(ops):  # users come after their operands: names flow backwards
        if op.name in skip or layer_name(op.location):
            continue
        name = from_parent(op) or from_users(op)
        if name:
            op.location = ir.Location.name(name, childLoc=op.location)


def _describe_failure(e, node_types, where) -> str:
    for d in getattr(e, "error_diagnostics", []):
        for note in [d, *d.notes]:
            name = layer_name(note.location)
            if name in node_types:
                return unsupported_message(name, node_types[name], note.message)
        m = re.search(r"onnx\.(\w+)", d.message)
        if m:
            return f"torch-mlir cannot lower ONNX op type '{m.group(1)}' in '{where}': {d.message}"
    return f"torch-mlir could not lower '{where}' to linalg: {_first_line(e)}"


def explain_unsupported(err: UnsupportedOpError, imported) -> UnsupportedOpError:
    """A raising failure (linalg -> fxp) restated with the ONNX op type of the node it came from."""
    text, name = str(err), err.layer
    if name not in imported.node_types:
        return err
    return UnsupportedOpError(unsupported_message(name, imported.node_types[name], text), layer=name)


__all__ = ["import_onnx", "load_onnx", "explain_unsupported"]
