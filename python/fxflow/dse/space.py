"""The design space of a sweep: named settings, their points, and how a point becomes a `compile` call.

A setting is a dotted path: `model.<key>` and `layers.<layer>.<key>` go into the config dict (keys as in
`fxflow.config`), any other first component is a keyword argument of `fxflow.compile` (`io_type`,
`backend`), and `<kwarg>.<key>` sets a key of a dict-valued one (`rtl.products`, `aie.batch`,
`versal.partition`).  The keyword arguments are read from compile's signature, so a backend option added
there can be swept without touching this module.

A space is either a grid, `{path: [values]}` (the product, the last path varying fastest), or an explicit
list of points, `[{path: value}, ...]`; in a YAML/JSON file the same mapping or list.  Points keep that
order, which is the order of the result table.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import json
import os

from fxflow.config import LAYER_KEYS, MODEL_KEYS, read_file
from fxflow.errors import ConfigError

# compile arguments that a sweep owns (the model, its data) or that make no sense per point
NOT_SWEPT = ("model", "example_input", "config", "output_dir", "ap_types", "calibration_data", "project_name")


def compile_options() -> tuple[str, ...]:
    """The keyword arguments of `fxflow.compile` a sweep may set (per point or for all points)."""
    from fxflow.compiler import compile

    return tuple(p for p in inspect.signature(compile).parameters if p not in NOT_SWEPT)


def load_space(space) -> list[dict]:
    """The points of `space` (a grid dict, a list of point dicts, or the path of a YAML/JSON file holding
    one), in order, each a {path: value} dict, with every path checked (`check_path`)."""
    if isinstance(space, (str, os.PathLike)):
        space = read_file(space, "sweep space file")
    if isinstance(space, dict):
        for path, values in space.items():
            if not isinstance(values, (list, tuple)) or not values:
                raise ConfigError(f"sweep space '{path}': a grid needs a non-empty list of values, got {values!r}")
        paths = list(space)
        points = [dict(zip(paths, combo)) for combo in itertools.product(*(space[p] for p in paths))]
    elif isinstance(space, (list, tuple)):
        points = []
        for i, point in enumerate(space):
            if not isinstance(point, dict):
                raise ConfigError(f"sweep space point {i}: expected a mapping of setting -> value, got {point!r}")
            points.append(dict(point))
    else:
        raise ConfigError(f"a sweep space is a mapping of setting -> values or a list of points, got "
                          f"{type(space).__name__}")
    if not points:
        raise ConfigError("the sweep space has no points")
    options = compile_options()
    for path in dict.fromkeys(p for point in points for p in point):
        check_path(path, options)
    for i, point in enumerate(points):
        for path, value in point.items():
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError):
                raise ConfigError(f"sweep space '{path}' (point {i}): {value!r} is not a plain value "
                                  "(numbers, strings, lists, mappings)") from None
    return points


def check_path(path, options: tuple[str, ...]) -> None:
    """Reject a setting that names no config key or compile argument, naming it and what is allowed."""
    if not isinstance(path, str) or not path or any(not part for part in path.split(".")):
        raise ConfigError(f"sweep setting {path!r} is not a dotted path such as 'model.reuse_factor'")
    parts = path.split(".")
    head = parts[0]
    if head == "model":
        if len(parts) != 2 or parts[1] not in MODEL_KEYS:
            raise ConfigError(f"sweep setting '{path}': expected model.<key> with a key of {', '.join(MODEL_KEYS)}")
    elif head == "layers":
        if len(parts) != 3 or parts[2] not in LAYER_KEYS:
            raise ConfigError(f"sweep setting '{path}': expected layers.<layer>.<key> with a key of "
                              f"{', '.join(LAYER_KEYS)}")
    elif head not in options:
        raise ConfigError(f"sweep setting '{path}': '{head}' is neither a config section (model, layers) nor an "
                          f"argument of fxflow.compile ({', '.join(options)})")
    elif len(parts) > 2:
        raise ConfigError(f"sweep setting '{path}': expected '{head}' or '{head}.<key>'")


def apply(point: dict, config: dict, options: dict) -> tuple[dict, dict]:
    """The config dict and compile keyword arguments of one point: `config` and `options` (the settings
    shared by all points) with the point's paths set on copies of them."""
    config, options = copy.deepcopy(config), copy.deepcopy(options)
    for section in ("model", "layers"):
        config[section] = config.get(section) or {}
    for path, value in point.items():
        parts = path.split(".")
        if parts[0] in ("model", "layers"):
            target = config
            for part in parts[:-1]:
                target = target.setdefault(part, {})
                if not isinstance(target, dict):
                    raise ConfigError(f"sweep setting '{path}': the base config's '{part}' is not a mapping")
            target[parts[-1]] = value
        elif len(parts) == 1:
            options[path] = value
        else:
            own = options.get(parts[0])
            own = dict(own) if isinstance(own, dict) else {}
            own[parts[1]] = value
            options[parts[0]] = own
    return config, options


def base_config(config) -> dict:
    """The shared config as a plain dict (a dict, a `Config`, or a YAML/JSON path), validated."""
    from fxflow.config import Config

    if config is None:
        return {}
    if isinstance(config, (str, os.PathLike)):
        return Config.load(config).to_dict()
    if isinstance(config, Config):
        return config.to_dict()
    if isinstance(config, dict):  # kept as written: a swept `precision` must still imply its own defaults
        from fxflow.hls4ml_compat import from_hls4ml, is_hls4ml_config

        Config.from_dict(config)
        return from_hls4ml(config) if is_hls4ml_config(config) else copy.deepcopy(config)
    raise ConfigError(f"config must be a dict, a Config or a file path, got {type(config).__name__}")

