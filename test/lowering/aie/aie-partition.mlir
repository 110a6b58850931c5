// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition)' %S/Inputs/mlp-20-24-6.mlir | filecheck %s --check-prefix=FAST
// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition{objective=resource})' %S/Inputs/mlp-20-24-6.mlir | filecheck %s --check-prefix=SMALL
// RUN: fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition{batch=16 objective=resource})' %S/Inputs/mlp-20-24-6.mlir | filecheck %s --check-prefix=BATCH
// RUN: not fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition{max-tiles=1})' %S/Inputs/mlp-20-24-6.mlir 2>&1 | filecheck %s --check-prefix=BUDGET
// RUN: not fxflow-opt --pass-pipeline='builtin.module(convert-fxp-to-aie,aie-partition{device=npu9})' %S/Inputs/mlp-20-24-6.mlir 2>&1 | filecheck %s --check-prefix=DEVICE
// RUN: not fxflow-opt --aie-partition %S/Inputs/mlp-20-24-6.mlir 2>&1 | filecheck %s --check-prefix=ORDER

// fc0 (20x24, int8) and fc1 (24x6).  Default objective (throughput): the cycle model's fastest design
// within 5 %, with the fewest tiles: both layers split K in two (16-element K-slices, the 2x2 blocking of
// the 4x8x8 microtile), fc0 also N in two; fc1's cas_length and K-slice are fc0's cas_num and N-slice.
// FAST:      aie_partition = {batch = 8 : i64, cas_length = 2 : i64, cas_num = 2 : i64, interval = 50 : i64, k_slice = 16 : i64, latency = 112 : i64, n_slice = 16 : i64}
// FAST-SAME: layer = "fc0"
// FAST:      aie_partition = {batch = 8 : i64, cas_length = 2 : i64, cas_num = 1 : i64, interval = 50 : i64, k_slice = 16 : i64, latency = 112 : i64, n_slice = 16 : i64}
// FAST-SAME: layer = "fc1"
// FAST:      aie_batch = 8 : i64, aie_device = "xcve2802"

// objective=resource: one tile per layer (slices padded to 32 x 32 and 32 x 16).
// SMALL:      aie_partition = {batch = 8 : i64, cas_length = 1 : i64, cas_num = 1 : i64, interval = {{[0-9]+}} : i64, k_slice = 32 : i64, latency = {{[0-9]+}} : i64, n_slice = 32 : i64}
// SMALL:      aie_partition = {batch = 8 : i64, cas_length = 1 : i64, cas_num = 1 : i64, interval = {{[0-9]+}} : i64, k_slice = 32 : i64, latency = {{[0-9]+}} : i64, n_slice = 16 : i64}

// The batch is padded to the microtile rows and costs cycles: 16 rows stream 16 x 32 bytes in 128 cycles.
// BATCH:      aie_partition = {batch = 16 : i64, cas_length = 1 : i64, cas_num = 1 : i64, interval = 128 : i64

// BUDGET: error: the layers up to 'fc1' (24x6) need at least 2 compute tiles; xcve2802 offers 1
// DEVICE: error: unknown AIE device 'npu9' (available: xcve2802, npu1, npu1_1col, npu1_2col, npu1_3col, npu2, npu2_1col,
// ORDER: error: kernel 'fc0' has no integer form; run convert-fxp-to-aie first
