// The native kernels library's own entries: its version (what fxflow/emulator/native.py checks after loading a
// cached build) and `requantize` over an array (fx_assign element by element, and fx_assign_each_of in place),
// which the tests compare with fxflow/fixed/quantize.py mode by mode to check the assignment all kernels share
// (fixed.h).

#include "fixed.h"

extern "C" {

int fxflow_kernels_version(void) { return 4; }

void fxflow_assign(const int64_t *in, int64_t *out, long n, const int64_t *assignment) {
  for (long i = 0; i < n; i++) out[i] = fx_assign(in[i], assignment);
}

void fxflow_assign_each(int64_t *v, long n, const int64_t *assignment) { fx_assign_each_of(v, n, assignment); }

}  // extern "C"
