// hlsforge kernel library: Add / Sub / Mul (with numpy broadcasting) and Concat, io_parallel.
//
// Numerics (docs/numerics.md): the sum, difference or product is exact; the only rounding is
// the assignment to res_T. Broadcasting reads each operand through an index map computed in
// Python (a constant array: with full unrolling it is only wiring).
#ifndef HLSFORGE_KERNELS_MERGE_H
#define HLSFORGE_KERNELS_MERGE_H

#include "common.h"

namespace hlsforge {

struct merge_config {
    static const unsigned n_out = 1;
};

struct op_add {
    template <class a_T, class b_T, class res_T>
    static void apply(const a_T &a, const b_T &b, res_T &res) { res = (res_T)(a + b); }
};
struct op_sub {
    template <class a_T, class b_T, class res_T>
    static void apply(const a_T &a, const b_T &b, res_T &res) { res = (res_T)(a - b); }
};
struct op_mul {
    template <class a_T, class b_T, class res_T>
    static void apply(const a_T &a, const b_T &b, res_T &res) { res = (res_T)(a * b); }
};

// Operands of the output's shape.
template <class OP, class a_T, class b_T, class res_T, typename CONFIG_T>
void merge(const a_T a[CONFIG_T::n_out], const b_T b[CONFIG_T::n_out], res_T res[CONFIG_T::n_out]) {
    #pragma HLS PIPELINE
Merge:
    for (unsigned i = 0; i < CONFIG_T::n_out; i++) {
        OP::apply(a[i], b[i], res[i]);
    }
}

// Broadcasting operands: a[a_index[i]], b[b_index[i]].
template <class OP, class a_T, class b_T, class res_T, typename CONFIG_T>
void merge_broadcast(const a_T a[], const b_T b[], res_T res[CONFIG_T::n_out],
                     const unsigned a_index[CONFIG_T::n_out], const unsigned b_index[CONFIG_T::n_out]) {
    #pragma HLS PIPELINE
Merge:
    for (unsigned i = 0; i < CONFIG_T::n_out; i++) {
        OP::apply(a[a_index[i]], b[b_index[i]], res[i]);
    }
}

struct concat_config {
    static const unsigned n_outer = 1;  // product of the dims before the axis
    static const unsigned n_inner = 1;  // this input's size from the axis on
    static const unsigned out_inner = 1; // the output's size from the axis on
    static const unsigned offset = 0;    // where this input starts along the axis (flattened)
};

// One input of a Concat: copies its block into every outer slice of the output.
template <class data_T, class res_T, typename CONFIG_T>
void concat_part(const data_T data[CONFIG_T::n_outer * CONFIG_T::n_inner],
                 res_T res[CONFIG_T::n_outer * CONFIG_T::out_inner]) {
    #pragma HLS INLINE
Outer:
    for (unsigned o = 0; o < CONFIG_T::n_outer; o++) {
    Inner:
        for (unsigned i = 0; i < CONFIG_T::n_inner; i++) {
            res[o * CONFIG_T::out_inner + CONFIG_T::offset + i] = (res_T)data[o * CONFIG_T::n_inner + i];
        }
    }
}

} // namespace hlsforge

#endif
