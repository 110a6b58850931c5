// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition,aie-place)' %S/Inputs/mlp-20-24-6.mlir | fxflow-translate --emit-aie | filecheck %s
// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition{device=npu2},aie-place)' %S/Inputs/mlp-20-24-6.mlir | fxflow-translate --emit-aie | filecheck %s --check-prefix=NPU
// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition{device=npu1},aie-place)' %S/Inputs/mlp-20-24-6.mlir | fxflow-translate --emit-aie | filecheck %s --check-prefix=NPU1
// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition,aie-place)' %S/Inputs/mlp-20-24-6.mlir | fxflow-translate --emit-aie | filecheck %s --check-prefix=NOCORELINK
// RUN: not fxflow-translate --emit-aie %S/Inputs/mlp-20-24-6.mlir 2>&1 | filecheck %s --check-prefix=UNPLACED

// fc0: 2 x 2 kernels at (0..1, 3..4); fc1: 2 x 1 at (2..3, 3).  One kernel function per layer and role.
// CHECK:      module {
// CHECK-NEXT:   aie.device(xcve2802) {
// Current mlir-aie syntax: the object file is named on the kernel declaration, not on aie.core.
// CHECK:          func.func private @fc0_first(memref<8x16xi8>, memref<16x16xi8>, memref<16xi32>) attributes {link_with = "fc0.o"}
// CHECK:          func.func private @fc0_last(memref<8x16xi8>, memref<16x16xi8>, memref<8x16xi8>) attributes {link_with = "fc0.o"}
// CHECK:          func.func private @fc1_first(memref<8x16xi8>, memref<16x16xi8>, memref<16xi32>) attributes {link_with = "fc1.o"}
// CHECK:          func.func private @fc1_last(memref<8x16xi8>, memref<16x16xi8>, memref<8x16xi8>) attributes {link_with = "fc1.o"}
// Tiles sorted by (col, row): shim DMA at NoC column 2, memory tiles in row 1, cores from row 3.
// CHECK:          %mem_0_1 = aie.tile(0, 1)
// CHECK-NEXT:     %tile_0_3 = aie.tile(0, 3)
// CHECK-NEXT:     %tile_0_4 = aie.tile(0, 4)
// CHECK:          %mem_1_1 = aie.tile(1, 1)
// CHECK:          %shim_2_0 = aie.tile(2, 0)
// CHECK:          %tile_3_3 = aie.tile(3, 3)
// Resident weights in bank 2, the bias (int32 at f_x + f_w = 10) in bank 1 of the chain heads only.
// CHECK:          %fc0_w0_0 = aie.buffer(%tile_0_3) {sym_name = "fc0_w0_0", mem_bank = 2 : i32} : memref<16x16xi8> = dense<"0x
// CHECK:          %fc0_b0 = aie.buffer(%tile_0_3) {sym_name = "fc0_b0", mem_bank = 1 : i32} : memref<16xi32> = dense<[
// CHECK:          %fc0_w0_1 = aie.buffer(%tile_1_3)
// CHECK-NOT:      %fc0_b0_1
// CHECK:          %fc0_w1_0 = aie.buffer(%tile_0_4)
// CHECK:          %fc0_b1 = aie.buffer(%tile_0_4)
// K-slices broadcast down their column from a memory tile (one shim channel and memory tile per slice
// here: a 16-element slice takes 32 stream cycles, fc0's interval is 50); chain outputs feed the next
// layer's columns directly; fc1's chain joins in a memory tile on its way to the shim.
// CHECK:          aie.objectfifo @fc0_x0(%mem_0_1, {%tile_0_3, %tile_0_4}, 2 : i32) : !aie.objectfifo<memref<8x16xi8>>
// CHECK-NEXT:     aie.objectfifo @fc0_x1(%mem_1_1, {%tile_1_3, %tile_1_4}, 2 : i32) : !aie.objectfifo<memref<8x16xi8>>
// CHECK-NEXT:     aie.objectfifo @fc0_y0(%tile_1_3, {%tile_2_3}, 2 : i32) : !aie.objectfifo<memref<8x16xi8>>
// CHECK-NEXT:     aie.objectfifo @fc0_y1(%tile_1_4, {%tile_3_3}, 2 : i32) : !aie.objectfifo<memref<8x16xi8>>
// CHECK-NEXT:     aie.objectfifo @fc1_y0(%tile_3_3, {%mem_3_1}, 2 : i32) : !aie.objectfifo<memref<8x16xi8>>
// CHECK-NEXT:     aie.objectfifo @in0(%shim_2_0, {%mem_0_1}, 2 : i32) : !aie.objectfifo<memref<128xi8>>
// CHECK-NEXT:     aie.objectfifo @in1(%shim_2_0, {%mem_1_1}, 2 : i32) : !aie.objectfifo<memref<128xi8>>
// CHECK-NEXT:     aie.objectfifo @out0(%mem_3_1, {%shim_3_0}, 2 : i32) : !aie.objectfifo<memref<128xi8>>
// CHECK-NEXT:     aie.objectfifo.link [@in0] -> [@fc0_x0] ([] [])
// CHECK-NEXT:     aie.objectfifo.link [@in1] -> [@fc0_x1] ([] [])
// CHECK-NEXT:     aie.objectfifo.link [@fc1_y0] -> [@out0] ([] [])
// CHECK-NEXT:     aie.cascade_flow(%tile_0_3, %tile_1_3)
// CHECK-NEXT:     aie.cascade_flow(%tile_0_4, %tile_1_4)
// CHECK-NEXT:     aie.cascade_flow(%tile_2_3, %tile_3_3)
// Versal: static shim DMA on external buffers, no runtime sequence.
// CHECK:          aie.objectfifo.register_external_buffers @in0(%shim_2_0, {%ext_in0_0, %ext_in0_1}) : (memref<128xi8>, memref<128xi8>)
// CHECK:          %core_0_3 = aie.core(%tile_0_3) {
// CHECK:            scf.for %it = %c0 to %cmax step %c1 {
// CHECK-NEXT:         %xs = aie.objectfifo.acquire @fc0_x0(Consume, 1) : !aie.objectfifosubview<memref<8x16xi8>>
// CHECK-NEXT:         %x = aie.objectfifo.subview.access %xs[0] : !aie.objectfifosubview<memref<8x16xi8>> -> memref<8x16xi8>
// CHECK-NEXT:         func.call @fc0_first(%x, %fc0_w0_0, %fc0_b0) : (memref<8x16xi8>, memref<16x16xi8>, memref<16xi32>) -> ()
// CHECK-NEXT:         aie.objectfifo.release @fc0_x0(Consume, 1)
// CHECK-NEXT:       }
// CHECK-NEXT:       aie.end
// CHECK-NEXT:     }{{$}}
// CHECK:          %core_1_3 = aie.core(%tile_1_3) {
// CHECK:              %ys = aie.objectfifo.acquire @fc0_y0(Produce, 1)
// CHECK:              func.call @fc0_last(%x, %fc0_w0_1, %y)
// CHECK:          %core_2_3 = aie.core(%tile_2_3) {
// CHECK:              %xs = aie.objectfifo.acquire @fc0_y0(Consume, 1)
// CHECK:              func.call @fc1_first(%x, %fc1_w0_0, %fc1_b0)
// CHECK:          %core_3_3 = aie.core(%tile_3_3) {
// CHECK-NOT:      aie.runtime_sequence
// CHECK:            aie.end
// CHECK-NEXT:     }{{$}}
// CHECK-NEXT:   }
// CHECK-NEXT: }

