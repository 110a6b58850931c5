"""RTL backend: df/fxp designs lowered to CIRCT hw/comb/seq (its own MLIR context) and SystemVerilog."""
