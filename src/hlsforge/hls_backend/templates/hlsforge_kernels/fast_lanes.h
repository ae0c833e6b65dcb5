// hlsforge kernel library: the C simulation's multiply-accumulate on SIMD lanes (C simulation
// only; included by fast.h under HLSFORGE_FAST_CSIM).
//
// The modular plan of fast.h (a wrapping accumulator whose rounding commutes with adding
// on-grid values) needs, per product, round(x*w) on the accumulator's grid, summed modulo a
// power of two. Here that loop runs on AVX2 registers, one vector of outputs per weight row,
// with the accumulators held in named registers for the whole row (an array of vectors is
// kept in memory by g++, which turns every add into a store/reload chain):
//
//   16-bit lanes (data and weights of <= 16 bits, accumulator wrapping at <= 16 bits, TRN):
//     a product dropping s bits is floor(x*w / 2^s). With the weight pre-shifted to
//     w' = w * 2^(16-s) (when every w' of the layer fits in 16 bits, checked once),
//     floor(x*w'/2^16) is exactly one vpmulhw; s >= 16: vpmulhw then an arithmetic shift by
//     s-16; s <= 0: (x * (w*2^-s)) mod 2^16 is one vpmullw. 16 products per instruction;
//     the sum modulo 2^16 is the accumulator's wrap (its width is at most 16).
//   32-bit lanes (every other narrow plan with TRN or RND, or weights that do not fit):
//     the exact 32-bit product, its rounding shift, a wrap-around add (fast.h's term).
//
// The same bits as the scalar loop (tests/hls_backend/mac_fuzz.cpp checks both against the
// literal acc = accum_t(acc + x*w)). The AVX2 code is compiled for AVX2 only
// (#pragma GCC target) and chosen at run time when the CPU has it, so a cached library runs
// on any x86-64 machine; elsewhere the scalar loop runs.
#ifndef HLSFORGE_KERNELS_FAST_LANES_H
#define HLSFORGE_KERNELS_FAST_LANES_H

#include "fast.h"  // (which includes this header where mac_plan is complete)

#ifdef HLSFORGE_FAST_CSIM

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(HLSFORGE_NO_LANES)
#define HLSFORGE_LANES_AVX2 1
#endif

