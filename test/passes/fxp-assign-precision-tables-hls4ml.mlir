// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/tables-hls4ml-lut.yaml})' %s | filecheck %s
// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/tables-hls4ml-lut.yaml},convert-fxp-to-df)' %s | fxflow-translate --emit-hls-cpp | filecheck %s --check-prefix=EMIT
// With hls4ml arithmetic a tanh lut gets hls4ml 1.3's table: 1024 entries over [-4, 4), index
// int(x * 1024 / 8) + 512 truncating toward zero -- on ap_fixed<16,6> (10 fractional bits) bins of 2^3 stored
// integers, so index_shift 3, index_offset -512 and index_toward_zero.

func.func @main(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %l = "fxp.lut"(%arg0) ({
  ^bb0(%x: f32):
    %t = math.tanh %x : f32
    "fxp.yield"(%t) : (f32) -> ()
  }) : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("t")
  return %l : tensor<1x4xf32>
}

// CHECK: "fxp.lut"(%{{.*}}) ({
// CHECK: index_offset = -512 : i64, index_shift = 3 : i64, index_toward_zero, table = dense<"0x{{.*}}"> : tensor<1024xi64>

// EMIT-LABEL: // ===== firmware/layers/t.cpp =====
// EMIT:         fxp.lut: table[clamp((raw(x) >> 3) (toward zero) - (-512), 0, 1023)]
// EMIT:         if (t < 0) t += 7LL;
// EMIT-NEXT:    t >>= 3;
// EMIT-NEXT:    t += 512LL;
