// Fuzz: the C simulation's raw-integer multiply-accumulate (hlsforge::fast::accumulate_modular,
// including its 8-lane vector form) against the literal fixed-point loop
// acc = accum_t(acc + x * w) of docs/numerics.md, for truncating and rounding accumulators,
// products that lose bits and products that gain them, signed and unsigned data, row lengths
// that are and are not a multiple of 8; and the SIMD-lane form of fast_lanes.h, one window or
// two at once (run_rows2). Built and run by
// test_csim_fast_paths.py.
#include "hlsforge_types.h"
#include "hlsforge_kernels/fast.h"
#include <cstdio>
#include <random>
using namespace hlsforge;

template <class T> T random_value(std::mt19937_64 &g, int k) {
    typedef typename fixed_traits<T>::raw_t R;
    if (k % 5 == 0) return T(0);
    return from_raw_bits<T>(R((long long)(g() >> 3)));
}

template <class X, class Wt, class A, unsigned NI, unsigned NO> long check(std::mt19937_64 &g) {
    typedef fast::mac_plan<X, Wt, A> plan;
    static_assert(plan::modular, "the case must take the modular path");
    long bad = 0;
    for (int trial = 0; trial < 300; trial++) {
        X x[NI];
        Wt w[NI * NO];
        A ref[NO];
        typename plan::sint xs[NI], ws[NI * NO];
        typename plan::uacc acc[NO];
        for (unsigned i = 0; i < NI; i++) { x[i] = random_value<X>(g, int(i + trial)); xs[i] = typename plan::sint(raw_bits(x[i])); }
        for (unsigned k = 0; k < NI * NO; k++) { w[k] = random_value<Wt>(g, int(k * 3 + trial)); ws[k] = typename plan::sint(raw_bits(w[k])); }
        for (unsigned j = 0; j < NO; j++) { ref[j] = random_value<A>(g, 1); acc[j] = typename plan::uacc(fast::i64(raw_bits(ref[j]))); }
        fast::accumulate_modular<plan, NI, NO>(acc, xs, ws);
        for (unsigned i = 0; i < NI; i++)
            for (unsigned j = 0; j < NO; j++) ref[j] = A(ref[j] + x[i] * w[i * NO + j]);
        for (unsigned j = 0; j < NO; j++)
            if (raw_bits(plan::finish(fast::i64(acc[j]))) != raw_bits(ref[j])) {
                if (bad < 3) std::printf("mismatch NI=%u NO=%u j=%u\n", NI, NO, j);
                bad++;
            }
    }
    return bad;
}

// The SIMD-lane form (fast_lanes.h: 16-bit mulhi/mullo lanes when the pre-shifted weights fit,
// else 32-bit lanes), on one array and on KH rows of the window, with small weights (which
// take the 16-bit lanes) and full-range ones; the bias is the accumulator's start.
static long pairs_run = 0;  // windows checked in pairs (run_rows2)

template <class X, class Wt, class A, unsigned NI, unsigned NO, unsigned KH> long check_lanes(std::mt19937_64 &g, int wbits) {
    typedef fast::mac_plan<X, Wt, A> plan;
    long bad = 0;
    for (int trial = 0; trial < 200; trial++) {
        X x[NI];
        Wt w[NI * NO];
        A ref[NO];
        typename plan::sint xs[NI], ws[NI * NO];
        fast::i64 bias[NO];
        typename plan::uacc acc[NO];
        for (unsigned i = 0; i < NI; i++) { x[i] = random_value<X>(g, int(i + trial)); xs[i] = typename plan::sint(raw_bits(x[i])); }
        for (unsigned k = 0; k < NI * NO; k++) {
            typedef typename fixed_traits<Wt>::raw_t R;
            const long long r = (long long)(g() >> 3) >> (64 - 3 - wbits);  // |raw| < 2^wbits (wrapped to the type)
            w[k] = from_raw_bits<Wt>(R(k % 7 == 0 ? 0 : r));
            ws[k] = typename plan::sint(raw_bits(w[k]));
        }
        for (unsigned j = 0; j < NO; j++) { ref[j] = random_value<A>(g, 1); bias[j] = fast::i64(raw_bits(ref[j])); }
        const fast::mac_lanes<plan, NI, NO, 1> lanes(ws, bias);
        const typename plan::sint *rows[KH];
        for (unsigned r = 0; r < KH; r++) rows[r] = xs + r * (NI / KH);
        if (!lanes.template run_rows<KH>(0, rows, acc)) {  // no lane form here: the scalar loop
            for (unsigned j = 0; j < NO; j++) acc[j] = typename plan::uacc(bias[j]);
            fast::accumulate_modular<plan, NI, NO>(acc, xs, ws);
        }
        // two windows at once (16-bit lanes, at most 8 outputs): window B is x reversed
        typename plan::sint xs_b[NI];
        typename plan::uacc acc_a[NO], acc_b[NO];
        for (unsigned i = 0; i < NI; i++) xs_b[i] = xs[NI - 1 - i];
        const typename plan::sint *rows_b[KH];
        for (unsigned r = 0; r < KH; r++) rows_b[r] = xs_b + r * (NI / KH);
        const bool pair = lanes.template run_rows2<KH>(0, rows, rows_b, acc_a, acc_b);
        A ref_b[NO];
        for (unsigned j = 0; j < NO; j++) ref_b[j] = from_raw_bits<A>(typename fixed_traits<A>::raw_t(bias[j]));
        for (unsigned i = 0; i < NI; i++)
            for (unsigned j = 0; j < NO; j++) {
                ref_b[j] = A(ref_b[j] + x[NI - 1 - i] * w[i * NO + j]);
                ref[j] = A(ref[j] + x[i] * w[i * NO + j]);
            }
        for (unsigned j = 0; j < NO; j++) {
            if (raw_bits(plan::finish(fast::i64(acc[j]))) != raw_bits(ref[j])) {
                if (bad < 3) std::printf("lanes mismatch NI=%u NO=%u KH=%u wbits=%d j=%u\n", NI, NO, KH, wbits, j);
                bad++;
            }
            if (pair && (raw_bits(plan::finish(fast::i64(acc_a[j]))) != raw_bits(ref[j]) ||
                         raw_bits(plan::finish(fast::i64(acc_b[j]))) != raw_bits(ref_b[j]))) {
                if (bad < 3) std::printf("pair mismatch NI=%u NO=%u KH=%u wbits=%d j=%u\n", NI, NO, KH, wbits, j);
                bad++;
            }
        }
        pairs_run += pair;
    }
    return bad;
}

