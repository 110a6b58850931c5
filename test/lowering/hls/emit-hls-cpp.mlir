// RUN: fxflow-translate --emit-hls-cpp %s | filecheck %s
// The df_example graph (dense + relu kernels, io_parallel, reuse factor 1): typedefs, the exact
// weights, the dense loop in k order, the top function and the testbench.

// CHECK-LABEL: // ===== firmware/defines.h =====
// CHECK:       #include <ap_fixed.h>
// CHECK:       // design inputs and outputs
// CHECK-NEXT:  typedef ap_fixed<16,6,AP_TRN,AP_WRAP> input_t;
// CHECK-NEXT:  typedef ap_ufixed<8,4,AP_TRN,AP_WRAP> result_t;
// CHECK:       // kernel fc1
// CHECK-NEXT:  typedef ap_fixed<16,6,AP_RND,AP_SAT> fc1_result_t;
// CHECK-NEXT:  typedef ap_fixed<8,2,AP_TRN,AP_WRAP> fc1_weight_t;
// CHECK-NEXT:  typedef ap_fixed<8,2,AP_TRN,AP_WRAP> fc1_bias_t;
// CHECK-NEXT:  typedef ap_fixed<26,10,AP_TRN,AP_WRAP> fc1_accum_t;
// CHECK:       // kernel act
// CHECK-NEXT:  typedef ap_ufixed<8,4,AP_TRN,AP_WRAP> act_result_t;

// CHECK-LABEL: // ===== firmware/parameters.h =====
// CHECK:       // kernel fc1 (layer 'fc1'): reuse_factor=1, strategy=latency
// CHECK-NEXT:  void fc1(const input_t x0[4], fc1_result_t y0[3]);
// CHECK:       void act(const fc1_result_t x0[3], act_result_t y0[3]);

// Stored integers [[1, -2, 3], [4, 5, -6], [7, 8, 9], [-10, 11, 12]] and [5, -7, 0] at f = 6, exactly:
// The C simulation reads them as stored integers at the storage width (signed char for 8 bits), unpacked
// once into the fixed-point array; HLS tools (__SYNTHESIS__) read the hex-float literals.
// CHECK-LABEL: // ===== firmware/weights/fc1_w.h =====
// CHECK:       #ifndef __SYNTHESIS__
// CHECK:       namespace fxflow { namespace fc1_w {
// CHECK-NEXT:  static const signed char bits[12] = {
// CHECK-NEXT:      1, -2, 3, 4, 5, -6, 7, 8, 9, -10, 11, 12,
// CHECK-NEXT:  };
// CHECK-NEXT:  static fc1_weight_t data[12];
// CHECK-NEXT:  static const bool ready = [] {
// CHECK-NEXT:      for (int i = 0; i < 12; i++) data[i].range(7, 0) = bits[i];
// CHECK:       static const fc1_weight_t (&fc1_w)[12] = fxflow::fc1_w::data;
// CHECK-NEXT:  #else
// CHECK:       static const fc1_weight_t fc1_w[12] = {
// CHECK-NEXT:      0x1p-6, -0x1p-5, 0x1.8p-5, 0x1p-4, 0x1.4p-4, -0x1.8p-4, 0x1.cp-4, 0x1p-3,
// CHECK-NEXT:      0x1.2p-3, -0x1.4p-3, 0x1.6p-3, 0x1.8p-3,
// CHECK-NEXT:  };
// CHECK-NEXT:  #endif
// CHECK-LABEL: // ===== firmware/weights/fc1_b.h =====
// CHECK:       static const fc1_bias_t fc1_b[3] = {
// CHECK-NEXT:      0x1.4p-4, -0x1.cp-4, 0x0p+0,

