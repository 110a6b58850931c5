// RUN: fxflow-opt %s --split-input-file --verify-diagnostics
// Illegal fixed-point formats: the !fxp.fixed type itself accepts any parameters, every fxp op rejects
// tensors whose format is not a legal ap_fixed (width 1..1024, k in {0, 1}, known Q and O modes).

func.func @width_zero(%a: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.cast' op illegal fixed-point format: width W = k+i+f = 0 is outside [1, 1024]}}
  %0 = "fxp.cast"(%a) : (tensor<4xf32>) -> tensor<4x!fxp.fixed<0 : i32, 0 : i32, 0 : i32, "TRN", "WRAP">>
  return
}

// -----

func.func @width_negative(%a: tensor<4xf32>) {
  // expected-error @+1 {{width W = k+i+f = -2 is outside [1, 1024]}}
  %0 = "fxp.cast"(%a) : (tensor<4xf32>) -> tensor<4x!fxp.fixed<1 : i32, -5 : i32, 2 : i32, "TRN", "WRAP">>
  return
}

// -----

func.func @width_too_large(%a: tensor<4xf32>) {
  // expected-error @+1 {{width W = k+i+f = 1025 is outside [1, 1024]}}
  %0 = "fxp.cast"(%a) : (tensor<4xf32>) -> tensor<4x!fxp.fixed<1 : i32, 1000 : i32, 24 : i32, "TRN", "WRAP">>
  return
}

// -----

func.func @signedness(%a: tensor<4xf32>) {
  // expected-error @+1 {{illegal fixed-point format: signedness k must be 0 or 1, got 2}}
  %0 = "fxp.cast"(%a) : (tensor<4xf32>) -> tensor<4x!fxp.fixed<2 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">>
  return
}

// -----

func.func @rounding_mode(%a: tensor<4xf32>) {
  // expected-error @+1 {{illegal fixed-point format: unknown rounding mode 'FOO' (expected one of TRN, TRN_ZERO, RND, RND_ZERO, RND_MIN_INF, RND_INF, RND_CONV)}}
  %0 = "fxp.cast"(%a) : (tensor<4xf32>) -> tensor<4x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "FOO", "WRAP">>
  return
}

// -----

func.func @overflow_mode(%a: tensor<4xf32>) {
  // expected-error @+1 {{illegal fixed-point format: unknown overflow mode 'FOO' (expected one of WRAP, SAT, SAT_ZERO, SAT_SYM)}}
  %0 = "fxp.cast"(%a) : (tensor<4xf32>) -> tensor<4x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "FOO">>
  return
}

// -----

func.func @wrap_sm(%a: tensor<4xf32>) {
  // expected-error @+1 {{unknown overflow mode 'WRAP_SM'}}
  %0 = "fxp.cast"(%a) : (tensor<4xf32>) -> tensor<4x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP_SM">>
  return
}

// -----

func.func @lowercase_mode(%a: tensor<4xf32>) {
  // expected-error-re @+1 {{illegal fixed-point format: malformed fixed type !fxp.fixed<{{.*}}"rnd"{{.*}}>: expected k, i, f as i32 and two mode strings}}
  %0 = "fxp.cast"(%a) : (tensor<4xf32>) -> tensor<4x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "rnd", "WRAP">>
  return
}

// -----

func.func @i64_parameters(%a: tensor<4xf32>) {
  // expected-error @+1 {{malformed fixed type !fxp.fixed<1 : i64, 3 : i64, 4 : i64, "TRN", "WRAP">: expected k, i, f as i32 and two mode strings}}
  %0 = "fxp.cast"(%a) : (tensor<4xf32>) -> tensor<4x!fxp.fixed<1, 3, 4, "TRN", "WRAP">>
  return
}

// -----

func.func @string_parameter(%a: tensor<4xf32>) {
  // The type's own (IRDL) parameter constraints.
  // expected-error @+1 {{expected base attribute 'builtin.integer' but got 'builtin.string'}}
  %0 = "fxp.cast"(%a) : (tensor<4xf32>) -> tensor<4x!fxp.fixed<"1", 3 : i32, 4 : i32, "TRN", "WRAP">>
  return
}

// -----

func.func @input_format(%a: tensor<4x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "BAD">>) {
  // expected-error @+1 {{'fxp.relu' op illegal fixed-point format: unknown overflow mode 'BAD'}}
  %0 = "fxp.relu"(%a) : (tensor<4x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "BAD">>) -> tensor<4xf32>
  return
}

// -----

!q = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
func.func @add_format(%a: tensor<4x!q>) {
  // expected-error @+1 {{'fxp.add' op illegal fixed-point format: width W = k+i+f = 0 is outside [1, 1024]}}
  %0 = "fxp.add"(%a, %a) : (tensor<4x!q>, tensor<4x!q>) -> tensor<4x!fxp.fixed<0 : i32, 0 : i32, 0 : i32, "TRN", "WRAP">>
  return
}

// -----

func.func @constant_format() {
  // expected-error @+1 {{'fxp.constant' op illegal fixed-point format: unknown rounding mode 'FOO'}}
  %0 = "fxp.constant"() {value = dense<1> : tensor<4xi64>} : () -> tensor<4x!fxp.fixed<1 : i32, 3 : i32, 4 : i32, "FOO", "WRAP">>
  return
}

// -----

!q = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
func.func @dense_operand_format(%x: tensor<2x4x!q>, %w: tensor<4x3x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "FOO", "WRAP">>, %b: tensor<3x!q>) {
  // expected-error @+1 {{'fxp.dense' op illegal fixed-point format: unknown rounding mode 'FOO'}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = !q} : (tensor<2x4x!q>, tensor<4x3x!fxp.fixed<1 : i32, 1 : i32, 6 : i32, "FOO", "WRAP">>, tensor<3x!q>) -> tensor<2x3x!q>
  return
}

// -----

!q = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
func.func @dense_accum_format(%x: tensor<2x4x!q>, %w: tensor<4x3x!q>, %b: tensor<3x!q>) {
  // expected-error @+1 {{'fxp.dense' op illegal accumulator format: width W = k+i+f = 0 is outside [1, 1024]}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = !fxp.fixed<1 : i32, -1 : i32, 0 : i32, "TRN", "WRAP">} : (tensor<2x4x!q>, tensor<4x3x!q>, tensor<3x!q>) -> tensor<2x3x!q>
  return
}

// -----

!q = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
func.func @dense_accum_mode(%x: tensor<2x4x!q>, %w: tensor<4x3x!q>, %b: tensor<3x!q>) {
  // expected-error @+1 {{'fxp.dense' op illegal accumulator format: unknown overflow mode 'FOO'}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = !fxp.fixed<1 : i32, 9 : i32, 16 : i32, "TRN", "FOO">} : (tensor<2x4x!q>, tensor<4x3x!q>, tensor<3x!q>) -> tensor<2x3x!q>
  return
}
