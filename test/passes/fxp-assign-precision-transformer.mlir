// RUN: fxflow-opt --split-input-file "--fxp-assign-precision=precision=ap_fixed<8,3>" %s | filecheck %s
// Precision rules of fxp.matmul and fxp.layernorm (the float fxp of convert-linalg-to-fxp-transformer.mlir):
// exact accumulators and "auto" layernorm internals by default (configured ones:
// fxp-assign-precision-transformer-config.mlir).

// Exact accumulators of K products of two <8,3> = (1, 2, 5) activations: the (1, 5, 10) product plus
// ceil(log2 K) integer bits (K = 3, then K = 2); results take the configured <8,3>.
// CHECK-LABEL: sym_name = "att"
// CHECK: "fxp.matmul"{{.*}}accum = !fxp.fixed<1 : i32, 7 : i32, 10 : i32, "TRN", "WRAP">
// CHECK: "fxp.matmul"{{.*}}accum = !fxp.fixed<1 : i32, 6 : i32, 10 : i32, "TRN", "WRAP">
// CHECK-SAME: -> tensor<1x2x3x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x2x3xf32>) -> tensor<1x2x3xf32>, sym_name = "att"}> ({
  ^bb0(%arg0: tensor<1x2x3xf32>):
    %0 = "fxp.transpose"(%arg0) {permutation = array<i64: 0, 2, 1>} : (tensor<1x2x3xf32>) -> tensor<1x3x2xf32>
    %1 = "fxp.matmul"(%arg0, %0) {accum = f64} : (tensor<1x2x3xf32>, tensor<1x3x2xf32>) -> tensor<1x2x2xf32>
    %2 = "fxp.matmul"(%1, %arg0) {accum = f64} : (tensor<1x2x2xf32>, tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
    "func.return"(%2) : (tensor<1x2x3xf32>) -> ()
  }) : () -> ()
}) : () -> ()

// -----

// CHECK-LABEL: sym_name = "heads"
// CHECK: "fxp.matmul"{{.*}}accum = !fxp.fixed<1 : i32, 7 : i32, 10 : i32, "TRN", "WRAP">{{.*}}-> tensor<1x2x3x3x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x24xf32>) -> tensor<1x2x3x3xf32>, sym_name = "heads"}> ({
  ^bb0(%arg0: tensor<1x24xf32>):
    %0 = "fxp.reshape"(%arg0) : (tensor<1x24xf32>) -> tensor<1x2x3x4xf32>
    %1 = "fxp.transpose"(%0) {permutation = array<i64: 0, 1, 3, 2>} : (tensor<1x2x3x4xf32>) -> tensor<1x2x4x3xf32>
    %2 = "fxp.matmul"(%0, %1) {accum = f64} : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
    "func.return"(%2) : (tensor<1x2x3x3xf32>) -> ()
  }) : () -> ()
}) : () -> ()

// -----

// LayerNorm "auto" internals for x in <8,3> ([-4, 4)), n = 4: sum <x.i + 2 bits>; mean holds the sum (divided
// in place) on x's grid + 3 bits; var unsigned holding the sum of squares n (max - min)^2 = 256 on the grid of
// the squares (2 * 8) + 3 bits; inv_std holding 1/sqrt(eps') (eps = 1e-5 rounds up to 6 LSB of var,
// 2^-19: 1/sqrt = 296); norm |.| <= sqrt(4), rounded and saturating.
// CHECK-LABEL: sym_name = "ln"
// CHECK: "fxp.layernorm"{{.*}}accum = !fxp.fixed<1 : i32, 4 : i32, 5 : i32, "TRN", "WRAP">, dims = 1 : i64, epsilon = 1.000000e-05 : f64, inv_std_format = !fxp.fixed<0 : i32, 9 : i32, 10 : i32, "TRN", "WRAP">, mean_format = !fxp.fixed<1 : i32, 4 : i32, 8 : i32, "TRN", "WRAP">, norm_format = !fxp.fixed<1 : i32, 2 : i32, 7 : i32, "RND", "SAT">, rms = 0 : i64, var_format = !fxp.fixed<0 : i32, 9 : i32, 19 : i32, "TRN", "WRAP">
// CHECK-SAME: -> tensor<1x2x4x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>, sym_name = "ln"}> ({
  ^bb0(%arg0: tensor<1x2x4xf32>):
    %0 = "fxp.constant"() {value = dense<[5.000000e-01, 1.000000e+00, 1.500000e+00, 2.000000e+00]> : tensor<4xf32>} : () -> tensor<4xf32>
    %1 = "fxp.constant"() {value = dense<[2.500000e-01, -2.500000e-01, 0.000000e+00, 1.000000e+00]> : tensor<4xf32>} : () -> tensor<4xf32>
    %2 = "fxp.layernorm"(%arg0, %0, %1) {accum = f64, dims = 1 : i64, epsilon = 1.000000e-05 : f64, rms = 0 : i64} : (tensor<1x2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32>
    "func.return"(%2) : (tensor<1x2x4xf32>) -> ()
  }) : () -> ()
}) : () -> ()

// -----

// RMSNorm: var holds n max x^2 = 64 on x^2's grid + 3 bits; eps rounds up to one LSB (2^-13) of it.
// CHECK-LABEL: sym_name = "rms"
// CHECK: "fxp.layernorm"{{.*}}inv_std_format = !fxp.fixed<0 : i32, 7 : i32, 10 : i32, "TRN", "WRAP">{{.*}}rms = 1 : i64, var_format = !fxp.fixed<0 : i32, 8 : i32, 13 : i32, "TRN", "WRAP">
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>, sym_name = "rms"}> ({
  ^bb0(%arg0: tensor<1x2x4xf32>):
    %0 = "fxp.constant"() {value = dense<[5.000000e-01, 1.000000e+00, 1.500000e+00, 2.000000e+00]> : tensor<4xf32>} : () -> tensor<4xf32>
    %1 = "fxp.constant"() {value = dense<0.000000e+00> : tensor<4xf32>} : () -> tensor<4xf32>
    %2 = "fxp.layernorm"(%arg0, %0, %1) {accum = f64, dims = 1 : i64, epsilon = 1.000000e-05 : f64, rms = 1 : i64} : (tensor<1x2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32>
    "func.return"(%2) : (tensor<1x2x4xf32>) -> ()
  }) : () -> ()
}) : () -> ()
