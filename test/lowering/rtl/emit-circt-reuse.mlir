// Reuse factor 2 on a 4x2 dense layer with a saturating accumulator: the input is latched on `start`, a
// 1-bit step counter selects the inputs (a multiplexer tree) and weights (a constant ROM) of each cycle, 2 shared multipliers per
// output add into a fed-back accumulator register (each partial sum saturated, in k order), and the result
// register loads on the last step.  The top accepts a sample every 2 cycles (the `wait` counter drives
// in_ready) and reports out_valid 3 cycles after acceptance.
// REQUIRES: circt
// RUN: fxflow-translate %S/Inputs/dense_reuse.mlir --emit-circt | filecheck %s

// CHECK-LABEL: hw.module @tdm_fc(in %x0_0 : i8, in %x0_1 : i8, in %x0_2 : i8, in %x0_3 : i8, in %clk : !seq.clock, in %start : i1, out y0_0 : i8, out y0_1 : i8)
// CHECK: %x_0_r0 = seq.compreg.ce %x0_0, %clk, %start : i8
// CHECK: %x_3_r0 = seq.compreg.ce %x0_3, %clk, %start : i8
// CHECK: %step = seq.compreg %{{.+}}, %clk : i1
// CHECK: %acc_0 = seq.compreg %[[ACC0:.+]], %clk : i12
// The bias starts the accumulation on step 0:
// CHECK-NEXT: %[[BASE:.+]] = comb.mux %{{.+}}, %c36_i12, %acc_0 : i12
// Step s multiplies x[2s] (then x[2s+1]) by its weight from the ROM:
// CHECK-NEXT: comb.mux %step, %x_2_r0, %x_0_r0 : i8
// CHECK: comb.shru %{{.+}}, %{{.+}} : i10
// CHECK: comb.mul %{{.+}}, %{{.+}} : i13
// Each partial sum is assigned to ap_fixed<12,4,AP_TRN,AP_SAT>: truncate 3 bits, clamp to [-2048, 2047]:
// CHECK: comb.extract %{{.+}} from 3 : (i16) -> i13
// CHECK-NEXT: comb.icmp slt %{{.+}}, %c-2048_i13 : i13
// CHECK: comb.icmp sgt %{{.+}}, %c2047_i13 : i13
// CHECK: %[[ACC0]] = comb.mux %{{.+}}, %c2047_i12, %{{.+}} : i12
// The result, AP_RND_CONV then AP_SAT_SYM ([-127, 127]), loads on the last step:
// CHECK: comb.icmp slt %{{.+}}, %c-127_i9 : i9
// CHECK: %y_0_r0 = seq.compreg.ce %{{.+}}, %clk, %step : i8
// CHECK: %acc_1 = seq.compreg

// CHECK-LABEL: hw.module @tdm(
// CHECK: %wait = seq.compreg %{{.+}}, %clk : i1
// CHECK-NEXT: %[[IDLE:.+]] = comb.xor %wait, %true : i1
// CHECK-NEXT: %[[ACCEPT:.+]] = comb.and %in_valid, %[[IDLE]] : i1
// CHECK: hw.instance "u_tdm_fc" @tdm_fc({{.*}}start: %[[ACCEPT]]: i1)
// CHECK: %valid_3 = seq.compreg %valid_2
// CHECK-NEXT: hw.output %[[IDLE]], %valid_3
