// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition,aie-place)' %S/Inputs/mlp-20-24-6.mlir | filecheck %s
// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition{device=npu2},aie-place)' %S/Inputs/mlp-20-24-6.mlir | filecheck %s --check-prefix=NPU
// RUN: not fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-place)' %S/Inputs/mlp-20-24-6.mlir 2>&1 | filecheck %s --check-prefix=ORDER
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
