// --split-input-file: every chunk between `// -----` lines is parsed and processed on its own; outputs are
// joined with `// -----`; diagnostics and locations keep the line numbers of this file.
//
// RUN: not fxflow-opt %s --split-input-file 2>/dev/null | filecheck %s
// RUN: not fxflow-opt %s --split-input-file --mlir-print-debuginfo 2>/dev/null | filecheck %s --check-prefix=LOC
// RUN: not fxflow-opt %s --split-input-file --pass-pipeline='builtin.module(canonicalize)' 2>&1 >/dev/null | filecheck %s --check-prefix=ERR
// With -o, a failing run writes no output file:
// RUN: rm -f %t && not fxflow-opt %s --split-input-file -o %t 2>/dev/null && not ls %t
// Without splitting, the whole file is one module and parsing stops at the first error:
// RUN: not fxflow-opt %s 2>&1 | filecheck %s --check-prefix=WHOLE

// CHECK: "builtin.module"() ({
// CHECK: sym_name = "first"
// CHECK: {{^}}}) : () -> ()
// CHECK-NEXT: // -----
// CHECK-NEXT: "builtin.module"() ({
// CHECK: sym_name = "second"
// CHECK: {{^}}}) : () -> ()
// CHECK-NEXT: // -----
// CHECK-NEXT: "builtin.module"() ({
// CHECK: sym_name = "fourth"
// CHECK-NOT: // -----

// LOC: sym_name = "first"
// LOC: loc("{{.*}}split-input-file.mlir":[[# @LINE + 1]]:1)
func.func @first() {
  return
}

// -----

// LOC: sym_name = "second"
// LOC: loc("{{.*}}split-input-file.mlir":[[# @LINE + 2]]:3)
func.func @second(%a: i32) -> i32 {
  return %a : i32
}

// -----

// The third chunk fails to parse; that does not stop the fourth and fifth.
// ERR: split-input-file.mlir:[[# @LINE + 4]]:10: error: use of undeclared SSA value name
// ERR-NEXT: {{^}}  return %undefined : i32
// WHOLE: split-input-file.mlir:[[# @LINE + 2]]:10: error: use of undeclared SSA value name
func.func @third() -> i32 {
  return %undefined : i32
}

// -----

func.func @fourth() {
  return
}

// -----
// The fifth chunk fails verification.
func.func @fifth(%a: tensor<4xf32>) {
  // ERR: split-input-file.mlir:[[# @LINE + 3]]:8: error: 'fxp.relu' op shape mismatch: [4] vs [5]
  // ERR-NEXT: {{^}}  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<5xf32>
  // ERR-NEXT: {{^       \^$}}
  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<5xf32>
  return
}
// WHOLE-NOT: error
