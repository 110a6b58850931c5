// SystemVerilog through CIRCT's ExportVerilog (seq lowered to always_ff, no source locations, no block-local
// variables so that yosys reads it).
// REQUIRES: circt
// RUN: fxflow-translate %S/Inputs/dense_relu.mlir --emit-verilog | filecheck %s

// CHECK: module myproject_fc1(
// CHECK: input  [15:0] x0_0,
// CHECK: always_ff @(posedge clk)
// CHECK-NOT: automatic
// CHECK: module myproject(
// CHECK: output in_ready,
// CHECK: myproject_fc1 u_myproject_fc1 (
// CHECK: assign in_ready = 1'h1;
