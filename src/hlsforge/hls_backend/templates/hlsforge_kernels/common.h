// hlsforge kernel library: shared definitions.
//
// Header-only templates configured by CONFIG_T structs (one per layer, generated into the
// model's parameters header). The numerics of every kernel are those of docs/numerics.md:
// arithmetic is exact, and a value is rounded / saturated only when it is assigned to a
// declared type (accumulator, table entry, layer result).
//
// The same code compiles against Xilinx ap_fixed.h (vendor tools, or HLSFORGE_USE_AP_FIXED)
// and against hlsforge's own fast fixed-point header; hlsforge_types.h selects which.
#ifndef HLSFORGE_KERNELS_COMMON_H
#define HLSFORGE_KERNELS_COMMON_H

#include "../hlsforge_types.h"

namespace hlsforge {

// Dense / Conv implementation strategies (CONFIG_T::strategy).
enum strategy_t { latency = 0, resource = 1 };

// Softmax modes (CONFIG_T::mode).
enum softmax_mode_t { softmax_mode_stable = 0, softmax_mode_argmax = 1 };

// hlsforge::raw_bits(x) (from hlsforge_types.h) gives the raw integer of a value in both modes.

// Fill a constant array from raw codes (value = raw * 2^-F), once, before main: the C
// simulation's form of the weight headers (one loop instead of one constructor call per
// element keeps big models fast to compile). Synthesis uses the exact decimal literals.
template <class T, class R>
inline bool load_raw(T *dst, const R *raw, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        dst[i] = from_raw_bits<T>(typename fixed_traits<T>::raw_t(raw[i]));
    }
    return true;
}

// Index into a lookup table (docs/numerics.md, table functions):
//   clamp((raw(x) - lo_raw) >> shift, 0, size - 1)
// with a negative shift meaning a left shift (a table finer than the input's LSB).
template <long long LO_RAW, int SHIFT, unsigned SIZE>
inline unsigned table_index(long long raw) {
    #pragma HLS INLINE
    long long d = raw - LO_RAW;
    if (d < 0) return 0;
    if (SHIFT >= 0) {
        d = d >> (SHIFT >= 0 ? SHIFT : 0);
    } else {
        const int up = SHIFT < 0 ? -SHIFT : 0;
        if (d > ((long long)(SIZE - 1) >> up)) return SIZE - 1;
        d = d << up;
    }
    if (d > (long long)(SIZE - 1)) return SIZE - 1;
    return (unsigned)d;
}

// max(a, b) of two values of one type, as a select on the raw integers (the same order as
// the values; no data-dependent branch, which C simulation of random data would mispredict).
template <class T>
inline T max_select(const T &a, const T &b) {
    #pragma HLS INLINE
    return raw_bits(b) > raw_bits(a) ? b : a;
}

} // namespace hlsforge

#endif
