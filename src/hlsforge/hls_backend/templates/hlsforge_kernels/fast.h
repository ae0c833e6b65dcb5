// hlsforge kernel library: the C simulation's fast multiply-accumulate on raw integers.
//
// Dense and Conv spend nearly all C-simulation time in acc = cast_accum(acc + x * w). With
// hlsforge's own fixed-point header (and not under synthesis) the kernels run that loop on
// raw integers instead of fixed-point objects: the weights' raw codes are read once, and one
// step is an integer multiply, a shift with the accumulator's rounding rule and its overflow
// rule, all resolved at compile time. The result is the same bits as the generic loop
// (docs/numerics.md): hlsforge's tests compare it with the emulator, with the generic loop
// (HLSFORGE_NO_FAST_CSIM) and with Xilinx ap_fixed.h (which always takes the generic loop).
//
// A layer takes the fast path only when every intermediate provably fits in 64 bits and the
// accumulator is an ap_fixed/ap_ufixed; otherwise the generic loop runs.
#ifndef HLSFORGE_KERNELS_FAST_H
#define HLSFORGE_KERNELS_FAST_H

#include "common.h"

#if !defined(__SYNTHESIS__) && !defined(HLSFORGE_USE_AP_FIXED) && !defined(HLSFORGE_NO_FAST_CSIM)
#define HLSFORGE_FAST_CSIM 1
#endif

#ifdef HLSFORGE_FAST_CSIM

#include <cmath>

// The MAC loops are compiled twice, for AVX2 and for the baseline ISA; the loader picks the
// one the CPU supports, so a cached library stays valid on any x86-64 machine.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(HLSFORGE_NO_CLONES)
#define HLSFORGE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define HLSFORGE_CLONES
#endif

