// The CIRCT lowering of a dense (RND/SAT result) + ReLU (unsigned TRN/WRAP result) graph: one hw.module per
// kernel with range-sized arithmetic, rounding built from the guard bit, a register stage per layer, and a
// top that chains the kernels and shifts in_valid along the schedule.
// REQUIRES: circt
// RUN: fxflow-translate %S/Inputs/dense_relu.mlir --emit-circt | filecheck %s
// A 70-bit result: ports wider than 64 bits are built too (the testbench moves them as Verilator word arrays).
// RUN: sed 's/1 : i32, 5 : i32, 10 : i32, "RND", "SAT"/1 : i32, 29 : i32, 40 : i32, "RND", "SAT"/g' %S/Inputs/dense_relu.mlir | fxflow-translate --emit-circt | filecheck %s --check-prefix=WIDE
// WIDE: hw.module @myproject_fc1(in %x0_0 : i16, in %x0_1 : i16, in %x0_2 : i16, in %x0_3 : i16, in %clk : !seq.clock, out y0_0 : i70, out y0_1 : i70, out y0_2 : i70)
// WIDE: hw.output %{{.+}}, %{{.+}}, %{{.+}} : i70, i70, i70

// CHECK-LABEL: hw.module @myproject_fc1(in %x0_0 : i16, in %x0_1 : i16, in %x0_2 : i16, in %x0_3 : i16, in %clk : !seq.clock, out y0_0 : i16, out y0_1 : i16, out y0_2 : i16)
// Products by constant weights go through unsigned multipliers (one DSP each, where a sign-extended operand
// would take several): the input's bits zero-extended times |w|, minus |w| << 16 gated by the sign bit.
// CHECK: %[[XU:.+]] = comb.concat %c0_i3, %x0_2 : i3, i16
// CHECK-NEXT: %[[P:.+]] = comb.mul %[[XU]], %c7_i19 : i19
// CHECK-NEXT: %[[S:.+]] = comb.extract %x0_2 from 15 : (i16) -> i1
// CHECK-NEXT: %[[G:.+]] = comb.replicate %[[S]] : (i1) -> i19
// CHECK-NEXT: %[[C:.+]] = comb.and %[[G]], %c-65536_i19 : i19
// CHECK-NEXT: comb.sub %[[P]], %[[C]] : i19
// A negative weight (-10) subtracts the other way round:
// CHECK: %[[P2:.+]] = comb.mul %{{.+}}, %c10_i20 : i20
// CHECK: %[[C2:.+]] = comb.and %{{.+}}, %c-393216_i20 : i20
// CHECK-NEXT: comb.sub %[[C2]], %[[P2]] : i20
// The exact 21-bit sum at the accumulator's grid (f = 16) goes to f = 10 with AP_RND: the floor (bits 6..20)
// plus the guard bit (bit 5); the range analysis proves the result cannot saturate, so no clamp is built.
// CHECK: %[[SUM:.+]] = comb.add %{{.+}}, %{{.+}} : i21
// CHECK-NEXT: %[[FLOOR:.+]] = comb.extract %[[SUM]] from 6 : (i21) -> i15
// CHECK-NEXT: %[[GUARD:.+]] = comb.extract %[[SUM]] from 5 : (i21) -> i1
// CHECK-NEXT: %[[INC:.+]] = comb.concat %c0_i14, %[[GUARD]] : i14, i1
// CHECK-NEXT: comb.add %[[FLOOR]], %[[INC]] : i15
// CHECK-NOT: comb.icmp
// CHECK: %y0_0_r0 = seq.compreg %{{.+}}, %clk : i16
// CHECK: hw.output %y0_0_r0, %y0_1_r0, %y0_2_r0 : i16, i16, i16

// ReLU into ap_ufixed<8,4> (TRN, WRAP): the sign selects 0, else bits 6..13 (truncation and wrap are wiring).
// CHECK-LABEL: hw.module @myproject_act(
// CHECK: %[[S:.+]] = comb.extract %x0_0 from 15 : (i16) -> i1
// CHECK-NEXT: %[[B:.+]] = comb.extract %x0_0 from 6 : (i16) -> i8
// CHECK-NEXT: comb.mux %[[S]], %c0_i8, %[[B]] : i8

// CHECK-LABEL: hw.module @myproject(in %clk : !seq.clock, in %rst : i1, in %in_valid : i1, in %x0_0 : i16
// CHECK-SAME: out in_ready : i1, out out_valid : i1, out y0_0 : i8
// CHECK: hw.instance "u_myproject_fc1" @myproject_fc1(x0_0: %x0_0: i16
// CHECK: hw.instance "u_myproject_act" @myproject_act(x0_0: %u_myproject_fc1.y0_0: i16
// CHECK: %valid_1 = seq.compreg %in_valid, %clk reset %rst, %false : i1
// CHECK-NEXT: %valid_2 = seq.compreg %valid_1, %clk reset %rst, %false : i1
// CHECK-NEXT: hw.output %true, %valid_2
