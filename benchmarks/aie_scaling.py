"""AIE-ML scaling and the jet tagger from fxflow's cycle model, side by side with AIE4ML's published figures.

Part 1 (dense scaling): int8 dense stacks growing until the xcve2802 array is full.  For each stack it runs
the AIE passes (convert-fxp-to-aie, aie-partition{objective=resource}, aie-place), builds and checks the
placed program and prints tiles used, the cycle model's efficiency versus the single-kernel baseline and
versus the mode's peak MAC/cycle, interval, latency and compile time.
Part 2 (jet tagger 16-64-32-32-5, int8, ReLU after each hidden layer): tiles, latency and throughput for
objective=throughput and objective=resource.
Both parts print AIE4ML's published aiesim figures next to fxflow's and the cycle model's assumptions
(ASSUMPTIONS below; docs/design.md, "AIE backend").  With --simulate each design also runs the functional
simulator on one batch and compares it with `predict` bit for bit.

    .venv/bin/python benchmarks/aie_scaling.py [--simulate] [--device xcve2802]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

# (name, widths): 128 x 128 int8 slices fill one 16 KB bank; a 1024-wide layer is an 8 x 8 tile grid
STACKS = [
    ("1x128", [128, 128]),
    ("2x256", [256, 256, 256]),
    ("2x512", [512, 512, 512]),
    ("1x1024", [1024, 1024]),
    ("2x1024", [1024, 1024, 1024]),
    ("3x1024", [1024, 1024, 1024, 1024]),
    ("4x1024", [1024, 1024, 1024, 1024, 1024]),
    ("640+4x1024", [640, 1024, 1024, 1024, 1024, 1024]),  # 296 tiles: AIE4ML's published point
    ("768+4x1024", [768, 1024, 1024, 1024, 1024, 1024]),
]
JET_TAGGER = [16, 64, 32, 32, 5]

# AIE4ML's published figures (measured in aiesim on the VEK280 / xcve2802 array), quoted, not re-measured here.
AIE4ML = {"scaling_efficiency": 0.986, "scaling_tiles": 296, "jet_latency_us": 0.727, "jet_tiles": 18}

def assumptions(device: str = "xcve2802") -> str:
    """The cycle model's assumptions, with the constants read from `cost`/`device` (so the text cannot drift)."""
    from fxflow.lowering.aie import cost
    from fxflow.lowering.aie.arith import MODES
    from fxflow.lowering.aie.device import get_device

    dev = get_device(device)
    peaks = ", ".join(f"{m.name} {m.macs}" for m in MODES.values())
    side = 1 << int(math.log2(math.isqrt(dev.bank_bytes)))
    load = cost.LOAD_BYTES_PER_CYCLE
    return f"""cycle model assumptions (lowering/aie/cost.py, cycles.py) -- a model, not aiesim:
  - AIE clock {dev.clock_ghz} GHz; a kernel call on M rows costs max(operand loads at {load} B/cycle,
    MACs at the mode's peak ({peaks} MAC/cycle), accumulator cascade at {cost.CASCADE_BITS_PER_CYCLE} bit/cycle)
    + {cost.CALL_OVERHEAD} cycles call overhead + {cost.CASCADE_PORT} per cascade port; a cascade hop adds \
{cost.CASCADE_HOP} cycles of latency
  - FIFO legs and shim/PLIO transfers move 4 B/cycle; DMA, lock, memory-bank and stream-switch contention,
    stalls and memtile hops are not modelled; weights stay resident in the tiles (no reload)
  - the batch M is padded to a multiple of 2 x the mode's microtile rows (8 rows for int8); latency is that of
    one padded batch, interval the slowest kernel, FIFO leg or shim transfer (layers pipelined)
  - efficiency = real MACs per interval / (tiles x single-kernel baseline), the baseline being one kernel on a
    full one-bank {side}x{side} int8 slice at the same batch (AIE4ML's definition); 'of peak' divides by
    tiles x the mode's peak MAC/cycle instead
  - AIE4ML's figures are quoted from its publication (aiesim), not re-measured here"""


