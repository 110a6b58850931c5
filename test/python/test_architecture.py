"""The import graph of fxflow has no circles and only goes down the layers.

The graph is read with `ast` from the source folders that pyproject.toml maps into the `fxflow` package
(`[tool.setuptools] package-dir`). It counts `import`/`from ... import` both at module level and inside
functions, because a function-level import is still a dependency: it only hides a circle from Python. Nothing
is imported or executed. The layers (docs/design.md, issue 19):

    L0 foundation  errors, names, toolchain, config, hls4ml_compat, fixed/, approx definitions
    L1 IR          ir, scalar_eval, dialects/
    L2 executors   emulator/, estimate/ (+ design_report), devices, hls4ml_layout
    L3 transforms  lowering/ (import, raise, fxp->df; not the backend folders), passes/, pipeline
    L4 backends    lowering/{hls,aie,rtl,versal}/, one folder each; versal may import hls, aie and rtl, no other
                   backend imports another
    L5 API         fxflow/__init__, compiler, design, report, profiling, precision_search, softmax_report,
                   dse/, cli, approx.{layer_search,torch,finetune,demo}, the fxflow.rtl/versal re-exports, tools,
                   examples

A module imports only from its own layer or below. Every module must be placed by `LAYERS` (a new file that
matches no prefix fails the test, so whoever adds it decides where it belongs).
"""

import ast
import collections
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FOUNDATION, IR, EXECUTORS, TRANSFORMS, BACKENDS, API = range(6)
LAYER_NAMES = ["L0 foundation", "L1 IR", "L2 executors", "L3 transforms", "L4 backends", "L5 API"]

# Module-name patterns -> (layer, backend). The longest matching pattern wins. "a.b" matches a.b and a.b.*,
# "a.b_*" matches every name starting with "a.b_" (fxflow.cli_common next to fxflow.cli), "a.b$" matches a.b
# only (a package facade whose submodules live elsewhere in the table). One prefix per backend folder
# (lowering/<backend>/) and per family package (emulator/, estimate/, dse/).
LAYERS = {
    # L0 foundation: semantics and definitions, no MLIR
    "fxflow.errors": (FOUNDATION, None),
    "fxflow.names": (FOUNDATION, None),
    "fxflow.version": (FOUNDATION, None),
    "fxflow.toolchain": (FOUNDATION, None),
    "fxflow.config": (FOUNDATION, None),
    "fxflow.hls4ml_compat": (FOUNDATION, None),
    "fxflow.fixed": (FOUNDATION, None),
    **{f"fxflow.approx.{m}": (FOUNDATION, None)
       for m in ("expr", "families", "multiplier", "user", "select", "metrics", "ranges", "emulate", "cost")},
    # L1 IR
    "fxflow.ir": (IR, None),
    "fxflow.scalar_eval": (IR, None),
    "fxflow.dialects": (IR, None),
    # L2 executors and analyses
    "fxflow.emulator": (EXECUTORS, None),
    "fxflow.estimate": (EXECUTORS, None),
    "fxflow.devices": (EXECUTORS, None),
    "fxflow.hls4ml_layout": (EXECUTORS, None),  # an analysis of the fxp IR (what hls4ml computes instead)
    # L3 target-independent transforms
    "fxflow.lowering": (TRANSFORMS, None),
    "fxflow.passes": (TRANSFORMS, None),
    "fxflow.pipeline": (TRANSFORMS, None),
    # L4 backends: one folder each
    "fxflow.lowering.hls": (BACKENDS, "hls"),
    "fxflow.lowering.aie": (BACKENDS, "aie"),
    "fxflow.lowering.rtl": (BACKENDS, "rtl"),
    "fxflow.lowering.versal": (BACKENDS, "versal"),
    # L5 API and tools
    "fxflow$": (API, None),
    "fxflow.approx$": (API, None),
    "fxflow.compiler": (API, None),
    "fxflow.design": (API, None),
    "fxflow.report": (API, None),
    "fxflow.profiling": (API, None),
    "fxflow.precision_search": (API, None),
    "fxflow.softmax_report": (API, None),
    "fxflow.dse": (API, None),
    "fxflow.cli": (API, None),
    "fxflow.cli_*": (API, None),
    **{f"fxflow.approx.{m}": (API, None) for m in ("layer_search", "torch", "finetune", "demo")},
    "fxflow.lowering.versal.demo": (API, None),  # a runnable demo (python -m), not part of the backend
    "fxflow.rtl": (API, None),  # documented public paths kept as re-exports: fxflow.rtl.characterize,
    "fxflow.versal": (API, None),  # fxflow.versal.demo
    "fxflow.tools": (API, None),
    "fxflow.examples": (API, None),
}

