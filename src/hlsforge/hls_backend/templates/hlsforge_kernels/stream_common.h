// hlsforge kernel library, io_stream: beats, the element-wise wrapper, clones and repacking.
//
// An io_stream design connects its layers by hls::stream FIFOs under DATAFLOW. A tensor of
// shape (..., C) travels as one beat per position, the C channels of that position packed
// into one hlsforge::beat<T, C> (a rank-1 tensor: the producer's beat width). Every kernel
// here computes exactly what its io_parallel twin computes (same types, same rounding points,
// docs/numerics.md): the element-wise kernels even call the io_parallel kernel on each beat.
//
// The stream class: Xilinx <hls_stream.h> under synthesis or with HLSFORGE_USE_AP_FIXED (or
// HLSFORGE_USE_HLS_STREAM); otherwise hlsforge's own hlsforge_stream.h, which records each
// FIFO's maximum occupancy (the FIFO depth sizing of docs/hls_backend.md).
#ifndef HLSFORGE_KERNELS_STREAM_COMMON_H
#define HLSFORGE_KERNELS_STREAM_COMMON_H

#include "common.h"

#if defined(__SYNTHESIS__) || defined(HLSFORGE_USE_AP_FIXED) || defined(HLSFORGE_USE_HLS_STREAM)
#include <hls_stream.h>
#else
#include "../hlsforge_stream.h"
#endif

#include "activation.h"
#include "softmax.h"

