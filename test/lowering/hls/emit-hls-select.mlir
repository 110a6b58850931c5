// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision,convert-fxp-to-df)' %s | fxflow-translate --emit-hls-cpp | filecheck %s
// fxp.select compares the input's stored value with the threshold on its own grid (an exact literal of x's type)
// and writes x or the constant's exact value; fxp.minmax compares two formats exactly.

func.func @main(%arg0: tensor<1x4xf32>, %arg1: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %t = "fxp.select"(%arg0) {predicate = "le", threshold = 1.0 : f64, on_true = 0.0 : f64, on_false = 0x7FF8000000000000 : f64} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("thr")
  %w = "fxp.select"(%t) {predicate = "gt", threshold = 0.3 : f64, on_true = 0x7FF8000000000000 : f64, on_false = 0.75 : f64} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("where")
  %m = "fxp.minmax"(%w, %arg1) {kind = "min"} : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32> loc("minimum")
  return %m : tensor<1x4xf32>
}
// CHECK: fxp.select: x le 1.0 ? 0.0 : nan
// x <= 1.0 on the 2^-10 grid: raw < 1025
// CHECK: if ({{.*}}[i] < {{.*}}(0x1.004p+0)) {{.*}}[i] = 0x0p+0;
// CHECK-NEXT: else {{.*}}[i] = {{.*}}[i];
// CHECK: fxp.select: x gt 0.3 ? nan : 0.75
// CHECK: if ({{.*}}[i] > {{.*}}(0x1.33p-2)) {{.*}}[i] = {{.*}}[i];
// CHECK-NEXT: else {{.*}}[i] = 0x1.8p-1;
// CHECK: fxp.minmax: exact min
// CHECK: if ({{.*}}[i] < {{.*}}[i]) {{.*}}[i] = {{.*}}[i];
