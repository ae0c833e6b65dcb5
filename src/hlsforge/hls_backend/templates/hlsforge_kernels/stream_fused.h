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

#include <type_traits>

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

#ifdef HLSFORGE_FAST_CSIM
// The chain's convolution on a whole image. In fast_top each layer runs to completion before
// the next one starts, so nothing observes when a beat is emitted, only the order of the
// beats: the input is read whole into a zero-padded image of raw integers, and then every
// output window, padding included, is read in place (kern_h rows of kern_w * n_chan
// contiguous values) — no line buffer, no trigger bookkeeping, no edge cases. The outputs
// are those of conv_stream_fast_each (the same lanes or scalar loop on the same raw values,
// the padding being zeros), emitted in raster order. Applies to modular plans without
// groups or horizontal dilation, and images of up to image_max_bytes (image_store:
// conv_image_applies); the others take the line-buffer kernel.
static const unsigned long image_max_bytes = 1ul << 22;
static const unsigned long image_stack_bytes = 1ul << 16;

// Values of a fixed-point type of at most 32 bits as their raw integers (the storage_t of
// hlsforge's header), so that the per-beat steps of a chain run on plain int arrays, which
// g++ vectorizes (the same integers as the fixed-point operations: a copy is a copy, ReLU and
// the max of a pool compare raw integers, exactly as max_select does). ok is false for
// anything else; those beats take the fixed-point code.
template <class T>
struct raw32 {
    static const bool ok = false;
    typedef int S;
};
template <int W, int I, bool SG, ap_q_mode Q, ap_o_mode O>
struct raw32<fixed_base<W, I, SG, Q, O, 0> > {
    typedef fixed_base<W, I, SG, Q, O, 0> T;
    typedef typename T::storage_t S;
    static const bool ok = W <= 32 && sizeof(S) == 4 && sizeof(T) == sizeof(S);
    static const bool is_signed = SG;
    // The raw integers of an array of T, in place: T is standard-layout with its storage as
    // its only member, so a T and its storage share their address. (Copies through a local
    // array instead made g++ store two halves and reload them as one vector, which stalls.)
    static inline const S *raw(const T *v) { return reinterpret_cast<const S *>(v); }
    static inline S *raw(T *v) { return reinterpret_cast<S *>(v); }
};

// The beat of out_T from a modular accumulator's raw sums: plan::finish (wrap to the
// accumulator's width) then the cast to res_T, on 32-bit integers when the accumulator and the
// result are the same type of at most 32 bits (the wrap is then the whole conversion).
template <class plan, class out_T, unsigned N>
inline void finish_beat(const typename plan::uacc *acc, out_T &y) {
    typedef typename out_T::value_type res_T;
    typedef typename plan::M M;
    typedef raw32<res_T> R;
    if (R::ok && std::is_same<typename plan::acc_t, res_T>::value && M::width <= 32) {
        typename R::S *r = R::raw(y.data);
        const int sh = 32 - M::width;
        for (unsigned f = 0; f < N; f++) {
            const unsigned u = unsigned(acc[f]) << sh;
            r[f] = typename R::S(M::is_signed ? int(u) >> sh : int(u >> sh));
        }
        return;
    }
    for (unsigned f = 0; f < N; f++) y[f] = (res_T)plan::finish(fast::i64(acc[f]));
}

template <typename CONFIG_T, class sint>
struct padded_image {
    static const unsigned need_h = (CONFIG_T::out_h - 1) * CONFIG_T::stride_h + (CONFIG_T::kern_h - 1) * CONFIG_T::dil_h + 1;
    static const unsigned need_w = (CONFIG_T::out_w - 1) * CONFIG_T::stride_w + CONFIG_T::kern_w;
    static const unsigned h = need_h > CONFIG_T::in_h + CONFIG_T::pad_top ? need_h : CONFIG_T::in_h + CONFIG_T::pad_top;
    static const unsigned w = need_w > CONFIG_T::in_w + CONFIG_T::pad_left ? need_w : CONFIG_T::in_w + CONFIG_T::pad_left;
    static const unsigned long bytes = (unsigned long)h * w * CONFIG_T::n_chan * sizeof(sint);
    static const bool fits = bytes <= image_max_bytes;
    static const bool on_stack = bytes <= image_stack_bytes;
    static const bool has_padding = (unsigned long)h * w > (unsigned long)CONFIG_T::in_h * CONFIG_T::in_w;
    sint v[fits ? h : 1][fits ? w : 1][CONFIG_T::n_chan];
    void clear() { __builtin_memset(v, 0, sizeof(v)); }
};