namespace hlsforge {
namespace fast {

typedef long long i64;

// Quantization and overflow modes of an accumulator type; only ap_fixed / ap_ufixed qualify
// (conversions into ap_int have extra rules, they take the generic loop).
template <class T>
struct accum_modes {
    static const bool ok = false;
    static const int width = 1, fwidth = 0;
    static const bool is_signed = true;
    static const ap_q_mode q = AP_TRN;
    static const ap_o_mode o = AP_WRAP;
};
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O>
struct accum_modes<fixed_base<W, I, S, Q, O, 0> > {
    static const bool ok = W <= 60;
    static const int width = W, fwidth = W - I;
    static const bool is_signed = S;
    static const ap_q_mode q = Q;
    static const ap_o_mode o = O;
};

// Overflow rule (docs/numerics.md §2) applied to an exact integer r, W <= 60.
template <int W, bool S, ap_o_mode O>
inline i64 overflow(i64 r) {
    const i64 hi = S ? ((i64(1) << (W - 1)) - 1) : ((i64(1) << W) - 1);
    const i64 lo = S ? -(i64(1) << (W - 1)) : 0;
    const bool sym = O == AP_SAT_SYM && S && W > 1;
    if (O == AP_WRAP) {
        if (S) return i64((unsigned long long)r << (64 - W)) >> (64 - W);
        return r & hi;
    }
    if (r > hi) return O == AP_SAT_ZERO ? 0 : hi;
    if (r < lo) return O == AP_SAT_ZERO ? 0 : (sym ? -hi : lo);
    if (sym && r == lo) return -hi;
    return r;
}

// round(v * 2^-n) by the quantization rule Q, n >= 1 (docs/numerics.md §2: truncate toward
// -inf, then add one when the rule holds for the dropped bits). I: int or long long.
template <ap_q_mode Q, class I>
inline I round_shift(I v, int n) {
    const I fl = v >> n;
    if (Q == AP_TRN) return fl;
    const I rem = v & ((I(1) << n) - 1);
    const bool qb = (rem >> (n - 1)) & 1;
    const bool rest = (rem & ((I(1) << (n - 1)) - 1)) != 0;
    const bool neg = v < 0;
    bool inc = false;
    switch (Q) {
    case AP_TRN_ZERO: inc = neg && (qb || rest); break;
    case AP_RND: inc = qb; break;
    case AP_RND_ZERO: inc = qb && (neg || rest); break;
    case AP_RND_MIN_INF: inc = qb && rest; break;
    case AP_RND_INF: inc = qb && (!neg || rest); break;
    case AP_RND_CONV: inc = qb && ((fl & 1) || rest); break;
    default: break;
    }
    return fl + (inc ? 1 : 0);
}

// How a layer's multiply-accumulate runs on raw integers (all decided at compile time).
//   step:    acc = overflow(round(acc + x*w)) literally, in 64-bit integers;
//   modular: the accumulator wraps (AP_WRAP) and the rounding commutes with adding values on
//            its grid (TRN, RND, RND_MIN_INF, or no bits dropped), so the loop equals
//            wrap(acc0 + sum of round(x*w)): the sum runs modulo 2^32 (narrow) or 2^64 and
//            wraps once at the end — the same bits, far fewer operations.
template <class data_T, class weight_T, class acc_T>
struct mac_plan {
    typedef fixed_traits<data_T> X;
    typedef fixed_traits<weight_T> Wt;
    typedef accum_modes<acc_T> M;
    typedef acc_T acc_t;
    static const int p_frac = X::fwidth + Wt::fwidth;
    static const int shift = p_frac - M::fwidth;  // bits a product loses in the accumulator
    static const int p_mag = X::width + Wt::width - (X::is_signed ? 1 : 0) - (Wt::is_signed ? 1 : 0);  // |x*w| < 2^p_mag
    static const bool inputs_ok = M::ok && X::width <= 60 && Wt::width <= 60;
    static const bool invariant = M::q == AP_TRN || M::q == AP_RND || M::q == AP_RND_MIN_INF;
    static const bool step_ok = inputs_ok && p_mag <= 60 && (shift <= 0 ? p_mag - shift <= 61 : M::width + shift <= 61);
    static const bool modular = inputs_ok && M::o == AP_WRAP && (shift <= 0 || invariant) && p_mag <= 61;
    static const bool narrow = modular && M::width <= 32 && (shift <= 0 || p_mag <= 30);
    static const bool fast = modular || step_ok;
    typedef typename detail::cond<narrow, int, i64>::type sint;
    typedef typename detail::cond<narrow, unsigned, unsigned long long>::type uacc;

