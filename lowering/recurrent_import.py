"""nn.LSTM / nn.GRU / nn.RNN at import: one `fxp.rnn` per recurrent module instead of hundreds of unrolled ops.

`aten.lstm` / `aten.gru` are CompositeImplicit: left to the decomposition table they arrive unrolled into
per-step mm/sigmoid/tanh/slices.  `import_torch` keeps them (table without them), and `replace_recurrent`
rewrites the exported graph: each use of the module's outputs becomes a call of the opaque custom op
`fxflow::recurrent(x, index, sequences)` (sample-first input; `sequences` picks the whole output sequence
[1, T, H] or the last state [1, H] of the last layer).  The module's weights and options are kept in a
`RecurrentSpec` on the Python side.  torch-mlir imports the custom op as `torch.operator`; `to_calls` turns
it into a call of a private function (which survives the linalg pipeline), and `to_fxp` finally replaces
each call with an `fxp.rnn` whose weights are `fxp.constant`s — all inside `import_torch`, so every IR
snapshot from "linalg" on is self-contained.

Supported: unidirectional, any number of layers, batch_first either way, biases or not, zero initial
states or (one layer) initial states given as tensors (h0, and c0 for an LSTM: fxp.rnn's `states`); the output sequence, `y[:, -1]`, `h_n[-1]` and (one layer) `h_n`.  Everything else is an
`UnsupportedOpError` naming the module and the variant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from fxflow.errors import UnsupportedOpError

CELLS = {"aten.lstm.input": "lstm", "aten.gru.input": "gru", "aten.rnn_tanh.input": "rnn_tanh",
         "aten.rnn_relu.input": "rnn_relu"}
MODULES = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN", "rnn_relu": "RNN"}  # for messages
RECURRENT_OP = "fxflow::recurrent"  # the name torch-mlir gives the custom op's torch.operator


@torch.library.custom_op("fxflow::recurrent", mutates_args=())
def recurrent(x: torch.Tensor, index: int, hidden: int, sequences: bool, h0: torch.Tensor | None = None,
              c0: torch.Tensor | None = None) -> torch.Tensor:
    """Placeholder for a recurrent module (never executed: only imported); h0, c0: [B, H] initial states."""
    shape = (x.shape[0], x.shape[1], hidden) if sequences else (x.shape[0], hidden)
    return x.new_zeros(shape)


@recurrent.register_fake
def _recurrent_fake(x, index, hidden, sequences, h0=None, c0=None):
    shape = (x.shape[0], x.shape[1], hidden) if sequences else (x.shape[0], hidden)
    return x.new_empty(shape)


@dataclass
class RecurrentSpec:
    """One recurrent module: PyTorch's gate order (LSTM i, f, g, o; GRU r, z, n), weights per layer."""

    cell: str  # "lstm" | "gru" | "rnn_tanh" | "rnn_relu" (nn.RNN)
    layer: str  # module path
    hidden: int
    w_ih: list[np.ndarray] = field(default_factory=list)  # per layer [G*H, F_l]
    w_hh: list[np.ndarray] = field(default_factory=list)  # per layer [G*H, H]
    b_ih: list[np.ndarray] = field(default_factory=list)  # per layer [G*H]
    b_hh: list[np.ndarray] = field(default_factory=list)
    batch_first: bool = True
    layers: int = 1
    states: list = field(default_factory=list)  # the FX nodes of the initial states [1, B, H] given as inputs


PACKED = {"aten.lstm.data": "lstm", "aten.gru.data": "gru"}  # PackedSequence inputs: likewise


def keep_recurrent(table: dict) -> dict:
    """The decomposition table without the recurrent modules (so that they stay one node each)."""
    kept = set(CELLS) | set(PACKED)
    return {k: v for k, v in table.items() if str(k) not in kept}


def _module_path(node) -> str:
    stack = node.meta.get("nn_module_stack")
    return list(stack.values())[-1][0] if stack else node.name


def _unsupported(path: str, cell: str, what: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"unsupported recurrent layer in module '{path}' (nn.{MODULES.get(cell, cell)}): {what}",
                              layer=path)


def replace_recurrent(ep) -> list[RecurrentSpec]:
    """Rewrite every aten.lstm/aten.gru node of the ExportedProgram `ep` in place (see module doc)."""
    graph = ep.graph
    sig = ep.graph_signature
    params = {**sig.inputs_to_parameters, **sig.inputs_to_buffers,
              **getattr(sig, "inputs_to_lifted_tensor_constants", {})}
    values = {**ep.state_dict, **getattr(ep, "constants", {})}
    specs: list[RecurrentSpec] = []
    for node in list(graph.nodes):
        if node.op == "call_function" and str(node.target) in PACKED:
            raise _unsupported(_module_path(node), PACKED[str(node.target)], "PackedSequence inputs (pass a tensor)")
        cell = CELLS.get(str(node.target)) if node.op == "call_function" else None
        if cell is None:
            continue
        spec = _spec(node, cell, params, values)
        index = len(specs)
        specs.append(spec)
        _rewire(graph, node, spec, index)
    if specs:
        ep.graph_module.recompile()
    return specs


