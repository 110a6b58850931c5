// RUN: fxflow-opt --pass-pipeline='builtin.module(df-size-fifos{report=true})' %s 2>%t.err | filecheck %s
// RUN: filecheck %s --check-prefix=REPORT < %t.err
// RUN: not fxflow-opt --pass-pipeline='builtin.module(df-size-fifos{override=a->c=2})' %s 2>&1 | filecheck %s --check-prefix=DEADLOCK
// RUN: fxflow-opt --pass-pipeline='builtin.module(df-size-fifos{override=a->c=6})' %s | filecheck %s --check-prefix=BIG
// RUN: not fxflow-opt --pass-pipeline='builtin.module(df-size-fifos{override=nosuch=2})' %s 2>&1 | filecheck %s --check-prefix=BADNAME
// RUN: not fxflow-opt --pass-pipeline='builtin.module(df-size-fifos{max-cycles=5})' %s 2>&1 | filecheck %s --check-prefix=BUDGET
// RUN: fxflow-opt --df-size-fifos %s | fxflow-translate --emit-hls-cpp | filecheck %s --check-prefix=HLS

// A fork that reconverges: kernel a streams 4 tokens per sample to b (which needs all 4 before it
// writes its single token) and to c, which reads its two inputs in lockstep.  c cannot take a's
// first token before b's result exists, so the a->c FIFO must hold a whole sample (4 tokens) or the
// graph deadlocks; a->b and b->c never back up.

!t = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
!w = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
"df.graph"() ({
^bb0(%x: tensor<1x4x!t>):
  %a = "df.kernel"(%x) ({
  ^bb0(%i: tensor<1x4x!t>):
    %r = "fxp.relu"(%i) : (tensor<1x4x!t>) -> tensor<1x4x!t>
    "df.yield"(%r) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!t>) -> ()
  }) {sym_name = "a", layer = "a", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!t>) -> tensor<1x4x!t>
  %ab = "df.channel"(%a) {kind = "stream", depth = 64 : i64, tokens = 4 : i64} : (tensor<1x4x!t>) -> tensor<1x4x!t>
  %ac = "df.channel"(%a) {kind = "stream", depth = 64 : i64, tokens = 4 : i64} : (tensor<1x4x!t>) -> tensor<1x4x!t>
  %b = "df.kernel"(%ab) ({
  ^bb0(%i: tensor<1x4x!t>):
    %w = "fxp.constant"() {value = dense<[[64, 0, 0, 0], [0, 64, 0, 0], [0, 0, 64, 0], [0, 0, 0, 64]]> : tensor<4x4xi64>} : () -> tensor<4x4x!w>
    %bias = "fxp.constant"() {value = dense<[1, 2, 3, 4]> : tensor<4xi64>} : () -> tensor<4x!w>
    %y = "fxp.dense"(%i, %w, %bias) {accum = !fxp.fixed<1 : i32, 9 : i32, 16 : i32, "TRN", "WRAP">} : (tensor<1x4x!t>, tensor<4x4x!w>, tensor<4x!w>) -> tensor<1x4x!t>
    "df.yield"(%y) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!t>) -> ()
  }) {sym_name = "b", layer = "b", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!t>) -> tensor<1x4x!t>
  %bc = "df.channel"(%b) {kind = "stream", depth = 64 : i64, tokens = 1 : i64} : (tensor<1x4x!t>) -> tensor<1x4x!t>
  %c = "df.kernel"(%ac, %bc) ({
  ^bb0(%p: tensor<1x4x!t>, %q: tensor<1x4x!t>):
    %s = "fxp.add"(%p, %q) : (tensor<1x4x!t>, tensor<1x4x!t>) -> tensor<1x4x!t>
    "df.yield"(%s) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!t>) -> ()
  }) {sym_name = "c", layer = "c", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 2, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!t>, tensor<1x4x!t>) -> tensor<1x4x!t>
  %out = "df.channel"(%c) {kind = "stream", depth = 64 : i64} : (tensor<1x4x!t>) -> tensor<1x4x!t>
  "df.return"(%out) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!t>) -> ()
}) {sym_name = "diamond", io_type = "io_stream"} : () -> ()

// Sized so that every sample leaves when it would with unbounded FIFOs: a->c holds a whole sample
// plus the tokens a writes while b computes; the others never hold more than one or two tokens.
// CHECK-LABEL: "df.graph"
// CHECK: "df.channel"(%0) {depth = 2 : i64, kind = "stream", tokens = 4 : i64}
// CHECK: "df.channel"(%0) {depth = 7 : i64, kind = "stream", tokens = 4 : i64}
// CHECK: "df.channel"(%{{.*}}) {depth = 1 : i64, kind = "stream", tokens = 1 : i64}
// CHECK: "df.channel"(%{{.*}}) {depth = 1 : i64, kind = "stream"}
// CHECK: fxflow.fifo_bits = 272 : i64, fxflow.fifo_bits_naive = 1120 : i64

// REPORT: df-size-fifos: a->b: depth 2 x 16 bits
// REPORT: df-size-fifos: a->c: depth 7 x 16 bits
// REPORT: df-size-fifos: b->c: depth 1 x 64 bits
// REPORT: df-size-fifos: c->return: depth 1 x 64 bits
// REPORT: df-size-fifos: 272 FIFO bits, 848 fewer than depth 7 everywhere (1120 bits)

// DEADLOCK: error: df-size-fifos: deadlock at cycle 4: kernel 'a' cannot write to the full channel 'a->c' (depth 2)

// An override that does not deadlock is kept; the rest is sized around it.
// BIG: "df.channel"(%0) {depth = 2 : i64, kind = "stream", tokens = 4 : i64}
// BIG: "df.channel"(%0) {depth = 6 : i64, kind = "stream", tokens = 4 : i64}

// BADNAME: error: df-size-fifos: override names channel 'nosuch', which matches 0 channels; channels: a->b, a->c, b->c, c->return
// BUDGET: error: df-size-fifos: the simulation hit its cycle budget of 5 cycles before 8 samples left the graph (raise max-cycles)

// The emitted DATAFLOW region carries the sized depth (a's buffer feeds both FIFOs: the larger one).
// HLS-LABEL: // ===== firmware/diamond.cpp =====
// HLS:       a_result_t a_out[4];
// HLS:       // df.channel kind=stream depth=7
// HLS-NEXT:  #pragma HLS STREAM variable=a_out type=pipo depth=7
// HLS:       b_result_t b_out[4];
// HLS:       // df.channel kind=stream depth=1
// HLS-NEXT:  #pragma HLS STREAM variable=b_out type=pipo depth=1
