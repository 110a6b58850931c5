// LayerNorm and RMSNorm on int64 stored integers (fxp.layernorm): python/fxflow/fixed/layernorm.py `layernorm`
// (and hls4ml 1.3's, `hls4ml_layernorm`) in blocks of rows, for the rows whose every intermediate fits int64
// (decided in Python: `int64_plan` / `hls4ml_int64_plan`, which also decide whether an ordered sum may be taken
// at once and whether the differences are exact shifts).  Every
// assignment goes through fixed.h's fx_assign with parameters computed in Python; the integer operations in
// between (sums, products, shifts, the division toward zero, the integer square root) are exact.
// Built by fxflow/emulator/native.py, called through ctypes from fxflow/emulator/transformer.py.

#include <math.h>
#include <stdint.h>

#include "fixed.h"

// the scalars, then the assignments (FX_ASSIGN_FIELDS each), as one int64 array (emulator/transformer.py
// `_native_norm_params` writes this layout)
enum {
  LN_RMS,          // 1: RMSNorm (no mean)
  LN_AT_ONCE,      // 1: the exact sum assigned to accum once (equal to the ordered sum: decided in Python)
  LN_X_SHIFT,      // x's left shift onto the sum's grid g
  LN_ACC_SHIFT,    // accum's left shift onto g
  LN_DIFF_X,       // x's left shift into diff_t, or -1: the assignment LN_A_DIFF_X
  LN_DIFF_MEAN,    // likewise for the mean
  LN_DIV_SHIFT,    // log2 n when n is a power of two, else -1
  LN_POWER,        // p: r = min(isqrt(2^p // (v + E)), top), top when v + E <= 0
  LN_EPS,          // E
  LN_TOP,          // 2^w - 1
  LN_SCALARS,
};
enum { LN_A_ACCUM, LN_A_MEAN, LN_A_DIFF_X, LN_A_DIFF_MEAN, LN_A_VAR, LN_A_NORM, LN_A_OUT, LN_ASSIGNMENTS };

static inline int64_t shl(int64_t a, int64_t s) { return (int64_t)((uint64_t)a << s); }

#define LANES 32  // rows per block: the passes run over the block's rows (independent rows: they vectorize)

// a[b] / n truncated toward zero (fixed/layernorm.py `divide_toward_zero`), |a| < 2^62; k = log2 n or -1
static void divide_toward_zero(int64_t *a, int64_t n, int64_t k) {
  if (k >= 0) {
    for (int b = 0; b < LANES; b++) a[b] = (a[b] + ((a[b] >> 63) & (n - 1))) >> k;
  } else {
    for (int b = 0; b < LANES; b++) a[b] /= n;  // C's division truncates toward zero
  }
}

// `_to_exact` on v[0..count): a left shift when diff_t covers the format, else the assignment
static void to_exact(int64_t *v, long count, int64_t shift, const int64_t *assignment) {
  if (shift >= 0) {
    for (long i = 0; i < count; i++) v[i] = shl(v[i], shift);
  } else {
    fx_assign_each_of(v, count, assignment);
  }
}

// the largest r <= top with r^2 ve <= 2^p: isqrt(floor(2^p / ve)) capped (`_inv_sqrt_int64`), top for ve <= 0
static inline int64_t inv_sqrt(int64_t ve, int64_t p, int64_t top) {
  const int64_t q = (INT64_C(1) << p) / (ve > 0 ? ve : 1);  // <= 2^62
  int64_t r = (int64_t)sqrt((double)q);  // within one of isqrt(q) (`_inv_sqrt_int64`): one correction each way
  r -= r * r > q;                        // (r^2 < 2^63)
  r += (r + 1) * (r + 1) <= q;
  return ve <= 0 || r > top ? top : r;
}

