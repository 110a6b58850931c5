// RUN: fxflow-opt "--fxp-assign-precision=precision=ap_fixed<8,3>" %s | filecheck %s
// RUN: fxflow-opt "--fxp-assign-precision=config=%S/Inputs/recurrent.yaml" %s | filecheck %s --check-prefix=CFG
// Precision rule of fxp.rnn: weights and biases quantized, one exact accumulator for both dot products,
// per-gate formats (defaults from the model precision, or the layer's gate / sigmoid / tanh / state keys),
// the table size (the most entries of its accurate tables, table_style "accurate"), and the result h.

func.func @tagger(%x: tensor<1x3x2xf32>) -> tensor<1x2xf32> {
  %wi = "fxp.constant"() {value = dense<[[0.5, -0.25], [0.125, 1.0], [-1.0, 0.75], [0.25, 0.5], [0.5, 0.5], [-0.5, 0.25], [1.0, 1.0], [0.0, -0.125]]> : tensor<8x2xf32>} : () -> tensor<8x2xf32> loc("lstm")
  %wh = "fxp.constant"() {value = dense<[[0.5, -0.25], [0.125, 1.0], [-1.0, 0.75], [0.25, 0.5], [0.5, 0.5], [-0.5, 0.25], [1.0, 1.0], [0.0, -0.125]]> : tensor<8x2xf32>} : () -> tensor<8x2xf32> loc("lstm")
  %b = "fxp.constant"() {value = dense<[0.1, 0.2, 0.3, 0.4, -0.1, -0.2, -0.3, -0.4]> : tensor<8xf32>} : () -> tensor<8xf32> loc("lstm")
  %0 = "fxp.rnn"(%x, %wi, %wh, %b, %b) {cell = "lstm", sequences = 0 : i64, accum = f64} : (tensor<1x3x2xf32>, tensor<8x2xf32>, tensor<8x2xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x2xf32> loc("lstm")
  return %0 : tensor<1x2xf32>
}
// Defaults with P = <8,3> = (1, 2, 5) for x, weights, biases and h: the exact accumulator of bias + 2 products
// (1, 4, 10) plus ceil(log2 3) = 2 integer bits; sigmoid ap_ufixed<6,1>, tanh ap_fixed<7,2> (both RND, SAT).
// CHECK: "fxp.rnn"
// CHECK-SAME: accum = !fxp.fixed<1 : i32, 7 : i32, 10 : i32, "TRN", "WRAP">
// CHECK-SAME: gate_format = !fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">
// CHECK-SAME: sigmoid_format = !fxp.fixed<0 : i32, 1 : i32, 5 : i32, "RND", "SAT">
// CHECK-SAME: state_format = !fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">
// CHECK-SAME: table_size = 4096 : i64, table_style = "accurate"
// CHECK-SAME: tanh_format = !fxp.fixed<1 : i32, 1 : i32, 5 : i32, "RND", "SAT">
// CHECK-SAME: -> tensor<1x2x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>

// CFG: "fxp.rnn"
// CFG-SAME: gate_format = !fxp.fixed<1 : i32, 3 : i32, 8 : i32, "RND", "SAT">
// CFG-SAME: sigmoid_format = !fxp.fixed<0 : i32, 0 : i32, 8 : i32, "RND", "SAT">
// CFG-SAME: state_format = !fxp.fixed<1 : i32, 3 : i32, 10 : i32, "TRN", "WRAP">
// CFG-SAME: table_size = 256 : i64, table_style = "accurate"
// CFG-SAME: tanh_format = !fxp.fixed<1 : i32, 0 : i32, 7 : i32, "TRN", "WRAP">
