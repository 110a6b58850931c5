// RUN: fxflow-opt --convert-linalg-to-fxp --split-input-file %s | filecheck %s
// RUN: fxflow-opt --convert-linalg-to-fxp --split-input-file --mlir-print-debuginfo %s | filecheck %s --check-prefix=LOC
// The activations as torch-mlir emits them (torch.export -> linalg-on-tensors), one layer per function.

#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> ()>
// ReLU6 / Hardtanh: max with a rank-0 constant, then min with another -> one clamp.
func.func @relu6(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %c0 = arith.constant dense<0.000000e+00> : tensor<f32> loc("r6")
  %c6 = arith.constant dense<6.000000e+00> : tensor<f32> loc("r6")
  %0 = tensor.empty() : tensor<1x4xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0, %c0 : tensor<1x4xf32>, tensor<f32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %a = arith.cmpf ogt, %in, %in_1 : f32
    %b = arith.select %a, %in, %in_1 : f32
    linalg.yield %b : f32
  } -> tensor<1x4xf32> loc("r6")
  %2 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%c6, %1 : tensor<f32>, tensor<1x4xf32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %a = arith.cmpf olt, %in, %in_1 : f32
    %b = arith.select %a, %in, %in_1 : f32
    linalg.yield %b : f32
  } -> tensor<1x4xf32> loc("r6")
  return %2 : tensor<1x4xf32>
}
// CHECK-LABEL: sym_name = "relu6"
// CHECK:       "fxp.clamp"(%arg0) {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64}
// CHECK-NOT:   linalg.generic
// LOC:         "fxp.clamp"{{.*}} loc(#[[R6:loc[0-9]*]])
// LOC:         #[[R6]] = loc("r6")

// -----

#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> ()>
// LeakyReLU(0.1): max(0, x) + min(0, x) * truncf(0.1) -> prelu with a per-tensor slope.
func.func @leaky(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %s = arith.constant 1.000000e-01 : f64
  %c0 = arith.constant dense<0.000000e+00> : tensor<f32>
  %0 = tensor.empty() : tensor<1x4xf32>
  %1 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%c0, %arg0 : tensor<f32>, tensor<1x4xf32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %a = arith.cmpf ogt, %in, %in_1 : f32
    %b = arith.select %a, %in, %in_1 : f32
    linalg.yield %b : f32
  } -> tensor<1x4xf32> loc("lr")
  %2 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%c0, %arg0 : tensor<f32>, tensor<1x4xf32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %a = arith.cmpf olt, %in, %in_1 : f32
    %b = arith.select %a, %in, %in_1 : f32
    linalg.yield %b : f32
  } -> tensor<1x4xf32> loc("lr")
  %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%2 : tensor<1x4xf32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %t = arith.truncf %s : f64 to f32
    %m = arith.mulf %in, %t : f32
    linalg.yield %m : f32
  } -> tensor<1x4xf32> loc("lr")
  %4 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%1, %3 : tensor<1x4xf32>, tensor<1x4xf32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %a = arith.addf %in, %in_1 : f32
    linalg.yield %a : f32
  } -> tensor<1x4xf32> loc("lr")
  return %4 : tensor<1x4xf32>
}
// CHECK-LABEL: sym_name = "leaky"
// CHECK:       %[[A:.*]] = "fxp.constant"() {value = dense<1.000000e-01> : tensor<1xf32>}
// CHECK:       "fxp.prelu"(%arg0, %[[A]])
// CHECK-NOT:   linalg.generic

// -----

