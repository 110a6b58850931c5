// RUN: fxflow-opt %s | fxflow-opt | filecheck %s
// RUN: fxflow-opt %s --mlir-print-debuginfo | fxflow-opt | filecheck %s
// Every fxp op and the !fxp.fixed type survive print -> parse -> print (generic form), both with fixed-point
// tensors and with float tensors (the form before precision assignment).

!in = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
!w = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "RND_CONV", "SAT_SYM">
!acc = !fxp.fixed<1 : i32, 9 : i32, 16 : i32, "TRN", "WRAP">
!out = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">
!u = !fxp.fixed<0 : i32, 4 : i32, 4 : i32, "TRN_ZERO", "SAT_ZERO">

// CHECK-LABEL: sym_name = "fixed"
// CHECK: ^bb0(%[[X:.*]]: tensor<2x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>):
// CHECK: %[[W:.*]] = "fxp.constant"() {value = dense<{{\[\[}}1, -2, 3], [4, 5, -6], [7, 8, 9], [-10, 11, 12]]> : tensor<4x3xi64>} : () -> tensor<4x3x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "RND_CONV", "SAT_SYM">>
// CHECK: %[[B:.*]] = "fxp.constant"() {value = dense<-128> : tensor<3xi64>} : () -> tensor<3x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "RND_CONV", "SAT_SYM">>
// CHECK: %[[Y:.*]] = "fxp.dense"(%[[X]], %[[W]], %[[B]]) {accum = !fxp.fixed<1 : i32, 9 : i32, 16 : i32, "TRN", "WRAP">} : (tensor<2x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>, tensor<4x3x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "RND_CONV", "SAT_SYM">>, tensor<3x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "RND_CONV", "SAT_SYM">>) -> tensor<2x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
// CHECK: %[[R:.*]] = "fxp.relu"(%[[Y]]) : (tensor<2x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<2x3x!fxp.fixed<0 : i32, 4 : i32, 4 : i32, "TRN_ZERO", "SAT_ZERO">>
// CHECK: %[[S:.*]] = "fxp.add"(%[[R]], %[[Y]]) : (tensor<2x3x!fxp.fixed<0 : i32, 4 : i32, 4 : i32, "TRN_ZERO", "SAT_ZERO">>, tensor<2x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<2x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
// CHECK: %[[C:.*]] = "fxp.cast"(%[[S]]) : (tensor<2x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<2x3xf32>
// CHECK: "func.return"(%[[C]]) : (tensor<2x3xf32>) -> ()
func.func @fixed(%x: tensor<2x4x!in>) -> tensor<2x3xf32> {
  %w = "fxp.constant"() {value = dense<[[1, -2, 3], [4, 5, -6], [7, 8, 9], [-10, 11, 12]]> : tensor<4x3xi64>} : () -> tensor<4x3x!w>
  %b = "fxp.constant"() {value = dense<-128> : tensor<3xi64>} : () -> tensor<3x!w>
  %y = "fxp.dense"(%x, %w, %b) {accum = !acc} : (tensor<2x4x!in>, tensor<4x3x!w>, tensor<3x!w>) -> tensor<2x3x!out>
  %r = "fxp.relu"(%y) : (tensor<2x3x!out>) -> tensor<2x3x!u>
  %s = "fxp.add"(%r, %y) : (tensor<2x3x!u>, tensor<2x3x!out>) -> tensor<2x3x!out>
  %c = "fxp.cast"(%s) : (tensor<2x3x!out>) -> tensor<2x3xf32>
  return %c : tensor<2x3xf32>
}

// Before precision assignment: float tensors and an exact f64 accumulator (in textual IR `accum` is required;
// the Python builder defaults it to f64).
// CHECK-LABEL: sym_name = "float"
// CHECK: ^bb0(%[[X:.*]]: tensor<1x2xf32>):
// CHECK: %[[W:.*]] = "fxp.constant"() {value = dense<{{\[\[}}5.000000e-01], [-2.500000e-01]]> : tensor<2x1xf32>} : () -> tensor<2x1xf32>
// CHECK: %[[B:.*]] = "fxp.constant"() {value = dense<0.000000e+00> : tensor<1xf32>} : () -> tensor<1xf32>
// CHECK: %[[Y:.*]] = "fxp.dense"(%[[X]], %[[W]], %[[B]]) {accum = f64} : (tensor<1x2xf32>, tensor<2x1xf32>, tensor<1xf32>) -> tensor<1x1xf32>
// CHECK: %[[Q:.*]] = "fxp.cast"(%[[Y]]) : (tensor<1x1xf32>) -> tensor<1x1x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "RND_CONV", "SAT_SYM">>
// CHECK: "func.return"(%[[Q]])
func.func @float(%x: tensor<1x2xf32>) -> tensor<1x1x!w> {
  %w = "fxp.constant"() {value = dense<[[0.5], [-0.25]]> : tensor<2x1xf32>} : () -> tensor<2x1xf32>
  %b = "fxp.constant"() {value = dense<0.0> : tensor<1xf32>} : () -> tensor<1xf32>
  %y = "fxp.dense"(%x, %w, %b) {accum = f64} : (tensor<1x2xf32>, tensor<2x1xf32>, tensor<1xf32>) -> tensor<1x1xf32>
  %q = "fxp.cast"(%y) : (tensor<1x1xf32>) -> tensor<1x1x!w>
  return %q : tensor<1x1x!w>
}
