// RUN: fxflow-translate --emit-hls-cpp %s | filecheck %s
// RUN: fxflow-opt --df-size-fifos %s | fxflow-translate --emit-hls-cpp | filecheck %s --check-prefix=SIZED

// io_stream: a 2-D conv (3x3, padding 1, strides [1, 2]) streamed into a ReLU.  Pixel streams carry one
// position's channels per token (tokens = 4 x 5 = 20 in, 4 x 3 = 12 out); the conv keeps the last 3 input
// rows in a line buffer and writes an output pixel when the padded walk reaches the bottom-right corner of
// its window; the top is a DATAFLOW region whose stream depth is the df.channel's.

!t = !fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">
!acc = !fxp.fixed<1 : i32, 5 : i32, 8 : i32, "TRN", "WRAP">

// CHECK-LABEL: // ===== firmware/defines.h =====
// CHECK:       #include "hls_stream.h"
// CHECK:       struct fxflow_array {
// CHECK-NEXT:      T data[N];

// CHECK-LABEL: // ===== firmware/layers/conv.cpp =====
// CHECK:       void conv(hls::stream<fxflow_array<input_t, 2> > &x0_s, hls::stream<fxflow_array<conv_result_t, 3> > &y0_s) {
// CHECK-NEXT:      // io_stream kernel (window): x0 20 token(s) of 2, y0 12 token(s) of 3
// CHECK:           // line buffer: the last 3 of 4 input rows x 2 channels
// CHECK-NEXT:      input_t lb0[30];
// CHECK-NEXT:      for (int ph = 0; ph < 6; ph++) {
// CHECK-NEXT:          for (int pw = 0; pw < 7; pw++) {
// CHECK-NEXT:              #pragma HLS PIPELINE II=1
// CHECK-NEXT:              const int rh = ph - 1;
// CHECK-NEXT:              const int rw = pw - 1;
// CHECK-NEXT:              if (rh >= 0 && rh < 4 && rw >= 0 && rw < 5) {
// CHECK-NEXT:                  const fxflow_array<input_t, 2> tok = x0_s.read();
// CHECK-NEXT:                  for (int c = 0; c < 2; c++) lb0[((rh % 3) * 5 + rw) * 2 + c] = tok[c];
// CHECK-NEXT:              }
// CHECK-NEXT:              const int qh = ph - 2;
// CHECK-NEXT:              const int qw = pw - 2;
// CHECK-NEXT:              if (qh >= 0 && qw >= 0 && qw % 2 == 0) {
// CHECK-NEXT:                  const int oh = qh;
// CHECK-NEXT:                  const int ow = qw / 2;
// CHECK-NEXT:                  fxflow_array<conv_result_t, 3> y0;
// CHECK-NEXT:                  for (int f = 0; f < 3; f++) {
// CHECK:                           conv_accum_t acc = conv_b[f];
// CHECK:                           const int ih = oh + kh - 1;
// CHECK:                           const int iw = ow * 2 + kw - 1;
// CHECK-NEXT:                      if (ih >= 0 && ih < 4 && iw >= 0 && iw < 5 && conv_w[f * 18 + c * 9 + kh * 3 + kw] != 0) acc += lb0[((ih % 3) * 5 + iw) * 2 + c] * conv_w[f * 18 + c * 9 + kh * 3 + kw];
// CHECK:                       y0[f] = acc;
// CHECK-NEXT:              }
// CHECK-NEXT:              y0_s.write(y0);

// The ReLU works per token: the io_parallel printer on the 3 channels of one position.
// CHECK-LABEL: // ===== firmware/layers/act.cpp =====
// CHECK:       for (int t = 0; t < 12; t++) {
// CHECK-NEXT:      #pragma HLS PIPELINE II=1
// CHECK-NEXT:      fxflow_array<conv_result_t, 3> x0 = x0_s.read();
// CHECK-NEXT:      fxflow_array<act_result_t, 3> y0;
// CHECK-NEXT:      // fxp.relu: max(x, 0)
// CHECK-NEXT:      for (int i = 0; i < 3; i++) {
// CHECK:           y0_s.write(y0);

