// hlsforge kernel library, io_stream: Add / Sub / Mul and Concat of streams.
//
// Same numerics as merge.h: the exact sum / difference / product, cast into the result type.
#ifndef HLSFORGE_KERNELS_STREAM_MERGE_H
#define HLSFORGE_KERNELS_STREAM_MERGE_H

#include "stream_common.h"
#include "merge.h"

namespace hlsforge {

// Two streams of the same shape and beat width.
template <class OP, class a_T, class b_T, class res_T, typename CONFIG_T>
void merge_stream(hls::stream<a_T> &a, hls::stream<b_T> &b, hls::stream<res_T> &out) {
Beats:
    for (unsigned k = 0; k < CONFIG_T::n_beats; k++) {
        #pragma HLS PIPELINE
        const a_T x = a.read();
        const b_T z = b.read();
        res_T y;
        for (unsigned j = 0; j < res_T::size; j++) OP::apply(x[j], z[j], y[j]);
        out.write(y);
    }
}

// A stream and a constant (read through an index map, numpy broadcasting); CONST_FIRST: the
// constant is the left operand.
template <class OP, bool CONST_FIRST, class a_T, class c_T, class res_T, typename CONFIG_T>
void merge_const_stream(hls::stream<a_T> &a, hls::stream<res_T> &out, const c_T c[],
                        const unsigned c_index[CONFIG_T::n_beats * res_T::size]) {
Beats:
    for (unsigned k = 0; k < CONFIG_T::n_beats; k++) {
        #pragma HLS PIPELINE
        const a_T x = a.read();
        res_T y;
        for (unsigned j = 0; j < res_T::size; j++) {
            const c_T &cv = c[c_index[k * res_T::size + j]];
            if (CONST_FIRST) OP::apply(cv, x[j], y[j]);
            else OP::apply(x[j], cv, y[j]);
        }
        out.write(y);
    }
}

struct concat_stream_config {
    static const unsigned n_outer = 1;  // positions (channel concat) or outer slices
    static const unsigned a_beats = 1;  // beats of input a per outer slice
    static const unsigned b_beats = 1;  // beats of input b per outer slice
};

// Concat along the channels: one beat of each input makes one beat of the output.
template <class a_T, class b_T, class res_T, typename CONFIG_T>
void concat_channels_stream(hls::stream<a_T> &a, hls::stream<b_T> &b, hls::stream<res_T> &out) {
Positions:
    for (unsigned k = 0; k < CONFIG_T::n_outer; k++) {
        #pragma HLS PIPELINE
        const a_T x = a.read();
        const b_T z = b.read();
        res_T y;
        for (unsigned j = 0; j < a_T::size; j++) y[j] = (typename res_T::value_type)x[j];
        for (unsigned j = 0; j < b_T::size; j++) y[a_T::size + j] = (typename res_T::value_type)z[j];
        out.write(y);
    }
}

// Concat along an outer axis (all beats the same width): for each outer slice, a's beats
// then b's beats.
template <class a_T, class b_T, class res_T, typename CONFIG_T>
void concat_blocks_stream(hls::stream<a_T> &a, hls::stream<b_T> &b, hls::stream<res_T> &out) {
Outer:
    for (unsigned o = 0; o < CONFIG_T::n_outer; o++) {
        for (unsigned k = 0; k < CONFIG_T::a_beats; k++) {
            #pragma HLS PIPELINE
            const a_T x = a.read();
            res_T y;
            for (unsigned j = 0; j < res_T::size; j++) y[j] = (typename res_T::value_type)x[j];
            out.write(y);
        }
        for (unsigned k = 0; k < CONFIG_T::b_beats; k++) {
            #pragma HLS PIPELINE
            const b_T x = b.read();
            res_T y;
            for (unsigned j = 0; j < res_T::size; j++) y[j] = (typename res_T::value_type)x[j];
            out.write(y);
        }
    }
}

} // namespace hlsforge

#endif
