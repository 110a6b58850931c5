// RUN: fxflow-opt --pass-pipeline='builtin.module(versal-partition)' %S/../aie/Inputs/mlp-20-24-6.mlir | filecheck %s --check-prefix=AUTO
// RUN: fxflow-opt --pass-pipeline='builtin.module(versal-partition{pl-clock-mhz=30})' %S/../aie/Inputs/mlp-20-24-6.mlir | filecheck %s --check-prefix=SLOWPL
// RUN: fxflow-opt --pass-pipeline='builtin.module(versal-partition{partition=fc1:aie})' %S/../aie/Inputs/mlp-20-24-6.mlir | filecheck %s --check-prefix=FORCED
// RUN: not fxflow-opt --pass-pipeline='builtin.module(versal-partition{target-rate-mhz=1000})' %S/../aie/Inputs/mlp-20-24-6.mlir 2>&1 | filecheck %s --check-prefix=RATE
// RUN: not fxflow-opt --pass-pipeline='builtin.module(versal-partition{partition=fc0:aie})' %S/../aie/Inputs/mlp-20-24-6.mlir 2>&1 | filecheck %s --check-prefix=FUSED
// RUN: not fxflow-opt --pass-pipeline='builtin.module(versal-partition{partition=fc9:aie})' %S/../aie/Inputs/mlp-20-24-6.mlir 2>&1 | filecheck %s --check-prefix=UNKNOWN
// RUN: not fxflow-opt --pass-pipeline='builtin.module(versal-partition{partition=fc0:aie,act0:aie,fc1:aie max-tiles=1})' %S/../aie/Inputs/mlp-20-24-6.mlir 2>&1 | filecheck %s --check-prefix=TILES
// RUN: fxflow-opt --pass-pipeline='builtin.module(versal-partition{partition=fc0:aie,act0:aie,fc1:aie max-plio=1})' %S/../aie/Inputs/mlp-20-24-6.mlir | filecheck %s --check-prefix=PLIO
// RUN: fxflow-opt --pass-pipeline='builtin.module(versal-partition{partition=fc1:aie weights=dsp=1,lut=0.25 objective=resource})' %S/../aie/Inputs/mlp-20-24-6.mlir | filecheck %s --check-prefix=WEIGHTS
// RUN: not fxflow-opt --pass-pipeline='builtin.module(versal-partition{weights=gpu=1})' %S/../aie/Inputs/mlp-20-24-6.mlir 2>&1 | filecheck %s --check-prefix=BADWEIGHT
// RUN: fxflow-opt --pass-pipeline='builtin.module(versal-partition{weights=lut=1e4 time=interval pl-clock-mhz=100})' %S/Inputs/mlp-sigmoid.mlir | filecheck %s --check-prefix=SEGMENTS
// RUN: fxflow-opt --pass-pipeline='builtin.module(versal-partition{weights=lut=1e4 time=interval pl-clock-mhz=100 max-plio=1})' %S/Inputs/mlp-sigmoid.mlir | filecheck %s --check-prefix=ONEPLIO
// RUN: fxflow-opt --pass-pipeline='builtin.module(versal-partition{weights=lut=1e4 time=interval pl-clock-mhz=100 max-segments=1})' %S/Inputs/mlp-sigmoid.mlir | filecheck %s --check-prefix=ONESEG
// RUN: not fxflow-opt --pass-pipeline='builtin.module(versal-partition{partition=fc0:aie,act0:aie,fc1:aie,fc2:aie max-plio=1})' %S/Inputs/mlp-sigmoid.mlir 2>&1 | filecheck %s --check-prefix=SHARED
// RUN: not fxflow-opt --pass-pipeline='builtin.module(versal-partition{partition=fc0:aie,act0:aie,fc1:aie,fc2:aie max-segments=1})' %S/Inputs/mlp-sigmoid.mlir 2>&1 | filecheck %s --check-prefix=MAXSEG

// fc0 (20x24) + act0 (ReLU) + fc1 (24x6): small enough that the PL runs them at one sample per 200 MHz cycle
// with a few percent of the VE2802's LUTs; an AIE batch of 8 adds hundreds of ns of latency, so the LARE metric keeps
// everything on PL.
// AUTO:      layer = "fc0"
// AUTO-SAME: placement = "pl"
// AUTO:      layer = "act0"
// AUTO-SAME: placement = "pl"
// AUTO:      layer = "fc1"
// AUTO-SAME: placement = "pl"
// AUTO:      versal_device = "xcve2802", versal_interval_ns = 5.000000e+00 : f64
// AUTO-SAME: versal_segments = []