#map = affine_map<(d0, d1) -> (d0, d1)>
// PReLU(4): x > 0 ? x : alpha * x with alpha broadcast to the tensor's shape -> per-channel slope.
func.func @prelu(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %al = arith.constant dense<[[0.25, -0.5, 0.125, 1.0]]> : tensor<1x4xf32>
  %0 = tensor.empty() : tensor<1x4xf32>
  %e = tensor.empty() : tensor<1x4xi1>
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<1x4xf32>) outs(%e : tensor<1x4xi1>) {
  ^bb0(%in: f32, %out: i1):
    %c = arith.cmpf ogt, %in, %cst : f32
    linalg.yield %c : i1
  } -> tensor<1x4xi1> loc("pr")
  %2 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%al, %arg0 : tensor<1x4xf32>, tensor<1x4xf32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %m = arith.mulf %in, %in_1 : f32
    linalg.yield %m : f32
  } -> tensor<1x4xf32> loc("pr")
  %3 = linalg.generic {indexing_maps = [#map, #map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%1, %arg0, %2 : tensor<1x4xi1>, tensor<1x4xf32>, tensor<1x4xf32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: i1, %in_1: f32, %in_2: f32, %out: f32):
    %s = arith.select %in, %in_1, %in_2 : f32
    linalg.yield %s : f32
  } -> tensor<1x4xf32> loc("pr")
  return %3 : tensor<1x4xf32>
}
// CHECK-LABEL: sym_name = "prelu"
// CHECK:       %[[A:.*]] = "fxp.constant"() {value = dense<[2.500000e-01, -5.000000e-01, 1.250000e-01, 1.000000e+00]> : tensor<4xf32>}
// CHECK:       "fxp.prelu"(%arg0, %[[A]]) : (tensor<1x4xf32>, tensor<4xf32>) -> tensor<1x4xf32>

// -----

#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> ()>
// ELU: max(0, x) + (exp(min(0, x)) - 1), five generics of one layer -> one lut holding all their bodies.
func.func @elu(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %one = arith.constant 1.000000e+00 : f32
  %c0 = arith.constant dense<0.000000e+00> : tensor<f32>
  %0 = tensor.empty() : tensor<1x4xf32>
  %1 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%c0, %arg0 : tensor<f32>, tensor<1x4xf32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %a = arith.cmpf ogt, %in, %in_1 : f32
    %b = arith.select %a, %in, %in_1 : f32
    linalg.yield %b : f32
  } -> tensor<1x4xf32> loc("elu")
  %2 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%c0, %arg0 : tensor<f32>, tensor<1x4xf32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %a = arith.cmpf olt, %in, %in_1 : f32
    %b = arith.select %a, %in, %in_1 : f32
    linalg.yield %b : f32
  } -> tensor<1x4xf32> loc("elu")
  %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%2 : tensor<1x4xf32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  } -> tensor<1x4xf32> loc("elu")
  %4 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%3 : tensor<1x4xf32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.subf %in, %one : f32
    linalg.yield %s : f32
  } -> tensor<1x4xf32> loc("elu")
  %5 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%1, %4 : tensor<1x4xf32>, tensor<1x4xf32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %a = arith.addf %in, %in_1 : f32
    linalg.yield %a : f32
  } -> tensor<1x4xf32> loc("elu")
  return %5 : tensor<1x4xf32>
}
// CHECK-LABEL: sym_name = "elu"
// CHECK:       "fxp.lut"(%arg0) ({
// CHECK-NEXT:  ^bb0(%[[X:.*]]: f32):
// CHECK-DAG:   %[[ONE:.*]] = "arith.constant"() <{value = 1.000000e+00 : f32}>
// CHECK-DAG:   %[[ZERO:.*]] = "arith.constant"() <{value = 0.000000e+00 : f32}>
// CHECK:       math.exp
// CHECK:       arith.subf
// CHECK:       %[[R:.*]] = "arith.addf"
// CHECK:       "fxp.yield"(%[[R]]) : (f32) -> ()
// CHECK-NEXT:  }) : (tensor<1x4xf32>) -> tensor<1x4xf32>
// CHECK-NOT:   linalg.generic

// -----

#map = affine_map<(d0, d1) -> (d0, d1)>
// Sigmoid: one generic -> lut; x + 3 alone is affine and stays a scale_shift (layer family).
func.func @sigmoid(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %one = arith.constant 1.000000e+00 : f32
  %three = arith.constant 3.000000e+00 : f32
  %0 = tensor.empty() : tensor<1x4xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<1x4xf32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    %e = math.exp %n : f32
    %a = arith.addf %e, %one : f32
    %d = arith.divf %one, %a : f32
    linalg.yield %d : f32
  } -> tensor<1x4xf32> loc("sig")
  %2 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%1 : tensor<1x4xf32>) outs(%0 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %three : f32
    linalg.yield %a : f32
  } -> tensor<1x4xf32> loc("shift")
  return %2 : tensor<1x4xf32>
}
// CHECK-LABEL: sym_name = "sigmoid"
// CHECK:       %[[L:.*]] = "fxp.lut"(%arg0)
// CHECK:       math.exp
// CHECK:       "arith.divf"
// CHECK:       "fxp.scale_shift"(%[[L]]

