// Malformed MLIR gives the MLIR diagnostic (file:line:col, the source line, a caret) and exit code 1,
// never a Python traceback; the same through stdin, where the file is called <stdin>.
// RUN: not fxflow-opt %s 2>&1 | filecheck %s
// RUN: not fxflow-opt < %s 2>&1 | filecheck %s --check-prefix=STDIN
// RUN: not fxflow-opt - < %s 2>&1 | filecheck %s --check-prefix=STDIN
// RUN: not fxflow-opt %S/does-not-exist.mlir 2>&1 | filecheck %s --check-prefix=NOFILE
// RUN: printf '\377\376' | not fxflow-opt 2>&1 | filecheck %s --check-prefix=BINARY
// RUN: printf 'func.func @f( {' | not fxflow-opt 2>&1 | filecheck %s --check-prefix=TRUNCATED

// CHECK: malformed-input.mlir:[[# @LINE + 6]]:26: error: expected ')'
// CHECK-NEXT: {{^}}func.func @broken(%a: i32 %b: i32) {
// CHECK-NEXT: {{^                         \^$}}
// CHECK-NOT: Traceback
// STDIN: <stdin>:[[# @LINE + 2]]:26: error: expected ')'
// STDIN-NOT: Traceback
func.func @broken(%a: i32 %b: i32) {
  return
}

// NOFILE: fxflow-opt: error: could not open input file '{{.*}}does-not-exist.mlir': No such file or directory
// BINARY: fxflow-opt: error: input file '<stdin>' is not UTF-8 text
// BINARY-NOT: Traceback
// TRUNCATED: <stdin>:1:
// TRUNCATED-SAME: error:
// TRUNCATED-NOT: Traceback