// one block of LANES rows (the first `count` real, the others zeros): d [n][LANES] holds the block's x, then
// its differences, then the results; s the scalars, a the assignments
static void norm_block(const int64_t *__restrict__ x, long count, long n, long sx_r, long sx_c,
                       const int64_t *__restrict__ gamma, const int64_t *__restrict__ beta, const int64_t *s,
                       const int64_t (*a)[FX_ASSIGN_FIELDS], int64_t *__restrict__ y, long sy_r, long sy_c,
                       int64_t *__restrict__ d) {
  int64_t q[LANES] = {0}, m[LANES] = {0}, r[LANES];
  const long size = n * LANES;
  for (long j = 0; j < n; j++) {
    int64_t *dj = d + j * LANES;
    for (long b = 0; b < count; b++) dj[b] = x[b * sx_r + j * sx_c];
    for (long b = count; b < LANES; b++) dj[b] = 0;
  }
  if (!s[LN_RMS]) {
    const int64_t xs = s[LN_X_SHIFT], as = s[LN_ACC_SHIFT];
    for (long j = 0; j < n; j++) {
      const int64_t *dj = d + j * LANES;
      if (s[LN_AT_ONCE]) {
        for (int b = 0; b < LANES; b++) m[b] += shl(dj[b], xs);
      } else {  // the ordered sum, assigned step by step
        for (int b = 0; b < LANES; b++) m[b] = shl(m[b], as) + shl(dj[b], xs);
        fx_assign_each_of(m, LANES, a[LN_A_ACCUM]);
      }
    }
    if (s[LN_AT_ONCE]) fx_assign_each_of(m, LANES, a[LN_A_ACCUM]);
    fx_assign_each_of(m, LANES, a[LN_A_MEAN]);
    divide_toward_zero(m, n, s[LN_DIV_SHIFT]);
    to_exact(m, LANES, s[LN_DIFF_MEAN], a[LN_A_DIFF_MEAN]);
    to_exact(d, size, s[LN_DIFF_X], a[LN_A_DIFF_X]);
    for (long j = 0; j < n; j++)
      for (int b = 0; b < LANES; b++) d[j * LANES + b] -= m[b];
  }
  for (long j = 0; j < n; j++)
    for (int b = 0; b < LANES; b++) q[b] += d[j * LANES + b] * d[j * LANES + b];
  fx_assign_each_of(q, LANES, a[LN_A_VAR]);
  divide_toward_zero(q, n, s[LN_DIV_SHIFT]);
  for (int b = 0; b < LANES; b++) r[b] = inv_sqrt(q[b] + s[LN_EPS], s[LN_POWER], s[LN_TOP]);
  for (long j = 0; j < n; j++)
    for (int b = 0; b < LANES; b++) d[j * LANES + b] *= r[b];
  fx_assign_each_of(d, size, a[LN_A_NORM]);
  for (long j = 0; j < n; j++)
    for (int b = 0; b < LANES; b++) d[j * LANES + b] = d[j * LANES + b] * gamma[j] + beta[j];
  fx_assign_each_of(d, size, a[LN_A_OUT]);
  for (long j = 0; j < n; j++)
    for (long b = 0; b < count; b++) y[b * sy_r + j * sy_c] = d[j * LANES + b];
}

// hls4ml 1.3's LayerNorm (fixed/layernorm.py `hls4ml_layernorm`): the scalars, then the assignments
enum { HLS_AT_ONCE, HLS_K_INV, HLS_TABLE_SIZE, HLS_SCALARS };
enum { HLS_A_INPUT, HLS_A_SUM, HLS_A_PRODUCT, HLS_A_INDEX, HLS_A_OUT, HLS_ASSIGNMENTS };

// sum[b] = the ordered sum of the accum terms t[j][b] (`ordered_sum` on accum's grid), at once or step by step
static void hls4ml_sum(const int64_t *t, long n, int64_t at_once, const int64_t *assignment, int64_t *sum) {
  for (int b = 0; b < LANES; b++) sum[b] = 0;
  for (long j = 0; j < n; j++) {
    for (int b = 0; b < LANES; b++) sum[b] += t[j * LANES + b];
    if (!at_once) fx_assign_each_of(sum, LANES, assignment);
  }
  if (at_once) fx_assign_each_of(sum, LANES, assignment);
}

