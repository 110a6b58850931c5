// RUN: fxflow-translate --emit-hls-cpp --split-input-file %s | filecheck %s
// Pragmas per reuse factor and strategy; the C code (k-major accumulation per n) is the same in all.
// K = 3, N = 4: 12 products.

// Latency, RF = 4: II = 4, ceil(12/4) = 3 multipliers, weights cyclic by 3, same unrolled loops.
// CHECK-LABEL: // ===== firmware/layers/fc1.cpp =====
// CHECK:       // kernel fc1 (layer 'fc1'): reuse_factor=4, strategy=latency
// CHECK:       void fc1(const input_t x0[3], fc1_result_t y0[4]) {
// CHECK-NEXT:      #pragma HLS PIPELINE II=4
// CHECK-NEXT:      #pragma HLS ALLOCATION operation instances=mul limit=3
// CHECK:           fc1_accum_t acc0[4];
// CHECK:           #pragma HLS ARRAY_PARTITION variable=fc1_w cyclic factor=3 dim=1
// CHECK:                   acc0[n] += x0[k] * fc1_w[k * 4 + n];
// CHECK-LABEL: // ===== firmware/lat_rf4.cpp =====
// CHECK:           #pragma HLS PIPELINE II=4
// CHECK-NEXT:      fc1_result_t fc1_out[4];

// Resource, RF = 5: P = ceil(12/5) = 3 products per step, 4 steps cover 12 exactly; weights in a
// BRAM ROM, one word (3 weights) per step; no function-level pipeline, DATAFLOW at the top.
// CHECK-LABEL: // ===== firmware/layers/fc1.cpp =====
// CHECK:       // kernel fc1 (layer 'fc1'): reuse_factor=5, strategy=resource
// CHECK:       void fc1(const input_t x0[3], fc1_result_t y0[4]) {
// CHECK-NOT:       PIPELINE
// CHECK:           #pragma HLS ARRAY_RESHAPE variable=fc1_w cyclic factor=3 dim=1
// CHECK-NEXT:      #pragma HLS BIND_STORAGE variable=fc1_w type=rom_2p impl=bram
// CHECK:           for (int r = 0; r < 4; r++) {
// CHECK-NEXT:          #pragma HLS PIPELINE II=1
// CHECK-NEXT:          for (int j = 0; j < 3; j++) {
// CHECK-NEXT:              #pragma HLS UNROLL
// CHECK-NEXT:              const int t = r * 3 + j;
// CHECK-NEXT:              acc0[t % 4] += x0[t / 4] * fc1_w[t];
// CHECK-LABEL: // ===== firmware/res_rf5.cpp =====
// CHECK:           #pragma HLS DATAFLOW

// Resource, RF = 3 with K*N = 12 -> P = 4, 3 steps.
// CHECK-LABEL: // ===== firmware/layers/fc1.cpp =====
// CHECK:       // kernel fc1 (layer 'fc1'): reuse_factor=3, strategy=resource
// CHECK:           #pragma HLS ARRAY_RESHAPE variable=fc1_w cyclic factor=4 dim=1
// CHECK:           for (int r = 0; r < 3; r++) {
// CHECK:                  const int t = r * 4 + j;

// io_stream: DATAFLOW top, the stream channel is a ping-pong buffer with the df.channel's depth.
// CHECK-LABEL: // ===== firmware/stream.cpp =====
// CHECK:       // stream.cpp: kernels connected as in the df.graph (io_stream).
// CHECK:           #pragma HLS DATAFLOW
// CHECK-NEXT:      fc1_result_t fc1_out[4];
// CHECK-NEXT:      #pragma HLS ARRAY_PARTITION variable=fc1_out complete dim=0
// CHECK-NEXT:      // df.channel kind=stream depth=2
// CHECK-NEXT:      #pragma HLS STREAM variable=fc1_out type=pipo depth=2
// CHECK-NEXT:      fc1(in, fc1_out);

