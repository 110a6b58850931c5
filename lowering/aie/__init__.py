"""AIE-ML backend: partitioned, placed `df.graph` -> `AieProgram` -> mlir-aie text, kernel C++, placement PNG."""
