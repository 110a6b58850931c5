// Unregistered dialects are rejected unless --allow-unregistered-dialect.
// RUN: not fxflow-opt %s 2>&1 | filecheck %s --check-prefix=ERR
// RUN: fxflow-opt %s --allow-unregistered-dialect | filecheck %s
// ERR: unregistered.mlir:[[# @LINE + 3]]:{{[0-9]+}}: error: operation being parsed with an unregistered dialect.
// CHECK: "foo.bar"() : () -> i32
func.func @f() -> i32 {
  %0 = "foo.bar"() : () -> i32
  return %0 : i32
}
