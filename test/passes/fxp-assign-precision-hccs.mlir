// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/hccs.yaml})' %s | filecheck %s
// RUN: not fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/hccs-bad.yaml})' %s 2>&1 | filecheck %s --check-prefix=BAD
// RUN: not fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/Inputs/hccs-noparams.yaml})' %s 2>&1 | filecheck %s --check-prefix=NOPARAMS

// An HCCS softmax over the last axis of [B, H, Tq, Tk] scores: one (B, S, Dmax) per head (axis -3), attached as
// tensor<2xi64> attributes with the variant; the result is the int16 output's ap_fixed<16,1,AP_TRN,AP_SAT>.
func.func @main(%arg0: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %sm = "fxp.softmax"(%arg0) {axis = 3 : i64, implementation = "stable"} : (tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> loc("sm")
  return %sm : tensor<1x2x3x4xf32>
}

// CHECK:      "fxp.softmax"(%{{.*}}) {axis = 3 : i64, hccs_b = dense<[1000, 2000]> : tensor<2xi64>, hccs_dmax = dense<[50, 30]> : tensor<2xi64>, hccs_output = "int16", hccs_reciprocal = "div", hccs_s = dense<[10, 40]> : tensor<2xi64>, implementation = "hccs"}
// CHECK-SAME: -> tensor<1x2x3x4x!fxp.fixed<1 : i32, 0 : i32, 15 : i32, "TRN", "SAT">>
// BAD:        layer 'sm', head 1: HCCS constraint B - S*Dmax >= 0 violated (B=2000, S=70, Dmax=30: -100)
// NOPARAMS:   layer 'sm': the HCCS softmax has no parameters B, S, Dmax in its config and no calibration data
