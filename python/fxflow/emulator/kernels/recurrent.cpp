// The float64 LSTM time loop of python/fxflow/emulator/recurrent.py (`_lstm_kernel`, `_run_lstm_kernel`) in
// native code: the same operations on the same exact dyadic values, so the same bits.  Every product, sum,
// position and rounding argument is an exact float64 by the kernel's construction (checked in Python when
// the kernel is built), so neither the order of the gate sums nor fused multiply-adds change a result.
//
// Sizes are run-time arguments (one build serves every model).  The batch runs in blocks of LANES samples:
// per block the whole time loop, with the block's product operand [h; x_t], cell state and gate positions in
// small buffers that stay in L1.  Built by fxflow/emulator/native.py, called through ctypes.

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LANES 8  // samples per block: two 4-double vectors (AVX2) or four SSE2 pairs
#define ROWS 4   // gate rows per pass of the product: ROWS x LANES accumulators in registers

typedef double vec4 __attribute__((vector_size(32)));
typedef vec4 block_t[LANES / 4];  // one operand row, gate row or state row of a block
typedef int int4 __attribute__((vector_size(16)));

// pre[r] = bias_r + sum_k w[r, k] z[k] for the 4H gate rows of one block (w: [4H, K] row-major, bias in
// column K - 1, z: the block's first K - 1 operand rows)
static void gate_product(const double *__restrict__ w, long rows, long k_len, const block_t *__restrict__ z,
                         block_t *__restrict__ pre) {
  const long kz = k_len - 1;
  for (long r = 0; r < rows; r += ROWS) {
    const double *wr = w + r * k_len;
    vec4 acc[ROWS][LANES / 4];
    for (int i = 0; i < ROWS; i++)
      for (int v = 0; v < LANES / 4; v++) acc[i][v] = vec4{} + wr[i * k_len + kz];
    for (long k = 0; k < kz; k++) {
      for (int i = 0; i < ROWS; i++) {
        const double wk = wr[i * k_len + k];
        for (int v = 0; v < LANES / 4; v++) acc[i][v] += wk * z[k][v];
      }
    }
    for (int i = 0; i < ROWS; i++)
      for (int v = 0; v < LANES / 4; v++) pre[r + i][v] = acc[i][v];
  }
}

struct lstm_args {
  const double *w;      // [4H, H + F + 1]: rows o, i, f, g (scaled onto table positions), columns h, x, bias
  const double *table;  // segments o | i | f | g | tanh(c'), pre-scaled
  long table_size;
  const int64_t *x;     // stored inputs, element strides per sample, step, feature
  long sx_n, sx_t, sx_f;
  long n, steps, feats, hidden;
  double state_scale, state_start;             // position of tanh(c') = c' * scale + start
  double state_half, state_lo, state_hi;       // c' = clip(floor(X + half), lo, hi)
  double result_half, result_lo, result_hi;    // h' likewise
  int sequences;        // out: [T, H, N] (every step) or [H, N] (the last h)
  int64_t *out;
};

static inline vec4 vfloor(vec4 v) {
  vec4 r;
  for (int i = 0; i < 4; i++) r[i] = floor(v[i]);
  return r;
}

