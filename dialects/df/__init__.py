"""`df`: spatial dataflow — a graph of kernels (one per layer) connected by channels.

    "df.graph"() ({ ^bb0(%x: tensor<1x16x!fxp.fixed<...>>):
        %0 = "df.kernel"(%x) ({ ^bb0(%a): ... fxp ops ...; "df.yield"(%y) })
               {sym_name = "fc1", layer = "fc1", reuse_factor = 1, strategy = "latency"}
        %1 = "df.channel"(%0) {kind = "array", depth = 1}
        ...
        "df.return"(%n)
    }) {sym_name = "myproject", io_type = "io_parallel"}

* `df.graph` is the top-level design (becomes the HLS top function / the AIE device program); it is
  isolated from above, its block arguments are the design inputs (already in their fixed-point format:
  the conversion from float is the caller's / testbench's assignment to the input type).
* `df.kernel` is one hardware unit: isolated from above (weights live inside as `fxp.constant`), with the
  parallelism knobs `reuse_factor` (initiation interval of its multiplier array) and `strategy`
  ("latency" fully unrolled, "resource" weights in BRAM, "distributed_arithmetic" unrolled with each weight
  matrix as one shared adder graph).  `placement` is reserved for the AIE backend
  (`"tile(col,row)"`) and the PL/AIE split (`"pl"` / `"aie"`).
* `df.channel` is a connection between kernels: `kind = "array"` (io_parallel: a completely partitioned
  array) or `"stream"` (io_stream: an hls::stream FIFO / an AIE object FIFO) with a `depth`.
"""


from typing import Any, Sequence

from fxflow.ir import ext, ir

from ..verify import emit, verifier

STRATEGIES = ("latency", "resource", "distributed_arithmetic")
# fully unrolled inside one pipeline (II = reuse factor); "distributed_arithmetic" builds each constant weight
# matrix as a shared adder graph (fxflow.fixed.addergraph) instead of one product per weight
UNROLLED = ("latency", "distributed_arithmetic")
IO_TYPES = ("io_parallel", "io_stream")
CHANNEL_KINDS = ("array", "stream")


class Df(ext.Dialect, name="df"):
    pass


# IRDL gives each variadic group one constraint variable, so all values of a group must have the same
# type.  Kernel ports (and the terminators) therefore use PORT_GROUPS variadic groups; consecutive values
# of one type share a group (`port_groups`), which allows up to PORT_GROUPS changes of type per op —
# e.g. a residual add whose two inputs have different formats.  Code reads the flat operand/result list.
PORT_GROUPS = 4


def _groups(prefix: str, kind) -> dict:
    return {f"{prefix}{i}": Sequence[kind[Any]] for i in range(PORT_GROUPS)}


def port_groups(items: list, type_of=lambda v: v.type) -> list[list]:
    """Split `items` into PORT_GROUPS runs of equal type (padded with empty groups)."""
    groups: list[list] = []
    for item in items:
        if groups and str(type_of(groups[-1][-1])) == str(type_of(item)):
            groups[-1].append(item)
        else:
            groups.append([item])
    if len(groups) > PORT_GROUPS:
        from fxflow.errors import FxflowError

        raise FxflowError(f"a dataflow op can take at most {PORT_GROUPS} runs of differently typed values, "
                          f"got {len(groups)}: {[str(type_of(g[0])) for g in groups]}")
    return groups + [[] for _ in range(PORT_GROUPS - len(groups))]


class ReturnOp(Df.Operation, name="return", traits=[ir.IsTerminatorTrait]):
    """Ends a df.graph; its operands are the design outputs."""

    __annotations__ = _groups("values", ext.Operand)


class YieldOp(Df.Operation, name="yield", traits=[ir.IsTerminatorTrait]):
    """Ends a df.kernel; its operands become the kernel results."""

    __annotations__ = _groups("values", ext.Operand)


def build_return(values) -> ReturnOp:
    return ReturnOp(*port_groups(list(values)))