def _spec(node, cell: str, params: dict, values: dict) -> RecurrentSpec:
    path = _module_path(node)
    x, hx, weights, has_biases, layers, dropout, train, bidirectional, batch_first = node.args[:9]
    if bidirectional:
        raise _unsupported(path, cell, "bidirectional=True (only unidirectional recurrences)")
    if train and dropout:
        raise _unsupported(path, cell, "dropout between layers in training mode (call model.eval())")
    hx = hx if isinstance(hx, (list, tuple)) else [hx]
    given = [h for h in hx if not _is_zeros(h)]
    if given and len(given) != len(hx):
        raise _unsupported(path, cell, "h0 given with a zero c0 or the reverse (give both initial states or neither)")
    if given and layers != 1:
        raise _unsupported(path, cell, "initial states given as inputs to a module of several layers "
                                       "(one layer only)")
    per_layer = 4 if has_biases else 2
    if len(weights) != per_layer * layers:
        raise _unsupported(path, cell, "proj_size > 0 (projected LSTM states)")
    arrays = []
    for w in weights:
        name = params.get(w.name) if hasattr(w, "name") else None
        if name is None or name not in values:
            raise _unsupported(path, cell, f"weight '{w}' is not a parameter of the module")
        arrays.append(values[name].detach().to(torch.float64).cpu().numpy())
    hidden = arrays[1].shape[1]
    spec = RecurrentSpec(cell, path, hidden, batch_first=bool(batch_first), layers=int(layers), states=given)
    for l in range(layers):
        w = arrays[l * per_layer:(l + 1) * per_layer]
        spec.w_ih.append(w[0])
        spec.w_hh.append(w[1])
        zeros = np.zeros(w[0].shape[0])
        spec.b_ih.append(w[2] if has_biases else zeros)
        spec.b_hh.append(w[3] if has_biases else zeros)
    return spec


def _rewire(graph, node, spec: RecurrentSpec, index: int) -> None:
    """Replace the uses of the module's outputs (getitem 0 / 1 / 2) by `fxflow::recurrent` calls."""
    path, cell = spec.layer, spec.cell
    x = node.args[0]
    time_dim = 1 if spec.batch_first else 0
    made: dict = {}

    def call(sequences: bool):
        if sequences not in made:
            with graph.inserting_before(node):  # depends on x only: valid for every use
                inp = x
                if not spec.batch_first:
                    inp = _add(graph, torch.ops.aten.permute.default, (x, [1, 0, 2]), node)
                states = [_add(graph, torch.ops.aten.select.int, (h, 0, 0), node) for h in spec.states]  # [B, H]
                out = _add(graph, torch.ops.fxflow.recurrent.default, (inp, index, spec.hidden, sequences, *states),
                           node)
                if sequences and not spec.batch_first:
                    out = _add(graph, torch.ops.aten.permute.default, (out, [1, 0, 2]), node)
            made[sequences] = out
        return made[sequences]

    for item in list(node.users):
        if not (item.op == "call_function" and "getitem" in str(item.target)):
            raise _unsupported(path, cell, f"output used as '{item.target}'")
        which = item.args[1]
        for use in list(item.users):
            if which == 2:
                raise _unsupported(path, cell, "the cell state c_n as an output (use the output sequence or h_n)")
            last = (which == 0 and _is_select(use, time_dim, -1)) or \
                   (which == 1 and _is_select(use, 0, -1)) or \
                   (which == 1 and spec.layers == 1 and _is_select(use, 0, 0))
            if last:
                use.replace_all_uses_with(call(False))
            elif which == 0:
                use.replace_input_with(item, call(True))
            elif spec.layers == 1:  # h_n = [1, B, H]: the last state with a leading layer dim
                with graph.inserting_before(use):
                    h = _add(graph, torch.ops.aten.unsqueeze.default, (call(False), 0), node)
                use.replace_input_with(item, h)
            else:
                raise _unsupported(path, cell, "h_n of inner layers as an output (use h_n[-1] or the sequence)")
    for item in list(node.users):
        for use in list(item.users):
            if not use.users and use.op == "call_function":
                graph.erase_node(use)  # a select whose uses were moved to the `last` call
        graph.erase_node(item)
    graph.erase_node(node)


def _is_zeros(node) -> bool:
    """A tensor the program fills with zeros (PyTorch's default initial state: zeros, or full_like(., 0))."""
    if getattr(node, "op", None) != "call_function":
        return False
    target = str(node.target)
    return target.startswith("aten.zeros") or (target.startswith(("aten.full", "aten.fill"))
                                               and len(node.args) > 1 and node.args[1] == 0)


