// RUN: fxflow-opt --split-input-file "--fxp-assign-precision=precision=ap_fixed<8,3>" %s | filecheck %s
// Default ("exact") accumulators of conv and average pooling, per-channel affine parameters and the formats of
// data-movement ops (the float fxp of convert-linalg-to-fxp-layers.mlir).

// 9 products of two <8,3> values: a <16,6> product plus ceil(log2(10)) = 4 integer bits.
// CHECK-LABEL: sym_name = "conv2d_same"
// CHECK: "fxp.conv"{{.*}}accum = !fxp.fixed<1 : i32, 9 : i32, 10 : i32, "TRN", "WRAP">
// CHECK-SAME: -> tensor<1x2x4x4x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32>, sym_name = "conv2d_same"}> ({
  ^bb0(%arg0: tensor<1x1x4x4xf32>):
    %0 = "fxp.constant"() {value = dense<[[[[-0.0024956069, 0.17881453, -0.274348378], [-0.245313019, -0.128384799, 0.0893857926], [-0.00660439348, 0.264296502, -0.0295813493]]], [[[0.0882041901, -0.100737691, -6.552180e-02], [-0.318449497, -0.220760703, -0.137407705], [0.0123478575, 0.131778404, 0.200007603]]]]> : tensor<2x1x3x3xf32>} : () -> tensor<2x1x3x3xf32>
    %1 = "fxp.constant"() {value = dense<[-0.225980371, -0.145154282]> : tensor<2xf32>} : () -> tensor<2xf32>
    %2 = "fxp.conv"(%arg0, %0, %1) {accum = f64, dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x3x3xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
    "func.return"(%2) : (tensor<1x2x4x4xf32>) -> ()
  }) : () -> ()
}) : () -> ()

// -----

// Two products per output (2 input channels per group): 2 more integer bits.
// CHECK-LABEL: sym_name = "grouped"
// CHECK: "fxp.conv"{{.*}}accum = !fxp.fixed<1 : i32, 7 : i32, 10 : i32, "TRN", "WRAP">
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x4x2x2xf32>) -> tensor<1x2x2x2xf32>, sym_name = "grouped"}> ({
  ^bb0(%arg0: tensor<1x4x2x2xf32>):
    %0 = "fxp.constant"() {value = dense<[[[[0.315524042]], [[0.342715234]]], [[[0.0371878482]], [[-0.362521976]]]]> : tensor<2x2x1x1xf32>} : () -> tensor<2x2x1x1xf32>
    %1 = "fxp.constant"() {value = dense<[0.119631633, -0.660221874]> : tensor<2xf32>} : () -> tensor<2xf32>
    %2 = "fxp.conv"(%arg0, %0, %1) {accum = f64, dilations = array<i64: 1, 1>, groups = 2 : i64, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x2x2xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
    "func.return"(%2) : (tensor<1x2x2x2xf32>) -> ()
  }) : () -> ()
}) : () -> ()

// -----

// A 2x2 average: the sum of 4 inputs gains 2 integer and 2 fractional bits (division by 4 is exact).
// CHECK-LABEL: sym_name = "avgpool"
// CHECK: "fxp.pool"{{.*}}accum = !fxp.fixed<1 : i32, 4 : i32, 7 : i32, "TRN", "WRAP">{{.*}}kind = "avg"
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32>, sym_name = "avgpool"}> ({
  ^bb0(%arg0: tensor<1x1x4x4xf32>):
    %0 = "fxp.pool"(%arg0) {accum = f64, kernel = array<i64: 2, 2>, kind = "avg", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32>
    "func.return"(%0) : (tensor<1x1x2x2xf32>) -> ()
  }) : () -> ()
}) : () -> ()

// -----

// CHECK-LABEL: sym_name = "global_avg"
// CHECK: "fxp.pool"{{.*}}accum = !fxp.fixed<1 : i32, 6 : i32, 9 : i32, "TRN", "WRAP">
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x2x3x3xf32>) -> tensor<1x2x1x1xf32>, sym_name = "global_avg"}> ({
  ^bb0(%arg0: tensor<1x2x3x3xf32>):
    %0 = "fxp.pool"(%arg0) {accum = f64, kernel = array<i64: 3, 3>, kind = "avg", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x3x3xf32>) -> tensor<1x2x1x1xf32>
    "func.return"(%0) : (tensor<1x2x1x1xf32>) -> ()
  }) : () -> ()
}) : () -> ()

// -----

// scale and shift take the layer's weight and bias roles: stored integers of <8,3>.
// CHECK-LABEL: sym_name = "batchnorm_standalone"
// CHECK-DAG: "fxp.constant"() {value = dense<31> : tensor<2xi64>}
// CHECK-DAG: "fxp.constant"() {value = dense<-8> : tensor<2xi64>}
// CHECK: "fxp.scale_shift"
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x2xf32>) -> tensor<1x2xf32>, sym_name = "batchnorm_standalone"}> ({
  ^bb0(%arg0: tensor<1x2xf32>):
    %0 = "fxp.constant"() {value = dense<0.999998807> : tensor<2xf32>} : () -> tensor<2xf32>
    %1 = "fxp.constant"() {value = dense<-0.249999404> : tensor<2xf32>} : () -> tensor<2xf32>
    %2 = "fxp.scale_shift"(%arg0, %0, %1) : (tensor<1x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
    "func.return"(%2) : (tensor<1x2xf32>) -> ()
  }) : () -> ()
}) : () -> ()

// -----

// Data movement keeps the input format; mul and concat take the layer result format.
// CHECK-LABEL: sym_name = "shapes"
// CHECK: "fxp.pad"{{.*}} -> tensor<1x1x3x3x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>
// CHECK: "fxp.resize"{{.*}} -> tensor<1x1x6x6x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>
// CHECK: "fxp.reshape"{{.*}} -> tensor<1x72x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x1x2x2xf32>) -> tensor<1x72xf32>, sym_name = "shapes"}> ({
  ^bb0(%arg0: tensor<1x1x2x2xf32>):
    %0 = "fxp.pad"(%arg0) {padding = array<i64: 0, 1, 1, 0>} : (tensor<1x1x2x2xf32>) -> tensor<1x1x3x3xf32>
    %1 = "fxp.resize"(%0) {scales = array<i64: 2, 2>} : (tensor<1x1x3x3xf32>) -> tensor<1x1x6x6xf32>
    %2 = "fxp.mul"(%1, %1) : (tensor<1x1x6x6xf32>, tensor<1x1x6x6xf32>) -> tensor<1x1x6x6xf32>
    %3 = "fxp.concat"(%1, %2) {axis = 1 : i64} : (tensor<1x1x6x6xf32>, tensor<1x1x6x6xf32>) -> tensor<1x2x6x6xf32>
    %4 = "fxp.reshape"(%3) : (tensor<1x2x6x6xf32>) -> tensor<1x72xf32>
    "func.return"(%4) : (tensor<1x72xf32>) -> ()
  }) : () -> ()
}) : () -> ()