namespace hlsforge {

// One FIFO beat: the N values of one position (channels-last), packed.
template <class T, unsigned N>
struct beat {
    typedef T value_type;
    static const unsigned size = N;
    T data[N];
    T &operator[](unsigned i) { return data[i]; }
    const T &operator[](unsigned i) const { return data[i]; }
};

struct stream_config {
    static const unsigned n_beats = 1;
};

// One input of a Concat of streams (stream_merge.h): its beat type and how many of its beats
// make one outer slice. The generated types header names one per input, e.g. Concat_in0_t.
template <class T, unsigned N_BEATS>
struct concat_in {
    typedef T beat_t;
    static const unsigned n_beats = N_BEATS;
};

// Element-wise layers: the io_parallel kernel K applied to each beat (CONFIG_T::n_in is the
// beat width, CONFIG_T::n_beats the number of beats of one inference).
template <class in_T, class out_T, typename CONFIG_T, class K, class... A>
void stream_map(hls::stream<in_T> &in, hls::stream<out_T> &out, const A &...args) {
Beats:
    for (unsigned b = 0; b < CONFIG_T::n_beats; b++) {
        #pragma HLS PIPELINE
        const in_T x = in.read();
        out_T y;
        K::template apply<typename in_T::value_type, typename out_T::value_type, CONFIG_T>(x.data, y.data, args...);
        out.write(y);
    }
}

#define HLSFORGE_STREAM_KERNEL(tag, fn)                                                      \
    struct tag {                                                                             \
        template <class D, class R, class C, class... A>                                     \
        static void apply(const D *d, R *r, const A &...a) { fn<D, R, C>(d, r, a...); }      \
    };
HLSFORGE_STREAM_KERNEL(k_relu, relu)
HLSFORGE_STREAM_KERNEL(k_leaky_relu, leaky_relu)
HLSFORGE_STREAM_KERNEL(k_clip, clip)
HLSFORGE_STREAM_KERNEL(k_hard_sigmoid, hard_sigmoid)
HLSFORGE_STREAM_KERNEL(k_table_lookup, table_lookup)
HLSFORGE_STREAM_KERNEL(k_elu, elu)
HLSFORGE_STREAM_KERNEL(k_selu, selu)
HLSFORGE_STREAM_KERNEL(k_scale, scale)
HLSFORGE_STREAM_KERNEL(k_batchnorm, batchnorm)
HLSFORGE_STREAM_KERNEL(k_cast, cast)
HLSFORGE_STREAM_KERNEL(k_cast_element_groups, cast_element_groups)
HLSFORGE_STREAM_KERNEL(k_softmax_stable, softmax_stable)
HLSFORGE_STREAM_KERNEL(k_softmax_argmax, softmax_argmax)
#undef HLSFORGE_STREAM_KERNEL

// A per-element quantizer whose pattern of types is longer than a beat (G::period values, a
// multiple of the beat width G::n_in): beat b covers positions [phase, phase + n_in) of the
// pattern, phase = (b mod (period / n_in)) * n_in; each group converts the positions of its
// index list that fall in the beat (see cast_element_groups for the group chain).
template <class data_T, class res_T, typename G>
void cast_element_groups_at(const data_T data[], res_T res[], unsigned phase) {}

template <class data_T, class res_T, typename G, class... Rest>
void cast_element_groups_at(const data_T data[], res_T res[], unsigned phase, const unsigned idx[],
                            const Rest &...rest) {
    #pragma HLS INLINE
GroupElemsAt:
    for (unsigned i = 0; i < G::n_idx; i++) {
        const unsigned p = idx[i];
        if (p >= phase && p < phase + G::n_in) {
            if (G::pruned) {
                res[p - phase] = 0;
            } else {
                const typename G::elem_t e = (typename G::elem_t)data[p - phase];
                res[p - phase] = (res_T)e;
            }
        }
    }
    cast_element_groups_at<data_T, res_T, typename G::next_t>(data, res, phase, rest...);
}

template <class in_T, class out_T, typename G, class... A>
void stream_cast_elements(hls::stream<in_T> &in, hls::stream<out_T> &out, const A &...idx) {
Beats:
    for (unsigned b = 0; b < G::n_beats; b++) {
        #pragma HLS PIPELINE
        const in_T x = in.read();
        out_T y;
        const unsigned phase = (b % (G::period / G::n_in)) * G::n_in;
        cast_element_groups_at<typename in_T::value_type, typename out_T::value_type, G>(x.data, y.data, phase, idx...);
        out.write(y);
    }
}

// A stream read by two layers: DATAFLOW allows one reader per FIFO, so it is copied.
template <class T, typename CONFIG_T>
void stream_clone(hls::stream<T> &in, hls::stream<T> &out1, hls::stream<T> &out2) {
Beats:
    for (unsigned b = 0; b < CONFIG_T::n_beats; b++) {
        #pragma HLS PIPELINE
        const T x = in.read();
        out1.write(x);
        out2.write(x);
    }
}

struct repack_config {
    static const unsigned n_elem = 1; // values of one inference
};

// Flatten / Reshape / Quantize: every value cast into the result type, in order, regrouped
// from beats of in_T::size into beats of out_T::size (a plain cast when they are equal).
template <class in_T, class out_T, typename CONFIG_T>
void stream_repack(hls::stream<in_T> &in, hls::stream<out_T> &out) {
    in_T x;
    out_T y;
    unsigned k_in = in_T::size, k_out = 0;
Values:
    for (unsigned i = 0; i < CONFIG_T::n_elem; i++) {
        #pragma HLS PIPELINE
        if (k_in == in_T::size) {
            x = in.read();
            k_in = 0;
        }
        y[k_out++] = (typename out_T::value_type)x[k_in++];
        if (k_out == out_T::size) {
            out.write(y);
            k_out = 0;
        }
    }
}

struct gather_stream_config {
    static const unsigned n_in = 1;  // values in
    static const unsigned n_out = 1; // values out
};

// Transpose and general Pad: the whole tensor is buffered, then read through a constant
// index map (index == n_in: a padded zero), as the io_parallel gather.
template <class in_T, class out_T, typename CONFIG_T>
void stream_gather(hls::stream<in_T> &in, hls::stream<out_T> &out, const unsigned index[CONFIG_T::n_out]) {
    typename in_T::value_type buf[CONFIG_T::n_in];
Read:
    for (unsigned b = 0; b < CONFIG_T::n_in / in_T::size; b++) {
        const in_T x = in.read();
        for (unsigned j = 0; j < in_T::size; j++) buf[b * in_T::size + j] = x[j];
    }
Write:
    for (unsigned b = 0; b < CONFIG_T::n_out / out_T::size; b++) {
        #pragma HLS PIPELINE
        out_T y;
        for (unsigned j = 0; j < out_T::size; j++) {
            const unsigned s = index[b * out_T::size + j];
            if (s < CONFIG_T::n_in) y[j] = (typename out_T::value_type)buf[s];
            else y[j] = 0;
        }
        out.write(y);
    }
}

struct zeropad_stream_config {
    static const unsigned in_h = 1, in_w = 1, out_h = 1, out_w = 1;
    static const unsigned pad_top = 0, pad_left = 0;
};

// ZeroPadding1D/2D (spatial padding only): zero beats around the input beats, each value
// cast into the result type.
template <class in_T, class out_T, typename CONFIG_T>
void stream_zeropad(hls::stream<in_T> &in, hls::stream<out_T> &out) {
PadY:
    for (unsigned oy = 0; oy < CONFIG_T::out_h; oy++) {
    PadX:
        for (unsigned ox = 0; ox < CONFIG_T::out_w; ox++) {
            #pragma HLS PIPELINE
            out_T y;
            const bool inside = oy >= CONFIG_T::pad_top && oy < CONFIG_T::pad_top + CONFIG_T::in_h &&
                                ox >= CONFIG_T::pad_left && ox < CONFIG_T::pad_left + CONFIG_T::in_w;
            if (inside) {
                const in_T x = in.read();
                for (unsigned j = 0; j < out_T::size; j++) y[j] = (typename out_T::value_type)x[j];
            } else {
                for (unsigned j = 0; j < out_T::size; j++) y[j] = 0;
            }
            out.write(y);
        }
    }
}

} // namespace hlsforge

#endif
