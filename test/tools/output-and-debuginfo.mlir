// -o writes the module to a file; --mlir-print-debuginfo keeps locations, named after this file with its
// line numbers (also for block arguments), and explicit locations in the input are kept as they are.
// RUN: fxflow-opt %s -o %t.mlir && filecheck %s --check-prefix=PLAIN < %t.mlir
// RUN: fxflow-opt %s --mlir-print-debuginfo | filecheck %s
// RUN: fxflow-opt %s --mlir-print-debuginfo --mlir-print-local-scope | filecheck %s --check-prefix=LOCAL
// Re-parsing printed debug info keeps the original locations:
// RUN: fxflow-opt %s --mlir-print-debuginfo | fxflow-opt --mlir-print-debuginfo | filecheck %s

// PLAIN: "func.func"
// PLAIN-NOT: loc(

// CHECK-DAG: loc("{{.*}}output-and-debuginfo.mlir":[[# @LINE + 7]]:14)
// CHECK-DAG: #[[FN:.+]] = loc("{{.*}}output-and-debuginfo.mlir":[[# @LINE + 6]]:1)
// CHECK-DAG: #[[RELU:.+]] = loc("{{.*}}output-and-debuginfo.mlir":[[# @LINE + 6]]:8)
// CHECK-DAG: #[[MODEL:.+]] = loc("model.py":10:3)
// CHECK-DAG: loc("fc1"(#[[MODEL]]))
// LOCAL: "fxp.relu"(%arg0) : (tensor<4xf32>) -> tensor<4xf32> loc("{{.*}}output-and-debuginfo.mlir":[[# @LINE + 3]]:8)
// LOCAL: "fxp.relu"(%0) : (tensor<4xf32>) -> tensor<4xf32> loc("fc1"("model.py":10:3))
func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<4xf32>
  %1 = "fxp.relu"(%0) : (tensor<4xf32>) -> tensor<4xf32> loc("fc1"("model.py":10:3))
  return %1 : tensor<4xf32>
}