// Where the image lives while the convolution runs: a small one on the stack (its padding
// zeroed on every call), a large one in a per-thread buffer zeroed once (the input's values
// overwrite the same cells every time, so the padding stays zero). run(image &) does the work.
template <class IMG, bool STACK = IMG::on_stack>
struct image_store {
    struct zeroed : IMG {
        zeroed() { this->clear(); }
    };
    template <class RUN>
    static void with(RUN &run) {
        static thread_local zeroed img;
        run(static_cast<IMG &>(img));
    }
};
template <class IMG>
struct image_store<IMG, true> {
    template <class RUN>
    static void with(RUN &run) {
        IMG img;
        if (IMG::has_padding) img.clear();
        run(img);
    }
};

// The next n beats of a stream as one array (hlsforge's stream: hls::stream::read_block), or
// null: read them one by one (Xilinx's hls_stream.h, a tracked dataflow run, too few beats).
template <class T>
inline const T *read_block(hls::stream<T> &s, unsigned n) {
#ifdef HLSFORGE_STREAM_H_
    return s.read_block(n);
#else
    (void)s, (void)n;
    return 0;
#endif
}

// Whether conv_image_fast applies (decided at compile time).
template <class in_T, typename CONFIG_T>
struct conv_image_applies {
    typedef fast::mac_plan<typename in_T::value_type, typename CONFIG_T::weight_t, typename CONFIG_T::accum_t> plan;
    static const bool value = plan::modular && CONFIG_T::groups == 1 && CONFIG_T::dil_w == 1 &&
                              padded_image<CONFIG_T, typename plan::sint>::fits;
};

// How image_windows runs the MAC of a window: through mac_lanes (a call per window into the
// AVX2 lanes, or false: the scalar loop) ...
struct lanes_by_call {
    template <unsigned KH, class L>
    static inline bool rows(const L &l, const typename L::sint *const *w, typename L::uacc *acc) {
        return l.template run_rows<KH>(0, w, acc);
    }
    template <unsigned KH, class L>
    static inline void rows2(const L &l, const typename L::sint *const *a, const typename L::sint *const *b,
                             typename L::uacc *acc_a, typename L::uacc *acc_b) {
        l.template run_rows2<KH>(0, a, b, acc_a, acc_b);
    }
};
#ifdef HLSFORGE_LANES_AVX2
// ... or inlined, in the copy of the loop compiled for AVX2 (image_windows_avx2), where the sums
// then stay in registers through finish_beat and the chain's next steps.
struct lanes_inline {
    template <unsigned KH, class L>
    static inline __attribute__((target("avx2"))) bool rows(const L &l, const typename L::sint *const *w,
                                                            typename L::uacc *acc) {
        return fast::run_rows_inline<KH>(l, w, acc);
    }
    template <unsigned KH, class L>
    static inline __attribute__((target("avx2"))) void rows2(const L &l, const typename L::sint *const *a,
                                                             const typename L::sint *const *b, typename L::uacc *acc_a,
                                                             typename L::uacc *acc_b) {
        fast::run_rows2_inline<KH>(l, a, b, acc_a, acc_b);
    }
};
#endif

// Every output window of the padded image, in raster order, each beat handed to emit.
template <class LANES, class out_T, typename CONFIG_T, class plan, class IMG, class L, class P, class F>
inline void image_windows(const IMG &img, const L &lanes, const P &p, F &emit) {
    typedef typename plan::sint sint;
    static const unsigned KH = CONFIG_T::kern_h, C = CONFIG_T::n_chan, SEG = CONFIG_T::kern_w * C;
    for (unsigned oy = 0; oy < CONFIG_T::out_h; oy++)
        for (unsigned ox = 0; ox < CONFIG_T::out_w; ox++) {
            const sint *win[KH];
            for (unsigned ky = 0; ky < KH; ky++)
                win[ky] = img.v[oy * CONFIG_T::stride_h + ky * CONFIG_T::dil_h][ox * CONFIG_T::stride_w];
            typename plan::uacc acc[CONFIG_T::n_out];
            if (L::pair_form && ox + 1 < CONFIG_T::out_w && lanes.pairs()) {
                // this window and the next one on the row in one pass (16-bit lanes, <= 8 outputs)
                const sint *win_b[KH];
                for (unsigned ky = 0; ky < KH; ky++) win_b[ky] = win[ky] + CONFIG_T::stride_w * C;
                typename plan::uacc acc_b[CONFIG_T::n_out];
                LANES::template rows2<KH>(lanes, win, win_b, acc, acc_b);
                out_T y, y_b;
                finish_beat<plan, out_T, CONFIG_T::n_out>(acc, y);
                finish_beat<plan, out_T, CONFIG_T::n_out>(acc_b, y_b);
                emit(y);
                emit(y_b);
                ox++;
                continue;
            }
            if (!LANES::template rows<KH>(lanes, win, acc)) {
                sint x[CONFIG_T::n_in];
                for (unsigned ky = 0; ky < KH; ky++)
                    for (unsigned i = 0; i < SEG; i++) x[ky * SEG + i] = win[ky][i];
                for (unsigned f = 0; f < CONFIG_T::n_out; f++) acc[f] = typename plan::uacc(p.b[f]);
                fast::accumulate_modular<plan, CONFIG_T::n_in, CONFIG_T::n_out>(acc, x, p.w);
            }
            out_T y;
            finish_beat<plan, out_T, CONFIG_T::n_out>(acc, y);
            emit(y);
        }
}