namespace hlsforge {
namespace fast {

// Which lane form a plan can take (decided at compile time; the 16-bit form also needs the
// layer's weights to fit after the pre-shift, decided once at run time).
template <class plan>
struct lane_kind {
    typedef typename plan::X X;
    typedef typename plan::Wt Wt;
    typedef typename plan::M M;
    static const bool fits16_x = X::is_signed ? X::width <= 16 : X::width <= 15;
    static const bool fits16_w = Wt::is_signed ? Wt::width <= 16 : Wt::width <= 15;
    static const bool lanes32 = plan::narrow && (plan::shift <= 0 || M::q == AP_TRN || M::q == AP_RND);
    static const bool lanes16 = lanes32 && M::width <= 16 && fits16_x && fits16_w && (plan::shift <= 0 || M::q == AP_TRN);
};

#ifdef HLSFORGE_LANES_AVX2
#pragma GCC push_options
#pragma GCC target("avx2")
namespace avx2 {

// GCC vector types (no <immintrin.h>: parsing it costs every C-sim build ~0.4 s). Arithmetic
// that wraps is done on the unsigned types; the only builtin is the high-half multiply.
typedef short v16s __attribute__((vector_size(32)));
typedef unsigned short v16u __attribute__((vector_size(32)));
typedef short v8s __attribute__((vector_size(16)));
typedef unsigned short v8u16 __attribute__((vector_size(16)));
typedef int v8i32 __attribute__((vector_size(32)));
typedef unsigned v8u32 __attribute__((vector_size(32)));

template <class V, class T>
inline __attribute__((always_inline)) V load(const T *p) {
    V v;
    __builtin_memcpy(&v, p, sizeof(V));
    return v;
}
template <class V, class T>
inline __attribute__((always_inline)) void store(T *p, const V &v) {
    __builtin_memcpy(p, &v, sizeof(V));
}

// One product vector for 16-bit lanes: MUL 0: x*w modulo 2^16 (vpmullw); 1: floor(x*w/2^16)
// (vpmulhw), then an arithmetic shift by SH (at most 15: the high half is below 2^15, so a
// larger shift gives the same sign fill).
template <int MUL, int SH>
inline __attribute__((always_inline)) v16u term16(v16s x, v16s w) {
    v16s t = MUL == 0 ? (v16s)((v16u)x * (v16u)w) : __builtin_ia32_pmulhw256(x, w);
    if (SH > 0) t = t >> (SH > 15 ? 15 : SH);
    return (v16u)t;
}
template <int MUL, int SH>
inline __attribute__((always_inline)) v8u16 term8(v8s x, v8s w) {
    v8s t = MUL == 0 ? (v8s)((v8u16)x * (v8u16)w) : __builtin_ia32_pmulhw128(x, w);
    if (SH > 0) t = t >> (SH > 15 ? 15 : SH);
    return (v8u16)t;
}
// 32-bit lanes: the exact product (|x*w| < 2^30 when SH > 0), its floor shift (RND: plus the
// last dropped bit); SH > 31 gives the sign fill, as a shift by 31 does for such products.
template <int SH, bool RND>
inline __attribute__((always_inline)) v8u32 term32(v8i32 x, v8i32 w) {
    const v8u32 pr = (v8u32)x * (v8u32)w;
    if (SH <= 0) return pr;
    const int s = SH > 31 ? 31 : SH;
    v8i32 t = (v8i32)pr >> s;
    if (RND) t += ((v8i32)pr >> (s - 1 > 0 ? s - 1 : 0)) & 1;
    return (v8u32)t;
}

// A vector of accumulators as 32-bit integers (16-bit lanes sign-extended).
inline __attribute__((always_inline)) void store_acc(int *out, v16u a16) {
    const v16s a = (v16s)a16;
    store(out, __builtin_convertvector(__builtin_shufflevector(a, a, 0, 1, 2, 3, 4, 5, 6, 7), v8i32));
    store(out + 8, __builtin_convertvector(__builtin_shufflevector(a, a, 8, 9, 10, 11, 12, 13, 14, 15), v8i32));
}
inline __attribute__((always_inline)) void store_acc(int *out, v8u32 a) { store(out, a); }

// One chunk of up to four vectors of outputs (C of them) over all inputs, the accumulators
// in registers. The inputs come as KH rows of SEG values each (a convolution window read in
// place from the line buffer: kern_h rows of kern_w * n_chan contiguous values), or one row
// (Dense). The accumulators start at the (padded) biases and end as 32-bit integers in out[]
// (16-bit lanes sign-extended: the same value modulo 2^16, all the accumulator keeps).
template <bool S16, int MUL, int SH, bool RND, unsigned KH, unsigned SEG, unsigned NP, unsigned C, bool SKIP0>
inline __attribute__((always_inline)) void chunk(const void *bias_v, const int *const *rows, const void *w_v, int *out) {
    typedef typename detail::cond<S16, short, int>::type lane_t;
    typedef typename detail::cond<S16, v16u, v8u32>::type acc_v;
    const lane_t *bias = static_cast<const lane_t *>(bias_v);
    const lane_t *w = static_cast<const lane_t *>(w_v);
    const unsigned L = S16 ? 16 : 8;
    acc_v a0 = load<acc_v>(bias);
    acc_v a1 = C > 1 ? load<acc_v>(bias + L) : acc_v();
    acc_v a2 = C > 2 ? load<acc_v>(bias + 2 * L) : acc_v();
    acc_v a3 = C > 3 ? load<acc_v>(bias + 3 * L) : acc_v();
    if (!SKIP0 && C <= 2) {
        // one or two vectors of outputs: the spare registers hold partial sums (as in chunk8),
        // so that two or four add chains run side by side instead of one
#define HLSFORGE_T(i, k) (S16 ? (acc_v)term16<MUL, SH>(v16s{} + (short)x[i], load<v16s>(wr + (i) * NP + (k) * L)) \
                              : (acc_v)term32<SH, RND>(v8i32{} + x[i], load<v8i32>(wr + (i) * NP + (k) * L)))
        for (unsigned ky = 0; ky < KH; ky++) {
            const int *x = rows[ky];
            const lane_t *wr = w + (unsigned long)ky * SEG * NP;
            unsigned i = 0;
            if (C == 1) {
                for (; i + 4 <= SEG; i += 4) {
                    a0 += HLSFORGE_T(i, 0);
                    a1 += HLSFORGE_T(i + 1, 0);
                    a2 += HLSFORGE_T(i + 2, 0);
                    a3 += HLSFORGE_T(i + 3, 0);
                }
                if (i < SEG) a0 += HLSFORGE_T(i, 0);
                if (i + 1 < SEG) a1 += HLSFORGE_T(i + 1, 0);
                if (i + 2 < SEG) a2 += HLSFORGE_T(i + 2, 0);
            } else {
                for (; i + 2 <= SEG; i += 2) {
                    a0 += HLSFORGE_T(i, 0);
                    a1 += HLSFORGE_T(i, 1);
                    a2 += HLSFORGE_T(i + 1, 0);
                    a3 += HLSFORGE_T(i + 1, 1);
                }
                if (i < SEG) {
                    a0 += HLSFORGE_T(i, 0);
                    a1 += HLSFORGE_T(i, 1);
                }
            }
        }
#undef HLSFORGE_T
        if (C == 1) {
            store_acc(out, (a0 + a1) + (a2 + a3));
        } else {
            store_acc(out, a0 + a2);
            store_acc(out + L, a1 + a3);
        }
        return;
    }
    for (unsigned ky = 0; ky < KH; ky++) {
        const int *x = rows[ky];
        for (unsigned i = 0; i < SEG; i++) {
            const int xi = x[i];
            if (SKIP0 && xi == 0) continue;
            const lane_t *wr = w + (unsigned long)(ky * SEG + i) * NP;
            if (S16) {
                const v16s xv = v16s{} + (short)xi;
                a0 += (acc_v)term16<MUL, SH>(xv, load<v16s>(wr));
                if (C > 1) a1 += (acc_v)term16<MUL, SH>(xv, load<v16s>(wr + L));
                if (C > 2) a2 += (acc_v)term16<MUL, SH>(xv, load<v16s>(wr + 2 * L));
                if (C > 3) a3 += (acc_v)term16<MUL, SH>(xv, load<v16s>(wr + 3 * L));
            } else {
                const v8i32 xv = v8i32{} + xi;
                a0 += (acc_v)term32<SH, RND>(xv, load<v8i32>(wr));
                if (C > 1) a1 += (acc_v)term32<SH, RND>(xv, load<v8i32>(wr + L));
                if (C > 2) a2 += (acc_v)term32<SH, RND>(xv, load<v8i32>(wr + 2 * L));
                if (C > 3) a3 += (acc_v)term32<SH, RND>(xv, load<v8i32>(wr + 3 * L));
            }
        }
    }
    store_acc(out, a0);
    if (C > 1) store_acc(out + L, a1);
    if (C > 2) store_acc(out + 2 * L, a2);
    if (C > 3) store_acc(out + 3 * L, a3);
}

// Eight outputs or fewer in 16-bit lanes: one 128-bit vector, summed in four partial
// accumulators (input i of a row goes to partial i mod 4; the sum modulo 2^16 does not
// depend on the order, and four independent add chains keep the multiplier busy where one
// chain would wait on each add). (SKIP0 never applies: it needs 128 outputs or more.)
template <int MUL, int SH, unsigned KH, unsigned SEG>
inline __attribute__((always_inline)) void chunk8(const short *bias, const int *const *rows, const short *w, int *out) {
    v8u16 a0 = load<v8u16>(bias), a1 = v8u16(), a2 = v8u16(), a3 = v8u16();
    for (unsigned ky = 0; ky < KH; ky++) {
        const int *x = rows[ky];
        const short *wr = w + ky * SEG * 8;
#define HLSFORGE_T8(i) term8<MUL, SH>(v8s{} + (short)x[i], load<v8s>(wr + (i) * 8))
        unsigned i = 0;
        for (; i + 4 <= SEG; i += 4) {
            a0 += HLSFORGE_T8(i);
            a1 += HLSFORGE_T8(i + 1);
            a2 += HLSFORGE_T8(i + 2);
            a3 += HLSFORGE_T8(i + 3);
        }
        if (i < SEG) a0 += HLSFORGE_T8(i);
        if (i + 1 < SEG) a1 += HLSFORGE_T8(i + 1);
        if (i + 2 < SEG) a2 += HLSFORGE_T8(i + 2);
#undef HLSFORGE_T8
    }
    store(out, __builtin_convertvector((v8s)((a0 + a1) + (a2 + a3)), v8i32));
}

// Two output positions of at most eight outputs each (a convolution's neighbouring windows),
// side by side in one 256-bit vector: window A in the low eight lanes, window B in the high
// eight, each weight row loaded once into both halves. Per lane the same terms as chunk8.
template <int MUL, int SH, unsigned KH, unsigned SEG>
inline __attribute__((always_inline)) void chunk8x2(const short *bias, const int *const *rows_a, const int *const *rows_b,
                                                    const short *w, int *out_a, int *out_b) {
    const v8s b8 = load<v8s>(bias);
    v16u a0 = (v16u)__builtin_shufflevector(b8, b8, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
    v16u a1 = v16u(), a2 = v16u(), a3 = v16u();
    for (unsigned ky = 0; ky < KH; ky++) {
        const int *xa = rows_a[ky], *xb = rows_b[ky];
        const short *wr = w + ky * SEG * 8;
#define HLSFORGE_T8X2(i)                                                                                        \
    term16<MUL, SH>(__builtin_shufflevector(v8s{} + (short)xa[i], v8s{} + (short)xb[i], 0, 1, 2, 3, 4, 5, 6, 7, 8, \
                                            9, 10, 11, 12, 13, 14, 15),                                        \
                    __builtin_shufflevector(load<v8s>(wr + (i) * 8), load<v8s>(wr + (i) * 8), 0, 1, 2, 3, 4, 5, 6, \
                                            7, 0, 1, 2, 3, 4, 5, 6, 7))
        unsigned i = 0;
        for (; i + 4 <= SEG; i += 4) {
            a0 += HLSFORGE_T8X2(i);
            a1 += HLSFORGE_T8X2(i + 1);
            a2 += HLSFORGE_T8X2(i + 2);
            a3 += HLSFORGE_T8X2(i + 3);
        }
        if (i < SEG) a0 += HLSFORGE_T8X2(i);
        if (i + 1 < SEG) a1 += HLSFORGE_T8X2(i + 1);
        if (i + 2 < SEG) a2 += HLSFORGE_T8X2(i + 2);
#undef HLSFORGE_T8X2
    }
    const v16s a = (v16s)((a0 + a1) + (a2 + a3));
    store(out_a, __builtin_convertvector(__builtin_shufflevector(a, a, 0, 1, 2, 3, 4, 5, 6, 7), v8i32));
    store(out_b, __builtin_convertvector(__builtin_shufflevector(a, a, 8, 9, 10, 11, 12, 13, 14, 15), v8i32));
}

template <int MUL, int SH, unsigned KH, unsigned SEG>
inline void mac8x2(const short *bias, const int *const *rows_a, const int *const *rows_b, const short *w, int *out_a,
                   int *out_b) {
    chunk8x2<MUL, SH, KH, SEG>(bias, rows_a, rows_b, w, out_a, out_b);
}

template <bool S16, int MUL, int SH, bool RND, unsigned KH, unsigned SEG, unsigned NP, unsigned V0, unsigned NV, bool SKIP0>
struct chunks {
    static inline __attribute__((always_inline)) void run(const void *bias, const int *const *rows, const void *w, int *out) {
        typedef typename detail::cond<S16, short, int>::type lane_t;
        const unsigned L = S16 ? 16 : 8;
        const unsigned C = NV - V0 < 4 ? NV - V0 : 4;
        chunk<S16, MUL, SH, RND, KH, SEG, NP, C, SKIP0>(static_cast<const lane_t *>(bias) + V0 * L, rows,
                                                        static_cast<const lane_t *>(w) + V0 * L, out + V0 * L);
        chunks<S16, MUL, SH, RND, KH, SEG, NP, V0 + C, NV, SKIP0>::run(bias, rows, w, out);
    }
};
template <bool S16, int MUL, int SH, bool RND, unsigned KH, unsigned SEG, unsigned NP, unsigned NV, bool SKIP0>
struct chunks<S16, MUL, SH, RND, KH, SEG, NP, NV, NV, SKIP0> {
    static inline void run(const void *, const int *const *, const void *, int *) {}
};

// out[f] (f < NP) = bias[f] + sum_i term(x[i], w[i][f]), as 32-bit integers; x = KH rows of
// SEG values.
template <bool S16, int MUL, int SH, bool RND, unsigned KH, unsigned SEG, unsigned NP, bool SKIP0>
inline __attribute__((always_inline)) void mac_inline(const void *bias, const int *const *rows, const void *w, int *out) {
    if (S16 && NP == 8)
        chunk8<MUL, SH, KH, SEG>(static_cast<const short *>(bias), rows, static_cast<const short *>(w), out);
    else
        chunks<S16, MUL, SH, RND, KH, SEG, NP, 0, NP / (S16 ? 16 : 8), SKIP0>::run(bias, rows, w, out);
}
template <bool S16, int MUL, int SH, bool RND, unsigned KH, unsigned SEG, unsigned NP, bool SKIP0>
inline void mac(const void *bias, const int *const *rows, const void *w, int *out) {
    mac_inline<S16, MUL, SH, RND, KH, SEG, NP, SKIP0>(bias, rows, w, out);
}

}  // namespace avx2
#pragma GCC pop_options

inline bool cpu_has_avx2() {
    static const bool yes = __builtin_cpu_supports("avx2");
    return yes;
}
#endif  // HLSFORGE_LANES_AVX2

// A layer's weights laid out for the lanes once (G groups of N_IN rows, each row padded to
// NP outputs with zero weights), and the run-time choice of form. run() computes
// acc[f] = bias[g*N_OUT + f] + sum_i term(x[i], w[i][f]) modulo the lane width, f < N_OUT,
// or returns false when no lane form applies (the caller runs the scalar loop).
template <class plan, unsigned N_IN, unsigned N_OUT, unsigned G>
struct mac_lanes {
    typedef lane_kind<plan> K;
    typedef typename plan::sint sint;
    typedef typename plan::uacc uacc;
    static const unsigned NP16 = N_OUT <= 8 ? 8 : (N_OUT + 15) / 16 * 16;
    static const unsigned NP32 = (N_OUT + 7) / 8 * 8;
    static const bool skip0 = N_OUT >= skip_zero_min_out;
    static const int s = plan::shift;
    // 16-bit: MUL 0 (mullo, weights * 2^-s), 1 (mulhi, weights * 2^(16-s) or, s >= 16, >> s-16)
    static const int mul16 = s <= 0 ? 0 : 1;
    static const int sh16 = s > 16 ? s - 16 : 0;
    static const int pre16 = s <= 0 ? -s : (s < 16 ? 16 - s : 0);  // weight pre-shift
    static const bool rnd = plan::M::q == AP_RND;
    static const unsigned n_in = N_IN, n_out = N_OUT;

#ifdef HLSFORGE_LANES_AVX2
    short w16[K::lanes16 ? G * N_IN * NP16 : 1];
    short b16[K::lanes16 ? G * NP16 : 1];
    int w32[K::lanes32 ? G * N_IN * NP32 : 1];
    int b32[K::lanes32 ? G * NP32 : 1];
    bool use16, use32;

