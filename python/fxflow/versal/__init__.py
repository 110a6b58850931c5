"""Versal designs split between programmable logic (HLS) and AI Engines (mlir-aie).

`device` (PL and AIE capacities, PLIO), `options` (`VersalOptions`), `cost` (per-layer cost on both
targets and the LARE-style metric), `plan` (auto / forced partition), `split` (PL head / AIE / PL tail
sub-designs), `driver` (compile, joined simulation, report, project).  See docs/design.md ("Versal").
"""