// -----

#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d0, d2)>
#map2 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// Softmax(dim=1) of a [1, 3, 2] tensor: reduce max, sub, exp, reduce sum, div -> fxp.softmax, axis 1.
func.func @softmax(%arg0: tensor<1x3x2xf32>) -> tensor<1x3x2xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.000000e+00 : f32
  %c0 = arith.constant 0 : i64
  %e0 = tensor.empty() : tensor<1x2xf32>
  %f0 = linalg.fill ins(%ninf : f32) outs(%e0 : tensor<1x2xf32>) -> tensor<1x2xf32>
  %e1 = tensor.empty() : tensor<1x2xi64>
  %f1 = linalg.fill ins(%c0 : i64) outs(%e1 : tensor<1x2xi64>) -> tensor<1x2xi64>
  %m:2 = linalg.generic {indexing_maps = [#map, #map1, #map1], iterator_types = ["parallel", "reduction", "parallel"]} ins(%arg0 : tensor<1x3x2xf32>) outs(%f0, %f1 : tensor<1x2xf32>, tensor<1x2xi64>) {
  ^bb0(%in: f32, %out: f32, %out_1: i64):
    %i = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i64
    %mx = arith.maximumf %in, %out : f32
    %c = arith.cmpf ogt, %in, %out : f32
    %s = arith.select %c, %ii, %out_1 : i64
    linalg.yield %mx, %s : f32, i64
  } -> (tensor<1x2xf32>, tensor<1x2xi64>) loc("sm")
  %ex = tensor.expand_shape %m#0 [[0, 1], [2]] output_shape [1, 1, 2] : tensor<1x2xf32> into tensor<1x1x2xf32> loc("sm")
  %0 = tensor.empty() : tensor<1x3x2xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map2, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0, %ex : tensor<1x3x2xf32>, tensor<1x1x2xf32>) outs(%0 : tensor<1x3x2xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %d = arith.subf %in, %in_1 : f32
    linalg.yield %d : f32
  } -> tensor<1x3x2xf32> loc("sm")
  %2 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%1 : tensor<1x3x2xf32>) outs(%0 : tensor<1x3x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  } -> tensor<1x3x2xf32> loc("sm")
  %e2 = tensor.empty() : tensor<1x1x2xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x1x2xf32>) -> tensor<1x1x2xf32>
  %3 = linalg.generic {indexing_maps = [#map, #map2], iterator_types = ["parallel", "reduction", "parallel"]} ins(%2 : tensor<1x3x2xf32>) outs(%f2 : tensor<1x1x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.addf %in, %out : f32
    linalg.yield %a : f32
  } -> tensor<1x1x2xf32> loc("sm")
  %4 = linalg.generic {indexing_maps = [#map, #map2, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%2, %3 : tensor<1x3x2xf32>, tensor<1x1x2xf32>) outs(%0 : tensor<1x3x2xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %d = arith.divf %in, %in_1 : f32
    linalg.yield %d : f32
  } -> tensor<1x3x2xf32> loc("sm")
  return %4 : tensor<1x3x2xf32>
}
// CHECK-LABEL: sym_name = "softmax"
// CHECK:       "fxp.softmax"(%arg0) {axis = 1 : i64, implementation = "stable"} : (tensor<1x3x2xf32>) -> tensor<1x3x2xf32>
// CHECK-NOT:   linalg.
// LOC-LABEL:   sym_name = "softmax"
// LOC:         "fxp.softmax"{{.*}} loc(#[[SM:loc[0-9]*]])
// LOC:         #[[SM]] = loc("sm")
