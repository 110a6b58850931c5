// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{precision=ap_fixed<8,3>},convert-fxp-to-df)' %s | fxflow-translate --emit-hls-cpp | filecheck %s
// fxp.layernorm and fxp.matmul as C++: the row sum, the truncating divisions, the exact sum of squares, the
// bit-by-bit 1/sqrt (one line per bit of inv_std_t, highest first), and the in-order matmul accumulation.

func.func @main(%arg0: tensor<1x2x4xf32>) -> tensor<1x2x2xf32> {
  %g = "fxp.constant"() {value = dense<[0.5, 1.0, 1.5, 2.0]> : tensor<4xf32>} : () -> tensor<4xf32> loc("ln")
  %b = "fxp.constant"() {value = dense<[0.25, -0.25, 0.0, 1.0]> : tensor<4xf32>} : () -> tensor<4xf32> loc("ln")
  %n = "fxp.layernorm"(%arg0, %g, %b) {accum = f64, dims = 1 : i64, epsilon = 1.0e-05 : f64, rms = 0 : i64} : (tensor<1x2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32> loc("ln")
  %t = "fxp.transpose"(%n) {permutation = array<i64: 0, 2, 1>} : (tensor<1x2x4xf32>) -> tensor<1x4x2xf32> loc("kt")
  %s = "fxp.matmul"(%n, %t) {accum = f64} : (tensor<1x2x4xf32>, tensor<1x4x2xf32>) -> tensor<1x2x2xf32> loc("scores")
  return %s : tensor<1x2x2xf32>
}

// CHECK-LABEL: // ===== firmware/defines.h =====
// CHECK:       typedef ap_fixed<10,5,AP_TRN,AP_WRAP> ln_accum_t;
// CHECK:       typedef ap_fixed<13,5,AP_TRN,AP_WRAP> ln_mean_t;
// CHECK:       typedef ap_ufixed<28,9,AP_TRN,AP_WRAP> ln_var_t;
// CHECK:       typedef ap_ufixed<19,9,AP_TRN,AP_WRAP> ln_inv_std_t;
// CHECK:       typedef ap_fixed<10,3,AP_RND,AP_SAT> ln_norm_t;
// CHECK:       typedef ap_fixed<18,8,AP_TRN,AP_WRAP> scores_accum_t;

// CHECK-LABEL: // ===== firmware/layers/ln.cpp =====
// CHECK:         ln_accum_t s = 0;
// CHECK:           s += x0[r * 4 + j];
// CHECK:         ln_mean_t m = s;
// CHECK-NEXT:    m /= (unsigned) 4;
// CHECK:           [[D:d[0-9]+]][j] = x0[r * 4 + j] - m;
// CHECK:         ln_sq_t q = 0;
// CHECK:           q += [[D]][j] * [[D]][j];
// CHECK:         ln_var_t v = q;
// CHECK-NEXT:    v /= (unsigned) 4;
// CHECK-NEXT:    ln_var_eps_t ve = v;
// CHECK-NEXT:    ve += ln_var_eps_t(0x1.8p-17);
// CHECK:         ln_inv_std_t rs = 0;
// CHECK-NEXT:    { ln_inv_std_t t = rs + ln_inv_std_t(0x1p+8); if (t * t * ve <= 1) rs = t; }
// CHECK-NEXT:    { ln_inv_std_t t = rs + ln_inv_std_t(0x1p+7); if (t * t * ve <= 1) rs = t; }
// CHECK:         { ln_inv_std_t t = rs + ln_inv_std_t(0x1p-10); if (t * t * ve <= 1) rs = t; }
// CHECK-NEXT:    for (int j = 0; j < 4; j++) {
// CHECK:           ln_norm_t tn = [[D]][j] * rs;
// CHECK-NEXT:      y0[r * 4 + j] = tn * ln_gamma[j] + ln_beta[j];

// CHECK-LABEL: // ===== firmware/layers/scores.cpp =====
// CHECK:       // fxp.matmul 1 x [2x4] @ [4x2], accumulator ap_fixed<18,8>, in order j
// CHECK:           scores_accum_t acc = 0;
// CHECK:             acc += x0[(t * 2 + m) * 4 + j] * x1[(t * 4 + j) * 2 + n];
// CHECK:           y0[(t * 2 + m) * 2 + n] = acc;