static inline vec4 vclip(vec4 v, double lo, double hi) {  // np.clip: max with lo, then min with hi
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

// table entries at positions p: truncated to int (floor of the kernel's non-negative positions) and clamped
// into the table like numpy's take(mode="clip"); clamping first in float64 gives the same index and keeps the
// conversion in 32 bits (a kernel's table holds at most 2^20 entries).  AVX2 gathers were no faster.
static inline vec4 lookup(const double *__restrict__ tab, double top, vec4 p) {
  p = p > 0.0 ? p : 0.0;
  p = p < top ? p : top;
  const int4 q = __builtin_convertvector(p, int4);
  return vec4{tab[q[0]], tab[q[1]], tab[q[2]], tab[q[3]]};
}

// the cell update of one hidden unit of a block: gates from their positions, c' and h' (into the operand)
static inline void cell_update(const double *__restrict__ tab, double top, const vec4 *po, const vec4 *pi,
                               const vec4 *pf, const vec4 *pg, vec4 *c, vec4 *h, const lstm_args *a) {
  // f * c + i * g with one rounding per operation or fused: the same exact value
  for (int v = 0; v < LANES / 4; v++) {
    const vec4 o = lookup(tab, top, po[v]), i = lookup(tab, top, pi[v]);
    const vec4 f = lookup(tab, top, pf[v]), g = lookup(tab, top, pg[v]);
    const vec4 cs = vclip(vfloor(i * g + f * c[v] + a->state_half), a->state_lo, a->state_hi);
    c[v] = cs;
    const vec4 tc = lookup(tab, top, cs * a->state_scale + a->state_start);
    h[v] = vclip(vfloor(o * tc + a->result_half), a->result_lo, a->result_hi);
  }
}

// one block of `lanes` (<= LANES) samples from sample n0 through the whole sequence
static void lstm_block(const lstm_args *a, long n0, int lanes, block_t *z, block_t *pre, block_t *c) {
  const long H = a->hidden, F = a->feats, N = a->n;
  const double *tab = a->table;
  const double top = (double)(a->table_size - 1);
  memset(z, 0, sizeof(block_t) * (H + F));
  memset(c, 0, sizeof(block_t) * H);
  for (long t = 0; t < a->steps; t++) {
    for (long f = 0; f < F; f++) {
      double *zf = (double *)z[H + f];
      const int64_t *xf = a->x + n0 * a->sx_n + t * a->sx_t + f * a->sx_f;
      for (int l = 0; l < lanes; l++) zf[l] = (double)xf[l * a->sx_n];
    }
    gate_product(a->w, 4 * H, H + F + 1, z, pre);
    for (long j = 0; j < H; j++) {  // gate rows o, i, f, g; h' into the operand's row j
      cell_update(tab, top, pre[j], pre[H + j], pre[2 * H + j], pre[3 * H + j], c[j], z[j], a);
      const double *h = (const double *)z[j];
      if (a->sequences) {
        int64_t *o = a->out + (t * H + j) * N + n0;
        for (int l = 0; l < lanes; l++) o[l] = (int64_t)h[l];
      }
    }
  }
  if (!a->sequences)
    for (long j = 0; j < H; j++) {
      const double *h = (const double *)z[j];
      for (int l = 0; l < lanes; l++) a->out[j * N + n0 + l] = (int64_t)h[l];
    }
}

extern "C" {

int fxflow_kernels_version(void) { return 1; }

// The whole batch; 0, or -1 when the block buffers cannot be allocated.
int fxflow_lstm(const double *w, const double *table, long table_size, const int64_t *x, long sx_n, long sx_t,
                long sx_f, long n, long steps, long feats, long hidden, double state_scale, double state_start,
                double state_half, double state_lo, double state_hi, double result_half, double result_lo,
                double result_hi, int sequences, int64_t *out) {
  const lstm_args a = {w, table, table_size, x, sx_n, sx_t, sx_f, n, steps, feats, hidden, state_scale,
                       state_start, state_half, state_lo, state_hi, result_half, result_lo, result_hi, sequences,
                       out};
  void *buf = NULL;  // the block's operand rows, gate rows and cell state, 64-byte aligned
  if (posix_memalign(&buf, 64, sizeof(block_t) * (6 * hidden + feats))) return -1;
  block_t *z = (block_t *)buf, *pre = z + hidden + feats, *c = pre + 4 * hidden;
  for (long n0 = 0; n0 < n; n0 += LANES) lstm_block(&a, n0, (int)(n - n0 < LANES ? n - n0 : LANES), z, pre, c);
  free(buf);
  return 0;
}

}  // extern "C"
