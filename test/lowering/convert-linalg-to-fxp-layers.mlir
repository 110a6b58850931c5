// RUN: fxflow-opt --split-input-file --convert-linalg-to-fxp %s | filecheck %s
// The linalg that torch-mlir emits for PyTorch conv/pool/BatchNorm/shape layers (generated from small
// modules with fxflow.lowering.torch_import) raised into fxp layer ops.

// CHECK-LABEL: sym_name = "conv2d_same"
// CHECK-NOT: tensor.pad
// CHECK: "fxp.conv"(%arg0, %{{.*}}, %{{.*}}) {accum = f64, dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
module {
  func.func @conv2d_same(%arg0: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant dense<[[[[-0.0024956069, 0.17881453, -0.274348378], [-0.245313019, -0.128384799, 0.0893857926], [-0.00660439348, 0.264296502, -0.0295813493]]], [[[0.0882041901, -0.100737691, -6.552180e-02], [-0.318449497, -0.220760703, -0.137407705], [0.0123478575, 0.131778404, 0.200007603]]]]> : tensor<2x1x3x3xf32>
    %cst_1 = arith.constant dense<[-0.225980371, -0.145154282]> : tensor<2xf32>
    %padded = tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%arg1: index, %arg2: index, %arg3: index, %arg4: index):
      tensor.yield %cst : f32
    } : tensor<1x1x4x4xf32> to tensor<1x1x6x6xf32>
    %0 = tensor.empty() : tensor<1x2x4x4xf32>
    %broadcasted = linalg.broadcast ins(%cst_1 : tensor<2xf32>) outs(%0 : tensor<1x2x4x4xf32>) dimensions = [0, 2, 3] 
    %1 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%padded, %cst_0 : tensor<1x1x6x6xf32>, tensor<2x1x3x3xf32>) outs(%broadcasted : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    return %1 : tensor<1x2x4x4xf32>
  }
}

// -----

// CHECK-LABEL: sym_name = "depthwise"
// CHECK: "fxp.constant"() {value = dense<0.000000e+00> : tensor<2xf32>}
// CHECK: "fxp.conv"{{.*}}groups = 2 : i64{{.*}}(tensor<1x2x4x4xf32>, tensor<2x1x3x3xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
module {
  func.func @depthwise(%arg0: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant dense<[[[0.121072374, 0.276795983, -0.0686000586], [0.249437258, -0.053727787, 0.0352713689], [0.301825404, -0.309223473, -0.20984599]], [[-0.08438842, -0.129933327, 0.288000286], [-0.216059893, -0.15344429, -0.23288016], [-0.312187016, -0.194580168, 0.2865327]]]> : tensor<2x3x3xf32>
    %0 = tensor.empty() : tensor<1x2x2x2xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
    %2 = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%arg0, %cst_0 : tensor<1x2x4x4xf32>, tensor<2x3x3xf32>) outs(%1 : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
    return %2 : tensor<1x2x2x2xf32>
  }
}

// -----

// CHECK-LABEL: sym_name = "grouped"
// CHECK-NOT: tensor.expand_shape
// CHECK: "fxp.conv"(%arg0,{{.*}}groups = 2 : i64{{.*}}(tensor<1x4x2x2xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
// CHECK-NOT: "fxp.reshape"
module {
  func.func @grouped(%arg0: tensor<1x4x2x2xf32>) -> tensor<1x2x2x2xf32> {
    %cst = arith.constant dense<[0.119631633, -0.660221874]> : tensor<2xf32>
    %cst_0 = arith.constant dense<[[[[[0.315524042]], [[0.342715234]]]], [[[[0.0371878482]], [[-0.362521976]]]]]> : tensor<2x1x2x1x1xf32>
    %0 = tensor.empty() : tensor<1x2x2x2xf32>
    %broadcasted = linalg.broadcast ins(%cst : tensor<2xf32>) outs(%0 : tensor<1x2x2x2xf32>) dimensions = [0, 2, 3] 
    %expanded = tensor.expand_shape %arg0 [[0], [1, 2], [3], [4]] output_shape [1, 2, 2, 2, 2] : tensor<1x4x2x2xf32> into tensor<1x2x2x2x2xf32>
    %expanded_1 = tensor.expand_shape %broadcasted [[0], [1, 2], [3], [4]] output_shape [1, 2, 1, 2, 2] : tensor<1x2x2x2xf32> into tensor<1x2x1x2x2xf32>
    %1 = linalg.conv_2d_ngchw_gfchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%expanded, %cst_0 : tensor<1x2x2x2x2xf32>, tensor<2x1x2x1x1xf32>) outs(%expanded_1 : tensor<1x2x1x2x2xf32>) -> tensor<1x2x1x2x2xf32>
    %collapsed = tensor.collapse_shape %1 [[0], [1, 2], [3], [4]] : tensor<1x2x1x2x2xf32> into tensor<1x2x2x2xf32>
    return %collapsed : tensor<1x2x2x2xf32>
  }
}