// A 30 MHz PL clock cannot sustain 40 MHz (II 1 = 33 ns): every layer goes to the AI Engines.
// SLOWPL:      layer = "fc0"
// SLOWPL-SAME: placement = "aie"
// SLOWPL:      layer = "act0"
// SLOWPL-SAME: placement = "aie"
// SLOWPL:      layer = "fc1"
// SLOWPL-SAME: placement = "aie"

// FORCED:      layer = "fc0"
// FORCED-SAME: placement = "pl"
// FORCED:      layer = "fc1"
// FORCED-SAME: placement = "aie"

// Every VersalOptions field is a pass option (objective, weights too): LUTs weighted 1/4 lower this plan's LARE
// (15.39 with the default weights).
// WEIGHTS:      layer = "fc1"
// WEIGHTS-SAME: placement = "aie"
// WEIGHTS:      versal_lare = 7.17
// BADWEIGHT: error: unknown LARE weight(s) gpu

// RATE: error: no PL/AIE partition meets the target on xcve2802:
// RATE-NEXT: all on PL: 1000 MHz needs one sample every 1 ns; layer 'fc0' on PL has II 1 cycles = 5 ns at 200 MHz
// RATE-NEXT: fastest AIE plan
// FUSED: error: layers 'fc0' and 'act0' run as one unit (the ReLU is fused into the dense layer) and must have the same versal partition
// UNKNOWN: error: versal partition names unknown layer(s) fc9 (layers: fc0, act0, fc1)
// TILES: error: the forced partition (layers 'fc0'..'fc1' on AIE) does not fit:
// TILES-NEXT: the layers up to 'fc1' (24x6) need at least 2 compute tiles; xcve2802 offers 1
// max-plio bounds the AIE partition itself (the first layer's input slices fit one port), so one PLIO port
// still hosts the forced partition; a layer no split can feed through the ports is an error (test_versal.py).
// PLIO:      layer = "fc0"
// PLIO-SAME: placement = "aie"
// PLIO:      layer = "fc1"
// PLIO-SAME: placement = "aie"

// Several AIE segments (Inputs/mlp-sigmoid.mlir: fc0 20x24 + act0 ReLU + fc1 24x16, sig (a sigmoid table, PL
// only), fc2 16x6).  LUTs weighted 1e4 on the per-sample interval at a 100 MHz PL clock: every dense layer is
// cheaper on the AI Engines, the sigmoid stays on PL between them: PL -> AIE -> PL -> AIE, two AIE programs.
// SEGMENTS:      layer = "fc0"
// SEGMENTS-SAME: placement = "aie"
// SEGMENTS:      layer = "act0"
// SEGMENTS-SAME: placement = "aie"
// SEGMENTS:      layer = "fc1"
// SEGMENTS-SAME: placement = "aie"
// SEGMENTS:      layer = "sig"
// SEGMENTS-SAME: placement = "pl"
// SEGMENTS:      layer = "fc2"
// SEGMENTS-SAME: placement = "aie"
// SEGMENTS:      versal_segments = ["fc0..fc1", "fc2..fc2"]
// Every segment needs a PLIO port each way: max-plio=1 leaves room for one segment (fc2 back on PL), as does
// max-segments=1.
// ONEPLIO:      layer = "fc2"
// ONEPLIO-SAME: placement = "pl"
// ONEPLIO:      versal_segments = ["fc0..fc1"]
// ONESEG:       layer = "fc2"
// ONESEG-SAME:  placement = "pl"
// ONESEG:       versal_segments = ["fc0..fc1"]
// SHARED: error: the forced partition (layers 'fc0'..'fc1' and 'fc2'..'fc2' on AIE) does not fit:
// SHARED-NEXT: the 2 AIE segments ('fc0'..'fc1', 'fc2'..'fc2') need 2 PLIO input ports together; the limit is 1
// MAXSEG: error: the forced partition has 2 AIE segments ('fc0'..'fc1', 'fc2'..'fc2'); max_segments is 1
