"""Where hls4ml 1.3 does not compute a PyTorch model's function because of its channels-last conversion.

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
"""

from __future__ import annotations

import warnings

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
        layer = layer_alias(op.location) or layer_name(op.location) or op.name
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
