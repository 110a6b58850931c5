"""The RTL backend (`backend="rtl"`): the `df` module lowered to CIRCT hw/comb/seq in CIRCT's own context,
SystemVerilog, Verilator and yosys (lowering/rtl/driver.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from fxflow.errors import FxflowError, ToolchainError
from fxflow.lowering.backend import BackendBase, default

from .options import PRODUCT_STYLES, RtlOptions


@dataclass
class RtlState:
    """`Design.backend_state` of an RTL design: its options, the CIRCT design, the last synth() result."""

    rtl_options: RtlOptions
    rtl: object = None  # fxflow.lowering.rtl.build.RtlDesign
    rtl_synth: dict | None = None


class RtlBackend(BackendBase):
    name = "rtl"
    title = "RTL"
    options = RtlOptions
    io_types = ("io_parallel",)
    hints = {
        "csim": "use rtl_sim (Verilator) or simulate",
        "build": "use synth (yosys) or the written project's Makefile",
    }

    def lower(self, module, options, ctx, project_name: str):
        try:
            from .build import lower_to_rtl
        except ImportError as err:
            raise ToolchainError(f"the RTL backend needs CIRCT's Python bindings (pip install 'circt==1.62.0', "
                                 f"or pip install -e '.[rtl]'): {err}") from None
        with ctx:
            rtl = lower_to_rtl(module, options)
        return {"rtl": rtl.circt_text()}, RtlState(options, rtl)

    def rtl(self, design):
        state = design.backend_state
        if state.rtl is None:
            from fxflow.lowering.rtl.driver import lower

            state.rtl = lower(design, state.rtl_options)
        return state.rtl

    def write(self, design, path: Path, inputs=None) -> Path:
        from fxflow.lowering.rtl.driver import write

        return write(self.rtl(design), path)

    def report(self, design, part=None, clock=None, lut_costs=None) -> dict:
        from fxflow.lowering.rtl.driver import report

        return report(design, self.rtl(design), design.backend_state.rtl_synth, part=part, clock=clock,
                      lut_costs=lut_costs)

    def rtl_sim(self, design, x, raw: bool = False, verbose: bool = True):
        from fxflow.lowering.rtl.driver import simulate

        rtl = self.rtl(design)
        t0 = time.perf_counter()
        y, lat = simulate(design, rtl, x, raw, verbose)
        design.timings["rtl_sim"] = time.perf_counter() - t0
        values = sorted(set(int(v) for v in lat))
        if len(values) > 1:
            raise FxflowError(f"the RTL simulation measured varying latencies {values}: the design is not "
                              "fixed-latency (a backend bug; please report it)")
        return y, (values[0] if values else rtl.latency)

    def simulate(self, design, x, raw: bool = False, **options):
        """The Verilator simulation in `predict`'s form (`rtl_sim` also returns the latency)."""
        self.no_options("simulate", options)
        return self.rtl_sim(design, x, raw)[0]

    def synth(self, design, part_family: str = "xcup", verbose: bool = True, timeout: float | None = None) -> dict:
        from fxflow.lowering.rtl import yosys

        rtl = self.rtl(design)
        kwargs = {} if timeout is None else {"timeout": timeout}
        sv = rtl.verilog()
        big = sv.count("\n") > yosys.SPLIT_LINES  # one yosys process per kernel pays off on large designs
        design.backend_state.rtl_synth = yosys.synth(sv, rtl.top, part_family, verbose=verbose,
                                                 modules=[k.name for k in rtl.kernels] if big else None, **kwargs)
        return design.backend_state.rtl_synth

    def cli_arguments(self, parser) -> None:
        parser.add_argument("--rtl-products", default=default(RtlOptions, "products"), choices=PRODUCT_STYLES,
                            help="constant products for --backend rtl: multipliers (mul), shift-add trees per "
                                 "product, or one shared adder graph per weight matrix (adder_graph)")
        parser.add_argument("--rtl-pipeline", type=int, default=default(RtlOptions, "pipeline"),
                            help="register stages per layer for --backend rtl")
        parser.add_argument("--rtl-clock-mhz", type=float, default=default(RtlOptions, "clock_mhz"),
                            help="--backend rtl: target clock; dense adder graphs get register stages by adder delay")
        parser.add_argument("--synth", action="store_true",
                            help="--backend rtl: also run yosys synth_xilinx and show its counts next to the estimates")

    def cli_options(self, args) -> dict:
        from fxflow.estimate import check_options

        check_options(args.part, args.clock)
        return {"products": args.rtl_products, "pipeline": args.rtl_pipeline, "clock_mhz": args.rtl_clock_mhz}

    def cli_summary(self, design, args, seconds: float) -> None:
        import numpy as np

        from fxflow.estimate.report import format_table

        print(f"wrote RTL project {args.output} in {seconds:.2f} s "
              f"(latency {design.rtl.latency} cycles, II {design.rtl.interval})")
        if args.synth:
            design.synth()
        print(format_table(design.report(part=args.part, clock=args.clock)))
        if args.csim:
            x = np.random.default_rng(0).normal(size=(args.csim, *design.input_shapes[0]))
            y, latency = design.rtl_sim(x, raw=True)
            bad = int(np.sum(y != design.predict(x, raw=True)))
            print(f"[fxflow] Verilator simulation vs predict on {args.csim} samples: {bad} mismatching values, "
                  f"latency {latency} cycles")
            if bad:
                raise FxflowError(f"the RTL simulation disagrees with the emulator on {bad} values")
