// --verify-diagnostics: every emitted diagnostic must be announced by an `expected-*` designator on its line
// (or the line given by @+N, @-N, @above, @below, @unknown), and every designator must be matched.
// RUN: fxflow-opt %s --split-input-file --verify-diagnostics
// The same file through upstream's implementation (our IRDL loaded into torch-mlir-opt) for the chunks
// that only need IRDL-level checks is in ../dialects/irdl.mlir.

// Same line.
func.func @same_line(%a: tensor<4xf32>) {
  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<5xf32> // expected-error {{shape mismatch: [4] vs [5]}}
  return
}

// -----

func.func @relative(%a: tensor<4xf32>) {
  // expected-error @+2 {{shape mismatch: [4] vs [6]}}

  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<6xf32>
  return
}

// -----

func.func @relative_back(%a: tensor<4xf32>) {
  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<7xf32>
  // expected-error @-1 {{shape mismatch: [4] vs [7]}}
  return
}

// -----

func.func @above(%a: tensor<4xf32>) {
  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<8xf32>
  // expected-error @above {{'fxp.relu' op shape mismatch: [4] vs [8]}}
  return
}

// -----

func.func @below(%a: tensor<4xf32>) {
  // expected-error @below {{shape mismatch: [4] vs [9]}}
  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<9xf32>
  return
}

// -----

// Two diagnostics on one line (the isolation error and its note): designator lines are skipped by @above
// and @below, so several designators can stack up.
"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-error @below {{using value defined outside the region}}
  // expected-note @below {{required by region isolation constraints}}
  %0 = "df.kernel"() ({ %r = "fxp.relu"(%x) : (tensor<2xf32>) -> tensor<2xf32> "df.yield"(%r) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> () }) {sym_name = "k", layer = "k", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : () -> tensor<2xf32>
  %1 = "df.kernel"() ({ %r = "fxp.relu"(%x) : (tensor<2xf32>) -> tensor<2xf32> "df.yield"(%r) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> () }) {sym_name = "k", layer = "k", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : () -> tensor<2xf32>
  // expected-note @above {{required by region isolation constraints}}
  // expected-error @above {{using value defined outside the region}}
  "df.return"(%0, %1) {operandSegmentSizes = array<i32: 2, 0, 0, 0>} : (tensor<2xf32>, tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// Regular expressions in expected-*-re: {{regex}} inside the literal text.
func.func @regex(%a: tensor<4xf32>) {
  // expected-error-re @+1 {{shape mismatch: [4] vs [{{[0-9]+}}]{{$}}}}
  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<10xf32>
  return
}

// -----

// Notes are matched like errors.
"df.graph"() ({
^bb0(%x: tensor<2xf32>):
  // expected-note @+1 {{required by region isolation constraints}}
  %0 = "df.kernel"() ({
    %r = "fxp.relu"(%x) : (tensor<2xf32>) -> tensor<2xf32> // expected-error {{using value defined outside the region}}
    "df.yield"(%r) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
  }) {sym_name = "k", layer = "k", reuse_factor = 1 : i64, strategy = "latency", operandSegmentSizes = array<i32: 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0>} : () -> tensor<2xf32>
  "df.return"(%0) {operandSegmentSizes = array<i32: 1, 0, 0, 0>} : (tensor<2xf32>) -> ()
}) {sym_name = "g", io_type = "io_parallel"} : () -> ()

// -----

// A chunk without diagnostics and without designators is fine, and so is an empty chunk.
func.func @fine() {
  return
}

// -----

// -----

// Parse errors are diagnostics too.
func.func @parse_error() {
  return %nothing : i32 // expected-error {{use of undeclared SSA value name}}
}
