// The table softmax of fxflow/fixed/softmax.py (`softmax`, implementations "stable" and "latency") row by row:
// the row maximum, each element's exp entry, the row sum in the accumulator, its inverse entry and the products
// assigned to the result.  The tables and every decision (which gather, how the row sum may be taken) come from
// fxflow/emulator/attention.py; every assignment goes through fx_assign with parameters from Python.

#include <new>
#include <vector>

#include "fixed.h"

namespace {

// the plan's scalars (an int64 array, one layout for ctypes and C)
enum {
  SM_GATHER,     // SM_BY_DIFF, SM_BY_NORM or SM_BY_INPUT
  SM_DIFF_LAST,  // SM_BY_DIFF: the last entry of the table by x_max - x (larger differences take it)
  SM_INDEX_WIDTH, SM_EXP_BITS,  // the exp table's index word (norm's or x's width) and its top bits
  SM_SUM,        // SM_SUM_EXACT, SM_SUM_WRAP (the plain sum assigned once) or SM_SUM_TREE
  SM_INV_WIDTH, SM_INV_BITS,    // inv_in's width and the inverse table's top bits
  SM_FIELDS
};
enum { SM_BY_DIFF = 0, SM_BY_NORM = 1, SM_BY_INPUT = 2 };
enum { SM_SUM_EXACT = 0, SM_SUM_WRAP = 1, SM_SUM_TREE = 2 };
// the assignments, FX_ASSIGN_FIELDS each: x_max - x to norm, a partial sum to accum, the sum to inv_in, the
// products to the result
enum { AS_NORM, AS_ACCUM, AS_INV_IN, AS_RESULT };

inline int64_t top_bits(int64_t v, int64_t width, int64_t bits) {
  return (int64_t)(((uint64_t)v & ((UINT64_C(1) << width) - 1)) >> (width - bits));
}

// hls4ml's balanced reduce: halves at the largest power of two below n, every partial sum assigned
int64_t tree_sum(const int64_t *e, long n, const int64_t *accum) {
  if (n == 1) return e[0];
  long left = 1;
  while (left * 2 < n) left *= 2;
  return fx_assign(tree_sum(e, left, accum) + tree_sum(e + left, n - left, accum), accum);
}

inline int64_t row_sum(const int64_t *e, long n, int64_t mode, const int64_t *accum) {
  if (mode == SM_SUM_TREE) return tree_sum(e, n, accum);
  int64_t s = 0;
  for (long j = 0; j < n; j++) s += e[j];
  return mode == SM_SUM_WRAP ? fx_assign(s, accum) : s;
}

// each row's entries into out and its sum into sums; N, COL: the row length and the column stride when known at
// compile time (the attention rows of 8 contiguous elements: unrolled), else 0 (the runtime n and col)
template <long N, long COL>
void entries(const int64_t *x, long rows, long n_any, long row_stride, long col_any, const int64_t *plan,
             const int64_t *exp_tab, const int64_t *assign, int64_t *out, int64_t *sums) {
  const long n = N ? N : n_any, col = COL ? COL : col_any;
  const int64_t gather = plan[SM_GATHER], last = plan[SM_DIFF_LAST], iw = plan[SM_INDEX_WIDTH];
  const int64_t eb = plan[SM_EXP_BITS], sum_mode = plan[SM_SUM];
  const int64_t *norm = assign + AS_NORM * FX_ASSIGN_FIELDS, *accum = assign + AS_ACCUM * FX_ASSIGN_FIELDS;
  for (long r = 0; r < rows; r++) {
    const int64_t *xr = x + r * row_stride;
    int64_t *e = out + r * n;
    if (gather == SM_BY_INPUT) {
      for (long j = 0; j < n; j++) e[j] = exp_tab[top_bits(xr[j * col], iw, eb)];
    } else {
      int64_t m = xr[0];
      for (long j = 1; j < n; j++) m = xr[j * col] > m ? xr[j * col] : m;
      for (long j = 0; j < n; j++) e[j] = (int64_t)((uint64_t)m - (uint64_t)xr[j * col]);  // >= 0
      if (gather == SM_BY_DIFF) {
        for (long j = 0; j < n; j++) e[j] = exp_tab[e[j] < last ? e[j] : last];
      } else {
        fx_assign_each_of(e, n, norm);
        for (long j = 0; j < n; j++) e[j] = exp_tab[top_bits(e[j], iw, eb)];
      }
    }
    sums[r] = row_sum(e, n, sum_mode, accum);
  }
}

}  // namespace

extern "C" {

// x: rows x n stored integers (element strides), out: rows x n contiguous; exp_tab: the entries by x_max - x
// (SM_BY_DIFF) or the exp entries assigned to accum (by the top bits of the norm word or of x).  Returns 1 when
// it cannot allocate the row sums.  (Passes over all rows: the assignments vectorize over them.)
int fxflow_softmax(const int64_t *x, long rows, long n, long row_stride, long col_stride, const int64_t *plan,
                   const int64_t *exp_tab, const int64_t *inv_tab, const int64_t *assign, int64_t *out) {
  std::vector<int64_t> sums;
  try {
    sums.resize(rows > 0 ? rows : 1);
  } catch (const std::bad_alloc &) {
    return 1;
  }
  if (n == 8 && col_stride == 1)
    entries<8, 1>(x, rows, n, row_stride, col_stride, plan, exp_tab, assign, out, sums.data());
  else
    entries<0, 0>(x, rows, n, row_stride, col_stride, plan, exp_tab, assign, out, sums.data());
  fx_assign_each_of(sums.data(), rows, assign + AS_INV_IN * FX_ASSIGN_FIELDS);
  const int64_t vw = plan[SM_INV_WIDTH], vb = plan[SM_INV_BITS];
  for (long r = 0; r < rows; r++) {  // e * inv
    const int64_t inv = inv_tab[top_bits(sums[r], vw, vb)];
    int64_t *e = out + r * n;
    for (long j = 0; j < n; j++) e[j] *= inv;
  }
  fx_assign_each_of(out, rows * n, assign + AS_RESULT * FX_ASSIGN_FIELDS);
  return 0;
}

}  // extern "C"
