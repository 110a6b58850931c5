"""The `fxflow` command line: compile saved PyTorch programs, run the bundled example."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fxflow.lowering.backend import get as get_backend
from fxflow.lowering.backend import names as backend_names

from .cli_common import load_npy
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
    for name in backend_names():  # each backend's own flags, defaults from its options dataclass
        get_backend(name).cli_arguments(c)
    c.add_argument("--io-type", default="io_parallel", choices=("io_parallel", "io_stream"),
                   help="io_parallel (arrays, default) or io_stream (hls::stream pixel streams, sized FIFOs)")
    c.add_argument("--backend", default="vitis",
                   help="; ".join(f"{n}: {get_backend(n).title}" for n in backend_names()) + " (default vitis; "
                        "catapult: --ap-types names ac_types; rtl: --csim N runs Verilator)")
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

    from fxflow.dse.cli import add_parser as add_sweep_parser  # design-space sweeps (fxflow.dse)

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
            from fxflow.dse.cli import run as sweep

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
    """`fxflow compile`: the backend checks its flags, compiles, writes, and prints its summary."""
    from .compiler import compile

    backend = get_backend(args.backend)
    cfg = _config_from_args(args)
    t0 = time.perf_counter()
    options = backend.cli_options(args)
    design = compile(args.model, config=cfg, output_dir=args.output, project_name=args.project_name,
                     ap_types=args.ap_types, backend=args.backend, io_type=args.io_type,
                     calibration_data=load_npy(args.calibration, "calibration data"),
                     **({} if options is None else {args.backend: options}))
    backend.cli_summary(design, args, time.perf_counter() - t0)
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
                            calibration_data=load_npy(args.calibration, "calibration data"))
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

    data = load_npy(args.data, "input data")
    design = fxflow.compile(args.model, config=_config_from_args(args),
                            calibration_data=load_npy(args.calibration, "calibration data"))
    rep = softmax_accuracy(design, data)
    print(json.dumps(rep, indent=2) if args.json else format_report(rep))
    return 0


def _example(args) -> int:
    import numpy as np

    import fxflow
    from fxflow.lowering.hls.backend import compare_csim, print_report

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
    print_report(design)
    if args.no_csim:
        return 0
    compare_csim(design, x)
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


if __name__ == "__main__":
    sys.exit(main())
