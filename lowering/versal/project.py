"""The joint Versal project directory:

    README.md            the system: per-layer target and why, PLIO ports, end-to-end figures, how to build
    plan.json            the plan and the report as data
    pl_head/, pl_mid<i>/, pl_tail/
                         Vitis HLS projects of the PL parts (as `backend="vitis"` writes them), with
                         firmware/<top>_to_aie*.{h,cpp} / <top>_from_aie*.{h,cpp} (the AXI4-Stream bridges
                         to/from the AIE PLIO ports) and their <name>_tb.cpp (C simulations on files of samples /
                         beats); pl_mid<i> (between segments i and i+1) holds the bridge out of segment i (which
                         runs its top) and the bridge into segment i+1
    pl_in/, pl_out/      bridges alone, when an AIE segment starts / ends the design (no PL layer there)
    aie/ or aie<i>/      the mlir-aie project of each AIE segment (aie.mlir with its PLIO ports, kernels/)
"""

from __future__ import annotations

import json
from pathlib import Path

from fxflow.names import inside

from .bridge import from_aie_source, header, ports_of, to_aie_source


def write_project(design, system, out_dir, rep: dict, report_text: str) -> Path:
    """Write the parts, the bridges, `rep` (the driver's report, as plan.json) and a README around
    `report_text` (its printed form). The driver passes both, so this writer does not import the driver."""
    from fxflow.lowering.aie.project import write_project as write_aie
    from fxflow.lowering.hls.project import write_project as write_hls

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for part in system.parts:
        name = f"{system.top}_{part.role}"
        if part.on_aie:
            write_aie(system.aie_programs[part.segment], inside(out, part.role))
            continue
        with design.ctx:
            write_hls(part.module, inside(out, part.role), project_name=name)
    for k in range(len(system.aie_programs)):
        _bridges(system, out, k)
    inside(out, "plan.json").write_text(json.dumps(rep, indent=2, sort_keys=True, default=str) + "\n")
    inside(out, "README.md").write_text(readme(design, system, report_text))
    return out


def _manifest(root: Path) -> dict:
    return json.loads((root / "project.json").read_text())


def _bridges(system, out: Path, k: int) -> None:
    """The PL side of AIE segment k's input and output PLIO ports: the bridge in runs the PL head's top (the
    first segment) or just packs the PL part's rows (later segments: the bridge out of the previous segment
    ran that part's top); the bridge out runs the next PL part's top."""
    prog = system.aie_programs[k]
    m = prog.batch
    head, tail = system.neighbours(k)
    to_name, from_name = system.bridge_names(k)
    top_in = (prog.in_fmt.to_ap(), prog.in_features)
    if head is not None:
        man = _manifest(out / head.role)
        mid = (man["outputs"][0]["ctype"], man["outputs"][0]["size"])
        if head.role == "pl_head":
            src, top = (man["inputs"][0]["ctype"], man["inputs"][0]["size"]), man["top"]
        else:
            src, top = mid, None
        root, includes, typedefs = out / head.role, [f"{man['top']}.h"], []
    else:
        src, top, mid = ("plio_in_t", prog.in_features), None, ("plio_in_t", prog.in_features)
        root, includes, typedefs = out / "pl_in", [], [f"typedef {top_in[0]} plio_in_t;  // the design input"]
    name = to_name
    ports = ports_of(prog, "in")
    decl, src_text = to_aie_source(name, m, src, top, mid, prog.in_fmt, ports)
    _write_bridge(root, name, header(name, f"FXFLOW_{name.upper()}_H_", includes, typedefs, decl,
                                     ["PL -> AIE: one call moves one batch of rows into the input PLIO ports."]),
                  src_text, tb_to_aie(name, m, src, ports))
    if tail is not None:
        man = _manifest(out / tail.role)
        mid, top, dst = (man["inputs"][0]["ctype"], man["inputs"][0]["size"]), man["top"], \
            (man["outputs"][0]["ctype"], man["outputs"][0]["size"])
        out_fmt = man["outputs"][0]
        root, includes, typedefs = out / tail.role, [f"{man['top']}.h"], []
    else:
        mid = dst = ("plio_out_t", prog.out_features)
        top, out_fmt = None, {"k": prog.out_fmt.k, "width": prog.out_fmt.width}
        root, includes = out / "pl_out", []
        typedefs = [f"typedef {prog.out_fmt.to_ap()} plio_out_t;  // the design output"]
    name = from_name
    ports = ports_of(prog, "out")
    decl, src_text = from_aie_source(name, m, dst, top, mid, prog.out_fmt, ports)
    _write_bridge(root, name, header(name, f"FXFLOW_{name.upper()}_H_", includes, typedefs, decl,
                                     ["AIE -> PL: one call takes one batch of rows from the output PLIO ports."]),
                  src_text, tb_from_aie(name, m, dst, ports, out_fmt))


