// RUN: fxflow-opt --split-input-file --convert-linalg-to-fxp %s | filecheck %s
// The linalg torch-mlir emits for products of two activations and for LayerNorm / RMSNorm (generated from small
// modules with fxflow.lowering.torch_import) raised into fxp.matmul and fxp.layernorm.

// q @ k^T and attn @ v with the transposed operand kept as an fxp.transpose (torch.matmul of 3-D tensors).
// CHECK-LABEL: sym_name = "att"
// CHECK:       %[[T:.*]] = "fxp.transpose"(%arg0) {permutation = array<i64: 0, 2, 1>}
// CHECK-NEXT:  %[[S:.*]] = "fxp.matmul"(%arg0, %[[T]]) {accum = f64} : (tensor<1x2x3xf32>, tensor<1x3x2xf32>) -> tensor<1x2x2xf32>
// CHECK-NEXT:  "fxp.matmul"(%[[S]], %arg0) {accum = f64} : (tensor<1x2x2xf32>, tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
// CHECK-NOT:   linalg.
module {
  func.func @att(%arg0: tensor<1x2x3xf32>) -> tensor<1x2x3xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %0 = tensor.empty() : tensor<1x3x2xf32>
    %transposed = linalg.transpose ins(%arg0 : tensor<1x2x3xf32>) outs(%0 : tensor<1x3x2xf32>) permutation = [0, 2, 1] 
    %1 = tensor.empty() : tensor<1x2x2xf32>
    %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<1x2x2xf32>) -> tensor<1x2x2xf32>
    %3 = linalg.batch_matmul ins(%arg0, %transposed : tensor<1x2x3xf32>, tensor<1x3x2xf32>) outs(%2 : tensor<1x2x2xf32>) -> tensor<1x2x2xf32>
    %4 = tensor.empty() : tensor<1x2x3xf32>
    %5 = linalg.fill ins(%cst : f32) outs(%4 : tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
    %6 = linalg.batch_matmul ins(%3, %arg0 : tensor<1x2x2xf32>, tensor<1x2x3xf32>) outs(%5 : tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
    return %6 : tensor<1x2x3xf32>
  }
}

// -----

// 4-D (heads): torch-mlir merges the sample dim with the heads around a batch_matmul; the matmul is raised on
// the 4-D tensors, so dim 0 stays the sample.
// CHECK-LABEL: sym_name = "heads"
// CHECK:       %[[X:.*]] = "fxp.reshape"(%arg0) : (tensor<1x24xf32>) -> tensor<1x2x3x4xf32>
// CHECK:       %[[T:.*]] = "fxp.transpose"(%[[X]]) {permutation = array<i64: 0, 1, 3, 2>}
// CHECK-NEXT:  "fxp.matmul"(%[[X]], %[[T]]) {accum = f64} : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
// CHECK-NOT:   tensor.collapse_shape
module {
  func.func @heads(%arg0: tensor<1x24xf32>) -> tensor<1x2x3x3xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %expanded = tensor.expand_shape %arg0 [[0], [1, 2, 3]] output_shape [1, 2, 3, 4] : tensor<1x24xf32> into tensor<1x2x3x4xf32>
    %0 = tensor.empty() : tensor<1x2x4x3xf32>
    %transposed = linalg.transpose ins(%expanded : tensor<1x2x3x4xf32>) outs(%0 : tensor<1x2x4x3xf32>) permutation = [0, 1, 3, 2] 
    %collapsed = tensor.collapse_shape %expanded [[0, 1], [2], [3]] : tensor<1x2x3x4xf32> into tensor<2x3x4xf32>
    %collapsed_0 = tensor.collapse_shape %transposed [[0, 1], [2], [3]] : tensor<1x2x4x3xf32> into tensor<2x4x3xf32>
    %1 = tensor.empty() : tensor<2x3x3xf32>
    %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<2x3x3xf32>) -> tensor<2x3x3xf32>
    %3 = linalg.batch_matmul ins(%collapsed, %collapsed_0 : tensor<2x3x4xf32>, tensor<2x4x3xf32>) outs(%2 : tensor<2x3x3xf32>) -> tensor<2x3x3xf32>
    %expanded_1 = tensor.expand_shape %3 [[0, 1], [2], [3]] output_shape [1, 2, 3, 3] : tensor<2x3x3xf32> into tensor<1x2x3x3xf32>
    return %expanded_1 : tensor<1x2x3x3xf32>
  }
}

// -----