// CHECK-LABEL: // ===== firmware/layers/fc1.cpp =====
// CHECK:       #include "../weights/fc1_w.h"
// CHECK:       void fc1(const input_t x0[4], fc1_result_t y0[3]) {
// CHECK-NEXT:      #pragma HLS PIPELINE II=1
// CHECK-NEXT:      // fxp.dense [1x4] x [4x3] -> [1x3], accumulator ap_fixed<26,10>
// CHECK-NEXT:      fc1_accum_t acc0[3];
// CHECK-NEXT:      #pragma HLS ARRAY_PARTITION variable=acc0 complete dim=0
// CHECK-NEXT:      #pragma HLS ARRAY_PARTITION variable=fc1_b complete dim=0
// CHECK-NEXT:      #pragma HLS ARRAY_PARTITION variable=fc1_w complete dim=0
// CHECK-NOT:       ALLOCATION
// CHECK:               acc0[n] = fc1_b[n];
// CHECK:           for (int k = 0; k < 4; k++) {
// CHECK-NEXT:          #pragma HLS UNROLL
// CHECK-NEXT:          for (int n = 0; n < 3; n++) {
// CHECK-NEXT:              #pragma HLS UNROLL
// CHECK-NEXT:              acc0[n] += x0[k] * fc1_w[k * 3 + n];
// CHECK:               y0[n] = acc0[n];

// CHECK-LABEL: // ===== firmware/layers/act.cpp =====
// CHECK:           // fxp.relu: max(x, 0) -> ap_ufixed<8,4>
// CHECK:               if (x0[i] > 0) y0[i] = x0[i];
// CHECK-NEXT:          else y0[i] = 0;

// CHECK-LABEL: // ===== firmware/myproject.h =====
// CHECK:       void myproject(const input_t in[4], result_t out[3]);

// CHECK-LABEL: // ===== firmware/myproject.cpp =====
// CHECK:       void myproject(const input_t in[4], result_t out[3]) {
// CHECK-NEXT:      #pragma HLS INTERFACE mode=ap_vld port=in
// CHECK-NEXT:      #pragma HLS ARRAY_RESHAPE variable=in complete dim=0
// CHECK-NEXT:      #pragma HLS INTERFACE mode=ap_vld port=out
// CHECK-NEXT:      #pragma HLS ARRAY_PARTITION variable=out complete dim=0
// CHECK-NEXT:      #pragma HLS PIPELINE
// CHECK-NEXT:      fc1_result_t fc1_out[3];
// CHECK-NEXT:      #pragma HLS ARRAY_PARTITION variable=fc1_out complete dim=0
// CHECK-NEXT:      fc1(in, fc1_out);
// CHECK-NEXT:      act(fc1_out, out);
// CHECK-NEXT:  }

// CHECK-LABEL: // ===== myproject_test.cpp =====
// CHECK:       std::string stored_int(const ap_fixed_base<W, I, S, Q, O, N> &v) {
// CHECK:       input_t in[4];
// CHECK:       if (!read_values(p, in, 4) || !blank(p)) {
// CHECK:       myproject(in, out);
// CHECK:       for (int i = 0; i < 3; i++) got[i] = stored_int(out[i]);

"df.graph"() ({
^bb0(%x: tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>):
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>):
    %w = "fxp.constant"() {value = dense<[[1, -2, 3], [4, 5, -6], [7, 8, 9], [-10, 11, 12]]> : tensor<4x3xi64>} : () -> tensor<4x3x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
    %b = "fxp.constant"() {value = dense<[5, -7, 0]> : tensor<3xi64>} : () -> tensor<3x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
    %y = "fxp.dense"(%a, %w, %b) {accum = !fxp.fixed<1 : i32, 9 : i32, 16 : i32, "TRN", "WRAP">} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>, tensor<4x3x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, tensor<3x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>) -> tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
    "df.yield"(%y) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> ()
  }) {sym_name = "fc1", layer = "fc1", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
  %1 = "df.channel"(%0) {kind = "array", depth = 1 : i64} : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
  %2 = "df.kernel"(%1) ({
  ^bb0(%a: tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>):
    %y = "fxp.relu"(%a) : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<1x3x!fxp.fixed<0 : i32, 4 : i32, 4 : i32, "TRN", "WRAP">>
    "df.yield"(%y) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<0 : i32, 4 : i32, 4 : i32, "TRN", "WRAP">>) -> ()
  }) {sym_name = "act", layer = "act", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<1x3x!fxp.fixed<0 : i32, 4 : i32, 4 : i32, "TRN", "WRAP">>
  "df.return"(%2) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<0 : i32, 4 : i32, 4 : i32, "TRN", "WRAP">>) -> ()
}) {sym_name = "myproject", io_type = "io_parallel"} : () -> ()
