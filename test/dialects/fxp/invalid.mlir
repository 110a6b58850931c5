// RUN: fxflow-opt %s --split-input-file --verify-diagnostics
// Every error the fxp op verifiers emit (shapes, ranks, tensors, mixing fixed and float, constants).

!q = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">

// ===== fxp.constant

func.func @constant_not_tensor() {
  // expected-error @+1 {{'fxp.constant' op result must be a ranked tensor, got i64}}
  %0 = "fxp.constant"() {value = dense<1> : tensor<4xi64>} : () -> i64
  return
}

// -----

func.func @constant_dynamic() {
  // expected-error @+1 {{'fxp.constant' op result must have a static shape, got tensor<?xf32>}}
  %0 = "fxp.constant"() {value = dense<1.0> : tensor<4xf32>} : () -> tensor<?xf32>
  return
}

// -----

func.func @constant_not_dense() {
  // expected-error @+1 {{'fxp.constant' op value must be a dense elements attribute, got 1 : i64}}
  %0 = "fxp.constant"() {value = 1 : i64} : () -> tensor<4xf32>
  return
}

// -----

func.func @constant_vector() {
  // expected-error @+1 {{'fxp.constant' op value must be a dense tensor attribute, got type vector<4xf32>}}
  %0 = "fxp.constant"() {value = dense<1.0> : vector<4xf32>} : () -> tensor<4xf32>
  return
}

// -----

func.func @constant_shape() {
  // expected-error @+1 {{'fxp.constant' op value shape [4] does not match result shape [2, 2]}}
  %0 = "fxp.constant"() {value = dense<1.0> : tensor<4xf32>} : () -> tensor<2x2xf32>
  return
}

// -----

!q = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
func.func @constant_fixed_from_floats() {
  // expected-error @+1 {{'fxp.constant' op a fixed-point constant must hold its stored integers as an integer tensor}}
  %0 = "fxp.constant"() {value = dense<0.5> : tensor<4xf32>} : () -> tensor<4x!q>
  return
}

// -----

func.func @constant_too_wide() {
  // expected-error @+1 {{'fxp.constant' op fixed-point constants are limited to 53 bits, got ap_fixed<54,10>}}
  %0 = "fxp.constant"() {value = dense<1> : tensor<4xi64>} : () -> tensor<4x!fxp.fixed<1 : i32, 9 : i32, 44 : i32, "TRN", "WRAP">>
  return
}

// -----

!q = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
func.func @constant_above_range() {
  // expected-error @+1 {{'fxp.constant' op stored integer 128 is outside the range [-128, 127] of ap_fixed<8,2>}}
  %0 = "fxp.constant"() {value = dense<[1, 128, -3, 0]> : tensor<4xi64>} : () -> tensor<4x!q>
  return
}

// -----

!q = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
func.func @constant_below_range() {
  // expected-error @+1 {{'fxp.constant' op stored integer -129 is outside the range [-128, 127] of ap_fixed<8,2>}}
  %0 = "fxp.constant"() {value = dense<-129> : tensor<4xi64>} : () -> tensor<4x!q>
  return
}

// -----

func.func @constant_unsigned_negative() {
  // expected-error @+1 {{'fxp.constant' op stored integer -1 is outside the range [0, 255] of ap_ufixed<8,4>}}
  %0 = "fxp.constant"() {value = dense<[0, -1]> : tensor<2xi64>} : () -> tensor<2x!fxp.fixed<0 : i32, 4 : i32, 4 : i32, "TRN", "WRAP">>
  return
}

// -----

func.func @constant_missing_value() {
  // expected-error @+1 {{'fxp.constant' op attribute "value" is expected but not provided}}
  %0 = "fxp.constant"() : () -> tensor<4xf32>
  return
}

// ===== fxp.cast

// -----

func.func @cast_input_not_tensor(%a: f32) {
  // expected-error @+1 {{'fxp.cast' op input must be a ranked tensor, got f32}}
  %0 = "fxp.cast"(%a) : (f32) -> tensor<1xf32>
  return
}

// -----

func.func @cast_result_not_tensor(%a: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.cast' op result must be a ranked tensor, got vector<4xf32>}}
  %0 = "fxp.cast"(%a) : (tensor<4xf32>) -> vector<4xf32>
  return
}

