// hlsforge_fixed.h -- hlsforge's own header-only fixed-point types.
//
// A small, fast stand-in for Xilinx ap_fixed.h for local C simulation: the same values bit
// for bit (hlsforge's test suite compares both on every rounding/overflow mode), a fraction
// of the compile time, and plain 32/64/128-bit integer arithmetic at run time.
//
// Semantics (docs/numerics.md, NUMERICS.md §2-3): a fixed_base<W,I,S,Q,O> value is
// raw * 2^-(W-I) with raw a W-bit two's-complement (S) or unsigned integer. Arithmetic is exact
// (a*b: <W1+W2, I1+I2>; a+b, a-b: ap_fixed's widths); precision is lost only when a value is
// converted into a declared type: truncate toward -inf, add one LSB if the rounding mode's
// rule holds, then apply the overflow mode.
//
// Everything lives in namespace hlsforge, so this header can share a translation unit with
// ap_fixed.h. hlsforge_types.h is what generated code includes: it exports ap_fixed,
// ap_ufixed, ap_int, ap_uint and the AP_* mode names into the global namespace from here, or
// includes the real <ap_fixed.h> when HLSFORGE_USE_AP_FIXED is defined.
//
// Supported: widths 1..64 for declared types, results of arithmetic up to 128 bits
// (__int128; GCC/Clang); construction from float/double/integers/other fixed types; + - * and
// their compound assignments; unary -; comparisons (exact, except that ap_fixed's own rule
// for mixed signedness is reproduced, see cmp_rule); << >> (raw shifts keeping the type, as
// ap_fixed); to_double/to_float/to_int...; raw bit access; fixed_traits.
// Not supported: division, bitwise ops, bit/range references, AP_WRAP_SM, N != 0.
// Requires C++14.

#ifndef HLSFORGE_FIXED_H_
#define HLSFORGE_FIXED_H_

#include <cstdint>

