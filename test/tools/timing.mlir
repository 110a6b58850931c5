// --mlir-timing prints the pass timing report (stderr), fxflow passes included.
// RUN: fxflow-opt %s --mlir-timing --canonicalize --fxp-assign-precision 2>&1 >/dev/null | filecheck %s
// CHECK: Execution time report
// CHECK-DAG: CanonicalizerPass
// CHECK-DAG: fxp-assign-precision
// CHECK: Total
func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