def _write_bridge(root: Path, name: str, head_text: str, src_text: str, tb_text: str) -> None:
    (root / "firmware").mkdir(parents=True, exist_ok=True)
    inside(root, f"firmware/{name}.h").write_text(head_text)
    inside(root, f"firmware/{name}.cpp").write_text(src_text)
    inside(root, f"{name}_tb.cpp").write_text(tb_text)


def tb_to_aie(name: str, m: int, src: tuple[str, int], ports) -> str:
    """Reads samples (one line of floats each) from argv[1], writes `port beat` lines (hex) to argv[2]."""
    lines = ["// C simulation of the PL -> AIE bridge: samples in, PLIO beats out (generated by fxflow).",
             "#include <cstdio>", f'#include "firmware/{name}.h"', "", "int main(int argc, char **argv) {",
             "    if (argc < 3) { std::fprintf(stderr, \"usage: tb samples.txt beats.txt\\n\"); return 2; }",
             "    FILE *in = std::fopen(argv[1], \"r\"), *out = std::fopen(argv[2], \"w\");",
             "    if (!in || !out) return 2;",
             f"    static {src[0]} x[{m}][{src[1]}];",
             *[f"    hls::stream<plio_t> s{i};" for i in range(len(ports))],
             "    for (;;) {", "        int rows = 0;",
             f"        for (; rows < {m}; rows++) {{", "            int i = 0;",
             f"            for (; i < {src[1]}; i++) {{ double v; if (std::fscanf(in, \"%lf\", &v) != 1) break; "
             "x[rows][i] = v; }",
             "            if (i == 0) break;", "        }",
             "        if (rows == 0) break;",
             f"        for (int r = rows; r < {m}; r++) for (int i = 0; i < {src[1]}; i++) x[r][i] = 0;",
             f"        {name}(x, {', '.join(f's{i}' for i in range(len(ports)))});"]
    for i in range(len(ports)):
        lines += [f"        while (!s{i}.empty()) {{", f"            plio_t w = s{i}.read();",
                  f"            std::fprintf(out, \"{i} %08x%08x%08x%08x\\n\", (unsigned)w.range(127, 96), "
                  "(unsigned)w.range(95, 64), (unsigned)w.range(63, 32), (unsigned)w.range(31, 0));", "        }"]
    lines += [f"        if (rows < {m}) break;", "    }", "    std::fclose(in);", "    std::fclose(out);",
              "    return 0;", "}", ""]
    return "\n".join(lines)


def tb_from_aie(name: str, m: int, dst: tuple[str, int], ports, out_fmt: dict) -> str:
    """Reads batches of `port beat` lines (hex) from argv[1], writes the rows' stored integers to argv[2]."""
    raw = f"ap_{'int' if out_fmt['k'] else 'uint'}<{out_fmt['width']}>"
    lines = ["// C simulation of the AIE -> PL bridge: PLIO beats in, result rows out (generated by fxflow).",
             "#include <cstdio>", f'#include "firmware/{name}.h"', "",
             "static bool beat(FILE *in, plio_t &w) {", "    int port; unsigned a, b, c, d;",
             "    if (std::fscanf(in, \"%d %8x%8x%8x%8x\", &port, &a, &b, &c, &d) != 5) return false;",
             "    w.range(127, 96) = a; w.range(95, 64) = b; w.range(63, 32) = c; w.range(31, 0) = d;",
             "    return true;", "}", "", "int main(int argc, char **argv) {",
             "    if (argc < 3) { std::fprintf(stderr, \"usage: tb beats.txt results.txt\\n\"); return 2; }",
             "    FILE *in = std::fopen(argv[1], \"r\"), *out = std::fopen(argv[2], \"w\");",
             "    if (!in || !out) return 2;",
             f"    static {dst[0]} z[{m}][{dst[1]}];",
             *[f"    hls::stream<plio_t> s{i};" for i in range(len(ports))],
             "    for (;;) {", "        plio_t w;", "        bool ok = true;"]
    for i, p in enumerate(ports):
        lines += [f"        for (int k = 0; ok && k < {p.beats(m)}; k++) {{ ok = beat(in, w); if (ok) s{i}.write(w); }}"]
    lines += ["        if (!ok) break;", f"        {name}({', '.join(f's{i}' for i in range(len(ports)))}, z);",
              f"        for (int r = 0; r < {m}; r++) {{",
              f"            for (int i = 0; i < {dst[1]}; i++) {{ {raw} v; v.range() = z[r][i].range(); "
              "std::fprintf(out, \"%lld \", (long long)v.to_int64()); }",
              "            std::fprintf(out, \"\\n\");", "        }", "    }", "    std::fclose(in);",
              "    std::fclose(out);", "    return 0;", "}", ""]
    return "\n".join(lines)


