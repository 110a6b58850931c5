"""`Design`: a compiled model — emulate it, C-simulate it, write its HLS project, inspect its IR."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import emulator
from .config import Config
from .errors import FxflowError
from .fixed.quantize import to_float
from .ir import ir

STAGES = ("linalg", "fxp-float", "fxp", "df")


@dataclass
class Design:
    ctx: ir.Context
    module: ir.Module
    stages: dict[str, str]
    config: Config
    project_name: str
    output_dir: Path | None = None
    ap_types: object = None
    timings: dict[str, float] = field(default_factory=dict)
    backend: str = "vitis"  # HLS flavour of the written project: "vitis" (ap_fixed) or "catapult" (ac_fixed)
    _program: emulator.Program | None = None
    _float_program: emulator.Program | None = None
    _written: Path | None = None
    _tmp: object = None
    _aie: object = None  # AIE-ML backend: the placed AieProgram, built on first use
    rtl_options: object = None  # RTL backend: fxflow.lowering.rtl.build.RtlOptions
    _rtl: object = None  # RTL backend: the RtlDesign (CIRCT), built on first use
    rtl_synth: dict | None = None  # RTL backend: the last synth() result
    _versal: object = None  # Versal backend: the planned fxflow.versal.driver.VersalSystem

    # --- emulation ---------------------------------------------------------------------------------
    @property
    def program(self) -> emulator.Program:
        if self._program is None:
            with self.ctx:
                self._program = emulator.compile_program(self.module)
        return self._program

    @property
    def input_shapes(self) -> list[tuple[int, ...]]:
        return [s for s, _ in self.program.input_types]

    @property
    def output_shapes(self) -> list[tuple[int, ...]]:
        return [s for s, _ in self.program.output_types]

    def predict(self, x, raw: bool = False):
        """Bit-exact emulation on a batch `x` of shape (N, *input_shape) (or one sample).

        Returns float64 values (exact fixed-point values while outputs are at most 53 bits wide), shaped
        like the PyTorch model's output; `raw=True` returns the stored integers instead.  A model with
        several inputs/outputs takes and returns lists."""
        outs = emulator.run(self.program, self.input_list(x))
        results = []
        for t, (shape, fmt) in zip(outs, self.program.output_types):
            data = t.data if raw or fmt is None else to_float(t.data, fmt.f)
            results.append(np.asarray(data).reshape((-1, *shape)))
        return results[0] if len(results) == 1 else results

    def trace(self, x) -> dict[str, dict]:
        """Per-layer outputs of the fixed-point design next to the float reference of the same IR, with
        their errors (hls4ml's `trace`, plus the comparison):
        `{layer: {"fixed": array, "float": array, "max_abs_error": float, "mean_abs_error": float}}`."""
        fixed = emulator.trace(self.program, self.input_list(x))
        ref = emulator.trace(self.float_program, self.input_list(x))
        out = {}
        for name, fx in fixed.items():
            row = {"fixed": fx.reshape(len(fx), -1)}
            if name in ref:
                fl = ref[name].reshape(len(fx), -1)
                err = np.abs(row["fixed"] - fl)
                row.update({"float": fl, "max_abs_error": float(err.max(initial=0.0)),
                            "mean_abs_error": float(err.mean()) if err.size else 0.0})
            out[name] = row
        return out

    @property
    def float_program(self) -> emulator.Program:
        """The IR before precision assignment ("fxp-float"), compiled for float64 evaluation."""
        if self._float_program is None:
            with self.ctx:
                self._float_program = emulator.compile_program(ir.Module.parse(self.stages["fxp-float"]))
        return self._float_program

    def profile(self, x) -> list[dict]:
        """Per-layer float range vs the chosen format's range, out-of-range counts and errors."""
        from .profiling import profile

        return profile(self, x)

    def plot_profile(self, x, path) -> Path:
        """A PNG of each layer's value distribution over its format's representable range."""
        from .profiling import plot_profile

        return plot_profile(self, x, path)

    def predict_float(self, x):
        """The same network evaluated in exact float64 before quantization (the float reference of the IR)."""
        outs = emulator.run(self.float_program, self.input_list(x))
        res = [t.data.reshape((-1, *s)) for t, (s, _) in zip(outs, self.float_program.output_types)]
        return res[0] if len(res) == 1 else res

    # --- HLS project and C simulation ---------------------------------------------------------------
    def write(self, path=None, inputs=None) -> Path:
        """Write the Vitis HLS project to `path` (default: the compile's output_dir, else a temp dir).

        With `inputs`, the testbench data and the emulator's expected outputs are written too, making the
        project self-checking."""
        if "versal" in self.stages:  # Versal: pl_head/, aie/, pl_tail/ (HLS + mlir-aie), PLIO bridge, README
            from fxflow.versal.driver import write

            self._written = write(self, self._versal, Path(path) if path is not None else self._default_dir())
            return self._written
        if "aie" in self.stages:  # AIE-ML backend: aie.mlir, kernels/, placement.png
            from fxflow.aie.driver import write

            self._written = write(self.aie_program, Path(path) if path is not None else self._default_dir())
            return self._written
        if "rtl" in self.stages:  # RTL backend: SystemVerilog, CIRCT IR, Verilator testbench, yosys script
            from fxflow.rtl.driver import write

            self._written = write(self.rtl, Path(path) if path is not None else self._default_dir())
            return self._written
        from fxflow.lowering.hls.project import write_project

        target = Path(path) if path is not None else self._default_dir()
        expected = None
        if inputs is not None:
            inputs = np.asarray(inputs, dtype=np.float64)
            expected = np.asarray(self.predict(inputs, raw=True)).reshape(len(inputs), -1)
        with self.ctx:
            write_project(self.module, target, project_name=self.project_name, inputs=inputs, expected=expected,
                          flavour=self.backend)
        self._written = target
        return target

    def csim(self, x, raw: bool = False, verbose: bool = True):
        """Compile the emitted C++ with g++ against the real ap_types headers (ac_types for the Catapult
        flavour), run it on `x`, and return its outputs in the same form as `predict`."""
        from fxflow import csim

        if self.backend not in ("vitis", "catapult"):
            other = {"rtl": "rtl_sim (Verilator)", "aie": "simulate", "versal": "simulate(x, pl='csim')"}.get(
                self.backend, "its simulator")
            raise FxflowError(f"csim compiles the HLS C++ of the vitis/catapult backends; this design's backend is "
                              f"'{self.backend}': use {other}")
        xs = emulator.check_inputs(self.program, self.input_list(x))
        if len(xs) != 1 or len(self.program.output_types) != 1:
            raise FxflowError("csim supports designs with one input and one output")
        project = self._written or self.write()
        t0 = time.perf_counter()
        csim.build(project, ap_types=self.ap_types, verbose=verbose)
        self.timings["csim_build"] = time.perf_counter() - t0
        ints = csim.run(project, xs[0].reshape(len(xs[0]), -1), ap_types=self.ap_types)
        shape, fmt = self.program.output_types[0]
        data = ints if raw else to_float(ints, fmt.f)
        return np.asarray(data).reshape((-1, *shape))

    def build(self, path=None, steps=("csim", "synth"), timeout: float | None = None, part: str | None = None,
              clock=None) -> Path:
        """Run the vendor flow on the written project: `vitis_hls -f build.tcl -tclargs csim=1 synth=1 ...`
        with the chosen `steps` (any of csim, synth, cosim, export); `part` / `clock` (ns) override the
        project's.  Needs `vitis_hls` on PATH; without it this says so instead of pretending."""
        from .vendor import run_vitis

        if self.backend != "vitis":
            raise FxflowError(f"build runs Vitis HLS; this design's backend is '{self.backend}' "
                              "(run 'catapult -shell -file build.tcl' in its project)")
        project = Path(path) if path is not None else (self._written or self.write())
        run_vitis(project, steps, timeout=timeout, part=part, clock=clock)
        return project

    def _default_dir(self) -> Path:
        if self.output_dir is not None:
            return self.output_dir
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fxflow-")
        return Path(self._tmp.name)

    # --- inspection --------------------------------------------------------------------------------
    def mlir(self, stage: str = "df") -> str:
        """The IR at a named stage: 'linalg', 'fxp-float', 'fxp' or 'df'."""
        if stage not in self.stages:
            raise FxflowError(f"unknown stage '{stage}' (available: {', '.join(self.stages)})")
        return self.stages[stage]

    def report(self, part: str | None = None, clock=None, lut_costs=None) -> dict:
        """Per-layer formats, reuse factors and estimates (latency, II, DSP, LUT, FF, BRAM, URAM) plus
        totals, as plain dicts (`fxflow.report.format_table` prints them).  `part` (e.g.
        'xcvu9p-flga2104-2L-e') and `clock` (ns, or '200MHz') default to xcvu13p at 5 ns.  `lut_costs`
        (`fxflow.approx.cost.LutCosts`, e.g. `approx.search(cost="yosys").lut_costs`) prices approximate
        multipliers by their yosys LUTs instead of the gate model."""
        if "versal" in self.stages:  # Versal: per layer PL or AIE and why (LARE), end-to-end latency/interval
            from fxflow.versal.driver import report

            return report(self._versal)
        if "aie" in self.stages:  # AIE-ML backend: cycle model, tiles, utilization, efficiency per layer
            from fxflow.aie.driver import report

            return report(self.aie_program)
        if "rtl" in self.stages:  # RTL backend: estimates + exact RTL schedule (+ yosys counts after synth)
            from fxflow.rtl.driver import report

            return report(self, part=part, clock=clock, lut_costs=lut_costs)
        from fxflow.report import design_report

        with self.ctx:
            return design_report(self.module, part=part, clock=clock, lut_costs=lut_costs)

    # --- AIE-ML backend (compile with backend="aie") --------------------------------------------------
    @property
    def aie_program(self):
        """The placed AIE program (`fxflow.aie.program.AieProgram`), checked structurally."""
        if "versal" in self.stages:  # the AIE part of a Versal design (PLIO I/O), None when all of it is PL
            return self._versal.aie_program
        if "aie" not in self.stages:
            raise FxflowError("this design was not compiled for the AIE-ML backend (compile with backend='aie')")
        if self._aie is None:
            from fxflow.aie.driver import program_of

            self._aie = program_of(self)
        return self._aie

    def simulate(self, x, raw: bool = False, pl: str = "emulator"):
        """Bit-exact functional simulation of the placed AIE program, tile by tile, in `predict`'s form.
        Versal designs: the PL parts (emulator, or `pl="csim"`) and the AIE part joined at the PLIO ports."""
        if "versal" in self.stages:
            from fxflow.versal.driver import simulate as simulate_versal

            return simulate_versal(self, self._versal, x, raw, pl)
        from fxflow.aie.driver import simulate

        return simulate(self, self.aie_program, x, raw)

    @property
    def versal(self):
        """The planned Versal system (`fxflow.versal.driver.VersalSystem`: options, planner, plan, parts)."""
        if "versal" not in self.stages:
            raise FxflowError("this design was not compiled for the Versal backend (compile with backend='versal')")
        return self._versal

    # --- RTL backend (compile with backend="rtl") -----------------------------------------------------
    @property
    def rtl(self):
        """The CIRCT-built hardware (`fxflow.lowering.rtl.build.RtlDesign`: modules, schedule, ports)."""
        if "rtl" not in self.stages:
            raise FxflowError("this design was not compiled for the RTL backend (compile with backend='rtl')")
        if self._rtl is None:
            from fxflow.rtl.driver import lower

            self._rtl = lower(self)
        return self._rtl

    def rtl_sim(self, x, raw: bool = False, verbose: bool = True):
        """Cycle-accurate Verilator simulation of the emitted SystemVerilog on `x`.

        Returns `(y, latency)`: y in `predict`'s form, latency the cycles measured between a sample's
        acceptance and its result (the same for every sample of this fixed-latency design)."""
        from fxflow.rtl.driver import simulate

        t0 = time.perf_counter()
        y, lat = simulate(self, self.rtl, x, raw, verbose)
        self.timings["rtl_sim"] = time.perf_counter() - t0
        values = sorted(set(int(v) for v in lat))
        if len(values) > 1:
            raise FxflowError(f"the RTL simulation measured varying latencies {values}: the design is not "
                              "fixed-latency (a backend bug; please report it)")
        return y, (values[0] if values else self.rtl.latency)

    def synth(self, part_family: str = "xcup", verbose: bool = True, timeout: float | None = None) -> dict:
        """yosys `synth_xilinx -family <part_family>` of the emitted SystemVerilog: LUT/FF/DSP/CARRY/BRAM18
        per kernel module and in total (open-tool counts, not Vivado post-route); shown by `report()`."""
        if "versal" in self.stages:  # Versal: yosys counts of the PL layers (their RTL), shown by report()
            from fxflow.versal.driver import synth_pl

            return synth_pl(self, self._versal, part_family, verbose, timeout)
        from fxflow.rtl import yosys

        kwargs = {} if timeout is None else {"timeout": timeout}
        sv = self.rtl.verilog()
        big = sv.count("\n") > yosys.SPLIT_LINES  # one yosys process per kernel pays off on large designs
        self.rtl_synth = yosys.synth(sv, self.rtl.top, part_family, verbose=verbose,
                                     modules=[k.name for k in self.rtl.kernels] if big else None, **kwargs)
        return self.rtl_synth

    @staticmethod
    def input_list(x) -> list:
        """The model inputs as a list (one array, or a list/tuple of arrays for several inputs)."""
        return list(x) if isinstance(x, (list, tuple)) else [x]
