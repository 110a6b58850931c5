// RUN: fxflow-opt %s | fxflow-opt | filecheck %s
// fxp.matmul and fxp.layernorm verify and round-trip, in float and in fixed point.

!q = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
!a = !fxp.fixed<1 : i32, 4 : i32, 12 : i32, "TRN", "WRAP">
!u = !fxp.fixed<0 : i32, 4 : i32, 6 : i32, "TRN", "WRAP">

// CHECK-DAG: "fxp.matmul"(%{{.*}}, %{{.*}}) {accum = f64} : (tensor<1x2x2x3xf32>, tensor<1x2x3x2xf32>) -> tensor<1x2x2x2xf32>
// CHECK-DAG: "fxp.layernorm"(%{{.*}}, %{{.*}}, %{{.*}}) {accum = f64, dims = 2 : i64, epsilon = 1.000000e-05 : f64, rms = 0 : i64}
func.func @float_ops(%a: tensor<1x2x2x3xf32>, %b: tensor<1x2x3x2xf32>, %x: tensor<1x3x2x4xf32>, %g: tensor<2x4xf32>) {
  %0 = "fxp.matmul"(%a, %b) {accum = f64} : (tensor<1x2x2x3xf32>, tensor<1x2x3x2xf32>) -> tensor<1x2x2x2xf32>
  %1 = "fxp.layernorm"(%x, %g, %g) {accum = f64, dims = 2 : i64, epsilon = 1.0e-05 : f64, rms = 0 : i64} : (tensor<1x3x2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<1x3x2x4xf32>
  return
}

// CHECK-DAG: "fxp.matmul"(%arg0, %arg1) {accum = !fxp.fixed<1 : i32, 4 : i32, 12 : i32, "TRN", "WRAP">}
// CHECK-DAG: "fxp.layernorm"(%arg2, %arg3, %arg3) {accum = !fxp.fixed<1 : i32, 4 : i32, 12 : i32, "TRN", "WRAP">, dims = 1 : i64, epsilon = 0.000000e+00 : f64, inv_std_format = !fxp.fixed<0 : i32, 4 : i32, 6 : i32, "TRN", "WRAP">, mean_format = {{.*}}, norm_format = {{.*}}, rms = 1 : i64, var_format = !fxp.fixed<0 : i32, 4 : i32, 6 : i32, "TRN", "WRAP">}
func.func @fixed_ops(%a: tensor<1x2x3x!q>, %b: tensor<1x3x2x!q>, %x: tensor<1x2x4x!q>, %g: tensor<4x!q>) {
  %0 = "fxp.matmul"(%a, %b) {accum = !a} : (tensor<1x2x3x!q>, tensor<1x3x2x!q>) -> tensor<1x2x2x!q>
  %1 = "fxp.layernorm"(%x, %g, %g) {accum = !a, dims = 1 : i64, epsilon = 0.0 : f64, rms = 1 : i64, mean_format = !q, var_format = !u, inv_std_format = !u, norm_format = !q} : (tensor<1x2x4x!q>, tensor<4x!q>, tensor<4x!q>) -> tensor<1x2x4x!q>
  return
}
