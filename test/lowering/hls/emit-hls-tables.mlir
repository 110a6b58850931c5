// RUN: fxflow-opt --pass-pipeline='builtin.module(fxp-assign-precision{config=%S/../../passes/Inputs/tables.yaml},convert-fxp-to-df)' %s | fxflow-translate --emit-hls-cpp | filecheck %s
// The tables of fxp-assign-precision-tables.mlir (CFG) emitted as exact constant arrays; indices come from the
// stored bits (.range) and an arithmetic shift, as in fxflow.fixed.table / fxflow.fixed.softmax.

func.func @main(%arg0: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %c = "fxp.clamp"(%arg0) {min = -1.0 : f64, max = 2.5 : f64} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("cl")
  %a = "fxp.constant"() {value = dense<[0.25, -0.5, 0.125, 1.0]> : tensor<4xf32>} : () -> tensor<4xf32> loc("pr")
  %p = "fxp.prelu"(%c, %a) : (tensor<1x4xf32>, tensor<4xf32>) -> tensor<1x4xf32> loc("pr")
  %l = "fxp.lut"(%p) ({
  ^bb0(%x: f32):
    %one = arith.constant 1.0 : f32
    %n = arith.negf %x : f32
    %e = math.exp %n : f32
    %s = arith.addf %e, %one : f32
    %r = arith.divf %one, %s : f32
    "fxp.yield"(%r) : (f32) -> ()
  }) : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("sig")
  %sm = "fxp.softmax"(%l) {axis = 1 : i64, implementation = "stable"} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("sm")
  return %sm : tensor<1x4xf32>
}

// CHECK-LABEL: // ===== firmware/defines.h =====
// CHECK:       typedef ap_fixed<5,2,AP_RND,AP_WRAP> pr_alpha_t;
// CHECK:       typedef ap_ufixed<8,0,AP_RND,AP_SAT> sig_table_t;
// CHECK:       typedef ap_fixed<18,8,AP_RND,AP_SAT> sm_exp_table_t;
// CHECK:       typedef ap_fixed<10,4,AP_TRN,AP_WRAP> sm_accum_t;
// CHECK:       typedef ap_fixed<18,8,AP_RND,AP_SAT> sm_inv_input_t;

// CHECK-LABEL: // ===== firmware/layers/cl.cpp =====
// CHECK:         if (x0[i] < input_t(-0x1p+0)) y0[i] = -0x1p+0;
// CHECK-NEXT:    else if (x0[i] > input_t(0x1.4p+1)) y0[i] = 0x1.4p+1;
// CHECK-NEXT:    else y0[i] = x0[i];

// CHECK-LABEL: // ===== firmware/layers/pr.cpp =====
// CHECK:         if (x0[i] > 0) y0[i] = x0[i];
// CHECK-NEXT:    else y0[i] = x0[i] * pr_alpha[i % 4];

// CHECK-LABEL: // ===== firmware/weights/sig_table.h =====
// CHECK:       static const sig_table_t sig_table[8] = {
// CHECK-NEXT:      0x1.cp-6, 0x1.3p-4, 0x1.78p-3, 0x1.84p-2, 0x1.3ep-1, 0x1.a2p-1, 0x1.dap-1, 0x1.fp-1,
// CHECK-LABEL: // ===== firmware/layers/sig.cpp =====
// CHECK:         ap_int<11> r = x0[i].range(10, 0);
// CHECK-NEXT:    ap_int<13> t = r >> 8;
// CHECK-NEXT:    t += 4LL;
// CHECK-NEXT:    y0[i] = sig_table[t.to_int()];

// CHECK-LABEL: // ===== firmware/weights/sm_exp_table.h =====
// CHECK:       static const sm_exp_table_t sm_exp_table[16] = {
// CHECK-NEXT:      0x1p+0, 0x1.108p+0,
// CHECK-LABEL: // ===== firmware/layers/sm.cpp =====
// CHECK:       // fxp.softmax (latency) along axis 1: 1 x 4 x 1 -> ap_fixed<8,3>
// CHECK:           ap_uint<8> u = x0[j].range(7, 0);
// CHECK-NEXT:      e0[j] = sm_exp_table[(u >> 4).to_int()];
// CHECK:       sm_accum_t s1 = e0[0] + e0[1];
// CHECK-NEXT:  sm_accum_t s2 = e0[2] + e0[3];
// CHECK-NEXT:  sm_accum_t s3 = s1 + s2;
// CHECK-NEXT:  sm_inv_input_t si = s3;
// CHECK-NEXT:  ap_uint<18> ui = si.range(17, 0);
// CHECK-NEXT:  sm_inv_table_t r = sm_inv_table[(ui >> 14).to_int()];
// CHECK:           y0[j] = e0[j] * r;
