// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision)' %s 2>&1 | filecheck %s
// Brevitas bnn_pynq's pattern (passes/assign_precision/input_format.py, model_exact.py): the input reaches its
// 8-bit quantizer (grid 2^-7) through a reshape and 2x - 1, so with no configured input format it is cast to
// that quantizer pulled back (grid 2^-8, [0, 1), round half to even) instead of ap_fixed<16,6>; the BatchNorm
// after the quantized dense keeps its float32 scale and shift exactly (narrowest exact formats) and its result
// is exact, so the 2-bit quantizer after it sees the exact value.

func.func @main(%arg0: tensor<1x1x2x2xf32>) -> tensor<1x2xf32> attributes {fxflow.model_formats = {"fc.weight" = "ap_fixed<2,2,AP_RND_CONV,AP_SAT_SYM>"}} {
  %v = "fxp.reshape"(%arg0) : (tensor<1x1x2x2xf32>) -> tensor<1x4xf32> loc("view")
  %two = "fxp.constant"() {value = dense<2.0> : tensor<1xf32>} : () -> tensor<1xf32> loc("affine")
  %m1 = "fxp.constant"() {value = dense<-1.0> : tensor<1xf32>} : () -> tensor<1xf32> loc("affine")
  %a = "fxp.scale_shift"(%v, %two, %m1) : (tensor<1x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4xf32> loc("affine")
  %q = "fxp.cast"(%a) : (tensor<1x4xf32>) -> tensor<1x4x!fxp.fixed<1 : i32, 0 : i32, 7 : i32, "RND_CONV", "SAT">> loc("in_quant")
  %x = "fxp.cast"(%q) : (tensor<1x4x!fxp.fixed<1 : i32, 0 : i32, 7 : i32, "RND_CONV", "SAT">>) -> tensor<1x4xf32> loc("in_quant")
  %w = "fxp.constant"() {value = dense<[[1.0, -1.0], [0.0, 1.0], [-1.0, -1.0], [1.0, 0.0]]> : tensor<4x2xf32>} : () -> tensor<4x2xf32> loc("fc")
  %b = "fxp.constant"() {value = dense<[0.0, 0.0]> : tensor<2xf32>} : () -> tensor<2xf32> loc("fc")
  %d = "fxp.dense"(%x, %w, %b) {accum = f64} : (tensor<1x4xf32>, tensor<4x2xf32>, tensor<2xf32>) -> tensor<1x2xf32> loc("fc")
  %s = "fxp.constant"() {value = dense<[0.300000012, 1.70000005]> : tensor<2xf32>} : () -> tensor<2xf32> loc("bn")
  %t = "fxp.constant"() {value = dense<[0.100000001, -0.200000003]> : tensor<2xf32>} : () -> tensor<2xf32> loc("bn")
  %n = "fxp.scale_shift"(%d, %s, %t) : (tensor<1x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2xf32> loc("bn")
  %c = "fxp.cast"(%n) : (tensor<1x2xf32>) -> tensor<1x2x!fxp.fixed<1 : i32, 1 : i32, 0 : i32, "RND_CONV", "SAT_SYM">> loc("act_quant")
  %y = "fxp.cast"(%c) : (tensor<1x2x!fxp.fixed<1 : i32, 1 : i32, 0 : i32, "RND_CONV", "SAT_SYM">>) -> tensor<1x2xf32> loc("act_quant")
  return %y : tensor<1x2xf32>
}
// The input: ap_ufixed<8,0,AP_RND_CONV,AP_SAT>; 2x - 1 is then exact on the quantizer's grid.
// CHECK:      "fxp.cast"(%arg0) : (tensor<1x1x2x2xf32>) -> tensor<1x1x2x2x!fxp.fixed<0 : i32, 0 : i32, 8 : i32, "RND_CONV", "SAT">>
// CHECK:      "fxp.scale_shift"{{.*}} -> tensor<1x4x!fxp.fixed<1 : i32, 0 : i32, 7 : i32, "TRN", "WRAP">>
// The BatchNorm: float32 0.3 and 1.7 hold exactly on 2^-24, 0.1 and -0.2 on 2^-27; the result is exact.
// CHECK:      "fxp.constant"() {value = dense<[5033165, 28521268]> : tensor<2xi64>} : () -> tensor<2x!fxp.fixed<0 : i32, 1 : i32, 24 : i32, "RND", "SAT">>
// CHECK-NEXT: "fxp.constant"() {value = dense<[13421773, -26843546]> : tensor<2xi64>} : () -> tensor<2x!fxp.fixed<1 : i32, -2 : i32, 27 : i32, "RND", "SAT">>
// CHECK-NEXT: "fxp.scale_shift"{{.*}} -> tensor<1x2x!fxp.fixed<1 : i32, 3 : i32, 34 : i32, "TRN", "WRAP">>
// CHECK-NOT:  warning
