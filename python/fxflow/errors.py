"""Errors fxflow reports to users: one base class so drivers can print a clean message, never a traceback."""


class FxflowError(Exception):
    """Base of every error that is the user's input, not a compiler bug."""


class FormatError(FxflowError, ValueError):
    """A malformed or illegal fixed-point format (precision string, width, mode)."""


class ConfigError(FxflowError, ValueError):
    """An invalid configuration key, layer name or value."""


class UnsupportedOpError(FxflowError):
    """An operation the compiler cannot lower; names the op and where it came from (`layer`: the module
    path or ONNX node name, when known; `location`: the printed MLIR location of the op, when known)."""

    def __init__(self, message: str, layer: str | None = None, location: str | None = None):
        super().__init__(message)
        self.layer = layer
        self.location = location


class ShapeError(FxflowError, ValueError):
    """Input data or IR whose shapes do not match."""


class IRError(FxflowError):
    """Malformed or invalid MLIR (parse or verification failure)."""


class ToolchainError(FxflowError):
    """A missing or failing external tool (g++, ap_types headers, vitis_hls)."""
