// Verifiers of the conv/pool, elementwise, data-movement and table ops: one valid use each, then every
// verifier message.
// RUN: fxflow-opt %s --split-input-file --verify-diagnostics | filecheck %s

!q = !fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">
// CHECK-LABEL: sym_name = "valid"
// CHECK: "fxp.conv"{{.*}}groups = 2 : i64, padding = array<i64: 1, 1, 0, 0>
// CHECK: "fxp.pool"{{.*}}kind = "avg"
// CHECK: "fxp.scale_shift"
// CHECK: "fxp.prelu"
// CHECK: "fxp.clamp"{{.*}}max = 6.000000e+00 : f64, min = 0.000000e+00 : f64
// CHECK: "fxp.lut"
// CHECK: "arith.negf"
// CHECK: "fxp.yield"
// CHECK: "fxp.reshape"
// CHECK: "fxp.transpose"{{.*}}permutation = array<i64: 0, 2, 1>
// CHECK: "fxp.concat"{{.*}}axis = 1
// CHECK: "fxp.pad"
// CHECK: "fxp.resize"
// CHECK: "fxp.softmax"{{.*}}implementation = "stable"
func.func @valid(%x: tensor<1x4x6x6x!q>) -> tensor<1x12x!q> {
  %w = "fxp.constant"() {value = dense<1> : tensor<4x2x3x3xi64>} : () -> tensor<4x2x3x3x!q>
  %b = "fxp.constant"() {value = dense<1> : tensor<4xi64>} : () -> tensor<4x!q>
  %c = "fxp.conv"(%x, %w, %b) {strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, padding = array<i64: 1, 1, 0, 0>, groups = 2 : i64, accum = !q} : (tensor<1x4x6x6x!q>, tensor<4x2x3x3x!q>, tensor<4x!q>) -> tensor<1x4x3x3x!q>
  %p = "fxp.pool"(%c) {kind = "avg", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, accum = !q} : (tensor<1x4x3x3x!q>) -> tensor<1x4x1x1x!q>
  %s = "fxp.scale_shift"(%p, %b, %b) : (tensor<1x4x1x1x!q>, tensor<4x!q>, tensor<4x!q>) -> tensor<1x4x1x1x!q>
  %r = "fxp.prelu"(%s, %b) : (tensor<1x4x1x1x!q>, tensor<4x!q>) -> tensor<1x4x1x1x!q>
  %k = "fxp.clamp"(%r) {min = 0.0 : f64, max = 6.0 : f64} : (tensor<1x4x1x1x!q>) -> tensor<1x4x1x1x!q>
  %l = "fxp.lut"(%k) ({
  ^bb0(%a: f32):
    %n = arith.negf %a : f32
    "fxp.yield"(%n) : (f32) -> ()
  }) : (tensor<1x4x1x1x!q>) -> tensor<1x4x1x1x!q>
  %f = "fxp.reshape"(%l) : (tensor<1x4x1x1x!q>) -> tensor<1x2x2x!q>
  %t = "fxp.transpose"(%f) {permutation = array<i64: 0, 2, 1>} : (tensor<1x2x2x!q>) -> tensor<1x2x2x!q>
  %j = "fxp.concat"(%f, %t) {axis = 1 : i64} : (tensor<1x2x2x!q>, tensor<1x2x2x!q>) -> tensor<1x4x2x!q>
  %z = "fxp.pad"(%j) {padding = array<i64: 1, 0>} : (tensor<1x4x2x!q>) -> tensor<1x4x3x!q>
  %u = "fxp.resize"(%z) {scales = array<i64: 2>} : (tensor<1x4x3x!q>) -> tensor<1x4x6x!q>
  %o = "fxp.reshape"(%u) : (tensor<1x4x6x!q>) -> tensor<1x24x!q>
  %sm = "fxp.softmax"(%o) {axis = 1 : i64, implementation = "stable"} : (tensor<1x24x!q>) -> tensor<1x24x!q>
  %e = "fxp.reshape"(%sm) : (tensor<1x24x!q>) -> tensor<1x4x6x!q>
  %pp = "fxp.pool"(%e) {kind = "max", kernel = array<i64: 2>, strides = array<i64: 2>, padding = array<i64: 0, 0>, accum = !q} : (tensor<1x4x6x!q>) -> tensor<1x4x3x!q>
  %out = "fxp.reshape"(%pp) : (tensor<1x4x3x!q>) -> tensor<1x12x!q>
  return %out : tensor<1x12x!q>
}

