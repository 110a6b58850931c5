// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision)' %s 2>&1 | filecheck %s
// Tensors between the model's own quantizers (passes/assign_precision/model_exact.py) take their exact formats instead of
// the default ap_fixed<16,6>: Brevitas' QuantLinear -> QuantReLU is dense -> relu -> cast, and the
// dense after a max-pool of a quantized tensor has model-quantized weights.

func.func @main(%arg0: tensor<1x1x2x4xf32>) -> tensor<1x2xf32> attributes {fxflow.model_formats = {"fc1.weight" = "ap_fixed<8,1,AP_RND,AP_SAT>", "fc2.weight" = "ap_fixed<8,1,AP_RND,AP_SAT>"}} {
  %q = "fxp.cast"(%arg0) : (tensor<1x1x2x4xf32>) -> tensor<1x1x2x4x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND", "SAT">> loc("in_quant")
  %x = "fxp.cast"(%q) : (tensor<1x1x2x4x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND", "SAT">>) -> tensor<1x1x2x4xf32> loc("in_quant")
  %p = "fxp.pool"(%x) {accum = f64, kernel = array<i64: 1, 2>, kind = "max", padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 2>} : (tensor<1x1x2x4xf32>) -> tensor<1x1x2x2xf32> loc("pool")
  %r = "fxp.reshape"(%p) : (tensor<1x1x2x2xf32>) -> tensor<1x4xf32> loc("flatten")
  %w = "fxp.constant"() {value = dense<[[0.5, -0.25, 0.0078125], [0.125, 0.75, -0.5], [-0.5, 0.25, 0.5], [0.0625, 0.0, 0.125]]> : tensor<4x3xf32>} : () -> tensor<4x3xf32> loc("fc1")
  %b = "fxp.constant"() {value = dense<[0.0, 0.0, 0.0]> : tensor<3xf32>} : () -> tensor<3xf32> loc("fc1")
  %d = "fxp.dense"(%r, %w, %b) {accum = f64} : (tensor<1x4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<1x3xf32> loc("fc1")
  %a = "fxp.relu"(%d) : (tensor<1x3xf32>) -> tensor<1x3xf32> loc("act")
  %c = "fxp.cast"(%a) : (tensor<1x3xf32>) -> tensor<1x3x!fxp.fixed<0 : i32, 4 : i32, 2 : i32, "RND", "SAT">> loc("act_quant")
  %cf = "fxp.cast"(%c) : (tensor<1x3x!fxp.fixed<0 : i32, 4 : i32, 2 : i32, "RND", "SAT">>) -> tensor<1x3xf32> loc("act_quant")
  %w2 = "fxp.constant"() {value = dense<[[0.5, -0.25], [0.125, 0.75], [-0.5, 0.25]]> : tensor<3x2xf32>} : () -> tensor<3x2xf32> loc("fc2")
  %b2 = "fxp.constant"() {value = dense<[0.0, 0.0]> : tensor<2xf32>} : () -> tensor<2xf32> loc("fc2")
  %y = "fxp.dense"(%cf, %w2, %b2) {accum = f64} : (tensor<1x3xf32>, tensor<3x2xf32>, tensor<2xf32>) -> tensor<1x2xf32> loc("fc2")
  return %y : tensor<1x2xf32>
}
// The max-pool and the reshape keep the quantizer's <1, 3, 4> range (exact formats are TRN/WRAP), not <16,6>:
// CHECK:      "fxp.pool"{{.*}} -> tensor<1x1x2x2x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>
// CHECK:      "fxp.reshape"{{.*}} -> tensor<1x4x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>
// fc1 (feeding the ReLU, then the quantizer) is exact: 4 + 7 fractional bits.
// CHECK:      "fxp.dense"{{.*}} -> tensor<1x3x!fxp.fixed<1 : i32, {{[0-9]+}} : i32, 11 : i32, "TRN", "WRAP">>
// CHECK-NEXT: "fxp.relu"{{.*}} -> tensor<1x3x!fxp.fixed<0 : i32, {{[0-9]+}} : i32, 11 : i32, "TRN", "WRAP">>
// fc2 (the float output) is fixed by the quantized activation and weights: exact too (the zero bias has the
// default format's 10 fractional bits, more than 2 + 7).
// CHECK:      "fxp.dense"{{.*}} -> tensor<1x2x!fxp.fixed<1 : i32, {{[0-9]+}} : i32, 10 : i32, "TRN", "WRAP">>
// CHECK-NOT:  warning
