// Diagnostics from passes are verified too; a pass failing with an fxflow error has no location and is
// matched with @unknown.
// RUN: fxflow-opt %s --split-input-file --verify-diagnostics --convert-fxp-to-df

// expected-error @unknown {{function argument %arg0 must be cast to a fixed-point format once}}
func.func @main(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %r = "fxp.relu"(%x) : (tensor<1x2xf32>) -> tensor<1x2xf32>
  return %r : tensor<1x2xf32>
}