template <class X, class Wt, class A> long lane_shapes(std::mt19937_64 &g) {
    long bad = 0;
    for (int wbits = 4; wbits <= 16; wbits += 6)
        bad += check_lanes<X, Wt, A, 9, 8, 3>(g, wbits) + check_lanes<X, Wt, A, 72, 8, 3>(g, wbits) +
               check_lanes<X, Wt, A, 16, 64, 1>(g, wbits) + check_lanes<X, Wt, A, 64, 32, 1>(g, wbits) +
               check_lanes<X, Wt, A, 32, 5, 1>(g, wbits) + check_lanes<X, Wt, A, 6, 24, 2>(g, wbits) +
               check_lanes<X, Wt, A, 3, 130, 1>(g, wbits) + check_lanes<X, Wt, A, 8, 80, 4>(g, wbits) +
               check_lanes<X, Wt, A, 15, 3, 3>(g, wbits) + check_lanes<X, Wt, A, 14, 12, 2>(g, wbits) +
               check_lanes<X, Wt, A, 7, 1, 1>(g, wbits);
    return bad;
}

template <class X, class Wt, class A> long shapes(std::mt19937_64 &g) {
    return check<X, Wt, A, 9, 8>(g) + check<X, Wt, A, 33, 16>(g) + check<X, Wt, A, 4, 24>(g) +
           check<X, Wt, A, 7, 5>(g) + check<X, Wt, A, 3, 130>(g);
}

int main() {
    std::mt19937_64 g(7);
    long bad = 0;
    bad += shapes<ap_fixed<16, 6>, ap_fixed<16, 6>, ap_fixed<16, 6> >(g);                     // products lose 10 bits, TRN
    bad += shapes<ap_fixed<16, 6>, ap_fixed<16, 6>, ap_fixed<16, 6, AP_RND, AP_WRAP> >(g);    // ... rounded half up
    bad += shapes<ap_ufixed<8, 3>, ap_fixed<12, 4>, ap_fixed<24, 10, AP_RND, AP_WRAP> >(g);   // unsigned data, RND
    bad += shapes<ap_fixed<8, 3>, ap_fixed<8, 3>, ap_fixed<32, 12> >(g);                      // products gain bits
    bad += shapes<ap_fixed<8, 3>, ap_ufixed<6, 1>, ap_fixed<20, 10> >(g);                     // no bits dropped
    bad += lane_shapes<ap_fixed<16, 6>, ap_fixed<16, 6>, ap_fixed<16, 6> >(g);                 // 16-bit mulhi lanes
    bad += lane_shapes<ap_fixed<16, 6>, ap_fixed<16, 6>, ap_fixed<16, 6, AP_RND, AP_WRAP> >(g); // 32-bit lanes, RND
    bad += lane_shapes<ap_fixed<8, 3>, ap_fixed<8, 3>, ap_fixed<16, 6> >(g);                    // products gain bits: mullo
    bad += lane_shapes<ap_fixed<16, 2>, ap_fixed<16, 2>, ap_fixed<12, 2> >(g);                  // drop 18 bits: mulhi >> 2
    bad += lane_shapes<ap_ufixed<8, 3>, ap_fixed<12, 4>, ap_fixed<24, 10> >(g);                 // 32-bit lanes, TRN
    bad += lane_shapes<ap_ufixed<16, 6>, ap_fixed<10, 4>, ap_fixed<16, 6> >(g);                 // unsigned 16-bit data: 32-bit lanes
    std::printf("mismatches: %ld (windows in pairs: %ld)\n", bad, pairs_run);
    return bad != 0;
}
