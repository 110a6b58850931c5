// RUN: fxflow-opt %s --split-input-file --verify-diagnostics
// Every error the fxp.threshold verifier emits.

func.func @unsorted(%x: tensor<1x4xf32>) {
  // expected-error @+1 {{'fxp.threshold' op thresholds must ascend and inclusive flags be 0 or 1}}
  %0 = "fxp.threshold"(%x) {thresholds = dense<[0.5, 0.25]> : tensor<2xf64>, inclusive = dense<[1, 0]> : tensor<2xi64>, levels = dense<[0.0, 1.0, 2.0]> : tensor<3xf64>} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  return
}

// -----

func.func @flags(%x: tensor<1x4xf32>) {
  // expected-error @+1 {{'fxp.threshold' op thresholds must ascend and inclusive flags be 0 or 1}}
  %0 = "fxp.threshold"(%x) {thresholds = dense<[0.25, 0.5]> : tensor<2xf64>, inclusive = dense<[1, 2]> : tensor<2xi64>, levels = dense<[0.0, 1.0, 2.0]> : tensor<3xf64>} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  return
}

// -----

func.func @levels(%x: tensor<1x4xf32>) {
  // expected-error @+1 {{'fxp.threshold' op needs N >= 1 thresholds, N inclusive flags and N + 1 levels, got 2, 2, 2}}
  %0 = "fxp.threshold"(%x) {thresholds = dense<[0.25, 0.5]> : tensor<2xf64>, inclusive = dense<[1, 0]> : tensor<2xi64>, levels = dense<[0.0, 1.0]> : tensor<2xf64>} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  return
}

// -----

func.func @kind(%x: tensor<1x4xf32>) {
  // expected-error @+1 {{'fxp.threshold' op thresholds must be a 1-D dense float tensor attribute}}
  %0 = "fxp.threshold"(%x) {thresholds = dense<[1, 2]> : tensor<2xi64>, inclusive = dense<[1, 0]> : tensor<2xi64>, levels = dense<[0.0, 1.0, 2.0]> : tensor<3xf64>} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  return
}

// -----

func.func @shape(%x: tensor<1x4xf32>) {
  // expected-error @+1 {{'fxp.threshold' op}}
  %0 = "fxp.threshold"(%x) {thresholds = dense<[0.25, 0.5]> : tensor<2xf64>, inclusive = dense<[1, 0]> : tensor<2xi64>, levels = dense<[0.0, 1.0, 2.0]> : tensor<3xf64>} : (tensor<1x4xf32>) -> tensor<1x3xf32>
  return
}