    mac_lanes(const sint *w, const i64 *b) : use16(false), use32(false) {
        if (!cpu_has_avx2()) return;
        if (K::lanes16) {
            bool fits = true;
            for (unsigned g = 0; g < G; g++)
                for (unsigned i = 0; i < N_IN; i++)
                    for (unsigned f = 0; f < NP16; f++) {
                        const i64 v = f < N_OUT ? i64(w[(g * N_IN + i) * N_OUT + f]) : 0;
                        const i64 sh = v * (i64(1) << pre16);
                        // mullo: modulo 2^16 is enough; mulhi: the shifted weight must be exact
                        if (mul16 == 1 && (sh < -32768 || sh > 32767)) fits = false;
                        w16[(g * N_IN + i) * NP16 + f] = short((unsigned short)(unsigned long long)sh);
                    }
            for (unsigned k = 0; k < G * NP16; k++)
                b16[k] = (k % NP16) < N_OUT ? short((unsigned short)(unsigned long long)b[k / NP16 * N_OUT + k % NP16]) : 0;
            use16 = fits;
        }
        if (K::lanes32 && !use16) {
            for (unsigned g = 0; g < G; g++)
                for (unsigned i = 0; i < N_IN; i++)
                    for (unsigned f = 0; f < NP32; f++) {
                        // s <= 0: the product's shift folded into the weight (modulo 2^32)
                        const unsigned v = f < N_OUT ? unsigned(w[(g * N_IN + i) * N_OUT + f]) : 0u;
                        w32[(g * N_IN + i) * NP32 + f] = int(s <= 0 ? v << (s <= 0 ? -s : 0) : v);
                    }
            for (unsigned k = 0; k < G * NP32; k++)
                b32[k] = (k % NP32) < N_OUT ? int((unsigned)(unsigned long long)b[k / NP32 * N_OUT + k % NP32]) : 0;
            use32 = true;
        }
    }

