// RUN: fxflow-opt --convert-fxp-to-df %s | fxflow-translate --emit-hls-cpp | filecheck %s
// Per-channel affine, zero padding, nearest upsampling, transpose, sub and concat kernels: flat channels-first
// indexing of the data-movement ops, exact elementwise expressions assigned to the result type.

// CHECK-LABEL: void bn(const input_t x0[8], bn_result_t y0[8]) {
// CHECK: y0[i] = x0[i] * bn_s[(i / 4) % 2] + bn_t[(i / 4) % 2];
// CHECK-LABEL: void pad(const bn_result_t x0[8], pad_result_t y0[18]) {
// CHECK: if ((d2 - 1) >= 0 && (d2 - 1) < 2 && d3 >= 0 && d3 < 2) y0[d0 * 18 + d1 * 9 + d2 * 3 + d3] = x0[d0 * 8 + d1 * 4 + (d2 - 1) * 2 + d3];
// CHECK-NEXT: else y0[d0 * 18 + d1 * 9 + d2 * 3 + d3] = 0;
// CHECK-LABEL: void up(const pad_result_t x0[18], up_result_t y0[36]) {
// CHECK: y0[d0 * 36 + d1 * 18 + d2 * 6 + d3] = x0[d0 * 18 + d1 * 9 + (d2 / 1) * 3 + (d3 / 2)];
// CHECK-LABEL: void perm(const up_result_t x0[36], perm_result_t y0[36]) {
// CHECK: y0[d0 * 36 + d1 * 18 + d2 * 3 + d3] = x0[d0 * 36 + d1 * 18 + d2 + d3 * 6];
// CHECK-LABEL: void sq(const flat_result_t x0[36], sq_result_t y0[36]) {
// CHECK: y0[i] = x0[i] * x0[i];
// CHECK-LABEL: void diff(const flat_result_t x0[36], const sq_result_t x1[36], diff_result_t y0[36]) {
// CHECK: y0[i] = x0[i] - x1[i];
// CHECK-LABEL: void cat(const diff_result_t x0[36], const flat_result_t x1[36], cat_result_t y0[72]) {
// CHECK: y0[o * 36 + i] = x0[o * 18 + i];
// CHECK: y0[o * 36 + 18 + i] = x1[o * 18 + i];

!q = !fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">
!w = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
func.func @shapes(%x: tensor<1x2x2x2x!q>) -> tensor<1x72x!q> {
  %s = "fxp.constant"() {value = dense<[32, -16]> : tensor<2xi64>} : () -> tensor<2x!w>
  %t = "fxp.constant"() {value = dense<[1, 2]> : tensor<2xi64>} : () -> tensor<2x!q>
  %a = "fxp.scale_shift"(%x, %s, %t) : (tensor<1x2x2x2x!q>, tensor<2x!w>, tensor<2x!q>) -> tensor<1x2x2x2x!q> loc("bn")
  %p = "fxp.pad"(%a) {padding = array<i64: 1, 0, 0, 1>} : (tensor<1x2x2x2x!q>) -> tensor<1x2x3x3x!q> loc("pad")
  %u = "fxp.resize"(%p) {scales = array<i64: 1, 2>} : (tensor<1x2x3x3x!q>) -> tensor<1x2x3x6x!q> loc("up")
  %tr = "fxp.transpose"(%u) {permutation = array<i64: 0, 1, 3, 2>} : (tensor<1x2x3x6x!q>) -> tensor<1x2x6x3x!q> loc("perm")
  %r = "fxp.reshape"(%tr) : (tensor<1x2x6x3x!q>) -> tensor<1x2x18x!q> loc("flat")
  %m = "fxp.mul"(%r, %r) : (tensor<1x2x18x!q>, tensor<1x2x18x!q>) -> tensor<1x2x18x!q> loc("sq")
  %d = "fxp.sub"(%r, %m) : (tensor<1x2x18x!q>, tensor<1x2x18x!q>) -> tensor<1x2x18x!q> loc("diff")
  %c = "fxp.concat"(%d, %r) {axis = 2 : i64} : (tensor<1x2x18x!q>, tensor<1x2x18x!q>) -> tensor<1x2x36x!q> loc("cat")
  %f = "fxp.reshape"(%c) : (tensor<1x2x36x!q>) -> tensor<1x72x!q> loc("view")
  return %f : tensor<1x72x!q>
}
