// RUN: fxflow-opt --convert-fxp-to-aie %S/Inputs/mlp-hccs.mlir | filecheck %s --check-prefix=LOWER
// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition,aie-place)' %S/Inputs/mlp-hccs.mlir | fxflow-translate --emit-aie | filecheck %s
// An HCCS softmax on 12-bit inputs has no int8 kernel:
// RUN: sed -e 's/1 : i32, 2 : i32, 5 : i32, "TRN", "WRAP"/1 : i32, 6 : i32, 5 : i32, "TRN", "WRAP"/g' %S/Inputs/mlp-hccs.mlir \
// RUN:   | not fxflow-opt --convert-fxp-to-aie 2>&1 | filecheck %s --check-prefix=WIDE

// mlp 8 -> 32 (ReLU) -> 20 -> HCCS softmax (clb, int16 output, B=3000, S=60, Dmax=40), ap_fixed<8,3>.
// LOWER: aie = {mode = "hccs", x = "i8", y = "i16"}
// The last dense layer's two chains join in one memory tile into the HCCS core's input FIFO (slice-major);
// its int16 result goes back through the same memory tile to the shim.
// CHECK:      func.func private @sm_hccs(memref<256xi8>, memref<256xi16>) attributes {link_with = "sm.o"}
// CHECK:      aie.objectfifo @sm_y(%tile_[[C:[0-9]+]]_[[R:[0-9]+]], {%mem_[[M:[0-9]+_[0-9]+]]}, 2 : i32) : !aie.objectfifo<memref<256xi16>>
// CHECK-NEXT: aie.objectfifo @out0(%mem_[[M]], {%shim_{{[0-9]+}}_0}, 2 : i32) : !aie.objectfifo<memref<256xi16>>
// CHECK-NEXT: aie.objectfifo @sm_x(%mem_[[M]], {%tile_[[C]]_[[R]]}, 2 : i32) : !aie.objectfifo<memref<256xi8>>
// CHECK:      aie.objectfifo.link [@sm_y] -> [@out0] ([] [])
// CHECK-NEXT: aie.objectfifo.link [@fc2_y0, @fc2_y1] -> [@sm_x] ([0, 128] [])
// CHECK:      func.call @sm_hccs(%x, %y) : (memref<256xi8>, memref<256xi16>) -> ()
// CHECK-NOT:  } {link_with
// WIDE: layer 'sm': the AIE HCCS kernel takes int8 inputs
