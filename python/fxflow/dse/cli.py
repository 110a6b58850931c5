"""`fxflow sweep`: a design-space sweep from the command line (fxflow.dse)."""

from __future__ import annotations

from pathlib import Path

from fxflow.errors import ConfigError


def add_parser(sub) -> None:
    s = sub.add_parser("sweep", help="compile and measure a model at every point of a design space (Ray or serial)")
    s.add_argument("model", help="a .pt2 file (torch.export.save), a .onnx file, or a bundled example's name "
                                 "(jet_tagger, cnn2d, ...: its model, config and synthetic inputs)")
    s.add_argument("--space", required=True, help="YAML/JSON: {setting: [values]} (grid) or [{setting: value}, ...]")
    s.add_argument("--data", help="a .npy file of inputs (N, *input_shape) to measure accuracy on "
                                  "(an example uses its own synthetic inputs by default)")
    s.add_argument("--labels", help="a .npy file of class indices (N,); without it accuracy is against the float model")
    s.add_argument("--config", help="YAML or JSON configuration shared by every point")
    s.add_argument("--metric", default="accuracy", choices=("accuracy", "max_abs", "mean_abs", "rms"),
                   help="the accuracy objective of the Pareto front (default accuracy)")
    s.add_argument("--objectives", default="lut,dsp,latency_cycles",
                   help="comma-separated cost columns to minimize (default lut,dsp,latency_cycles)")
    s.add_argument("--out", help="results table to write: .csv or .json")
    s.add_argument("--plot", help="PNG of the points and the Pareto front")
    s.add_argument("--address", help="host:port of an existing Ray cluster's head node (`ray start --head`) to run "
                                     "the points on (default: a local Ray instance)")
    s.add_argument("--serial", action="store_true", help="run in this process instead of on Ray")
    s.add_argument("--num-cpus", type=int, help="Ray workers of a local instance (default: the cores)")
    s.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    s.add_argument("--no-cache", action="store_true", help="recompute every point")
    s.add_argument("--cache-dir", help="where point results are cached (default $FXFLOW_CACHE/sweep or "
                                       "~/.cache/fxflow/sweep)")
    s.add_argument("--samples", type=int, default=1000, help="synthetic inputs of a bundled example (default 1000)")
    s.add_argument("--part", "--device", dest="part", help="FPGA part for the estimates")
    s.add_argument("--clock", help="clock period in ns, or a frequency such as 200MHz")


def run(args) -> int:
    import fxflow

    from fxflow.cli_common import load_npy
    from fxflow.examples import EXAMPLES, load

    for path, allowed in ((args.out, (".csv", ".json")), (args.plot, (".png", ".svg", ".pdf"))):  # before the sweep, not after
        if path and Path(path).suffix.lower() not in allowed:
            raise ConfigError(f"'{path}' must end in {' or '.join(allowed)}")
    data = load_npy(args.data, "input data")
    config = args.config
    model = args.model
    if model in EXAMPLES and not Path(model).exists():
        ex = load(model)
        model = ex.make_model()
        data = ex.make_inputs(args.samples) if data is None else data
        config = config or ex.DEFAULT_CONFIG
    result = fxflow.sweep(model, args.space, metric=args.metric, data=data, labels=load_npy(args.labels, "labels"),
                          config=config, objectives=[c.strip() for c in args.objectives.split(",") if c.strip()],
                          executor="serial" if args.serial else "auto", address=args.address,
                          num_cpus=args.num_cpus, cache=not args.no_cache, cache_dir=args.cache_dir,
                          part=args.part, clock=args.clock, progress=not args.quiet)
    print(f"[fxflow] {result.summary()}")
    for r in result.failed():
        print(f"[fxflow] point {r['point']} failed: {r['error_type']}: {r['error']}")
    if args.out:  # the records first: a front that cannot be formed must not lose the sweep
        print(f"wrote {result.write(args.out)}")
    front = result.pareto()
    print(f"[fxflow] Pareto front ({', '.join(f'{d} {c}' for c, d in result.objectives.items())}):")
    print(result.table(["point", *result.settings, *result.objectives], front))
    if args.plot:
        print(f"wrote {result.plot(args.plot)}")
    return 0