# The Versal backend composes the others; no other backend imports another. An L4 module of no backend (None:
# shared by all of them) may be imported by any backend.
BACKEND_USES = {"versal": {"hls", "aie", "rtl"}}

@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    file: str
    line: int

    def __str__(self):
        return f"{self.src} -> {self.dst} ({self.file}:{self.line})"


def package_dirs(root=ROOT):
    """package name -> source folder, from pyproject.toml, so a new mapped folder is scanned too."""
    with open(root / "pyproject.toml", "rb") as f:
        mapping = tomllib.load(f)["tool"]["setuptools"]["package-dir"]
    return {pkg: root / d for pkg, d in mapping.items() if pkg}


def module_files(root=ROOT):
    """module name -> .py file, for every module under the mapped folders."""
    dirs = package_dirs(root)
    mapped = set(dirs.values())
    mods = {}
    for pkg, d in dirs.items():
        for path in sorted(d.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            # a folder mapped on its own (dialects/ under ...) is scanned under its own package name only
            if any(m != d and m in path.parents and d in m.parents for m in mapped):
                continue
            parts = list(path.relative_to(d).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            mods[".".join([pkg, *parts])] = path
    return mods


def _rel(path, root=ROOT) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _owner(name, mods):
    """The module `name` refers to: itself, or the nearest enclosing module (for `import a.b.attr`)."""
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name


def import_edges(mods, root=ROOT):
    """Every import of an fxflow module by an fxflow module, at module level or inside a function."""
    edges = []
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        rel = _rel(path, root)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = mod.split(".")[: None if is_pkg else -1]
                    parts = parts[: len(parts) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            else:
                continue
            for t in targets:
                dst = _owner(t, mods)
                if dst and dst != mod:
                    edges.append(Edge(mod, dst, rel, node.lineno))
    return edges


def classify(mod):
    """(layer, backend) of a module from the longest matching `LAYERS` pattern, or None."""
    best, found = -1, None
    for pat, value in LAYERS.items():
        if pat.endswith("$"):
            hit = mod == pat[:-1]
        elif pat.endswith("*"):
            hit = mod.startswith(pat[:-1])
        else:
            hit = mod == pat or mod.startswith(pat + ".")
        if hit and len(pat) > best:
            best, found = len(pat), value
    return found


def upward(edge, layer_of):
    """Why the edge goes against the layering, or None if it is allowed."""
    (sl, sb), (dl, db) = layer_of(edge.src), layer_of(edge.dst)
    if dl > sl:
        return f"{LAYER_NAMES[sl]} imports {LAYER_NAMES[dl]}"
    if sl == dl == BACKENDS and None not in (sb, db) and sb != db and db not in BACKEND_USES.get(sb, ()):
        return f"backend {sb} imports backend {db}"
    return None


def strongly_connected(nodes, edges):
    """Tarjan's components of size > 1, each a sorted tuple of modules (iterative: no recursion limit)."""
    succ = collections.defaultdict(set)
    for e in edges:
        succ[e.src].add(e.dst)
    index, low, stack, on, comps = {}, {}, [], set(), []
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(succ[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(succ[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    comps.append(tuple(sorted(comp)))
    return sorted(comps, key=lambda c: (-len(c), c))


def describe_cycle(comp, edges):
    inside = set(comp)
    lines = [f"  {e}" for e in sorted(set(edges), key=str) if e.src in inside and e.dst in inside]
    return f"circle of {len(comp)} modules:\n" + "\n".join(lines)


def check(mods, edges, layer_of):
    """All architecture problems of a graph, as messages (empty when it is clean). No allowlist: every upward
    import and every circle is a problem."""
    problems = [f"{m} ({_rel(p)}) has no layer: add it to LAYERS in test_architecture.py"
                for m, p in sorted(mods.items()) if layer_of(m) is None]
    if problems:
        return problems
    for e in edges:
        why = upward(e, layer_of)
        if why is not None:
            problems.append(f"upward import: {e}: {why}")
    problems += [describe_cycle(comp, edges) for comp in strongly_connected(mods, edges)]
    return problems


@pytest.fixture(scope="module")
def graph():
    mods = module_files()
    return mods, import_edges(mods)


def test_every_module_has_a_layer(graph):
    mods, _ = graph
    missing = [f"{m} ({_rel(p)})" for m, p in sorted(mods.items()) if classify(m) is None]
    assert not missing, "modules no LAYERS pattern places:\n" + "\n".join(missing)


def test_imports_go_down_the_layers_without_circles(graph):
    mods, edges = graph
    problems = check(mods, edges, classify)
    assert not problems, "\n".join(problems)


def test_dialect_modules_keep_their_names(graph):
    # The MLIR Python bindings find a dialect's op classes under `fxflow.dialects.<namespace>` (ir.py).
    mods, _ = graph
    for name in ("fxflow.dialects.fxp", "fxflow.dialects.df"):
        assert name in mods and mods[name].name == "__init__.py", f"{name} must stay a package of that name"


def test_the_scan_sees_function_level_and_relative_imports(graph):
    # Guards the checker against silently reading nothing: facts of today's code that any layout keeps.
    mods, edges = graph
    assert len(mods) > 100
    assert any(e.src == "fxflow" and e.dst == "fxflow.compiler" for e in edges)  # inside __getattr__
    # `from .cwriter` inside the HLS backend
    assert any(e.src.startswith("fxflow.lowering.hls.") and e.dst == "fxflow.lowering.hls.cwriter" for e in edges)


def test_checker_reports_a_circle_an_upward_edge_and_an_unplaced_module(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools]\npackage-dir = { "fxflow" = "src", "fxflow.passes" = "p", "fxflow.lowering" = "l" }\n')
    src, p = tmp_path / "src", tmp_path / "p"
    (src / "fixed").mkdir(parents=True)
    p.mkdir()
    (src / "__init__.py").write_text("")
    (src / "errors.py").write_text("def f():\n    from .compiler import compile\n")  # L0 -> L5, in a function
    (src / "compiler.py").write_text("import fxflow.design\n")
    (src / "design.py").write_text("from fxflow import compiler\n")  # compiler <-> design
    (src / "fixed" / "__init__.py").write_text("from ..errors import f\n")
    (p / "__init__.py").write_text("")
    (p / "reuse.py").write_text("import numpy\nfrom fxflow.lowering.aie import driver\n")
    (tmp_path / "l" / "aie").mkdir(parents=True)
    (tmp_path / "l" / "__init__.py").write_text("")
    (tmp_path / "l" / "aie" / "__init__.py").write_text("")
    (tmp_path / "l" / "aie" / "driver.py").write_text("")
    (src / "stray.py").write_text("")

    mods = module_files(tmp_path)
    assert set(mods) >= {"fxflow", "fxflow.errors", "fxflow.fixed", "fxflow.passes.reuse",
                         "fxflow.lowering.aie.driver"}
    edges = import_edges(mods, tmp_path)
    assert Edge("fxflow.fixed", "fxflow.errors", "src/fixed/__init__.py", 1) in edges
    assert Edge("fxflow.passes.reuse", "fxflow.lowering.aie.driver", "p/reuse.py", 2) in edges

    problems = check(mods, edges, classify)
    assert problems == ["fxflow.stray (%s) has no layer: add it to LAYERS in test_architecture.py"
                        % (src / "stray.py")]
    del mods["fxflow.stray"]
    problems = check(mods, edges, classify)
    text = "\n".join(problems)
    assert "upward import: fxflow.errors -> fxflow.compiler (src/errors.py:2): L0 foundation imports L5 API" in text
    assert ("fxflow.passes.reuse -> fxflow.lowering.aie.driver (p/reuse.py:2): L3 transforms imports L4 backends"
            in text)
    assert ("circle of 2 modules:\n  fxflow.compiler -> fxflow.design (src/compiler.py:1)\n"
            "  fxflow.design -> fxflow.compiler (src/design.py:1)") in text
    assert len(problems) == 3

    # backend to backend: only versal may use the others
    edge = Edge("fxflow.lowering.versal.driver", "fxflow.lowering.hls.project", "f", 1)
    assert upward(edge, classify) is None
    assert (upward(Edge("fxflow.lowering.rtl.verilator", "fxflow.lowering.hls.csim", "f", 1), classify)
            == "backend rtl imports backend hls")
    shared = {"fxflow.lowering.rtl.driver": (BACKENDS, "rtl"), "fxflow.lowering.backends": (BACKENDS, None)}
    assert upward(Edge("fxflow.lowering.rtl.driver", "fxflow.lowering.backends", "f", 1), shared.get) is None