// -----

// CHECK-LABEL: sym_name = "conv1d_dilated"
// CHECK: "fxp.conv"{{.*}}dilations = array<i64: 2>, groups = 1 : i64, padding = array<i64: 0, 0>, strides = array<i64: 2>
module {
  func.func @conv1d_dilated(%arg0: tensor<1x1x6xf32>) -> tensor<1x2x2xf32> {
    %cst = arith.constant dense<[[[-0.510931492, -0.364534736]], [[0.446140498, 0.4145917]]]> : tensor<2x1x2xf32>
    %cst_0 = arith.constant dense<[-0.313598335, -2.551410e-02]> : tensor<2xf32>
    %0 = tensor.empty() : tensor<1x2x2xf32>
    %broadcasted = linalg.broadcast ins(%cst_0 : tensor<2xf32>) outs(%0 : tensor<1x2x2xf32>) dimensions = [0, 2] 
    %1 = linalg.conv_1d_ncw_fcw {dilations = dense<2> : vector<1xi64>, strides = dense<2> : vector<1xi64>} ins(%arg0, %cst : tensor<1x1x6xf32>, tensor<2x1x2xf32>) outs(%broadcasted : tensor<1x2x2xf32>) -> tensor<1x2x2xf32>
    return %1 : tensor<1x2x2xf32>
  }
}

// -----

// CHECK-LABEL: sym_name = "maxpool_padded"
// CHECK-NOT: tensor.pad
// CHECK: "fxp.pool"(%arg0) {accum = f64, kernel = array<i64: 3, 3>, kind = "max", padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
module {
  func.func @maxpool_padded(%arg0: tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32> {
    %cst = arith.constant 0xFF800000 : f32
    %padded = tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%arg1: index, %arg2: index, %arg3: index, %arg4: index):
      tensor.yield %cst : f32
    } : tensor<1x1x4x4xf32> to tensor<1x1x6x6xf32>
    %0 = tensor.empty() : tensor<1x1x2x2xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32>
    %2 = tensor.empty() : tensor<3x3xf32>
    %3 = linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%padded, %2 : tensor<1x1x6x6xf32>, tensor<3x3xf32>) outs(%1 : tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32>
    return %3 : tensor<1x1x2x2xf32>
  }
}

// -----

// CHECK-LABEL: sym_name = "avgpool"
// CHECK: "fxp.pool"(%arg0) {{.*}}kind = "avg"
// CHECK-NOT: linalg
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module {
  func.func @avgpool(%arg0: tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 4.000000e+00 : f32
    %0 = tensor.empty() : tensor<1x1x2x2xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32>
    %2 = tensor.empty() : tensor<2x2xf32>
    %3 = linalg.pooling_nchw_sum {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%arg0, %2 : tensor<1x1x4x4xf32>, tensor<2x2xf32>) outs(%1 : tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3 : tensor<1x1x2x2xf32>) outs(%0 : tensor<1x1x2x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %5 = arith.divf %in, %cst_0 : f32
      linalg.yield %5 : f32
    } -> tensor<1x1x2x2xf32>
    return %4 : tensor<1x1x2x2xf32>
  }
}

// -----

