// RUN: fxflow-opt "--fxp-assign-precision=config=%S/Inputs/transformer.yaml" %s | filecheck %s
// Configured formats: a model-level accumulator (every matmul/layernorm accumulator) and the layernorm's own
// mean / var / inv_std / norm keys (Inputs/transformer.yaml) override the "auto" internals.

// CHECK-LABEL: sym_name = "att"
// CHECK: "fxp.matmul"{{.*}}accum = !fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND", "SAT">
// CHECK-LABEL: sym_name = "ln"
// CHECK: "fxp.layernorm"{{.*}}accum = !fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND", "SAT">, dims = 1 : i64, epsilon = 1.000000e-05 : f64, inv_std_format = !fxp.fixed<0 : i32, 4 : i32, 8 : i32, "TRN", "WRAP">, mean_format = !fxp.fixed<1 : i32, 2 : i32, 6 : i32, "TRN", "WRAP">, norm_format = !fxp.fixed<1 : i32, 3 : i32, 6 : i32, "RND", "SAT">, rms = 0 : i64, var_format = !fxp.fixed<0 : i32, 4 : i32, 8 : i32, "TRN", "WRAP">
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x2x3xf32>) -> tensor<1x2x3xf32>, sym_name = "att"}> ({
  ^bb0(%arg0: tensor<1x2x3xf32>):
    %0 = "fxp.transpose"(%arg0) {permutation = array<i64: 0, 2, 1>} : (tensor<1x2x3xf32>) -> tensor<1x3x2xf32>
    %1 = "fxp.matmul"(%arg0, %0) {accum = f64} : (tensor<1x2x3xf32>, tensor<1x3x2xf32>) -> tensor<1x2x2xf32>
    %2 = "fxp.matmul"(%1, %arg0) {accum = f64} : (tensor<1x2x2xf32>, tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
    "func.return"(%2) : (tensor<1x2x3xf32>) -> ()
  }) : () -> ()
  "func.func"() <{function_type = (tensor<1x2x4xf32>) -> tensor<1x2x4xf32>, sym_name = "ln"}> ({
  ^bb0(%arg0: tensor<1x2x4xf32>):
    %0 = "fxp.constant"() {value = dense<[5.000000e-01, 1.000000e+00, 1.500000e+00, 2.000000e+00]> : tensor<4xf32>} : () -> tensor<4xf32>
    %1 = "fxp.constant"() {value = dense<[2.500000e-01, -2.500000e-01, 0.000000e+00, 1.000000e+00]> : tensor<4xf32>} : () -> tensor<4xf32>
    %2 = "fxp.layernorm"(%arg0, %0, %1) {accum = f64, dims = 1 : i64, epsilon = 1.000000e-05 : f64, rms = 0 : i64} : (tensor<1x2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32> loc("ln")
    "func.return"(%2) : (tensor<1x2x4xf32>) -> ()
  }) : () -> ()
}) : () -> ()