#ifdef HLSFORGE_LANES_AVX2
// The window loop compiled for AVX2 with everything it calls inlined (flatten): the lanes, the
// beat steps and the chain's next layers (the emit callback).
template <class out_T, typename CONFIG_T, class plan, class IMG, class L, class P, class F>
__attribute__((target("avx2"), flatten)) void image_windows_avx2(const IMG &img, const L &lanes, const P &p, F &emit) {
    image_windows<lanes_inline, out_T, CONFIG_T, plan>(img, lanes, p, emit);
}
#endif

template <class in_T, class out_T, typename CONFIG_T, class F>
void conv_image_fast(hls::stream<in_T> &in, F &emit,
                     const typename CONFIG_T::weight_t weights[CONFIG_T::groups * CONFIG_T::n_in * CONFIG_T::n_out],
                     const typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    typedef typename in_T::value_type data_T;
    typedef fast::mac_plan<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::accum_t> plan;
    typedef typename plan::sint sint;
    typedef padded_image<CONFIG_T, sint> image;
    static const fast::raw_params<CONFIG_T, sint, CONFIG_T::n_in * CONFIG_T::n_out, CONFIG_T::n_filt> p(weights, biases);
    static const fast::mac_lanes<plan, CONFIG_T::n_in, CONFIG_T::n_out, 1> lanes(p.w, p.b);
    auto run = [&](image &img) {
        const in_T *block = read_block(in, CONFIG_T::in_h * CONFIG_T::in_w);
        for (unsigned iy = 0; iy < CONFIG_T::in_h; iy++)
            for (unsigned ix = 0; ix < CONFIG_T::in_w; ix++) {
                const in_T v = block ? block[iy * CONFIG_T::in_w + ix] : in.read();
                sint *dst = img.v[iy + CONFIG_T::pad_top][ix + CONFIG_T::pad_left];
                for (unsigned c = 0; c < CONFIG_T::n_chan; c++) dst[c] = sint(raw_bits(v[c]));
            }
#ifdef HLSFORGE_LANES_AVX2
        if (lanes.use16 || lanes.use32) {  // (only where the CPU has AVX2)
            image_windows_avx2<out_T, CONFIG_T, plan>(img, lanes, p, emit);
            return;
        }
#endif
        image_windows<lanes_by_call, out_T, CONFIG_T, plan>(img, lanes, p, emit);
    };
    image_store<image>::with(run);
}

// The fused chain's convolution on raw integers: the whole-image kernel where it applies, else
// the line-buffer one (only the one that runs is instantiated: compile time).
template <bool IMAGE>
struct conv_fused_fast {
    template <class in_T, class out_T, typename CONFIG_T, class F, class W, class B>
    static void run(hls::stream<in_T> &in, F &emit, const W *weights, const B *biases) {
        conv_image_fast<in_T, out_T, CONFIG_T>(in, emit, weights, biases);
    }
};
template <>
struct conv_fused_fast<false> {
    template <class in_T, class out_T, typename CONFIG_T, class F, class W, class B>
    static void run(hls::stream<in_T> &in, F &emit, const W *weights, const B *biases) {
        conv_stream_fast_each<in_T, out_T, CONFIG_T>(in, emit, weights, biases);
    }
};
#endif

// Conv1D / Conv2D on a stream, each output beat handed to emit(beat) in FIFO order.
template <class in_T, class out_T, typename CONFIG_T, class F>
void conv_stream_to(hls::stream<in_T> &in, F emit,
                    const typename CONFIG_T::weight_t weights[CONFIG_T::groups * CONFIG_T::n_in * CONFIG_T::n_out],
                    const typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
#ifdef HLSFORGE_FAST_CSIM
    typedef typename in_T::value_type data_T;
    if (fast::mac_plan<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::accum_t>::fast) {
        conv_fused_fast<conv_image_applies<in_T, CONFIG_T>::value>::template run<in_T, out_T, CONFIG_T>(in, emit, weights,
                                                                                                       biases);
        return;
    }
#endif
    hls::stream<out_T> tmp("fused");
    conv_stream<in_T, out_T, CONFIG_T>(in, tmp, weights, biases);
    while (!tmp.empty()) emit(tmp.read());
}

