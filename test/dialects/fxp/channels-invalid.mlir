// RUN: fxflow-opt %s --split-input-file --verify-diagnostics
// Every error of the per-channel `formats` attribute (dialects/fxp/channels.py).

!c = !fxp.fixed<1 : i32, 2 : i32, 6 : i32, "RND", "SAT">
!x = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">

func.func @value_off_channel_grid() {
  // expected-error @+1 {{'fxp.constant' op stored integer 17 (element 0) is not exactly representable in its channel format ap_fixed<5,1,AP_RND,AP_SAT>}}
  %w = "fxp.constant"() {value = dense<[[17, 0, 8]]> : tensor<1x3xi64>,
                         formats = dense<[[[1, 0, 4], [1, 2, 6], [0, 1, 3]]]> : tensor<1x3x3xi64>} : () -> tensor<1x3x!c>
  return
}

// -----

!c = !fxp.fixed<1 : i32, 2 : i32, 6 : i32, "RND", "SAT">
func.func @value_out_of_channel_range() {
  // expected-error @+1 {{'fxp.constant' op stored integer -8 (element 2) is not exactly representable in its channel format ap_ufixed<4,1,AP_RND,AP_SAT>}}
  %w = "fxp.constant"() {value = dense<[[16, 0, -8]]> : tensor<1x3xi64>,
                         formats = dense<[[[1, 0, 4], [1, 2, 6], [0, 1, 3]]]> : tensor<1x3x3xi64>} : () -> tensor<1x3x!c>
  return
}

// -----

!c = !fxp.fixed<1 : i32, 2 : i32, 6 : i32, "RND", "SAT">
!x = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
func.func @container_too_narrow(%x: tensor<1x2x!x>) {
  // expected-error @+1 {{'fxp.cast' op the result type ap_fixed<9,3,AP_RND,AP_SAT> does not cover the channel format ap_fixed<9,4,AP_RND,AP_SAT>}}
  %y = "fxp.cast"(%x) {formats = dense<[[[1, 0, 4], [1, 3, 5]]]> : tensor<1x2x3xi64>} : (tensor<1x2x!x>) -> tensor<1x2x!c>
  return
}

// -----

!c = !fxp.fixed<1 : i32, 2 : i32, 6 : i32, "RND", "SAT">
!x = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
func.func @container_too_coarse(%x: tensor<1x2x!x>) {
  // expected-error @+1 {{'fxp.cast' op the result type ap_fixed<9,3,AP_RND,AP_SAT> does not cover the channel format ap_fixed<9,1,AP_RND,AP_SAT>}}
  %y = "fxp.cast"(%x) {formats = dense<[[[1, 0, 4], [1, 0, 8]]]> : tensor<1x2x3xi64>} : (tensor<1x2x!x>) -> tensor<1x2x!c>
  return
}

// -----

!c = !fxp.fixed<1 : i32, 2 : i32, 6 : i32, "RND", "SAT">
!x = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
func.func @broadcast(%x: tensor<1x3x!x>) {
  // expected-error @+1 {{'fxp.cast' op channel formats of shape [1, 2] do not broadcast to the tensor shape [1, 3]}}
  %y = "fxp.cast"(%x) {formats = dense<[[[1, 0, 4], [1, 0, 4]]]> : tensor<1x2x3xi64>} : (tensor<1x3x!x>) -> tensor<1x3x!c>
  return
}

// -----

!c = !fxp.fixed<1 : i32, 2 : i32, 6 : i32, "RND", "SAT">
!x = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
func.func @rank(%x: tensor<1x3x!x>) {
  // expected-error @+1 {{'fxp.cast' op channel formats of shape [3] do not broadcast to the tensor shape [1, 3]}}
  %y = "fxp.cast"(%x) {formats = dense<[[1, 0, 4], [1, 0, 4], [1, 0, 4]]> : tensor<3x3xi64>} : (tensor<1x3x!x>) -> tensor<1x3x!c>
  return
}

// -----

!c = !fxp.fixed<1 : i32, 2 : i32, 6 : i32, "RND", "SAT">
!x = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
func.func @not_triples(%x: tensor<1x3x!x>) {
  // expected-error @+1 {{'fxp.cast' op illegal channel formats: channel formats must be integer (k, i, f) triples, shape [..., 3]; got shape [1, 3, 2]}}
  %y = "fxp.cast"(%x) {formats = dense<0> : tensor<1x3x2xi64>} : (tensor<1x3x!x>) -> tensor<1x3x!c>
  return
}

// -----

!c = !fxp.fixed<1 : i32, 2 : i32, 6 : i32, "RND", "SAT">
!x = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
func.func @illegal_format(%x: tensor<1x1x!x>) {
  // expected-error @+1 {{'fxp.cast' op illegal channel formats: signedness k must be 0 or 1, got 2}}
  %y = "fxp.cast"(%x) {formats = dense<[[[2, 0, 4]]]> : tensor<1x1x3xi64>} : (tensor<1x1x!x>) -> tensor<1x1x!c>
  return
}

// -----

!c = !fxp.fixed<1 : i32, 2 : i32, 6 : i32, "RND", "SAT">
!x = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
func.func @float_container(%x: tensor<1x1x!x>) {
  // expected-error @+1 {{'fxp.cast' op a per-channel cast ('formats') needs a fixed-point result type (the container)}}
  %y = "fxp.cast"(%x) {formats = dense<[[[1, 0, 4]]]> : tensor<1x1x3xi64>} : (tensor<1x1x!x>) -> tensor<1x1xf32>
  return
}

// -----

!c = !fxp.fixed<1 : i32, 2 : i32, 6 : i32, "RND", "SAT">
!x = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
func.func @not_dense(%x: tensor<1x1x!x>) {
  // expected-error @+1 {{'fxp.cast' op illegal channel formats: 'formats' must be a dense integer tensor of (k, i, f) triples, got "RND"}}
  %y = "fxp.cast"(%x) {formats = "RND"} : (tensor<1x1x!x>) -> tensor<1x1x!c>
  return
}
