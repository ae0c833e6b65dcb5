// hlsforge kernel library, io_stream: Conv1D/Conv2D and pooling over a line buffer.
//
// The input arrives one position (all channels) per beat, in raster order. The kernel keeps
// the last (kern_h - 1) * dil_h + 1 input rows in a line buffer and emits output position o,
// in raster order, as soon as the last input position its window touches has arrived (its
// "trigger"); windows lying wholly in the padding are emitted when their turn comes.
// Each output is computed exactly as the io_parallel kernel computes it (docs/numerics.md):
// a Dense over the receptive field in (ky, kx, c_in) order with zero padding for Conv,
// the exact max / exact sum then cast for pooling. Conv1D is the in_h = 1 case.
#ifndef HLSFORGE_KERNELS_STREAM_CONV_H
#define HLSFORGE_KERNELS_STREAM_CONV_H

#include "stream_common.h"
#include "conv.h"
#include "pool.h"
#include "fast.h"

namespace hlsforge {

// Raster index of the last input position read by the window of output (oy, ox), or -1
// when the window lies wholly in the padding.
template <unsigned IN_H, unsigned IN_W, unsigned KH, unsigned KW, unsigned SH, unsigned SW, unsigned DH,
          unsigned DW, unsigned PT, unsigned PL>
inline long window_trigger(unsigned oy, unsigned ox) {
    #pragma HLS INLINE
    int last_r = -1, last_c = -1;
    for (unsigned k = 0; k < KH; k++) {
        const int r = (int)(oy * SH + k * DH) - (int)PT;
        if (r >= 0 && r < (int)IN_H) last_r = r;
    }
    for (unsigned k = 0; k < KW; k++) {
        const int c = (int)(ox * SW + k * DW) - (int)PL;
        if (c >= 0 && c < (int)IN_W) last_c = c;
    }
    if (last_r < 0 || last_c < 0) return -1;
    return (long)last_r * IN_W + last_c;
}

// One output position of a convolution from its gathered window (window[g * n_in + t], t in
// (ky, kx, c_in) order; weights group-major: w[(g * n_in + t) * n_out + f]). (The C
// simulation's raw-integer path is conv_stream_fast.)
template <class data_T, class res_T, typename CONFIG_T>
void conv_pixel(const data_T window[CONFIG_T::groups * CONFIG_T::n_in], res_T res[CONFIG_T::n_filt],
                const typename CONFIG_T::weight_t weights[CONFIG_T::groups * CONFIG_T::n_in * CONFIG_T::n_out],
                const typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    #pragma HLS INLINE
    const unsigned block = (CONFIG_T::n_in * CONFIG_T::n_out) / CONFIG_T::reuse_factor;
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=acc complete
Group:
    for (unsigned g = 0; g < CONFIG_T::groups; g++) {
        const unsigned f0 = g * CONFIG_T::n_out;
    InitAccum:
        for (unsigned f = 0; f < CONFIG_T::n_out; f++) acc[f] = (typename CONFIG_T::accum_t)biases[f0 + f];
        // The flattened (tap, filter) index k runs in increasing order, reuse_factor blocks
        // of `block` multiplications (as in the io_parallel kernel).
    ReuseLoop:
        for (unsigned ir = 0; ir < CONFIG_T::reuse_factor; ir++) {
        MultLoop:
            for (unsigned im = 0; im < block; im++) {
                #pragma HLS UNROLL
                const unsigned k = ir * block + im;
                const unsigned t = k / CONFIG_T::n_out;
                const unsigned f = k % CONFIG_T::n_out;
                const typename CONFIG_T::weight_t w = weights[g * CONFIG_T::n_in * CONFIG_T::n_out + k];
                if (w == 0) continue;
                acc[f] = acc[f] + window[g * CONFIG_T::n_in + t] * w;
            }
        }
    Result:
        for (unsigned f = 0; f < CONFIG_T::n_out; f++) res[f0 + f] = (res_T)acc[f];
    }
}

#ifdef HLSFORGE_FAST_CSIM
// C simulation only (see fast.h): the same line buffer and emission order, holding raw
// integers, with each window gathered row by row (whole rows of kern_w positions are
// contiguous when there is no dilation) and accumulated by the raw MAC loops.
// Each output beat is handed to emit(beat), in order (a FIFO write, or the next layer of a
// fused chain in the C-sim bridge: stream_fused.h).
template <class in_T, class out_T, typename CONFIG_T, class F>
HLSFORGE_CLONES void conv_stream_fast_each(hls::stream<in_T> &in, F &emit,
                           const typename CONFIG_T::weight_t weights[CONFIG_T::groups * CONFIG_T::n_in * CONFIG_T::n_out],
                           const typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    typedef typename in_T::value_type data_T;
    typedef typename out_T::value_type res_T;
    typedef fast::mac_plan<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::accum_t> plan;
    typedef typename plan::sint sint;
    static const unsigned rows = (CONFIG_T::kern_h - 1) * CONFIG_T::dil_h + 1;
    static const unsigned cig = CONFIG_T::n_chan / CONFIG_T::groups;
    static const unsigned n_pos = CONFIG_T::out_h * CONFIG_T::out_w;
    static const unsigned n_px = CONFIG_T::in_h * CONFIG_T::in_w;
    static const fast::raw_params<CONFIG_T, sint, CONFIG_T::groups * CONFIG_T::n_in * CONFIG_T::n_out, CONFIG_T::n_filt>
        p(weights, biases);
    static const fast::mac_lanes<plan, CONFIG_T::n_in, CONFIG_T::n_out, CONFIG_T::groups> lanes(p.w, p.b);
    struct triggers {
        long t[n_pos];
        triggers() {
            for (unsigned o = 0; o < n_pos; o++)
                t[o] = window_trigger<CONFIG_T::in_h, CONFIG_T::in_w, CONFIG_T::kern_h, CONFIG_T::kern_w,
                                      CONFIG_T::stride_h, CONFIG_T::stride_w, CONFIG_T::dil_h, CONFIG_T::dil_w,
                                      CONFIG_T::pad_top, CONFIG_T::pad_left>(o / CONFIG_T::out_w, o % CONFIG_T::out_w);
        }
    };
    static const triggers trig;
    static const bool in_place = CONFIG_T::groups == 1 && CONFIG_T::dil_w == 1;
    sint line[rows][CONFIG_T::in_w][CONFIG_T::n_chan];
    sint x[CONFIG_T::groups][CONFIG_T::n_in];
    unsigned next = 0;
    for (unsigned q = 0; q <= n_px; q++) {
        if (q < n_px) {
            const in_T v = in.read();
            sint *dst = line[(q / CONFIG_T::in_w) % rows][q % CONFIG_T::in_w];
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) dst[c] = sint(raw_bits(v[c]));
        }
        for (; next < n_pos && trig.t[next] <= (long)q; next++) {
            const unsigned oy = next / CONFIG_T::out_w, ox = next % CONFIG_T::out_w;
            const int iy0 = (int)(oy * CONFIG_T::stride_h) - (int)CONFIG_T::pad_top;
            const int ix0 = (int)(ox * CONFIG_T::stride_w) - (int)CONFIG_T::pad_left;
            if (plan::modular && in_place && iy0 >= 0 && iy0 + (int)rows <= (int)CONFIG_T::in_h && ix0 >= 0 &&
                ix0 + (int)CONFIG_T::kern_w <= (int)CONFIG_T::in_w) {
                // the window lies inside the input: its kern_h rows of kern_w * n_chan values
                // are contiguous in the line buffer, read in place (no gather)
                const sint *win[CONFIG_T::kern_h];
                for (unsigned ky = 0; ky < CONFIG_T::kern_h; ky++)
                    win[ky] = line[(unsigned)(iy0 + (int)(ky * CONFIG_T::dil_h)) % rows][(unsigned)ix0];
                typename plan::uacc acc[CONFIG_T::n_out];
                if (lanes.template run_rows<CONFIG_T::kern_h>(0, win, acc)) {
                    out_T y;
                    for (unsigned f = 0; f < CONFIG_T::n_out; f++) y[f] = (res_T)plan::finish(fast::i64(acc[f]));
                    emit(y);
                    continue;
                }
            }
            for (unsigned ky = 0; ky < CONFIG_T::kern_h; ky++) {
                const int iy = (int)(oy * CONFIG_T::stride_h + ky * CONFIG_T::dil_h) - (int)CONFIG_T::pad_top;
                const bool row_in = iy >= 0 && iy < (int)CONFIG_T::in_h;
                for (unsigned kx = 0; kx < CONFIG_T::kern_w; kx++) {
                    const int ix = (int)(ox * CONFIG_T::stride_w + kx * CONFIG_T::dil_w) - (int)CONFIG_T::pad_left;
                    const unsigned t0 = (ky * CONFIG_T::kern_w + kx) * cig;
                    if (row_in && ix >= 0 && ix < (int)CONFIG_T::in_w) {
                        const sint *src = line[(unsigned)iy % rows][(unsigned)ix];
                        for (unsigned g = 0; g < CONFIG_T::groups; g++)
                            for (unsigned ci = 0; ci < cig; ci++) x[g][t0 + ci] = src[g * cig + ci];
                    } else {
                        for (unsigned g = 0; g < CONFIG_T::groups; g++)
                            for (unsigned ci = 0; ci < cig; ci++) x[g][t0 + ci] = 0;
                    }
                }
            }
            out_T y;
            for (unsigned g = 0; g < CONFIG_T::groups; g++) {
                const unsigned f0 = g * CONFIG_T::n_out;
                const sint *w = p.w + g * CONFIG_T::n_in * CONFIG_T::n_out;
                if (plan::modular) {
                    typename plan::uacc acc[CONFIG_T::n_out];
                    if (!lanes.run(g, x[g], acc)) {
                        for (unsigned f = 0; f < CONFIG_T::n_out; f++) acc[f] = typename plan::uacc(p.b[f0 + f]);
                        fast::accumulate_modular<plan, CONFIG_T::n_in, CONFIG_T::n_out>(acc, x[g], w);
                    }
                    for (unsigned f = 0; f < CONFIG_T::n_out; f++) y[f0 + f] = (res_T)plan::finish(fast::i64(acc[f]));
                } else {
                    fast::i64 acc[CONFIG_T::n_out];
                    for (unsigned f = 0; f < CONFIG_T::n_out; f++) acc[f] = p.b[f0 + f];
                    fast::accumulate_steps<plan, CONFIG_T::n_in, CONFIG_T::n_out>(acc, x[g], w);
                    for (unsigned f = 0; f < CONFIG_T::n_out; f++) y[f0 + f] = (res_T)plan::finish(acc[f]);
                }
            }
            emit(y);
        }
    }
}

