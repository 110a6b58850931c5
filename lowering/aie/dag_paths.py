"""Dispatch to the AIE backend's attention path (lowering/aie/attention.py) from the pass steps (convert, partition,
place, build, the driver's retry).  The attention path reads the dense chain's `kernel_info` / `row_info`
(passes/convert_fxp_to_aie.py), so the steps name it by module string, imported when a graph needs it, as
`kernels.RENDERERS` names the kernel families: no import circle between the passes and the path."""

from __future__ import annotations

import importlib

ATTENTION = "fxflow.lowering.aie.attention"


def attention_path(graph):
    """The attention path module when `graph` is an attention DAG (a matmul of two activations or a head split /
    merge), else None."""
    module = importlib.import_module(ATTENTION)
    return module if module.is_attention_graph(graph) else None