    // The inputs as KH rows of N_IN / KH values each (KH = 1: one array).
    template <unsigned KH>
    bool run_rows(unsigned g, const sint *const *rows, uacc *acc) const {
        int a[NP16 > NP32 ? NP16 : NP32] __attribute__((aligned(32)));
        const int *const *r = reinterpret_cast<const int *const *>(rows);
        if (use16)
            avx2::mac<true, mul16, sh16, false, KH, N_IN / KH, NP16, skip0>(b16 + g * NP16, r, w16 + g * N_IN * NP16, a);
        else if (use32)
            avx2::mac<false, 0, (s > 0 ? s : 0), rnd, KH, N_IN / KH, NP32, skip0>(b32 + g * NP32, r, w32 + g * N_IN * NP32, a);
        else
            return false;
        for (unsigned f = 0; f < N_OUT; f++) acc[f] = uacc((unsigned)a[f]);
        return true;
    }
    bool run(unsigned g, const sint *x, uacc *acc) const { return run_rows<1>(g, &x, acc); }

    // Two windows at once (avx2::chunk8x2), when the layer runs on 16-bit lanes and has at
    // most eight outputs; false otherwise (the caller runs the windows one by one). (The
    // two-window code is instantiated only for layers that can take it: compile time.)
    static const bool pair_form = K::lanes16 && NP16 == 8;
    bool pairs() const { return pair_form && use16; }
    template <unsigned KH>
    bool run_rows2(unsigned g, const sint *const *rows_a, const sint *const *rows_b, uacc *acc_a, uacc *acc_b) const {
        if (!pairs()) return false;
        int a[8] __attribute__((aligned(32))), b[8] __attribute__((aligned(32)));
        avx2::mac8x2<mul16, sh16, KH, (pair_form ? N_IN / KH : 0)>(
            b16 + g * NP16, reinterpret_cast<const int *const *>(rows_a), reinterpret_cast<const int *const *>(rows_b),
            w16 + g * N_IN * NP16, a, b);
        for (unsigned f = 0; f < N_OUT; f++) {
            acc_a[f] = uacc((unsigned)a[f]);
            acc_b[f] = uacc((unsigned)b[f]);
        }
        return true;
    }
#else
    mac_lanes(const sint *, const i64 *) {}
    template <unsigned KH>
    bool run_rows(unsigned, const sint *const *, uacc *) const { return false; }
    bool run(unsigned, const sint *, uacc *) const { return false; }
    static const bool pair_form = false;
    bool pairs() const { return false; }
    template <unsigned KH>
    bool run_rows2(unsigned, const sint *const *, const sint *const *, uacc *, uacc *) const { return false; }
#endif
};

#ifdef HLSFORGE_LANES_AVX2
// run_rows / run_rows2 of a mac_lanes L for a caller that is itself compiled for AVX2
// (target("avx2"): stream_fused.h's window loop). There the MAC is inlined into the loop, so
// its sums stay in registers for the steps that follow instead of a call and a trip through
// memory per window. Same lanes, same terms, same bits.
template <unsigned KH, class L>
inline __attribute__((target("avx2"), always_inline)) bool run_rows_inline(const L &l, const typename L::sint *const *rows,
                                                                            typename L::uacc *acc) {
    int a[L::NP16 > L::NP32 ? L::NP16 : L::NP32] __attribute__((aligned(32)));
    const int *const *r = reinterpret_cast<const int *const *>(rows);
    if (l.use16)
        avx2::mac_inline<true, L::mul16, L::sh16, false, KH, L::n_in / KH, L::NP16, L::skip0>(l.b16, r, l.w16, a);
    else if (l.use32)
        avx2::mac_inline<false, 0, (L::s > 0 ? L::s : 0), L::rnd, KH, L::n_in / KH, L::NP32, L::skip0>(l.b32, r, l.w32, a);
    else
        return false;
    for (unsigned f = 0; f < L::n_out; f++) acc[f] = typename L::uacc((unsigned)a[f]);
    return true;
}
template <unsigned KH, class L>
inline __attribute__((target("avx2"), always_inline)) void run_rows2_inline(const L &l, const typename L::sint *const *rows_a,
                                                                             const typename L::sint *const *rows_b,
                                                                             typename L::uacc *acc_a, typename L::uacc *acc_b) {
    int a[8] __attribute__((aligned(32))), b[8] __attribute__((aligned(32)));
    avx2::chunk8x2<L::mul16, L::sh16, KH, (L::pair_form ? L::n_in / KH : 0)>(
        l.b16, reinterpret_cast<const int *const *>(rows_a), reinterpret_cast<const int *const *>(rows_b), l.w16, a, b);
    for (unsigned f = 0; f < L::n_out; f++) {
        acc_a[f] = typename L::uacc((unsigned)a[f]);
        acc_b[f] = typename L::uacc((unsigned)b[f]);
    }
}
#endif

}  // namespace fast
}  // namespace hlsforge

#endif  // HLSFORGE_FAST_CSIM

#endif
