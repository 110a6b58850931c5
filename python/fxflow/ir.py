"""The only module that imports the MLIR Python bindings (from the pinned torch-mlir wheel).

A wheel bump that moves binding APIs is then a one-file change.  Everything else imports
`ir`, `passmanager`, `rewrite`, `ext`, and the upstream dialect modules from here.
"""

from torch_mlir import ir, passmanager, rewrite  # noqa: F401
from torch_mlir.dialects import arith, func, linalg, tensor  # noqa: F401
from torch_mlir.dialects import ext  # noqa: F401

PassManager = passmanager.PassManager

# Wrapping an op, the bindings import the Python module of its dialect, `<prefix>.<namespace>` for each search
# prefix, and remember only successes: without a prefix under which `fxp` and `df` exist, every wrapped fxp/df
# op retried `import torch_mlir.dialects.fxp` (~800 failed imports per compile).  Their modules live in
# `fxflow.dialects`, so the first lookup of each namespace succeeds and is cached for the process.
DIALECT_PREFIX = "fxflow.dialects"


def dialect_search_modules() -> list[str]:
    """The packages the bindings search for a dialect's Python module, in order."""
    return list(ext._cext.globals.dialect_search_modules)


if DIALECT_PREFIX not in dialect_search_modules():
    ext._cext.globals.append_dialect_search_prefix(DIALECT_PREFIX)


def i64_attr(value: int) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(value))


def str_attr(value: str) -> ir.StringAttr:
    return ir.StringAttr.get(value)


def layer_name(loc: ir.Location) -> str | None:
    """The PyTorch module path / ONNX node name carried by a NameLoc (`loc("fc1"(...))`), if any."""
    name = getattr(loc, "name_str", None)
    return name if name else None


def user_source(loc) -> str:
    """'file:line' of the innermost position in a location's call stack outside installed packages (the user's
    model code that called torch's nn module), else the innermost position, else ''."""
    import re

    frames = re.findall(r'"([^"]+)":(\d+):\d+', str(loc))
    for file, line in frames:
        if "site-packages" not in file and "dist-packages" not in file:
            return f"{file}:{line}"
    return f"{frames[0][0]}:{frames[0][1]}" if frames else ""


# A functional call (no module path) is named after its exported ATen node; the name PyTorch's own tracer
# (torch.fx, which hls4ml uses) gives the call rides along as a child NameLoc with this prefix.
TRACER_PREFIX = "torch.fx:"


def layer_alias(loc: ir.Location) -> str | None:
    """The torch.fx name of a functional call's layer (see TRACER_PREFIX), if the location carries one."""
    child = getattr(loc, "child_loc", None)
    name = getattr(child, "name_str", None) or ""
    return name[len(TRACER_PREFIX):] if name.startswith(TRACER_PREFIX) else None


def op_layer_names(module: ir.Module) -> set[str]:
    """The layer names on the operations of the module's functions (their top-level operations)."""
    return {n for f in module.body.operations for region in f.regions for block in region.blocks
            for op in block.operations if (n := layer_name(op.location))}


def named_loc(name: str, child: ir.Location | None = None) -> ir.Location:
    return ir.Location.name(name, childLoc=child) if child is not None else ir.Location.name(name)


def register_torch_dialect(ctx: ir.Context) -> None:
    """Make the `torch` dialect known to `ctx` (needed to import PyTorch programs into it)."""
    from torch_mlir.dialects import torch as torch_d

    torch_d.register_dialect(ctx)


def defining_op(value: ir.Value):
    """The Operation that defines `value` (None for a block argument)."""
    owner = value.owner
    if isinstance(owner, ir.Operation):
        return owner
    return getattr(owner, "operation", None) if not isinstance(owner, ir.Block) else None


def elements_array(attr, shape) -> "np.ndarray":
    """A DenseElementsAttr's values as a NumPy array of `shape`: int64 for integer elements, float64
    otherwise (splats expanded).  The one reader of constant payloads."""
    import numpy as np

    attr = ir.DenseElementsAttr(attr)
    integer = isinstance(ir.ShapedType(attr.type).element_type, ir.IntegerType)
    dtype = np.int64 if integer else np.float64
    if attr.is_splat:
        v = attr.get_splat_value()
        return np.full(list(shape), ir.IntegerAttr(v).value if integer else ir.FloatAttr(v).value, dtype=dtype)
    return np.array(attr).astype(dtype).reshape(list(shape))
