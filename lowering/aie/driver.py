"""The AIE-ML backend's part of `fxflow.compile(backend="aie")` and of `Design` (simulate, report, write).

Pipeline after `df`: convert-fxp-to-aie -> aie-partition -> aie-place.  When the cheapest partition
cannot be placed (rectangles or I/O channels do not fit), the partition is retried with a budget a little below
the tiles the unplaceable one used (at most PLACEMENT_TRIALS times) before the placement error is reported; small
steps, so a smaller layout that fits (say 10 tiles of npu1's 16) is not skipped.
"""

from __future__ import annotations

import numpy as np

from fxflow.lowering.aie.options import AieOptions

from fxflow.lowering.aie.device import AieFitError, get_device

PLACEMENT_TRIALS = 8


def lower_for_aie(module, options=None, max_io_ports: int = 0, columns: range | None = None, io: str = "host") -> str:
    """Run the AIE passes on a module at the `df` stage (inside its Context); returns the IR snapshot.
    `max_io_ports` > 0 bounds the I/O ports per direction the partition may need (Versal `max_plio`);
    `columns` confines the placement to those array columns and `io` is the graph I/O the builder will make
    (a Versal AIE segment: its own columns, PLIO; no smaller partition is tried then, since the planner costed
    this one)."""
    from fxflow.lowering.aie.passes.partition import PartitionOptions
    from fxflow.lowering.aie.passes.place import PlaceOptions
    from fxflow.pipeline import run_passes

    opts = AieOptions.from_dict(options)
    device = get_device(opts.device)
    run_passes(module, ["convert-fxp-to-aie"])
    budget = opts.max_tiles or device.compute_tiles
    placement_error = None
    trials = PLACEMENT_TRIALS if columns is None else 1
    for trial in range(trials):
        try:
            run_passes(module, [("aie-partition", PartitionOptions(device.name, opts.batch, budget, opts.objective,
                                                                   max_io_ports=max_io_ports))])
        except AieFitError:
            if placement_error is not None:  # a smaller budget does not partition: the placement was the problem
                raise placement_error from None
            raise
        try:
            window = {} if columns is None else {"first_column": columns.start, "columns": len(columns)}
            run_passes(module, [("aie-place", PlaceOptions(device.name, io=io, **window))])
            break
        except AieFitError as e:
            placement_error = e
            if trial == trials - 1 or budget <= 1:
                raise
            used = _tiles_used(module)  # the next partition overwrites this one's attributes
            budget = max(1, min(budget, used) - max(1, used // 8))
    return module.operation.get_asm(print_generic_op_form=True, enable_debug_info=True, large_elements_limit=None)


def _tiles_used(module) -> int:
    """Compute tiles of the module's current partition."""
    from fxflow.dialects.df.graph import graph_of
    from fxflow.lowering.aie.passes.convert_fxp_to_aie import aie_attr, dense_chain

    from fxflow.lowering.aie.fmap import fmap_graph, is_fmap_graph

    graph = graph_of(module, "AIE")
    if is_fmap_graph(graph):
        return sum(aie_attr(n.op, "cas_num") for n in fmap_graph(graph).nodes)
    from fxflow.lowering.aie.dag_paths import attention_path

    path = attention_path(graph)
    if path is not None:
        return path.tiles_used(graph)
    return sum(aie_attr(k.op, "cas_length") * aie_attr(k.op, "cas_num") for k in dense_chain(graph))


def program_of(design):
    from fxflow.lowering.aie.build import build_program

    from fxflow.lowering.aie.check import check

    with design.ctx:
        prog = build_program(design.module)
    check(prog)
    return prog


def simulate(design, prog, x, raw: bool = False):
    """Run the AIE functional simulator on float inputs; same output form as `Design.predict`."""
    from fxflow import emulator
    from fxflow.fixed.quantize import quantize, to_float

    from fxflow.lowering.aie.simulate import simulate as run

    xs = emulator.check_inputs(design.program, design.input_list(x))
    (shape, fmt), = design.program.input_types
    xi = quantize(xs[0].reshape(-1, prog.in_features), fmt)  # [batch, tokens, features]: one row per token
    y = run(prog, xi)
    (oshape, ofmt), = design.program.output_types
    data = y if raw else to_float(y, ofmt.f)
    return np.asarray(data).reshape((-1, *oshape))


def report(prog) -> dict:
    from fxflow.lowering.aie.cycles import design_cycles

    return design_cycles(prog)


def write(prog, path):
    from fxflow.lowering.aie.project import write_project

    return write_project(prog, path)
