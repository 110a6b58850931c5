// RUN: fxflow-opt %s --split-input-file --verify-diagnostics
// Every error the fxp.rnn verifier emits.

func.func @cell(%x: tensor<1x5x3xf32>, %wi: tensor<8x3xf32>, %wh: tensor<8x2xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{'fxp.rnn' op cell 'rnn' is not one of lstm, gru}}
  %0 = "fxp.rnn"(%x, %wi, %wh, %b, %b) {cell = "rnn", sequences = 1 : i64, accum = f64} : (tensor<1x5x3xf32>, tensor<8x3xf32>, tensor<8x2xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x5x2xf32>
  return
}

// -----

func.func @sequences(%x: tensor<1x5x3xf32>, %wi: tensor<8x3xf32>, %wh: tensor<8x2xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{'fxp.rnn' op sequences must be 0 (last state) or 1 (whole sequence)}}
  %0 = "fxp.rnn"(%x, %wi, %wh, %b, %b) {cell = "lstm", sequences = 2 : i64, accum = f64} : (tensor<1x5x3xf32>, tensor<8x3xf32>, tensor<8x2xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x5x2xf32>
  return
}

// -----

func.func @input_rank(%x: tensor<1x15xf32>, %wi: tensor<8x3xf32>, %wh: tensor<8x2xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{'fxp.rnn' op input must be [1, T, F] (sample, time, features), got [1, 15]}}
  %0 = "fxp.rnn"(%x, %wi, %wh, %b, %b) {cell = "lstm", sequences = 0 : i64, accum = f64} : (tensor<1x15xf32>, tensor<8x3xf32>, tensor<8x2xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x2xf32>
  return
}

// -----

func.func @gates(%x: tensor<1x5x3xf32>, %wi: tensor<6x3xf32>, %wh: tensor<6x2xf32>, %b: tensor<6xf32>) {
  // expected-error @+1 {{'fxp.rnn' op lstm weights must be w_ih [4H, 3], w_hh [4H, H], biases [4H]; got [6, 3], [6, 2], [6], [6]}}
  %0 = "fxp.rnn"(%x, %wi, %wh, %b, %b) {cell = "lstm", sequences = 0 : i64, accum = f64} : (tensor<1x5x3xf32>, tensor<6x3xf32>, tensor<6x2xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<1x2xf32>
  return
}

// -----

func.func @result(%x: tensor<1x5x3xf32>, %wi: tensor<6x3xf32>, %wh: tensor<6x2xf32>, %b: tensor<6xf32>) {
  // expected-error @+1 {{'fxp.rnn' op result shape [1, 5, 2] must be [1, 2]}}
  %0 = "fxp.rnn"(%x, %wi, %wh, %b, %b) {cell = "gru", sequences = 0 : i64, accum = f64} : (tensor<1x5x3xf32>, tensor<6x3xf32>, tensor<6x2xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<1x5x2xf32>
  return
}

// -----

!x = !fxp.fixed<1 : i32, 3 : i32, 8 : i32, "TRN", "WRAP">
!a = !fxp.fixed<1 : i32, 8 : i32, 14 : i32, "TRN", "WRAP">
func.func @formats(%x: tensor<1x4x3x!x>, %wi: tensor<6x3x!x>, %wh: tensor<6x2x!x>, %b: tensor<6x!x>) {
  // expected-error @+1 {{'fxp.rnn' op a fixed-point rnn needs its 'gate_format' (run fxp-assign-precision)}}
  %0 = "fxp.rnn"(%x, %wi, %wh, %b, %b) {cell = "gru", sequences = 0 : i64, accum = !a} : (tensor<1x4x3x!x>, tensor<6x3x!x>, tensor<6x2x!x>, tensor<6x!x>, tensor<6x!x>) -> tensor<1x2x!x>
  return
}

// -----

func.func @lstm_states(%x: tensor<1x5x3xf32>, %wi: tensor<8x3xf32>, %wh: tensor<8x2xf32>, %b: tensor<8xf32>, %h: tensor<1x2xf32>) {
  // expected-error @+1 {{'fxp.rnn' op initial states h0: an LSTM takes h0 and c0 or neither, other cells h0 only}}
  %0 = "fxp.rnn"(%x, %wi, %wh, %b, %b, %h) {cell = "lstm", sequences = 1 : i64, accum = f64} : (tensor<1x5x3xf32>, tensor<8x3xf32>, tensor<8x2xf32>, tensor<8xf32>, tensor<8xf32>, tensor<1x2xf32>) -> tensor<1x5x2xf32>
  return
}

// -----

func.func @state_shape(%x: tensor<1x5x3xf32>, %wi: tensor<6x3xf32>, %wh: tensor<6x2xf32>, %b: tensor<6xf32>, %h: tensor<1x3xf32>) {
  // expected-error @+1 {{'fxp.rnn' op initial state h0 must be a [1, 2] tensor}}
  %0 = "fxp.rnn"(%x, %wi, %wh, %b, %b, %h) {cell = "gru", sequences = 1 : i64, accum = f64} : (tensor<1x5x3xf32>, tensor<6x3xf32>, tensor<6x2xf32>, tensor<6xf32>, tensor<6xf32>, tensor<1x3xf32>) -> tensor<1x5x2xf32>
  return
}
