// RUN: fxflow-opt --convert-fxp-to-aie %S/Inputs/mlp-20-24-6.mlir | filecheck %s
// An accumulator that rounds every partial sum (f = 9 < f_x + f_w = 10) has no exact integer form:
// RUN: sed -e 's/8 : i32, 15 : i32, "TRN", "WRAP"/8 : i32, 9 : i32, "TRN", "WRAP"/' %S/Inputs/mlp-20-24-6.mlir \
// RUN:   | not fxflow-opt --convert-fxp-to-aie 2>&1 | filecheck %s --check-prefix=ROUNDS
// A saturating accumulator the partial sums can overflow (ap_fixed<18,3,AP_TRN,AP_SAT>) is rejected too:
// RUN: sed -e 's/8 : i32, 15 : i32, "TRN", "WRAP"/2 : i32, 15 : i32, "TRN", "SAT"/' %S/Inputs/mlp-20-24-6.mlir \
// RUN:   | not fxflow-opt --convert-fxp-to-aie 2>&1 | filecheck %s --check-prefix=OVERFLOW
// 24-bit activations are wider than any AIE-ML operand:
// RUN: sed -e 's/"df.graph"/"df.graph"/; s/1 : i32, 2 : i32, 5 : i32, "RND_CONV", "SAT"/1 : i32, 2 : i32, 21 : i32, "RND_CONV", "SAT"/g' %S/Inputs/mlp-20-24-6.mlir \
// RUN:   | not fxflow-opt --convert-fxp-to-aie 2>&1 | filecheck %s --check-prefix=WIDE

// mlp 20 -> 24 (ReLU act0) -> 6, everything ap_fixed<8,3,AP_RND_CONV,AP_SAT>, accum ap_fixed<24,9>:
// the ReLU kernel is absorbed by fc0, whose integer form is one SRS (shift f_acc - f_out = 10 - 5,
// conv_even = AP_RND_CONV, saturate = AP_SAT at int8 = the format's own width) and a ReLU.
// CHECK:      "df.graph"
// CHECK:      "df.kernel"
// CHECK:        "fxp.dense"
// CHECK-NEXT:   "fxp.relu"
// CHECK:      aie = {acc = "acc32", epilogue = ["srs shift=5 round=conv_even sat=saturate to=i8", "relu"], mode = "8x8", w = "i8", x = "i8", y = "i8"}, aie_fused = ["act0"], layer = "fc0"
// CHECK:      "df.kernel"
// CHECK-NOT:    "fxp.relu"
// CHECK:      aie = {acc = "acc32", epilogue = ["srs shift=5 round=conv_even sat=saturate to=i8"], mode = "8x8", w = "i8", x = "i8", y = "i8"}, layer = "fc1"
// CHECK-NOT:  "df.kernel"
// CHECK:      "df.return"

// ROUNDS: error: layer 'fc0': accumulator ap_fixed<18,9> keeps 9 fractional bits but the products have 10; it rounds every partial sum
// OVERFLOW: error: layer 'fc0': partial sums may reach [-10.9004, 10.5156], outside the accumulator ap_fixed<18,3,AP_TRN,AP_SAT>
// WIDE: error: layer 'fc0': input format ap_fixed<24,3,AP_RND_CONV,AP_SAT> is 24 bits wide; AIE-ML dense kernels take int8 or int16 operands
