// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-df{top=my.design reuse-factor=2})' %s | filecheck %s

!in = !fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">
!w = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
!acc = !fxp.fixed<1 : i32, 9 : i32, 16 : i32, "TRN", "WRAP">
func.func @main(%x: tensor<1x2xf32>) -> tensor<1x2x!in> {
  %xc = "fxp.cast"(%x) : (tensor<1x2xf32>) -> tensor<1x2x!in> loc("input")
  %w = "fxp.constant"() {value = dense<[[1, -2], [4, 5]]> : tensor<2x2xi64>} : () -> tensor<2x2x!w>
  %b = "fxp.constant"() {value = dense<[5, -7]> : tensor<2xi64>} : () -> tensor<2x!w>
  %y = "fxp.dense"(%xc, %w, %b) {accum = !acc} : (tensor<1x2x!in>, tensor<2x2x!w>, tensor<2x!w>) -> tensor<1x2x!in> loc("encoder.0")
  %r = "fxp.relu"(%y) : (tensor<1x2x!in>) -> tensor<1x2x!in> loc("encoder.1")
  %s = "fxp.add"(%r, %y) : (tensor<1x2x!in>, tensor<1x2x!in>) -> tensor<1x2x!in> loc("add")
  return %s : tensor<1x2x!in>
}
// The boundary cast disappears (the graph argument carries the input format); one kernel per layer,
// named after the sanitized module path, with its constants inside; channels join the kernels.
// CHECK:      "df.graph"() ({
// CHECK-NEXT: ^bb0(%[[ARG:.*]]: tensor<1x2x!fxp.fixed<1 : i32, 5 : i32, 10 : i32, "TRN", "WRAP">>):
// CHECK:        %[[K0:.*]] = "df.kernel"(%[[ARG]]) ({
// CHECK:          "fxp.constant"
// CHECK:          "fxp.constant"
// CHECK:          "fxp.dense"
// CHECK:          "df.yield"
// CHECK:        }) {layer = "encoder.0", {{.*}}reuse_factor = 2 : i64, strategy = "latency", sym_name = "encoder_0"}
// CHECK:        %[[C0:.*]] = "df.channel"(%[[K0]]) {depth = 1 : i64, kind = "array"}
// CHECK:        %[[K1:.*]] = "df.kernel"(%[[C0]]) ({
// CHECK:          "fxp.relu"
// CHECK:        }) {layer = "encoder.1", {{.*}}sym_name = "encoder_1"}
// CHECK:        %[[C1:.*]] = "df.channel"(%[[K1]])
// CHECK:        %[[K2:.*]] = "df.kernel"(%[[C1]], %[[C0]]) ({
// CHECK:          "fxp.add"
// CHECK:        %[[C2:.*]] = "df.channel"(%[[K2]])
// CHECK:        "df.return"(%[[C2]])
// CHECK:      }) {io_type = "io_parallel", sym_name = "my_design"}
// CHECK-NOT:  func.func
