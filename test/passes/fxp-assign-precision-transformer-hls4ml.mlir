// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/transformer-hls4ml.yaml})' %s | filecheck %s
// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/transformer-hls4ml.yaml},convert-fxp-to-df)' %s | fxflow-translate --emit-hls-cpp | filecheck %s --check-prefix=EMIT
// With hls4ml arithmetic a LayerNorm is hls4ml 1.3's (style "hls4ml"): every intermediate in accum (the model's
// ap_fixed<16,6>: 10 fractional bits), no fxflow internal formats, its 1/sqrt table in hls4ml's default
// ap_ufixed<8,5,AP_RND_CONV,AP_SAT> with the configured 1024 entries over [1e-5, 1e-5 + 2^-1).  The index is
// int(var * 1024 * 2^1): var's stored integer times 1024, shifted right by 10 - 1 = 9 toward zero.

func.func @main(%arg0: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
  %g = "fxp.constant"() {value = dense<[5.000000e-01, 1.000000e+00, 1.500000e+00, 2.000000e+00]> : tensor<4xf32>} : () -> tensor<4xf32>
  %b = "fxp.constant"() {value = dense<[2.500000e-01, -2.500000e-01, 0.000000e+00, 1.000000e+00]> : tensor<4xf32>} : () -> tensor<4xf32>
  %y = "fxp.layernorm"(%arg0, %g, %b) {accum = f64, dims = 1 : i64, epsilon = 1.000000e-05 : f64, rms = 0 : i64} : (tensor<1x2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32> loc("ln")
  return %y : tensor<1x2x4xf32>
}

// CHECK: "fxp.layernorm"
// CHECK-SAME: accum = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
// CHECK-NOT: mean_format
// CHECK-SAME: style = "hls4ml", table_format = !fxp.fixed<0 : i32, 5 : i32, 3 : i32, "RND_CONV", "SAT">, table_range_power2 = 1 : i64, table_size = 1024 : i64
// CHECK-SAME: -> tensor<1x2x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>

// EMIT-LABEL: // ===== firmware/layers/ln.cpp =====
// EMIT:         fxp.layernorm (hls4ml 1.3) over 4 elements x 2 rows, 1/sqrt table of 1024 entries over [1e-5, +2^-1)
// EMIT:         kinv = {{.*}};
// EMIT:         s += {{.*}}_accum_t(
// EMIT:         m = s * kinv;
// EMIT:         sq = [[D:.*]][j] * [[D]][j];
// EMIT:         v = q * kinv;
// EMIT:         t *= 1024;
// EMIT-NEXT:    if (t < 0) t += 511LL;
// EMIT-NEXT:    t >>= 9;
// EMIT-NEXT:    int idx = t.to_int();
// EMIT-NEXT:    if (idx < 0) idx = 0; else if (idx > 1023) idx = 1023;
