// aie_api/aie.hpp: fxflow's HOST MODEL of the few AIE API calls its row kernels make (test_aie_rows.py), so the
// emitted kernels compile and run natively and their results are compared with fxflow.fixed bit for bit.
//
// Written for fxflow from the public AIE API documentation (UG1529: Basic Types, Arithmetic, Reduction,
// Comparison, Memory).  It models integer lanes exactly (vector lanes and acc32 / acc64 lanes wrap at their width)
// and only what the kernels rely on; everything else stops the program instead of guessing:
//   * load_v / store_v require a pointer aligned to the vector's size (the hardware's vector loads and stores);
//   * to_vector<T>(shift) (SRS) is modelled for shift 0 on values that fit T, the only use the row kernels make
//     of it (their vector passes are exact by construction); anything else aborts.
// The shape rules are the declaration-only header's (lowering/aie/aie_api_check), which the syntax check applies.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

using int8 = std::int8_t;
using uint8 = std::uint8_t;
using int16 = std::int16_t;
using uint16 = std::uint16_t;
using int32 = std::int32_t;
using uint32 = std::uint32_t;
using int64 = std::int64_t;

#define chess_prepare_for_pipelining
#define chess_loop_range(...)

struct acc32 {};
struct acc64 {};

namespace aie {

namespace detail {
[[noreturn]] inline void model_abort(const char *what) {
  std::fprintf(stderr, "aie host model: %s\n", what);
  std::abort();
}

template <typename T>
inline T wrap(int64 v) {
  return T(std::make_unsigned_t<T>(std::uint64_t(v)));  // two's complement lanes wrap at their width
}

template <typename A>
inline int64 wrap_acc(int64 v) {
  if constexpr (std::is_same_v<A, acc32>) return int64(int32(std::uint32_t(std::uint64_t(v))));
  return v;
}
}  // namespace detail

template <unsigned N>
class mask {
 public:
  static mask from_uint32(uint32 bits) {
    mask m;
    m.bits_ = bits;
    return m;
  }
  bool test(unsigned i) const { return (bits_ >> i) & 1u; }

 private:
  uint32 bits_ = 0;
};

template <typename T, unsigned N>
class vector {
 public:
  using value_type = T;
  static constexpr unsigned size() { return N; }
  vector() : v_{} {}
  void set(T value, unsigned idx) { v_[idx] = value; }
  T get(unsigned idx) const { return v_[idx]; }

 private:
  T v_[N];
};

template <typename A, unsigned N>
class accum {
 public:
  accum() : v_{} {}
  template <typename T>
  explicit accum(const vector<T, N> &v, int shift = 0) {
    for (unsigned i = 0; i < N; ++i) v_[i] = detail::wrap_acc<A>(int64(v.get(i)) * (int64(1) << shift));
  }
  template <typename T>
  vector<T, N> to_vector(int shift = 0) const {
    if (shift != 0) detail::model_abort("to_vector with a shift is not modelled");
    vector<T, N> out;
    for (unsigned i = 0; i < N; ++i) {
      if (v_[i] != int64(T(v_[i]))) detail::model_abort("to_vector of a value that does not fit the lane type");
      out.set(T(v_[i]), i);
    }
    return out;
  }
  int64 get(unsigned i) const { return v_[i]; }
  void set(int64 v, unsigned i) { v_[i] = detail::wrap_acc<A>(v); }

 private:
  int64 v_[N];
};

template <unsigned E, typename T>
vector<T, E> load_v(const T *ptr) {
  if (reinterpret_cast<std::uintptr_t>(ptr) % (sizeof(T) * E)) detail::model_abort("unaligned vector load");
  vector<T, E> v;
  for (unsigned i = 0; i < E; ++i) v.set(ptr[i], i);
  return v;
}

template <typename T, unsigned N>
void store_v(T *ptr, const vector<T, N> &v) {
  if (reinterpret_cast<std::uintptr_t>(ptr) % (sizeof(T) * N)) detail::model_abort("unaligned vector store");
  for (unsigned i = 0; i < N; ++i) ptr[i] = v.get(i);
}

template <typename T, unsigned N>
vector<T, N> broadcast(T value) {
  vector<T, N> v;
  for (unsigned i = 0; i < N; ++i) v.set(value, i);
  return v;
}

template <typename T, unsigned N>
  requires(!std::is_same_v<T, acc32> && !std::is_same_v<T, acc64>)
vector<T, N> zeros() {
  return vector<T, N>();
}

template <typename A, unsigned N>
  requires(std::is_same_v<A, acc32> || std::is_same_v<A, acc64>)
accum<A, N> zeros() {
  return accum<A, N>();
}

// 8-bit lanes widened to 16 bits, sign- or zero-extended as the lane type is
template <typename T, unsigned N>
  requires(sizeof(T) == 1)
vector<std::conditional_t<std::is_signed_v<T>, int16, uint16>, N> unpack(const vector<T, N> &v) {
  vector<std::conditional_t<std::is_signed_v<T>, int16, uint16>, N> out;
  for (unsigned i = 0; i < N; ++i) out.set(v.get(i), i);
  return out;
}

template <typename T, unsigned N>
vector<T, N> add(const vector<T, N> &a, const vector<T, N> &b) {
  vector<T, N> out;
  for (unsigned i = 0; i < N; ++i) out.set(detail::wrap<T>(int64(a.get(i)) + int64(b.get(i))), i);
  return out;
}

template <typename A, unsigned N, typename T>
accum<A, N> add(const accum<A, N> &acc, const vector<T, N> &v) {
  accum<A, N> out;
  for (unsigned i = 0; i < N; ++i) out.set(acc.get(i) + int64(v.get(i)), i);
  return out;
}

template <typename A, unsigned N>
accum<A, N> add(const accum<A, N> &a, const accum<A, N> &b) {
  accum<A, N> out;
  for (unsigned i = 0; i < N; ++i) out.set(a.get(i) + b.get(i), i);
  return out;
}

template <typename A, unsigned N, typename T1, typename T2>
accum<A, N> mac(const accum<A, N> &acc, const vector<T1, N> &a, const vector<T2, N> &b) {
  accum<A, N> out;
  for (unsigned i = 0; i < N; ++i) out.set(acc.get(i) + int64(a.get(i)) * int64(b.get(i)), i);
  return out;
}

template <typename T, unsigned N>
vector<T, N> max(const vector<T, N> &a, const vector<T, N> &b) {
  vector<T, N> out;
  for (unsigned i = 0; i < N; ++i) out.set(a.get(i) > b.get(i) ? a.get(i) : b.get(i), i);
  return out;
}

// select(a, b, m): lane i is b[i] where m[i] is set, else a[i]
template <typename T, unsigned N>
vector<T, N> select(const vector<T, N> &a, const vector<T, N> &b, const mask<N> &m) {
  vector<T, N> out;
  for (unsigned i = 0; i < N; ++i) out.set(m.test(i) ? b.get(i) : a.get(i), i);
  return out;
}

template <typename T, unsigned N>
T reduce_add(const vector<T, N> &v) {
  int64 s = 0;
  for (unsigned i = 0; i < N; ++i) s += v.get(i);
  return detail::wrap<T>(s);
}

template <typename T, unsigned N>
T reduce_max(const vector<T, N> &v) {
  T m = v.get(0);
  for (unsigned i = 1; i < N; ++i) m = v.get(i) > m ? v.get(i) : m;
  return m;
}

}  // namespace aie
