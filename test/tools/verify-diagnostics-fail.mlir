// --verify-diagnostics fails (exit code 1) on a missing expected diagnostic and on an unexpected one, and
// says which, like mlir-opt.
// RUN: not fxflow-opt %s --split-input-file --verify-diagnostics 2>&1 | filecheck %s
// Each chunk on its own:
// RUN: sed -n '/^\/\/ MISSING-BEGIN/,/^\/\/ MISSING-END/p' %s | not fxflow-opt --verify-diagnostics
// RUN: sed -n '/^\/\/ UNEXPECTED-BEGIN/,/^\/\/ UNEXPECTED-END/p' %s | not fxflow-opt --verify-diagnostics
// RUN: sed -n '/^\/\/ GOOD-BEGIN/,/^\/\/ GOOD-END/p' %s | fxflow-opt --verify-diagnostics
// CHECK-NOT: Traceback

// MISSING-BEGIN
func.func @missing(%a: tensor<4xf32>) {
  // CHECK: verify-diagnostics-fail.mlir:[[# @LINE + 1]]:6: error: expected error "this is never emitted" was not produced
  // expected-error @+1 {{this is never emitted}}
  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<4xf32>
  return
}
// MISSING-END

// -----

// UNEXPECTED-BEGIN
func.func @unexpected(%a: tensor<4xf32>) {
  // CHECK: verify-diagnostics-fail.mlir:[[# @LINE + 3]]:8: error: unexpected error: 'fxp.relu' op shape mismatch: [4] vs [5]
  // CHECK-NEXT: {{^}}  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<5xf32>
  // CHECK-NEXT: {{^       \^$}}
  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<5xf32>
  return
}
// UNEXPECTED-END

// -----

// The right message on the wrong line is both unexpected and missing.
func.func @wrong_line(%a: tensor<4xf32>) {
  // CHECK: verify-diagnostics-fail.mlir:[[# @LINE + 3]]:8: error: unexpected error: 'fxp.relu' op shape mismatch: [4] vs [6]
  // CHECK: verify-diagnostics-fail.mlir:[[# @LINE + 1]]:6: error: expected error "shape mismatch: [4] vs [6]" was not produced
  // expected-error @+2 {{shape mismatch: [4] vs [6]}}
  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<6xf32>
  return
}

// -----

// Wrong severity.
func.func @severity(%a: tensor<4xf32>) {
  // CHECK: verify-diagnostics-fail.mlir:[[# @LINE + 2]]:8: error: unexpected error: 'fxp.relu' op shape mismatch: [4] vs [7]
  // CHECK: verify-diagnostics-fail.mlir:[[# @LINE + 1]]:61: error: expected warning "shape mismatch" was not produced
  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<7xf32> // expected-warning {{shape mismatch}}
  return
}

// -----

// Malformed designators are errors themselves.
// CHECK: verify-diagnostics-fail.mlir:[[# @LINE + 1]]:4: error: expected '{{[{][{]}}' and '}}' around the message of expected-error
// expected-error @+1 shape mismatch
// CHECK: verify-diagnostics-fail.mlir:[[# @LINE + 1]]:4: error: expected-error@below has no line below it
// expected-error @below {{nothing follows}}
