"""The Versal backend's part of `fxflow.compile(backend="versal")` and of `Design` (simulate, report, write).

After the `df` stage: plan (versal-partition sets `placement = "pl" | "aie"` on every df.kernel), cut the
graph into its parts (PL head, AIE segment, PL part, AIE segment, ..., PL tail), run the AIE passes on each
segment and build its program with PLIO ports at both ends.  The PL parts stay df graphs: the emulator runs
them, the HLS emitter writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fxflow.errors import ConfigError, FxflowError
from fxflow.ir import ir
from fxflow.lowering.aie.device import AieFitError

from fxflow.lowering.versal.options import VersalOptions
from fxflow.lowering.versal.plan import Plan, Planner, VersalFitError
from fxflow.lowering.versal.split import Part, parts

PL_EXECUTORS = ("emulator", "csim")


@dataclass
class VersalSystem:
    """A planned Versal design: its options, planner (units and costs), plan and parts."""

    options: VersalOptions
    planner: Planner
    plan: Plan
    parts: list[Part]
    top: str  # C identifier of the design (the project name, sanitized): prefixes every part and bridge
    aie_programs: list = field(default_factory=list)  # AieProgram (PLIO I/O) of each AIE segment, in order
    yosys: dict | None = None  # after synth_pl: layer -> yosys counts of its RTL kernel (or {"error": reason})
    written: object = None  # the last directory the project was written to (the C simulation builds there)
    _programs: dict = field(default_factory=dict)

    @property
    def aie_program(self):
        """The AIE program of the first (in a one-segment plan: the only) AIE segment; None when all on PL."""
        return self.aie_programs[0] if self.aie_programs else None

    def part(self, role: str) -> Part | None:
        return next((p for p in self.parts if p.role == role), None)

    def neighbours(self, segment: int) -> tuple[Part | None, Part | None]:
        """The PL parts feeding and reading AIE segment `segment` (None at the design's input / output)."""
        i = next(i for i, p in enumerate(self.parts) if p.segment == segment)
        return (self.parts[i - 1] if i > 0 else None), (self.parts[i + 1] if i + 1 < len(self.parts) else None)

    def bridge_names(self, segment: int) -> tuple[str, str]:
        """C names of the bridges into and out of AIE segment `segment` (`<top>_to_aie` / `<top>_from_aie` when
        the plan has one segment, numbered when several)."""
        k = str(segment) if len(self.aie_programs) > 1 else ""
        return f"{self.top}_to_aie{k}", f"{self.top}_from_aie{k}"

    def program(self, part: Part):
        """The emulator program of a PL part (compiled on first use)."""
        from fxflow import emulator

        if part.role not in self._programs:
            self._programs[part.role] = emulator.compile_program(part.module)
        return self._programs[part.role]


def lower_for_versal(module, options, top: str) -> tuple[str, VersalSystem]:
    """Plan and split a module at the `df` stage (inside its Context); returns the planned IR and the system."""
    from fxflow.lowering.aie.driver import AieOptions, lower_for_aie
    from fxflow.lowering.aie.build import build_program
    from fxflow.dialects.df.graph import graph_of
    from fxflow.names import c_identifier
    from fxflow.lowering.versal.passes.partition import VersalPartitionOptions
    from fxflow.pipeline import run_passes

    from fxflow.lowering.aie.check import check

    opts = VersalOptions.from_dict(options)
    graph = graph_of(module, "Versal driver")
    if len(graph.regions[0].blocks[0].arguments) != 1 or \
            len(list(graph.regions[0].blocks[0].operations)[-1].operation.operands) != 1:
        raise FxflowError("the Versal backend supports designs with one input and one output")
    planned: list = []  # the registered pass (what fxflow-opt runs) hands back its planner and plan
    run_passes(module, [("versal-partition", VersalPartitionOptions.of(opts, planned))])
    (planner, plan), = planned
    text = module.operation.get_asm(print_generic_op_form=True, enable_debug_info=True, large_elements_limit=None)
    ident = c_identifier(top, prefix="top")
    system = VersalSystem(opts, planner, plan, parts(text, planner.units, plan, ident), ident)
    segs = [p for p in system.parts if p.on_aie]
    first = 0  # the segments share the one array: each takes the columns east of the previous one's
    for k, part in enumerate(segs):  # one AIE program per segment, built as the planner costed it (aie_cost)
        cols = _columns(system, k, first, [plan.aie_segments[j]["columns"] for j in range(k + 1, len(segs))])
        if any(u.aie.get("token") for u in planner.units[slice(*part.units)]):
            _mark_token_dag(part.module)  # built as the planner costed it: the attention path's program
        try:
            lower_for_aie(part.module, AieOptions(planner.device.aie.name, opts.batch, opts.objective,
                                                  opts.max_tiles), max_io_ports=opts.max_plio, columns=cols,
                          io="plio")
        except AieFitError as e:
            if cols is None:
                raise
            raise _no_room(system, k, cols, e) from None
        prog = build_program(part.module, io="plio", max_ports=opts.max_plio)
        check(prog)
        system.aie_programs.append(prog)
        first = _span_of(prog)[1] + 1
    return text, system


def _mark_token_dag(module) -> None:
    from fxflow.dialects.df.graph import graph_of
    from fxflow.lowering.aie.attention import TOKEN_DAG

    graph_of(module, "Versal driver").attributes[TOKEN_DAG] = ir.UnitAttr.get()


def _columns(system: VersalSystem, k: int, first: int, later: list[int]) -> range | None:
    """The array columns AIE segment k may use: from `first` (east of the segments before it) up to the columns
    the later segments need at least (their `columns` figure); None (the whole array) for a lone segment."""
    if len(system.plan.segments) == 1:
        return None
    cols = system.planner.device.aie.cols
    end = cols - sum(later)
    if end <= first:
        raise _no_room(system, k, range(first, max(first, end)), None)
    return range(first, end)


def _no_room(system: VersalSystem, k: int, cols: range, err) -> VersalFitError:
    """Segment k does not fit the columns the other segments leave it: name it, its columns and the device's."""
    a, b = system.plan.segments[k]
    units = system.planner.units
    dev = system.planner.device.aie
    where = f"columns {cols.start}..{cols.stop - 1}" if len(cols) else "no column"
    return VersalFitError(f"AIE segment {k} (layers '{units[a].name}'..'{units[b - 1].name}') does not fit: "
                          f"{where} of the {dev.cols} of {dev.name} are left for it (the "
                          f"{len(system.plan.segments)} AIE segments share the array side by side)"
                          + (f": {err}" if err is not None else ""))


def simulate(design, system: VersalSystem, x, raw: bool = False, pl: str = "emulator", ap_types=None):
    """The whole system on float inputs: the PL parts in the emulator (or `pl="csim"`: g++ C simulation of
    their HLS projects), the AIE part in the AIE functional simulator, joined at the PLIO boundaries by the
    stored integers they carry.  Same output form as `Design.predict`."""
    from fxflow import emulator
    from fxflow.lowering.aie.simulate import simulate as run_aie
    from fxflow.emulator import Tensor
    from fxflow.fixed.quantize import quantize, to_float

    if pl not in PL_EXECUTORS:
        raise ConfigError(f"unknown PL executor '{pl}' (expected {', '.join(PL_EXECUTORS)})")
    xs = emulator.check_inputs(design.program, list(x) if isinstance(x, (list, tuple)) else [x])
    (_, fmt), = design.program.input_types
    (oshape, ofmt), = design.program.output_types
    n = len(xs[0])
    if pl == "csim" and system.aie_programs:
        ints = _csim_system(design, system, xs[0].reshape(n, -1), ap_types)
        return np.asarray(ints if raw else to_float(ints, ofmt.f)).reshape((-1, *oshape))
    t = Tensor(quantize(xs[0].reshape(n, -1), fmt), fmt)
    for part in system.parts:
        if part.on_aie:
            prog = system.aie_programs[part.segment]
            t = Tensor(run_aie(prog, t.data.reshape(n, -1)), prog.out_fmt)
            continue
        program = system.program(part)
        (shape, pfmt), = program.input_types
        if pl == "csim":  # all of the design on PL: the C simulation of its one HLS project
            t = Tensor(_csim_part(design, system, part, to_float(t.data.reshape(n, -1), pfmt.f), ap_types), ofmt)
        else:
            t = program.run([Tensor(t.data.reshape((n, *shape)) if len(shape) > 1 else t.data.reshape(n, -1),
                                    pfmt)])[0]
    data = t.data if raw else to_float(t.data, ofmt.f)
    return np.asarray(data).reshape((-1, *oshape))


def _csim_part(design, system: VersalSystem, part: Part, x: np.ndarray, ap_types) -> np.ndarray:
    """The C simulation of one PL part's HLS project (the design has no AIE part)."""
    from fxflow.lowering.hls import csim

    root = _project(design, system)
    return csim.run(root / part.role, x, ap_types=ap_types or design.ap_types)


def _project(design, system: VersalSystem):
    return system.written if system.written is not None else design.write()


def _csim_system(design, system: VersalSystem, x: np.ndarray, ap_types) -> np.ndarray:
    """g++ C simulation of the written project's PL side (PL parts + PLIO bridges) around the AIE simulator, one
    boundary after the other: samples -> input beats (C++) -> unpacked rows -> AIE -> packed output beats ->
    the next PL part's rows (C++) -> ... -> result rows.  Between two segments the rows of the PL part pass as
    text (its exact values) from the bridge out of one segment to the bridge into the next."""
    from fxflow.lowering.aie.simulate import simulate as run_aie
    from fxflow.fixed.quantize import to_float
    from fxflow.lowering.versal.bridge import pack, ports_of, unpack

    from fxflow.lowering.versal import bridge_sim

    root = _project(design, system)
    ap_types = ap_types or design.ap_types
    n, samples = len(x), x
    for k, prog in enumerate(system.aie_programs):
        m = prog.batch
        before, after = system.neighbours(k)
        to_name, from_name = system.bridge_names(k)
        ins, outs = ports_of(prog, "in"), ports_of(prog, "out")
        beats = bridge_sim.to_aie(root / (before.role if before else "pl_in"), to_name, samples, len(ins), ap_types)
        batches = -(-len(samples) // m)
        rows = np.zeros((batches * m, prog.in_features), dtype=np.int64)
        for b in range(batches):
            for p, port_beats in zip(ins, beats):
                c = p.beats(m)
                unpack(p, port_beats[b * c:(b + 1) * c], m, rows[b * m:(b + 1) * m])
        y = run_aie(prog, rows)
        packed = [[pack(p, y[b * m:(b + 1) * m]) for p in outs] for b in range(batches)]
        if after is not None:
            (shape, fmt), = system.program(after).output_types
        else:
            (shape, fmt), = design.program.output_types
        ints = bridge_sim.from_aie(root / (after.role if after else "pl_out"), from_name, packed,
                                   int(np.prod(shape)), ap_types)
        samples = to_float(ints, fmt.f)  # the next bridge's input rows (exact in a double)
    return ints[:n]


def report(system: VersalSystem) -> dict:
    """Per layer: where it runs, in which AIE segment, and why (LARE on both targets, the best plan with it
    elsewhere); the plan's end-to-end latency and interval; per AIE segment its layers, figures, PLIO boundary
    and cycle model (`segments`; a one-segment plan also has them as `aie` and `boundary`)."""
    from fxflow.lowering.aie.cycles import design_cycles

    plan, planner = system.plan, system.planner
    all_pl = planner.evaluate(None).problems
    rows = []
    for i, row in enumerate(planner.per_unit()):
        target = plan.placement[row["layer"]]
        row["target"] = target
        row["segment"] = plan.segment_of(i)
        row["why"] = _why(system, i, row, target, all_pl)
        measured = _yosys_of(system, row["layers"])
        if measured is not None:
            row["pl"]["yosys"] = measured
        rows.append(row)
    rep = {"device": planner.device.name, "partition": system.options.partition,
           "target_rate_mhz": system.options.target_rate_mhz, "pl_clock_mhz": system.options.pl_clock_mhz,
           "metric": {"weights": dict(system.options.weights), "time": system.options.time},
           "layers": rows, "plan": plan.summary(), "boundary": boundary(system),
           "plans_considered": getattr(planner, "plans_considered", 1)}
    rep["segments"] = [{**{k: v for k, v in seg.items()}, "boundary": boundary(system, k),
                        "cycles": design_cycles(prog), "array_columns": _span_of(prog)}
                       for k, (seg, prog) in enumerate(zip(plan.aie_segments, system.aie_programs))]
    if len(system.aie_programs) == 1:
        rep["aie"] = rep["segments"][0]["cycles"]
    return rep


def _span_of(prog) -> list[int]:
    """First and last array column the program uses (its share of the array)."""
    cols = [c for c, _ in prog.tiles()]
    return [min(cols), max(cols)]


def synth_pl(design, system: VersalSystem, family: str = "xcup", verbose: bool = True, timeout=None) -> dict:
    """yosys counts of the PL layers: each PL part built by the RTL backend (CIRCT) and synthesized with
    `synth_xilinx`; a part the RTL backend cannot build records its reason instead.  Shown by `report()`
    next to the estimates the plan used (measurement only: planning stays on the estimates)."""
    from fxflow.errors import UnsupportedOpError
    from fxflow.lowering.rtl import yosys

    try:
        from fxflow.lowering.rtl.build import lower_to_rtl
    except ImportError as err:
        raise FxflowError(f"yosys counts need the RTL backend (pip install 'circt==1.62.0'): {err}") from None
    out: dict = {}
    kwargs = {} if timeout is None else {"timeout": timeout}
    for part in system.parts:
        if part.on_aie:
            continue
        with design.ctx:
            try:
                rtl = lower_to_rtl(part.module)
            except (UnsupportedOpError, ConfigError) as err:
                out.update({layer: {"error": str(err)} for u in system.planner.units[slice(*part.units)]
                            for layer in u.layers})
                continue
        res = yosys.synth(rtl.verilog(), rtl.top, family, verbose=verbose, **kwargs)
        out.update({k.layer: res["modules"].get(k.name, {}) for k in rtl.kernels})
    system.yosys = out
    return out


def _yosys_of(system: VersalSystem, layers: list[str]) -> dict | None:
    if system.yosys is None:
        return None
    rows = [system.yosys[layer] for layer in layers if layer in system.yosys]
    if not rows:
        return None
    errors = [r["error"] for r in rows if "error" in r]
    if errors:
        return {"error": errors[0]}
    from fxflow.lowering.rtl.yosys import SHOWN

    return {k: sum(r.get(k, 0) for r in rows) for k in SHOWN}


def _why(system: VersalSystem, unit: int, row: dict, target: str, all_pl: list[str]) -> str:
    """Why a layer runs where it does: forced, no AIE form, or the metric — against the layer's own comparison
    (the constraint that overrode it) and against the best plan that puts it on the other target."""
    if system.options.partition != "auto":
        return "forced"
    if row["aie"] is None and target == "pl":
        return "PL only: " + (row["aie_reason"] or "no AIE form")
    if row["aie"] is None:  # inside a segment: no smaller run than the segment's can hold it
        return f"on AIE segment {system.plan.segment_of(unit)}: least LARE of the feasible plans ({system.plan.lare:.4g})"
    span = f" (with layers '{row['aie_span'][0]}'..'{row['aie_span'][1]}')" if "aie_span" in row else ""
    own = "pl" if row["pl"]["lare"] <= row["aie"]["lare"] else "aie"
    where = f"AIE segment {system.plan.segment_of(unit)}" if target == "aie" else "PL"
    why = f"on {where}: least LARE of the feasible plans ({system.plan.lare:.4g})"
    if own == target:
        why = f"{why}; alone{span} it is cheaper on {target} too"
    elif target == "aie" and all_pl:
        why = f"{why}; alone{span} it is cheaper on PL, but all on PL is infeasible: {all_pl[0]}"
    else:
        why = f"{why}; alone{span} it would be cheaper on {own} (the boundary or the other layers decide)"
    other = "pl" if target == "aie" else "aie"
    alt = system.planner.alternative(unit, other)
    if alt is None:
        return why
    if alt.feasible:
        return f"{why}; the best plan with it on {other.upper()} has LARE {alt.lare:.4g}"
    return f"{why}; every plan with it on {other.upper()} is infeasible, e.g. {alt.problems[0]}"


def boundary(system: VersalSystem, segment: int | None = None) -> list[dict]:
    """The PLIO ports of the AIE parts (or of one segment): direction, shim column and port, FIFO, elements
    and beats per batch."""
    from fxflow.lowering.aie.cost import nbytes

    out = []
    for k, prog in enumerate(system.aie_programs):
        if segment is None or k == segment:
            out += [{"segment": k, **b} for b in _ports(prog, nbytes)]
    return out


def _ports(prog, nbytes) -> list[dict]:
    out = []
    for way, ports in (("pl_to_aie", prog.inputs), ("aie_to_pl", prog.outputs)):
        for p in ports:
            f = prog.fifo(p.fifo)
            out.append({"port": p.fifo, "direction": way, "shim": list(p.shim), "plio": p.channel,
                        "store": f.store, "elements": f.size, "bits": prog.device.plio_bits,
                        "beats": -(-f.size * nbytes(f.store) * 8 // prog.device.plio_bits),
                        "features": [p.first_slice * p.slice_len, (p.first_slice + p.slices) * p.slice_len]})
    return out


def format_report(rep: dict) -> str:
    cols = ["layer", "target", "PL LARE", "AIE LARE", "PL lat ns", "AIE lat ns", "DSP", "LUT", "tiles"]
    rows = []
    for r in rep["layers"]:
        a = r["aie"] or {}
        rows.append([r["layer"], r["target"], f"{r['pl']['lare']:.4g}", f"{a['lare']:.4g}" if a else "-",
                     f"{r['pl']['latency_ns']:.4g}", f"{a['latency_ns']:.4g}" if a else "-", str(r["pl"]["dsp"]),
                     str(r["pl"]["lut"]), str(a.get("tiles", "-"))])
    if any("yosys" in r["pl"] for r in rep["layers"]):  # after Design.synth(): measured PL LUTs
        cols.append("yosys LUT")
        for x, r in zip(rows, rep["layers"]):
            y = r["pl"].get("yosys") or {}
            x.append("-" if not y or r["target"] != "pl" else str(y.get("lut", y.get("error", "-"))))
    widths = [max(len(c), *(len(x[i]) for x in rows)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(x, widths)) for x in rows]
    p = rep["plan"]
    lines.append(f"{rep['device']} plan ({'auto' if rep['partition'] == 'auto' else 'forced'}): latency "
                 f"{p['latency_ns']:.4g} ns (batch fill {p['fill_ns']:.4g} ns), interval {p['interval_ns']:.4g} ns "
                 f"per sample = {p['rate_mhz']:.4g} MHz (target {rep['target_rate_mhz']:g} MHz), "
                 f"R_PL {p['r_pl']:.4f} + R_AIE {p['r_aie']:.4f}, LARE {p['lare']:.4g}")
    for seg in rep.get("segments", []):
        lines.append(f"  AIE segment {seg['segment']}: layers {', '.join(seg['layers'])}; {seg['tiles']} tiles in "
                     f"columns {seg['array_columns'][0]}..{seg['array_columns'][1]}, "
                     f"{seg['plio_in']} + {seg['plio_out']} PLIO ports, grids {seg['splits']}, latency "
                     f"{seg['latency_ns']:.4g} ns + fill {seg['fill_ns']:.4g} ns, {seg['interval_ns']:.4g} ns per sample")
    lines += [f"  {r['layer']} on {r['target'].upper()}: {r['why']}" for r in rep["layers"]]
    many = len(rep.get("segments", [])) > 1
    for b in rep["boundary"]:
        lines.append(f"  PLIO {'segment %d ' % b['segment'] if many else ''}{b['port']}: {b['direction']} "
                     f"shim {tuple(b['shim'])} port {b['plio']}, "
                     f"{b['elements']} x {b['store']} = {b['beats']} beats of {b['bits']} bits per batch")
    return "\n".join(lines)


def write(design, system: VersalSystem, path):
    from fxflow.lowering.versal.project import write_project

    rep = report(system)
    system.written = write_project(design, system, path, rep, format_report(rep))
    return system.written
