// RUN: fxflow-opt --fxp-assign-precision %s | filecheck %s
// fxp.threshold (a float-scale model quantizer): its result keeps the importer's exact levels format; a
// float input read only by it takes the truncating input format on the grid of its thresholds, which become
// inclusive at float32 values (-0.375 strict -> -0x1.7ffffep-2 inclusive); behind another op it reads that
// op's exact result (the ReLU between two model quantizers).

func.func @main(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %t = "fxp.threshold"(%arg0) {thresholds = dense<[-0.375, 0.375]> : tensor<2xf64>, inclusive = dense<[0, 1]> : tensor<2xi64>, levels = dense<[-0.75, 0.0, 0.75]> : tensor<3xf64>} : (tensor<1x4xf32>) -> tensor<1x4x!fxp.fixed<1 : i32, 0 : i32, 2 : i32, "RND_CONV", "SAT">> loc("q0")
  %f = "fxp.cast"(%t) : (tensor<1x4x!fxp.fixed<1 : i32, 0 : i32, 2 : i32, "RND_CONV", "SAT">>) -> tensor<1x4xf32> loc("q0")
  %r = "fxp.relu"(%f) : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("relu")
  %u = "fxp.threshold"(%r) {thresholds = dense<[0.1, 0.3]> : tensor<2xf64>, inclusive = dense<[1, 1]> : tensor<2xi64>, levels = dense<[0.0, 0.2, 0.4]> : tensor<3xf64>} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("q1")
  return %u : tensor<1x4xf32>
}

// CHECK:      %[[IN:.*]] = "fxp.cast"(%arg0) : (tensor<1x4xf32>) -> tensor<1x4x!fxp.fixed<1 : i32, -1 : i32, 25 : i32, "TRN", "SAT">>
// CHECK-NEXT: "fxp.threshold"(%[[IN]]) {inclusive = dense<1> : tensor<2xi64>, levels = dense<[-7.500000e-01, 0.000000e+00, 7.500000e-01]> : tensor<3xf64>, thresholds = dense<[-0.37499997019767761, 3.750000e-01]> : tensor<2xf64>}
// CHECK-SAME: -> tensor<1x4x!fxp.fixed<1 : i32, 0 : i32, 2 : i32, "RND_CONV", "SAT">>
// CHECK:      "fxp.relu"
// CHECK-SAME: -> tensor<1x4x!fxp.fixed<0 : i32, 0 : i32, 2 : i32, "TRN", "WRAP">>
// CHECK:      "fxp.threshold"
// CHECK-SAME: -> tensor<1x4x!fxp.fixed<0 : i32, -1 : i32, 54 : i32, "RND_CONV", "SAT">>
