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
    static const unsigned n_outer = 1; // outer slices: positions (channel concat), or the
                                       // product of the dimensions before the axis
};

// A constant input of a Concat as a stream: its beats, written in order once per inference
// (a ROM read by a process of its own, so that the Concat reads streams only).
template <class res_T, typename CONFIG_T>
void stream_constant(const typename res_T::value_type data[CONFIG_T::n_beats * res_T::size], hls::stream<res_T> &out) {
Beats:
    for (unsigned b = 0; b < CONFIG_T::n_beats; b++) {
        #pragma HLS PIPELINE
        res_T y;
        for (unsigned j = 0; j < res_T::size; j++) y[j] = data[b * res_T::size + j];
        out.write(y);
    }
}

// The N inputs of a Concat are a parameter pack of hlsforge::concat_in (stream_common.h): the kernel is one DATAFLOW process that reads
// every input FIFO and writes one output FIFO, for any number of inputs. The helpers below
// walk the pack one input at a time (the overload without inputs ends the walk). Every value
// is cast into the result type as io_parallel's concat_part casts it.

template <class res_T, unsigned OFFSET>
void concat_fill(res_T &) {}

// Reads one slice of the first input (P::n_beats beats) into y from value OFFSET on, then the
// other inputs after it.
template <class res_T, unsigned OFFSET, class P, class... Rest>
void concat_fill(res_T &y, hls::stream<typename P::beat_t> &in, hls::stream<typename Rest::beat_t> &...rest) {
    #pragma HLS INLINE
    typedef typename P::beat_t in_T;
Beats:
    for (unsigned k = 0; k < P::n_beats; k++) {
        const in_T x = in.read();
        for (unsigned j = 0; j < in_T::size; j++) y[OFFSET + k * in_T::size + j] = (typename res_T::value_type)x[j];
    }
    concat_fill<res_T, OFFSET + P::n_beats * in_T::size, Rest...>(y, rest...);
}

// Each output beat is one outer slice holding every input's part in input order: the channels
// of one position (a Concat along the last axis), or a whole rank-1 output whose inputs arrive
// in beats of different widths (docs/hls_backend.md). II=1 per slice when each input
// contributes one beat.
template <typename CONFIG_T, class res_T, class... P>
void concat_channels_stream(hls::stream<typename P::beat_t> &...in, hls::stream<res_T> &out) {
Slices:
    for (unsigned o = 0; o < CONFIG_T::n_outer; o++) {
        #pragma HLS PIPELINE
        res_T y;
        concat_fill<res_T, 0, P...>(y, in...);
        out.write(y);
    }
}

template <class res_T>
void concat_copy(hls::stream<res_T> &) {}

// Writes one slice of the first input as output beats, each packed from res_T::size /
// in_T::size of its beats, then the other inputs' slices.
template <class res_T, class P, class... Rest>
void concat_copy(hls::stream<res_T> &out, hls::stream<typename P::beat_t> &in, hls::stream<typename Rest::beat_t> &...rest) {
    #pragma HLS INLINE
    typedef typename P::beat_t in_T;
    const unsigned per = res_T::size / in_T::size; // input beats per output beat
Beats:
    for (unsigned k = 0; k < P::n_beats / per; k++) {
        #pragma HLS PIPELINE
        res_T y;
        for (unsigned r = 0; r < per; r++) {
            const in_T x = in.read();
            for (unsigned j = 0; j < in_T::size; j++) y[r * in_T::size + j] = (typename res_T::value_type)x[j];
        }
        out.write(y);
    }
    concat_copy<res_T, Rest...>(out, rest...);
}

// Concat along an outer axis: for each outer slice, every output beat comes from one input
// (its beat width divides the output's), first input 0's beats, then input 1's, ...
template <typename CONFIG_T, class res_T, class... P>
void concat_blocks_stream(hls::stream<typename P::beat_t> &...in, hls::stream<res_T> &out) {
Slices:
    for (unsigned o = 0; o < CONFIG_T::n_outer; o++) {
        concat_copy<res_T, P...>(out, in...);
    }
}

} // namespace hlsforge

#endif
