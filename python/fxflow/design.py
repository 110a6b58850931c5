"""`Design`: a compiled model — emulate it, C-simulate it, write its HLS project, inspect its IR."""

from __future__ import annotations

import tempfile
from collections.abc import MutableMapping  # noqa: F401  (the stages annotation)
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
    stages: "MutableMapping[str, str]"  # compiler.StageTexts: each stage printed when first read
    config: Config
    project_name: str
    output_dir: Path | None = None
    ap_types: object = None
    timings: dict[str, float] = field(default_factory=dict)
    backend: str = "vitis"  # a name of the backend registry (fxflow/lowering/backend.py)
    backend_state: object = None  # what the backend's lower() returned (RTL design, AIE program, Versal system)
    _program: emulator.Program | None = None
    _float_program: emulator.Program | None = None
    _written: Path | None = None
    _tmp: object = None

    @property
    def backend_impl(self):
        """The backend object everything after the `df` stage is forwarded to."""
        from fxflow.lowering.backend import get

        return get(self.backend)

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

    def predict(self, x, raw: bool = False, threads: int | None = None):
        """Bit-exact emulation on a batch `x` of shape (N, *input_shape) (or one sample).

        Returns float64 values (exact fixed-point values while outputs are at most 53 bits wide), shaped
        like the PyTorch model's output; `raw=True` returns the stored integers instead.  A model with
        several inputs/outputs takes and returns lists.  `threads` (default $FXFLOW_THREADS, else 1) runs
        shares of the batch in parallel on up to that many cores (this process and worker processes forked
        at the first such call and kept), fewer when other work keeps the cores busy (load average); BLAS
        thread settings do not matter."""
        outs = emulator.run(self.program, self.input_list(x), threads)
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

    # --- the backend's project, simulators and tools (forwarded to `backend_impl`) -------------------
    def write(self, path=None, inputs=None) -> Path:
        """Write the backend's project to `path` (default: the compile's output_dir, else a temp dir): the HLS
        project (vitis/catapult), the mlir-aie project (aie), SystemVerilog + Verilator testbench (rtl), or
        the joint PL + AIE project (versal).

        With `inputs` (HLS), the testbench data and the emulator's expected outputs are written too, making
        the project self-checking."""
        self._written = self.backend_impl.write(self, Path(path) if path is not None else self._default_dir(), inputs)
        return self._written

    def project_path(self) -> Path:
        """The directory of the written project (written now if it was not yet)."""
        return self._written or self.write()

    def csim(self, x, raw: bool = False, verbose: bool = True):
        """Compile the emitted C++ with g++ against the real ap_types headers (ac_types for the Catapult
        flavour), run it on `x`, and return its outputs in the same form as `predict` (lists in and out
        for several inputs / outputs)."""
        return self.backend_impl.csim(self, x, raw, verbose)

    def build(self, path=None, steps=("csim", "synth"), timeout: float | None = None, part: str | None = None,
              clock=None) -> Path:
        """Run the vendor flow on the written project: `vitis_hls -f build.tcl -tclargs csim=1 synth=1 ...`
        with the chosen `steps` (any of csim, synth, cosim, export); `part` / `clock` (ns) override the
        project's.  Needs `vitis_hls` on PATH; without it this says so instead of pretending."""
        return self.backend_impl.build(self, path, steps, timeout, part, clock)

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
        multipliers by their yosys LUTs instead of the gate model.  AIE: the cycle model per layer; RTL: plus
        the exact schedule (and yosys counts after synth); Versal: the plan."""
        return self.backend_impl.report(self, part=part, clock=clock, lut_costs=lut_costs)

    # --- backend-specific views (a backend without one raises an FxflowError naming it) ---------------
    @property
    def aie_program(self):
        """The placed AIE program (`fxflow.lowering.aie.program.AieProgram`), checked structurally; for Versal the AIE
        part (PLIO I/O), None when all of it is PL."""
        return self.backend_impl.aie_program(self)

    def simulate(self, x, raw: bool = False, pl: str = "emulator"):
        """Bit-exact functional simulation of the placed AIE program, tile by tile, in `predict`'s form.
        Versal designs: the PL parts (emulator, or `pl="csim"`) and the AIE part joined at the PLIO ports.
        RTL designs: the Verilator simulation."""
        return self.backend_impl.simulate(self, x, raw, **({} if pl == "emulator" else {"pl": pl}))

    @property
    def versal(self):
        """The planned Versal system (`fxflow.lowering.versal.driver.VersalSystem`: options, planner, plan, parts)."""
        return self.backend_impl.versal(self)

    @property
    def rtl(self):
        """The CIRCT-built hardware (`fxflow.lowering.rtl.build.RtlDesign`: modules, schedule, ports)."""
        return self.backend_impl.rtl(self)

    @property
    def rtl_options(self):
        """RTL backend: its `RtlOptions` (None for other backends)."""
        return getattr(self.backend_state, "rtl_options", None)

    @property
    def rtl_synth(self) -> dict | None:
        """RTL backend: the last synth() result (None before, and for other backends)."""
        return getattr(self.backend_state, "rtl_synth", None)

    def rtl_sim(self, x, raw: bool = False, verbose: bool = True):
        """Cycle-accurate Verilator simulation of the emitted SystemVerilog on `x`.

        Returns `(y, latency)`: y in `predict`'s form, latency the cycles measured between a sample's
        acceptance and its result (the same for every sample of this fixed-latency design)."""
        return self.backend_impl.rtl_sim(self, x, raw, verbose)

    def synth(self, part_family: str = "xcup", verbose: bool = True, timeout: float | None = None) -> dict:
        """yosys `synth_xilinx -family <part_family>` of the emitted SystemVerilog: LUT/FF/DSP/CARRY/BRAM18
        per kernel module and in total (open-tool counts, not Vivado post-route); shown by `report()`.
        Versal: the PL layers' RTL."""
        return self.backend_impl.synth(self, part_family=part_family, verbose=verbose, timeout=timeout)

    @staticmethod
    def input_list(x) -> list:
        """The model inputs as a list (one array, or a list/tuple of arrays for several inputs)."""
        return list(x) if isinstance(x, (list, tuple)) else [x]
