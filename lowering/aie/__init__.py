"""AIE-ML backend: partitioned, placed `df.graph` -> `AieProgram` -> mlir-aie text, kernel C++, placement PNG."""

from fxflow.lowering.aie.device import DEVICES, AieFitError, Device, get_device  # noqa: F401
