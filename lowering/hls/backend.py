"""The HLS backends (`backend="vitis"`: ap_fixed for Vitis HLS, `"catapult"`: ac_fixed/ac_channel for Catapult):
the `df` stage is the last IR; the C++ project is written from it (lowering/hls/project.py)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fxflow.config import options_from_dict
from fxflow.errors import FxflowError
from fxflow.lowering.backend import BackendBase


@dataclass
class HlsOptions:
    """The HLS flavours take their settings from the config (precision, reuse, io_type); no backend dict."""

    @classmethod
    def from_dict(cls, data) -> "HlsOptions":
        return options_from_dict(cls, data, "hls")


class HlsBackend(BackendBase):
    kind = "HLS"
    options = HlsOptions
    io_types = ("io_parallel", "io_stream")
    hints = {
        "simulate": "it was not compiled for the AIE-ML backend (simulate runs the AIE / Versal simulators; "
                    "csim runs this design's C++)",
        "rtl_sim": "compile with backend='rtl' for Verilator (csim runs this design's C++)",
    }

    def lower(self, module, options, ctx, project_name: str):
        return {}, None

    def write(self, design, path: Path, inputs=None) -> Path:
        """The HLS project; with `inputs`, the testbench data and the emulator's expected outputs too."""
        from .project import write_project

        expected = None
        if inputs is not None:
            inputs = np.asarray(inputs, dtype=np.float64)
            expected = np.asarray(design.predict(inputs, raw=True)).reshape(len(inputs), -1)
        with design.ctx:
            write_project(design.module, path, project_name=design.project_name, inputs=inputs, expected=expected,
                          flavour=self.name)
        return path

    def report(self, design, part=None, clock=None, lut_costs=None) -> dict:
        from fxflow.estimate.report import design_report

        with design.ctx:
            return design_report(design.module, part=part, clock=clock, lut_costs=lut_costs)

    def csim(self, design, x, raw: bool = False, verbose: bool = True):
        """g++ against the real ap_types (ac_types) headers on `x`, in `predict`'s form (a list of arrays in
        and out for several inputs / outputs)."""
        from fxflow.lowering.hls import csim
        from fxflow import emulator
        from fxflow.fixed.quantize import to_float

        program = design.program
        xs = emulator.check_inputs(program, design.input_list(x))
        project = design.project_path()
        t0 = time.perf_counter()
        csim.build(project, ap_types=design.ap_types, verbose=verbose)
        design.timings["csim_build"] = time.perf_counter() - t0
        flat = [a.reshape(len(a), -1) for a in xs]
        ints = csim.run(project, flat if len(flat) > 1 else flat[0], ap_types=design.ap_types)
        results, col = [], 0
        for shape, fmt in program.output_types:  # the outputs side by side, flattened, in result order
            size = math.prod(shape)
            part = ints[:, col:col + size]
            col += size
            results.append(np.asarray(part if raw else to_float(part, fmt.f)).reshape((-1, *shape)))
        return results[0] if len(results) == 1 else results

    def cli_options(self, args) -> None:
        from fxflow.estimate import check_options

        check_options(args.part, args.clock)  # an unknown part / clock fails before the compile
        return None

    def cli_summary(self, design, args, seconds: float) -> None:
        print(f"wrote HLS project {args.output} in {seconds:.2f} s")
        print_report(design, args.part, args.clock)
        if args.csim:
            rng = np.random.default_rng(0)
            xs = [rng.normal(size=(args.csim, *shape)) for shape in design.input_shapes]
            compare_csim(design, xs if len(xs) > 1 else xs[0])


class VitisBackend(HlsBackend):
    name = "vitis"
    title = "Vitis HLS"

    def build(self, design, path=None, steps=("csim", "synth"), timeout=None, part=None, clock=None) -> Path:
        from fxflow.lowering.hls.vendor import run_vitis

        project = Path(path) if path is not None else design.project_path()
        run_vitis(project, steps, timeout=timeout, part=part, clock=clock)
        return project


class CatapultBackend(HlsBackend):
    name = "catapult"
    title = "Catapult HLS"
    hints = {**HlsBackend.hints, "build": "build runs Vitis HLS (run 'catapult -shell -file build.tcl' in its "
                                          "project)"}


def print_report(design, part=None, clock=None) -> None:
    """The estimate table; io_stream designs add their FIFO memory against one uniform depth."""
    from fxflow.estimate.report import format_table

    rep = design.report(part=part, clock=clock)
    print(format_table(rep))
    if rep.get("channels"):  # io_stream: FIFO memory as sized by df-size-fifos vs one uniform depth
        naive = _graph_int(design, "fxflow.fifo_bits_naive")
        saved = f", {naive - rep['total']['fifo_bits']} fewer than a uniform depth ({naive} bits)" if naive else ""
        print(f"stream FIFOs: {len(rep['channels'])}, {rep['total']['fifo_bits']} bits{saved}")


def _graph_int(design, name: str):
    from fxflow.ir import ir

    with design.ctx:
        for op in design.module.body.operations:
            if op.operation.name == "df.graph" and name in op.operation.attributes:
                return ir.IntegerAttr(op.operation.attributes[name]).value
    return None


def compare_csim(design, x) -> None:
    """The C simulation against predict on `x`; an FxflowError when they differ."""
    t0 = time.perf_counter()
    y = design.predict(x, raw=True)
    t_pred = time.perf_counter() - t0
    yc = design.csim(x, raw=True)
    y, yc = (v if isinstance(v, list) else [v] for v in (y, yc))
    mismatches = sum(int(np.sum(np.asarray(a) != np.asarray(b))) for a, b in zip(y, yc))
    total = sum(np.asarray(a).size for a in y)
    n = len(x[0]) if isinstance(x, (list, tuple)) else len(x)
    print(f"[fxflow] C-sim (g++ + ap_types) vs predict on {n} samples: {mismatches} mismatching values "
          f"of {total}; predict took {t_pred * 1e3:.1f} ms")
    if mismatches:
        raise FxflowError(f"C simulation disagrees with the emulator on {mismatches} values")
