// RUN: not fxflow-opt --convert-linalg-to-fxp %s 2>&1 | filecheck %s
// An op outside the supported set is reported with its name and the module it came from.
// CHECK: unsupported operation 'linalg.generic' computing arith.negf, math.exp, arith.addf, arith.divf from module 'head.sigmoid'
// CHECK-NOT: Traceback
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%arg0: tensor<1x3xf32>) -> tensor<1x3xf32> {
  %one = arith.constant 1.000000e+00 : f32
  %1 = tensor.empty() : tensor<1x3xf32>
  %2 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<1x3xf32>) outs(%1 : tensor<1x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %r = arith.divf %one, %d : f32
    linalg.yield %r : f32
  } -> tensor<1x3xf32> loc("head.sigmoid")
  return %2 : tensor<1x3xf32>
}
