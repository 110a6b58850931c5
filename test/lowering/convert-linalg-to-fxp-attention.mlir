// RUN: fxflow-opt --split-input-file --convert-linalg-to-fxp %s | filecheck %s
// Attention raising (lowering/linalg_to_fxp/{transformer,layers,shape}.py): a Linear on tokens, data movement
// that moves the sample dim (nn.MultiheadAttention computes in [tokens, batch, features]), constant masks.

// nn.Linear(4, 6) on [1, 3, 4]: torch-mlir collapses the sample into the rows; the dense gets the 3-D input back.
// CHECK-LABEL: sym_name = "linear_on_tokens"
// CHECK:       "fxp.dense"(%arg0, %{{.*}}, %{{.*}}) {accum = f64} : (tensor<1x3x4xf32>, tensor<4x6xf32>, tensor<6xf32>) -> tensor<1x3x6xf32>
// CHECK-NOT:   linalg.
// CHECK-NOT:   fxp.reshape
#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d1)>
module {
  func.func @linear_on_tokens(%arg0: tensor<1x3x4xf32>) -> tensor<1x3x6xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %b = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : tensor<6xf32>
    %w = arith.constant dense<0.5> : tensor<4x6xf32>
    %collapsed = tensor.collapse_shape %arg0 [[0, 1], [2]] : tensor<1x3x4xf32> into tensor<3x4xf32>
    %1 = tensor.empty() : tensor<3x6xf32>
    %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<3x6xf32>) -> tensor<3x6xf32>
    %3 = linalg.matmul ins(%collapsed, %w : tensor<3x4xf32>, tensor<4x6xf32>) outs(%2 : tensor<3x6xf32>) -> tensor<3x6xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%3, %b : tensor<3x6xf32>, tensor<6xf32>) outs(%1 : tensor<3x6xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %5 = arith.addf %in, %in_2 : f32
      linalg.yield %5 : f32
    } -> tensor<3x6xf32>
    %expanded = tensor.expand_shape %4 [[0, 1], [2]] output_shape [1, 3, 6] : tensor<3x6xf32> into tensor<1x3x6xf32>
    return %expanded : tensor<1x3x6xf32>
  }
}

// -----

// A head split through a [tokens, batch, ...] view: transpose moving dim 0, collapse, expand, transpose -> one
// fxp.gather of static indices between the two sample views.
// CHECK-LABEL: sym_name = "head_split"
// CHECK:       "fxp.gather"(%arg0) {indices = array<i64: 0, 1, 4, 5, 8, 9, 2, 3, 6, 7, 10, 11>} : (tensor<1x3x4xf32>) -> tensor<1x2x3x2xf32>
// CHECK-NOT:   linalg.transpose
module {
  func.func @head_split(%arg0: tensor<1x3x4xf32>) -> tensor<1x2x3x2xf32> {
    %0 = tensor.empty() : tensor<3x1x4xf32>
    %t = linalg.transpose ins(%arg0 : tensor<1x3x4xf32>) outs(%0 : tensor<3x1x4xf32>) permutation = [1, 0, 2]
    %c = tensor.collapse_shape %t [[0], [1, 2]] : tensor<3x1x4xf32> into tensor<3x4xf32>
    %e = tensor.expand_shape %c [[0], [1, 2]] output_shape [3, 2, 2] : tensor<3x4xf32> into tensor<3x2x2xf32>
    %1 = tensor.empty() : tensor<2x3x2xf32>
    %h = linalg.transpose ins(%e : tensor<3x2x2xf32>) outs(%1 : tensor<2x3x2xf32>) permutation = [1, 0, 2]
    %r = tensor.expand_shape %h [[0, 1], [2], [3]] output_shape [1, 2, 3, 2] : tensor<2x3x2xf32> into tensor<1x2x3x2xf32>
    return %r : tensor<1x2x3x2xf32>
  }
}

// -----

// A transpose that only moves the size-1 sample dim is a reshape, and folds away.
// CHECK-LABEL: sym_name = "unit_move"
// CHECK:       "func.return"(%arg0)
module {
  func.func @unit_move(%arg0: tensor<1x3x4xf32>) -> tensor<1x3x4xf32> {
    %0 = tensor.empty() : tensor<3x1x4xf32>
    %t = linalg.transpose ins(%arg0 : tensor<1x3x4xf32>) outs(%0 : tensor<3x1x4xf32>) permutation = [1, 0, 2]
    %1 = tensor.empty() : tensor<1x3x4xf32>
    %u = linalg.transpose ins(%t : tensor<3x1x4xf32>) outs(%1 : tensor<1x3x4xf32>) permutation = [1, 0, 2]
    return %u : tensor<1x3x4xf32>
  }
}

// -----

// A causal boolean mask turned into 0 / -inf (folded at compile time), added to the scores -> fxp.add_constant with
// the masked flags; the finite part (zeros) becomes its bias.
// CHECK-LABEL: sym_name = "causal"
// CHECK:       %[[B:.*]] = "fxp.constant"() {value = dense<0.000000e+00> : tensor<1x1x2x2xf32>}
// CHECK:       "fxp.add_constant"(%arg0, %[[B]]) {masked = array<i64: 0, 1, 0, 0>} : (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32>
#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> ()>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
module {
  func.func @causal(%arg0: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
    %zeros = arith.constant dense<0.000000e+00> : tensor<2x2xf32>
    %ninf = arith.constant dense<0xFF800000> : tensor<f32>
    %mask = arith.constant dense<[[false, true], [false, false]]> : tensor<2x2xi1>
    %0 = tensor.empty() : tensor<2x2xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map1, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%mask, %ninf, %zeros : tensor<2x2xi1>, tensor<f32>, tensor<2x2xf32>) outs(%0 : tensor<2x2xf32>) {
    ^bb0(%in: i1, %in_1: f32, %in_2: f32, %out: f32):
      %s = arith.select %in, %in_1, %in_2 : f32
      linalg.yield %s : f32
    } -> tensor<2x2xf32>
    %2 = tensor.empty() : tensor<1x1x2x2xf32>
    %3 = linalg.generic {indexing_maps = [#map2, #map3, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0, %1 : tensor<1x1x2x2xf32>, tensor<2x2xf32>) outs(%2 : tensor<1x1x2x2xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %a = arith.addf %in, %in_1 : f32
      linalg.yield %a : f32
    } -> tensor<1x1x2x2xf32>
    return %3 : tensor<1x1x2x2xf32>
  }
}

// -----

// A product of two activations with the gate broadcast over the features: the gate is repeated by an fxp.gather.
// CHECK-LABEL: sym_name = "gate"
// CHECK:       %[[G:.*]] = "fxp.gather"(%arg1) {indices = array<i64: 0, 0, 1, 1>} : (tensor<1x2x1xf32>) -> tensor<1x2x2xf32>
// CHECK-NEXT:  "fxp.mul"(%arg0, %[[G]]) : (tensor<1x2x2xf32>, tensor<1x2x2xf32>) -> tensor<1x2x2xf32>
#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
module {
  func.func @gate(%arg0: tensor<1x2x2xf32>, %arg1: tensor<1x2x1xf32>) -> tensor<1x2x2xf32> {
    %0 = tensor.empty() : tensor<1x2x2xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0, %arg1 : tensor<1x2x2xf32>, tensor<1x2x1xf32>) outs(%0 : tensor<1x2x2xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %m = arith.mulf %in, %in_1 : f32
      linalg.yield %m : f32
    } -> tensor<1x2x2xf32>
    return %1 : tensor<1x2x2xf32>
  }
}
