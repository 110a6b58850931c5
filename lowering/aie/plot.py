"""Placement map: a PNG picture of the array — one colour per layer, memory tiles and shim DMA columns used,
cascade arrows — drawn with matplotlib (Agg, no display; deterministic metadata)."""

from __future__ import annotations

from pathlib import Path

from fxflow.lowering.aie.program import AieProgram


def plot_placement(prog: AieProgram, path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    dev = prog.device
    fig, ax = plt.subplots(figsize=(max(6.0, dev.cols * 0.32), max(3.0, dev.rows * 0.36)))
    cmap = plt.get_cmap("tab20")
    layer_of = {c.tile: c.layer for c in prog.cores}
    colours = {layer.layer: cmap(i % 20) for i, layer in enumerate(prog.layers)}
    used = set(prog.tiles())
    for col in range(dev.cols):
        for row in range(dev.rows):
            kind = dev.kind(col, row)
            if not kind:
                continue
            face = "white"
            if (col, row) in layer_of:
                face = colours[layer_of[(col, row)]]
            elif kind == "mem":
                face = "#c7d7ee" if (col, row) in used else "#eef2f8"
            elif kind == "shim":
                face = "#f4c27a" if (col, row) in used else ("#fbe9cf" if col in dev.shim_dma_cols else "#f2f2f2")
            ax.add_patch(Rectangle((col, row), 0.92, 0.92, facecolor=face, edgecolor="#888888", linewidth=0.4))
    for s, d in prog.cascades:
        ax.annotate("", xy=(d[0] + 0.46, d[1] + 0.46), xytext=(s[0] + 0.46, s[1] + 0.46),
                    arrowprops={"arrowstyle": "->", "lw": 0.6, "color": "black"})
    for layer in prog.layers:
        ax.plot([], [], "s", color=colours[layer.layer], label=f"{layer.layer} ({layer.cas_length}x{layer.cas_num})")
    ax.set_xlim(-0.2, dev.cols + 0.2)
    ax.set_ylim(-0.2, dev.rows + 0.2)
    ax.set_xlabel("column")
    ax.set_ylabel("row (0 shim, then memory tiles, then cores)")
    ax.set_title(f"{prog.name} on {dev.name}: {len(prog.cores)} of {dev.compute_tiles} compute tiles")
    ax.set_aspect("equal")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path