// CHECK-LABEL: // ===== firmware/streamconv.cpp =====
// CHECK:       void streamconv(hls::stream<fxflow_array<input_t, 2> > &in, hls::stream<fxflow_array<result_t, 3> > &out) {
// CHECK-NEXT:      #pragma HLS INTERFACE mode=axis port=in
// CHECK-NEXT:      #pragma HLS INTERFACE mode=axis port=out
// CHECK-NEXT:      #pragma HLS DATAFLOW
// CHECK-NEXT:      hls::stream<fxflow_array<conv_result_t, 3> > conv_out("conv_out");
// CHECK-NEXT:      #pragma HLS STREAM variable=conv_out depth=5
// CHECK-NEXT:      conv(in, conv_out);
// CHECK-NEXT:      act(conv_out, out);
// CHECK-NEXT:  }

// The testbench streams the channels-first input in pixel order and reorders the output back.
// CHECK-LABEL: // ===== streamconv_test.cpp =====
// CHECK:       for (int c = 0; c < 2; c++) tok[c] = in[c * 20 + t];
// CHECK:       streamconv(in_stream, out_stream);
// CHECK:       for (int c = 0; c < 3; c++) out[c * 12 + t] = tok[c];

// df-size-fifos rewrites the depth; the pragma follows the IR.
// SIZED-LABEL: // ===== firmware/streamconv.cpp =====
// SIZED:       #pragma HLS STREAM variable=conv_out depth=2

"df.graph"() ({
^bb0(%arg0: tensor<1x2x4x5x!t>):
  %0 = "df.kernel"(%arg0) ({
  ^bb0(%arg2: tensor<1x2x4x5x!t>):
    %5 = "fxp.constant"() {value = dense<[[[[-1, 4, -7], [-6, -3, 2], [-1, 5, -1]], [[1, -3, -2], [-8, -5, -4], [0, 2, 4]]], [[[-6, -4, 2], [6, -2, 5], [-2, 0, 6]], [[-7, -5, -2], [-3, 6, -5], [-4, -6, -8]]], [[[-5, 6, 3], [3, 0, -4], [1, -8, -6]], [[-4, 4, 4], [-4, -1, 4], [7, 2, 1]]]]> : tensor<3x2x3x3xi64>} : () -> tensor<3x2x3x3x!t>
    %6 = "fxp.constant"() {value = dense<[5, -5, 1]> : tensor<3xi64>} : () -> tensor<3x!t>
    %7 = "fxp.conv"(%arg2, %5, %6) {accum = !acc, dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 2>} : (tensor<1x2x4x5x!t>, tensor<3x2x3x3x!t>, tensor<3x!t>) -> tensor<1x3x4x3x!t>
    "df.yield"(%7) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x4x3x!t>) -> ()
  }) {layer = "conv", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>, reuse_factor = 1 : i64, strategy = "latency", sym_name = "conv"} : (tensor<1x2x4x5x!t>) -> tensor<1x3x4x3x!t>
  %1 = "df.channel"(%0) {depth = 5 : i64, kind = "stream", tokens = 12 : i64} : (tensor<1x3x4x3x!t>) -> tensor<1x3x4x3x!t>
  %2 = "df.kernel"(%1) ({
  ^bb0(%arg1: tensor<1x3x4x3x!t>):
    %4 = "fxp.relu"(%arg1) : (tensor<1x3x4x3x!t>) -> tensor<1x3x4x3x!t>
    "df.yield"(%4) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x4x3x!t>) -> ()
  }) {layer = "act", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>, reuse_factor = 1 : i64, strategy = "latency", sym_name = "act"} : (tensor<1x3x4x3x!t>) -> tensor<1x3x4x3x!t>
  %3 = "df.channel"(%2) {depth = 2 : i64, kind = "stream", tokens = 12 : i64} : (tensor<1x3x4x3x!t>) -> tensor<1x3x4x3x!t>
  "df.return"(%3) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x4x3x!t>) -> ()
}) {io_type = "io_stream", sym_name = "streamconv"} : () -> ()
