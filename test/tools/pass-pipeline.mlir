// --pass-pipeline mixes fxflow's Python passes with upstream passes and nested pipelines, in order;
// pass flags do the same and are applied in command-line order.
// RUN: fxflow-opt %s --pass-pipeline='builtin.module(fxp-assign-precision{precision=ap_fixed<8,3>}, canonicalize, func.func(cse))' | filecheck %s --check-prefixes=CHECK,CSE
// RUN: fxflow-opt %s --fxp-assign-precision='precision=ap_fixed<8,3>' --canonicalize --cse | filecheck %s --check-prefixes=CHECK,CSE
// RUN: fxflow-opt %s -p 'fxp-assign-precision{precision="ap_fixed<8, 3>"},canonicalize' | filecheck %s --check-prefixes=CHECK,NOCSE
// RUN: fxflow-opt %s -fxp-assign-precision='{precision=ap_fixed<8,3>}' -canonicalize | filecheck %s --check-prefixes=CHECK,NOCSE
//
// The order is visible with --mlir-print-ir-after-all (dumps go to stderr, in generic form):
// RUN: fxflow-opt %s --pass-pipeline='builtin.module(canonicalize,fxp-assign-precision{precision=ap_fixed<8,3>},func.func(cse))' --mlir-print-ir-after-all 2>&1 >/dev/null | filecheck %s --check-prefix=ORDER
// RUN: fxflow-opt %s --canonicalize --pass-pipeline='builtin.module(fxp-assign-precision{precision=ap_fixed<8,3>})' --cse --mlir-print-ir-after-all 2>&1 >/dev/null | filecheck %s --check-prefix=FLAGS
//
// ORDER: IR Dump After CanonicalizerPass: canonicalize
// ORDER: "fxp.relu"
// ORDER-SAME: -> tensor<1x2xf32>
// ORDER: IR Dump After fxp-assign-precision: fxp-assign-precision
// ORDER: "fxp.relu"
// ORDER-SAME: -> tensor<1x2x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>
// ORDER: IR Dump After CSEPass: cse
// ORDER-NOT: IR Dump
//
// FLAGS: IR Dump After CanonicalizerPass: canonicalize
// FLAGS: IR Dump After fxp-assign-precision: fxp-assign-precision
// FLAGS: IR Dump After CSEPass: cse
// FLAGS-NOT: IR Dump

// CHECK-LABEL: sym_name = "main"
// CHECK: %[[X:.*]] = "fxp.cast"(%arg0) : (tensor<1x2xf32>) -> tensor<1x2x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>
// CHECK: "fxp.constant"() {value = dense<{{\[\[}}16, -8], [32, 4]]> : tensor<2x2xi64>}
// CHECK: %[[Y:.*]] = "fxp.dense"(%[[X]],
// The dead relu is gone (canonicalize); the two identical ones are merged by CSE only.
// CHECK: %[[R:.*]] = "fxp.relu"(%[[Y]])
// NOCSE: %[[R2:.*]] = "fxp.relu"(%[[Y]])
// NOCSE: "fxp.add"(%[[R]], %[[R2]])
// CSE-NOT: "fxp.relu"
// CSE: "fxp.add"(%[[R]], %[[R]])
// CHECK-NOT: "fxp.relu"
// CHECK: "func.return"
func.func @main(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = "fxp.constant"() {value = dense<[[0.5, -0.25], [1.0, 0.125]]> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
  %b = "fxp.constant"() {value = dense<[0.5, 0.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  %y = "fxp.dense"(%x, %w, %b) {accum = f64} : (tensor<1x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  %dead = "fxp.relu"(%y) : (tensor<1x2xf32>) -> tensor<1x2xf32>
  %r = "fxp.relu"(%y) : (tensor<1x2xf32>) -> tensor<1x2xf32>
  %r2 = "fxp.relu"(%y) : (tensor<1x2xf32>) -> tensor<1x2xf32>
  %s = "fxp.add"(%r, %r2) : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x2xf32>
  return %s : tensor<1x2xf32>
}
