"""Cut a planned df graph into its parts: the PL head (units before the AIE segment), the AIE segment and
the PL tail, each a module with one df.graph of its own (parsed from the planned IR, so every part keeps
the exact kernels, formats and attributes of the whole)."""

from __future__ import annotations

from dataclasses import dataclass

from fxflow.ir import ir, str_attr

from fxflow.lowering.versal.plan import Plan, cut_value


@dataclass
class Part:
    role: str  # "pl_head", "aie", "pl_tail"
    units: tuple[int, int]
    module: ir.Module


def parts(text: str, units: list, plan: Plan, top: str) -> list[Part]:
    """The non-empty parts of the plan, in dataflow order (call inside the design's Context)."""
    n = len(units)
    a, b = plan.segment if plan.segment else (n, n)
    out = []
    for role, lo, hi in (("pl_head", 0, a), ("aie", a, b), ("pl_tail", b, n)):
        if hi > lo:
            out.append(Part(role, (lo, hi), extract(text, units, lo, hi, f"{top}_{role}")))
    return out


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
