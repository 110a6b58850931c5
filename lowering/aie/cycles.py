"""Cycle model of a placed `AieProgram`: per-layer and end-to-end latency and throughput, tile
utilization and efficiency relative to the single-kernel baseline (constants in `cost`).

The layers form a pipeline: a new batch of M rows enters every `interval` cycles (the slowest kernel,
FIFO leg or shim transfer); one batch needs `latency` cycles (input transfer, each layer's input leg,
kernel and cascade hops, the output transfer).  Efficiency = real MACs per interval divided by what the
used tiles would do at the single-kernel baseline rate.
"""

from __future__ import annotations

from fxflow.lowering.aie import cost
from fxflow.lowering.aie.arith import MODES
from fxflow.lowering.aie.program import AieProgram


def design_cycles(prog: AieProgram) -> dict:
    dev, m = prog.device, prog.batch
    layers, tiles_base = [], 0.0
    for layer in prog.layers:
        fns = prog.layer_kernels(layer)
        if layer.mode in cost.ROW_ROLES and layer.kind == "dense":  # a dense chain's row core (cost.row_cycles)
            k0 = fns[0]
            kc = cost.row_cycles(k0.role, m, k0.row.spec, k0.row.n, k0.row.slices * k0.row.slice_len, k0.row.slice_len)
            leg = cost.fifo_cycles(m * k0.k, k0.x_store)
            layers.append({"layer": layer.layer, "grid": "1x1", "tiles": 1, "mode": layer.mode, "kernel_cycles": kc,
                           "interval": max(kc, leg), "latency": leg + kc, "macs": 0, "efficiency": 0.0})
            continue
        if layer.kind != "dense":  # feature-map / attention-path layers: their plan's figures (fmap.py, attention.py)
            tiles = layer.cas_length * layer.cas_num
            eff = 0.0
            if layer.macs:
                base = cost.baseline(MODES[layer.mode], dev, 8)
                tiles_base += tiles * base
                eff = layer.macs / (layer.interval * tiles * base)
            what = layer.mode if layer.kind == layer.mode else f"{layer.kind} {layer.mode}"  # a row kernel: its kind
            layers.append({"layer": layer.layer, "grid": f"{layer.cas_length}x{layer.cas_num}", "tiles": tiles,
                           "mode": what, "kernel_cycles": layer.interval,
                           "interval": layer.interval, "latency": layer.latency, "macs": layer.macs,
                           "efficiency": eff})
            continue
        mode = MODES[layer.mode]
        kc = max(cost.kernel_cycles(mode, m, k.k, k.n, cost.ROLES[k.role][2], cost.ROLES[k.role][3]) for k in fns)
        k0 = fns[0]
        leg_in, leg_out = cost.fifo_cycles(m * k0.k, k0.x_store), cost.fifo_cycles(m * k0.n, k0.y_store)
        interval = max(kc, leg_in, leg_out)
        latency = leg_in + kc + (layer.cas_length - 1) * cost.CASCADE_HOP
        tiles = layer.cas_length * layer.cas_num
        base = cost.baseline(mode, dev, m)
        tiles_base += tiles * base
        layers.append({"layer": layer.layer, "grid": f"{layer.cas_length}x{layer.cas_num}", "tiles": tiles,
                       "mode": layer.mode, "kernel_cycles": kc, "interval": interval, "latency": latency,
                       "macs": layer.macs, "efficiency": layer.macs / (interval * tiles * base)})
    shim_in = max(cost.fifo_cycles(prog.fifo(p.fifo).size, prog.fifo(p.fifo).store) for p in prog.inputs)
    shim_out = max(cost.fifo_cycles(prog.fifo(p.fifo).size, prog.fifo(p.fifo).store) for p in prog.outputs)
    array_interval = max(r["interval"] for r in layers)
    interval = max(array_interval, shim_in, shim_out)
    latency = shim_in + sum(r["latency"] for r in layers) + shim_out
    macs = sum(r["macs"] for r in layers)
    tiles = sum(r["tiles"] for r in layers)
    ns = 1.0 / dev.clock_ghz
    return {
        "device": dev.name, "batch": m, "layers": layers, "tiles": tiles, "compute_tiles": dev.compute_tiles,
        "utilization": tiles / dev.compute_tiles, "interval_cycles": interval, "array_interval_cycles": array_interval,
        "io_interval_cycles": max(shim_in, shim_out), "latency_cycles": latency, "latency_ns": latency * ns,
        "tokens": prog.tokens, "throughput_samples_per_s": m / prog.tokens / (interval * ns * 1e-9),
        "efficiency": macs / (array_interval * tiles_base) if tiles_base else 0.0,
        "efficiency_with_io": macs / (interval * tiles_base) if tiles_base else 0.0,
    }


def format_cycles(rep: dict) -> str:
    cols = ["layer", "grid", "tiles", "mode", "kernel_cycles", "interval", "latency", "efficiency"]
    rows = [[f"{r[c]:.1%}" if c == "efficiency" else str(r[c]) for c in cols] for r in rep["layers"]]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    lines.append(f"{rep['device']}: {rep['tiles']} of {rep['compute_tiles']} tiles ({rep['utilization']:.1%}), "
                 f"batch {rep['batch']}: interval {rep['interval_cycles']} cycles (array {rep['array_interval_cycles']}, "
                 f"shim I/O {rep['io_interval_cycles']}), latency {rep['latency_cycles']} cycles = "
                 f"{rep['latency_ns']:.0f} ns, {rep['throughput_samples_per_s'] / 1e6:.2f} M samples/s, "
                 f"efficiency {rep['efficiency']:.1%} of the single-kernel baseline "
                 f"({rep['efficiency_with_io']:.1%} with shim I/O)")
    return "\n".join(lines)
