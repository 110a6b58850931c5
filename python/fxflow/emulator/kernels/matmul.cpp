// fxp.matmul with exact products (fxflow/fixed/matmul.py `matmul`): out[..., m, n] = out_t(sum over k in order of
// a[..., m, k] * b[..., k, n] in acc_t), on int64 products.  fxflow/emulator/attention.py decides that no
// product, partial sum or shift can overflow int64 (bounds from the formats) and whether the sum may be taken
// at once (`sum_at_once`); every assignment goes through fx_assign with parameters from Python.

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "fixed.h"

namespace {

// the plan's scalars
enum {
  MM_AT_ONCE,     // 1: the exact sum, shifted onto acc's grid, assigned once (if MM_ASSIGN_ACC); 0: step by step
  MM_ASSIGN_ACC,  // at once: whether the sum is assigned to acc (else it always fits)
  MM_TERM_SHIFT,  // a product's left shift onto the grid of the sum (at once: onto acc's grid)
  MM_ACC_SHIFT,   // step by step: the accumulator's left shift onto that grid
  MM_NARROW,      // both operands' stored integers fit int32
  MM_FIELDS
};

constexpr long PACKED = 512;  // the largest b tile packed into contiguous rows (K * N entries)

struct Tile {
  const int64_t *a, *b;
  long am, ak, bk, bn;
};

// o[n] = sum over k of a[m, k] * b[k, n] for one row m of a tile (exact: Python's bounds); NARROW: both operands
// fit int32 (a 32 x 32 -> 64-bit multiply), UNIT: b's rows are contiguous
template <bool NARROW, bool UNIT>
inline void row_sums(const Tile &t, long m, long K, long N, int64_t *o) {
  for (long n = 0; n < N; n++) o[n] = 0;
  const int64_t *ar = t.a + m * t.am;
  for (long k = 0; k < K; k++) {
    const int64_t x = ar[k * t.ak];
    const int64_t *br = t.b + k * t.bk;
    for (long n = 0; n < N; n++) {
      const int64_t y = br[UNIT ? n : n * t.bn];
      o[n] += NARROW ? (int64_t)(int32_t)x * (int64_t)(int32_t)y : x * y;
    }
  }
}

template <bool NARROW, bool UNIT>
void tile_at_once(const Tile &t, long M, long K, long N, int64_t shift, int64_t *out) {
  for (long m = 0; m < M; m++) {
    int64_t *o = out + m * N;
    row_sums<NARROW, UNIT>(t, m, K, N, o);
    for (long n = 0; n < N; n++) o[n] = (int64_t)((uint64_t)o[n] << shift);
  }
}

// tile_at_once for contiguous rows of b of a fixed length NN (the attention heads' 4 and 8: unrolled, in registers)
template <bool NARROW, int NN>
void tile_at_once_n(const Tile &t, long M, long K, int64_t shift, int64_t *__restrict out) {
  for (long m = 0; m < M; m++) {
    int64_t s[NN] = {0};
    const int64_t *ar = t.a + m * t.am;
    for (long k = 0; k < K; k++) {
      const int64_t x = ar[k * t.ak];
      const int64_t *__restrict br = t.b + k * t.bk;
      for (int n = 0; n < NN; n++) s[n] += NARROW ? (int64_t)(int32_t)x * (int64_t)(int32_t)br[n] : x * br[n];
    }
    for (int n = 0; n < NN; n++) out[m * NN + n] = (int64_t)((uint64_t)s[n] << shift);
  }
}

#ifdef __AVX2__
// tile_at_once_n<true, NN> with AVX2's 32 x 32 -> 64-bit multiply, four columns a vector
template <int NN>
void tile_at_once_avx2(const Tile &t, long M, long K, int64_t shift, int64_t *out) {
  const __m128i sh = _mm_cvtsi64_si128(shift);
  for (long m = 0; m < M; m++) {
    __m256i s[NN / 4];
    for (int v = 0; v < NN / 4; v++) s[v] = _mm256_setzero_si256();
    const int64_t *ar = t.a + m * t.am;
    for (long k = 0; k < K; k++) {
      const __m256i x = _mm256_set1_epi64x(ar[k * t.ak]);
      const int64_t *br = t.b + k * t.bk;
      for (int v = 0; v < NN / 4; v++)
        s[v] = _mm256_add_epi64(s[v], _mm256_mul_epi32(x, _mm256_loadu_si256((const __m256i *)(br + 4 * v))));
    }
    for (int v = 0; v < NN / 4; v++) _mm256_storeu_si256((__m256i *)(out + m * NN + 4 * v), _mm256_sll_epi64(s[v], sh));
  }
}
#define TILE_NARROW(NN) tile_at_once_avx2<NN>
#else
#define TILE_NARROW(NN) tile_at_once_n<true, NN>
#endif

// acc = acc_t(acc << acc_shift + product << term_shift) for k in order, as fixed/matmul.py `ordered_sum`
void tile_in_order(const Tile &t, long M, long K, long N, const int64_t *plan, const int64_t *acc, int64_t *out) {
  const int64_t ts = plan[MM_TERM_SHIFT], as = plan[MM_ACC_SHIFT];
  for (long m = 0; m < M; m++) {
    int64_t *o = out + m * N;
    for (long n = 0; n < N; n++) o[n] = 0;
    for (long k = 0; k < K; k++) {
      const int64_t x = t.a[m * t.am + k * t.ak];
      const int64_t *br = t.b + k * t.bk;
      for (long n = 0; n < N; n++)
        o[n] = (int64_t)((uint64_t)o[n] << as) + (int64_t)((uint64_t)(x * br[n * t.bn]) << ts);
      fx_assign_each_of(o, N, acc);
    }
  }
}

void tile(const Tile &t, long M, long K, long N, const int64_t *plan, const int64_t *acc, int64_t *out) {
  if (!plan[MM_AT_ONCE]) return tile_in_order(t, M, K, N, plan, acc, out);
  const bool unit = t.bn == 1, narrow = plan[MM_NARROW];
  const int64_t ts = plan[MM_TERM_SHIFT];
  if (!unit && narrow && (N == 8 || N == 4) && K * N <= PACKED) {  // (b a transposed view: its tile packed)
    int64_t packed[PACKED];
    for (long k = 0; k < K; k++)
      for (long n = 0; n < N; n++) packed[k * N + n] = t.b[k * t.bk + n * t.bn];
    const Tile p = {t.a, packed, t.am, t.ak, N, 1};
    return N == 8 ? TILE_NARROW(8)(p, M, K, ts, out) : TILE_NARROW(4)(p, M, K, ts, out);
  }
  if (unit && N == 8) return narrow ? TILE_NARROW(8)(t, M, K, ts, out) : tile_at_once_n<false, 8>(t, M, K, ts, out);
  if (unit && N == 4) return narrow ? TILE_NARROW(4)(t, M, K, ts, out) : tile_at_once_n<false, 4>(t, M, K, ts, out);
  if (narrow)
    unit ? tile_at_once<true, true>(t, M, K, N, ts, out) : tile_at_once<true, false>(t, M, K, N, ts, out);
  else
    unit ? tile_at_once<false, true>(t, M, K, N, ts, out) : tile_at_once<false, false>(t, M, K, N, ts, out);
}

}  // namespace

