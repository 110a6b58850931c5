// RUN: not fxflow-opt --convert-linalg-to-fxp %s 2>&1 | filecheck %s
// An op outside the supported set is reported with its name and the module it came from: here a 2-D matmul
// of two activations whose dim 0 is not the sample (it would mix samples; fxp.matmul keeps dim 0 the sample).
// CHECK: unsupported operation 'linalg.matmul' from module 'head.outer'
// CHECK-NOT: Traceback
func.func @main(%arg0: tensor<3x1xf32>, %arg1: tensor<1x3xf32>) -> tensor<3x3xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %1 = tensor.empty() : tensor<3x3xf32>
  %2 = linalg.fill ins(%zero : f32) outs(%1 : tensor<3x3xf32>) -> tensor<3x3xf32>
  %3 = linalg.matmul ins(%arg0, %arg1 : tensor<3x1xf32>, tensor<1x3xf32>) outs(%2 : tensor<3x3xf32>) -> tensor<3x3xf32> loc("head.outer")
  return %3 : tensor<3x3xf32>
}
