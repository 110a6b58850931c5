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
