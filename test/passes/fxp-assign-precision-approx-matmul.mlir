// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/approx-matmul.yaml})' %s | filecheck %s
// RUN: not fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/approx-matmul-wide.yaml})' %s 2>&1 | filecheck %s --check-prefix=WIDE
// A layer's multiplier applies to its fxp.matmul ops (products of two activations) too: the `approx_mul`
// attribute, operand widths from the lhs and rhs formats.  DRUM(k=3) rounds |-128| up to 160: the exact
// accumulator takes the multiplier's product range (160 * 160 still fits 16 bits) plus ceil(log2 3) bits; the
// `auto` accumulator after Mitchell holds the exact range widened by K = 2 times its error range.  A named
// 8-bit multiplier on a 12-bit lhs is an error naming the layer and the operand.

// CHECK: "fxp.matmul"{{.*}}accum = !fxp.fixed<1 : i32, 7 : i32, 10 : i32, "TRN", "WRAP">, approx_mul = "drum(k=3)"
// CHECK: "fxp.matmul"{{.*}}accum = !fxp.fixed<1 : i32, 6 : i32, 10 : i32, "TRN", "WRAP">, approx_mul = "mitchell"
// WIDE: layer 'att': multiplier 'mul8s_drum4' cannot be used: its lhs format ap_fixed<12,4> (12-bit signed) does not fit the multiplier's lhs operand (8-bit signed)
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x2x3xf32>) -> tensor<1x2x3xf32>, sym_name = "att"}> ({
  ^bb0(%arg0: tensor<1x2x3xf32>):
    %0 = "fxp.transpose"(%arg0) {permutation = array<i64: 0, 2, 1>} : (tensor<1x2x3xf32>) -> tensor<1x3x2xf32> loc("att")
    %1 = "fxp.matmul"(%arg0, %0) {accum = f64} : (tensor<1x2x3xf32>, tensor<1x3x2xf32>) -> tensor<1x2x2xf32> loc("att")
    %2 = "fxp.matmul"(%1, %arg0) {accum = f64} : (tensor<1x2x2xf32>, tensor<1x2x3xf32>) -> tensor<1x2x3xf32> loc("mix")
    "func.return"(%2) : (tensor<1x2x3xf32>) -> ()
  }) : () -> ()
}) : () -> ()
