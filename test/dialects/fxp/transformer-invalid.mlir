// RUN: fxflow-opt %s --split-input-file --verify-diagnostics
// Every error the fxp.matmul and fxp.layernorm verifiers emit.

func.func @matmul_rank(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) {
  // expected-error @+1 {{'fxp.matmul' op expects lhs, rhs and result of one rank >= 3 (sample, batch..., rows, cols), got [2, 3], [3, 2], [2, 2]}}
  %0 = "fxp.matmul"(%a, %b) {accum = f64} : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  return
}

// -----

func.func @matmul_inner(%a: tensor<1x2x3xf32>, %b: tensor<1x4x2xf32>) {
  // expected-error @+1 {{'fxp.matmul' op lhs columns 3 do not match rhs rows 4 (lhs [1, 2, 3], rhs [1, 4, 2])}}
  %0 = "fxp.matmul"(%a, %b) {accum = f64} : (tensor<1x2x3xf32>, tensor<1x4x2xf32>) -> tensor<1x2x2xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<1x2x2x3xf32>, %b: tensor<1x3x3x2xf32>) {
  // expected-error @+1 {{'fxp.matmul' op batch dims [1, 2] of lhs and [1, 3] of rhs differ}}
  %0 = "fxp.matmul"(%a, %b) {accum = f64} : (tensor<1x2x2x3xf32>, tensor<1x3x3x2xf32>) -> tensor<1x2x2x2xf32>
  return
}

// -----

func.func @matmul_result(%a: tensor<1x2x3xf32>, %b: tensor<1x3x2xf32>) {
  // expected-error @+1 {{'fxp.matmul' op result shape [1, 2, 3] must be [1, 2, 2]}}
  %0 = "fxp.matmul"(%a, %b) {accum = f64} : (tensor<1x2x3xf32>, tensor<1x3x2xf32>) -> tensor<1x2x3xf32>
  return
}

// -----

func.func @matmul_fixed_needs_fixed_accum(%a: tensor<1x2x3x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, %b: tensor<1x3x2x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>) {
  // expected-error @+1 {{'fxp.matmul' op a fixed-point matmul needs a !fxp.fixed accumulator type}}
  %0 = "fxp.matmul"(%a, %b) {accum = f64} : (tensor<1x2x3x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, tensor<1x3x2x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>) -> tensor<1x2x2x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
  return
}

// -----

func.func @matmul_mixed(%a: tensor<1x2x3x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, %b: tensor<1x3x2xf32>) {
  // expected-error @+1 {{'fxp.matmul' op mixes fixed-point and float tensors; insert an explicit fxp.cast}}
  %0 = "fxp.matmul"(%a, %b) {accum = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">} : (tensor<1x2x3x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, tensor<1x3x2xf32>) -> tensor<1x2x2x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
  return
}

// -----

func.func @layernorm_dims(%x: tensor<1x2x4xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.layernorm' op dims 3 must be in [1, 2] (the normalized trailing dims of [1, 2, 4])}}
  %0 = "fxp.layernorm"(%x, %g, %g) {accum = f64, dims = 3 : i64, epsilon = 1.0e-05 : f64, rms = 0 : i64} : (tensor<1x2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32>
  return
}

// -----

func.func @layernorm_gamma(%x: tensor<1x2x4xf32>, %g: tensor<8xf32>) {
  // expected-error @+1 {{'fxp.layernorm' op gamma [8] and beta [8] must have the normalized shape [2, 4]}}
  %0 = "fxp.layernorm"(%x, %g, %g) {accum = f64, dims = 2 : i64, epsilon = 1.0e-05 : f64, rms = 0 : i64} : (tensor<1x2x4xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x2x4xf32>
  return
}

// -----

func.func @layernorm_eps(%x: tensor<1x2x4xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.layernorm' op epsilon -1.0 must not be negative}}
  %0 = "fxp.layernorm"(%x, %g, %g) {accum = f64, dims = 1 : i64, epsilon = -1.0 : f64, rms = 0 : i64} : (tensor<1x2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32>
  return
}

// -----

func.func @layernorm_rms(%x: tensor<1x2x4xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.layernorm' op rms must be 0 (LayerNorm) or 1 (RMSNorm)}}
  %0 = "fxp.layernorm"(%x, %g, %g) {accum = f64, dims = 1 : i64, epsilon = 0.0 : f64, rms = 2 : i64} : (tensor<1x2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32>
  return
}

// -----

func.func @layernorm_needs_formats(%x: tensor<1x2x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, %g: tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>) {
  // expected-error @+1 {{'fxp.layernorm' op a fixed-point layernorm needs its 'mean_format' (run fxp-assign-precision)}}
  %0 = "fxp.layernorm"(%x, %g, %g) {accum = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">, dims = 1 : i64, epsilon = 0.0 : f64, rms = 0 : i64} : (tensor<1x2x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>) -> tensor<1x2x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
  return
}

// -----

func.func @layernorm_signed_var(%x: tensor<1x2x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, %g: tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>) {
  // expected-error @+1 {{'fxp.layernorm' op var_format must be unsigned (ap_ufixed): the variance and 1/sqrt are non-negative}}
  %0 = "fxp.layernorm"(%x, %g, %g) {accum = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">, dims = 1 : i64, epsilon = 0.0 : f64, rms = 0 : i64, mean_format = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">, var_format = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">, inv_std_format = !fxp.fixed<0 : i32, 4 : i32, 6 : i32, "TRN", "WRAP">, norm_format = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">} : (tensor<1x2x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>) -> tensor<1x2x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
  return
}

// -----

func.func @layernorm_format_kind(%x: tensor<1x2x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, %g: tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>) {
  // expected-error @+1 {{'fxp.layernorm' op norm_format must be a !fxp.fixed type attribute, got f64}}
  %0 = "fxp.layernorm"(%x, %g, %g) {accum = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">, dims = 1 : i64, epsilon = 0.0 : f64, rms = 0 : i64, mean_format = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">, var_format = !fxp.fixed<0 : i32, 4 : i32, 6 : i32, "TRN", "WRAP">, inv_std_format = !fxp.fixed<0 : i32, 4 : i32, 6 : i32, "TRN", "WRAP">, norm_format = f64} : (tensor<1x2x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>, tensor<4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>) -> tensor<1x2x4x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">>
  return
}

// -----

!q8 = !fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">
!a8 = !fxp.fixed<1 : i32, 9 : i32, 10 : i32, "TRN", "WRAP">
func.func @matmul_approx_mul_malformed(%a: tensor<1x2x3x!q8>, %b: tensor<1x3x2x!q8>) {
  // expected-error @+1 {{'fxp.matmul' op malformed parameter 'k' in multiplier 'drum(k)' (expected key=value)}}
  %0 = "fxp.matmul"(%a, %b) {accum = !a8, approx_mul = "drum(k)"} : (tensor<1x2x3x!q8>, tensor<1x3x2x!q8>) -> tensor<1x2x2x!q8>
  return
}
