// The fused dense chains of python/fxflow/fixed/chain.py (`DenseChain`) in native code: per block of token rows,
// per dense layer the exact accumulator bias + sum_k w[k, n] x[k], then the layer's ReLUs and assignments in
// order (a ReLU max(0, v) on the value before the assignment of the same entry, as `DenseChain._run_rows`).
//
// Every exactness argument is made in Python (fxflow/fixed/chain.py `native_route`, packed by
// fxflow/emulator/chain_kernel.py): each partial sum stays below 2^53, so the int64 accumulator is exact; a stage
// runs in float64 (fused multiply-adds) only when Python checked that every input and every partial sum is a
// double below 2^51 that the sum holds exactly in any order, where int64 -> float64 is one add of MAGIC and the
// accumulator is rint(sum) read off sum + MAGIC (an integer sum, or a sum whose weights fold the first rounding
// in, as `_fold_rounding` builds them for the NumPy chain).  The assignments are kernels/fixed.h's `fx_assign`
// with parameters computed from fxflow/fixed/quantize.py: this file holds no rounding or overflow rule.
//
// The batch runs in blocks of rows that keep a block's values in L1, features outermost in the block (the rows
// are the vector lanes).  The input is read and the output written through element strides, so either may be
// a transposed view (fxflow/fixed/layout.py).

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "fixed.h"

#define LANES 16          // rows per pass of the product: LANES accumulators in registers
#define BLOCK_VALUES 3072  // 8-byte values of a block's four buffers together (24 KB of a 32 KB L1)
#define MAX_BLOCK 512
#define PASS __attribute__((noinline))  // one pass over a block: kept out of chain_block, whose inlined whole
                                        // compiled to much slower loops (GCC 12)

enum { MODE_INT64 = 0, MODE_FLOAT64 = 1 };
// a stage's header in `dims`: K, N, mode, number of requant entries
enum { ST_K, ST_N, ST_MODE, ST_ENTRIES, ST_FIELDS };
// a requant entry in `entries`: relu first?, assignment?, then FX_ASSIGN_FIELDS parameters
enum { EN_RELU, EN_ASSIGN, EN_PARAMS, EN_FIELDS = EN_PARAMS + FX_ASSIGN_FIELDS };

static const double MAGIC = 6755399441055744.0;  // 1.5 * 2^52
static const int64_t MAGIC_BITS = INT64_C(0x4338000000000000);

static inline double exact_double(int64_t v) {  // |v| < 2^51
  int64_t b = v + MAGIC_BITS;
  double d;
  memcpy(&d, &b, sizeof d);
  return d - MAGIC;
}

static inline int64_t exact_int(double z) {  // rint(z), |z| < 2^51
  const double t = z + MAGIC;
  int64_t b;
  memcpy(&b, &t, sizeof b);
  return b - MAGIC_BITS;
}

// acc[n][r] = w[K][n] + sum_k w[k][n] x[k][r] (w: [K + 1, N] row-major, the bias last; x, acc: row stride
// `stride`) for the first `cols` (a multiple of LANES) rows
template <class T>
PASS static void product(const T *__restrict__ w, long kk, long nn, const T *__restrict__ x, T *__restrict__ acc,
                    long stride, long cols) {
  for (long r0 = 0; r0 < cols; r0 += LANES)
    for (long n = 0; n < nn; n++) {
      T a[LANES];
      for (int l = 0; l < LANES; l++) a[l] = w[kk * nn + n];
      for (long k = 0; k < kk; k++) {
        const T wk = w[k * nn + n];
        const T *xk = x + k * stride + r0;
        for (int l = 0; l < LANES; l++) a[l] += wk * xk[l];
      }
      T *o = acc + n * stride + r0;
      for (int l = 0; l < LANES; l++) o[l] = a[l];
    }
}

// v = fx_assign(v, params) elementwise (fixed.h's fx_assign_each_of: one loop per shift and overflow kind, each
// branch-free)
PASS static void assign_all(int64_t *__restrict__ v, long count, const int64_t *params) {
  fx_assign_each_of(v, count, params);
}

// dst[j, i] = src[i, j] for i < m, j < n (row strides s and d): in 4 x 4 tiles of AVX2 registers when the
// build has them
static void transpose(const int64_t *__restrict__ src, long s, int64_t *__restrict__ dst, long d, long m, long n) {
  long i0 = 0;
#ifdef __AVX2__
  for (; i0 + 4 <= m; i0 += 4) {
    long j0 = 0;
    for (; j0 + 4 <= n; j0 += 4) {
      const int64_t *a = src + i0 * s + j0;
      const __m256i r0 = _mm256_loadu_si256((const __m256i *)a), r1 = _mm256_loadu_si256((const __m256i *)(a + s));
      const __m256i r2 = _mm256_loadu_si256((const __m256i *)(a + 2 * s));
      const __m256i r3 = _mm256_loadu_si256((const __m256i *)(a + 3 * s));
      const __m256i t0 = _mm256_unpacklo_epi64(r0, r1), t1 = _mm256_unpackhi_epi64(r0, r1);
      const __m256i t2 = _mm256_unpacklo_epi64(r2, r3), t3 = _mm256_unpackhi_epi64(r2, r3);
      int64_t *b = dst + j0 * d + i0;
      _mm256_storeu_si256((__m256i *)b, _mm256_permute2x128_si256(t0, t2, 0x20));
      _mm256_storeu_si256((__m256i *)(b + d), _mm256_permute2x128_si256(t1, t3, 0x20));
      _mm256_storeu_si256((__m256i *)(b + 2 * d), _mm256_permute2x128_si256(t0, t2, 0x31));
      _mm256_storeu_si256((__m256i *)(b + 3 * d), _mm256_permute2x128_si256(t1, t3, 0x31));
    }
    for (long i = i0; i < i0 + 4; i++)
      for (long j = j0; j < n; j++) dst[j * d + i] = src[i * s + j];
  }
#endif
  for (long i = i0; i < m; i++)
    for (long j = 0; j < n; j++) dst[j * d + i] = src[i * s + j];
}