    // One product's contribution to a modular accumulator: round(x*w) on the accumulator grid.
    static uacc term(sint x, sint w) {
        if (shift > 0) return uacc(round_shift<M::q>(sint(x * w), shift > 0 ? shift : 1));
        return (uacc(x) * uacc(w)) << (shift < 0 ? -shift : 0);
    }
    // One literal step: cast_accum(acc + x*w) with acc and the result raw in acc_T.
    static i64 step(i64 acc, i64 p) {
        if (shift > 0) {
            const int s = shift > 0 ? shift : 1;
            if (invariant) return overflow<M::width, M::is_signed, M::o>(acc + round_shift<M::q>(p, s));
            return overflow<M::width, M::is_signed, M::o>(round_shift<M::q>(acc * (i64(1) << s) + p, s));
        }
        const int s = shift < 0 ? -shift : 0;
        return overflow<M::width, M::is_signed, M::o>(acc + p * (i64(1) << s));
    }
    // The accumulator's raw value as acc_T.
    static acc_T finish(i64 acc) {
        return from_raw_bits<acc_T>(typename fixed_traits<acc_T>::raw_t(overflow<M::width, M::is_signed, AP_WRAP>(acc)));
    }
};

// Zero inputs leave the accumulators unchanged. Skipping them pays only when a row of weights
// is long: for short rows the branch (unpredictable after a ReLU) costs more than the
// multiply-adds it saves, so those rows are accumulated without it (same result).
static const unsigned skip_zero_min_out = 128;

#if defined(__GNUC__)
// The modular loop for short rows (8 or 16 outputs) of 32-bit raw values and a truncating or
// rounding-half-up accumulator, written on 8-lane vectors (GCC vector extensions; two SSE halves in the baseline clone):
// left to itself, g++ vectorizes short rows across the inputs, with a permute per product.
// Same arithmetic as plan::term, lane by lane: exact 32-bit product (|x*w| < 2^30 when
// narrow), its rounding shift, a wrap-around add.
typedef int v8i __attribute__((vector_size(32)));
typedef unsigned v8u __attribute__((vector_size(32)));

// Longer rows are vectorized well over the outputs by g++ itself (and measured faster so).
static const unsigned vec_rows_max_out = 16;

template <class plan>
struct vec_mac {
    static const bool ok = plan::narrow && (plan::shift <= 0 || plan::M::q == AP_TRN || plan::M::q == AP_RND);
};

template <class plan, unsigned N_IN, unsigned N_OUT, bool OK = vec_mac<plan>::ok>
struct modular_rows {
    static bool run(unsigned *, const int *, const int *) { return false; }
};
template <class plan, unsigned N_IN, unsigned N_OUT>
struct modular_rows<plan, N_IN, N_OUT, true> {
    static bool run(unsigned *acc_io, const int *x, const int *w) {
        if (N_OUT % 8 != 0) return false;
        const unsigned nv = N_OUT / 8 ? N_OUT / 8 : 1;
        v8u acc[nv];
        __builtin_memcpy(acc, acc_io, sizeof(unsigned) * N_OUT);
        for (unsigned i = 0; i < N_IN; i++) {
            const int xi = x[i];
            if (N_OUT >= skip_zero_min_out && xi == 0) continue;
            const v8i xv = {xi, xi, xi, xi, xi, xi, xi, xi};
            const int *wr = w + i * N_OUT;
            for (unsigned k = 0; k < nv; k++) {
                v8i wv;
                __builtin_memcpy(&wv, wr + 8 * k, sizeof(wv));
                if (plan::shift > 0) {
                    const v8i pr = xv * wv; // exact: |x*w| < 2^30
                    const int s = plan::shift > 0 ? plan::shift : 1;
                    v8i t = pr >> s;
                    if (plan::M::q == AP_RND) t += (pr >> (s - 1)) & 1;
                    acc[k] += (v8u)t;
                } else {
                    acc[k] += ((v8u)xv * (v8u)wv) << (plan::shift < 0 ? -plan::shift : 0); // modulo 2^32
                }
            }
        }
        __builtin_memcpy(acc_io, acc, sizeof(unsigned) * N_OUT);
        return true;
    }
};
#endif

// acc[j] (+)= x[i] * w[i][j], i in order, for one row. The accumulators live in a local
// array (registers) for the whole loop: acc may alias x (int / unsigned), which would
// otherwise force a reload and a store per input.
template <class plan, unsigned N_IN, unsigned N_OUT>
HLSFORGE_CLONES void accumulate_modular(typename plan::uacc *acc_io, const typename plan::sint *x,
                                        const typename plan::sint *w) {
#if defined(__GNUC__)
    if (vec_mac<plan>::ok && N_OUT % 8 == 0 && N_OUT <= vec_rows_max_out &&
        modular_rows<plan, N_IN, N_OUT>::run(reinterpret_cast<unsigned *>(acc_io), reinterpret_cast<const int *>(x),
                                             reinterpret_cast<const int *>(w)))
        return;
#endif
    typename plan::uacc acc[N_OUT];
    for (unsigned j = 0; j < N_OUT; j++) acc[j] = acc_io[j];
    for (unsigned i = 0; i < N_IN; i++) {
        const typename plan::sint xi = x[i];
        if (N_OUT >= skip_zero_min_out && xi == 0) continue;
        const typename plan::sint *wr = w + i * N_OUT;
        for (unsigned j = 0; j < N_OUT; j++) acc[j] += plan::term(xi, wr[j]);
    }
    for (unsigned j = 0; j < N_OUT; j++) acc_io[j] = acc[j];
}

template <class plan, unsigned N_IN, unsigned N_OUT>
HLSFORGE_CLONES void accumulate_steps(i64 *acc_io, const typename plan::sint *x, const typename plan::sint *w) {
    i64 acc[N_OUT];
    for (unsigned j = 0; j < N_OUT; j++) acc[j] = acc_io[j];
    for (unsigned i = 0; i < N_IN; i++) {
        const i64 xi = i64(x[i]);
        if (xi == 0) continue;
        const typename plan::sint *wr = w + i * N_OUT;
        for (unsigned j = 0; j < N_OUT; j++) acc[j] = plan::step(acc[j], xi * i64(wr[j]));
    }
    for (unsigned j = 0; j < N_OUT; j++) acc_io[j] = acc[j];
}

}  // namespace fast
}  // namespace hlsforge