template <class in_T, class out_T, typename CONFIG_T>
void conv_stream_fast(hls::stream<in_T> &in, hls::stream<out_T> &out,
                      const typename CONFIG_T::weight_t weights[CONFIG_T::groups * CONFIG_T::n_in * CONFIG_T::n_out],
                      const typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    auto write = [&out](const out_T &y) { out.write(y); };
    conv_stream_fast_each<in_T, out_T, CONFIG_T>(in, write, weights, biases);
}
#endif

// Conv1D / Conv2D on a stream (CONFIG_T: conv_config; weights group-major, see conv_pixel).
template <class in_T, class out_T, typename CONFIG_T>
void conv_stream(hls::stream<in_T> &in, hls::stream<out_T> &out,
                 const typename CONFIG_T::weight_t weights[CONFIG_T::groups * CONFIG_T::n_in * CONFIG_T::n_out],
                 const typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    typedef typename in_T::value_type data_T;
#ifdef HLSFORGE_FAST_CSIM
    if (fast::mac_plan<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::accum_t>::fast) {
        conv_stream_fast<in_T, out_T, CONFIG_T>(in, out, weights, biases);
        return;
    }
#endif
    static const unsigned rows = (CONFIG_T::kern_h - 1) * CONFIG_T::dil_h + 1;
    static const unsigned cig = CONFIG_T::n_chan / CONFIG_T::groups;
    static const unsigned n_pos = CONFIG_T::out_h * CONFIG_T::out_w;
    if (CONFIG_T::weights_in_bram) {
        #pragma HLS BIND_STORAGE variable=weights type=rom_1p impl=bram
    }
    data_T line[rows][CONFIG_T::in_w][CONFIG_T::n_chan];
    data_T window[CONFIG_T::groups * CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=window complete
    unsigned next = 0;
Pixels:
    for (unsigned p = 0; p <= CONFIG_T::in_h * CONFIG_T::in_w; p++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        long have = -1; // raster index of the last input position read
        if (p < CONFIG_T::in_h * CONFIG_T::in_w) {
            const in_T x = in.read();
            const unsigned iy = p / CONFIG_T::in_w, ix = p % CONFIG_T::in_w;
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) line[iy % rows][ix][c] = x[c];
            have = (long)p;
        } else {
            have = (long)p; // after the last input: everything left is ready
        }
    Emit:
        while (next < n_pos) {
            const unsigned oy = next / CONFIG_T::out_w, ox = next % CONFIG_T::out_w;
            const long trig = window_trigger<CONFIG_T::in_h, CONFIG_T::in_w, CONFIG_T::kern_h, CONFIG_T::kern_w,
                                             CONFIG_T::stride_h, CONFIG_T::stride_w, CONFIG_T::dil_h, CONFIG_T::dil_w,
                                             CONFIG_T::pad_top, CONFIG_T::pad_left>(oy, ox);
            if (trig > have) break;
            for (unsigned g = 0; g < CONFIG_T::groups; g++) {
                for (unsigned ky = 0; ky < CONFIG_T::kern_h; ky++) {
                    const int iy = (int)(oy * CONFIG_T::stride_h + ky * CONFIG_T::dil_h) - (int)CONFIG_T::pad_top;
                    for (unsigned kx = 0; kx < CONFIG_T::kern_w; kx++) {
                        const int ix = (int)(ox * CONFIG_T::stride_w + kx * CONFIG_T::dil_w) - (int)CONFIG_T::pad_left;
                        const bool inside = iy >= 0 && iy < (int)CONFIG_T::in_h && ix >= 0 && ix < (int)CONFIG_T::in_w;
                        for (unsigned ci = 0; ci < cig; ci++) {
                            const unsigned t = g * CONFIG_T::n_in + (ky * CONFIG_T::kern_w + kx) * cig + ci;
                            if (inside) window[t] = line[(unsigned)iy % rows][(unsigned)ix][g * cig + ci];
                            else window[t] = 0;
                        }
                    }
                }
            }
            out_T y;
            conv_pixel<data_T, typename out_T::value_type, CONFIG_T>(window, y.data, weights, biases);
            out.write(y);
            next++;
        }
    }
}

