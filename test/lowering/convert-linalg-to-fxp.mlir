// RUN: fxflow-opt --convert-linalg-to-fxp --split-input-file %s | filecheck %s
// RUN: fxflow-opt --convert-linalg-to-fxp --split-input-file --mlir-print-debuginfo %s | filecheck %s --check-prefix=LOC

// A Linear layer (transpose of constant weights, matmul into a zero fill, bias broadcast) followed by ReLU,
// as torch-mlir produces it.
#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d1)>
func.func @main(%arg0: tensor<1x2xf32>) -> tensor<1x3xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %b = arith.constant dense<[0.5, -0.25, 1.0]> : tensor<3xf32> loc("fc1")
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32> loc("fc1")
  %0 = tensor.empty() : tensor<2x3xf32> loc("fc1")
  %t = linalg.transpose ins(%w : tensor<3x2xf32>) outs(%0 : tensor<2x3xf32>) permutation = [1, 0] loc("fc1")
  %1 = tensor.empty() : tensor<1x3xf32> loc("fc1")
  %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<1x3xf32>) -> tensor<1x3xf32> loc("fc1")
  %3 = linalg.matmul ins(%arg0, %t : tensor<1x2xf32>, tensor<2x3xf32>) outs(%2 : tensor<1x3xf32>) -> tensor<1x3xf32> loc("fc1")
  %4 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%3, %b : tensor<1x3xf32>, tensor<3xf32>) outs(%1 : tensor<1x3xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %r = arith.addf %in, %in_1 : f32
    linalg.yield %r : f32
  } -> tensor<1x3xf32> loc("fc1")
  %5 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%4 : tensor<1x3xf32>) outs(%1 : tensor<1x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.cmpf ugt, %in, %cst : f32
    %s = arith.select %c, %in, %cst : f32
    linalg.yield %s : f32
  } -> tensor<1x3xf32> loc("act")
  return %5 : tensor<1x3xf32>
}
// CHECK-LABEL: "func.func"
// CHECK-DAG:   %[[W:.*]] = "fxp.constant"() {value = dense<{{\[}}[1.000000e+00, 3.000000e+00, 5.000000e+00], [2.000000e+00, 4.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>}
// CHECK-DAG:   %[[B:.*]] = "fxp.constant"() {value = dense<[5.000000e-01, -2.500000e-01, 1.000000e+00]> : tensor<3xf32>}
// CHECK:       %[[D:.*]] = "fxp.dense"(%arg0, %[[W]], %[[B]]) {accum = f64} : (tensor<1x2xf32>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
// CHECK:       %[[R:.*]] = "fxp.relu"(%[[D]]) : (tensor<1x3xf32>) -> tensor<1x3xf32>
// CHECK:       "func.return"(%[[R]])
// CHECK-NOT:   linalg.
// LOC:         "fxp.dense"{{.*}} loc(#[[FC1:loc[0-9]*]])
// LOC:         "fxp.relu"{{.*}} loc(#[[ACT:loc[0-9]*]])
// LOC-DAG:     #[[FC1]] = loc("fc1")
// LOC-DAG:     #[[ACT]] = loc("act")

// -----

// A bias-free layer and a residual add of two tensors.
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @residual(%arg0: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %w = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32> loc("fc")
  %1 = tensor.empty() : tensor<1x2xf32>
  %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<1x2xf32>) -> tensor<1x2xf32>
  %3 = linalg.matmul ins(%arg0, %w : tensor<1x2xf32>, tensor<2x2xf32>) outs(%2 : tensor<1x2xf32>) -> tensor<1x2xf32> loc("fc")
  %4 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%3, %arg0 : tensor<1x2xf32>, tensor<1x2xf32>) outs(%1 : tensor<1x2xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %r = arith.addf %in, %in_1 : f32
    linalg.yield %r : f32
  } -> tensor<1x2xf32> loc("skip")
  return %4 : tensor<1x2xf32>
}
// CHECK-LABEL: "func.func"
// CHECK:       %[[Z:.*]] = "fxp.constant"() {value = dense<0.000000e+00> : tensor<2xf32>}
// CHECK:       %[[D:.*]] = "fxp.dense"(%arg0, %{{.*}}, %[[Z]])
// CHECK:       "fxp.add"(%[[D]], %arg0)
