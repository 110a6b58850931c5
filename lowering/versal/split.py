"""Cut a planned df graph into its parts in dataflow order: the PL head (units before the first AIE segment),
each AIE segment, the PL part between two segments and the PL tail, each a module with one df.graph of its own
(parsed from the planned IR, so every part keeps the exact kernels, formats and attributes of the whole).

Roles: `pl_head`, `aie` (one segment) or `aie0`, `aie1`, ... (several), `pl_mid0` (between `aie0` and `aie1`),
..., `pl_tail`; they name the project's directories."""

from __future__ import annotations

from dataclasses import dataclass

from fxflow.ir import ir, str_attr

from fxflow.lowering.versal.plan import Plan, cut_value


@dataclass
class Part:
    role: str  # "pl_head", "aie" | "aie<i>", "pl_mid<i>", "pl_tail"
    units: tuple[int, int]
    module: ir.Module
    segment: int | None = None  # the AIE segment's index (AIE parts)

    @property
    def on_aie(self) -> bool:
        return self.segment is not None


def layout(n: int, segments) -> list[tuple[str, int, int, int | None]]:
    """(role, first unit, end unit, segment index) of every non-empty part of n units with these AIE segments."""
    out, pos, many = [], 0, len(segments) > 1
    for k, (a, b) in enumerate(segments):
        if a > pos:
            out.append(("pl_head" if k == 0 else f"pl_mid{k - 1}", pos, a, None))
        out.append((f"aie{k}" if many else "aie", a, b, k))
        pos = b
    if pos < n:
        out.append(("pl_tail" if segments else "pl_head", pos, n, None))
    return out


def parts(text: str, units: list, plan: Plan, top: str) -> list[Part]:
    """The non-empty parts of the plan, in dataflow order (call inside the design's Context)."""
    return [Part(role, (lo, hi), extract(text, units, lo, hi, f"{top}_{role}"), seg)
            for role, lo, hi, seg in layout(len(units), plan.segments)]


def extract(text: str, units: list, lo: int, hi: int, name: str) -> ir.Module:
    """A module whose df.graph holds units [lo, hi) of the graph in `text`: the tensor crossing boundary lo
    becomes its argument, the one crossing hi its result."""
    from fxflow.dialects.df.graph import graph_of, kernels_of

    from fxflow.lowering.versal.cost import Unit

    module = ir.Module.parse(text)
    graph = graph_of(module, "Versal split")
    block = graph.regions[0].blocks[0]
    by_name = {ir.StringAttr(k.attributes["sym_name"]).value: k for k in kernels_of(graph)}
    local = [Unit(u.name, u.layers, [by_name[ir.StringAttr(k.attributes["sym_name"]).value] for k in u.kernels])
             for u in units]
    ret = list(block.operations)[-1].operation
    if hi < len(local):
        ret.operands[0] = cut_value(graph, local, hi)
    if lo > 0:
        src = cut_value(graph, local, lo)
        arg = block.add_argument(src.type, ir.Location.unknown())
        keep = {k for u in local[lo:hi] for k in _names(u.kernels)}
        for use in list(src.uses):
            owner = use.owner
            if owner.name == "df.return" or _name(owner) in keep:
                owner.operands[use.operand_number] = arg
    kept = {k for u in local[lo:hi] for k in _names(u.kernels)}
    for op in reversed([o.operation for o in block.operations][:-1]):
        if op.name == "df.kernel" and _name(op) in kept:
            continue
        if all(not list(r.uses) for r in op.results):
            op.erase()
    if lo > 0:
        block.erase_argument(0)
    graph.attributes["sym_name"] = str_attr(name)
    return module


def _name(op) -> str | None:
    return ir.StringAttr(op.attributes["sym_name"]).value if op.name == "df.kernel" else None


def _names(kernels) -> list[str]:
    return [_name(k) for k in kernels]
