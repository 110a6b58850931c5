// IRDL-level errors, reported identically by fxflow-opt and by torch-mlir-opt --irdl-file (see ../irdl.mlir).

func.func @missing_attribute() {
  // expected-error @+1 {{'fxp.constant' op attribute "value" is expected but not provided}}
  %0 = "fxp.constant"() : () -> tensor<4xf32>
  return
}

// -----

func.func @operand_count(%a: tensor<4xf32>) {
  // expected-error @+1 {{op expects exactly 2 operands, but got 1}}
  %0 = "fxp.add"(%a) : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @result_count(%a: tensor<4xf32>) {
  // expected-error @+1 {{op expects exactly 1 results, but got 2}}
  %0:2 = "fxp.relu"(%a) : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @type_parameter(%a: tensor<4xf32>) {
  // expected-error @+1 {{expected base attribute 'builtin.integer' but got 'builtin.string'}}
  %0 = "fxp.cast"(%a) : (tensor<4xf32>) -> tensor<4x!fxp.fixed<"1", 3 : i32, 4 : i32, "TRN", "WRAP">>
  return
}

// -----

func.func @string_attribute(%x: tensor<2xf32>) {
  // expected-error @+1 {{expected base attribute 'builtin.string' but got 'builtin.integer'}}
  %0 = "df.channel"(%x) {kind = 1 : i64, depth = 1 : i64} : (tensor<2xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @unknown_op(%a: tensor<4xf32>) {
  // expected-error @+1 {{custom op 'fxp.sigmoid'}}
  %0 = fxp.sigmoid %a : tensor<4xf32>
  return
}