// One output position of a pooling layer (exactly pool_max / pool_avg of pool.h).
struct pool_max_op {
    template <class data_T, class res_T, typename CONFIG_T, unsigned ROWS, class S>
    static void pixel(const data_T line[ROWS][CONFIG_T::in_w][CONFIG_T::n_chan], res_T res[CONFIG_T::n_chan],
                      unsigned oy, unsigned ox, const S *) {
        #pragma HLS INLINE
    Channel:
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            data_T best = 0;
            bool any = false;
            for (unsigned py = 0; py < CONFIG_T::pool_h; py++) {
                for (unsigned px = 0; px < CONFIG_T::pool_w; px++) {
                    const int iy = (int)(oy * CONFIG_T::stride_h + py) - (int)CONFIG_T::pad_top;
                    const int ix = (int)(ox * CONFIG_T::stride_w + px) - (int)CONFIG_T::pad_left;
                    if (iy < 0 || iy >= (int)CONFIG_T::in_h || ix < 0 || ix >= (int)CONFIG_T::in_w) continue;
                    const data_T v = line[(unsigned)iy % ROWS][(unsigned)ix][c];
                    best = any ? max_select(best, v) : v;
                    any = true;
                }
            }
            res[c] = (res_T)best;
        }
    }
};

struct pool_avg_op {
    template <class data_T, class res_T, typename CONFIG_T, unsigned ROWS, class S>
    static void pixel(const data_T line[ROWS][CONFIG_T::in_w][CONFIG_T::n_chan], res_T res[CONFIG_T::n_chan],
                      unsigned oy, unsigned ox, const S *scale) {
        #pragma HLS INLINE
    Channel:
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            typename CONFIG_T::sum_t sum = 0; // wide enough to be exact
            unsigned n = 0;
            for (unsigned py = 0; py < CONFIG_T::pool_h; py++) {
                for (unsigned px = 0; px < CONFIG_T::pool_w; px++) {
                    const int iy = (int)(oy * CONFIG_T::stride_h + py) - (int)CONFIG_T::pad_top;
                    const int ix = (int)(ox * CONFIG_T::stride_w + px) - (int)CONFIG_T::pad_left;
                    const bool in_y = iy >= 0 && iy < (int)CONFIG_T::in_h;
                    const bool in_x = ix >= 0 && ix < (int)CONFIG_T::in_w;
                    if (in_y && in_x) {
                        sum = sum + line[(unsigned)iy % ROWS][(unsigned)ix][c];
                        n++;
                    } else if (CONFIG_T::count_include_pad && iy < (int)(CONFIG_T::in_h + CONFIG_T::pad_bottom) &&
                               ix < (int)(CONFIG_T::in_w + CONFIG_T::pad_right)) {
                        n++;
                    }
                }
            }
            const typename CONFIG_T::accum_t acc = (typename CONFIG_T::accum_t)sum;
            res[c] = (res_T)(acc * scale[n]);
        }
    }
};

