// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{precision=ap_fixed<6,3>})' %s | filecheck %s
// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/tables.yaml})' %s | filecheck %s --check-prefix=CFG
// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/tables-hls4ml.yaml})' %s | filecheck %s --check-prefix=HLS

func.func @main(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %c = "fxp.clamp"(%arg0) {min = -1.0 : f64, max = 2.5 : f64} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("cl")
  %a = "fxp.constant"() {value = dense<[0.25, -0.5, 0.125, 1.0]> : tensor<4xf32>} : () -> tensor<4xf32> loc("pr")
  %p = "fxp.prelu"(%c, %a) : (tensor<1x4xf32>, tensor<4xf32>) -> tensor<1x4xf32> loc("pr")
  %l = "fxp.lut"(%p) ({
  ^bb0(%x: f32):
    %one = arith.constant 1.0 : f32
    %n = arith.negf %x : f32
    %e = math.exp %n : f32
    %s = arith.addf %e, %one : f32
    %r = arith.divf %one, %s : f32
    "fxp.yield"(%r) : (f32) -> ()
  }) : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("sig")
  %sm = "fxp.softmax"(%l) {axis = 1 : i64, implementation = "stable"} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("sm")
  return %sm : tensor<1x4xf32>
}

// Accurate default table (fxflow.fixed.table.accurate_table) of the sigmoid over the 6-bit input: the widest bins
// within 3/4 LSB of the function at every input are 2 LSBs wide (shift 1), over [-3, 3.25) (offset -12, 25 entries:
// outside it the sigmoid is within LSB/4 of its value at the edge), each entry the sigmoid at its bin's centre
// rounded to nearest (whatever the result's rounding mode).  Softmax (accurate defaults, fxflow.fixed.softmax
// .accurate_formats, for a result LSB 2^-3, i.e. target 2^-4): d = x_max - x lies in [0, 1] (the sigmoid table's
// range), so the exp table is indexed by all of d's bits in ap_ufixed<4,1> (16 entries, exact, saturating); exp
// entries ap_ufixed<10,1> (4 + 2 + ceil(log2 5) fractional bits), an exact accumulator, the sum in [1, 4]
// rounded onto ap_ufixed<9,3> (512 inverse entries), inverse entries ap_ufixed<8,1>.
// With hls4ml arithmetic (prefix HLS), hls4ml 1.3's formats: the exp table is indexed by x_max - x in ap_ufixed<5,2>
// (32 entries), the exact accumulator has 2 more integer bits (4 terms).
// CHECK:      "fxp.clamp"(%{{.*}}) {max = 2.500000e+00 : f64, min = -1.000000e+00 : f64} : (tensor<1x4x!fxp.fixed<1 : i32, 2 : i32, 3 : i32, "TRN", "WRAP">>)
// CHECK:      "fxp.constant"() {value = dense<[2, -4, 1, 8]> : tensor<4xi64>}
// CHECK:      "fxp.lut"
// CHECK:      "fxp.yield"
// CHECK-NEXT: }) {index_offset = -12 : i64, index_shift = 1 : i64, table = dense<[0, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 6, 7, 7, 7, 7, 7, 8, 8]> : tensor<25xi64>}
// CHECK:      "fxp.softmax"(%{{.*}}) {accum = !fxp.fixed<0 : i32, 3 : i32, 9 : i32, "RND", "SAT">, axis = 1 : i64, exp_format = !fxp.fixed<0 : i32, 1 : i32, 9 : i32, "RND", "SAT">, exp_table = dense<[512, 452, 399, 352, 311, 274, 242, 213, 188, 166, 147, 129, 114, 101, 89, 79]> : tensor<16xi64>, implementation = "stable", inv_format = !fxp.fixed<0 : i32, 1 : i32, 7 : i32, "RND", "SAT">, inv_input_format = !fxp.fixed<0 : i32, 3 : i32, 6 : i32, "RND", "SAT">, inv_table = dense<"0x{{.*}}"> : tensor<512xi64>, norm_format = !fxp.fixed<0 : i32, 1 : i32, 3 : i32, "TRN", "SAT">}
// HLS:        "fxp.softmax"(%{{.*}}) {accum = !fxp.fixed<1 : i32, 9 : i32, 10 : i32, "RND", "SAT">, axis = 1 : i64, exp_format = !fxp.fixed<1 : i32, 7 : i32, 10 : i32, "RND", "SAT">, exp_table = dense<[1024, 904, 797, 704, 621, 548, 484, 427, 377, 332, 293, 259, 228, 202, 178, 157, 139, 122, 108, 95, 84, 74, 65, 58, 51, 45, 40, 35, 31, 27, 24, 21]> : tensor<32xi64>, implementation = "stable", inv_format = !fxp.fixed<1 : i32, 7 : i32, 10 : i32, "RND", "SAT">, inv_input_format = !fxp.fixed<1 : i32, 7 : i32, 10 : i32, "RND", "SAT">, inv_table = dense<"0x{{.*}}"> : tensor<1024xi64>, norm_format = !fxp.fixed<0 : i32, 2 : i32, 3 : i32, "TRN", "WRAP">}

// Per-layer settings: clamp and prelu results "auto" (exact: the prelu result grid is f_x + f_alpha = 8 bits),
// an 8-entry sigmoid table over [-4, 4) (bins of 1.0: shift 8, offset -4) with an "auto" result (the input's
// 8 fractional bits, unsigned), and a latency softmax with 16-entry tables and a configured accumulator.
// CFG:      "fxp.clamp"(%{{.*}}) {{.*}} -> tensor<1x4x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>
// CFG:      "fxp.constant"() {value = dense<[2, -4, 1, 8]> : tensor<4xi64>} : () -> tensor<4x!fxp.fixed<1 : i32, 1 : i32, 3 : i32, "RND", "WRAP">>
// CFG:      "fxp.prelu"{{.*}} -> tensor<1x4x!fxp.fixed<1 : i32, 2 : i32, 8 : i32, "TRN", "WRAP">>
// CFG:      }) {index_offset = -4 : i64, index_shift = 8 : i64, table = dense<[7, 19, 47, 97, 159, 209, 237, 248]> : tensor<8xi64>} : ({{.*}}) -> tensor<1x4x!fxp.fixed<0 : i32, 0 : i32, 8 : i32, "RND", "SAT">>
// CFG:      "fxp.softmax"(%{{.*}}) {accum = !fxp.fixed<1 : i32, 3 : i32, 6 : i32, "TRN", "WRAP">, {{.*}}exp_table = dense<[1024, 1090, 1160, 1235, 1315, 1400, 1490, 1586, 1688, 1797, 1913, 2036, 2168, 2308, 2456, 2615]> : tensor<16xi64>, implementation = "latency", {{.*}}inv_table = dense<[131071, 64, 32, 21, 16, 13, 11, 9, -8, -9, -11, -13, -16, -21, -32, -64]> : tensor<16xi64>}
// CFG-NOT:  norm_format
