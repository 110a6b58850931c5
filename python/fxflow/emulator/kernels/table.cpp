// `fxflow.fixed.table.bin_lookup` in native code: the entry of each stored integer's bin (raw >> shift, a
// negative bin counted from the end of the table, as NumPy's take(mode="wrap")), and from `identity_from` on
// the input itself assigned to the result format (fixed.h).  Flat arrays in memory order (fixed/layout.py).

#include "fixed.h"

extern "C" void fxflow_bin_lookup(const int64_t *raw, int64_t *out, long n, const int64_t *by_bin, long size,
                                  long shift, int identity, int64_t identity_from, const int64_t *assignment) {
  for (long i = 0; i < n; i++) {
    const int64_t x = raw[i];
    int64_t q = x >> shift;
    q = q < 0 ? q + size : q;  // |q| < size by the table's construction (bin_table)
    out[i] = identity && x >= identity_from ? fx_assign(x, assignment) : by_bin[q];
  }
}
