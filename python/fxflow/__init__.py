"""fxflow: trained neural networks to bit-exact fixed-point hardware, on MLIR.

    import fxflow
    design = fxflow.compile(model, example_input, config={"model": {"precision": "ap_fixed<16,6>"}})
    y = design.predict(x)        # bit-exact emulation
    y_c = design.csim(x)         # emitted HLS C++ compiled with g++ against the real ap_types headers
    design.write("out/")         # the Vitis HLS project
"""

from .compiler import compile  # noqa: A001
from .config import Config
from .design import Design
from .errors import ConfigError, FormatError, FxflowError, ShapeError, ToolchainError, UnsupportedOpError
from .fixed import FixedFormat

__all__ = ["compile", "Config", "Design", "FixedFormat", "FxflowError", "ConfigError", "FormatError",
           "ShapeError", "ToolchainError", "UnsupportedOpError"]
__version__ = "0.1.0"
