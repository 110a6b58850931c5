// One assignment of stored integers n * 2^-f_from to a fixed-point format (ap_fixed's: round onto the format's
// grid, then the overflow mode), for the native kernels.  The C side holds no rounding or overflow rule of its
// own: fxflow/emulator/native.py `assignment` computes the parameters from fxflow/fixed/quantize.py (the rounding
// increment as the truth table of `round_increment`, the bounds from `saturation_bounds`), and tests compare
// `fxflow_assign` with `requantize` on every mode.  Formats of at most 62 bits on int64 values, as the int64 path
// of `requantize` (never overflowing for any int64 input).

#ifndef FXFLOW_FIXED_H
#define FXFLOW_FIXED_H

#include <stdint.h>

// the parameters, as an int64 array of FX_ASSIGN_FIELDS entries (one layout for ctypes and C)
enum {
  FX_SHIFT,     // f_from - f: > 0 rounds `shift` (<= 62) low bits off, < 0 shifts left, 0 the overflow only
  FX_BUMPS,     // bit (guard | sticky << 1 | negative << 2 | odd << 3) set: the floor is bumped by one
  FX_OVERFLOW,  // FX_WRAP, FX_CLAMP or FX_ZERO
  FX_WIDTH,     // W <= 62
  FX_SIGNED,
  FX_LO, FX_HI,           // the clamp's bounds (saturation_bounds) or the range kept by FX_ZERO
  FX_PRE_LO, FX_PRE_HI,   // a left shift that does not wrap clamps n into these first (the in/out of range
                          // classification and the sign stay, and the shifted value fits int64)
  FX_ASSIGN_FIELDS
};
enum { FX_WRAP = 0, FX_CLAMP = 1, FX_ZERO = 2 };

// the overflow mode KIND (a[FX_OVERFLOW]) on the rounded q
template <int KIND>
static inline int64_t fx_overflow_as(int64_t q, const int64_t *a) {
  if (KIND == FX_WRAP) {
    const int sh = 64 - (int)a[FX_WIDTH];
    if (a[FX_SIGNED]) return (int64_t)((uint64_t)q << sh) >> sh;
    return (int64_t)((uint64_t)q & (~(uint64_t)0 >> sh));
  }
  if (KIND == FX_CLAMP) return q < a[FX_LO] ? a[FX_LO] : (q > a[FX_HI] ? a[FX_HI] : q);
  // FX_ZERO: out of range <=> (q - lo) mod 2^64 > hi - lo
  return (uint64_t)q - (uint64_t)a[FX_LO] > (uint64_t)a[FX_HI] - (uint64_t)a[FX_LO] ? 0 : q;
}

// the assignment for parameters whose shift has the sign DIR and whose overflow mode is KIND
template <int DIR, int KIND>
static inline int64_t fx_assign_as(int64_t n, const int64_t *a) {
  const int64_t s = a[FX_SHIFT];
  if (DIR > 0) {
    const int64_t q = n >> s;
    const int index = (int)((n >> (s - 1)) & 1) | (int)((n & ((INT64_C(1) << (s - 1)) - 1)) != 0) << 1 |
                      (int)(n < 0) << 2 | (int)(q & 1) << 3;
    return fx_overflow_as<KIND>(q + ((a[FX_BUMPS] >> index) & 1), a);
  }
  if (DIR < 0) {
    const int64_t t = -s;
    if (KIND == FX_WRAP) return fx_overflow_as<KIND>(t >= 64 ? 0 : (int64_t)((uint64_t)n << t), a);
    n = n < a[FX_PRE_LO] ? a[FX_PRE_LO] : (n > a[FX_PRE_HI] ? a[FX_PRE_HI] : n);
    return fx_overflow_as<KIND>((int64_t)((uint64_t)n << (t < 62 ? t : 62)), a);
  }
  return fx_overflow_as<KIND>(n, a);
}

// FN<DIR, KIND>::run(args...) for the shift's sign and the overflow mode of the parameters a
template <template <int, int> class FN, typename... Args>
static inline auto fx_dispatch(const int64_t *a, Args... args) {
  const int dir = a[FX_SHIFT] > 0 ? 1 : (a[FX_SHIFT] < 0 ? -1 : 0);
#define FX_CASE(D, K) \
  if (dir == D && a[FX_OVERFLOW] == K) return FN<D, K>::run(args...);
  FX_CASE(1, FX_WRAP) FX_CASE(1, FX_CLAMP) FX_CASE(0, FX_WRAP) FX_CASE(0, FX_CLAMP) FX_CASE(-1, FX_WRAP)
  FX_CASE(-1, FX_CLAMP) FX_CASE(1, FX_ZERO) FX_CASE(0, FX_ZERO)
#undef FX_CASE
  return FN<-1, FX_ZERO>::run(args...);
}

template <int DIR, int KIND>
struct fx_assign_one {
  static int64_t run(int64_t n, const int64_t *a) { return fx_assign_as<DIR, KIND>(n, a); }
};

static inline int64_t fx_assign(int64_t n, const int64_t *a) { return fx_dispatch<fx_assign_one>(a, n, a); }

// the truth tables of FX_BUMPS whose increment needs no lookup: never bumped, bumped when the guard is set
enum { FX_BUMPS_NEVER = 0, FX_BUMPS_GUARD = 0xAAAA };

template <int DIR, int KIND>
struct fx_assign_each {
  static void run(int64_t *v, long count, const int64_t *a) {
    int64_t p[FX_ASSIGN_FIELDS];  // a local copy: no reloads between the stores to v (the loops vectorize)
    for (int k = 0; k < FX_ASSIGN_FIELDS; k++) p[k] = a[k];
    const int64_t s = p[FX_SHIFT];
    if (DIR > 0 && p[FX_BUMPS] == FX_BUMPS_NEVER) {  // the table's lookup, read off: the same increments
      for (long i = 0; i < count; i++) v[i] = fx_overflow_as<KIND>(v[i] >> s, p);
    } else if (DIR > 0 && p[FX_BUMPS] == FX_BUMPS_GUARD) {
      for (long i = 0; i < count; i++) v[i] = fx_overflow_as<KIND>((v[i] >> s) + ((v[i] >> (s - 1)) & 1), p);
    } else {
      for (long i = 0; i < count; i++) v[i] = fx_assign_as<DIR, KIND>(v[i], p);
    }
  }
};

// v[i] = fx_assign(v[i], a) for i < count: the parameters' branches taken once, so the loops vectorize
static inline void fx_assign_each_of(int64_t *v, long count, const int64_t *a) {
  fx_dispatch<fx_assign_each>(a, v, count, a);
}

#endif
