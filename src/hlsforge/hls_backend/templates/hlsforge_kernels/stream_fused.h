// hlsforge kernel library, io_stream, C simulation only: chains of layers that hand their
// beats over by a function call instead of through a FIFO.
//
// The C-sim bridge's predict entry point runs a "fused" copy of the top function: a
// convolution followed by element-wise layers and pooling (Conv -> ReLU -> MaxPool, the
// usual CNN block), whose intermediate FIFOs each have one writer and one reader, becomes one
// loop: every output beat of the convolution goes through the element-wise kernel and into
// the pooling layer's line buffer at once. The kernels and their arithmetic are the ones of
// the top function (conv_stream's fast path, K::apply of stream_map, OP::pixel of
// pool_stream_impl), in the same order per beat, so the bits are the same; only the FIFO
// write/read per beat and per layer is gone, which was most of the C-simulation time of a
// small CNN. The top function itself (what synthesis gets, and what trace, the FIFO sizing
// and the project's testbench run) is unchanged. Not for synthesis.
#ifndef HLSFORGE_KERNELS_STREAM_FUSED_H
#define HLSFORGE_KERNELS_STREAM_FUSED_H

#include "stream_common.h"
#include "stream_conv.h"

// The fused top function is compiled for AVX2 and for the baseline ISA (chosen when the
// library is loaded), so the kernels inlined into it use the wider vectors where they exist.
#if defined(HLSFORGE_FAST_CSIM) && defined(HLSFORGE_CLONES)
#define HLSFORGE_FUSED_TOP HLSFORGE_CLONES
#else
#define HLSFORGE_FUSED_TOP
#endif

namespace hlsforge {
namespace csim {

// Conv1D / Conv2D on a stream, each output beat handed to emit(beat) in FIFO order.
template <class in_T, class out_T, typename CONFIG_T, class F>
void conv_stream_to(hls::stream<in_T> &in, F emit,
                    const typename CONFIG_T::weight_t weights[CONFIG_T::groups * CONFIG_T::n_in * CONFIG_T::n_out],
                    const typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
#ifdef HLSFORGE_FAST_CSIM
    typedef typename in_T::value_type data_T;
    if (fast::mac_plan<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::accum_t>::fast) {
        conv_stream_fast_each<in_T, out_T, CONFIG_T>(in, emit, weights, biases);
        return;
    }
#endif
    hls::stream<out_T> tmp("fused");
    conv_stream<in_T, out_T, CONFIG_T>(in, tmp, weights, biases);
    while (!tmp.empty()) emit(tmp.read());
}

// One beat through an element-wise layer (exactly what stream_map does to each beat).
template <class in_T, class out_T, typename CONFIG_T, class K, class... A>
inline out_T map_beat(const in_T &x, const A &...args) {
    out_T y;
    K::template apply<typename in_T::value_type, typename out_T::value_type, CONFIG_T>(x.data, y.data, args...);
    return y;
}

// Pooling fed one beat at a time: push() is one iteration of pool_stream_impl's Pixels loop
// (store the beat in the line buffer, emit every output whose window is complete), finish()
// its last iteration (windows lying wholly in the padding after the last beat).
// (The trigger of every output position is computed once; a max-pool window lying inside the
// input is reduced channel by channel in the inner loop, which vectorizes: the maximum of the
// same values, so the same bits as OP::pixel.)
template <typename CONFIG_T>
struct pool_triggers {
    static const unsigned n_pos = CONFIG_T::out_h * CONFIG_T::out_w;
    long t[n_pos];
    pool_triggers() {
        for (unsigned o = 0; o < n_pos; o++)
            t[o] = window_trigger<CONFIG_T::in_h, CONFIG_T::in_w, CONFIG_T::pool_h, CONFIG_T::pool_w, CONFIG_T::stride_h,
                                  CONFIG_T::stride_w, 1, 1, CONFIG_T::pad_top, CONFIG_T::pad_left>(o / CONFIG_T::out_w,
                                                                                                  o % CONFIG_T::out_w);
    }
};

template <class OP>
struct is_max_pool { static const bool value = false; };
template <>
struct is_max_pool<pool_max_op> { static const bool value = true; };

template <class in_T, class out_T, typename CONFIG_T, class OP, class S, class F>
struct pool_pusher {
    typedef typename in_T::value_type data_T;
    static const unsigned rows = CONFIG_T::pool_h;
    static const unsigned n_pos = CONFIG_T::out_h * CONFIG_T::out_w;
    data_T line[rows][CONFIG_T::in_w][CONFIG_T::n_chan];
    const S *scale;
    F emit;
    unsigned p, next;
    const long *trig;
    pool_pusher(const S *s, F f) : scale(s), emit(f), p(0), next(0) {
        static const pool_triggers<CONFIG_T> t;
        trig = t.t;
    }
    void push(const in_T &x) {
        const unsigned iy = p / CONFIG_T::in_w, ix = p % CONFIG_T::in_w;
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) line[iy % rows][ix][c] = x[c];
        drain();
        p++;
    }
    void finish() { drain(); }
    void drain() {
        while (next < n_pos && trig[next] <= (long)p) {
            const unsigned oy = next / CONFIG_T::out_w, ox = next % CONFIG_T::out_w;
            const int iy0 = (int)(oy * CONFIG_T::stride_h) - (int)CONFIG_T::pad_top;
            const int ix0 = (int)(ox * CONFIG_T::stride_w) - (int)CONFIG_T::pad_left;
            out_T y;
            if (is_max_pool<OP>::value && iy0 >= 0 && iy0 + (int)CONFIG_T::pool_h <= (int)CONFIG_T::in_h && ix0 >= 0 &&
                ix0 + (int)CONFIG_T::pool_w <= (int)CONFIG_T::in_w) {
                data_T best[CONFIG_T::n_chan];
                const data_T *first = line[(unsigned)iy0 % rows][ix0];
                for (unsigned c = 0; c < CONFIG_T::n_chan; c++) best[c] = first[c];
                for (unsigned py = 0; py < CONFIG_T::pool_h; py++)
                    for (unsigned px = 0; px < CONFIG_T::pool_w; px++) {
                        const data_T *v = line[(unsigned)(iy0 + (int)py) % rows][ix0 + (int)px];
                        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) best[c] = max_select(best[c], v[c]);
                    }
                for (unsigned c = 0; c < CONFIG_T::n_chan; c++) y[c] = (typename out_T::value_type)best[c];
            } else {
                OP::template pixel<data_T, typename out_T::value_type, CONFIG_T, rows, S>(line, y.data, oy, ox, scale);
            }
            emit(y);
            next++;
        }
    }
};

template <class in_T, class out_T, typename CONFIG_T, class OP, class S, class F>
pool_pusher<in_T, out_T, CONFIG_T, OP, S, F> make_pool_pusher(const S *scale, F emit) {
    return pool_pusher<in_T, out_T, CONFIG_T, OP, S, F>(scale, emit);
}

}  // namespace csim
}  // namespace hlsforge

#endif