// one block of LANES rows (the first `count` real, the others zeros); d [n][LANES], e [n][LANES] scratch
static void hls4ml_block(const int64_t *__restrict__ x, long count, long n, long sx_r, long sx_c,
                         const int64_t *__restrict__ gamma, const int64_t *__restrict__ beta,
                         const int64_t *__restrict__ table, const int64_t *s, const int64_t (*a)[FX_ASSIGN_FIELDS],
                         int64_t *__restrict__ y, long sy_r, long sy_c, int64_t *__restrict__ d,
                         int64_t *__restrict__ e) {
  int64_t m[LANES], r[LANES];
  const long size = n * LANES;
  for (long j = 0; j < n; j++) {
    for (long b = 0; b < count; b++) d[j * LANES + b] = x[b * sx_r + j * sx_c];
    for (long b = count; b < LANES; b++) d[j * LANES + b] = 0;
  }
  fx_assign_each_of(d, size, a[HLS_A_INPUT]);  // a_j = accum(x_j)
  hls4ml_sum(d, n, s[HLS_AT_ONCE], a[HLS_A_SUM], m);
  for (int b = 0; b < LANES; b++) m[b] *= s[HLS_K_INV];
  fx_assign_each_of(m, LANES, a[HLS_A_PRODUCT]);  // m = accum(s * k)
  for (long j = 0; j < n; j++)
    for (int b = 0; b < LANES; b++) d[j * LANES + b] -= m[b];
  fx_assign_each_of(d, size, a[HLS_A_SUM]);  // d_j = accum(a_j - m)
  for (long i = 0; i < size; i++) e[i] = d[i] * d[i];
  fx_assign_each_of(e, size, a[HLS_A_PRODUCT]);  // accum(d_j * d_j)
  hls4ml_sum(e, n, s[HLS_AT_ONCE], a[HLS_A_SUM], r);
  for (int b = 0; b < LANES; b++) r[b] *= s[HLS_K_INV];
  fx_assign_each_of(r, LANES, a[HLS_A_PRODUCT]);  // v = accum(q * k)
  for (int b = 0; b < LANES; b++) r[b] *= s[HLS_TABLE_SIZE];
  fx_assign_each_of(r, LANES, a[HLS_A_INDEX]);  // the index: toward zero, the low 32 bits
  const int64_t top = s[HLS_TABLE_SIZE] - 1;
  for (int b = 0; b < LANES; b++) r[b] = table[r[b] < 0 ? 0 : (r[b] > top ? top : r[b])];
  for (long j = 0; j < n; j++)
    for (int b = 0; b < LANES; b++) d[j * LANES + b] = d[j * LANES + b] * r[b] * gamma[j] + beta[j];
  fx_assign_each_of(d, size, a[HLS_A_OUT]);
  for (long j = 0; j < n; j++)
    for (long b = 0; b < count; b++) y[b * sy_r + j * sy_c] = d[j * LANES + b];
}

// the parameters as local copies (no reloads after the stores to y): `scalars` values, then the assignments
static void unpack(const int64_t *params, int64_t *s, int scalars, int64_t (*a)[FX_ASSIGN_FIELDS], int assignments) {
  for (int k = 0; k < scalars; k++) s[k] = params[k];
  for (int k = 0; k < assignments; k++)
    for (int j = 0; j < FX_ASSIGN_FIELDS; j++) a[k][j] = params[scalars + k * FX_ASSIGN_FIELDS + j];
}

extern "C" {

// y[i, j] for rows i < rows of n stored integers x[i * sx_r + j * sx_c] (element strides); gamma and beta
// scaled onto the grid of t * gamma + beta; scratch: n LANES int64
void fxflow_layernorm(const int64_t *x, long rows, long n, long sx_r, long sx_c, const int64_t *gamma,
                      const int64_t *beta, const int64_t *params, int64_t *y, long sy_r, long sy_c,
                      int64_t *scratch) {
  int64_t s[LN_SCALARS], a[LN_ASSIGNMENTS][FX_ASSIGN_FIELDS];
  unpack(params, s, LN_SCALARS, a, LN_ASSIGNMENTS);
  for (long i = 0; i < rows; i += LANES) {
    const long count = rows - i < LANES ? rows - i : LANES;
    norm_block(x + i * sx_r, count, n, sx_r, sx_c, gamma, beta, s, a, y + i * sy_r, sy_r, sy_c, scratch);
  }
}

// the same for hls4ml's LayerNorm; table: its 1/sqrt table (table_t stored integers); scratch: 2 n LANES int64
void fxflow_hls4ml_layernorm(const int64_t *x, long rows, long n, long sx_r, long sx_c, const int64_t *gamma,
                             const int64_t *beta, const int64_t *table, const int64_t *params, int64_t *y, long sy_r,
                             long sy_c, int64_t *scratch) {
  int64_t s[HLS_SCALARS], a[HLS_ASSIGNMENTS][FX_ASSIGN_FIELDS];
  unpack(params, s, HLS_SCALARS, a, HLS_ASSIGNMENTS);
  for (long i = 0; i < rows; i += LANES) {
    const long count = rows - i < LANES ? rows - i : LANES;
    hls4ml_block(x + i * sx_r, count, n, sx_r, sx_c, gamma, beta, table, s, a, y + i * sy_r, sy_r, sy_c, scratch,
                 scratch + n * LANES);
  }
}

long fxflow_layernorm_lanes(void) { return LANES; }

}  // extern "C"
