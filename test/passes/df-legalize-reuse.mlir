// RUN: fxflow-opt --df-legalize-reuse %s 2>%t.err | filecheck %s
// RUN: filecheck %s --check-prefix=WARN < %t.err
// RUN: sed -e 's/reuse_factor = 3 : i64/reuse_factor = 7 : i64/' %s | not fxflow-opt --df-legalize-reuse 2>&1 | filecheck %s --check-prefix=ERR

!t = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
!w = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
"df.graph"() ({
^bb0(%x: tensor<1x2x!t>):
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<1x2x!t>):
    %w = "fxp.constant"() {value = dense<[[1, -2], [4, 5]]> : tensor<2x2xi64>} : () -> tensor<2x2x!w>
    %b = "fxp.constant"() {value = dense<[5, -7]> : tensor<2xi64>} : () -> tensor<2x!w>
    %y = "fxp.dense"(%a, %w, %b) {accum = !fxp.fixed<1 : i32, 9 : i32, 16 : i32, "TRN", "WRAP">} : (tensor<1x2x!t>, tensor<2x2x!w>, tensor<2x!w>) -> tensor<1x2x!t>
    "df.yield"(%y) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x2x!t>) -> ()
  }) {sym_name = "fc1", layer = "fc1", reuse_factor = 3 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x2x!t>) -> tensor<1x2x!t>
  %1 = "df.kernel"(%0) ({
  ^bb0(%a: tensor<1x2x!t>):
    %y = "fxp.relu"(%a) : (tensor<1x2x!t>) -> tensor<1x2x!t>
    "df.yield"(%y) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x2x!t>) -> ()
  }) {sym_name = "act", layer = "act", reuse_factor = 4 : i64, strategy = "latency", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x2x!t>) -> tensor<1x2x!t>
  "df.return"(%1) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x2x!t>) -> ()
}) {sym_name = "top", io_type = "io_parallel"} : () -> ()

// 3 does not divide the 4 multiplications of fc1: rounded to 4 (nearest divisor, larger on ties);
// the element-wise kernel does no multiplications and gets 1.
// CHECK: layer = "fc1"{{.*}}reuse_factor = 4 : i64
// CHECK: layer = "act"{{.*}}reuse_factor = 1 : i64
// WARN: reuse_factor 3 of layer 'fc1' does not divide its 4 multiplications; using 4
// ERR: reuse_factor 7 of layer 'fc1' is outside [1, 4] (the layer does 4 multiplications)