def _fmt(k, i, f, q="TRN", o="WRAP") -> str:
    return f'!fxp.fixed<{k} : i32, {i} : i32, {f} : i32, "{q}", "{o}">'


def dense_stack_text(widths, seed: int = 0) -> str:
    """A df.graph of int8 dense layers (ap_fixed<8,3,AP_RND,AP_SAT> activations, ap_fixed<8,1> weights,
    exact accumulators) with a ReLU (ap_ufixed<8,3,AP_TRN,AP_SAT>) after every layer but the last."""
    rng = np.random.default_rng(seed)
    x = _fmt(1, 2, 5, "RND", "SAT")
    w = _fmt(1, 0, 7)
    relu = _fmt(0, 3, 5, "TRN", "SAT")
    lines, v, cur = [], "%x", x
    n = 0
    for li, (k, nn) in enumerate(zip(widths[:-1], widths[1:])):
        wv = rng.integers(-128, 128, size=(k, nn), dtype=np.int8)
        bv = rng.integers(-128, 128, size=nn, dtype=np.int8)
        # exact accumulator: |sum| <= k * 2^7 * 2^7 + bias, at f = 5 + 7
        acc = _fmt(1, 2 + int(np.ceil(np.log2(k + 1))) + 1, 12)
        last = li == len(widths) - 2
        out_t, res_t = f"tensor<1x{nn}x{x}>", f"tensor<1x{nn}x{x if last else relu}>"
        body = [
            f'%w = "fxp.constant"() {{value = dense<"0x{wv.tobytes().hex().upper()}"> : tensor<{k}x{nn}xi8>}} : '
            f"() -> tensor<{k}x{nn}x{w}>",
            f'%b = "fxp.constant"() {{value = dense<"0x{bv.tobytes().hex().upper()}"> : tensor<{nn}xi8>}} : '
            f"() -> tensor<{nn}x{w}>",
            f'%y = "fxp.dense"(%a, %w, %b) {{accum = {acc}}} : (tensor<1x{k}x{cur}>, tensor<{k}x{nn}x{w}>, '
            f"tensor<{nn}x{w}>) -> {out_t}",
        ]
        y = "%y"
        if not last:
            body.append(f'%r = "fxp.relu"(%y) : ({out_t}) -> {res_t}')
            y = "%r"
        body.append(f'"df.yield"({y}) {{operandSegmentSizes = array<i32: 1, 0, 0, 0>}} : ({res_t}) -> ()')
        seg = "operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>"
        lines.append(f'%k{n} = "df.kernel"({v}) ({{\n^bb0(%a: tensor<1x{k}x{cur}>):\n  ' + "\n  ".join(body) +
                     f'\n}}) {{sym_name = "fc{li}", layer = "fc{li}", reuse_factor = 1 : i64, strategy = "latency", '
                     f"{seg}}} : (tensor<1x{k}x{cur}>) -> {res_t}")
        lines.append(f'%c{n} = "df.channel"(%k{n}) {{kind = "array", depth = 1 : i64}} : ({res_t}) -> {res_t}')
        v, cur = f"%c{n}", (x if last else relu)
        n += 1
    ret = f'"df.return"({v}) {{operandSegmentSizes = array<i32: 1, 0, 0, 0>}} : (tensor<1x{widths[-1]}x{cur}>) -> ()'
    return (f'"df.graph"() ({{\n^bb0(%x: tensor<1x{widths[0]}x{x}>):\n' + "\n".join(lines) + "\n" + ret +
            '\n}) {sym_name = "stack", io_type = "io_parallel"} : () -> ()\n')


