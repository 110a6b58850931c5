"df.graph"() ({
^bb0(%x: tensor<1x4x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>):
  %0 = "df.kernel"(%x) ({
  ^bb0(%a: tensor<1x4x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>):
    %w = "fxp.constant"() {value = dense<[[31, -20], [-64, 5], [17, 63], [-3, 40]]> : tensor<4x2xi64>} : () -> tensor<4x2x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
    %b = "fxp.constant"() {value = dense<[9, -33]> : tensor<2xi64>} : () -> tensor<2x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
    %y = "fxp.dense"(%a, %w, %b) {accum = !fxp.fixed<1 : i32, 3 : i32, 8 : i32, "TRN", "SAT">} : (tensor<1x4x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>, tensor<4x2x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, tensor<2x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>) -> tensor<1x2x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND_CONV", "SAT_SYM">>
    "df.yield"(%y) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x2x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND_CONV", "SAT_SYM">>) -> ()
  }) {sym_name = "fc", layer = "fc", reuse_factor = 2 : i64, strategy = "resource", operandSegmentSizes = array<i32: 1, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x4x!fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">>) -> tensor<1x2x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND_CONV", "SAT_SYM">>
  %1 = "df.channel"(%0) {kind = "array", depth = 1 : i64} : (tensor<1x2x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND_CONV", "SAT_SYM">>) -> tensor<1x2x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND_CONV", "SAT_SYM">>
  "df.return"(%1) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<1x2x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND_CONV", "SAT_SYM">>) -> ()
}) {sym_name = "tdm", io_type = "io_parallel"} : () -> ()