template <class in_T, class out_T, typename CONFIG_T, class OP, class S>
void pool_stream_impl(hls::stream<in_T> &in, hls::stream<out_T> &out, const S *scale) {
    typedef typename in_T::value_type data_T;
    static const unsigned rows = CONFIG_T::pool_h;
    static const unsigned n_pos = CONFIG_T::out_h * CONFIG_T::out_w;
    data_T line[rows][CONFIG_T::in_w][CONFIG_T::n_chan];
    unsigned next = 0;
Pixels:
    for (unsigned p = 0; p <= CONFIG_T::in_h * CONFIG_T::in_w; p++) {
        #pragma HLS PIPELINE
        if (p < CONFIG_T::in_h * CONFIG_T::in_w) {
            const in_T x = in.read();
            const unsigned iy = p / CONFIG_T::in_w, ix = p % CONFIG_T::in_w;
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) line[iy % rows][ix][c] = x[c];
        }
    Emit:
        while (next < n_pos) {
            const unsigned oy = next / CONFIG_T::out_w, ox = next % CONFIG_T::out_w;
            const long trig = window_trigger<CONFIG_T::in_h, CONFIG_T::in_w, CONFIG_T::pool_h, CONFIG_T::pool_w,
                                             CONFIG_T::stride_h, CONFIG_T::stride_w, 1, 1, CONFIG_T::pad_top,
                                             CONFIG_T::pad_left>(oy, ox);
            if (trig > (long)p) break;
            out_T y;
            OP::template pixel<data_T, typename out_T::value_type, CONFIG_T, rows, S>(line, y.data, oy, ox, scale);
            out.write(y);
            next++;
        }
    }
}

