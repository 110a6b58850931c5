// RUN: not fxflow-translate --emit-hls-cpp --split-input-file %s 2>&1 | filecheck %s
// Anything the HLS emitter cannot print is an error naming the op and the kernel (and its layer).

// CHECK: HLS emitter: unsupported op 'arith.constant' (supported: {{.*}}fxp.conv{{.*}}): 'arith.constant' in kernel 'odd_one' (layer 'seq.3')
"df.graph"() ({
^bb0(%x: tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>):
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>):
    %c = "arith.constant"() {value = dense<1.0> : tensor<1x3xf32>} : () -> tensor<1x3xf32>
    %y = "fxp.cast"(%c) : (tensor<1x3xf32>) -> tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>
    "df.yield"(%y) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>) -> ()
  }) {sym_name = "odd one", layer = "seq.3", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>) -> tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>) -> ()
}) {sym_name = "p", io_type = "io_parallel"} : () -> ()

// -----

// CHECK: HLS emitter: result of 'fxp.cast' in kernel 'act' (layer 'act') is a float tensor (tensor<1x3xf32>); run fxp-assign-precision (all tensors fixed-point) before emitting HLS
"df.graph"() ({
^bb0(%x: tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>):
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>):
    %f = "fxp.cast"(%a) : (tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>) -> tensor<1x3xf32>
    %r = "fxp.relu"(%f) : (tensor<1x3xf32>) -> tensor<1x3xf32>
    %y = "fxp.cast"(%r) : (tensor<1x3xf32>) -> tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>
    "df.yield"(%y) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>) -> ()
  }) {sym_name = "act", layer = "act", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>) -> tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>) -> ()
}) {sym_name = "p", io_type = "io_parallel"} : () -> ()

// -----

// CHECK: HLS emitter: the module must hold exactly one df.graph, found 0
module {}
