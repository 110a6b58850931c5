// RUN: fxflow-opt %s --split-input-file | filecheck %s
// RUN: fxflow-opt %s --split-input-file | fxflow-opt --split-input-file | filecheck %s
// Per-channel formats (dialects/fxp/channels.py): `formats` on fxp.constant (the formats the values were
// quantized to) and on fxp.cast (assign each channel to its own format, stored in the container type).

!c = !fxp.fixed<1 : i32, 2 : i32, 6 : i32, "RND", "SAT">
!x = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">

// CHECK-LABEL: sym_name = "weights"
// CHECK: "fxp.constant"() {formats = dense<{{\[\[\[}}1, 0, 4], [1, 2, 6], [0, 1, 3]]]> : tensor<1x3x3xi64>, value = dense<{{\[\[}}16, -256, 8], [-4, 255, 24]]> : tensor<2x3xi64>}
func.func @weights() -> tensor<2x3x!c> {
  %w = "fxp.constant"() {value = dense<[[16, -256, 8], [-4, 255, 24]]> : tensor<2x3xi64>,
                         formats = dense<[[[1, 0, 4], [1, 2, 6], [0, 1, 3]]]> : tensor<1x3x3xi64>} : () -> tensor<2x3x!c>
  return %w : tensor<2x3x!c>
}

// -----

!c = !fxp.fixed<1 : i32, 2 : i32, 6 : i32, "RND", "SAT">
!x = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">

// CHECK-LABEL: sym_name = "cast"
// CHECK: "fxp.cast"(%{{.*}}) {formats = dense<{{\[\[\[}}1, 0, 4], [1, 2, 6], [0, 1, 3]]]> : tensor<1x3x3xi64>} : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> tensor<1x3x!fxp.fixed<1 : i32, 2 : i32, 6 : i32, "RND", "SAT">>
// CHECK: "fxp.cast"(%{{.*}}) {formats = dense<{{\[\[\[}}1, 0, 4], [1, 2, 6], [0, 1, 3]]]> : tensor<1x3x3xi64>} : (tensor<1x3xf32>) -> tensor<1x3x!fxp.fixed<1 : i32, 2 : i32, 6 : i32, "RND", "SAT">>
func.func @cast(%x: tensor<1x3x!x>, %xf: tensor<1x3xf32>) -> (tensor<1x3x!c>, tensor<1x3x!c>) {
  %y = "fxp.cast"(%x) {formats = dense<[[[1, 0, 4], [1, 2, 6], [0, 1, 3]]]> : tensor<1x3x3xi64>} : (tensor<1x3x!x>) -> tensor<1x3x!c>
  %z = "fxp.cast"(%xf) {formats = dense<[[[1, 0, 4], [1, 2, 6], [0, 1, 3]]]> : tensor<1x3x3xi64>} : (tensor<1x3xf32>) -> tensor<1x3x!c>
  return %y, %z : tensor<1x3x!c>, tensor<1x3x!c>
}
