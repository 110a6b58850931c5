"""Where hls4ml 1.3 does not compute a PyTorch model's function because of how it lays data out: its channels-last
conversion (`warn_channels_last_defects`) and its io_stream flatten (`warn_stream_flatten`).

With `ChannelsLastConversion: 'full'` (what `config_from_pytorch_model` returns) hls4ml puts a transpose behind
every graph input of two or more dims per sample and splices it into ONE consumer: the first layer that reads
the input as its first operand (its `ModelGraph.insert_node`).  Two multi-input patterns then compute another
function, measured against hls4ml 1.3 on its own test models (docs/layers.md, note [c]):
  * a merge (add, sub, mul, minimum, maximum) reading such an input as its second operand: the transpose
    replaces only a first operand, so the merge reads the input's channels-first data as if channels-last;
  * an einsum reading such an input as its first operand: the einsum receives the transposed data but reads
    it in PyTorch's order (its own transposes follow the equation, not the data format).  (PyTorch's matmul
    reaches hls4ml only as an einsum.)
fxflow computes the model; given hls4ml's dict it warns, naming the layer and what hls4ml computes instead.
Only the direct forms (the graph input is the op's operand) are recognised, where the pattern is certain.

With io_type io_stream, hls4ml's flatten (a reshape to one dim per sample that is not a model output) is an alias of
its input stream (its InplaceStreamFlatten pass): a stream of words of the input's last dim (PyTorch's order,
after the transpose back that the conversion puts before a flatten).  A Dense gathers its input from such words;
any other layer reading the flatten (docs/layers.md note [a]: a ReLU) reads ONE word as its single word of all
the flattened values, so everything past the first word is read beyond it.
"""

from __future__ import annotations

import warnings

from .hls4ml_compat import hls4ml_name
from .ir import ir, layer_alias, layer_name

_MERGES = ("fxp.add", "fxp.sub", "fxp.mul", "fxp.minmax")


def warn_channels_last_defects(module: ir.Module, cfg, input_names: list[str] | None = None) -> None:
    """Warn about every layer of `module` (fxp ops, before precision assignment) whose function hls4ml 1.3 does
    not compute under `cfg`'s ChannelsLastConversion (module doc); `input_names` name the graph inputs."""
    if cfg.arithmetic != "hls4ml" or cfg.hls4ml_channels_last != "full":
        return
    for func in module.body.operations:
        for block in (b for region in func.regions for b in region.blocks):
            for index, arg in enumerate(block.arguments):
                shape = list(arg.type.shape) if isinstance(arg.type, ir.RankedTensorType) else []
                if len(shape) >= 3:  # the batch and two or more dims per sample
                    name = input_names[index] if input_names and index < len(input_names) else f"#{index}"
                    _check_input(block, arg, f"input '{name}' {shape[1:]}")


def _check_input(block, arg, what: str) -> None:
    uses = [(op, i) for op in block.operations for i, v in enumerate(op.operands) if v == arg]
    spliced = next((op for op, i in uses if i == 0), None)  # the consumer hls4ml's transpose feeds
    for op, i in uses:
        layer = _layer(op)
        if op.name in _MERGES and i > 0:  # (even when spliced: the transpose replaces operand 0 only)
            instead = (f"it reads {what}, its second operand, channels-first as if channels-last (the transpose "
                       "hls4ml adds for an input feeds only a first operand)")
        elif op.name == "fxp.matmul" and layer.startswith("einsum") and i == 0 \
                and op.operation == spliced.operation:
            instead = f"it transposes {what} to channels-last and its einsum reads that data in PyTorch's order"
        else:
            continue
        warnings.warn(f"layer '{layer}': hls4ml 1.3 (ChannelsLastConversion 'full') does not compute the model's "
                      f"function: {instead}; fxflow computes the model", stacklevel=4)


def warn_stream_flatten(module: ir.Module, cfg, io_type: str) -> None:
    """Warn about every layer of `module` (fxp ops, before precision assignment) reading a flatten that hls4ml 1.3's
    io_stream aliases (module doc) when it is not a dense."""
    if cfg.arithmetic != "hls4ml" or io_type != "io_stream":
        return
    for func in module.body.operations:
        for block in (b for region in func.regions for b in region.blocks):
            for op in block.operations:
                if op.name == "fxp.reshape" and _aliased_flatten(op):
                    _check_flatten(op)


def _aliased_flatten(op) -> bool:
    """A reshape of two or more dims per sample to one, not a model output, whose input's last dim is not all."""
    shape_in, shape_out = (list(ir.RankedTensorType(v.type).shape) for v in (op.operands[0], op.results[0]))
    returned = any(use.owner.name == "func.return" for use in op.results[0].uses)
    return len(shape_in) >= 3 and len(shape_out) == 2 and shape_in[-1] < shape_out[1] and not returned


def _check_flatten(flatten) -> None:
    shape_in = list(ir.RankedTensorType(flatten.operands[0].type).shape)[1:]
    word, n = shape_in[-1], ir.RankedTensorType(flatten.results[0].type).shape[1]
    for use in flatten.results[0].uses:
        reader = use.owner
        if reader.name == "fxp.dense":
            continue
        warnings.warn(f"layer '{_layer(reader)}': hls4ml 1.3 (io_stream) does not compute the model's function: its "
                      f"flatten '{_layer(flatten)}' is an alias of its input stream of {word}-value words (the last dim "
                      f"of {shape_in}), and this layer reads ONE such word as its single word of {n} values (the "
                      f"values past the first {word} are read beyond the word); fxflow computes the model (hls4ml's "
                      "io_parallel computes it too)", stacklevel=4)


def _layer(op) -> str:
    """The layer's name in hls4ml's dict: torch.fx's name of a functional call, else hls4ml's spelling of the
    module path, else the op's name."""
    alias, name = layer_alias(op.location), layer_name(op.location)
    return alias or (hls4ml_name(name) if name else op.name)