#include "fast_lanes.h"

namespace hlsforge {
namespace fast {

// The raw codes of the weights and the accumulator's initial values (cast_accum(bias)),
// computed once per layer.
template <typename CONFIG_T, class S, unsigned N_W, unsigned N_B>
struct raw_params {
    S w[N_W];
    i64 b[N_B];
    raw_params(const typename CONFIG_T::weight_t *weights, const typename CONFIG_T::bias_t *biases) {
        for (unsigned k = 0; k < N_W; k++) w[k] = S(raw_bits(weights[k]));
        for (unsigned j = 0; j < N_B; j++) b[j] = i64(raw_bits(typename CONFIG_T::accum_t(biases[j])));
    }
};

// cast_input (docs/numerics.md §2) of a double into a fixed-point type of at most 32 bits,
// on integers: s = x * 2^F is exact, floor(s) and s - floor(s) are exact below 2^52, and the
// rounding rule reads qb / rest off the fraction. Anything else (inf, NaN, huge or tiny
// values, wider types) takes the type's own constructor. Same bits, without the generic
// conversion's data-dependent branches (the C-sim bridge converts every input with it).
template <class T>
inline T from_double(double x) {
    typedef accum_modes<T> M;
    if (!M::ok || M::width > 32) return T(x);
    // x * 2^F by a constant power of two: exact (or correctly rounded when tiny), as ldexp,
    // without the library call per input value
    const double s = x * detail::pow2c<M::fwidth>::value;
    const double a = std::fabs(s);
    if (!(a < 4503599627370496.0) || (a != 0 && a < 1e-300)) return T(x);
    const double fl = std::floor(s);
    const double frac = s - fl;
    i64 r = i64(fl);
    if (M::q != AP_TRN && frac != 0) {
        const bool neg = x < 0;
        const bool qb = frac >= 0.5;
        const bool rest = qb ? frac != 0.5 : true;
        bool inc = false;
        switch (M::q) {
        case AP_TRN_ZERO: inc = neg; break;
        case AP_RND: inc = qb; break;
        case AP_RND_ZERO: inc = qb && (neg || rest); break;
        case AP_RND_MIN_INF: inc = qb && rest; break;
        case AP_RND_INF: inc = qb && (!neg || rest); break;
        case AP_RND_CONV: inc = qb && ((r & 1) || rest); break;
        default: break;
        }
        r += inc ? 1 : 0;
    }
    return from_raw_bits<T>(typename fixed_traits<T>::raw_t(overflow<M::width, M::is_signed, M::o>(r)));
}

}  // namespace fast

template <class T>
inline T csim_input(double x) { return fast::from_double<T>(x); }
}  // namespace hlsforge

#else  // the type's own conversion (Xilinx ap_fixed.h, or HLSFORGE_NO_FAST_CSIM)

namespace hlsforge {
template <class T>
inline T csim_input(double x) { return T(x); }
}  // namespace hlsforge

#endif  // HLSFORGE_FAST_CSIM

#endif
