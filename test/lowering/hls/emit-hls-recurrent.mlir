// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{precision=ap_fixed<8,3>},convert-fxp-to-df)' %s | fxflow-translate --emit-hls-cpp | filecheck %s
// fxp.rnn as C++: zero state, a time loop around one cell body — the two ordered dot products written like
// fxp.dense's, pre-activations assigned to the gate type, table lookups by a bit slice (clamped to the accurate
// table's range), the exact state
// update assigned to its format — and the tables as weight headers.

func.func @main(%x: tensor<1x3x2xf32>) -> tensor<1x3x2xf32> {
  %wi = "fxp.constant"() {value = dense<[[0.5, -0.25], [0.125, 1.0], [-1.0, 0.75], [0.25, 0.5], [0.5, 0.5], [-0.5, 0.25]]> : tensor<6x2xf32>} : () -> tensor<6x2xf32> loc("gru")
  %wh = "fxp.constant"() {value = dense<[[0.5, -0.25], [0.125, 1.0], [-1.0, 0.75], [0.25, 0.5], [0.5, 0.5], [-0.5, 0.25]]> : tensor<6x2xf32>} : () -> tensor<6x2xf32> loc("gru")
  %b = "fxp.constant"() {value = dense<[0.1, 0.2, 0.3, -0.1, -0.2, -0.3]> : tensor<6xf32>} : () -> tensor<6xf32> loc("gru")
  %0 = "fxp.rnn"(%x, %wi, %wh, %b, %b) {cell = "gru", sequences = 1 : i64, accum = f64} : (tensor<1x3x2xf32>, tensor<6x2xf32>, tensor<6x2xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<1x3x2xf32> loc("gru")
  return %0 : tensor<1x3x2xf32>
}
// CHECK: static const gru_sigmoid_table_t gru_sigmoid_table[118]
// CHECK: // fxp.rnn gru: 3 steps, 2 features, 2 hidden, sequence
// CHECK: [[H:h[0-9]+]][j] = 0;
// CHECK: for (int t = 0; t < 3; t++)
// CHECK: a += x0[t * 2 + q] * {{.*}}[j * 2 + q];
// CHECK: b += [[H]][q] * {{.*}}[j * 2 + q];
// CHECK: pr = [[AX:ax[0-9]+]][j] + [[AH:ah[0-9]+]][j];
// CHECK: long long [[IX:ix[0-9]+]] = (ap_int<8>(pr.range(7, 0)) >> 1).to_int64() - (-59LL);
// CHECK-NEXT: if ([[IX]] < 0) [[IX]] = 0; else if ([[IX]] > 117) [[IX]] = 117;
// CHECK-NEXT: r = gru_sigmoid_table{{\[}}[[IX]]];
// CHECK: pn = [[AX]][4 + j] + r * hn;
// CHECK: [[H]][j] = n + z * ([[H]][j] - n);
// CHECK: y0[t * 2 + j] = [[H]][j];
