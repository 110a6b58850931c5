"""`VersalOptions`: the `versal={...}` dict of `fxflow.compile(backend="versal")` (plain JSON values, so a
design-space sweep can vary them through the ordinary compile config)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from fxflow.config import options_from_dict
from fxflow.errors import ConfigError
from fxflow.lowering.aie.options import AieOptions

from fxflow.lowering.versal.device import get_versal_device

TARGETS = ("pl", "aie")
TIME_BASES = ("latency", "interval")
DEFAULT_WEIGHTS = {"dsp": 1.0, "lut": 1.0, "ff": 1.0, "bram18": 1.0, "tiles": 1.0, "plio": 1.0}


@dataclass
class VersalOptions:
    device: str = "xcve2802"
    partition: object = "auto"  # "auto" or {layer: "pl" | "aie"} (unlisted layers: "pl")
    target_rate_mhz: float = 40.0  # samples per microsecond the system must sustain
    pl_clock_mhz: float = 200.0
    batch: int = AieOptions.batch  # rows per AIE kernel call (the PL side gathers a batch before each PLIO transfer)
    objective: str = AieOptions.objective  # the AIE partitioner's objective (lowering/aie/passes/partition.py)
    weights: dict = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))  # LARE resource weights
    time: str = "latency"  # LARE time basis: end-to-end latency or per-sample interval
    max_tiles: int = AieOptions.max_tiles  # 0: every compute tile
    max_plio: int = 0  # 0: the device's PLIO ports (each direction; all AIE segments together)
    max_segments: int = 0  # auto: at most this many AIE segments (0: no limit but the device's)

    @classmethod
    def from_dict(cls, data) -> "VersalOptions":
        opts = options_from_dict(cls, data, "versal")
        opts.validate()
        return opts

    def validate(self) -> None:
        get_versal_device(self.device)
        p = self.partition
        if not (p == "auto" or isinstance(p, dict)):
            raise ConfigError(f"versal partition must be 'auto' or a {{layer: 'pl' | 'aie'}} dict, got {p!r}")
        if isinstance(p, dict):
            for layer, target in p.items():
                if target not in TARGETS:
                    raise ConfigError(f"versal partition of layer '{layer}' must be 'pl' or 'aie', got {target!r}")
        for name in ("target_rate_mhz", "pl_clock_mhz"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ConfigError(f"versal option {name} must be a positive number, got {v!r}")
        if not isinstance(self.batch, int) or self.batch < 1:
            raise ConfigError(f"versal option batch must be a positive integer, got {self.batch!r}")
        if self.time not in TIME_BASES:
            raise ConfigError(f"versal option time must be one of {', '.join(TIME_BASES)}, got {self.time!r}")
        if not isinstance(self.weights, dict):
            raise ConfigError(f"versal weights must be a dict, got {type(self.weights).__name__}")
        bad = sorted(set(self.weights) - set(DEFAULT_WEIGHTS))
        if bad:
            raise ConfigError(f"unknown LARE weight(s) {', '.join(bad)} (known: {', '.join(DEFAULT_WEIGHTS)})")
        for k, v in self.weights.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ConfigError(f"LARE weight {k} must be a number >= 0, got {v!r}")
        self.weights = {**DEFAULT_WEIGHTS, **self.weights}
        for name in ("max_tiles", "max_plio", "max_segments"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 0:
                raise ConfigError(f"versal option {name} must be an integer >= 0, got {v!r}")

    def to_dict(self) -> dict:
        return asdict(self)
