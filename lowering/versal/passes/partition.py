"""versal-partition: plan every df.kernel of a graph on the PL or the AI Engines of a Versal device.

Sets the reserved `placement = "pl" | "aie"` attribute on each kernel and the plan's summary on the graph
(`versal_device`, `versal_segments` — one "first..last" layer span per AIE segment, in dataflow order —
`versal_lare`, `versal_latency_ns`, `versal_interval_ns`).  `partition=auto` minimises the LARE metric
(lowering/versal/cost.py) over every set of AIE segments, subject to the throughput target and the device's
capacity; `partition=fc1:aie,fc2:aie` forces layers onto the AI Engines (the others run in PL; each contiguous
run of AIE layers is one segment).  The placed graph is what the Versal backend splits into its HLS and
mlir-aie parts.
"""

from __future__ import annotations

import dataclasses

from fxflow.errors import ConfigError
from fxflow.ir import ir, str_attr
from fxflow.lowering.versal.options import VersalOptions

from fxflow.passes.registry import register_pass


def _options_type() -> type:
    """`VersalPartitionOptions`: every `VersalOptions` field as a textual pass option (same names, same
    defaults), so `fxflow-opt --versal-partition{...}` plans exactly what `compile(backend="versal")` does.
    `partition` is "auto" or "layer:target,..."; `weights` is "dsp=1,lut=0.5,..." (unlisted: 1).  The
    `planned` field is programmatic: the compile driver receives the planner and the plan in it."""
    fields = []
    for f in dataclasses.fields(VersalOptions):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if f.name in _CODECS:
            fields.append((f.name, "str", dataclasses.field(default=_CODECS[f.name][1](default))))
        else:
            fields.append((f.name, f.type, dataclasses.field(default=default)))
    fields.append(("planned", "list | None", dataclasses.field(default=None)))
    return dataclasses.make_dataclass("VersalPartitionOptions", fields, namespace={
        "__module__": __name__, "versal_options": _versal_options, "of": classmethod(_of),
        "__doc__": _options_type.__doc__})


def _versal_options(self) -> VersalOptions:
    """The validated `VersalOptions` these textual options spell."""
    data = {f.name: getattr(self, f.name) for f in dataclasses.fields(VersalOptions)}
    data.update({name: parse(data[name]) for name, (parse, _) in _CODECS.items()})
    return VersalOptions.from_dict(data)


def _of(cls, options: VersalOptions, planned: list | None = None):
    """The pass options spelling `options` (what the compile driver runs)."""
    data = {f.name: getattr(options, f.name) for f in dataclasses.fields(VersalOptions)}
    data.update({name: show(data[name]) for name, (_, show) in _CODECS.items()})
    return cls(**data, planned=planned)


def parse_partition(text: str):
    """'auto' or 'fc1:aie,fc2:pl' -> {"fc1": "aie", "fc2": "pl"}."""
    if text.strip() == "auto":
        return "auto"
    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        layer, sep, target = item.rpartition(":")
        if not sep or not layer:
            raise ConfigError(f"versal partition entry '{item}' must be layer:pl or layer:aie")
        out[layer] = target
    return out


def format_partition(partition) -> str:
    """The inverse of `parse_partition`."""
    return "auto" if partition == "auto" else ",".join(f"{layer}:{target}" for layer, target in partition.items())


def parse_weights(text: str) -> dict:
    """'dsp=1,lut=0.5' -> {"dsp": 1.0, "lut": 0.5} (LARE resource weights; VersalOptions checks the names)."""
    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not key.strip() or number is None:
            raise ConfigError(f"versal weights entry '{item}' must be resource=number")
        out[key.strip()] = number
    return out


def format_weights(weights: dict) -> str:
    return ",".join(f"{k}={v!r}" for k, v in weights.items())


_CODECS = {"partition": (parse_partition, format_partition), "weights": (parse_weights, format_weights)}
VersalPartitionOptions = _options_type()


def apply_plan(graph, planner, plan) -> None:
    """Write a plan into the graph: `placement` per kernel, the plan's figures on the graph."""
    for unit in planner.units:
        for kernel in unit.kernels:
            kernel.attributes["placement"] = str_attr(plan.placement[unit.layers[0]])
    graph.attributes["versal_device"] = str_attr(planner.device.name)
    graph.attributes["versal_segments"] = ir.ArrayAttr.get(
        [str_attr(f"{planner.units[a].name}..{planner.units[b - 1].name}") for a, b in plan.segments])
    for key, value in (("versal_lare", plan.lare), ("versal_latency_ns", plan.latency_ns),
                       ("versal_interval_ns", plan.interval_ns)):
        graph.attributes[key] = ir.FloatAttr.get_f64(round(value, 6))


def plan_graph(module_op, options: VersalOptions):
    """Plan the module's df.graph and write the plan into it; returns `(planner, plan)`."""
    from fxflow.dialects.df.graph import graph_of
    from fxflow.lowering.versal.plan import Planner

    graph = graph_of(module_op, "versal-partition")
    planner = Planner(graph, options)
    plan = planner.choose()
    apply_plan(graph, planner, plan)
    return planner, plan


@register_pass("versal-partition", "Place every df.kernel on PL or AIE by the LARE metric and the throughput target",
               VersalPartitionOptions)
def versal_partition(module_op, options=None) -> None:
    options = options or VersalPartitionOptions()
    result = plan_graph(module_op, options.versal_options())
    if options.planned is not None:
        options.planned.append(result)