// CHECK-LABEL: sym_name = "global_avg"
// CHECK: "fxp.pool"(%arg0) {accum = f64, kernel = array<i64: 3, 3>, kind = "avg"{{.*}} -> tensor<1x2x1x1xf32>
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>
module {
  func.func @global_avg(%arg0: tensor<1x2x3x3xf32>) -> tensor<1x2x1x1xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 9.000000e+00 : f32
    %0 = tensor.empty() : tensor<1x2x1x1xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x2x1x1xf32>) -> tensor<1x2x1x1xf32>
    %2 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%arg0 : tensor<1x2x3x3xf32>) outs(%1 : tensor<1x2x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %4 = arith.addf %in, %out : f32
      linalg.yield %4 : f32
    } -> tensor<1x2x1x1xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%2 : tensor<1x2x1x1xf32>) outs(%0 : tensor<1x2x1x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %4 = arith.divf %in, %cst_0 : f32
      linalg.yield %4 : f32
    } -> tensor<1x2x1x1xf32>
    return %3 : tensor<1x2x1x1xf32>
  }
}

// -----

// BatchNorm after a conv scales its weights and bias: no separate op remains.
// CHECK-LABEL: sym_name = "batchnorm_folded"
// CHECK: "fxp.conv"
// CHECK-NOT: "fxp.scale_shift"
// CHECK-NOT: linalg.generic
#map = affine_map<(d0) -> (d0)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>
module {
  func.func @batchnorm_folded(%arg0: tensor<1x1x3x3xf32>) -> tensor<1x2x3x3xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.000000e+00 : f32
    %cst_1 = arith.constant dense<2.500000e-01> : tensor<2x1x1xf32>
    %cst_2 = arith.constant dense<2.000000e+00> : tensor<2x1x1xf32>
    %cst_3 = arith.constant dense<5.000000e-01> : tensor<2x1x1xf32>
    %cst_4 = arith.constant dense<4.000010e+00> : tensor<2xf32>
    %cst_5 = arith.constant dense<[[[[0.213186905, 0.331377715, 0.132294059], [0.0450309515, 0.223495454, -0.196267456], [0.0621146783, -0.25843519, -0.231028721]]], [[[-0.172194526, 0.150824353, 0.134053469], [-0.197450846, 0.100702368, 0.18299067], [-0.0420724563, 0.0127271814, 0.0772349089]]]]> : tensor<2x1x3x3xf32>
    %cst_6 = arith.constant dense<[0.206792206, 0.320064723]> : tensor<2xf32>
    %padded = tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 1, 1] {
    ^bb0(%arg1: index, %arg2: index, %arg3: index, %arg4: index):
      tensor.yield %cst : f32
    } : tensor<1x1x3x3xf32> to tensor<1x1x5x5xf32>
    %0 = tensor.empty() : tensor<1x2x3x3xf32>
    %broadcasted = linalg.broadcast ins(%cst_6 : tensor<2xf32>) outs(%0 : tensor<1x2x3x3xf32>) dimensions = [0, 2, 3] 
    %1 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%padded, %cst_5 : tensor<1x1x5x5xf32>, tensor<2x1x3x3xf32>) outs(%broadcasted : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
    %2 = tensor.empty() : tensor<2xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%cst_4 : tensor<2xf32>) outs(%2 : tensor<2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %9 = math.sqrt %in : f32
      linalg.yield %9 : f32
    } -> tensor<2xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%3 : tensor<2xf32>) outs(%2 : tensor<2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %9 = arith.cmpf one, %in, %cst : f32
      cf.assert %9, "unimplemented: tensor with zero element"
      %10 = arith.divf %cst_0, %in : f32
      linalg.yield %10 : f32
    } -> tensor<2xf32>
    %expanded = tensor.expand_shape %4 [[0, 1, 2]] output_shape [2, 1, 1] : tensor<2xf32> into tensor<2x1x1xf32>
    %5 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%1, %cst_3 : tensor<1x2x3x3xf32>, tensor<2x1x1xf32>) outs(%0 : tensor<1x2x3x3xf32>) {
    ^bb0(%in: f32, %in_7: f32, %out: f32):
      %9 = arith.subf %in, %in_7 : f32
      linalg.yield %9 : f32
    } -> tensor<1x2x3x3xf32>
    %6 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%5, %expanded : tensor<1x2x3x3xf32>, tensor<2x1x1xf32>) outs(%0 : tensor<1x2x3x3xf32>) {
    ^bb0(%in: f32, %in_7: f32, %out: f32):
      %9 = arith.mulf %in, %in_7 : f32
      linalg.yield %9 : f32
    } -> tensor<1x2x3x3xf32>
    %7 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%6, %cst_2 : tensor<1x2x3x3xf32>, tensor<2x1x1xf32>) outs(%0 : tensor<1x2x3x3xf32>) {
    ^bb0(%in: f32, %in_7: f32, %out: f32):
      %9 = arith.mulf %in, %in_7 : f32
      linalg.yield %9 : f32
    } -> tensor<1x2x3x3xf32>
    %8 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%7, %cst_1 : tensor<1x2x3x3xf32>, tensor<2x1x1xf32>) outs(%0 : tensor<1x2x3x3xf32>) {
    ^bb0(%in: f32, %in_7: f32, %out: f32):
      %9 = arith.addf %in, %in_7 : f32
      linalg.yield %9 : f32
    } -> tensor<1x2x3x3xf32>
    return %8 : tensor<1x2x3x3xf32>
  }
}

