"""convert-fxp-to-df: turn a fixed-point `fxp` function into a `df.graph` of kernels joined by channels.

Each compute op (dense, relu, add, internal cast) becomes one `df.kernel` named after its layer (the
PyTorch module path, sanitized into a C++ identifier; the original stays in `layer`), with the constants it
reads cloned inside (kernels are isolated from above).  The casts of float inputs at the function boundary
disappear: the graph's arguments carry the input format and the caller (emulator, testbench) performs that
assignment.  Reuse factor and strategy come from the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

from fxflow.config import Config
from fxflow.dialects.df import ChannelOp, GraphOp, build_kernel, build_return, build_yield
from fxflow.dialects.fxp import COMPUTE_OPS, format_of
from fxflow.errors import FxflowError
from fxflow.ir import defining_op, i64_attr, ir, layer_name, str_attr
from fxflow.names import c_identifier
from fxflow.passes.registry import register_pass



@dataclass
class FxpToDfOptions:
    top: str = ""  # graph name; default: the function's name
    io_type: str = "io_parallel"
    reuse_factor: int = 1
    strategy: str = "latency"
    config_obj: Config | None = None

    def config(self) -> Config:
        if self.config_obj is not None:
            return self.config_obj
        return Config.from_dict({"model": {"reuse_factor": self.reuse_factor, "strategy": self.strategy}})


@register_pass("convert-fxp-to-df", "Build a df.graph with one df.kernel per fxp layer op", FxpToDfOptions)
def convert_fxp_to_df(module_op, options: FxpToDfOptions | None = None) -> None:
    options = options or FxpToDfOptions()
    if options.io_type not in ("io_parallel", "io_stream"):
        raise FxflowError(f"unknown io_type '{options.io_type}' (use io_parallel or io_stream)")
    cfg = options.config()
    body = module_op.regions[0].blocks[0]
    funcs = [op for op in body.operations if op.operation.name == "func.func"]
    if len(funcs) != 1:
        raise FxflowError(f"convert-fxp-to-df expects exactly one function, found {len(funcs)}")
    fn = funcs[0]
    top = options.top or ir.StringAttr(fn.attributes["sym_name"]).value
    with ir.InsertionPoint(fn), fn.location:
        graph = _build_graph(fn, c_identifier(top, prefix="top"), options.io_type, cfg)
    fn.operation.erase()
    if options.io_type == "io_stream":  # pixel-stream channels, one per reader (lowering/df_stream.py)
        from fxflow.lowering.df_stream import streamify

        streamify(graph.operation)


def _build_graph(fn, top: str, io_type: str, cfg: Config):
    fblock = fn.regions[0].blocks[0]
    ops = list(fblock.operations)
    mapping: dict = {}  # old value -> new value (ir.Value is hashable)
    # Boundary casts from float arguments become graph arguments of the cast's type.
    arg_types, boundary = [], {}
    for arg in fblock.arguments:
        users = [u.owner for u in arg.uses]
        if format_of(arg.type) is None:
            if len(users) != 1 or users[0].name != "fxp.cast":
                raise FxflowError(f"function argument {arg.get_name()} must be cast to a fixed-point format once")
            boundary[users[0]] = arg
            arg_types.append(users[0].results[0].type)
        else:
            arg_types.append(arg.type)
    graph = GraphOp(str_attr(top), str_attr(io_type))
    gblock = graph.body.blocks.append(*arg_types)
    for i, arg in enumerate(fblock.arguments):
        mapping[arg] = gblock.arguments[i]
    for cast_op, arg in boundary.items():
        mapping[cast_op.results[0]] = mapping[arg]
    taken: set[str] = set()
    with ir.InsertionPoint(gblock):
        for op in ops:
            o = op.operation
            if o.name == "fxp.constant" or (o in boundary):
                continue
            if o.name == "func.return":
                unmapped = [k for k, v in enumerate(o.operands) if v not in mapping]
                if unmapped:
                    raise FxflowError(f"the function returns a value that no layer computes (result {unmapped[0]}, "
                                      "a constant?); a dataflow graph's outputs come from kernels or inputs")
                build_return([mapping[v] for v in o.operands])
                continue
            if o.name not in COMPUTE_OPS:
                raise FxflowError(f"cannot place '{o.name}' ({o.location}) in a dataflow kernel")
            if any(o == b for b in boundary):
                continue
            layer = layer_name(o.location) or o.name.split(".")[1]
            lc = cfg.layer(layer)
            inputs = []  # each distinct value once (x * x reads one port)
            for v in o.operands:
                if not _is_constant(v) and not any(v == u for u in inputs):
                    inputs.append(v)
            consts = [v for v in o.operands if _is_constant(v)]
            with o.location:
                kernel = build_kernel([mapping[v] for v in inputs], [r.type for r in o.results],
                                      c_identifier(layer, taken), layer, lc.reuse_factor, lc.strategy)
            kblock = kernel.body.blocks.append(*[v.type for v in inputs])
            local = {v: kblock.arguments[i] for i, v in enumerate(inputs)}
            with ir.InsertionPoint(kblock):
                for c in consts:
                    if c not in local:
                        local[c] = c.owner.clone().results[0]
                new = o.clone()
                for i, v in enumerate(o.operands):
                    new.operands[i] = local[v]
                build_yield(list(new.results))
            for r_old, r_new in zip(o.results, kernel.operation.results):
                with o.location:
                    ch = ChannelOp(r_new, r_new.type, str_attr("array"), i64_attr(1))
                mapping[r_old] = ch.output
    return graph


def _is_constant(v: ir.Value) -> bool:
    owner = defining_op(v)
    return owner is not None and owner.name == "fxp.constant"
