// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/approx.yaml})' %s | filecheck %s
// RUN: not fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/approx-wide.yaml})' %s 2>&1 | filecheck %s --check-prefix=WIDE
// The config's multiplier becomes the `approx_mul` attribute of each dense layer, and the range analysis
// uses the multiplier's products: DRUM(k=3) rounds |-128| up to 160, so 160 * 160 = 25600 > 2^14 needs the
// 16-bit product range (as the exact product does), and an `auto` accumulator after Mitchell (which never
// overestimates) is no wider than the exact one.

// CHECK: "fxp.dense"{{.*}}accum = !fxp.fixed<1 : i32, 7 : i32, 10 : i32, "TRN", "WRAP">, approx_mul = "drum(k=3)"
// CHECK: "fxp.dense"{{.*}}accum = !fxp.fixed<1 : i32, 4 : i32, 10 : i32, "TRN", "WRAP">, approx_mul = "mitchell"
// WIDE: layer 'fc1': multiplier 'mul8s_drum4' cannot be used: its input format ap_fixed<12,4> (12-bit signed) does not fit the multiplier's input operand (8-bit signed)
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x2xf32>) -> tensor<1x2xf32>, sym_name = "main"}> ({
  ^bb0(%arg0: tensor<1x2xf32>):
    %w1 = "fxp.constant"() {value = dense<[[0.5, -1.0], [0.25, 0.75]]> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
    %b1 = "fxp.constant"() {value = dense<[0.125, -0.5]> : tensor<2xf32>} : () -> tensor<2xf32>
    %0 = "fxp.dense"(%arg0, %w1, %b1) {accum = f64} : (tensor<1x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<1x2xf32> loc("fc1")
    %w2 = "fxp.constant"() {value = dense<[[1.5, -0.25], [-2.0, 0.5]]> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
    %b2 = "fxp.constant"() {value = dense<[0.0, 1.0]> : tensor<2xf32>} : () -> tensor<2xf32>
    %1 = "fxp.dense"(%0, %w2, %b2) {accum = f64} : (tensor<1x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<1x2xf32> loc("fc2")
    "func.return"(%1) : (tensor<1x2xf32>) -> ()
  }) : () -> ()
}) : () -> ()
