"""The `fxflow` command line: compile saved PyTorch programs, run the bundled example."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import INTERNAL_ERROR_EXIT_CODE, ConfigError, FxflowError, InternalError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fxflow", description="Neural networks to bit-exact fixed-point hardware.")
    sub = parser.add_subparsers(dest="command", required=True)

    c = sub.add_parser("compile", help="compile a saved PyTorch program (.pt2) or an ONNX model into an HLS project")
    c.add_argument("model", help="a .pt2 file (torch.export.save; its example inputs give the shapes) or a .onnx file")
    c.add_argument("-o", "--output", required=True, help="output directory of the HLS project")
    c.add_argument("--config", help="YAML or JSON configuration file")
    c.add_argument("--precision", help="default precision, e.g. 'ap_fixed<16,6>' (overrides the config's model precision)")
    c.add_argument("--reuse-factor", type=int, help="default reuse factor")
    c.add_argument("--project-name", default="myproject")
    c.add_argument("--csim", type=int, default=0, metavar="N",
                   help="also C-simulate N random samples and compare with the emulator")
    c.add_argument("--ap-types", help="folder with the ap_types headers (default: $XILINX_HLS/include or the hls4ml wheel)")
    c.add_argument("--calibration", metavar="FILE.npy",
                   help="inputs (N, *input_shape) whose range the 'auto' formats are derived from")
    # AIE-ML backend: --backend aie writes an mlir-aie project (fxflow.aie.driver.cli_compile)
    c.add_argument("--aie-device", default="xcve2802", help="AIE device for --backend aie: xcve2802, npu1 or npu2")
    c.add_argument("--aie-batch", type=int, default=8, help="rows per AIE kernel call for --backend aie")
    # RTL backend: --backend rtl writes SystemVerilog through CIRCT (fxflow.rtl.driver.cli_compile)
    c.add_argument("--rtl-products", default="mul", choices=("mul", "shift_add"),
                   help="constant products for --backend rtl: multipliers (mul) or shift-add trees")
    c.add_argument("--rtl-pipeline", type=int, default=1, help="register stages per layer for --backend rtl")
    c.add_argument("--synth", action="store_true",
                   help="--backend rtl: also run yosys synth_xilinx and show its counts next to the estimates")
    # Versal backend: --backend versal plans PL and AIE parts (fxflow.versal.driver.cli_compile)
    c.add_argument("--versal-device", default="xcve2802", help="Versal device for --backend versal")
    c.add_argument("--versal-partition", default="auto",
                   help="--backend versal: auto (LARE metric) or layer:pl|aie,... (unlisted layers: pl)")
    c.add_argument("--versal-rate", type=float, default=40.0, help="--backend versal: target sample rate in MHz")
    c.add_argument("--io-type", default="io_parallel", choices=("io_parallel", "io_stream"),
                   help="io_parallel (arrays, default) or io_stream (hls::stream pixel streams, sized FIFOs)")
    c.add_argument("--backend", default="vitis",
                   help="vitis (ap_fixed HLS, default), catapult (ac_fixed HLS; --ap-types then names ac_types), "
                        "aie (AIE-ML) or rtl (SystemVerilog via CIRCT; --csim N then runs Verilator) or versal (PL + AIE)")
    _estimate_args(c)

    r = sub.add_parser("report", help="latency and resource estimates per layer, without vendor tools")
    r.add_argument("model", help="a .pt2 file (torch.export.save) or a .onnx file")
    r.add_argument("--config", help="YAML or JSON configuration file")
    r.add_argument("--precision", help="default precision, e.g. 'ap_fixed<16,6>'")
    r.add_argument("--reuse-factor", type=int, help="default reuse factor")
    r.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    _estimate_args(r)

    pr = sub.add_parser("profile", help="per-layer float ranges against the chosen formats, as a table and a PNG")
    pr.add_argument("model", help="a .pt2 file (torch.export.save) or a .onnx file")
    pr.add_argument("--data", required=True, help="a .npy file of inputs, shape (N, *input_shape)")
    pr.add_argument("--config", help="YAML or JSON configuration file")
    pr.add_argument("--precision", help="default precision, e.g. 'ap_fixed<16,6>'")
    pr.add_argument("-o", "--output", default="profile.png", help="PNG to write (default: profile.png)")
    pr.add_argument("--calibration", metavar="FILE.npy",
                    help="inputs (N, *input_shape) whose range the 'auto' formats are derived from")

    e = sub.add_parser("example", help="run a bundled example end to end (default: the jet tagger)")
    e.add_argument("name", nargs="?", default="jet_tagger",
                   help="jet_tagger, cnn2d, cnn1d, autoencoder, qonnx_mlp, lstm_tagger or transformer (see fxflow.examples)")
    e.add_argument("-o", "--output", help="output directory (default: build/<name>)")
    e.add_argument("--samples", type=int, default=1000, help="samples to C-simulate (default: 1000)")
    e.add_argument("--precision", help="model precision (default: the example's own config)")
    e.add_argument("--ap-types")
    e.add_argument("--no-csim", action="store_true", help="only write the project (with its self-checking testbench data)")
    e.add_argument("--softmax", choices=["hccs"], help="hccs: the HCCS integer softmax on the example's attention "
                   "layers (transformer), per-head parameters calibrated on the samples")

    sa = sub.add_parser("softmax-accuracy", help="each softmax layer (HCCS or tables) against the exact softmax of "
                                                 "its own inputs, and the model output against float")
    sa.add_argument("model", help="a .pt2 file (torch.export.save) or a .onnx file")
    sa.add_argument("--data", required=True, help="a .npy file of inputs, shape (N, *input_shape)")
    sa.add_argument("--config", help="YAML or JSON configuration file")
    sa.add_argument("--precision", help="default precision, e.g. 'ap_fixed<16,6>'")
    sa.add_argument("--calibration", metavar="FILE.npy", help="inputs the HCCS parameters are calibrated on")
    sa.add_argument("--json", action="store_true", help="print the report as JSON")

    from .dse_cli import add_parser as add_sweep_parser  # design-space sweeps (fxflow.dse)

    add_sweep_parser(sub)

    args = parser.parse_args(argv)
    import warnings

    warnings.showwarning = lambda message, *rest, **kw: print(f"fxflow: warning: {message}", file=sys.stderr)
    try:
        if args.command == "compile":
            return _compile(args)
        if args.command == "profile":
            return _profile(args)
        if args.command == "report":
            return _report(args)
        if args.command == "sweep":
            from .dse_cli import run as sweep

            return sweep(args)
        if args.command == "softmax-accuracy":
            return _softmax_accuracy(args)
        return _example(args)
    except FxflowError as err:
        print(f"fxflow: error: {err}", file=sys.stderr)
        return 1
    except InternalError as err:
        print(f"fxflow: internal error (please report): {err}", file=sys.stderr)
        return INTERNAL_ERROR_EXIT_CODE
    except KeyboardInterrupt:
        return 130


def _config_from_args(args):
    from .config import Config

    cfg = Config.load(args.config) if args.config else Config()
    overrides = {}
    if args.precision:
        overrides["precision"] = args.precision
    if getattr(args, "reuse_factor", None) is not None:
        overrides["reuse_factor"] = args.reuse_factor
    if overrides:
        data = cfg.to_dict()
        data["model"].update(overrides)
        cfg = Config.from_dict(data)
    return cfg


def _compile(args) -> int:
    import fxflow

    cfg = _config_from_args(args)
    t0 = time.perf_counter()
    if args.backend == "aie":  # AIE-ML backend: mlir-aie project, cycle-model report, --csim compares simulate
        from .aie.driver import cli_compile

        return cli_compile(args, cfg, t0)
    if args.backend == "versal":  # Versal: HLS + mlir-aie project joined by PLIO, plan report, --csim simulate
        from .versal.driver import cli_compile as versal_compile

        return versal_compile(args, cfg, t0)
    if args.backend == "rtl":  # RTL backend: SystemVerilog project, report, --csim runs Verilator, --synth yosys
        from .rtl.driver import cli_compile as rtl_compile

        return rtl_compile(args, cfg, t0)
    from .estimate import check_options

    check_options(args.part, args.clock)  # an unknown part / clock fails before the compile
    design = fxflow.compile(args.model, config=cfg, output_dir=args.output, project_name=args.project_name,
                            ap_types=args.ap_types, backend=args.backend, io_type=args.io_type,
                            calibration_data=_load_npy(args.calibration, "calibration data"))
    print(f"wrote HLS project {args.output} in {time.perf_counter() - t0:.2f} s")
    _print_report(design, args.part, args.clock)
    if args.csim:
        import numpy as np

        shape = design.input_shapes[0]
        x = np.random.default_rng(0).normal(size=(args.csim, *shape))
        _compare(design, x)
    return 0


def _profile(args) -> int:
    import numpy as np

    import fxflow
    from .errors import ShapeError

    try:
        data = np.load(args.data)
    except (OSError, ValueError) as e:
        raise ShapeError(f"cannot read the input data {args.data}: {e}") from None
    design = fxflow.compile(args.model, config=_config_from_args(args),
                            calibration_data=_load_npy(args.calibration, "calibration data"))
    rows = design.profile(data)
    cols = ["layer", "format", "float_min", "float_max", "format_min", "format_max", "out_of_range", "overflows",
            "max_abs_error"]
    table = [[f"{r.get(c, ''):.4g}" if isinstance(r.get(c), float) else str(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for t in table:
        print("  ".join(v.ljust(w) for v, w in zip(t, widths)))
    print(f"wrote {design.plot_profile(data, args.output)}")
    return 0


def _softmax_accuracy(args) -> int:
    import json

    import fxflow
    from .softmax_report import format_report, softmax_accuracy

    data = _load_npy(args.data, "input data")
    design = fxflow.compile(args.model, config=_config_from_args(args),
                            calibration_data=_load_npy(args.calibration, "calibration data"))
    rep = softmax_accuracy(design, data)
    print(json.dumps(rep, indent=2) if args.json else format_report(rep))
    return 0


def _load_npy(path, what: str):
    if path is None:
        return None
    import numpy as np

    from .errors import ShapeError

    try:
        return np.load(path)
    except (OSError, ValueError) as e:
        raise ShapeError(f"cannot read the {what} {path}: {e}") from None


load_npy = _load_npy  # public name: fxflow.dse_cli reads --data/--labels the same way


def _example(args) -> int:
    import numpy as np

    import fxflow

    from .examples import load

    ex = load(args.name)
    model = ex.make_model()
    x = ex.make_inputs(args.samples)
    cfg = ex.DEFAULT_CONFIG if args.precision is None else {"model": {"precision": args.precision}}
    if args.softmax == "hccs":
        if not hasattr(ex, "hccs_config"):
            raise ConfigError(f"example '{args.name}' has no attention softmax for --softmax hccs (transformer has)")
        cfg = ex.hccs_config(config=cfg)
    t0 = time.perf_counter()
    design = fxflow.compile(model, x[:1], config=cfg, output_dir=None, project_name=ex.NAME,
                            ap_types=args.ap_types, calibration_data=x if args.softmax else None)
    out = Path(args.output or f"build/{ex.NAME}")
    design.write(out, inputs=x)
    print(f"[fxflow] {ex.DESCRIPTION} -> HLS project {out} in {time.perf_counter() - t0:.2f} s")
    _print_report(design)
    if args.no_csim:
        return 0
    _compare(design, x)
    ref = _float_reference(model, x)
    if ref is not None:
        y = design.predict(x).reshape(ref.shape)
        flat_y, flat_r = y.reshape(len(x), -1), ref.reshape(len(x), -1)
        agree = float(np.mean(np.argmax(flat_r, 1) == np.argmax(flat_y, 1)))
        print(f"[fxflow] float model vs fixed point: max |diff| {np.max(np.abs(ref - y)):.4g}, "
              f"argmax agreement {agree:.1%}")
    return 0


def _float_reference(model, x):
    """The float model's outputs (PyTorch modules; None for an ONNX file)."""
    import torch

    if not isinstance(model, torch.nn.Module):
        return None
    with torch.no_grad():
        return model(torch.as_tensor(x, dtype=torch.float32)).numpy().astype("float64")