"df.graph"() ({
^bb0(%x0: tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>):
  %v0 = "df.kernel"(%x0) ({
  ^bb0(%a0: tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>):
    %t0 = "fxp.constant"() {value = dense<[[-5, -4, -3, -2], [-1, 0, 1, 2], [3, 4, 5, 6]]> : tensor<3x4xi64>} : () -> tensor<3x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
    %t1 = "fxp.constant"() {value = dense<[1, 2, 3, 4]> : tensor<4xi64>} : () -> tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
    %t2 = "fxp.dense"(%a0, %t0, %t1) {accum = !fxp.fixed<1 : i32, 9 : i32, 16 : i32, "TRN", "SAT">} : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>, tensor<3x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>) -> tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
    "df.yield"(%t2) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> ()
  }) {sym_name = "fc1", layer = "fc1", reuse_factor = 4 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>)
  %v1 = "df.channel"(%v0) {kind = "array", depth = 2 : i64} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
  %v2 = "df.kernel"(%v1) ({
  ^bb0(%a0: tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>):
    %t0 = "fxp.relu"(%a0) : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>
    "df.yield"(%t0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> ()
  }) {sym_name = "act", layer = "act", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>)
  "df.return"(%v2) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> ()
}) {sym_name = "lat_rf4", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x0: tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>):
  %v0 = "df.kernel"(%x0) ({
  ^bb0(%a0: tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>):
    %t0 = "fxp.constant"() {value = dense<[[-5, -4, -3, -2], [-1, 0, 1, 2], [3, 4, 5, 6]]> : tensor<3x4xi64>} : () -> tensor<3x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
    %t1 = "fxp.constant"() {value = dense<[1, 2, 3, 4]> : tensor<4xi64>} : () -> tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
    %t2 = "fxp.dense"(%a0, %t0, %t1) {accum = !fxp.fixed<1 : i32, 9 : i32, 16 : i32, "TRN", "SAT">} : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>, tensor<3x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>) -> tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
    "df.yield"(%t2) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> ()
  }) {sym_name = "fc1", layer = "fc1", reuse_factor = 5 : i64, strategy = "resource", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>)
  %v1 = "df.channel"(%v0) {kind = "array", depth = 2 : i64} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
  %v2 = "df.kernel"(%v1) ({
  ^bb0(%a0: tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>):
    %t0 = "fxp.relu"(%a0) : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>
    "df.yield"(%t0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> ()
  }) {sym_name = "act", layer = "act", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>)
  "df.return"(%v2) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> ()
}) {sym_name = "res_rf5", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x0: tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>):
  %v0 = "df.kernel"(%x0) ({
  ^bb0(%a0: tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>):
    %t0 = "fxp.constant"() {value = dense<[[-5, -4, -3, -2], [-1, 0, 1, 2], [3, 4, 5, 6]]> : tensor<3x4xi64>} : () -> tensor<3x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
    %t1 = "fxp.constant"() {value = dense<[1, 2, 3, 4]> : tensor<4xi64>} : () -> tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
    %t2 = "fxp.dense"(%a0, %t0, %t1) {accum = !fxp.fixed<1 : i32, 9 : i32, 16 : i32, "TRN", "SAT">} : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>, tensor<3x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>) -> tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
    "df.yield"(%t2) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> ()
  }) {sym_name = "fc1", layer = "fc1", reuse_factor = 3 : i64, strategy = "resource", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>)
  %v1 = "df.channel"(%v0) {kind = "array", depth = 2 : i64} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
  %v2 = "df.kernel"(%v1) ({
  ^bb0(%a0: tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>):
    %t0 = "fxp.relu"(%a0) : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>
    "df.yield"(%t0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> ()
  }) {sym_name = "act", layer = "act", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>)
  "df.return"(%v2) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> ()
}) {sym_name = "res_rf3", io_type = "io_parallel"} : () -> ()

// -----

"df.graph"() ({
^bb0(%x0: tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>):
  %v0 = "df.kernel"(%x0) ({
  ^bb0(%a0: tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>):
    %t0 = "fxp.constant"() {value = dense<[[-5, -4, -3, -2], [-1, 0, 1, 2], [3, 4, 5, 6]]> : tensor<3x4xi64>} : () -> tensor<3x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
    %t1 = "fxp.constant"() {value = dense<[1, 2, 3, 4]> : tensor<4xi64>} : () -> tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
    %t2 = "fxp.dense"(%a0, %t0, %t1) {accum = !fxp.fixed<1 : i32, 9 : i32, 16 : i32, "TRN", "SAT">} : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>, tensor<3x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>) -> tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
    "df.yield"(%t2) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> ()
  }) {sym_name = "fc1", layer = "fc1", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>)
  %v1 = "df.channel"(%v0) {kind = "stream", depth = 2 : i64} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
  %v2 = "df.kernel"(%v1) ({
  ^bb0(%a0: tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>):
    %t0 = "fxp.relu"(%a0) : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>
    "df.yield"(%t0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> ()
  }) {sym_name = "act", layer = "act", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>)
  "df.return"(%v2) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> ()
}) {sym_name = "stream", io_type = "io_stream"} : () -> ()
