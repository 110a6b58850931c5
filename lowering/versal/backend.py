"""The Versal backend (`backend="versal"`): plan every layer on PL or AIE, split the graph, build the AIE part
with PLIO ports; PL parts stay df graphs for the emulator and the HLS writer (lowering/versal/driver.py)."""

from __future__ import annotations

from pathlib import Path

from fxflow.lowering.backend import BackendBase, compare_simulation, default
from fxflow.lowering.versal.options import VersalOptions


class VersalBackend(BackendBase):
    name = "versal"
    title = "Versal"
    options = VersalOptions
    io_types = ("io_parallel",)  # the PL parts are io_parallel HLS projects
    hints = {
        "csim": "use simulate(x, pl='csim') (the PL parts' C++ and the PLIO bridges around the AIE simulator)",
        "build": "use write (HLS projects per PL part, the mlir-aie project) and its README",
        "rtl_sim": "use simulate (synth measures the PL layers with yosys)",
    }

    def lower(self, module, options, ctx, project_name: str):
        from fxflow.lowering.versal.driver import lower_for_versal

        with ctx:
            text, system = lower_for_versal(module, options, project_name)
        return {"versal": text}, system

    def versal(self, design):
        return design.backend_state

    def aie_program(self, design):
        """The AIE part (PLIO I/O), None when all of the design runs on PL."""
        return design.backend_state.aie_program

    def write(self, design, path: Path, inputs=None) -> Path:
        from fxflow.lowering.versal.driver import write

        return write(design, design.backend_state, path)

    def report(self, design, part=None, clock=None, lut_costs=None) -> dict:
        """Per layer PL or AIE and why (LARE); the device comes from the options, not `part`/`clock`/`lut_costs`."""
        from fxflow.lowering.versal.driver import report

        return report(design.backend_state)

    def simulate(self, design, x, raw: bool = False, pl: str = "emulator"):
        from fxflow.lowering.versal.driver import simulate

        return simulate(design, design.backend_state, x, raw, pl)

    def synth(self, design, part_family: str = "xcup", verbose: bool = True, timeout: float | None = None) -> dict:
        from fxflow.lowering.versal.driver import synth_pl

        return synth_pl(design, design.backend_state, part_family, verbose, timeout)

    def cli_arguments(self, parser) -> None:
        parser.add_argument("--versal-device", default=default(VersalOptions, "device"),
                            help="Versal device for --backend versal")
        parser.add_argument("--versal-partition", default=default(VersalOptions, "partition"),
                            help="--backend versal: auto (LARE metric) or layer:pl|aie,... (unlisted layers: pl)")
        parser.add_argument("--versal-rate", type=float, default=default(VersalOptions, "target_rate_mhz"),
                            help="--backend versal: target sample rate in MHz")
        parser.add_argument("--versal-max-segments", type=int, default=default(VersalOptions, "max_segments"),
                            help="--backend versal: at most this many AIE segments (PL -> AIE -> PL -> AIE ...; "
                                 "0: as many as fit the device)")

    def cli_options(self, args) -> dict:
        from fxflow.lowering.versal.passes.partition import parse_partition

        return {"device": args.versal_device, "target_rate_mhz": args.versal_rate, "batch": args.aie_batch,
                "partition": parse_partition(args.versal_partition), "max_segments": args.versal_max_segments}

    def cli_summary(self, design, args, seconds: float) -> None:
        from fxflow.lowering.versal.driver import format_report

        print(f"wrote Versal project {args.output} in {seconds:.2f} s")
        print(format_report(design.report()))
        if args.csim:
            compare_simulation(design, args.csim, "Versal (PL C-sim + AIE)", pl="csim")  # the written HLS, compiled
