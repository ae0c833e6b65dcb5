// Fuzz: hlsforge::fast::from_double<T>(x) (the C-sim bridge's input conversion) against the
// type's own double constructor, every rounding mode, several overflow modes and widths,
// ties included. Built and run by test_csim_fast_paths.py.
#include "hlsforge_types.h"
#include "hlsforge_kernels/fast.h"
#include <cstdio>
#include <random>
#include <cmath>
using namespace hlsforge;
template <class T> long check(std::mt19937_64 &g) {
    std::normal_distribution<double> nd; std::uniform_int_distribution<int> e(-20, 20); long bad = 0;
    for (int k = 0; k < 20000; k++) {
        double x = nd(g) * std::ldexp(1.0, e(g));
        if (k % 7 == 0) x = std::ldexp(std::round(std::ldexp(x, 8)) + (k % 3) * 0.5, -8);  // ties
        if (k % 11 == 0) x = -x;
        const T a = fast::from_double<T>(x), b = T(x);
        if (raw_bits(a) != raw_bits(b)) { if (bad < 3) std::printf("mismatch %.17g\n", x); bad++; }
    }
    return bad;
}
int main() {
    std::mt19937_64 g(1); long bad = 0;
#define Q(W, I, q, o) bad += check<ap_fixed<W, I, q, o> >(g); bad += check<ap_ufixed<W, I, q, o> >(g);
#define ALLQ(W, I, o) Q(W, I, AP_TRN, o) Q(W, I, AP_TRN_ZERO, o) Q(W, I, AP_RND, o) Q(W, I, AP_RND_ZERO, o) Q(W, I, AP_RND_MIN_INF, o) Q(W, I, AP_RND_INF, o) Q(W, I, AP_RND_CONV, o)
    ALLQ(16, 6, AP_WRAP) ALLQ(8, 3, AP_SAT_SYM) ALLQ(5, 2, AP_SAT_ZERO)
    ALLQ(32, 10, AP_WRAP) ALLQ(12, -2, AP_SAT) ALLQ(10, 14, AP_SAT)
    std::printf("mismatches: %ld\n", bad);
    return bad != 0;
}
