// RUN: fxflow-opt --convert-fxp-to-df %s | fxflow-translate --emit-hls-cpp | filecheck %s
// Per-channel formats in the C++ (lowering/hls/channels.py): one typedef per channel group; a per-channel cast
// assigns each element through its channel's type into the container array; a weight's channel types are
// declared and listed while its array keeps the container type.

!x = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
!w = !fxp.fixed<1 : i32, 2 : i32, 5 : i32, "RND", "SAT">
!acc = !fxp.fixed<1 : i32, 9 : i32, 15 : i32, "TRN", "WRAP">
!c = !fxp.fixed<1 : i32, 4 : i32, 4 : i32, "RND", "SAT">

func.func @main(%x: tensor<1x2x!x>) -> tensor<1x3x!c> {
  %w = "fxp.constant"() {value = dense<[[1, -64, 96], [-96, 48, 32]]> : tensor<2x3xi64>,
                         formats = dense<[[[1, 2, 5], [1, 1, 1], [0, 2, 0]]]> : tensor<1x3x3xi64>} : () -> tensor<2x3x!w> loc("fc1")
  %b = "fxp.constant"() {value = dense<0> : tensor<3xi64>} : () -> tensor<3x!w> loc("fc1")
  %0 = "fxp.dense"(%x, %w, %b) {accum = !acc} : (tensor<1x2x!x>, tensor<2x3x!w>, tensor<3x!w>) -> tensor<1x3x!acc> loc("fc1")
  %1 = "fxp.cast"(%0) {formats = dense<[[[1, 2, 2], [0, 1, 4], [1, 2, 2]]]> : tensor<1x3x3xi64>} : (tensor<1x3x!acc>) -> tensor<1x3x!c> loc("q")
  return %1 : tensor<1x3x!c>
}
// CHECK-LABEL: ===== firmware/defines.h =====
// CHECK:       // kernel fc1: weight channel formats (values stored exactly in fc1_weight_t)
// CHECK-NEXT:  typedef ap_fixed<8,3,AP_RND,AP_SAT> fc1_weight_ch0_t;
// CHECK-NEXT:  typedef ap_fixed<3,2,AP_RND,AP_SAT> fc1_weight_ch1_t;
// CHECK-NEXT:  typedef ap_ufixed<2,2,AP_RND,AP_SAT> fc1_weight_ch2_t;
// CHECK:       // kernel q
// CHECK:       typedef ap_ufixed<5,1,AP_RND,AP_SAT> q_cast_ch0_t;
// CHECK-NEXT:  typedef ap_fixed<5,3,AP_RND,AP_SAT> q_cast_ch1_t;
// CHECK-LABEL: ===== firmware/layers/fc1.cpp =====
// CHECK:       // fc1_w: per-channel formats of the weight, each value exact in its channel's type:
// CHECK-NEXT:  //   fc1_weight_ch0_t = ap_fixed<8,3,AP_RND,AP_SAT>: index 0 of dimension 1
// CHECK-NEXT:  //   fc1_weight_ch1_t = ap_fixed<3,2,AP_RND,AP_SAT>: index 1 of dimension 1
// CHECK-NEXT:  //   fc1_weight_ch2_t = ap_ufixed<2,2,AP_RND,AP_SAT>: index 2 of dimension 1
// CHECK:       acc{{[0-9]+}}[n] += x0[k] * fc1_w[k * 3 + n];
// CHECK-LABEL: ===== firmware/layers/q.cpp =====
// CHECK:       // fxp.cast per channel -> ap_fixed<9,5,AP_RND,AP_SAT>: each element assigned to its channel's type (2 group(s)), stored exactly
// Channel 1 has its own type; channels 0 and 2 share one: a strided loop.
// CHECK:       for (int j = 0; j < 1; j++) {
// CHECK:       y0[1 + j] = q_cast_ch0_t(x0[1 + j]);
// CHECK:       for (int j = 0; j < 2; j++) {
// CHECK:       y0[j * 2] = q_cast_ch1_t(x0[j * 2]);
