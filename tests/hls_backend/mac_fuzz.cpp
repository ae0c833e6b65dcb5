// Fuzz: the C simulation's raw-integer multiply-accumulate (hlsforge::fast::accumulate_modular,
// including its 8-lane vector form) against the literal fixed-point loop
// acc = accum_t(acc + x * w) of docs/numerics.md, for truncating and rounding accumulators,
// products that lose bits and products that gain them, signed and unsigned data, row lengths
// that are and are not a multiple of 8. Built and run by test_csim_fast_paths.py.
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
    std::printf("mismatches: %ld\n", bad);
    return bad != 0;
}
