"""The `Backend` protocol and the one registry of backends (`fxflow.compile(backend=...)`, `fxflow compile`).

`compile` runs the target-independent pipeline up to the `df` stage, then hands the module to the backend
object; `Design` forwards everything after that (write, report, simulate, synth, ...) to the same object,
and the CLI asks it for its argparse group.  A backend is found by name through `REGISTRY`
("module:Class"), imported on first use: importing this module imports no backend.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from fxflow.errors import ConfigError, FxflowError

REGISTRY = {
    "vitis": "fxflow.lowering.hls.backend:VitisBackend",  # ap_fixed HLS C++ for Vitis HLS
    "catapult": "fxflow.lowering.hls.backend:CatapultBackend",  # ac_fixed/ac_channel HLS C++ for Catapult
    "aie": "fxflow.lowering.aie.backend:AieBackend",  # mlir-aie program for the AIE-ML array
    "rtl": "fxflow.lowering.rtl.backend:RtlBackend",  # CIRCT hw/comb/seq -> SystemVerilog
    "versal": "fxflow.lowering.versal.backend:VersalBackend",  # PL (HLS) + AI Engines joined by PLIO
}
VIEWS = {"aie_program": "aie", "rtl": "rtl", "versal": "versal"}  # Design properties only these backends have


@runtime_checkable
class Backend(Protocol):
    """What `compile`, `Design` and the CLI need from a backend (hls4ml's `config.backend`)."""

    name: str
    title: str  # for messages: "Vitis HLS", "AIE-ML", ...
    options: type  # dataclass with `from_dict`; its field defaults are the CLI defaults
    io_types: tuple[str, ...]

    def lower(self, module, options, ctx, project_name: str) -> tuple[dict[str, str], Any]:
        """After the `df` stage: the backend's stage snapshots and its state (kept as `Design.backend_state`)."""

    def write(self, design, path: Path, inputs=None) -> Path: ...

    def report(self, design, part=None, clock=None, lut_costs=None) -> dict: ...

    def simulate(self, design, x, raw: bool = False, **options): ...

    def synth(self, design, **options) -> dict: ...

    def cli_arguments(self, parser) -> None:
        """Add this backend's `fxflow compile` flags (defaults read from `options`) to an argparse parser."""

    def cli_options(self, args) -> dict | None:
        """The `options` dict a parsed `fxflow compile` command line asks for (None: no backend options); checks
        the flags before the compile starts."""

    def cli_summary(self, design, args, seconds: float) -> None:
        """Print what `fxflow compile` shows after writing the project; `--csim N` compares with predict."""


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def get(name: str) -> Backend:
    """The backend object registered as `name` (its module is imported here, on first use)."""
    if name not in REGISTRY:
        raise ConfigError(f"unknown backend '{name}' (available: {', '.join(REGISTRY)})")
    module, _, cls = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), cls)()


class BackendBase:
    """Shared behaviour: option parsing, the io_type check, and a clear error for what a backend lacks."""

    name = ""
    title = ""
    kind = ""  # "HLS" for the C++ flavours: io_type messages name the kind of option
    options: type = None
    io_types: tuple[str, ...] = ("io_parallel",)
    hints: dict[str, str] = {}  # method -> what to use instead on this backend

    def parse_options(self, data):
        return self.options.from_dict(data)

    def check_io_type(self, io_type: str) -> None:
        if io_type in self.io_types:
            return
        others = [n for n in names() if n != self.name and io_type in get(n).io_types]
        kinds = {get(n).kind for n in others}
        what = f"an {kinds.pop()} option" if len(kinds) == 1 else "an option"
        raise ConfigError(f"io_type '{io_type}' is {what} (backends {', '.join(others)}); the {self.title} backend "
                          f"builds {', '.join(self.io_types)} designs")

    def unsupported(self, method: str) -> FxflowError:
        hint = self.hints.get(method)
        if hint is None and method in VIEWS:  # a view of another backend's state
            hint = f"this design was not compiled for it (compile with backend='{VIEWS[method]}')"
        if hint is None and method == "synth":
            hint = "yosys counts need the RTL backend (compile with backend='rtl')"
        return FxflowError(f"{method} is not supported by the '{self.name}' backend of this design"
                           + (f": {hint}" if hint else ""))

    # methods a backend may lack: each raises the clear error above
    def write(self, design, path: Path, inputs=None) -> Path:
        raise self.unsupported("write")

    def report(self, design, part=None, clock=None, lut_costs=None) -> dict:
        raise self.unsupported("report")

    def simulate(self, design, x, raw: bool = False, **options):
        raise self.unsupported("simulate")

    def synth(self, design, **options) -> dict:
        raise self.unsupported("synth")

    def csim(self, design, x, raw: bool = False, verbose: bool = True):
        raise self.unsupported("csim")

    def build(self, design, path=None, steps=("csim", "synth"), timeout=None, part=None, clock=None) -> Path:
        raise self.unsupported("build")

    def rtl_sim(self, design, x, raw: bool = False, verbose: bool = True):
        raise self.unsupported("rtl_sim")

    def aie_program(self, design):
        raise self.unsupported("aie_program")

    def rtl(self, design):
        raise self.unsupported("rtl")

    def versal(self, design):
        raise self.unsupported("versal")

    def cli_arguments(self, parser) -> None:
        """No flags of its own."""

    def cli_options(self, args) -> dict | None:
        return None

    def cli_summary(self, design, args, seconds: float) -> None:
        raise self.unsupported("cli_summary")

    def no_options(self, method: str, options: dict) -> None:
        if options:
            raise ConfigError(f"{method} of the '{self.name}' backend takes no option(s) {', '.join(sorted(options))} "
                              "(pl= selects the PL executor of Versal designs)")


def default(options: type, field: str):
    """The default of one field of an options dataclass (the CLI shows and uses it)."""
    f = next(f for f in dataclasses.fields(options) if f.name == field)
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


def compare_simulation(design, n: int, what: str, **simulate_options) -> None:
    """`--csim N`: `Design.simulate(**simulate_options)` vs `predict` on N random samples; an FxflowError when
    they differ."""
    import numpy as np

    x = np.random.default_rng(0).normal(size=(n, *design.input_shapes[0]))
    bad = int(np.sum(design.simulate(x, raw=True, **simulate_options) != design.predict(x, raw=True)))
    print(f"[fxflow] {what} simulation vs predict on {n} samples: {bad} mismatching values")
    if bad:
        raise FxflowError(f"the {what} simulation disagrees with the emulator on {bad} values")