// nn.LayerNorm(4): mean, variance (in f64), rsqrt(var + eps), * gamma, + beta -> one fxp.layernorm.
// CHECK-LABEL: sym_name = "ln"
// CHECK:       %[[G:.*]] = "fxp.constant"() {value = dense<[5.000000e-01, 1.000000e+00, 1.500000e+00, 2.000000e+00]> : tensor<4xf32>}
// CHECK-NEXT:  %[[B:.*]] = "fxp.constant"() {value = dense<[2.500000e-01, -2.500000e-01, 0.000000e+00, 1.000000e+00]> : tensor<4xf32>}
// CHECK-NEXT:  "fxp.layernorm"(%arg0, %[[G]], %[[B]]) {accum = f64, dims = 1 : i64, epsilon = 1.000000e-05 : f64, rms = 0 : i64}
// CHECK-NOT:   linalg.
#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#map2 = affine_map<(d0, d1, d2) -> (d2)>
module {
  func.func @ln(%arg0: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
    %cst = arith.constant 0.000000e+00 : f64
    %cst_0 = arith.constant 0.000000e+00 : f32
    %cst_1 = arith.constant dense<[2.500000e-01, -2.500000e-01, 0.000000e+00, 1.000000e+00]> : tensor<4xf32>
    %cst_2 = arith.constant dense<[5.000000e-01, 1.000000e+00, 1.500000e+00, 2.000000e+00]> : tensor<4xf32>
    %cst_3 = arith.constant 1.000000e-05 : f64
    %cst_4 = arith.constant 4.000000e+00 : f64
    %cst_5 = arith.constant 4.000000e+00 : f32
    %0 = tensor.empty() : tensor<1x2x4xf64>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x2x4xf32>) outs(%0 : tensor<1x2x4xf64>) {
    ^bb0(%in: f32, %out: f64):
      %22 = arith.extf %in : f32 to f64
      linalg.yield %22 : f64
    } -> tensor<1x2x4xf64>
    %2 = tensor.empty() : tensor<1x2x1xf64>
    %3 = linalg.fill ins(%cst : f64) outs(%2 : tensor<1x2x1xf64>) -> tensor<1x2x1xf64>
    %4 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel", "reduction"]} ins(%1 : tensor<1x2x4xf64>) outs(%3 : tensor<1x2x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %22 = arith.addf %in, %out : f64
      linalg.yield %22 : f64
    } -> tensor<1x2x1xf64>
    %5 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%4 : tensor<1x2x1xf64>) outs(%2 : tensor<1x2x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %22 = arith.divf %in, %cst_4 : f64
      linalg.yield %22 : f64
    } -> tensor<1x2x1xf64>
    %6 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%1, %5 : tensor<1x2x4xf64>, tensor<1x2x1xf64>) outs(%0 : tensor<1x2x4xf64>) {
    ^bb0(%in: f64, %in_6: f64, %out: f64):
      %22 = arith.subf %in, %in_6 : f64
      linalg.yield %22 : f64
    } -> tensor<1x2x4xf64>
    %7 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%6, %6 : tensor<1x2x4xf64>, tensor<1x2x4xf64>) outs(%0 : tensor<1x2x4xf64>) {
    ^bb0(%in: f64, %in_6: f64, %out: f64):
      %22 = arith.mulf %in, %in_6 : f64
      linalg.yield %22 : f64
    } -> tensor<1x2x4xf64>
    %8 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel", "reduction"]} ins(%7 : tensor<1x2x4xf64>) outs(%3 : tensor<1x2x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %22 = arith.addf %in, %out : f64
      linalg.yield %22 : f64
    } -> tensor<1x2x1xf64>
    %9 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%8 : tensor<1x2x1xf64>) outs(%2 : tensor<1x2x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %22 = arith.divf %in, %cst_4 : f64
      linalg.yield %22 : f64
    } -> tensor<1x2x1xf64>
    %10 = tensor.empty() : tensor<1x2x1xf32>
    %11 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%9 : tensor<1x2x1xf64>) outs(%10 : tensor<1x2x1xf32>) {
    ^bb0(%in: f64, %out: f32):
      %22 = arith.truncf %in : f64 to f32
      linalg.yield %22 : f32
    } -> tensor<1x2x1xf32>
    %12 = linalg.fill ins(%cst_0 : f32) outs(%10 : tensor<1x2x1xf32>) -> tensor<1x2x1xf32>
    %13 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg0 : tensor<1x2x4xf32>) outs(%12 : tensor<1x2x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.addf %in, %out : f32
      linalg.yield %22 : f32
    } -> tensor<1x2x1xf32>
    %14 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%13 : tensor<1x2x1xf32>) outs(%10 : tensor<1x2x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.divf %in, %cst_5 : f32
      linalg.yield %22 : f32
    } -> tensor<1x2x1xf32>
    %15 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%11 : tensor<1x2x1xf32>) outs(%10 : tensor<1x2x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = arith.truncf %cst_3 : f64 to f32
      %23 = arith.addf %in, %22 : f32
      linalg.yield %23 : f32
    } -> tensor<1x2x1xf32>
    %16 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%15 : tensor<1x2x1xf32>) outs(%10 : tensor<1x2x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %22 = math.rsqrt %in : f32
      linalg.yield %22 : f32
    } -> tensor<1x2x1xf32>
    %17 = tensor.empty() : tensor<1x2x4xf32>
    %18 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0, %14 : tensor<1x2x4xf32>, tensor<1x2x1xf32>) outs(%17 : tensor<1x2x4xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %22 = arith.subf %in, %in_6 : f32
      linalg.yield %22 : f32
    } -> tensor<1x2x4xf32>
    %19 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%18, %16 : tensor<1x2x4xf32>, tensor<1x2x1xf32>) outs(%17 : tensor<1x2x4xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %22 = arith.mulf %in, %in_6 : f32
      linalg.yield %22 : f32
    } -> tensor<1x2x4xf32>
    %20 = linalg.generic {indexing_maps = [#map, #map2, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%19, %cst_2 : tensor<1x2x4xf32>, tensor<4xf32>) outs(%17 : tensor<1x2x4xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %22 = arith.mulf %in, %in_6 : f32
      linalg.yield %22 : f32
    } -> tensor<1x2x4xf32>
    %21 = linalg.generic {indexing_maps = [#map, #map2, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%20, %cst_1 : tensor<1x2x4xf32>, tensor<4xf32>) outs(%17 : tensor<1x2x4xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %22 = arith.addf %in, %in_6 : f32
      linalg.yield %22 : f32
    } -> tensor<1x2x4xf32>
    return %21 : tensor<1x2x4xf32>
  }
}

