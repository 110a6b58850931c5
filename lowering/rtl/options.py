"""Options of the RTL backend (`fxflow.compile(..., backend="rtl", rtl={...})`), importable without CIRCT."""

from __future__ import annotations

from dataclasses import dataclass, field

from fxflow.config import options_from_dict
from fxflow.errors import ConfigError

# constant products: comb.mul; canonical-signed-digit adder trees per product; one adder graph per weight
# matrix with common subexpressions shared (fxflow.fixed.addergraph)
PRODUCT_STYLES = ("mul", "shift_add", "adder_graph")


@dataclass
class RtlOptions:
    """`rtl={...}` of `fxflow.compile(..., backend="rtl")`: how constant products are built, register stages
    per layer, and per-layer overrides (`layers: {name: {"products": ..., "pipeline": ...}}`)."""

    products: str = "mul"
    pipeline: int = 1
    layers: dict = field(default_factory=dict)
    # target clock: a kernel that is one dense adder graph gets register stages inside the graph wherever the
    # adder delays fill the period (the `pipeline` stages at its output stay); None: no timing-driven stages
    clock_mhz: float | None = None

    @classmethod
    def from_dict(cls, d) -> "RtlOptions":
        opts = options_from_dict(cls, d, "rtl")
        opts.layers = dict(opts.layers or {})
        _check_layer_options(opts.products, opts.pipeline, "rtl")
        c = opts.clock_mhz
        if c is not None and (isinstance(c, bool) or not isinstance(c, (int, float)) or not 0 < c <= 2000):
            raise ConfigError(f"rtl clock_mhz must be a clock frequency in MHz in (0, 2000], got {c!r}")
        for name, lo in opts.layers.items():
            if not isinstance(lo, dict) or set(lo) - {"products", "pipeline"}:
                raise ConfigError(f"rtl layers.{name} must be a dict with keys products and/or pipeline, got {lo!r}")
            _check_layer_options(lo.get("products", opts.products), lo.get("pipeline", opts.pipeline),
                                 f"rtl layers.{name}")
        return opts

    def for_layer(self, layer: str) -> tuple[str, int]:
        lo = self.layers.get(layer, {})
        return lo.get("products", self.products), lo.get("pipeline", self.pipeline)


def _check_layer_options(products, pipeline, where: str) -> None:
    if products not in PRODUCT_STYLES:
        raise ConfigError(f"{where} products must be one of {', '.join(PRODUCT_STYLES)}, got {products!r}")
    if isinstance(pipeline, bool) or not isinstance(pipeline, int) or not 0 <= pipeline <= 8:
        raise ConfigError(f"{where} pipeline must be an integer number of register stages in [0, 8], got {pipeline!r}")