extern "C" {

// dims: [batch_ndim, M, K, N, batch shape..., a's strides (batch..., m, k), b's strides (batch..., k, n)];
// out: [batch..., M, N] contiguous
void fxflow_matmul(const int64_t *a, const int64_t *b, const int64_t *dims, const int64_t *plan,
                   const int64_t *acc, const int64_t *out_as, int64_t *out) {
  const long nd = (long)dims[0], M = (long)dims[1], K = (long)dims[2], N = (long)dims[3];
  const int64_t *shape = dims + 4, *as = shape + nd, *bs = as + nd + 2;
  long batches = 1;
  for (long d = 0; d < nd; d++) batches *= (long)shape[d];
  long idx[32] = {0};
  Tile t = {a, b, (long)as[nd], (long)as[nd + 1], (long)bs[nd], (long)bs[nd + 1]};
  for (long i = 0; i < batches; i++) {
    tile(t, M, K, N, plan, acc, out + i * M * N);
    for (long d = nd - 1; d >= 0; d--) {  // the next batch index (odometer)
      t.a += as[d], t.b += bs[d];
      if (++idx[d] < shape[d]) break;
      t.a -= as[d] * shape[d], t.b -= bs[d] * shape[d];
      idx[d] = 0;
    }
  }
  const long total = batches * M * N;  // the assignments as passes over the whole result (they vectorize)
  if (plan[MM_AT_ONCE] && plan[MM_ASSIGN_ACC]) fx_assign_each_of(out, total, acc);
  fx_assign_each_of(out, total, out_as);
}

}  // extern "C"
