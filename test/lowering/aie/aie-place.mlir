// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition,aie-place)' %S/Inputs/mlp-20-24-6.mlir | filecheck %s
// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition{device=npu2},aie-place)' %S/Inputs/mlp-20-24-6.mlir | filecheck %s --check-prefix=NPU
// RUN: not fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-place)' %S/Inputs/mlp-20-24-6.mlir 2>&1 | filecheck %s --check-prefix=ORDER
// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition,aie-place{first_column=14 columns=4})' %S/Inputs/mlp-20-24-6.mlir | filecheck %s --check-prefix=WINDOW
// RUN: not fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition,aie-place{first_column=14 columns=1})' %S/Inputs/mlp-20-24-6.mlir 2>&1 | filecheck %s --check-prefix=NARROW
// RUN: not fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition,aie-place{first_column=36 columns=4})' %S/Inputs/mlp-20-24-6.mlir 2>&1 | filecheck %s --check-prefix=OUTSIDE
// xcve2802: fc0 is 2 columns x 2 rows at the array's west edge on the first compute row (row 3), fc1
// (2 x 1) starts right at fc0's east face, on the same row: data-movement distance 0.
// CHECK: layer = "fc0"
// CHECK-SAME: placement = "tile(0,3)"
// CHECK: layer = "fc1"
// CHECK-SAME: placement = "tile(2,3)"
// CHECK: aie_device = "xcve2802"

// npu2: compute rows start at 2.
// NPU: placement = "tile(0,2)"
// NPU: placement = "tile(2,2)"
// NPU: aie_device = "npu2"

// ORDER: error: aie-place needs a device: run aie-partition first or pass device=...

// A window of columns (one program of several sharing the array): the same layout shifted to its west edge (columns 14, 15 have shim DMA),
// the window kept on the graph for the builder; too narrow a window or one beyond the array is an error.
// WINDOW: layer = "fc0"
// WINDOW-SAME: placement = "tile(14,3)"
// WINDOW: layer = "fc1"
// WINDOW-SAME: placement = "tile(16,3)"
// WINDOW: aie_columns = "14:18"
// NARROW: error: cannot place the design on columns 14..14 of xcve2802 (1 columns x 8 compute rows; layers as columns x rows: fc0 2x2, fc1 2x1): no arrangement
// OUTSIDE: error: aie-place: columns 36..39 lie outside xcve2802's 38 columns
