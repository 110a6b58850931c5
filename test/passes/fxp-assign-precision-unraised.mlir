// RUN: fxflow-opt %s --split-input-file --verify-diagnostics --fxp-assign-precision='precision=ap_fixed<8,3>'
// RUN: not fxflow-opt %s --split-input-file --fxp-assign-precision='precision=ap_fixed<8,3>' 2>&1 | filecheck %s
// fxp-assign-precision takes fxp ops in functions (passes/accepted_ops.py): it names the first other op, with its
// location, as the user's error (a clean diagnostic at the op, exit code 1, no traceback), before changing anything.
// CHECK: fxp-assign-precision-unraised.mlir:12:8: error: fxp-assign-precision: 'tensor.empty' at loc({{.*}}) is not an op this pass accepts: it takes fxp ops in functions (raise the function first: convert-linalg-to-fxp)
// CHECK-NOT: Traceback
// CHECK-NOT: internal error

// Linalg still in the function (a dense not raised): the first op that is not fxp is named.
func.func @linalg(%arg0: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = "fxp.constant"() {value = dense<[[1.0, 0.5], [-0.25, 0.1]]> : tensor<2x2xf32>} : () -> tensor<2x2xf32> loc("fc1")
  %0 = tensor.empty() : tensor<1x2xf32> // expected-error {{'tensor.empty' at}}
  %1 = linalg.matmul ins(%arg0, %w : tensor<1x2xf32>, tensor<2x2xf32>) outs(%0 : tensor<1x2xf32>) -> tensor<1x2xf32> loc("fc1")
  return %1 : tensor<1x2xf32>
}

// -----

// An arith op on tensors after fxp ops (found in program order, wherever it stands).
func.func @arith(%arg0: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %0 = "fxp.relu"(%arg0) : (tensor<1x2xf32>) -> tensor<1x2xf32> loc("act")
  %1 = arith.addf %0, %0 : tensor<1x2xf32> // expected-error {{fxp-assign-precision: 'arith.addf' at}}
  return %1 : tensor<1x2xf32>
}

// -----

// A call: the pass assigns each function on its own and would not follow formats into the callee.
func.func @callee(%a: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %0 = "fxp.relu"(%a) : (tensor<1x2xf32>) -> tensor<1x2xf32> loc("act")
  return %0 : tensor<1x2xf32>
}
func.func @caller(%arg0: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %0 = func.call @callee(%arg0) : (tensor<1x2xf32>) -> tensor<1x2xf32> // expected-error {{'func.call' at}}
  return %0 : tensor<1x2xf32>
}

// -----

// An op outside any function (a dataflow graph: the IR of a later stage), after a function the pass accepts.
func.func @ok(%a: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %0 = "fxp.relu"(%a) : (tensor<1x2xf32>) -> tensor<1x2xf32> loc("act")
  return %0 : tensor<1x2xf32>
}
"df.graph"() ({ // expected-error {{'df.graph' at}}
  "df.return"() {operandSegmentSizes = array<i32: 0, 0, 0, 0>} : () -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

// A declaration: a function without a body has nothing to assign (the pass would index its missing block).
func.func private @decl(tensor<1x2xf32>) -> tensor<1x2xf32> // expected-error {{is a function without a body}}

// -----

// Accepted: fxp ops, and a lut's scalar body (arith, math, fxp.yield: the lut's own region, not the function's).
func.func @lut(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %l = "fxp.lut"(%arg0) ({
  ^bb0(%x: f32):
    %n = arith.negf %x : f32
    %e = math.exp %n : f32
    "fxp.yield"(%e) : (f32) -> ()
  }) : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("exp")
  return %l : tensor<1x4xf32>
}
