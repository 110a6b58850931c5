// A function returning a constant (no layer computes it) is a clear error, not a KeyError (found by the fuzz
// harness, test/fuzz/harness.py).
// RUN: not fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-df)' %s 2>&1 | filecheck %s
// CHECK: error: the function returns a value that no layer computes (result 0, a constant?)
// CHECK-NOT: Traceback

func.func @main(%arg0: tensor<1x2x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND", "SAT">>) -> tensor<2x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND", "SAT">> {
  %c = "fxp.constant"() {value = dense<[3, -4]> : tensor<2xi64>} : () -> tensor<2x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND", "SAT">>
  return %c : tensor<2x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "RND", "SAT">>
}
