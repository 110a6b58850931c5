// RUN: fxflow-opt %s | fxflow-opt | filecheck %s
// RUN: fxflow-opt %s --split-input-file --canonicalize --cse | filecheck %s --check-prefix=CANON
// Every df op (graph, kernel, channel, yield, return) survives print -> parse -> print in generic form.

!in = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
!w = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
!acc = !fxp.fixed<1 : i32, 9 : i32, 16 : i32, "TRN", "WRAP">
!out = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">

// CHECK: "df.graph"() ({
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>):
// CHECK-NEXT: %[[K0:.*]] = "df.kernel"(%[[X]]) ({
// CHECK-NEXT: ^bb0(%[[A:.*]]: tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>):
// CHECK-NEXT: %[[W:.*]] = "fxp.constant"()
// CHECK-NEXT: %[[B:.*]] = "fxp.constant"()
// CHECK-NEXT: %[[Y:.*]] = "fxp.dense"(%[[A]], %[[W]], %[[B]])
// CHECK-NEXT: "df.yield"(%[[Y]]) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> ()
// CHECK-NEXT: }) {layer = "fc1", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>, reuse_factor = 4 : i64, strategy = "resource", sym_name = "fc1"} : (tensor<1x4x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>) -> tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
// CHECK-NEXT: %[[C0:.*]] = "df.channel"(%[[K0]]) {depth = 16 : i64, kind = "stream"} : (tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>) -> tensor<1x3x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "RND", "SAT">>
// CHECK-NEXT: %[[K1:.*]]:2 = "df.kernel"(%[[C0]], %[[C0]]) ({
// CHECK-NEXT: ^bb0(%[[P:.*]]: tensor<1x3x{{.*}}>, %[[Q:.*]]: tensor<1x3x{{.*}}>):
// CHECK-NEXT: %[[R:.*]] = "fxp.relu"(%[[P]])
// CHECK-NEXT: %[[S:.*]] = "fxp.add"(%[[R]], %[[Q]])
// CHECK-NEXT: "df.yield"(%[[R]], %[[S]]) {operandSegmentSizes = array<i32: 2, 0, 0, 0>}
// CHECK-NEXT: }) {layer = "act", operandSegmentSizes = array<i32: 2, 0, 0, 0>, placement = "pl", resultSegmentSizes = array<i32: 2, 0, 0, 0>, reuse_factor = 1 : i64, strategy = "latency", sym_name = "act"}
// CHECK-NEXT: %[[C1:.*]] = "df.channel"(%[[K1]]#1) {depth = 1 : i64, kind = "array"}
// CHECK-NEXT: "df.return"(%[[K1]]#0, %[[C1]]) {operandSegmentSizes = array<i32: 2, 0, 0, 0>}
// CHECK-NEXT: }) {io_type = "io_stream", sym_name = "myproject"} : () -> ()
"df.graph"() ({
^bb0(%x: tensor<1x4x!in>):
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<1x4x!in>):
    %w = "fxp.constant"() {value = dense<[[1, -2, 3], [4, 5, -6], [7, 8, 9], [-10, 11, 12]]> : tensor<4x3xi64>} : () -> tensor<4x3x!w>
    %b = "fxp.constant"() {value = dense<[5, -7, 0]> : tensor<3xi64>} : () -> tensor<3x!w>
    %y = "fxp.dense"(%a, %w, %b) {accum = !acc} : (tensor<1x4x!in>, tensor<4x3x!w>, tensor<3x!w>) -> tensor<1x3x!out>
    "df.yield"(%y) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x3x!out>) -> ()
  }) {sym_name = "fc1", layer = "fc1", reuse_factor = 4 : i64, strategy = "resource", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!in>) -> tensor<1x3x!out>
  %1 = "df.channel"(%0) {kind = "stream", depth = 16 : i64} : (tensor<1x3x!out>) -> tensor<1x3x!out>
  %2:2 = "df.kernel"(%1, %1) ({
  ^bb0(%p: tensor<1x3x!out>, %q: tensor<1x3x!out>):
    %r = "fxp.relu"(%p) : (tensor<1x3x!out>) -> tensor<1x3x!out>
    %s = "fxp.add"(%r, %q) : (tensor<1x3x!out>, tensor<1x3x!out>) -> tensor<1x3x!out>
    "df.yield"(%r, %s) {operandSegmentSizes = array<i32: 2, 0, 0, 0>} : (tensor<1x3x!out>, tensor<1x3x!out>) -> ()
  }) {sym_name = "act", layer = "act", reuse_factor = 1 : i64, strategy = "latency", placement = "pl", operandSegmentSizes = array<i32: 2, 0, 0, 0>, resultSegmentSizes = array<i32: 2, 0, 0, 0>} : (tensor<1x3x!out>, tensor<1x3x!out>) -> (tensor<1x3x!out>, tensor<1x3x!out>)
  %3 = "df.channel"(%2#1) {kind = "array", depth = 1 : i64} : (tensor<1x3x!out>) -> tensor<1x3x!out>
  "df.return"(%2#0, %3) {operandSegmentSizes = array<i32: 2, 0, 0, 0>} : (tensor<1x3x!out>, tensor<1x3x!out>) -> ()
}) {sym_name = "myproject", io_type = "io_stream"} : () -> ()

// CANON: "df.graph"
// CANON: "df.kernel"
// CANON: "df.channel"
// CANON: "df.kernel"
// CANON: "df.channel"
// CANON: "df.return"

// -----

// A kernel without inputs (a constant source) and a graph without inputs or outputs: the variadic segments
// are empty.
// CHECK: "df.graph"() ({
// CHECK-NEXT: %[[K:.*]] = "df.kernel"() ({
// CHECK-NEXT: %[[C:.*]] = "fxp.constant"() {value = dense<1.000000e+00> : tensor<2xf32>} : () -> tensor<2xf32>
// CHECK-NEXT: "df.yield"(%[[C]]) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
// CHECK-NEXT: }) {layer = "", operandSegmentSizes = array<i32: 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>, reuse_factor = 1 : i64, strategy = "latency", sym_name = "source"} : () -> tensor<2xf32>
// CHECK-NEXT: "df.return"() {operandSegmentSizes = array<i32: 0, 0, 0, 0>} : () -> ()
// CHECK-NEXT: }) {io_type = "io_parallel", sym_name = "empty"} : () -> ()
// CANON-LABEL: sym_name = "empty"
"df.graph"() ({
  %0 = "df.kernel"() ({
    %c = "fxp.constant"() {value = dense<1.0> : tensor<2xf32>} : () -> tensor<2xf32>
    "df.yield"(%c) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
  }) {sym_name = "source", layer = "", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : () -> tensor<2xf32>
  "df.return"() {operandSegmentSizes = array<i32: 0, 0, 0, 0>} : () -> ()
}) {sym_name = "empty", io_type = "io_parallel"} : () -> ()