template <class in_T, class out_T, typename CONFIG_T>
void pool_max_stream(hls::stream<in_T> &in, hls::stream<out_T> &out) {
    pool_stream_impl<in_T, out_T, CONFIG_T, pool_max_op, int>(in, out, 0);
}

template <class in_T, class out_T, typename CONFIG_T>
void pool_avg_stream(hls::stream<in_T> &in, hls::stream<out_T> &out,
                     const typename CONFIG_T::scale_t scale[CONFIG_T::pool_h * CONFIG_T::pool_w + 1]) {
    pool_stream_impl<in_T, out_T, CONFIG_T, pool_avg_op, typename CONFIG_T::scale_t>(in, out, scale);
}

// Global pooling: one running max / exact sum per channel over every beat, one beat out.
template <class in_T, class out_T, typename CONFIG_T>
void global_pool_max_stream(hls::stream<in_T> &in, hls::stream<out_T> &out) {
    typename in_T::value_type best[CONFIG_T::n_chan];
Beats:
    for (unsigned p = 0; p < CONFIG_T::in_w; p++) {
        #pragma HLS PIPELINE
        const in_T x = in.read();
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
            best[c] = p == 0 ? x[c] : max_select(best[c], x[c]);
        }
    }
    out_T y;
    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) y[c] = (typename out_T::value_type)best[c];
    out.write(y);
}

template <class in_T, class out_T, typename CONFIG_T>
void global_pool_avg_stream(hls::stream<in_T> &in, hls::stream<out_T> &out,
                            const typename CONFIG_T::scale_t scale[CONFIG_T::pool_h * CONFIG_T::pool_w + 1]) {
    typename CONFIG_T::sum_t sum[CONFIG_T::n_chan];
    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) sum[c] = 0;
Beats:
    for (unsigned p = 0; p < CONFIG_T::in_w; p++) {
        #pragma HLS PIPELINE
        const in_T x = in.read();
        for (unsigned c = 0; c < CONFIG_T::n_chan; c++) sum[c] = sum[c] + x[c];
    }
    out_T y;
    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
        const typename CONFIG_T::accum_t acc = (typename CONFIG_T::accum_t)sum[c];
        y[c] = (typename out_T::value_type)(acc * scale[CONFIG_T::in_w]);
    }
    out.write(y);
}

} // namespace hlsforge

#endif
