"""The error for a layer the AI Engines cannot host: its layer name, its fxp ops, the user's source line and the
reason, so the first op a model cannot place on the AIE says what and where (issue 21: "errors naming the layer and
the limit").  One rule for the AIE backend's row path, its feature-map path and the Versal planner's PL fallback
reason."""

from __future__ import annotations

from fxflow.errors import UnsupportedOpError
from fxflow.ir import ir, user_source

# Why the AI Engines cannot host an op, by fxp op (what the user reads first; fxp.matmul, fxp.pool and fxp.conv
# depend on their operands: `unhosted`).
_NOT_YET = "not supported on the AI Engines yet"
_REASONS = {
    "fxp.gather": "a gather runs on the AI Engines only as the addressing of the attention kernels reading it (dense, "
                  "matmul, scale_shift), when one affine (offset, size, stride) access expresses it",
    "fxp.transpose": "a transpose runs on the AI Engines only as the addressing of the attention kernels reading it",
    "fxp.reshape": "a reshape runs on the AI Engines only as the addressing of the attention kernels reading it",
    "fxp.add": "an add of two [batch, features] or [batch, tokens, features] tensors (a residual) is not supported on "
               "the AI Engines outside an attention DAG: the dense chain has no two-input kernel (adds run on [batch, "
               "channels, height, width] feature maps and as residuals in attention DAGs)",
}


def unhosted(kernel, reason: str | None = None) -> UnsupportedOpError:
    """The error for a kernel the AI Engines cannot host: its layer, ops, source line and the reason (by default
    the row path's reason for its op kind)."""
    layer = ir.StringAttr(kernel.attributes["layer"]).value
    ops = [o.operation for o in kernel.regions[0].blocks[0].operations
           if o.operation.name not in ("fxp.constant", "df.yield")]
    names = [o.name for o in ops]
    line = user_source(kernel.location)
    where = f"layer '{layer}' ({', '.join(names) or 'nothing'}){f' at {line}' if line else ''}"
    if reason is not None:
        return UnsupportedOpError(f"{where}: {reason}", layer)
    reason = next((_REASONS[n] for n in names if n in _REASONS), None)
    for o in ops:
        shape = ir.RankedTensorType(o.operands[0].type).shape
        if o.name == "fxp.matmul" and any(_is_constant(v) for v in o.operands[:2]):
            reason = f"a matmul with a constant operand is {_NOT_YET} (a Linear's fxp.dense and a matmul of two " \
                     "activations are)"
        elif o.name == "fxp.pool":
            reason = (f"{ir.StringAttr(o.attributes['kind']).value} pooling over {list(shape)} is {_NOT_YET} (max "
                      "and average pooling of feature maps and, in an attention DAG, the mean over a whole last dim "
                      "are)")
        elif o.name == "fxp.conv":
            reason = (f"a convolution of a {len(shape)}-D tensor {list(shape)} is {_NOT_YET} here (2-D convolutions of "
                      "[batch, channels, height, width] feature maps are, and 1-D ones in a graph whose first layer is "
                      "a conv or pool of its [batch, channels, length] input)")
    mean = _mean_over_tokens(kernel) if names == ["fxp.transpose"] else None
    if mean is not None:
        reason = (f"the mean over the tokens (this transpose and the average pool of layer '{mean}') runs on the AI "
                  "Engines only as the attention path's mean kernel (its operand's access), not as a unit of its own")
    if reason is None:
        reason = (f"{_NOT_YET}: the AIE backend maps dense layers, each optionally followed by a ReLU and/or a row "
                  "kernel (LayerNorm, softmax, table activation), feature-map DAGs (Conv, MaxPool, AvgPool, Add) and "
                  "attention DAGs (dense over the tokens, matmul of two activations, scalar scale_shift, LayerNorm, "
                  "softmax, table activation, head split / merge)")
    return UnsupportedOpError(f"{where}: {reason}", layer)


def _mean_over_tokens(kernel) -> str | None:
    """The layer of the average pool that reads this transpose (`x.transpose(1, 2).mean(-1)` lowers to both), if
    one does."""
    for use in kernel.results[0].uses:
        owner = use.owner
        readers = [u.owner for u in owner.results[0].uses] if owner.name == "df.channel" else [owner]
        for r in readers:
            if r.name != "df.kernel":
                continue
            for o in r.regions[0].blocks[0].operations:
                if o.operation.name == "fxp.pool" and ir.StringAttr(o.operation.attributes["kind"]).value == "avg":
                    return ir.StringAttr(r.attributes["layer"]).value
    return None


def _is_constant(value) -> bool:
    owner = value.owner
    owner = owner if isinstance(owner, ir.Operation) else getattr(owner, "operation", None)
    return owner is not None and owner.name == "fxp.constant"