def readme(design, system, table: str) -> str:
    plan, prog = system.plan, system.aie_program
    parts = ", ".join(f"`{p.role}/`" for p in system.parts)
    lines = [f"# {design.project_name}: a Versal {system.planner.device.name} design on PL and AI Engines "
             "(generated by fxflow)", "",
             f"Parts in dataflow order: {_mark_aie(parts, system)}.  Every layer's target "
             "is the reserved `placement` attribute of its df.kernel (`pl` / `aie`).", "",
             "* `pl_head/`, `pl_mid<i>/`, `pl_tail/` — Vitis HLS projects of the programmable-logic parts "
             "(io_parallel top, one sample per call; `make` builds their C simulation).",
             "* `aie/` (one AI Engine segment) or `aie0/`, `aie1/`, ... — the mlir-aie program of each AI Engine "
             "segment: `aie.mlir` with PLIO ports instead of shim DMA at its input and output, `kernels/` (AIE API "
             "C++).",
             "* `firmware/<top>_to_aie*.*` / `<top>_from_aie*.*` in the PL projects (or in `pl_in/` / `pl_out/` "
             "when no PL layer borders the design's first / last AIE segment) — the AXI4-Stream bridges, numbered "
             "by segment when there are several: one call moves one batch of "
             f"{prog.batch if prog else '-'} rows; `<name>_tb.cpp` simulates each on text files.",
             "* `plan.json` — the plan and this report as data.", "",
             "PLIO beats (128 bits, 312.5 MHz): per batch and port, the port's feature slices slice-major "
             "([slice][row][element]), each element the stored integer of the boundary format extended to its "
             "AIE lane (8 or 16 bits), lanes from bit 0, the last beat zero-padded." + _fmap_note(system)
             + _token_note(system), "",
             "```", table, "```", "",
             "Metric (LARE, docs/design.md \"Versal\"): (R_PL + R_AIE) x T, R the weighted fraction of the binding "
             "PL resource / of the AIE tiles and PLIO ports, T the end-to-end latency (or the per-sample interval).",
             f"This plan: LARE {plan.lare:.4g}, latency {plan.latency_ns:.4g} ns, interval {plan.interval_ns:.4g} ns.",
             ""]
    return "\n".join(lines)


def _fmap_note(system) -> str:
    """The feature-map ports' layout, when a segment runs conv / pool / add layers."""
    if not any(p.fmap is not None for prog in system.aie_programs for p in prog.inputs + prog.outputs):
        return ""
    return ("  A feature-map port (conv / pool / add segments) carries each sample's [C, H, W] map channels-last "
            "instead, [H][W][Cp], channels zero-padded to Cp (see the `// PLIO` comments in `aie.mlir`).")


def _token_note(system) -> str:
    """The token ports' layout, when a segment runs token layers (the AIE attention path)."""
    if not any(u.aie and u.aie.get("token") for a, b in system.plan.segments for u in system.planner.units[a:b]):
        return ""
    return ("  A token segment's port (Linear over the tokens, LayerNorm, attention) carries each sample's whole "
            "[tokens, features] value row-major as its one slice (batch 1: one sample per AIE kernel call).")


def _mark_aie(parts: str, system) -> str:
    for p in system.parts:
        if p.on_aie:
            parts = parts.replace(f"`{p.role}/`", f"`{p.role}/` (AI Engines)")
    return parts
