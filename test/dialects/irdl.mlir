// torch-mlir-opt, loading our IRDL (`%irdl`), is an independent parser/verifier of the fxp dialect: it must
// read our test files and agree with fxflow-opt's generic output.
// RUN: %irdl > %t.irdl.mlir
// RUN: torch-mlir-opt --irdl-file=%t.irdl.mlir %s | filecheck %s
// RUN: fxflow-opt %S/fxp/roundtrip.mlir > %t.ours.mlir
// RUN: torch-mlir-opt --irdl-file=%t.irdl.mlir --mlir-print-op-generic %S/fxp/roundtrip.mlir | fxflow-opt > %t.theirs.mlir
// RUN: diff %t.ours.mlir %t.theirs.mlir
// RUN: fxflow-opt %s | torch-mlir-opt --irdl-file=%t.irdl.mlir | filecheck %s
//
// IRDL-level constraints (required attributes, operand counts, type parameters) are checked by both tools.
// RUN: torch-mlir-opt --irdl-file=%t.irdl.mlir --split-input-file --verify-diagnostics %S/Inputs/irdl-invalid.mlir
// RUN: fxflow-opt --split-input-file --verify-diagnostics %S/Inputs/irdl-invalid.mlir
//
// Known limitation: IRDL carries no traits, so torch-mlir-opt does not know that df.yield / df.return are
// terminators and rejects every df region (the traits are attached by the Python definitions only).
// RUN: not torch-mlir-opt --irdl-file=%t.irdl.mlir %S/df/roundtrip.mlir 2>&1 | filecheck %s --check-prefix=DF
// DF: error: block with no terminator, has "df.yield"

!q = !fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND", "SAT">

// CHECK-LABEL: func.func @f(
// CHECK-SAME: %[[X:.*]]: tensor<2x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND", "SAT">>
// CHECK: %[[C:.*]] = "fxp.constant"() {value = dense<[3, -4]> : tensor<2xi64>}
// CHECK: %[[S:.*]] = "fxp.add"(%[[X]], %[[C]])
// CHECK: %[[R:.*]] = "fxp.relu"(%[[S]])
// CHECK: %[[F:.*]] = "fxp.cast"(%[[R]]) : (tensor<2x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND", "SAT">>) -> tensor<2xf32>
// CHECK: return %[[F]] : tensor<2xf32>
func.func @f(%x: tensor<2x!q>) -> tensor<2xf32> {
  %c = "fxp.constant"() {value = dense<[3, -4]> : tensor<2xi64>} : () -> tensor<2x!q>
  %s = "fxp.add"(%x, %c) : (tensor<2x!q>, tensor<2x!q>) -> tensor<2x!q>
  %r = "fxp.relu"(%s) : (tensor<2x!q>) -> tensor<2x!q>
  %f = "fxp.cast"(%r) : (tensor<2x!q>) -> tensor<2xf32>
  return %f : tensor<2xf32>
}