// dst[r, f] = src[r, f] for r < rows, f < feats through element strides: a transpose when one side is
// contiguous along features and the other along rows (a row-major array and the block), else element by element
// along the contiguous side
PASS static void strided_copy(const int64_t *__restrict__ src, long s_r, long s_f, int64_t *__restrict__ dst, long d_r,
                              long d_f, long rows, long feats) {
  if (s_f == 1 && d_r == 1) {
    transpose(src, s_r, dst, d_f, rows, feats);
  } else if (s_r == 1 && d_f == 1) {
    transpose(src, s_f, dst, d_r, feats, rows);
  } else if (s_f == 1 || d_f == 1) {
    for (long r = 0; r < rows; r++)
      for (long f = 0; f < feats; f++) dst[r * d_r + f * d_f] = src[r * s_r + f * s_f];
  } else {
    for (long f = 0; f < feats; f++)
      for (long r = 0; r < rows; r++) dst[r * d_r + f * d_f] = src[r * s_r + f * s_f];
  }
}

struct chain_args {
  long stages;
  const long *dims;       // per stage ST_FIELDS
  const int64_t *wi;      // per stage [K + 1, N]: the weights on the accumulator's grid, then the bias
  const double *wf;       // the same values as doubles (read by MODE_FLOAT64 stages)
  const int64_t *entries; // per stage its entries, EN_FIELDS each
  const int64_t *x;       // [rows, K0] through element strides
  long sx_r, sx_c;
  int64_t *out;           // [rows, N_last] through element strides
  long so_r, so_c;
};

// one block of `rows` rows from row r0; buffers of `stride` values per feature
static void chain_block(const chain_args *a, long r0, long rows, long stride, int64_t *cur, int64_t *nxt,
                        double *xd, double *accd) {
  const long cols = (rows + LANES - 1) / LANES * LANES;
  const long k0 = a->dims[ST_K];
  // the input, features outermost (the padding rows zero: bounded values)
  strided_copy(a->x + r0 * a->sx_r, a->sx_r, a->sx_c, cur, 1, stride, rows, k0);
  for (long k = 0; k < k0; k++)
    for (long r = rows; r < cols; r++) cur[k * stride + r] = 0;
  const int64_t *wi = a->wi, *en = a->entries;
  const double *wf = a->wf;
  long nn = 0;
  for (long s = 0; s < a->stages; s++) {
    const long *d = a->dims + s * ST_FIELDS;
    const long kk = d[ST_K];
    nn = d[ST_N];
    if (d[ST_MODE] == MODE_FLOAT64) {
      for (long k = 0; k < kk; k++)
        for (long r = 0; r < cols; r++) xd[k * stride + r] = exact_double(cur[k * stride + r]);
      product<double>(wf, kk, nn, xd, accd, stride, cols);
      for (long n = 0; n < nn; n++)
        for (long r = 0; r < cols; r++) nxt[n * stride + r] = exact_int(accd[n * stride + r]);
    } else {
      product<int64_t>(wi, kk, nn, cur, nxt, stride, cols);
    }
    wi += (kk + 1) * nn;
    wf += (kk + 1) * nn;
    for (long e = 0; e < d[ST_ENTRIES]; e++, en += EN_FIELDS)
      for (long n = 0; n < nn; n++) {
        int64_t *v = nxt + n * stride;
        if (en[EN_RELU])
          for (long r = 0; r < cols; r++) v[r] = v[r] < 0 ? 0 : v[r];
        if (en[EN_ASSIGN]) assign_all(v, cols, en + EN_PARAMS);
      }
    int64_t *t = cur;
    cur = nxt;
    nxt = t;
  }
  strided_copy(cur, 1, stride, a->out + r0 * a->so_r, a->so_r, a->so_c, rows, nn);
}

extern "C" {

// The whole batch of `rows` rows; 0, or -1 when the block buffers cannot be allocated.
int fxflow_dense_chain(long stages, const long *dims, const int64_t *wi, const double *wf, const int64_t *entries,
                       const int64_t *x, long rows, long sx_r, long sx_c, int64_t *out, long so_r, long so_c) {
  long width = 1;  // the widest layer input or output
  for (long s = 0; s < stages; s++)
    for (int f = ST_K; f <= ST_N; f++) width = dims[s * ST_FIELDS + f] > width ? dims[s * ST_FIELDS + f] : width;
  long stride = BLOCK_VALUES / (4 * width) / LANES * LANES;
  stride = stride < LANES ? LANES : (stride > MAX_BLOCK ? MAX_BLOCK : stride);
  void *buf = NULL;
  if (posix_memalign(&buf, 64, 4 * sizeof(int64_t) * width * stride)) return -1;
  int64_t *cur = (int64_t *)buf, *nxt = cur + width * stride;
  double *xd = (double *)(nxt + width * stride), *accd = xd + width * stride;
  const chain_args a = {stages, dims, wi, wf, entries, x, sx_r, sx_c, out, so_r, so_c};
  for (long r0 = 0; r0 < rows; r0 += stride)
    chain_block(&a, r0, rows - r0 < stride ? rows - r0 : stride, stride, cur, nxt, xd, accd);
  free(buf);
  return 0;
}

}  // extern "C"
