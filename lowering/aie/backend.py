"""The AIE-ML backend (`backend="aie"`): convert-fxp-to-aie, aie-partition, aie-place after `df`; the placed
program is built on first use (lowering/aie/driver.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fxflow.lowering.backend import BackendBase, compare_simulation, default

from .options import AieOptions


@dataclass
class AieState:
    """`Design.backend_state` of an AIE design: the placed program, built on first use."""

    program: object = None


class AieBackend(BackendBase):
    name = "aie"
    title = "AIE-ML"
    options = AieOptions
    io_types = ("io_parallel",)  # the AIE-ML backend plans its own object FIFOs
    hints = {
        "csim": "use simulate (the AIE functional simulator)",
        "build": "use write (an mlir-aie project) and its README",
        "rtl_sim": "use simulate (the AIE functional simulator)",
    }

    def lower(self, module, options, ctx, project_name: str):
        from fxflow.lowering.aie.driver import lower_for_aie

        with ctx:
            return {"aie": lower_for_aie(module, options)}, AieState()

    def aie_program(self, design):
        state = design.backend_state
        if state.program is None:
            from fxflow.lowering.aie.driver import program_of

            state.program = program_of(design)
        return state.program

    def write(self, design, path: Path, inputs=None) -> Path:
        from fxflow.lowering.aie.driver import write

        return write(self.aie_program(design), path)

    def report(self, design, part=None, clock=None, lut_costs=None) -> dict:
        """The cycle model per layer (tiles, utilization); `part`/`clock`/`lut_costs` are PL settings, not used
        here."""
        from fxflow.lowering.aie.driver import report

        return report(self.aie_program(design))

    def simulate(self, design, x, raw: bool = False, **options):
        from fxflow.lowering.aie.driver import simulate

        self.no_options("simulate", options)
        return simulate(design, self.aie_program(design), x, raw)

    def cli_arguments(self, parser) -> None:
        parser.add_argument("--aie-device", default=default(AieOptions, "device"),
                            help="AIE device for --backend aie: xcve2802, npu1, npu2 (or npu1_<n>col, npu2_<n>col)")
        parser.add_argument("--aie-batch", type=int, default=default(AieOptions, "batch"),
                            help="rows per AIE kernel call for --backend aie (and versal)")

    def cli_options(self, args) -> dict:
        return {"device": args.aie_device, "batch": args.aie_batch}

    def cli_summary(self, design, args, seconds: float) -> None:
        from fxflow.lowering.aie.cycles import format_cycles

        print(f"wrote AIE project {args.output} in {seconds:.2f} s")
        print(format_cycles(design.report()))
        if args.csim:
            compare_simulation(design, args.csim, "AIE")
