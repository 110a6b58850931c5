// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{precision=auto input=ap_fixed<8,3>})' %s | filecheck %s
// Per-channel formats in fxp-assign-precision (fxflow.fixed.channels): a weight the model quantized itself
// (fxflow.model_formats) records each output channel's narrowest exact format; a per-channel cast of the
// model keeps its formats and the range analysis follows each channel's own format.

func.func @main(%arg0: tensor<1x2xf32>) -> tensor<1x3xf32> attributes {fxflow.model_formats = {"fc1.weight" = "ap_fixed<8,3,AP_RND,AP_SAT>"}} {
  // columns (output channels): 1/32 and -3; -2 and 1.5; 3 and 1
  %w = "fxp.constant"() {value = dense<[[0.03125, -2.0, 3.0], [-3.0, 1.5, 1.0]]> : tensor<2x3xf32>} : () -> tensor<2x3xf32> loc("fc1")
  %b = "fxp.constant"() {value = dense<[0.0, 0.0, 0.0]> : tensor<3xf32>} : () -> tensor<3xf32> loc("fc1")
  %0 = "fxp.dense"(%arg0, %w, %b) {accum = f64} : (tensor<1x2xf32>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<1x3xf32> loc("fc1")
  %1 = "fxp.cast"(%0) {formats = dense<[[[1, 2, 2], [0, 1, 4], [1, 1, 0]]]> : tensor<1x3x3xi64>} : (tensor<1x3xf32>) -> tensor<1x3x!fxp.fixed<1 : i32, 4 : i32, 4 : i32, "RND", "SAT">> loc("q")
  %2 = "fxp.cast"(%1) : (tensor<1x3x!fxp.fixed<1 : i32, 4 : i32, 4 : i32, "RND", "SAT">>) -> tensor<1x3xf32> loc("q")
  %3 = "fxp.relu"(%2) : (tensor<1x3xf32>) -> tensor<1x3xf32> loc("act")
  return %3 : tensor<1x3xf32>
}
// The weight keeps the model's container ap_fixed<8,3> and gains its columns' exact formats: 1/32 and -3 need
// <1, 2, 5>; -2 and 1.5 <1, 1, 1>; 3 and 1 <0, 2, 0>.
// CHECK:      "fxp.constant"() {formats = dense<{{\[\[\[}}1, 2, 5], [1, 1, 1], [0, 2, 0]]]> : tensor<1x3x3xi64>, value = dense<{{\[\[}}1, -64, 96], [-96, 48, 32]]> : tensor<2x3xi64>} : () -> tensor<2x3x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "RND", "SAT">>
// The per-channel cast stays (its float copy is dropped).  ReLU's exact range follows each channel's format:
// at most 3.75, 1.9375 and 1, so <0, 2, 4> — a per-tensor cast to the container would allow 12.125 (<0, 4, 4>).
// CHECK:      %[[C:.*]] = "fxp.cast"(%{{.*}}) {formats = dense<{{\[\[\[}}1, 2, 2], [0, 1, 4], [1, 1, 0]]]> : tensor<1x3x3xi64>}
// CHECK-SAME: -> tensor<1x3x!fxp.fixed<1 : i32, 4 : i32, 4 : i32, "RND", "SAT">>
// CHECK-NEXT: "fxp.relu"(%[[C]]) {{.*}} -> tensor<1x3x!fxp.fixed<0 : i32, 2 : i32, 4 : i32, "TRN", "WRAP">>
