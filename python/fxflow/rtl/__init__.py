"""RTL backend drivers: Verilator simulation and yosys synthesis of the CIRCT-built SystemVerilog."""
