// RUN: fxflow-opt %s --split-input-file --verify-diagnostics | filecheck %s
// fxp.select (tables family) and fxp.minmax (elementwise): valid forms round-trip, and every verifier error.

!q = !fxp.fixed<1 : i32, 3 : i32, 6 : i32, "TRN", "WRAP">

// CHECK-LABEL: sym_name = "valid"
// CHECK: "fxp.select"{{.*}}on_false = 0x7FF8000000000000 : f64, on_true = 0.000000e+00 : f64, predicate = "le", threshold = 1.000000e+00 : f64
// CHECK: "fxp.minmax"{{.*}}kind = "max"
func.func @valid(%x: tensor<1x4x!q>, %y: tensor<1x4x!q>) -> tensor<1x4x!q> {
  %s = "fxp.select"(%x) {predicate = "le", threshold = 1.0 : f64, on_true = 0.0 : f64, on_false = 0x7FF8000000000000 : f64} : (tensor<1x4x!q>) -> tensor<1x4x!q>
  %m = "fxp.minmax"(%s, %y) {kind = "max"} : (tensor<1x4x!q>, tensor<1x4x!q>) -> tensor<1x4x!q>
  return %m : tensor<1x4x!q>
}

// -----

func.func @select_predicate(%x: tensor<1x3xf32>) {
  // expected-error @+1 {{'fxp.select' op predicate 'gte' is not one of gt, ge, lt, le, eq, ne}}
  %0 = "fxp.select"(%x) {predicate = "gte", threshold = 1.0 : f64, on_true = 0.0 : f64, on_false = 1.0 : f64} : (tensor<1x3xf32>) -> tensor<1x3xf32>
  return
}

// -----

func.func @select_threshold(%x: tensor<1x3xf32>) {
  // expected-error @+1 {{'fxp.select' op threshold inf must be a finite real}}
  %0 = "fxp.select"(%x) {predicate = "gt", threshold = 0x7FF0000000000000 : f64, on_true = 0.0 : f64, on_false = 1.0 : f64} : (tensor<1x3xf32>) -> tensor<1x3xf32>
  return
}

// -----

func.func @select_branch(%x: tensor<1x3xf32>) {
  // expected-error @+1 {{'fxp.select' op on_true -inf must be a finite real or NaN (the input)}}
  %0 = "fxp.select"(%x) {predicate = "gt", threshold = 0.0 : f64, on_true = 0xFFF0000000000000 : f64, on_false = 1.0 : f64} : (tensor<1x3xf32>) -> tensor<1x3xf32>
  return
}

// -----

func.func @minmax_kind(%x: tensor<1x3xf32>) {
  // expected-error @+1 {{'fxp.minmax' op kind 'maximum' is not one of max, min}}
  %0 = "fxp.minmax"(%x, %x) {kind = "maximum"} : (tensor<1x3xf32>, tensor<1x3xf32>) -> tensor<1x3xf32>
  return
}

// -----

func.func @minmax_shape(%x: tensor<1x3xf32>, %y: tensor<1x4xf32>) {
  // expected-error @+1 {{'fxp.minmax' op}}
  %0 = "fxp.minmax"(%x, %y) {kind = "min"} : (tensor<1x3xf32>, tensor<1x4xf32>) -> tensor<1x3xf32>
  return
}