// -----

func.func @conv_groups(%x: tensor<1x3x6x6xf32>, %w: tensor<4x1x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.conv' op groups 2 must divide input channels 3 and filters 4}}
  %0 = "fxp.conv"(%x, %w, %b) {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, groups = 2 : i64} : (tensor<1x3x6x6xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  return
}

// -----

func.func @conv_shape(%x: tensor<1x2x6x6xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.conv' op result shape [1, 4, 5, 5] must be [1, 4, 4, 4]}}
  %0 = "fxp.conv"(%x, %w, %b) {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, groups = 1 : i64} : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x5x5xf32>
  return
}

// -----

func.func @conv_strides(%x: tensor<1x2x6x6xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.conv' op strides entries must be >= 1, got [0, 1]}}
  %0 = "fxp.conv"(%x, %w, %b) {strides = array<i64: 0, 1>, dilations = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, groups = 1 : i64} : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  return
}

// -----

func.func @conv_padding_kind(%x: tensor<1x2x6x6xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'fxp.conv' op padding must be an array<i64: ...>, got 1 : i64}}
  %0 = "fxp.conv"(%x, %w, %b) {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, padding = 1 : i64, groups = 1 : i64} : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  return
}

// -----

func.func @pool_kind(%x: tensor<1x2x4x4xf32>) {
  // expected-error @+1 {{'fxp.pool' op kind 'min' is not one of max, avg}}
  %0 = "fxp.pool"(%x) {kind = "min", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  return
}

// -----

func.func @pool_shape(%x: tensor<1x2x4x4xf32>) {
  // expected-error @+1 {{'fxp.pool' op result shape [1, 2, 3, 3] must be [1, 2, 2, 2]}}
  %0 = "fxp.pool"(%x) {kind = "max", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x3x3xf32>
  return
}

// -----

func.func @scale_shift_param(%x: tensor<1x3x2xf32>, %s: tensor<2xf32>) {
  // expected-error @+1 {{'fxp.scale_shift' op scale shape [2] must be [1] or [3] (the channels of input [1, 3, 2])}}
  %0 = "fxp.scale_shift"(%x, %s, %s) : (tensor<1x3x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x3x2xf32>
  return
}

// -----

func.func @clamp_bounds(%x: tensor<1x3xf32>) {
  // expected-error @+1 {{'fxp.clamp' op min 1.0 must not exceed max -1.0}}
  %0 = "fxp.clamp"(%x) {min = 1.0 : f64, max = -1.0 : f64} : (tensor<1x3xf32>) -> tensor<1x3xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<1x6xf32>) {
  // expected-error @+1 {{'fxp.reshape' op cannot reshape [1, 6] (6 elements) into [1, 4] (4)}}
  %0 = "fxp.reshape"(%x) : (tensor<1x6xf32>) -> tensor<1x4xf32>
  return
}

// -----

!q = !fxp.fixed<1 : i32, 3 : i32, 4 : i32, "TRN", "WRAP">
!r = !fxp.fixed<1 : i32, 3 : i32, 5 : i32, "TRN", "WRAP">
func.func @reshape_converts(%x: tensor<1x6x!q>) {
  // expected-error @+1 {{'fxp.reshape' op element types differ}}
  %0 = "fxp.reshape"(%x) : (tensor<1x6x!q>) -> tensor<1x6x!r>
  return
}

// -----

func.func @transpose_perm(%x: tensor<1x2x3xf32>) {
  // expected-error @+1 {{'fxp.transpose' op permutation [0, 1, 1] is not a permutation of 3 dims}}
  %0 = "fxp.transpose"(%x) {permutation = array<i64: 0, 1, 1>} : (tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
  return
}

// -----

func.func @concat_shapes(%a: tensor<1x2x3xf32>, %b: tensor<1x2x4xf32>) {
  // expected-error @+1 {{'fxp.concat' op cannot concatenate [1, 2, 3] and [1, 2, 4] along 1 into [1, 4, 3]}}
  %0 = "fxp.concat"(%a, %b) {axis = 1 : i64} : (tensor<1x2x3xf32>, tensor<1x2x4xf32>) -> tensor<1x4x3xf32>
  return
}

// -----

func.func @pad_shape(%x: tensor<1x2x3xf32>) {
  // expected-error @+1 {{'fxp.pad' op result shape [1, 2, 4] must be [1, 2, 6]}}
  %0 = "fxp.pad"(%x) {padding = array<i64: 1, 2>} : (tensor<1x2x3xf32>) -> tensor<1x2x4xf32>
  return
}

// -----

func.func @resize_shape(%x: tensor<1x2x3xf32>) {
  // expected-error @+1 {{'fxp.resize' op result shape [1, 2, 3] must be [1, 2, 6]}}
  %0 = "fxp.resize"(%x) {scales = array<i64: 2>} : (tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
  return
}

// -----

func.func @lut_region(%x: tensor<1x3xf32>) {
  // expected-error @+1 {{'fxp.lut' op function region must have one block with one scalar argument}}
  %0 = "fxp.lut"(%x) ({
  ^bb0(%a: f32, %b: f32):
    "fxp.yield"(%a) : (f32) -> ()
  }) : (tensor<1x3xf32>) -> tensor<1x3xf32>
  return
}

// -----

func.func @lut_table(%x: tensor<1x3xf32>) {
  // expected-error @+1 {{'fxp.lut' op a lut with a table needs an integer 'index_shift' attribute}}
  %0 = "fxp.lut"(%x) ({
  ^bb0(%a: f32):
    "fxp.yield"(%a) : (f32) -> ()
  }) {table = dense<[1, 2]> : tensor<2xi64>} : (tensor<1x3xf32>) -> tensor<1x3xf32>
  return
}

// -----

func.func @lut_identity(%x: tensor<1x3xf32>) {
  // expected-error @+1 {{'fxp.lut' op identity_from must be an integer (the first stored input that bypasses the table)}}
  %0 = "fxp.lut"(%x) ({
  ^bb0(%a: f32):
    "fxp.yield"(%a) : (f32) -> ()
  }) {table = dense<[1, 2]> : tensor<2xi64>, index_shift = 0 : i64, index_offset = 0 : i64, identity_from = 1.0 : f64} : (tensor<1x3xf32>) -> tensor<1x3xf32>
  return
}

// -----

func.func @softmax_impl(%x: tensor<1x3xf32>) {
  // expected-error @+1 {{'fxp.softmax' op implementation 'fast' is not one of stable, latency, argmax}}
  %0 = "fxp.softmax"(%x) {axis = 1 : i64, implementation = "fast"} : (tensor<1x3xf32>) -> tensor<1x3xf32>
  return
}

// -----

func.func @softmax_hccs_heads(%x: tensor<1x3xf32>) {
  // expected-error @+1 {{'fxp.softmax' op hccs_b, hccs_s, hccs_dmax must have one entry per head each}}
  %0 = "fxp.softmax"(%x) {axis = 1 : i64, implementation = "hccs", hccs_b = dense<[300, 300]> : tensor<2xi64>, hccs_s = dense<1> : tensor<1xi64>, hccs_dmax = dense<4> : tensor<1xi64>, hccs_output = "uint8", hccs_reciprocal = "clb"} : (tensor<1x3xf32>) -> tensor<1x3xf32>
  return
}

// -----

func.func @softmax_hccs_variant(%x: tensor<1x3xf32>) {
  // expected-error @+1 {{'fxp.softmax' op an hccs softmax needs 'hccs_output' in uint8, int16}}
  %0 = "fxp.softmax"(%x) {axis = 1 : i64, implementation = "hccs", hccs_b = dense<300> : tensor<1xi64>, hccs_s = dense<1> : tensor<1xi64>, hccs_dmax = dense<4> : tensor<1xi64>, hccs_output = "int8", hccs_reciprocal = "clb"} : (tensor<1x3xf32>) -> tensor<1x3xf32>
  return
}

// -----

func.func @softmax_axis(%x: tensor<1x3xf32>) {
  // expected-error @+1 {{'fxp.softmax' op axis 0 must be a non-batch dim of [1, 3]}}
  %0 = "fxp.softmax"(%x) {axis = 0 : i64, implementation = "stable"} : (tensor<1x3xf32>) -> tensor<1x3xf32>
  return
}
