// aie_api/aie.hpp: fxflow's DECLARATION-ONLY stand-in for the AIE API, for `g++ -std=c++20 -fsyntax-only`.
//
// Written for fxflow from the public AIE API documentation (UG1529 "Basic Types" and "Matrix Multiplication",
// UG1603 data types, UG1583 cascade intrinsics) for the two core architectures fxflow targets, chosen like the
// AIE API does with __AIE_ARCH__: 20 = AIE-ML (xcve2802, npu1), 21 = AIE2P (npu2). It declares exactly the
// surface fxflow's generated kernels use and turns the shape rules into static_asserts:
//   * vectors: 128/256/512/1024 bits of 8/16/32-bit integer lanes (int8 16..128, int16 8..64, int32 4..32);
//   * accumulators: AIE-ML acc32 x 8/16/32, acc64 x 4/8/16; AIE2P up to 2048 bits (acc32 x 64, acc64 x 32);
//   * aie::mmul: each architecture's modes for 8b x 8b, 16b x 8b and 16b x 16b operands with their accumulators;
//   * the accumulator cascade: put_mcd / get_scd_v16acc32 / get_scd_v8acc64 on one 512-bit native accumulator.
// Nothing here has a body: a kernel checked against it is syntactically valid and shape-legal, no more. What the
// kernels compute, bit for bit, is defined by fxflow's emulator and AIE simulator (lowering/aie/simulate.py).
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#if !defined(__AIE_ARCH__) || (__AIE_ARCH__ != 20 && __AIE_ARCH__ != 21)
#error "define __AIE_ARCH__ as 20 (AIE-ML) or 21 (AIE2P)"
#endif

using int8 = std::int8_t;
using uint8 = std::uint8_t;
using int16 = std::int16_t;
using uint16 = std::uint16_t;
using int32 = std::int32_t;
using uint32 = std::uint32_t;
using int64 = std::int64_t;

// Compiler loop hints of the AIE compilers; nothing to check here.
#define chess_prepare_for_pipelining
#define chess_loop_range(...)

// The native 512-bit accumulator registers the cascade moves (AIE-ML intrinsics).
struct v16acc32 {};
struct v8acc64 {};
void put_mcd(v16acc32 v);
void put_mcd(v8acc64 v);
v16acc32 get_scd_v16acc32();
v8acc64 get_scd_v8acc64();

// Accumulator element tags (global names, as in the AIE API).
struct acc32;
struct acc64;

