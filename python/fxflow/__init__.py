"""fxflow: trained neural networks to bit-exact fixed-point hardware, on MLIR.

    import fxflow
    design = fxflow.compile(model, example_input, config={"model": {"precision": "ap_fixed<16,6>"}})
    y = design.predict(x)        # bit-exact emulation
    y_c = design.csim(x)         # emitted HLS C++ compiled with g++ against the real ap_types headers
    design.write("out/")         # the Vitis HLS project
"""

from .config import Config
from .errors import ConfigError, FormatError, FxflowError, InternalError, ShapeError, ToolchainError, UnsupportedOpError
from .fixed import FixedFormat
from .version import __version__

__all__ = ["compile", "Config", "Design", "FixedFormat", "FxflowError", "ConfigError", "FormatError",
           "InternalError", "ShapeError", "ToolchainError", "UnsupportedOpError"]
__all__ += ["sweep"]


def __getattr__(name):
    # The compile driver pulls in the MLIR bindings and the emulator; tools that only need the
    # dialects (fxflow-opt) should not pay for it at startup.
    if name == "compile":
        from .compiler import compile

        return compile
    if name == "Design":
        from .design import Design

        return Design
    if name == "sweep":  # design-space sweeps (fxflow.dse); the module is dse, so this name stays the function
        from .dse import sweep

        return sweep
    raise AttributeError(f"module 'fxflow' has no attribute {name!r}")
