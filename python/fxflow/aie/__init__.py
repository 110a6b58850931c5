"""The AMD AIE-ML backend's target-side models: devices, kernel integer arithmetic, the cycle model,
the placed program (`AieProgram`), its structural checker and its bit-exact functional simulator.

The IR side lives in `fxflow.lowering.fxp_to_aie` (convert-fxp-to-aie), `fxflow.passes.aie_partition`,
`fxflow.passes.aie_place` and `fxflow.lowering.aie` (program builder, mlir-aie / C++ / PNG emission).
"""

from .device import DEVICES, AieFitError, Device, get_device  # noqa: F401