namespace aie {

enum class rounding_mode { floor, ceil, positive_inf, negative_inf, symmetric_floor, symmetric_ceil, symmetric_inf,
                           symmetric_zero, conv_even, conv_odd };
enum class saturation_mode { none, truncate, saturate, symmetric };

namespace detail {

template <typename T>
inline constexpr bool is_lane = std::is_same_v<T, int8> || std::is_same_v<T, uint8> || std::is_same_v<T, int16> ||
                                std::is_same_v<T, uint16> || std::is_same_v<T, int32> || std::is_same_v<T, uint32>;

template <typename T, unsigned N>
inline constexpr bool legal_vector = is_lane<T> && (sizeof(T) * 8 * N == 128 || sizeof(T) * 8 * N == 256 ||
                                                    sizeof(T) * 8 * N == 512 || sizeof(T) * 8 * N == 1024);

#if __AIE_ARCH__ == 20
inline constexpr unsigned max_acc_bits = 1024;
#else
inline constexpr unsigned max_acc_bits = 2048;
#endif
template <typename A, unsigned N>
inline constexpr bool legal_accum = (std::is_same_v<A, acc32> && N >= 8 && N * 32 <= max_acc_bits && !(N & (N - 1))) ||
                                    (std::is_same_v<A, acc64> && N >= 4 && N * 64 <= max_acc_bits && !(N & (N - 1)));

template <typename A>
inline constexpr bool is_acc = std::is_same_v<A, acc32> || std::is_same_v<A, acc64>;

// Vector -> accumulator (UPS): acc32 from 8/16/32-bit lanes, acc64 from 16/32-bit lanes.
template <typename A, typename T>
inline constexpr bool ups_from = is_lane<T> && (std::is_same_v<A, acc32> || sizeof(T) >= 2);

template <typename T> inline constexpr bool is8 = std::is_same_v<T, int8> || std::is_same_v<T, uint8>;
template <typename T> inline constexpr bool is16 = std::is_same_v<T, int16> || std::is_same_v<T, uint16>;

template <unsigned M, unsigned K, unsigned N, unsigned M2, unsigned K2, unsigned N2>
inline constexpr bool shape = M == M2 && K == K2 && N == N2;
template <typename A> inline constexpr bool a32 = std::is_same_v<A, acc32>;

// aie::mmul modes (M x K x N) per operand widths and the accumulators each takes.
#if __AIE_ARCH__ == 20
template <unsigned M, unsigned K, unsigned N, typename A>
inline constexpr bool mode_8x8 = a32<A> && (shape<M, K, N, 4, 8, 4> || shape<M, K, N, 4, 16, 4> ||
                                            shape<M, K, N, 8, 8, 4> || shape<M, K, N, 2, 8, 8> ||
                                            shape<M, K, N, 4, 8, 8> || shape<M, K, N, 2, 16, 8> ||
                                            shape<M, K, N, 4, 16, 8>);
template <unsigned M, unsigned K, unsigned N, typename A>
inline constexpr bool mode_16x8 = a32<A> && (shape<M, K, N, 4, 4, 4> || shape<M, K, N, 8, 4, 4> ||
                                             shape<M, K, N, 4, 8, 4> || shape<M, K, N, 4, 4, 8>);
template <unsigned M, unsigned K, unsigned N, typename A>
inline constexpr bool mode_16x16 = (a32<A> && shape<M, K, N, 4, 2, 8>) ||
                                   (is_acc<A> && (shape<M, K, N, 4, 4, 4> || shape<M, K, N, 2, 4, 8> ||
                                                  shape<M, K, N, 4, 4, 8>));
#else
template <unsigned M, unsigned K, unsigned N, typename A>
inline constexpr bool mode_8x8 = a32<A> && (shape<M, K, N, 2, 8, 8> || shape<M, K, N, 4, 8, 8> ||
                                            shape<M, K, N, 4, 16, 8> || shape<M, K, N, 8, 8, 8> ||
                                            shape<M, K, N, 8, 16, 8>);
template <unsigned M, unsigned K, unsigned N, typename A>
inline constexpr bool mode_16x8 = (a32<A> && (shape<M, K, N, 4, 4, 8> || shape<M, K, N, 8, 4, 8>)) ||
                                  (is_acc<A> && (shape<M, K, N, 4, 8, 8> || shape<M, K, N, 2, 16, 8> ||
                                                 shape<M, K, N, 4, 16, 8>));
template <unsigned M, unsigned K, unsigned N, typename A>
inline constexpr bool mode_16x16 = (a32<A> && (shape<M, K, N, 4, 2, 8> || shape<M, K, N, 8, 2, 8>)) ||
                                   (is_acc<A> && (shape<M, K, N, 2, 4, 8> || shape<M, K, N, 4, 4, 8> ||
                                                  shape<M, K, N, 2, 8, 8> || shape<M, K, N, 4, 8, 8>));
#endif
template <unsigned M, unsigned K, unsigned N, typename TA, typename TB, typename A>
inline constexpr bool legal_mmul = (is8<TA> && is8<TB> && mode_8x8<M, K, N, A>) ||
                                   (is16<TA> && is8<TB> && mode_16x8<M, K, N, A>) ||
                                   (is16<TA> && is16<TB> && mode_16x16<M, K, N, A>);

template <typename A, unsigned N> struct native {};  // only the 512-bit accumulators have a cascade register type
template <> struct native<acc32, 16> { using type = v16acc32; };
template <> struct native<acc64, 8> { using type = v8acc64; };
template <typename A, unsigned N, typename V> inline constexpr bool is_native = false;
template <> inline constexpr bool is_native<acc32, 16, v16acc32> = true;
template <> inline constexpr bool is_native<acc64, 8, v8acc64> = true;

template <typename T> struct wide {};
template <> struct wide<int8> { using type = int16; };
template <> struct wide<uint8> { using type = uint16; };

}  // namespace detail

template <unsigned N>
class mask {
 public:
  static mask from_uint32(uint32 bits);
  mask operator|(const mask &other) const;
};

template <typename T, unsigned N>
class vector {
  static_assert(detail::legal_vector<T, N>,
                "AIE-ML and AIE2P vectors are 128/256/512/1024 bits of 8/16/32-bit integer lanes");

 public:
  using value_type = T;
  static constexpr unsigned size() { return N; }
  vector();
  void set(T value, unsigned idx);
  T get(unsigned idx) const;
  template <unsigned E>
  vector<T, E> extract(unsigned idx) const;
  template <unsigned E>
  vector &insert(unsigned idx, const vector<T, E> &v);
};

template <typename A, unsigned N>
class accum {
  static_assert(detail::is_acc<A>, "fxflow kernels use acc32 or acc64 accumulators");
  static_assert(detail::legal_accum<A, N>, "not an accumulator of this architecture (AIE-ML: acc32 x 8/16/32, acc64 x "
                                          "4/8/16 lanes; AIE2P: up to 2048 bits)");