// -----

// nn.RMSNorm(4, eps=1e-5): no mean, no beta (zeros).
// CHECK-LABEL: sym_name = "rms"
// CHECK:       %[[B:.*]] = "fxp.constant"() {value = dense<0.000000e+00> : tensor<4xf32>}
// CHECK-NEXT:  "fxp.layernorm"(%arg0, %{{.*}}, %[[B]]) {accum = f64, dims = 1 : i64, epsilon = 1.000000e-05 : f64, rms = 1 : i64}
// CHECK-NOT:   linalg.
#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#map2 = affine_map<(d0, d1, d2) -> (d2)>
module {
  func.func @rms(%arg0: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.000000e-05 : f64
    %cst_1 = arith.constant dense<[5.000000e-01, 1.000000e+00, 1.500000e+00, 2.000000e+00]> : tensor<4xf32>
    %cst_2 = arith.constant 4.000000e+00 : f32
    %0 = tensor.empty() : tensor<1x2x4xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0, %arg0 : tensor<1x2x4xf32>, tensor<1x2x4xf32>) outs(%0 : tensor<1x2x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %10 = arith.mulf %in, %in_3 : f32
      linalg.yield %10 : f32
    } -> tensor<1x2x4xf32>
    %2 = tensor.empty() : tensor<1x2x1xf32>
    %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<1x2x1xf32>) -> tensor<1x2x1xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel", "reduction"]} ins(%1 : tensor<1x2x4xf32>) outs(%3 : tensor<1x2x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %10 = arith.addf %in, %out : f32
      linalg.yield %10 : f32
    } -> tensor<1x2x1xf32>
    %5 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%4 : tensor<1x2x1xf32>) outs(%2 : tensor<1x2x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %10 = arith.divf %in, %cst_2 : f32
      linalg.yield %10 : f32
    } -> tensor<1x2x1xf32>
    %6 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%5 : tensor<1x2x1xf32>) outs(%2 : tensor<1x2x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %10 = arith.truncf %cst_0 : f64 to f32
      %11 = arith.addf %in, %10 : f32
      linalg.yield %11 : f32
    } -> tensor<1x2x1xf32>
    %7 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%6 : tensor<1x2x1xf32>) outs(%2 : tensor<1x2x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %10 = math.rsqrt %in : f32
      linalg.yield %10 : f32
    } -> tensor<1x2x1xf32>
    %8 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0, %7 : tensor<1x2x4xf32>, tensor<1x2x1xf32>) outs(%0 : tensor<1x2x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %10 = arith.mulf %in, %in_3 : f32
      linalg.yield %10 : f32
    } -> tensor<1x2x4xf32>
    %9 = linalg.generic {indexing_maps = [#map, #map2, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%8, %cst_1 : tensor<1x2x4xf32>, tensor<4xf32>) outs(%0 : tensor<1x2x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %10 = arith.mulf %in, %in_3 : f32
      linalg.yield %10 : f32
    } -> tensor<1x2x4xf32>
    return %9 : tensor<1x2x4xf32>
  }
}