// -----

// scale = gamma / sqrt(var + eps) = 2 / sqrt(4.00001), shift = beta - mean * scale
// CHECK-LABEL: sym_name = "batchnorm_standalone"
// CHECK-DAG: %[[S:.*]] = "fxp.constant"() {value = dense<0.999998{{[0-9]*}}> : tensor<2xf32>}
// CHECK-DAG: %[[T:.*]] = "fxp.constant"() {value = dense<-0.249999{{[0-9]*}}> : tensor<2xf32>}
// CHECK: "fxp.scale_shift"(%arg0, %[[S]], %[[T]])
#map = affine_map<(d0) -> (d0)>
#map1 = affine_map<(d0, d1) -> (d0, d1)>
#map2 = affine_map<(d0, d1) -> (d1)>
module {
  func.func @batchnorm_standalone(%arg0: tensor<1x2xf32>) -> tensor<1x2xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.000000e+00 : f32
    %cst_1 = arith.constant dense<2.500000e-01> : tensor<2xf32>
    %cst_2 = arith.constant dense<2.000000e+00> : tensor<2xf32>
    %cst_3 = arith.constant dense<5.000000e-01> : tensor<2xf32>
    %cst_4 = arith.constant dense<4.000010e+00> : tensor<2xf32>
    %0 = tensor.empty() : tensor<2xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%cst_4 : tensor<2xf32>) outs(%0 : tensor<2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %8 = math.sqrt %in : f32
      linalg.yield %8 : f32
    } -> tensor<2xf32>
    %2 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%1 : tensor<2xf32>) outs(%0 : tensor<2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %8 = arith.cmpf one, %in, %cst : f32
      cf.assert %8, "unimplemented: tensor with zero element"
      %9 = arith.divf %cst_0, %in : f32
      linalg.yield %9 : f32
    } -> tensor<2xf32>
    %3 = tensor.empty() : tensor<1x2xf32>
    %4 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel"]} ins(%arg0, %cst_3 : tensor<1x2xf32>, tensor<2xf32>) outs(%3 : tensor<1x2xf32>) {
    ^bb0(%in: f32, %in_5: f32, %out: f32):
      %8 = arith.subf %in, %in_5 : f32
      linalg.yield %8 : f32
    } -> tensor<1x2xf32>
    %5 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel"]} ins(%4, %2 : tensor<1x2xf32>, tensor<2xf32>) outs(%3 : tensor<1x2xf32>) {
    ^bb0(%in: f32, %in_5: f32, %out: f32):
      %8 = arith.mulf %in, %in_5 : f32
      linalg.yield %8 : f32
    } -> tensor<1x2xf32>
    %6 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel"]} ins(%5, %cst_2 : tensor<1x2xf32>, tensor<2xf32>) outs(%3 : tensor<1x2xf32>) {
    ^bb0(%in: f32, %in_5: f32, %out: f32):
      %8 = arith.mulf %in, %in_5 : f32
      linalg.yield %8 : f32
    } -> tensor<1x2xf32>
    %7 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel"]} ins(%6, %cst_1 : tensor<1x2xf32>, tensor<2xf32>) outs(%3 : tensor<1x2xf32>) {
    ^bb0(%in: f32, %in_5: f32, %out: f32):
      %8 = arith.addf %in, %in_5 : f32
      linalg.yield %8 : f32
    } -> tensor<1x2xf32>
    return %7 : tensor<1x2xf32>
  }
}

