// RUN: fxflow-opt --convert-fxp-to-df %s | fxflow-translate --emit-hls-cpp | filecheck %s
// RUN: fxflow-opt --convert-fxp-to-df %s | fxflow-translate --emit-hls-cpp | filecheck %s --check-prefix=FN
// Approximate multipliers (`approx_mul`): each term calls the multiplier's C++ function on the operands'
// stored integers and reads the result back as the product type; zero weights add nothing; the functions,
// printed from the same expressions the emulator interprets, live in firmware/approx_mul.h.

// CHECK: typedef ap_fixed<16,6,AP_TRN,AP_WRAP> conv_approx_product_t;
// CHECK: typedef ap_fixed<16,6,AP_TRN,AP_WRAP> fc_approx_product_t;
// CHECK-LABEL: // ===== firmware/layers/conv.cpp =====
// CHECK: #include "../approx_mul.h"
// CHECK: if (iw >= 0 && iw < 4 && conv_w[f * 3 + c * 3 + kw] != 0) acc += (conv_w[f * 3 + c * 3 + kw] != 0 ? fxam_product<conv_approx_product_t>(fxam_mitchell_8s8s(fxam_bits(x0[c * 4 + iw]), fxam_bits(conv_w[f * 3 + c * 3 + kw]))) : conv_approx_product_t(0));
// CHECK-LABEL: // ===== firmware/layers/fc.cpp =====
// CHECK: acc0[n] += (fc_w[k * 2 + n] != 0 ? fxam_product<fc_approx_product_t>(fxam_trunc_k_4_compensate_1_8s8s(fxam_bits(x0[k]), fxam_bits(fc_w[k * 2 + n]))) : fc_approx_product_t(0));

// FN-LABEL: // ===== firmware/approx_mul.h =====
// FN: inline long long fxam_bits(const ap_fixed_base<W, I, S, Q, O, N> &v) {
// FN: static inline long long fxam_mitchell_8s8s(long long a, long long b) {
// FN-NEXT: const long long t0 = a < 0LL;
// FN: fxam_msb(
// FN: return t{{[0-9]+}};
// FN: static inline long long fxam_trunc_k_4_compensate_1_8s8s(long long a, long long b) {
// FN-NEXT: const long long t0 = (a >> 0) & 1;
// FN: & 65535LL;
// FN-NEXT: ^ 32768LL;
// FN-NEXT: - 32768LL;
// FN-NEXT: return t{{[0-9]+}};

!q = !fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">
!a = !fxp.fixed<1 : i32, 9 : i32, 10 : i32, "TRN", "WRAP">
func.func @net(%x: tensor<1x1x4x!q>) -> tensor<1x2x!q> {
  %w = "fxp.constant"() {value = dense<[[[1, -2, 3]], [[0, 5, -1]]]> : tensor<2x1x3xi64>} : () -> tensor<2x1x3x!q>
  %b = "fxp.constant"() {value = dense<[4, -4]> : tensor<2xi64>} : () -> tensor<2x!q>
  %c = "fxp.conv"(%x, %w, %b) {strides = array<i64: 1>, dilations = array<i64: 1>, padding = array<i64: 1, 1>, groups = 1 : i64, accum = !a, approx_mul = "mitchell"} : (tensor<1x1x4x!q>, tensor<2x1x3x!q>, tensor<2x!q>) -> tensor<1x2x4x!q> loc("conv")
  %f = "fxp.reshape"(%c) : (tensor<1x2x4x!q>) -> tensor<1x8x!q> loc("flat")
  %w2 = "fxp.constant"() {value = dense<3> : tensor<8x2xi64>} : () -> tensor<8x2x!q>
  %b2 = "fxp.constant"() {value = dense<[1, 2]> : tensor<2xi64>} : () -> tensor<2x!q>
  %d = "fxp.dense"(%f, %w2, %b2) {accum = !a, approx_mul = "trunc(k=4, compensate=1)"} : (tensor<1x8x!q>, tensor<8x2x!q>, tensor<2x!q>) -> tensor<1x2x!q> loc("fc")
  return %d : tensor<1x2x!q>
}
