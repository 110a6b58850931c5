// RUN: fxflow-opt --convert-fxp-to-df %s | fxflow-translate --emit-hls-cpp | filecheck %s
// fxp.matmul with `approx_mul`: every one of the K terms (no operand is a constant: none is skipped) calls the
// multiplier's C++ function on the two operands' stored integers, read back as the product type; here a
// 6-bit unsigned lhs times an 8-bit signed rhs, so the function is the mixed-signedness instance and the
// product type 14 bits at the grid 2^-(4 + 5).

// CHECK: typedef ap_fixed<14,5,AP_TRN,AP_WRAP> scores_approx_product_t;
// CHECK-LABEL: // ===== firmware/layers/scores.cpp =====
// CHECK: #include "../approx_mul.h"
// CHECK: acc += fxam_product<scores_approx_product_t>(fxam_trunc_k_4_compensate_0_6u8s(fxam_bits(x0[(t * 2 + m) * 3 + j]), fxam_bits(x1[(t * 3 + j) * 2 + n])));
// CHECK-LABEL: // ===== firmware/approx_mul.h =====
// CHECK: static inline long long fxam_trunc_k_4_compensate_0_6u8s(long long a, long long b) {

!u = !fxp.fixed<0 : i32, 2 : i32, 4 : i32, "TRN", "WRAP">
!q = !fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">
!a = !fxp.fixed<1 : i32, 9 : i32, 10 : i32, "TRN", "WRAP">
func.func @net(%a: tensor<1x2x3x!u>, %b: tensor<1x3x2x!q>) -> tensor<1x2x2x!q> {
  %s = "fxp.matmul"(%a, %b) {accum = !a, approx_mul = "trunc(k=4)"} : (tensor<1x2x3x!u>, tensor<1x3x2x!q>) -> tensor<1x2x2x!q> loc("scores")
  return %s : tensor<1x2x2x!q>
}
