"""Translations of the RTL backend for `fxflow-translate`: CIRCT IR and SystemVerilog of a df.graph."""

from __future__ import annotations

from fxflow.passes.registry import register_translation


def _design(module):
    from .build import lower_to_rtl  # CIRCT is imported only when the translation runs

    return lower_to_rtl(module)


@register_translation("emit-circt", "CIRCT hw/comb/seq IR of an io_parallel df.graph (RTL backend)")
def emit_circt(module) -> str:
    return _design(module).circt_text()


@register_translation("emit-verilog", "SystemVerilog of an io_parallel df.graph, built with CIRCT (RTL backend)")
def emit_verilog(module) -> str:
    return _design(module).verilog()