// -----

func.func @cast_unranked(%a: tensor<*xf32>) {
  // expected-error @+1 {{'fxp.cast' op input must be a ranked tensor, got tensor<*xf32>}}
  %0 = "fxp.cast"(%a) : (tensor<*xf32>) -> tensor<4xf32>
  return
}

// -----

!q = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
func.func @cast_shape(%a: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.cast' op shape mismatch: [4] vs [2, 2]}}
  %0 = "fxp.cast"(%a) : (tensor<4xf32>) -> tensor<2x2x!q>
  return
}

// ===== fxp.dense

// -----

func.func @dense_bias_not_tensor(%x: tensor<2x4xf32>, %w: tensor<4x3xf32>, %b: f32) {
  // expected-error @+1 {{'fxp.dense' op bias must be a ranked tensor, got f32}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = f64} : (tensor<2x4xf32>, tensor<4x3xf32>, f32) -> tensor<2x3xf32>
  return
}

// -----

func.func @dense_weight_not_tensor(%x: tensor<2x4xf32>, %w: f32, %b: tensor<3xf32>) {
  // expected-error @+1 {{'fxp.dense' op weight must be a ranked tensor, got f32}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = f64} : (tensor<2x4xf32>, f32, tensor<3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @dense_rank(%x: tensor<4xf32>, %w: tensor<4x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'fxp.dense' op expects input and result of one rank >= 2 and a rank-2 weight, got [4], [4, 3], [2, 3]}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = f64} : (tensor<4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @dense_features(%x: tensor<2x5xf32>, %w: tensor<4x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'fxp.dense' op input features 5 do not match weight rows 4 (input [2, 5], weight [4, 3])}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = f64} : (tensor<2x5xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @dense_result_shape(%x: tensor<2x4xf32>, %w: tensor<4x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'fxp.dense' op result shape [2, 4] must be [2, 3]}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = f64} : (tensor<2x4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @dense_bias_shape(%x: tensor<2x4xf32>, %w: tensor<4x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.dense' op bias shape [4] must be [3]}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = f64} : (tensor<2x4xf32>, tensor<4x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @dense_bias_rank(%x: tensor<2x4xf32>, %w: tensor<4x3xf32>, %b: tensor<1x3xf32>) {
  // expected-error @+1 {{'fxp.dense' op bias shape [1, 3] must be [3]}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = f64} : (tensor<2x4xf32>, tensor<4x3xf32>, tensor<1x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

!q = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
func.func @dense_mixed(%x: tensor<2x4xf32>, %w: tensor<4x3x!q>, %b: tensor<3x!q>) {
  // expected-error @+1 {{'fxp.dense' op mixes fixed-point and float tensors; insert an explicit fxp.cast}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = !q} : (tensor<2x4xf32>, tensor<4x3x!q>, tensor<3x!q>) -> tensor<2x3x!q>
  return
}

// -----

!q = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
func.func @dense_float_accum(%x: tensor<2x4x!q>, %w: tensor<4x3x!q>, %b: tensor<3x!q>) {
  // expected-error @+1 {{'fxp.dense' op a fixed-point dense needs a !fxp.fixed accumulator type}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = f64} : (tensor<2x4x!q>, tensor<4x3x!q>, tensor<3x!q>) -> tensor<2x3x!q>
  return
}

// -----

func.func @dense_accum_not_type(%x: tensor<2x4xf32>, %w: tensor<4x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'fxp.dense' op accum must be a type attribute, got 3 : i32}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = 3 : i32} : (tensor<2x4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @dense_missing_accum(%x: tensor<2x4xf32>, %w: tensor<4x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'fxp.dense' op attribute "accum" is expected but not provided}}
  %0 = "fxp.dense"(%x, %w, %b) : (tensor<2x4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @dense_operands(%x: tensor<2x4xf32>, %w: tensor<4x3xf32>) {
  // expected-error @below {{op expects exactly 3 operands, but got 2}}
  %0 = "fxp.dense"(%x, %w) {accum = f64} : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return
}

// ===== fxp.add

// -----

func.func @add_lhs_not_tensor(%a: f32, %b: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.add' op lhs must be a ranked tensor, got f32}}
  %0 = "fxp.add"(%a, %b) : (f32, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @add_rhs_not_tensor(%a: tensor<4xf32>, %b: f32) {
  // expected-error @+1 {{'fxp.add' op rhs must be a ranked tensor, got f32}}
  %0 = "fxp.add"(%a, %b) : (tensor<4xf32>, f32) -> tensor<4xf32>
  return
}

// -----

func.func @add_operand_shapes(%a: tensor<4xf32>, %b: tensor<5xf32>) {
  // expected-error @+1 {{'fxp.add' op shape mismatch: [4] vs [5]}}
  %0 = "fxp.add"(%a, %b) : (tensor<4xf32>, tensor<5xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @add_result_shape(%a: tensor<4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.add' op shape mismatch: [4] vs [1, 4]}}
  %0 = "fxp.add"(%a, %b) : (tensor<4xf32>, tensor<4xf32>) -> tensor<1x4xf32>
  return
}

// -----

!q = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
func.func @add_mixed(%a: tensor<4x!q>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.add' op mixes fixed-point and float tensors; insert an explicit fxp.cast}}
  %0 = "fxp.add"(%a, %b) : (tensor<4x!q>, tensor<4xf32>) -> tensor<4x!q>
  return
}

// ===== fxp.relu

// -----

func.func @relu_input_not_tensor(%a: f32) {
  // expected-error @+1 {{'fxp.relu' op input must be a ranked tensor, got f32}}
  %0 = "fxp.relu"(%a) : (f32) -> tensor<1xf32>
  return
}

// -----

func.func @relu_dynamic(%a: tensor<?xf32>) {
  // expected-error @+1 {{'fxp.relu' op input must have a static shape, got tensor<?xf32>}}
  %0 = "fxp.relu"(%a) : (tensor<?xf32>) -> tensor<?xf32>
  return
}

// -----

func.func @relu_shape(%a: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.relu' op shape mismatch: [4] vs [5]}}
  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<5xf32>
  return
}

// -----

!q = !fxp.fixed<1 : i32, 1 : i32, 6 : i32, "TRN", "WRAP">
func.func @relu_mixed(%a: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.relu' op mixes fixed-point and float tensors; insert an explicit fxp.cast}}
  %0 = "fxp.relu"(%a) : (tensor<4xf32>) -> tensor<4x!q>
  return
}

// -----

// ===== approx_mul (fxflow.approx)

!q8 = !fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">
!a8 = !fxp.fixed<1 : i32, 9 : i32, 10 : i32, "TRN", "WRAP">
func.func @approx_mul_not_string(%x: tensor<1x2x!q8>, %w: tensor<2x2x!q8>, %b: tensor<2x!q8>) {
  // expected-error @+1 {{'fxp.dense' op approx_mul must be a string attribute, got 3 : i64}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = !a8, approx_mul = 3} : (tensor<1x2x!q8>, tensor<2x2x!q8>, tensor<2x!q8>) -> tensor<1x2x!q8>
  return
}

// -----

!q8 = !fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">
!a8 = !fxp.fixed<1 : i32, 9 : i32, 10 : i32, "TRN", "WRAP">
func.func @approx_mul_malformed(%x: tensor<1x2x!q8>, %w: tensor<2x2x!q8>, %b: tensor<2x!q8>) {
  // expected-error @+1 {{'fxp.dense' op malformed parameter 'k' in multiplier 'drum(k)' (expected key=value)}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = !a8, approx_mul = "drum(k)"} : (tensor<1x2x!q8>, tensor<2x2x!q8>, tensor<2x!q8>) -> tensor<1x2x!q8>
  return
}

// -----

!q8 = !fxp.fixed<1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP">
!a8 = !fxp.fixed<1 : i32, 9 : i32, 10 : i32, "TRN", "WRAP">
func.func @approx_mul_with_product(%x: tensor<1x2x!q8>, %w: tensor<2x2x!q8>, %b: tensor<2x!q8>) {
  // expected-error @+1 {{'fxp.dense' op approx_mul and a product type cannot be combined}}
  %0 = "fxp.dense"(%x, %w, %b) {accum = !a8, product = !a8, approx_mul = "drum(k=3)"} : (tensor<1x2x!q8>, tensor<2x2x!q8>, tensor<2x!q8>) -> tensor<1x2x!q8>
  return
}
