// RUN: not fxflow-opt --convert-fake-quant-to-fxp --split-input-file %s 2>/dev/null | filecheck %s
// RUN: not fxflow-opt --convert-fake-quant-to-fxp --split-input-file %s 2>&1 | filecheck %s --check-prefix=ERR

// clamp(round(x * 16), -128, 127) / 16 on an activation -> an exact cast to ap_fixed<8,4,AP_RND_CONV,AP_SAT>
// and back; floor(w * 8) / 8 on a constant weight -> a folded constant plus its model format.
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%arg0: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %c16 = arith.constant 1.600000e+01 : f32
  %lo = arith.constant -1.280000e+02 : f32
  %hi = arith.constant 1.270000e+02 : f32
  %c8 = arith.constant 8.000000e+00 : f32
  %zero = arith.constant 0.000000e+00 : f32
  %w = arith.constant dense<[[0.3, -0.7], [0.55, 0.1]]> : tensor<2x2xf32>
  %e = tensor.empty() : tensor<1x2xf32>
  %ew = tensor.empty() : tensor<2x2xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %c16 : f32
    %r = math.roundeven %m : f32
    %c1 = arith.cmpf ult, %r, %lo : f32
    %s1 = arith.select %c1, %lo, %r : f32
    %c2 = arith.cmpf ugt, %s1, %hi : f32
    %s2 = arith.select %c2, %hi, %s1 : f32
    %d = arith.divf %s2, %c16 : f32
    linalg.yield %d : f32
  } -> tensor<1x2xf32> loc("quant")
  %2 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%w : tensor<2x2xf32>) outs(%ew : tensor<2x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %c8 : f32
    %r = math.floor %m : f32
    %d = arith.divf %r, %c8 : f32
    linalg.yield %d : f32
  } -> tensor<2x2xf32> loc("fc.weight_quantizer")
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2xf32>) -> tensor<1x2xf32>
  %3 = linalg.matmul ins(%1, %2 : tensor<1x2xf32>, tensor<2x2xf32>) outs(%f : tensor<1x2xf32>) -> tensor<1x2xf32> loc("fc")
  return %3 : tensor<1x2xf32>
}
// CHECK-LABEL: "func.func"
// CHECK:       %[[Q:.*]] = "fxp.cast"(%arg0) : (tensor<1x2xf32>) -> tensor<1x2x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND_CONV", "SAT">>
// CHECK:       %[[D:.*]] = "fxp.cast"(%[[Q]]) {{.*}} -> tensor<1x2xf32>
// CHECK:       %[[W:.*]] = "arith.constant"() <{value = dense<{{\[}}[2.500000e-01, -7.500000e-01], [5.000000e-01, 0.000000e+00]]> : tensor<2x2xf32>}>
// CHECK:       "linalg.matmul"(%[[D]], %[[W]]
// CHECK-NOT:   math.
// CHECK:       fxflow.model_formats = {fc.weight = "ap_fixed<3,1,AP_RND,AP_SAT>"}

// -----

// Brevitas bnn_pynq's input: 2x - 1 (two generics), then clamp(round(v * 128), -128, 127) / 128. Traced back to x
// it looks like a rescale (x 2) with a zero point; it is the cast of the affine value 2x - 1 (_cast_of_affine).
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @affine(%arg0: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %c2 = arith.constant 2.000000e+00 : f32
  %c1 = arith.constant 1.000000e+00 : f32
  %c128 = arith.constant 1.280000e+02 : f32
  %lo = arith.constant -1.280000e+02 : f32
  %hi = arith.constant 1.270000e+02 : f32
  %e = tensor.empty() : tensor<1x2xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %c2 : f32
    linalg.yield %m : f32
  } -> tensor<1x2xf32> loc("mul")
  %2 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%1 : tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.subf %in, %c1 : f32
    linalg.yield %s : f32
  } -> tensor<1x2xf32> loc("sub")
  %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%2 : tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %c128 : f32
    %c_1 = arith.cmpf ult, %m, %lo : f32
    %s1 = arith.select %c_1, %lo, %m : f32
    %c_2 = arith.cmpf ugt, %s1, %hi : f32
    %s2 = arith.select %c_2, %hi, %s1 : f32
    %r = math.roundeven %s2 : f32
    %d = arith.divf %r, %c128 : f32
    linalg.yield %d : f32
  } -> tensor<1x2xf32> loc("in_quant")
  return %3 : tensor<1x2xf32>
}
// CHECK-LABEL: sym_name = "affine"
// CHECK:       "arith.mulf"
// CHECK:       %[[SUB:.*]] = "linalg.generic"
// CHECK-NEXT:  ^bb0
// CHECK-NEXT:  "arith.subf"
// CHECK:       %[[Q:.*]] = "fxp.cast"(%[[SUB]]) : (tensor<1x2xf32>) -> tensor<1x2x!fxp.fixed<1 : i32, 0 : i32, 7 : i32, "RND_CONV", "SAT">>
// CHECK:       "fxp.cast"(%[[Q]]) {{.*}} -> tensor<1x2xf32>
// CHECK-NOT:   math.roundeven

// -----

// A non-power-of-two scale is no fixed-point format: the error names the layer.
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @bad(%arg0: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %c3 = arith.constant 3.000000e+00 : f32
  %lo = arith.constant -8.000000e+00 : f32
  %hi = arith.constant 7.000000e+00 : f32
  %e = tensor.empty() : tensor<1x2xf32>
  %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<1x2xf32>) outs(%e : tensor<1x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %c3 : f32
    %r = math.roundeven %m : f32
    %c1 = arith.cmpf ult, %r, %lo : f32
    %s1 = arith.select %c1, %lo, %r : f32
    %c2 = arith.cmpf ugt, %s1, %hi : f32
    %s2 = arith.select %c2, %hi, %s1 : f32
    %d = arith.divf %s2, %c3 : f32
    linalg.yield %d : f32
  } -> tensor<1x2xf32> loc("act_quant")
  return %1 : tensor<1x2xf32>
}
// ERR: fake quantization in layer 'act_quant' rounds in a way that is no fixed-point cast (only power-of-two scales