// npu2: shim DMA in every column; a runtime sequence re-tiles the host's row-major [8 x 32] input.
// NPU:      aie.device(npu2) {
// NPU:      aie.objectfifo @in0(%shim_0_0, {%mem_0_1}, 2 : i32)
// NPU-NOT:  register_external_buffers
// NPU:      aie.runtime_sequence(%in : memref<256xi8>, %out : memref<128xi8>) {
// NPU-NEXT:   aiex.npu.dma_memcpy_nd(%in[0, 0, 0, 0][1, 1, 8, 16][0, 16, 32, 1]) {metadata = @in0, id = 0 : i64} : memref<256xi8>
// NPU-NEXT:   aiex.npu.dma_memcpy_nd(%in[0, 0, 0, 16][1, 1, 8, 16][0, 16, 32, 1]) {metadata = @in1, id = 1 : i64} : memref<256xi8>
// NPU-NEXT:   aiex.npu.dma_memcpy_nd(%out[0, 0, 0, 0][1, 1, 8, 16][0, 16, 16, 1]) {metadata = @out0, id = 2 : i64, issue_token = true} : memref<128xi8>
// NPU-NEXT:   aiex.npu.dma_wait {symbol = @out0}
// NPU-NEXT: }

// UNPLACED: error: the AIE program needs a partitioned graph: run aie-partition and aie-place first

// npu1 is the 4-column virtualized model: every tile in columns 0..3, column 0 a shim-DMA column.
// NPU1:      aie.device(npu1) {
// NPU1-NOT:  aie.tile({{[4-9]|[1-9][0-9]}},
// NPU1:      aie.runtime_sequence
// NOCORELINK-NOT: } {link_with
