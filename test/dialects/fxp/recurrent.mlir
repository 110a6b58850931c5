// RUN: fxflow-opt %s | fxflow-opt | filecheck %s
// fxp.rnn verifies and round-trips, in float (LSTM sequence) and in fixed point (GRU last state).

!x = !fxp.fixed<1 : i32, 3 : i32, 8 : i32, "TRN", "WRAP">
!w = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
!a = !fxp.fixed<1 : i32, 8 : i32, 14 : i32, "TRN", "WRAP">
!g = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
!s = !fxp.fixed<0 : i32, 1 : i32, 10 : i32, "RND", "SAT">
!t = !fxp.fixed<1 : i32, 0 : i32, 10 : i32, "RND", "SAT">

// CHECK: "fxp.rnn"(%{{.*}}) {accum = f64, cell = "lstm", sequences = 1 : i64} : (tensor<1x5x3xf32>, tensor<8x3xf32>, tensor<8x2xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x5x2xf32>
func.func @lstm(%x: tensor<1x5x3xf32>, %wi: tensor<8x3xf32>, %wh: tensor<8x2xf32>, %b: tensor<8xf32>) -> tensor<1x5x2xf32> {
  %0 = "fxp.rnn"(%x, %wi, %wh, %b, %b) {cell = "lstm", sequences = 1 : i64, accum = f64} : (tensor<1x5x3xf32>, tensor<8x3xf32>, tensor<8x2xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x5x2xf32>
  return %0 : tensor<1x5x2xf32>
}

// CHECK: "fxp.rnn"{{.*}}cell = "gru"{{.*}}gate_format = {{.*}}table_size = 256 : i64
func.func @gru(%x: tensor<1x4x3x!x>, %wi: tensor<6x3x!w>, %wh: tensor<6x2x!w>, %b: tensor<6x!w>) -> tensor<1x2x!x> {
  %0 = "fxp.rnn"(%x, %wi, %wh, %b, %b) {cell = "gru", sequences = 0 : i64, accum = !a, gate_format = !g, sigmoid_format = !s, tanh_format = !t, table_size = 256 : i64} : (tensor<1x4x3x!x>, tensor<6x3x!w>, tensor<6x2x!w>, tensor<6x!w>, tensor<6x!w>) -> tensor<1x2x!x>
  return %0 : tensor<1x2x!x>
}