// One beat through an element-wise layer (exactly what stream_map does to each beat).
template <class in_T, class out_T, typename CONFIG_T, class K>
struct beat_map {
    template <class... A>
    static inline out_T run(const in_T &x, const A &...args) {
        out_T y;
        K::template apply<typename in_T::value_type, typename out_T::value_type, CONFIG_T>(x.data, y.data, args...);
        return y;
    }
};
#ifdef HLSFORGE_FAST_CSIM
// ReLU from a type into itself: max(x, 0) on the raw integers (relu's max_select compares raw
// integers; the cast into the same type is a copy), a loop g++ vectorizes.
template <class in_T, class out_T, typename CONFIG_T>
struct beat_map<in_T, out_T, CONFIG_T, k_relu> {
    typedef typename in_T::value_type T;
    typedef raw32<T> R;
    static inline out_T run(const in_T &x) {
        out_T y;
        if (R::ok && std::is_same<T, typename out_T::value_type>::value && in_T::size == out_T::size) {
            const typename R::S *a = R::raw(x.data);
            typename R::S *r = R::raw(reinterpret_cast<T *>(y.data));
            for (unsigned i = 0; i < in_T::size; i++) r[i] = a[i] > 0 ? a[i] : 0;
            return y;
        }
        relu<T, typename out_T::value_type, CONFIG_T>(x.data, y.data);
        return y;
    }
};
#endif

template <class in_T, class out_T, typename CONFIG_T, class K, class... A>
inline out_T map_beat(const in_T &x, const A &...args) {
    return beat_map<in_T, out_T, CONFIG_T, K>::run(x, args...);
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
    unsigned ix, slot;  // column of beat p, and its row's place in the line buffer (row % rows)
    const long *trig;
    pool_pusher(const S *s, F f) : scale(s), emit(f), p(0), next(0), ix(0), slot(0) {
        static const pool_triggers<CONFIG_T> t;
        trig = t.t;
    }
    void push(const in_T &x) {
        // a copy of the beat's values (as one block when they are plain bits: element by
        // element, g++ read back a vector just stored one value at a time, which stalls)
        if (std::is_trivially_copyable<data_T>::value)
            __builtin_memcpy(static_cast<void *>(line[slot][ix]), static_cast<const void *>(x.data), sizeof(line[slot][ix]));
        else
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) line[slot][ix][c] = x[c];
        drain();
        p++;
        if (++ix == CONFIG_T::in_w) {
            ix = 0;
            if (++slot == rows) slot = 0;
        }
    }
    void finish() { drain(); }
    // The max of a window inside the input on raw integers (the max_select of every value,
    // then a cast into the same type: a copy), when data and result are one type of at most
    // 32 bits; false otherwise.
    bool max_raw(int iy0, int ix0, out_T &y) const {
#ifdef HLSFORGE_FAST_CSIM
        typedef raw32<data_T> R;
        if (R::ok && std::is_same<data_T, typename out_T::value_type>::value) {
            typename R::S *best = R::raw(reinterpret_cast<data_T *>(y.data));
            const typename R::S *first = R::raw(line[(unsigned)iy0 % rows][ix0]);
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) best[c] = first[c];
            for (unsigned py = 0; py < CONFIG_T::pool_h; py++)
                for (unsigned px = 0; px < CONFIG_T::pool_w; px++) {
                    const typename R::S *v = R::raw(line[(unsigned)(iy0 + (int)py) % rows][ix0 + (int)px]);
                    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) best[c] = v[c] > best[c] ? v[c] : best[c];
                }
            return true;
        }
#endif
        (void)iy0, (void)ix0, (void)y;
        return false;
    }
    void drain() {
        while (next < n_pos && trig[next] <= (long)p) {
            const unsigned oy = next / CONFIG_T::out_w, ox = next % CONFIG_T::out_w;
            const int iy0 = (int)(oy * CONFIG_T::stride_h) - (int)CONFIG_T::pad_top;
            const int ix0 = (int)(ox * CONFIG_T::stride_w) - (int)CONFIG_T::pad_left;
            out_T y;
            if (is_max_pool<OP>::value && iy0 >= 0 && iy0 + (int)CONFIG_T::pool_h <= (int)CONFIG_T::in_h && ix0 >= 0 &&
                ix0 + (int)CONFIG_T::pool_w <= (int)CONFIG_T::in_w) {
                if (!max_raw(iy0, ix0, y)) {
                    data_T best[CONFIG_T::n_chan];
                    const data_T *first = line[(unsigned)iy0 % rows][ix0];
                    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) best[c] = first[c];
                    for (unsigned py = 0; py < CONFIG_T::pool_h; py++)
                        for (unsigned px = 0; px < CONFIG_T::pool_w; px++) {
                            const data_T *v = line[(unsigned)(iy0 + (int)py) % rows][ix0 + (int)px];
                            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) best[c] = max_select(best[c], v[c]);
                        }
                    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) y[c] = (typename out_T::value_type)best[c];
                }
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