def run(widths, device: str = "xcve2802", simulate: bool = False, seed: int = 0,
        objective: str = "resource", batch: int = 8) -> dict:
    from fxflow import emulator
    from fxflow.lowering.aie.check import check
    from fxflow.lowering.aie.cycles import design_cycles
    from fxflow.lowering.aie.driver import lower_for_aie
    from fxflow.lowering.aie.simulate import simulate as sim
    from fxflow.fixed import FixedFormat
    from fxflow.fixed.quantize import quantize
    from fxflow.dialects import new_context
    from fxflow.ir import ir
    from fxflow.lowering.aie.build import build_program
    from fxflow.lowering.aie.arith import MODES

    text = dense_stack_text(widths, seed)
    with new_context():
        t0 = time.perf_counter()
        module = ir.Module.parse(text)
        lower_for_aie(module, {"device": device, "objective": objective, "batch": batch})
        prog = build_program(module)
        check(prog)
        row = {"compile_s": time.perf_counter() - t0, **design_cycles(prog)}
        peak = sum(r["tiles"] * MODES[r["mode"]].macs for r in row["layers"])
        row["of_peak"] = sum(r["macs"] for r in row["layers"]) / (row["array_interval_cycles"] * peak)
        if simulate:
            x_fmt = FixedFormat(1, 2, 5, "RND", "SAT")
            x = np.random.default_rng(seed + 1).normal(scale=2.0, size=(prog.batch, widths[0]))
            want = np.asarray(emulator.run(emulator.compile_program(module), [x])[0].data).reshape(len(x), -1)
            row["mismatches"] = int(np.sum(sim(prog, quantize(x, x_fmt)) != want))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="xcve2802")
    ap.add_argument("--simulate", action="store_true", help="also simulate one batch and compare with predict")
    args = ap.parse_args()
    sim = "  mismatches" if args.simulate else ""
    print(f"1. int8 dense scaling on {args.device} (objective=resource, batch 8)")
    print(f"{'stack':<12} {'tiles':>9} {'util':>6} {'efficiency':>10} {'of peak':>8} {'interval':>9} {'latency':>9} "
          f"{'ns':>7} {'Msamples/s':>10} {'compile':>8}" + sim)
    for name, widths in STACKS:
        r = run(widths, args.device, args.simulate)
        print(f"{name:<12} {r['tiles']:>4}/{r['compute_tiles']:<4} {r['utilization']:>6.1%} {r['efficiency']:>10.1%} "
              f"{r['of_peak']:>8.1%} {r['interval_cycles']:>9} {r['latency_cycles']:>9} {r['latency_ns']:>7.0f} "
              f"{r['throughput_samples_per_s'] / 1e6:>10.2f} {r['compile_s']:>7.2f}s"
              + (f"  {r['mismatches']:>10}" if args.simulate else ""))
    print(f"{'AIE4ML':<12} {AIE4ML['scaling_tiles']:>4}/{304:<4} {AIE4ML['scaling_tiles'] / 304:>6.1%} "
          f"{AIE4ML['scaling_efficiency']:>10.1%} {'-':>8}  (published, aiesim: % of the single-kernel efficiency)")
    print()
    print(f"2. jet tagger {'-'.join(map(str, JET_TAGGER))} int8 on {args.device}")
    print(f"{'design':<22} {'tiles':>6} {'batch':>6} {'interval':>9} {'latency':>9} {'latency us':>10} "
          f"{'Msamples/s':>10} {'efficiency':>10}" + sim)
    for objective in ("throughput", "resource"):
        r = run(JET_TAGGER, args.device, args.simulate, objective=objective)
        print(f"{'fxflow ' + objective:<22} {r['tiles']:>6} {r['batch']:>6} {r['interval_cycles']:>9} "
              f"{r['latency_cycles']:>9} {r['latency_ns'] / 1e3:>10.3f} {r['throughput_samples_per_s'] / 1e6:>10.2f} "
              f"{r['efficiency']:>10.1%}" + (f"  {r['mismatches']:>10}" if args.simulate else ""))
    print(f"{'AIE4ML (aiesim)':<22} {AIE4ML['jet_tiles']:>6} {'-':>6} {'-':>9} {'-':>9} "
          f"{AIE4ML['jet_latency_us']:>10.3f} {'-':>10} {'-':>10}  (published)")
    print()
    print(assumptions(args.device))


if __name__ == "__main__":
    main()
