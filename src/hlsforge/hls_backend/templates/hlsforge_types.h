// hlsforge_types.h -- the one header generated HLS code includes for its number types.
//
// Generated code spells types exactly as Vitis/Vivado HLS code does:
//     ap_fixed<16,6,AP_RND_CONV,AP_SAT>   ap_ufixed<8,3>   ap_int<8>   ap_uint<4>
// and this header decides what those names mean, with ONE macro:
//
//   HLSFORGE_USE_AP_FIXED defined     -> Xilinx <ap_fixed.h> / <ap_int.h> (synthesis, or a
//                                        C simulation against the vendor headers);
//   HLSFORGE_USE_AP_FIXED not defined -> hlsforge_fixed.h (fast local C simulation); the
//                                        names ap_fixed, ap_ufixed, ap_int, ap_uint, ap_q_mode,
//                                        ap_o_mode and AP_* are brought into the global
//                                        namespace from namespace hlsforge.
//
// Both give the same values bit for bit (checked by hlsforge's tests). Portable helpers for
// code that needs raw bits, identical in both modes:
//   hlsforge::fixed_traits<T>::{width, iwidth, fwidth, is_signed, min(), max(), lsb()}
//   hlsforge::raw_bits(x)            raw integer of x (long long / unsigned long long), W <= 64
//   hlsforge::from_raw_bits<T>(r)    the T whose raw integer is r (wrapped to W bits)

#ifndef HLSFORGE_TYPES_H_
#define HLSFORGE_TYPES_H_

#ifdef HLSFORGE_USE_AP_FIXED

#include <ap_fixed.h>
#include <ap_int.h>

namespace hlsforge {

namespace detail {
template <bool B, class T, class F>
struct cond { typedef T type; };
template <class T, class F>
struct cond<false, T, F> { typedef F type; };

// Raw-bit access for the Xilinx types, through range() (their public bit interface).
template <class T, int W, int I, bool S>
struct ap_traits {
  typedef T type;
  typedef typename cond<S, long long, unsigned long long>::type raw_t;
  static const int width = W;
  static const int iwidth = I;
  static const int fwidth = W - I;
  static const bool is_signed = S;
  static raw_t raw(const T& x) {
    static_assert(W <= 64, "raw access needs a type of at most 64 bits");
    ap_uint<W> u = const_cast<T&>(x).range(W - 1, 0);
    unsigned long long b = u.to_uint64();
    if (S && W < 64 && ((b >> (W - 1)) & 1)) b |= ~0ULL << (W % 64);
    return raw_t(b);
  }
  static T from_raw(raw_t r) {
    static_assert(W <= 64, "raw access needs a type of at most 64 bits");
    T x;
    ap_uint<W> u = (unsigned long long)r;
    x.range(W - 1, 0) = u;
    return x;
  }
  static T min() { return from_raw(S ? raw_t(~0ULL << (W - 1)) : raw_t(0)); }
  static T max() {
    return from_raw(raw_t(S ? (~0ULL >> (65 - W)) : (~0ULL >> (64 - W))));
  }
  static T lsb() { return from_raw(raw_t(1)); }
};
}  // namespace detail

template <class T>
struct fixed_traits;
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
struct fixed_traits<ap_fixed_base<W, I, S, Q, O, N> >
    : detail::ap_traits<ap_fixed_base<W, I, S, Q, O, N>, W, I, S> {};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct fixed_traits<ap_fixed<W, I, Q, O, N> > : detail::ap_traits<ap_fixed<W, I, Q, O, N>, W, I, true> {};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct fixed_traits<ap_ufixed<W, I, Q, O, N> >
    : detail::ap_traits<ap_ufixed<W, I, Q, O, N>, W, I, false> {};
template <int W>
struct fixed_traits<ap_int<W> > : detail::ap_traits<ap_int<W>, W, W, true> {};
template <int W>
struct fixed_traits<ap_uint<W> > : detail::ap_traits<ap_uint<W>, W, W, false> {};

}  // namespace hlsforge

#else  // hlsforge's own header

#include "hlsforge_fixed.h"

template <int W, int I, hlsforge::ap_q_mode Q = hlsforge::AP_TRN,
          hlsforge::ap_o_mode O = hlsforge::AP_WRAP, int N = 0>
using ap_fixed = hlsforge::fixed_base<W, I, true, Q, O, N>;
template <int W, int I, hlsforge::ap_q_mode Q = hlsforge::AP_TRN,
          hlsforge::ap_o_mode O = hlsforge::AP_WRAP, int N = 0>
using ap_ufixed = hlsforge::fixed_base<W, I, false, Q, O, N>;
template <int W>
using ap_int = hlsforge::int_base<W, true>;
template <int W>
using ap_uint = hlsforge::int_base<W, false>;
using hlsforge::ap_q_mode;
using hlsforge::ap_o_mode;
using hlsforge::AP_RND;
using hlsforge::AP_RND_ZERO;
using hlsforge::AP_RND_MIN_INF;
using hlsforge::AP_RND_INF;
using hlsforge::AP_RND_CONV;
using hlsforge::AP_TRN;
using hlsforge::AP_TRN_ZERO;
using hlsforge::AP_SAT;
using hlsforge::AP_SAT_ZERO;
using hlsforge::AP_SAT_SYM;
using hlsforge::AP_WRAP;

#endif  // HLSFORGE_USE_AP_FIXED

namespace hlsforge {

// Raw integer of a fixed-point value (sign-extended for signed types); W <= 64.
template <class T>
inline typename fixed_traits<T>::raw_t raw_bits(const T& x) {
  return fixed_traits<T>::raw(x);
}

// The value of type T whose raw integer is r (wrapped to T's width); W <= 64.
template <class T>
inline T from_raw_bits(typename fixed_traits<T>::raw_t r) {
  return fixed_traits<T>::from_raw(r);
}

}  // namespace hlsforge

#endif  // HLSFORGE_TYPES_H_