 public:
  accum();
  template <typename T>
    requires detail::ups_from<A, T>
  explicit accum(const vector<T, N> &v, int shift = 0);
  template <typename V>
    requires detail::is_native<A, N, V>
  explicit accum(const V &native);
  template <typename T>
    requires detail::is_lane<T>
  vector<T, N> to_vector(int shift = 0) const;
  template <unsigned Lanes = N>  // only a 512-bit accumulator has a native cascade type
  typename detail::native<A, Lanes>::type to_native() const;
  template <unsigned E>
  accum<A, E> extract(unsigned idx) const;
  template <unsigned E>
  accum &insert(unsigned idx, const accum<A, E> &a);
};

template <unsigned M, unsigned K, unsigned N, typename TA, typename TB, typename A>
class mmul {
  static_assert(detail::legal_mmul<M, K, N, TA, TB, A>,
                "not an aie::mmul mode of this architecture for these operand widths and accumulator");

 public:
  using accum_type = accum<A, M * N>;
  static constexpr unsigned size_A = M * K;
  static constexpr unsigned size_B = K * N;
  static constexpr unsigned size_C = M * N;
  mmul();
  explicit mmul(const accum_type &acc);
  void mul(const vector<TA, M * K> &a, const vector<TB, K * N> &b);
  void mac(const vector<TA, M * K> &a, const vector<TB, K * N> &b);
  accum_type to_accum() const;
};

void set_rounding(rounding_mode mode);
void set_saturation(saturation_mode mode);

template <unsigned E, typename T>
vector<T, E> load_v(const T *ptr);
template <typename T, unsigned N>
void store_v(T *ptr, const vector<T, N> &v);

template <typename T, unsigned N, typename... Vs>
  requires(std::is_same_v<Vs, vector<T, N>> && ...)
vector<T, N * (1 + sizeof...(Vs))> concat(const vector<T, N> &v, const Vs &...rest);
template <typename T, unsigned N>
vector<T, N / 2> filter_even(const vector<T, N> &v, unsigned step = 1);
template <typename T, unsigned N>
vector<T, N / 2> filter_odd(const vector<T, N> &v, unsigned step = 1);
template <typename T, unsigned N>
std::pair<vector<T, N>, vector<T, N>> interleave_zip(const vector<T, N> &v, const vector<T, N> &w, unsigned step);
template <typename T, unsigned N>
vector<typename detail::wide<T>::type, N> unpack(const vector<T, N> &v);

template <typename T, unsigned N>
  requires detail::is_lane<T>
vector<T, N> broadcast(T value);
template <typename T, unsigned N>
  requires detail::is_lane<T>
vector<T, N> zeros();
template <typename A, unsigned N>
  requires detail::is_acc<A>
accum<A, N> zeros();

template <typename T, unsigned N>
vector<T, N> max(const vector<T, N> &a, const vector<T, N> &b);
template <typename T, unsigned N>
vector<T, N> max(const vector<T, N> &a, std::type_identity_t<T> b);
template <typename T, unsigned N>
vector<T, N> min(const vector<T, N> &a, const vector<T, N> &b);
template <typename T, unsigned N>
vector<T, N> min(const vector<T, N> &a, std::type_identity_t<T> b);
template <typename T, unsigned N>
vector<T, N> add(const vector<T, N> &a, const vector<T, N> &b);
template <typename T, unsigned N>
vector<T, N> sub(const vector<T, N> &a, const vector<T, N> &b);
template <typename A, unsigned N, typename T>
accum<A, N> add(const accum<A, N> &acc, const vector<T, N> &v);
template <typename A, unsigned N>
accum<A, N> add(const accum<A, N> &a, const accum<A, N> &b);
template <typename T, unsigned N>
  requires detail::is16<T>
accum<acc32, N> mul(const vector<T, N> &v, std::type_identity_t<T> s);
// elementwise multiply-accumulate acc + v1 * v2 (AIE API `aie::mac(acc, v1, v2)`); fxflow uses 16-bit lanes
template <typename A, unsigned N, typename T1, typename T2>
  requires detail::is16<T1> && detail::is16<T2>
accum<A, N> mac(const accum<A, N> &acc, const vector<T1, N> &v1, const vector<T2, N> &v2);
template <typename T, unsigned N>
vector<T, N> bit_and(const vector<T, N> &a, const vector<T, N> &b);
template <typename T, unsigned N>
vector<T, N> upshift(const vector<T, N> &v, unsigned shift);
template <typename T, unsigned N>
vector<T, N> downshift(const vector<T, N> &v, unsigned shift);
template <typename T, unsigned N>
mask<N> lt(const vector<T, N> &a, const vector<T, N> &b);
template <typename T, unsigned N>
mask<N> gt(const vector<T, N> &a, const vector<T, N> &b);
template <typename T, unsigned N>
vector<T, N> select(const vector<T, N> &a, const vector<T, N> &b, const mask<N> &m);
template <typename T, unsigned N>
T reduce_max(const vector<T, N> &v);
template <typename T, unsigned N>
T reduce_add(const vector<T, N> &v);

}  // namespace aie
