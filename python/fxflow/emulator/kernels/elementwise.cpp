// `fxflow.fixed.dense.add` in native code: the exact sum of two stored-integer arrays on the finer grid
// (a << shift_a) + (b << shift_b), assigned to the result format (fixed.h) unless the sum's own format is the
// result.  Flat arrays of one memory order (fixed/layout.py); the caller checks that the sum fits int64.

#include "fixed.h"

// v * 2^s for 0 <= s < 64 as a shift of the bit pattern (a left shift of a negative int64 is undefined in C++
// before C++20); exact when the product fits int64
static inline int64_t shifted(int64_t v, long s) { return (int64_t)((uint64_t)v << s); }

extern "C" void fxflow_add(const int64_t *a, const int64_t *b, int64_t *out, long n, long shift_a, long shift_b,
                           int assign, const int64_t *assignment) {
  for (long i = 0; i < n; i++) out[i] = shifted(a[i], shift_a) + shifted(b[i], shift_b);
  if (assign) fx_assign_each_of(out, n, assignment);  // (one pass, the modes dispatched once: it vectorizes)
}
