// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{precision=ap_fixed<8,3>})' %s | filecheck %s
// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/layers.yaml})' %s | filecheck %s --check-prefix=CFG
// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{precision=auto input=ap_fixed<8,3>})' %s | filecheck %s --check-prefix=AUTO
// RUN: not fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/typo.yaml})' %s 2>&1 | filecheck %s --check-prefix=TYPO

func.func @main(%arg0: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = "fxp.constant"() {value = dense<[[1.0, 0.5], [-0.25, 0.1]]> : tensor<2x2xf32>} : () -> tensor<2x2xf32> loc("fc1")
  %b = "fxp.constant"() {value = dense<[0.5, -0.25]> : tensor<2xf32>} : () -> tensor<2xf32> loc("fc1")
  %0 = "fxp.dense"(%arg0, %w, %b) {accum = f64} : (tensor<1x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<1x2xf32> loc("fc1")
  %1 = "fxp.relu"(%0) : (tensor<1x2xf32>) -> tensor<1x2xf32> loc("act")
  return %1 : tensor<1x2xf32>
}
// Inputs are cast at the boundary; weights become stored integers (0.1 * 32 = 3.2 floors to 3 with AP_TRN);
// the exact accumulator of two 8-bit products plus a bias is <1, 7, 10>.
// CHECK:      "func.func"() <{function_type = (tensor<1x2xf32>) -> tensor<1x2x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>
// CHECK:      %[[X:.*]] = "fxp.cast"(%arg0) : (tensor<1x2xf32>) -> tensor<1x2x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>
// CHECK-DAG:  "fxp.constant"() {value = dense<{{\[}}[32, 16], [-8, 3]]> : tensor<2x2xi64>} : () -> tensor<2x2x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>
// CHECK-DAG:  "fxp.constant"() {value = dense<[16, -8]> : tensor<2xi64>}
// CHECK:      %[[D:.*]] = "fxp.dense"(%[[X]], {{.*}}) {accum = !fxp.fixed<1 : i32, 7 : i32, 10 : i32, "TRN", "WRAP">}
// CHECK:      "fxp.relu"(%[[D]]) : (tensor<1x2x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>) -> tensor<1x2x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>
// CHECK-NOT:  tensor<2x2xf32>

// Per-layer settings from a YAML file: fc1's weights get 6 bits with rounding, its accumulator and result are given.
// CFG:        "fxp.constant"() {value = dense<{{\[}}[16, 8], [-4, 2]]> : tensor<2x2xi64>} : () -> tensor<2x2x!fxp.fixed<1 : i32, 1 : i32, 4 : i32, "RND", "WRAP">>
// CFG:        "fxp.dense"{{.*}}{accum = !fxp.fixed<1 : i32, 11 : i32, 12 : i32, "TRN", "WRAP">}{{.*}} -> tensor<1x2x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>

// TYPO: config names layer(s) 'fc_1' that the model does not have; its layers are: act, fc1

// "auto" everywhere: weights fitted within 2^-8 of their largest magnitude (0.1 -> 13/128), the bias exactly,
// and the accumulator/results the narrowest formats the exact range analysis from the input format allows:
// column sums lie in [-18400, 22400] * 2^-12 -> <1, 3, 12>; after ReLU [0, 22400] * 2^-12 -> unsigned <0, 3, 12>.
// Each output channel also records the narrowest format holding its fitted values (column 0: 1.0 and -0.25 ->
// <1,1,2>; column 1: 0.5 and 0.1015625 -> unsigned <0,0,7>; bias 0.5 -> <0,0,1>, -0.25 -> <1,-2,2>).
// AUTO-DAG:   "fxp.constant"() {formats = dense<{{\[\[\[}}1, 1, 2], [0, 0, 7]]]> : tensor<1x2x3xi64>, value = dense<{{\[}}[128, 64], [-32, 13]]> : tensor<2x2xi64>} : () -> tensor<2x2x!fxp.fixed<1 : i32, 1 : i32, 7 : i32, "RND", "SAT">>
// AUTO-DAG:   "fxp.constant"() {formats = dense<{{\[\[}}0, 0, 1], [1, -2, 2]]> : tensor<2x3xi64>, value = dense<[2, -1]> : tensor<2xi64>} : () -> tensor<2x!fxp.fixed<1 : i32, 0 : i32, 2 : i32, "RND", "SAT">>
// AUTO:       "fxp.dense"{{.*}}{accum = !fxp.fixed<1 : i32, 3 : i32, 12 : i32, "TRN", "WRAP">}{{.*}} -> tensor<1x2x!fxp.fixed<1 : i32, 3 : i32, 12 : i32, "TRN", "WRAP">>
// AUTO:       "fxp.relu"{{.*}} -> tensor<1x2x!fxp.fixed<0 : i32, 3 : i32, 12 : i32, "TRN", "WRAP">>