def _compare(design, x) -> None:
    import numpy as np

    t0 = time.perf_counter()
    y = design.predict(x, raw=True)
    t_pred = time.perf_counter() - t0
    yc = design.csim(x, raw=True)
    mismatches = int(np.sum(np.asarray(y) != np.asarray(yc)))
    print(f"[fxflow] C-sim (g++ + ap_types) vs predict on {len(x)} samples: {mismatches} mismatching values "
          f"of {np.asarray(y).size}; predict took {t_pred * 1e3:.1f} ms")
    if mismatches:
        raise FxflowError(f"C simulation disagrees with the emulator on {mismatches} values")


def _estimate_args(p) -> None:
    p.add_argument("--part", "--device", dest="part",
                   help="FPGA part for the estimates (default xcvu13p-flga2577-2-e; see fxflow.devices)")
    p.add_argument("--clock", help="clock period in ns, or a frequency such as 200MHz (default 5 ns)")


def _report(args) -> int:
    import json

    import fxflow
    from .estimate import check_options
    from .report import format_table

    check_options(args.part, args.clock)
    design = fxflow.compile(args.model, config=_config_from_args(args))
    rep = design.report(part=args.part, clock=args.clock)
    print(json.dumps(rep, indent=2, default=str) if args.json else format_table(rep))
    return 0


def _print_report(design, part=None, clock=None) -> None:
    from .report import format_table

    rep = design.report(part=part, clock=clock)
    print(format_table(rep))
    if rep.get("channels"):  # io_stream: FIFO memory as sized by df-size-fifos vs one uniform depth
        naive = _graph_int(design, "fxflow.fifo_bits_naive")
        saved = f", {naive - rep['total']['fifo_bits']} fewer than a uniform depth ({naive} bits)" if naive else ""
        print(f"stream FIFOs: {len(rep['channels'])}, {rep['total']['fifo_bits']} bits{saved}")


def _graph_int(design, name: str):
    from .ir import ir

    with design.ctx:
        for op in design.module.body.operations:
            if op.operation.name == "df.graph" and name in op.operation.attributes:
                return ir.IntegerAttr(op.operation.attributes[name]).value
    return None


if __name__ == "__main__":
    sys.exit(main())