namespace hlsforge {

enum ap_q_mode { AP_RND, AP_RND_ZERO, AP_RND_MIN_INF, AP_RND_INF, AP_RND_CONV, AP_TRN, AP_TRN_ZERO };
enum ap_o_mode { AP_SAT, AP_SAT_ZERO, AP_SAT_SYM, AP_WRAP };

template <int W, int I, bool S, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0>
class fixed_base;
template <int W, bool S>
class int_base;

namespace detail {

__extension__ typedef __int128 i128;  // __extension__: quiet under -pedantic
__extension__ typedef unsigned __int128 u128;

template <bool B, class T, class F>
struct cond { typedef T type; };
template <class T, class F>
struct cond<false, T, F> { typedef F type; };

// Storage of a raw value: the narrowest of 32/64/128-bit integers that holds W bits.
template <int W, bool S>
struct storage {
  static_assert(W >= 1, "hlsforge fixed-point width must be at least 1");
  static_assert(W <= 128,
                "hlsforge fixed-point values are limited to 128 bits (declared types to 64); "
                "an intermediate result is wider: narrow the operands or assign to a declared type "
                "between operations");
  typedef typename cond<(W <= 32), typename cond<S, int32_t, uint32_t>::type,
                        typename cond<(W <= 64), typename cond<S, int64_t, uint64_t>::type,
                                      typename cond<S, i128, u128>::type>::type>::type type;
};

template <class U> struct signed_of;
template <> struct signed_of<uint64_t> { typedef int64_t type; };
template <> struct signed_of<u128> { typedef i128 type; };

// Unsigned container wide enough for a conversion between widths W1 and W2 (<= 128).
template <int W1, int W2>
struct container { typedef typename cond<(W1 <= 64 && W2 <= 64), uint64_t, u128>::type type; };

// Native integer types accepted as operands: each behaves as fixed_base<bits, bits, signed>,
// exactly as ap_fixed treats them.
template <class T> struct native_int {};
#define HLSFORGE_NATIVE_INT(T, B, S) \
  template <> struct native_int<T> { typedef fixed_base<B, B, S> type; };
HLSFORGE_NATIVE_INT(bool, 1, false)
HLSFORGE_NATIVE_INT(char, 8, (char(-1) < 0))
HLSFORGE_NATIVE_INT(signed char, 8, true)
HLSFORGE_NATIVE_INT(unsigned char, 8, false)
HLSFORGE_NATIVE_INT(short, 8 * sizeof(short), true)
HLSFORGE_NATIVE_INT(unsigned short, 8 * sizeof(short), false)
HLSFORGE_NATIVE_INT(int, 8 * sizeof(int), true)
HLSFORGE_NATIVE_INT(unsigned int, 8 * sizeof(int), false)
HLSFORGE_NATIVE_INT(long, 8 * sizeof(long), true)
HLSFORGE_NATIVE_INT(unsigned long, 8 * sizeof(long), false)
HLSFORGE_NATIVE_INT(long long, 8 * sizeof(long long), true)
HLSFORGE_NATIVE_INT(unsigned long long, 8 * sizeof(long long), false)
#undef HLSFORGE_NATIVE_INT

// Left shift without signed-overflow UB: shift the two's-complement bits.
template <class T, class U>
inline T shl(T x, int k) {
  return k <= 0 ? x : T(U(x) << k);
}

// The one conversion routine (NUMERICS.md §2).
// Input: the exact integer v = (neg ? bits - 2^NB : bits) scaled by 2^d in units of the
// destination LSB (d > 0: v*2^d, d < 0: v/2^-d rounded). Output: destination raw value.
// SB ("signed bits"): the value fits in NB-bit two's complement, so the sign is the top bit
// and shifts can be arithmetic (branch-free); only a full-width unsigned source needs the
// separate neg flag. d is usually a compile-time constant (the compiler folds the branches);
// it is a run-time value only for conversions from floating point.
template <int DW, bool DS, ap_q_mode Q, ap_o_mode O, bool SB, class U>
inline typename storage<DW, DS>::type convert_bits(U bits, bool neg_flag, int d) {
  typedef typename storage<DW, DS>::type R;
  typedef typename signed_of<U>::type SU;
  const int NB = int(sizeof(U) * 8);
  const U ALL = ~U(0);
  const U DMAX = DS ? (U(1) << (DW - 1)) - 1 : (DW == NB ? ALL : (U(1) << (DW % NB)) - 1);
  const SU DMIN = DS ? SU(ALL << (DW - 1)) : SU(0);  // -2^(DW-1) for signed
  const bool neg = SB ? SU(bits) < 0 : neg_flag;
  U r;
  bool hi, lo;
  if (d >= 0) {  // exact: only overflow can act
    r = d >= NB ? U(0) : U(bits << d);
    if (O == AP_WRAP) goto wrap;
    if (d >= NB) {
      hi = !neg && bits != 0;
      lo = neg;
    } else {
      hi = !neg && bits > (DMAX >> d);
      if (DS && d <= DW - 1)
        lo = SU(bits) < SU(ALL << (DW - 1 - d)) && neg;  // v*2^d < -2^(DW-1)
      else
        lo = neg;
    }
  } else {  // drop n bits: truncate toward -inf, then round
    const int n = -d;
    U fl;
    if (n >= NB)
      fl = neg ? ALL : U(0);
    else if (SB)
      fl = U(SU(bits) >> n);  // arithmetic shift = floor
    else
      fl = neg ? U(~(U(~bits) >> n)) : U(bits >> n);
    if (Q != AP_TRN) {
      const bool qb = n - 1 >= NB ? neg : bool((bits >> (n - 1)) & 1);
      const bool rest = n - 1 >= NB ? bits != 0
                        : n - 1 == 0 ? false
                                     : (bits & (ALL >> (NB - (n - 1)))) != 0;
      bool inc;
      switch (Q) {
        case AP_TRN_ZERO: inc = neg && (qb || rest); break;
        case AP_RND: inc = qb; break;
        case AP_RND_ZERO: inc = qb && (neg || rest); break;
        case AP_RND_MIN_INF: inc = qb && rest; break;
        case AP_RND_INF: inc = qb && (!neg || rest); break;
        case AP_RND_CONV: inc = qb && ((fl & 1) || rest); break;
        default: inc = false; break;
      }
      fl += U(inc);
    }
    r = fl;
    if (O == AP_WRAP) goto wrap;
    const bool rneg = SB ? SU(r) < 0 : neg && r != 0;
    hi = !rneg && r > DMAX;
    lo = rneg && (!DS || SU(r) < DMIN);
  }
  if (hi || lo) {
    if (O == AP_SAT_ZERO) return R(0);
    if (hi) return R(DMAX);
    if (!DS) return R(0);
    if (O == AP_SAT_SYM && DW > 1) return R(-SU(DMAX));
    return R(DMIN);
  }
  if (O == AP_SAT_SYM && DS && DW > 1 && SU(r) == DMIN) return R(-SU(DMAX));
  return R(r);
wrap:
  if (DW < NB) {
    const int k = (NB - DW) % NB;  // keeps the shifts defined when DW == NB
    if (DS)
      r = U(SU(U(r << k)) >> k);  // sign-extend the low DW bits
    else
      r &= ALL >> k;
  }
  return R(r);
}

// Convert a raw value of fixed type <SW, SI, SS> into destination <DW, DI, DS, Q, O>.
template <int DW, int DI, bool DS, ap_q_mode Q, ap_o_mode O, int SW, int SI, bool SS, class T>
inline typename storage<DW, DS>::type convert_fixed(T raw) {
  typedef typename container<SW, DW>::type U;
  const bool SB = SS || SW < int(sizeof(U) * 8);
  return convert_bits<DW, DS, Q, O, SB, U>(U(raw), SS && raw < 0, (DW - DI) - (SW - SI));
}

// Convert a double (exactly: x = M * 2^e with a 53-bit integer M) into <DW, DI, DS, Q, O>.
// Infinity and NaN convert as +-2^1024 times their mantissa, as ap_fixed does.
template <int DW, int DI, bool DS, ap_q_mode Q, ap_o_mode O>
inline typename storage<DW, DS>::type convert_double(double x) {
  typedef typename container<64, DW>::type U;
  uint64_t b;
  __builtin_memcpy(&b, &x, sizeof b);
  const bool neg = (b >> 63) != 0;
  const int E = int((b >> 52) & 0x7FF);
  uint64_t m = b & ((uint64_t(1) << 52) - 1);
  int e;
  if (E == 0) {  // zero or subnormal: exact value m * 2^-1074
    if (m == 0) return typename storage<DW, DS>::type(0);
    e = -1074;
  } else {
    m |= uint64_t(1) << 52;
    e = E - 1075;
  }
  const U mag = U(m);
  return convert_bits<DW, DS, Q, O, true, U>(neg ? U(U(0) - mag) : mag, neg, e + (DW - DI));
}

// Convert a native integer into <DW, DI, DS, Q, O>.
template <int DW, int DI, bool DS, ap_q_mode Q, ap_o_mode O, class T>
inline typename storage<DW, DS>::type convert_native(T x) {
  typedef typename container<64, DW>::type U;
  const bool neg = x < T(0);
  const bool SB = T(-1) < T(0) || sizeof(T) < sizeof(U);
  return convert_bits<DW, DS, Q, O, SB, U>(U(x), neg, DW - DI);
}

// Exact compare of two integers of any signedness (<= 128 bits): -1, 0, 1.
template <class A, class B>
inline int int_cmp(A a, B b) {
  const bool an = a < A(0), bn = b < B(0);
  if (an != bn) return an ? -1 : 1;
  if (an) {
    const i128 x = i128(a), y = i128(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  const u128 x = u128(a), y = u128(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

// Exact compare of a * 2^-k with b (k >= 0): floor a to b's LSB, then look at the rest.
template <class A, class B>
inline int fixed_cmp_finer(A a, int k, B b) {
  const int NB = int(sizeof(A) * 8);
  A q = a;
  bool rest = false;
  if (k >= NB) {
    q = a < A(0) ? A(-1) : A(0);
    rest = a != A(0);
  } else if (k > 0) {
    q = A(a >> k);
    rest = (u128(a) & ((u128(1) << k) - 1)) != 0;
  }
  const int c = int_cmp(q, b);
  return c != 0 ? c : (rest ? 1 : 0);
}

constexpr double pow2(int e) {
  double r = 1.0;
  while (e > 0) { r *= 2.0; --e; }
  while (e < 0) { r *= 0.5; ++e; }
  return r;
}
template <int E>
struct pow2c { static constexpr double value = pow2(E); };

// Result types of exact arithmetic (ap_fixed's RType rules).
template <int W1, int I1, bool S1, int W2, int I2, bool S2>
struct rtype {
  enum {
    F1 = W1 - I1,
    F2 = W2 - I2,
    F = F1 > F2 ? F1 : F2,
    IA = I1 + (S2 && !S1),
    IB = I2 + (S1 && !S2),
    plus_i = (IA > IB ? IA : IB) + 1,
    plus_w = plus_i + F,
    mult_w = W1 + W2,
    mult_i = I1 + I2
  };
  typedef fixed_base<mult_w, mult_i, S1 || S2> mult;
  typedef fixed_base<plus_w, plus_i, S1 || S2> plus;
  typedef fixed_base<plus_w, plus_i, true> minus;
};

}  // namespace detail

template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
class fixed_base {
  static_assert(N == 0, "hlsforge fixed-point types support only N = 0 saturation bits");

 public:
  typedef typename detail::storage<W, S>::type storage_t;
  static const int width = W;
  static const int iwidth = I;
  static const int fwidth = W - I;
  static const bool is_signed = S;
  static const ap_q_mode qmode = Q;
  static const ap_o_mode omode = O;

  // ---- construction: every conversion quantizes with this type's Q and O
  constexpr fixed_base() : V(0) {}
  template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2, int N2>
  fixed_base(const fixed_base<W2, I2, S2, Q2, O2, N2>& x)
      : V(detail::convert_fixed<W, I, S, Q, O, W2, I2, S2>(x.raw())) {}
  fixed_base(double x) : V(detail::convert_double<W, I, S, Q, O>(x)) {}
  fixed_base(float x) : V(detail::convert_double<W, I, S, Q, O>(double(x))) {}
  template <class T, class = typename detail::native_int<T>::type>
  fixed_base(T x) : V(detail::convert_native<W, I, S, Q, O>(x)) {}

  // A value from its raw bits (wrapped to W bits).
  static fixed_base from_raw(storage_t raw) {
    fixed_base r;
    r.set_raw(raw);
    return r;
  }

  // A value from a raw integer already in range (no wrapping; used by exact arithmetic).
  static fixed_base from_raw_exact(storage_t raw) {
    fixed_base r;
    r.V = raw;
    return r;
  }

  // ---- raw access
  storage_t raw() const { return V; }
  void set_raw(storage_t raw) {
    typedef typename detail::container<W, W>::type U;
    V = detail::convert_bits<W, S, AP_TRN, AP_WRAP, false, U>(U(raw), false, 0);
  }
  // Bits hi..lo of the raw value, as an unsigned integer (ap_fixed's range(hi, lo) value).
  int_base<W, false> range(int hi, int lo) const;
  int_base<W, false> range() const;

  // ---- conversion to C types (explicit, as ap_fixed's to_*: double/float round to nearest
  // even; integers truncate toward zero)
  double to_double() const { return double(V) * detail::pow2c<I - W>::value; }
  float to_float() const { return float(double(float(V)) * detail::pow2c<I - W>::value); }
  long long to_int64() const { return (long long)int_part(); }
  unsigned long long to_uint64() const { return (unsigned long long)int_part(); }
  int to_int() const { return int(to_int64()); }
  unsigned to_uint() const { return unsigned(to_uint64()); }
  long to_long() const { return long(to_int64()); }
  unsigned long to_ulong() const { return (unsigned long)to_uint64(); }
  explicit operator double() const { return to_double(); }
  explicit operator float() const { return to_float(); }
  explicit operator bool() const { return V != 0; }
  template <class T, class = typename detail::native_int<T>::type>
  explicit operator T() const { return T(to_uint64()); }
  bool operator!() const { return V == 0; }

  // ---- compound assignment: exact operation, then quantize into this type
  template <class X> fixed_base& operator+=(const X& x) { return *this = *this + x; }
  template <class X> fixed_base& operator-=(const X& x) { return *this = *this - x; }
  template <class X> fixed_base& operator*=(const X& x) { return *this = *this * x; }
  fixed_base& operator++() { return *this = *this + 1; }
  fixed_base& operator--() { return *this = *this - 1; }
  fixed_base operator++(int) { fixed_base t(*this); ++*this; return t; }
  fixed_base operator--(int) { fixed_base t(*this); --*this; return t; }

  // ---- shifts (as ap_fixed: same type, raw bits shifted, no quantization or saturation)
  fixed_base operator<<(int sh) const { return sh < 0 ? shr(-sh) : shl(sh); }
  fixed_base operator>>(int sh) const { return sh < 0 ? shl(-sh) : shr(sh); }
  fixed_base operator<<(unsigned sh) const { return shl(int(sh)); }
  fixed_base operator>>(unsigned sh) const { return shr(int(sh)); }
  fixed_base& operator<<=(int sh) { return *this = *this << sh; }
  fixed_base& operator>>=(int sh) { return *this = *this >> sh; }

  // ---- unary
  fixed_base operator+() const { return *this; }
  fixed_base<W + 1, I + 1, true> operator-() const {
    typedef fixed_base<W + 1, I + 1, true> R;
    return R::from_raw_exact(typename R::storage_t(0) - typename R::storage_t(V));
  }

 private:
  storage_t V;

  fixed_base shl(int sh) const {
    typedef typename detail::container<W, W>::type U;
    if (sh >= W) return fixed_base();
    return from_raw(storage_t(U(V) << sh));
  }
  fixed_base shr(int sh) const {
    if (sh >= W) return from_raw(V < storage_t(0) ? storage_t(-1) : storage_t(0));
    return from_raw(storage_t(V >> sh));
  }
  // ap_fixed's to_ap_int_base(): the integer part truncated toward zero (C rules). For
  // I <= 0 a negative value gives -1, exactly as ap_fixed does.
  detail::i128 int_part() const {
    using detail::i128;
    using detail::u128;
    const int F = W - I;
    const i128 v = i128(V);
    if (I <= 0) return (S && V < storage_t(0)) ? i128(-1) : i128(0);
    if (F <= 0) return -F >= 64 ? i128(0) : i128(u128(v) << -F);
    i128 q = F >= 127 ? (v < 0 ? i128(-1) : i128(0)) : i128(v >> F);
    const bool frac_nonzero = F >= 127 ? v != 0 : (u128(v) & ((u128(1) << F) - 1)) != 0;
    if (S && V < storage_t(0) && frac_nonzero) q += 1;
    return q;
  }
};

// ---- integers: ap_int<W> / ap_uint<W> (convert toward zero, then wrap)
template <int W, bool S>
class int_base : public fixed_base<W, W, S, AP_TRN_ZERO, AP_WRAP> {
  typedef fixed_base<W, W, S, AP_TRN_ZERO, AP_WRAP> base;
  typedef typename detail::cond<S, long long, unsigned long long>::type native;

 public:
  constexpr int_base() : base() {}
  // From a fixed value: its integer part, truncated toward zero (ap_fixed's to_ap_int_base),
  // which for I2 <= 0 makes every negative value -1 (as ap_fixed does for I2 = 0).
  template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2, int N2>
  int_base(const fixed_base<W2, I2, S2, Q2, O2, N2>& x)
      : base(I2 <= 0 && S2 && x.raw() < 0 ? base(-1) : base(x)) {}
  // Xilinx quirk reproduced: ap_int<W>(x) for -0.5 < x < 0 is 1 (wrapped), not 0.
  int_base(double x) : base(x > -0.5 && x < 0 ? base(1) : base(x)) {}
  int_base(float x) : base(x > -0.5f && x < 0 ? base(1) : base(x)) {}
  template <class T, class = typename detail::native_int<T>::type>
  int_base(T x) : base(x) {}
  static int_base from_raw(typename base::storage_t raw) { return int_base(base::from_raw(raw)); }
  // Implicit conversion to a C integer, so that an ap_int can index an array.
  operator native() const { return native(this->raw()); }
};

template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
inline int_base<W, false> fixed_base<W, I, S, Q, O, N>::range(int hi, int lo) const {
  typedef typename detail::container<W, W>::type U;
  typedef typename int_base<W, false>::storage_t R;
  const int n = hi - lo + 1;
  U bits = U(V) >> lo;
  if (n < int(sizeof(U) * 8)) bits &= (U(1) << n) - 1;
  return int_base<W, false>::from_raw(R(bits));
}
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
inline int_base<W, false> fixed_base<W, I, S, Q, O, N>::range() const {
  return range(W - 1, 0);
}

// ---- exact binary arithmetic between fixed types
#define HLSFORGE_FX_T1 int W1, int I1, bool S1, ap_q_mode Q1, ap_o_mode O1, int N1
#define HLSFORGE_FX_T2 int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2, int N2
#define HLSFORGE_FX_A const fixed_base<W1, I1, S1, Q1, O1, N1>& a
#define HLSFORGE_FX_B const fixed_base<W2, I2, S2, Q2, O2, N2>& b
#define HLSFORGE_RT detail::rtype<W1, I1, S1, W2, I2, S2>

template <HLSFORGE_FX_T1, HLSFORGE_FX_T2>
inline typename HLSFORGE_RT::mult operator*(HLSFORGE_FX_A, HLSFORGE_FX_B) {
  typedef typename HLSFORGE_RT::mult R;
  typedef typename R::storage_t T;
  return R::from_raw_exact(T(T(a.raw()) * T(b.raw())));
}

template <HLSFORGE_FX_T1, HLSFORGE_FX_T2>
inline typename HLSFORGE_RT::plus operator+(HLSFORGE_FX_A, HLSFORGE_FX_B) {
  typedef typename HLSFORGE_RT::plus R;
  typedef typename R::storage_t T;
  typedef typename detail::container<R::width, R::width>::type U;
  const T x = detail::shl<T, U>(T(a.raw()), HLSFORGE_RT::F - HLSFORGE_RT::F1);
  const T y = detail::shl<T, U>(T(b.raw()), HLSFORGE_RT::F - HLSFORGE_RT::F2);
  return R::from_raw_exact(T(x + y));
}

template <HLSFORGE_FX_T1, HLSFORGE_FX_T2>
inline typename HLSFORGE_RT::minus operator-(HLSFORGE_FX_A, HLSFORGE_FX_B) {
  typedef typename HLSFORGE_RT::minus R;
  typedef typename R::storage_t T;
  typedef typename detail::container<R::width, R::width>::type U;
  const T x = detail::shl<T, U>(T(a.raw()), HLSFORGE_RT::F - HLSFORGE_RT::F1);
  const T y = detail::shl<T, U>(T(b.raw()), HLSFORGE_RT::F - HLSFORGE_RT::F2);
  return R::from_raw_exact(T(U(x) - U(y)));
}

// Exact three-way comparison of the values (-1, 0, 1).
template <HLSFORGE_FX_T1, HLSFORGE_FX_T2>
inline int compare(HLSFORGE_FX_A, HLSFORGE_FX_B) {
  const int k = (W1 - I1) - (W2 - I2);
  return k >= 0 ? detail::fixed_cmp_finer(a.raw(), k, b.raw())
                : -detail::fixed_cmp_finer(b.raw(), -k, a.raw());
}

namespace detail {
constexpr int imax(int a, int b) { return a > b ? a : b; }
// ap_fixed's relational operators, reproduced. They align the binary points (the finer
// operand keeps its width; the coarser one grows, the left one by one extra bit), then compare
// the integers with ap_private's "gcc rules": when exactly one side is signed and the wider
// side (>= 32 bits) is unsigned, a negative value compares as larger than every unsigned one,
// and == holds modulo 2^M (M: 64 for equal widths <= 64, else the wider width, at least 32
// when the left side is <= 64 bits). Everywhere else the comparison is exact.
template <int W1, int I1, bool S1, int W2, int I2, bool S2>
struct cmp_rule {
  enum {
    F1 = W1 - I1,
    F2 = W2 - I2,
    LW = F1 >= F2 ? W1 : imax(W1 + F2 - F1 + 1, 1),
    RW = F1 > F2 ? imax(W2 + F1 - F2, 1) : W2,
    MIXED = S1 != S2,
    SMALL = LW <= 64 && LW < 32 && RW < 32,
    UNSIGNED_ORDER = MIXED && !SMALL && (S1 ? RW >= LW : LW >= RW),
    EQ_M = LW <= 64 ? (LW == RW ? 64 : imax(imax(LW, RW), 32)) : imax(LW, RW),
    EQ_MODULAR = MIXED && (S1 ? RW >= EQ_M : LW >= EQ_M) && EQ_M <= 128
  };
};
}  // namespace detail

template <HLSFORGE_FX_T1, HLSFORGE_FX_T2>
inline bool operator<(HLSFORGE_FX_A, HLSFORGE_FX_B) {
  typedef detail::cmp_rule<W1, I1, S1, W2, I2, S2> rule;
  if (rule::UNSIGNED_ORDER) {
    if (S1 && a.raw() < 0) return false;
    if (S2 && b.raw() < 0) return true;
  }
  return compare(a, b) < 0;
}
template <HLSFORGE_FX_T1, HLSFORGE_FX_T2>
inline bool operator>(HLSFORGE_FX_A, HLSFORGE_FX_B) {
  typedef detail::cmp_rule<W1, I1, S1, W2, I2, S2> rule;
  if (rule::UNSIGNED_ORDER) {
    if (S1 && a.raw() < 0) return true;
    if (S2 && b.raw() < 0) return false;
  }
  return compare(a, b) > 0;
}
template <HLSFORGE_FX_T1, HLSFORGE_FX_T2>
inline bool operator==(HLSFORGE_FX_A, HLSFORGE_FX_B) {
  typedef detail::cmp_rule<W1, I1, S1, W2, I2, S2> rule;
  if (rule::EQ_MODULAR && ((S1 && a.raw() < 0) || (S2 && b.raw() < 0))) {
    using detail::u128;
    const int ka = rule::F2 > rule::F1 ? rule::F2 - rule::F1 : 0;
    const int kb = rule::F1 > rule::F2 ? rule::F1 - rule::F2 : 0;
    const u128 x = ka >= 128 ? u128(0) : u128(a.raw()) << (ka % 128);
    const u128 y = kb >= 128 ? u128(0) : u128(b.raw()) << (kb % 128);
    const u128 m = rule::EQ_M >= 128 ? ~u128(0) : (u128(1) << (rule::EQ_M % 128)) - 1;
    return ((x - y) & m) == 0;
  }
  return compare(a, b) == 0;
}
template <HLSFORGE_FX_T1, HLSFORGE_FX_T2>
inline bool operator!=(HLSFORGE_FX_A, HLSFORGE_FX_B) { return !(a == b); }
template <HLSFORGE_FX_T1, HLSFORGE_FX_T2>
inline bool operator<=(HLSFORGE_FX_A, HLSFORGE_FX_B) { return !(a > b); }
template <HLSFORGE_FX_T1, HLSFORGE_FX_T2>
inline bool operator>=(HLSFORGE_FX_A, HLSFORGE_FX_B) { return !(a < b); }

// Comparisons with C integers (as fixed_base<bits, bits, signed>) and with double (through
// to_double(), as ap_fixed does).
#define HLSFORGE_CMP(OP)                                                              \
  template <HLSFORGE_FX_T1, class T, class F = typename detail::native_int<T>::type>  \
  inline bool operator OP(HLSFORGE_FX_A, T b) { return a OP F(b); }                   \
  template <HLSFORGE_FX_T1, class T, class F = typename detail::native_int<T>::type>  \
  inline bool operator OP(T b, HLSFORGE_FX_A) { return F(b) OP a; }                   \
  template <HLSFORGE_FX_T1>                                                           \
  inline bool operator OP(HLSFORGE_FX_A, double d) { return a.to_double() OP d; }     \
  template <HLSFORGE_FX_T1>                                                           \
  inline bool operator OP(double d, HLSFORGE_FX_A) { return d OP a.to_double(); }
HLSFORGE_CMP(==)
HLSFORGE_CMP(!=)
HLSFORGE_CMP(<)
HLSFORGE_CMP(<=)
HLSFORGE_CMP(>)
HLSFORGE_CMP(>=)
#undef HLSFORGE_CMP

// Arithmetic with C integers: the integer acts as fixed_base<bits, bits, signed> (ap_fixed).
#define HLSFORGE_INT_OP(OP)                                                                 \
  template <HLSFORGE_FX_T1, class T, class F = typename detail::native_int<T>::type>        \
  inline auto operator OP(HLSFORGE_FX_A, T b)->decltype(a OP F(b)) { return a OP F(b); }   \
  template <HLSFORGE_FX_T1, class T, class F = typename detail::native_int<T>::type>        \
  inline auto operator OP(T b, HLSFORGE_FX_A)->decltype(F(b) OP a) { return F(b) OP a; }
HLSFORGE_INT_OP(+)
HLSFORGE_INT_OP(-)
HLSFORGE_INT_OP(*)
#undef HLSFORGE_INT_OP

#undef HLSFORGE_FX_T1
#undef HLSFORGE_FX_T2
#undef HLSFORGE_FX_A
#undef HLSFORGE_FX_B
#undef HLSFORGE_RT

// ---- aliases (the names generated code uses come from hlsforge_types.h)
template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0>
using fixed = fixed_base<W, I, true, Q, O, N>;
template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0>
using ufixed = fixed_base<W, I, false, Q, O, N>;
template <int W>
using sint = int_base<W, true>;
template <int W>
using uint = int_base<W, false>;

// ---- type facts: fixed_traits<T>::{width, iwidth, fwidth, is_signed, min(), max(), lsb()}
template <class T>
struct fixed_traits;
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
struct fixed_traits<fixed_base<W, I, S, Q, O, N> > {
  typedef fixed_base<W, I, S, Q, O, N> type;
  typedef typename type::storage_t storage_t;
  // Raw integers as C types: long long / unsigned long long up to 64 bits.
  typedef typename detail::cond<(W <= 64), typename detail::cond<S, long long, unsigned long long>::type,
                                storage_t>::type raw_t;
  static const int width = W;
  static const int iwidth = I;
  static const int fwidth = W - I;
  static const bool is_signed = S;
  static type min() {
    typedef typename detail::container<W, W>::type U;
    return type::from_raw(S ? storage_t(~U(0) << (W - 1)) : storage_t(0));
  }
  static type max() {
    typedef typename detail::container<W, W>::type U;
    const int NB = int(sizeof(U) * 8);
    return type::from_raw(
        storage_t(S ? (U(1) << (W - 1)) - 1 : (W == NB ? ~U(0) : (U(1) << (W % NB)) - 1)));
  }
  static type lsb() { return type::from_raw(storage_t(1)); }
  static raw_t raw(const type& x) { return raw_t(x.raw()); }
  static type from_raw(raw_t r) { return type::from_raw(storage_t(r)); }
};
template <int W, bool S>
struct fixed_traits<int_base<W, S> > : fixed_traits<fixed_base<W, W, S, AP_TRN_ZERO, AP_WRAP> > {
  typedef fixed_traits<fixed_base<W, W, S, AP_TRN_ZERO, AP_WRAP> > base;
  typedef int_base<W, S> type;
  static type min() { return type(base::min()); }
  static type max() { return type(base::max()); }
  static type lsb() { return type(1); }
  static typename base::raw_t raw(const type& x) { return typename base::raw_t(x.raw()); }
  static type from_raw(typename base::raw_t r) { return type::from_raw(typename type::storage_t(r)); }
};

}  // namespace hlsforge

#endif  // HLSFORGE_FIXED_H_