// -----

// ZeroPad2d, nearest upsampling, permutes that cancel, x*x, concatenation and flatten.
// CHECK-LABEL: sym_name = "shapes"
// CHECK: %[[P:.*]] = "fxp.pad"(%arg0) {padding = array<i64: 0, 1, 1, 0>}
// CHECK: %[[U:.*]] = "fxp.resize"(%[[P]]) {scales = array<i64: 2, 2>}
// CHECK: %[[M:.*]] = "fxp.mul"(%[[U]], %[[U]])
// CHECK: %[[C:.*]] = "fxp.concat"(%[[U]], %[[M]]) {axis = 1 : i64}
// CHECK: "fxp.reshape"(%[[C]]) : (tensor<1x2x6x6xf32>) -> tensor<1x72xf32>
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module {
  func.func @shapes(%arg0: tensor<1x1x2x2xf32>) -> tensor<1x72xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 2.000000e+00 : f32
    %c0 = arith.constant 0 : index
    %padded = tensor.pad %arg0 low[0, 0, 0, 1] high[0, 0, 1, 0] {
    ^bb0(%arg1: index, %arg2: index, %arg3: index, %arg4: index):
      tensor.yield %cst : f32
    } : tensor<1x1x2x2xf32> to tensor<1x1x3x3xf32>
    %0 = tensor.empty() : tensor<1x1x6x6xf32>
    %1 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%0 : tensor<1x1x6x6xf32>) {
    ^bb0(%out: f32):
      %3 = linalg.index 2 : index
      %4 = linalg.index 3 : index
      %5 = arith.index_cast %3 : index to i64
      %6 = arith.sitofp %5 : i64 to f32
      %7 = arith.divf %6, %cst_0 : f32
      %8 = math.floor %7 : f32
      %9 = arith.maximumf %8, %cst : f32
      %10 = arith.minimumf %9, %cst_0 : f32
      %11 = arith.fptosi %10 : f32 to i64
      %12 = arith.index_cast %11 : i64 to index
      %13 = arith.index_cast %4 : index to i64
      %14 = arith.sitofp %13 : i64 to f32
      %15 = arith.divf %14, %cst_0 : f32
      %16 = math.floor %15 : f32
      %17 = arith.maximumf %16, %cst : f32
      %18 = arith.minimumf %17, %cst_0 : f32
      %19 = arith.fptosi %18 : f32 to i64
      %20 = arith.index_cast %19 : i64 to index
      %extracted = tensor.extract %padded[%c0, %c0, %12, %20] : tensor<1x1x3x3xf32>
      linalg.yield %extracted : f32
    } -> tensor<1x1x6x6xf32>
    %2 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%1, %1 : tensor<1x1x6x6xf32>, tensor<1x1x6x6xf32>) outs(%0 : tensor<1x1x6x6xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %3 = arith.mulf %in, %in_1 : f32
      linalg.yield %3 : f32
    } -> tensor<1x1x6x6xf32>
    %concat = tensor.concat dim(1) %1, %2 : (tensor<1x1x6x6xf32>, tensor<1x1x6x6xf32>) -> tensor<1x2x6x6xf32>
    %collapsed = tensor.collapse_shape %concat [[0], [1, 2, 3]] : tensor<1x2x6x6xf32> into tensor<1x72xf32>
    return %collapsed : tensor<1x72xf32>
  }
}