def _is_select(node, dim: int, index: int) -> bool:
    return (node.op == "call_function" and str(node.target) == "aten.select.int"
            and node.args[1] == dim and node.args[2] == index)


def _add(graph, target, args, like):
    """A new node target(*args) with `like`'s module path and source line, and its fake value."""
    new = graph.call_function(target, args)
    new.meta.update({k: v for k, v in like.meta.items() if k in ("nn_module_stack", "stack_trace")})
    new.meta["val"] = target(*[a.meta["val"] if hasattr(a, "meta") else a for a in args])
    return new



CALLEE = "__fxflow_recurrent_{index}_{mode}"


def recurrent_to_calls(module, specs) -> None:
    """torch.operator "fxflow.recurrent"(x, index, hidden, sequences) -> func.call @__fxflow_recurrent_<index>_<0|1>(x)
    of a private declaration: torch-mlir's pipelines convert calls like any function boundary."""
    from fxflow.ir import func, ir

    found = []

    def visit(op):
        if op.name == "torch.operator" and "fxflow.recurrent" in str(op.attributes["name"]):
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    declared = set()
    for op in found:
        index, sequences = (_torch_constant(op.operands[i]) for i in (1, 3))
        name = CALLEE.format(index=index, mode=int(bool(sequences)))
        x, result = op.operands[0], op.results[0]
        args = [x] + [v for v in list(op.operands)[4:] if v.owner.name != "torch.constant.none"]  # + states
        with op.context, op.location:
            if name not in declared:
                declared.add(name)
                with ir.InsertionPoint.at_block_begin(module.body):
                    fn = func.FuncOp(name, ir.FunctionType.get([a.type for a in args], [result.type]),
                                     visibility="private")
            with ir.InsertionPoint(op):
                call = func.CallOp([result.type], ir.FlatSymbolRefAttr.get(name), args)
        result.replace_all_uses_with(call.result)
        op.erase()


def _torch_constant(value):
    """The Python value of a torch.constant.int / torch.constant.bool operand."""
    owner = value.owner
    attr = owner.attributes["value"]
    return attr.value if hasattr(attr, "value") else int(str(attr).split(":")[0])


def recurrent_to_fxp(module, specs) -> None:
    """Each call @__fxflow_recurrent_<index>_<mode>(x) -> a chain of fxp.rnn (one per layer, the inner
    layers returning their sequences, shared when a module's sequence and last state are both read) at the
    call's location; the declarations are removed."""
    from fxflow.ir import ir

    decls = [op for op in module.body.operations if op.operation.name == "func.func"
             and ir.StringAttr(op.attributes["sym_name"]).value.startswith("__fxflow_recurrent_")]
    calls = []

    def visit(o):
        if o.name == "func.call" and str(o.attributes["callee"]).startswith("@__fxflow_recurrent_"):
            calls.append(o)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    inner: dict = {}  # module index -> the sequence its inner layers produce (shared by both results)
    for call in calls:  # in block order: the first call of a module dominates the others
        index, mode = (int(v) for v in str(call.attributes["callee"]).rsplit("_", 2)[-2:])
        spec = specs[index]
        with call.context, call.location, ir.InsertionPoint(call):
            if index not in inner:
                y = call.operands[0]
                for layer in range(spec.layers - 1):
                    y = _rnn_layer(spec, layer, y, True)
                inner[index] = y
            y = _rnn_layer(spec, spec.layers - 1, inner[index], bool(mode), list(call.operands)[1:])
        call.results[0].replace_all_uses_with(y)
        call.erase()
    for d in decls:
        d.operation.erase()


def _rnn_layer(spec: RecurrentSpec, layer: int, x, sequences: bool, states=()):
    from fxflow.dialects.fxp import ConstantOp, RnnOp
    from fxflow.ir import i64_attr, ir, str_attr

    elem = ir.RankedTensorType(x.type).element_type
    steps = ir.RankedTensorType(x.type).shape[1]

    def const(arr):
        arr = np.ascontiguousarray(arr, dtype=np.float32 if str(elem) == "f32" else np.float64)
        return ConstantOp(ir.DenseElementsAttr.get(arr, type=elem), ir.RankedTensorType.get(list(arr.shape), elem)).output

    ws = [const(a[layer]) for a in (spec.w_ih, spec.w_hh, spec.b_ih, spec.b_hh)]
    shape = [1, steps, spec.hidden] if sequences else [1, spec.hidden]
    return RnnOp(x, *ws, ir.RankedTensorType.get(shape, elem), str_attr(spec.cell), i64_attr(int(sequences)),
                 states=list(states)).output
