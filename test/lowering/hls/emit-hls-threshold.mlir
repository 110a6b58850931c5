// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision,convert-fxp-to-df)' %s | fxflow-translate --emit-hls-cpp | filecheck %s
// A threshold quantizer (q in [-1, 1], s = 0.75: T = -0.375 strict, 0.375 inclusive) reading the model input:
// the input format truncates on the grid of the float32-inclusive thresholds, the kernel keeps the real
// thresholds with their >= / > flags and counts them by a binary search.

func.func @main(%arg0: tensor<1x4xf32>) -> tensor<1x4x!fxp.fixed<1 : i32, 0 : i32, 2 : i32, "RND_CONV", "SAT">> {
  %t = "fxp.threshold"(%arg0) {thresholds = dense<[-0.375, 0.375]> : tensor<2xf64>, inclusive = dense<[0, 1]> : tensor<2xi64>, levels = dense<[-0.75, 0.0, 0.75]> : tensor<3xf64>} : (tensor<1x4xf32>) -> tensor<1x4x!fxp.fixed<1 : i32, 0 : i32, 2 : i32, "RND_CONV", "SAT">> loc("q")
  return %t : tensor<1x4x!fxp.fixed<1 : i32, 0 : i32, 2 : i32, "RND_CONV", "SAT">>
}

// CHECK-LABEL: // ===== firmware/defines.h =====
// CHECK:       typedef ap_fixed<25,0,AP_TRN,AP_SAT> input_t;
// CHECK:       typedef ap_fixed<3,1,AP_RND_CONV,AP_SAT> q_levels_t;
// CHECK:       typedef ap_fixed<25,0,AP_RND_CONV,AP_SAT> q_thresholds_t;
// CHECK:       typedef ap_ufixed<1,1,AP_TRN,AP_WRAP> q_inclusive_t;
// CHECK-LABEL: // ===== firmware/weights/q_levels.h =====
// CHECK:       static const q_levels_t q_levels[3] = {
// CHECK-NEXT:      -0x1.8p-1, 0x0p+0, 0x1.8p-1,
// CHECK-LABEL: // ===== firmware/weights/q_thresholds.h =====
// CHECK:       static const q_thresholds_t q_thresholds[2] = {
// CHECK-NEXT:      -0x1.7ffffep-2, 0x1.8p-2,
// CHECK-LABEL: // ===== firmware/weights/q_inclusive.h =====
// CHECK:       static const q_inclusive_t q_inclusive[2] = {
// CHECK-NEXT:      0x1p+0, 0x1p+0,
// CHECK-LABEL: // ===== firmware/layers/q.cpp =====
// CHECK:         int c = 0;
// CHECK-NEXT:    for (int step = 2; step > 0; step >>= 1) {
// CHECK-NEXT:        if (c + step <= 2) {
// CHECK-NEXT:            int j = c + step - 1;
// CHECK-NEXT:            if (q_inclusive[j] != 0 ? x0[i] >= q_thresholds[j] : x0[i] > q_thresholds[j]) c += step;
// CHECK:         y0[i] = q_levels[c];