def build_yield(values) -> YieldOp:
    return YieldOp(*port_groups(list(values)))


class GraphOp(Df.Operation, name="graph", traits=[ir.IsIsolatedFromAboveTrait]):
    sym_name: ir.StringAttr
    io_type: ir.StringAttr
    body: ext.Region

    @verifier
    def verify_invariants(self):
        io = ir.StringAttr(self.io_type).value
        if io not in IO_TYPES:
            return emit(self, f"io_type '{io}' is not one of {', '.join(IO_TYPES)}")
        blocks = list(self.body.blocks)
        if len(blocks) != 1:
            return emit(self, "expects a body with exactly one block")
        ops = list(blocks[0].operations)
        if not ops or ops[-1].operation.name != "df.return":
            return emit(self, "body must end with df.return")
        for op in ops[:-1]:
            if op.operation.name not in ("df.kernel", "df.channel"):
                return emit(self, f"may contain only df.kernel and df.channel, found '{op.operation.name}'")
        return True


class KernelOp(Df.Operation, name="kernel", traits=[ir.IsIsolatedFromAboveTrait]):
    __annotations__ = {
        **_groups("inputs", ext.Operand),
        **_groups("outputs", ext.Result),
        "sym_name": ir.StringAttr,
        "layer": ir.StringAttr,
        "reuse_factor": ir.IntegerAttr,
        "strategy": ir.StringAttr,
        "body": ext.Region,
    }

    @verifier
    def verify_invariants(self):
        rf = ir.IntegerAttr(self.reuse_factor).value
        if rf < 1:
            return emit(self, f"reuse_factor must be >= 1, got {rf}")
        st = ir.StringAttr(self.strategy).value
        if st not in STRATEGIES:
            return emit(self, f"strategy '{st}' is not one of {', '.join(STRATEGIES)}")
        blocks = list(self.body.blocks)
        if len(blocks) != 1:
            return emit(self, "expects a body with exactly one block")
        block = blocks[0]
        arg_types = [str(a.type) for a in block.arguments]
        # All operands / results (one variadic group each): `self.inputs` / `self.outputs` need the
        # segment-size attributes, which IRDL does not require for a single variadic group.
        in_types = [str(v.type) for v in self.operation.operands]
        if arg_types != in_types:
            return emit(self, f"block argument types {arg_types} do not match operand types {in_types}")
        ops = list(block.operations)
        if not ops or ops[-1].operation.name != "df.yield":
            return emit(self, "body must end with df.yield")
        yielded = [str(v.type) for v in ops[-1].operation.operands]
        out_types = [str(v.type) for v in self.operation.results]
        if yielded != out_types:
            return emit(self, f"yielded types {yielded} do not match result types {out_types}")
        return True


def build_kernel(inputs, result_types, sym_name: str, layer: str, reuse_factor: int, strategy: str) -> KernelOp:
    """A df.kernel with its inputs/results spread over the port groups; the caller fills the body."""
    from fxflow.ir import i64_attr, str_attr

    return KernelOp(*port_groups(list(inputs)), *port_groups(list(result_types), type_of=lambda t: t),
                    str_attr(sym_name), str_attr(layer), i64_attr(reuse_factor), str_attr(strategy))


class ChannelOp(Df.Operation, name="channel", traits=[ext.Pure]):
    input: ext.Operand[Any]
    output: ext.Result[Any]
    kind: ir.StringAttr
    depth: ir.IntegerAttr

    @verifier
    def verify_invariants(self):
        kind = ir.StringAttr(self.kind).value
        if kind not in CHANNEL_KINDS:
            return emit(self, f"kind '{kind}' is not one of {', '.join(CHANNEL_KINDS)}")
        if ir.IntegerAttr(self.depth).value < 1:
            return emit(self, "depth must be >= 1")
        if str(self.input.type) != str(self.output.type):
            return emit(self, f"input type {self.input.type} differs from result type {self.output.type}")
        return True
