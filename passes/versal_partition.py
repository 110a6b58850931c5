"""versal-partition: plan every df.kernel of a graph on the PL or the AI Engines of a Versal device.

Sets the reserved `placement = "pl" | "aie"` attribute on each kernel and a `versal_plan` summary on the
graph (`versal_device`, `versal_lare`, `versal_latency_ns`, `versal_interval_ns`).  `partition=auto`
minimises the LARE metric (fxflow/versal/cost.py) subject to the throughput target and the device's
capacity; `partition=fc1:aie,fc2:aie` forces layers onto the AI Engines (the others run in PL).  The
placed graph is what the Versal backend splits into its HLS and mlir-aie parts.
"""

from __future__ import annotations

from dataclasses import dataclass

from fxflow.errors import ConfigError
from fxflow.ir import ir, str_attr

from .registry import register_pass


@dataclass
class VersalPartitionOptions:
    device: str = "xcve2802"
    partition: str = "auto"  # "auto" or "layer:target,layer:target"
    target_rate_mhz: float = 40.0
    pl_clock_mhz: float = 200.0
    batch: int = 8
    time: str = "latency"
    max_tiles: int = 0
    max_plio: int = 0

    def versal_options(self):
        from fxflow.versal.options import VersalOptions

        return VersalOptions.from_dict({"device": self.device, "partition": parse_partition(self.partition),
                                        "target_rate_mhz": self.target_rate_mhz, "pl_clock_mhz": self.pl_clock_mhz,
                                        "batch": self.batch, "time": self.time, "max_tiles": self.max_tiles,
                                        "max_plio": self.max_plio})


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


def apply_plan(graph, planner, plan) -> None:
    """Write a plan into the graph: `placement` per kernel, the plan's figures on the graph."""
    for unit in planner.units:
        for kernel, layer in zip(unit.kernels, unit.layers):
            kernel.attributes["placement"] = str_attr(plan.placement[layer])
    graph.attributes["versal_device"] = str_attr(planner.device.name)
    for key, value in (("versal_lare", plan.lare), ("versal_latency_ns", plan.latency_ns),
                       ("versal_interval_ns", plan.interval_ns)):
        graph.attributes[key] = ir.FloatAttr.get_f64(round(value, 6))


@register_pass("versal-partition", "Place every df.kernel on PL or AIE by the LARE metric and the throughput target",
               VersalPartitionOptions)
def versal_partition(module_op, options: VersalPartitionOptions | None = None) -> None:
    from fxflow.dialects.df.graph import graph_of
    from fxflow.versal.plan import Planner

    options = options or VersalPartitionOptions()
    graph = graph_of(module_op)
    planner = Planner(graph, options.versal_options())
    apply_plan(graph, planner, planner.choose())
