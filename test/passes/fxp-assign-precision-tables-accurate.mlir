// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{precision=ap_fixed<8,4>})' %s | filecheck %s
// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{precision=ap_fixed<8,4>},convert-fxp-to-df)' %s | fxflow-translate --emit-hls-cpp | filecheck %s --check-prefix=CPP
// The accurate default table (fxflow.fixed.table.accurate_table) of SiLU, x * sigmoid(x), on ap_fixed<8,4>
// (LSB 1/16): below -5.75 SiLU stays within LSB/4 of its value there (those inputs take entry 0), from 6 on
// it stays within LSB/4 of x, so those inputs bypass the table (identity_from = 96 = 6 * 16: y = x assigned
// to the result); in between, the widest bins within 3/4 LSB at every input: 1 LSB (shift 0), 188 entries from
// offset -92 (-5.75).

func.func @main(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %l = "fxp.lut"(%arg0) ({
  ^bb0(%x: f32):
    %one = arith.constant 1.0 : f32
    %n = arith.negf %x : f32
    %e = math.exp %n : f32
    %s = arith.addf %e, %one : f32
    %r = arith.divf %x, %s : f32
    "fxp.yield"(%r) : (f32) -> ()
  }) : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("silu")
  return %l : tensor<1x4xf32>
}

// CHECK:      "fxp.lut"
// CHECK:      "fxp.yield"
// CHECK-NEXT: }) {identity_from = 96 : i64, index_offset = -92 : i64, index_shift = 0 : i64, table = dense<
// CHECK-SAME: tensor<188xi64>

// CPP:      static const silu_table_t silu_table[188] = {
// CPP:      ap_int<10> t = r >> 0;
// CPP-NEXT: t += 92LL;
// CPP-NEXT: if (t < 0) t = 0;
// CPP-NEXT: else if (t > 187) t = 187;
// CPP-NEXT: if (r >= ap_int<8>(96LL)) y0[i] = x0[i];
// CPP-NEXT: else y0[i] = silu_table[t.to_int()];
