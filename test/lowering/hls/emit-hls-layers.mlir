// RUN: fxflow-opt --convert-fxp-to-df %s | fxflow-translate --emit-hls-cpp | filecheck %s
// Conv and pooling kernels: loops in the documented accumulation order, padding taps skipped by a bounds
// test (and pruned weights by a test of the weight), max pooling over in-bounds taps only, average pooling divided toward zero by the window size.

// CHECK-LABEL: void conv(const input_t x0[6], conv_result_t y0[4]) {
// CHECK: for (int f = 0; f < 2; f++) {
// CHECK: for (int ow = 0; ow < 2; ow++) {
// CHECK: conv_accum_t acc = conv_b[f];
// CHECK: for (int c = 0; c < 1; c++) {
// CHECK: for (int kw = 0; kw < 3; kw++) {
// CHECK: const int iw = ow * 2 + kw * 2 - 1;
// CHECK-NEXT: if (iw >= 0 && iw < 6 && conv_w[f * 3 + c * 3 + kw] != 0) acc += x0[c * 6 + iw] * conv_w[f * 3 + c * 3 + kw];
// CHECK: y0[f * 2 + ow] = acc;

// CHECK-LABEL: void maxpool(const conv_result_t x0[4], maxpool_result_t y0[4]) {
// CHECK: const int iw = ow + kw - 1;
// CHECK-NEXT: if (iw >= 0 && iw < 2) if (!seen || x0[c * 2 + iw] > m) { m = x0[c * 2 + iw]; seen = true; }
// CHECK: y0[c * 2 + ow] = m;

// CHECK-LABEL: void gap(const maxpool_result_t x0[4], gap_result_t y0[2]) {
// CHECK: gap_accum_t acc = 0;
// CHECK: acc += x0[c * 2 + iw];
// CHECK: acc /= (unsigned) 2;
// CHECK-NEXT: y0[c + ow] = acc;

!q = !fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">
!a = !fxp.fixed<1 : i32, 9 : i32, 10 : i32, "TRN", "WRAP">
!p = !fxp.fixed<1 : i32, 4 : i32, 7 : i32, "TRN", "WRAP">
func.func @cnn(%x: tensor<1x1x6x!q>) -> tensor<1x2x1x!q> {
  %w = "fxp.constant"() {value = dense<[[[1, -2, 3]], [[0, 5, -1]]]> : tensor<2x1x3xi64>} : () -> tensor<2x1x3x!q>
  %b = "fxp.constant"() {value = dense<[4, -4]> : tensor<2xi64>} : () -> tensor<2x!q>
  %c = "fxp.conv"(%x, %w, %b) {strides = array<i64: 2>, dilations = array<i64: 2>, padding = array<i64: 1, 1>, groups = 1 : i64, accum = !a} : (tensor<1x1x6x!q>, tensor<2x1x3x!q>, tensor<2x!q>) -> tensor<1x2x2x!q> loc("conv")
  %m = "fxp.pool"(%c) {kind = "max", kernel = array<i64: 2>, strides = array<i64: 1>, padding = array<i64: 1, 0>, accum = !q} : (tensor<1x2x2x!q>) -> tensor<1x2x2x!q> loc("maxpool")
  %g = "fxp.pool"(%m) {kind = "avg", kernel = array<i64: 2>, strides = array<i64: 1>, padding = array<i64: 0, 0>, accum = !p} : (tensor<1x2x2x!q>) -> tensor<1x2x1x!q> loc("gap")
  return %g : tensor<1x2x1x!q>
}
