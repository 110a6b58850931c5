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


class InternalError(Exception):
    """A bug in fxflow, not in the user's input: one of fxflow's own passes left IR that fails verification,
    or a tool (g++, Verilator, yosys) rejected a file fxflow generated.  Deliberately NOT an FxflowError, so
    that nothing catching user errors (the CLI's clean message, the fuzz harness's "clean error") hides it.

    `where` names the pass or the generated file; drivers print "internal error (please report): ..." and
    exit with INTERNAL_ERROR_EXIT_CODE."""

    def __init__(self, message: str, where: str | None = None):
        super().__init__(f"{message} (this is a bug in fxflow, not in your input)")
        self.where = where


# The exit code of `fxflow`, `fxflow-opt` and `fxflow-translate` on an InternalError (user errors exit 1).
INTERNAL_ERROR_EXIT_CODE = 70  # EX_SOFTWARE of sysexits.h: an internal software error
