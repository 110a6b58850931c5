// RUN: fxflow-opt --convert-fxp-to-aie %S/Inputs/cnn-residual.mlir | filecheck %s --check-prefix=LOWER
// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition,aie-place)' %S/Inputs/cnn-residual.mlir | fxflow-translate --emit-aie | filecheck %s
// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition{device=npu2},aie-place)' %S/Inputs/cnn-residual.mlir | fxflow-translate --emit-aie | filecheck %s --check-prefix=NPU

// conv1 (+ its fused ReLU), pool, conv2 (+ ReLU), add (+ ReLU), depthwise dw, grouped 1x1: the integer forms.
// LOWER:      "fxp.conv"
// LOWER:      aie = {acc = "acc32", epilogue = ["srs shift=5 round=floor sat=none to=i8", "relu"], mode = "8x8", w = "i8", x = "i8", y = "i8"}
// LOWER:      "fxp.pool"
// LOWER:      aie = {acc = "acc32", epilogue = ["srs shift=0 round=floor sat=none to=i8"], mode = "8x8", x = "i8", y = "i8"}
// LOWER:      "fxp.add"
// LOWER:      aie = {acc = "acc32", epilogue = ["srs shift=0 round=floor sat=none to=i8", "relu"], mode = "8x8", shifts = [0, 0], x = "i8", x2 = "i8", y = "i8"}

// One kernel per layer; a conv tile holds [taps * Cp_in, n_slice] weights and reads the whole channels-last map.
// CHECK:      aie.device(xcve2802) {
// CHECK:        func.func private @conv1_conv(memref<1024xi8>, memref<144x16xi8>, memref<16xi32>, memref<1024xi8>) attributes {link_with = "conv1.o"}
// CHECK:        func.func private @pool_pool(memref<1024xi8>, memref<256xi8>) attributes {link_with = "pool.o"}
// CHECK:        func.func private @add_add(memref<256xi8>, memref<256xi8>, memref<256xi8>) attributes {link_with = "add.o"}
// CHECK:        func.func private @grouped_conv(memref<256xi8>, memref<16x32xi8>, memref<32xi32>, memref<512xi8>)
// Every value leaves a memory tile; pool's result is broadcast to conv2 and the add (the residual).
// CHECK:        aie.objectfifo @in0(%shim_2_0, {%mem_0_1}, 2 : i32) : !aie.objectfifo<memref<1024xi8>>
// CHECK:        aie.objectfifo @pool_fm(%mem_1_1, {%tile_2_3, %tile_3_3}, 2 : i32)
// CHECK:        aie.objectfifo @out0(%mem_5_1, {%shim_6_0}, 2 : i32) : !aie.objectfifo<memref<512xi8>>
// CHECK:        aie.objectfifo.link [@pool_y0] -> [@pool_fm] ([] [])
// The add's core acquires both operands.
// CHECK:        aie.core(%tile_3_3)
// CHECK:          aie.objectfifo.acquire @pool_fm(Consume, 1)
// CHECK:          aie.objectfifo.acquire @conv2_fm(Consume, 1)
// CHECK:          func.call @add_add(%x, %x1, %y)

// npu2: the host moves one channels-last map per call.
// NPU:        aie.device(npu2)
// NPU:        aie.runtime_sequence(%in : memref<1024xi8>, %out : memref<512xi8>)
// NPU-NEXT:     aiex.npu.dma_memcpy_nd(%in[0, 0, 0, 0][1, 1, 1, 1024][0, 1024, 1024, 1]) {metadata = @in0
