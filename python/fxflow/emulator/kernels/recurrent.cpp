// The float64 LSTM and GRU time loops of python/fxflow/emulator/recurrent.py (`_lstm_kernel` /
// `_run_lstm_kernel`, `_gru_kernel` / `_run_gru_kernel`) in native code: the same operations on the same exact
// dyadic values, so the same bits.  Every product, sum, position and rounding argument is an exact float64 by
// the kernels' construction (checked in Python when a kernel is built), so neither the order of the gate sums
// nor fused multiply-adds change a result.
//
// Sizes are run-time arguments (one build serves every model).  The batch runs in blocks of LANES samples:
// per block the whole time loop, with the block's product operand [h; x_t], cell state and gate positions in
// small buffers that stay in L1.  Built by fxflow/emulator/native.py, called through ctypes.

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __AVX__
#include <immintrin.h>
#endif

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

static inline vec4 vfloor(vec4 v) {
#ifdef __AVX__
  return (vec4)_mm256_floor_pd((__m256d)v);
#else
  vec4 r;
  for (int i = 0; i < 4; i++) r[i] = floor(v[i]);
  return r;
#endif
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

struct rnn_args {
  const double *w;      // [4H, H + F + 1]: the cell's gate rows, columns h, x, bias
  const double *table;  // the cell's table segments, pre-scaled
  double top;           // the last table position
  const int64_t *x;     // stored inputs, element strides per sample, step, feature
  long sx_n, sx_t, sx_f;
  long n, steps, feats, hidden;
  const double *p;      // the cell's scalars (LstmCell, GruCell)
  int sequences;        // out: [T, H, N] (every step) or [H, N] (the last h)
  int64_t *out;
};

// LSTM gate rows o, i, f, g; p: position of tanh(c') = c' * p[0] + p[1], c' = clip(floor(X + p[2]), p[3], p[4]),
// h' = clip(floor(O tanh(c') + p[5]), p[6], p[7]) (+-inf bounds: the format never overflows)
struct LstmCell {
  static void update(const rnn_args *a, const block_t *pre, long j, vec4 *c, vec4 *h) {
    const long H = a->hidden;
    const double *tab = a->table, top = a->top, *p = a->p;
    for (int v = 0; v < LANES / 4; v++) {
      const vec4 o = lookup(tab, top, pre[j][v]), i = lookup(tab, top, pre[H + j][v]);
      const vec4 f = lookup(tab, top, pre[2 * H + j][v]), g = lookup(tab, top, pre[3 * H + j][v]);
      const vec4 cs = vclip(vfloor(i * g + f * c[v] + p[2]), p[3], p[4]);
      c[v] = cs;
      const vec4 tc = lookup(tab, top, cs * p[0] + p[1]);
      h[v] = vclip(vfloor(o * tc + p[5]), p[6], p[7]);
    }
  }
};

// GRU rows: r and z positions, n's input-part position, hn before its assignment; p: hn = clip(floor(hn),
// p[0], p[1]); n's position adds hn r; h' = clip(floor(N + Z (H - N) + p[2]), p[3], p[4])
struct GruCell {
  static void update(const rnn_args *a, const block_t *pre, long j, vec4 *, vec4 *h) {
    const long H = a->hidden;
    const double *tab = a->table, top = a->top, *p = a->p;
    for (int v = 0; v < LANES / 4; v++) {
      const vec4 r = lookup(tab, top, pre[j][v]), zg = lookup(tab, top, pre[H + j][v]);
      const vec4 hn = vclip(vfloor(pre[3 * H + j][v]), p[0], p[1]);
      const vec4 nn = lookup(tab, top, pre[2 * H + j][v] + hn * r);
      h[v] = vclip(vfloor((h[v] - nn) * zg + nn + p[2]), p[3], p[4]);
    }
  }
};

// one block of `lanes` (<= LANES) samples from sample n0 through the whole sequence
template <class Cell>
static void rnn_block(const rnn_args *a, long n0, int lanes, block_t *z, block_t *pre, block_t *c) {
  const long H = a->hidden, F = a->feats, N = a->n;
  memset(z, 0, sizeof(block_t) * (H + F));
  memset(c, 0, sizeof(block_t) * H);
  for (long t = 0; t < a->steps; t++) {
    for (long f = 0; f < F; f++) {
      double *zf = (double *)z[H + f];
      const int64_t *xf = a->x + n0 * a->sx_n + t * a->sx_t + f * a->sx_f;
      for (int l = 0; l < lanes; l++) zf[l] = (double)xf[l * a->sx_n];
    }
    gate_product(a->w, 4 * H, H + F + 1, z, pre);
    for (long j = 0; j < H; j++) {  // h' into the operand's row j (read by this step's product only)
      Cell::update(a, pre, j, c[j], z[j]);
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

template <class Cell>
static int run(const rnn_args &a) {
  void *buf = NULL;  // the block's operand rows, gate rows and cell state, 64-byte aligned
  if (posix_memalign(&buf, 64, sizeof(block_t) * (6 * a.hidden + a.feats))) return -1;
  block_t *z = (block_t *)buf, *pre = z + a.hidden + a.feats, *c = pre + 4 * a.hidden;
  for (long n0 = 0; n0 < a.n; n0 += LANES)
    rnn_block<Cell>(&a, n0, (int)(a.n - n0 < LANES ? a.n - n0 : LANES), z, pre, c);
  free(buf);
  return 0;
}

extern "C" {

// The whole batch, cell 0 LSTM or 1 GRU; 0, or -1 when the block buffers cannot be allocated.
int fxflow_rnn(int cell, const double *w, const double *table, long table_size, const int64_t *x, long sx_n,
               long sx_t, long sx_f, long n, long steps, long feats, long hidden, const double *params,
               int sequences, int64_t *out) {
  const rnn_args a = {w, table, (double)(table_size - 1), x, sx_n, sx_t, sx_f, n, steps, feats, hidden, params,
                      sequences, out};
  return cell == 0 ? run<LstmCell>(a) : run<GruCell>(a);
}

}  // extern "C"
