// hlsforge kernel library: Conv1D / Conv2D, channels-last, io_parallel.
//
// Numerics (docs/numerics.md): each output (oy, ox, co) is a Dense over its receptive field
// in the order (ky, kx, c_in) of the kernel layout (*kernel, C_in / groups, C_out):
//   acc = cast_accum(b[co]); acc = cast_accum(acc + x * w) for each tap; y = cast_result(acc).
// Zero padding: a tap outside the input contributes nothing (adding an exact zero to acc
// leaves it unchanged). Conv1D is the in_h = 1 case of this kernel.
#ifndef HLSFORGE_KERNELS_CONV_H
#define HLSFORGE_KERNELS_CONV_H

#include "common.h"
#include "fast.h"

namespace hlsforge {

struct conv_config {
    static const unsigned in_h = 1, in_w = 1, n_chan = 1;
    static const unsigned out_h = 1, out_w = 1, n_filt = 1;
    static const unsigned kern_h = 1, kern_w = 1;
    static const unsigned stride_h = 1, stride_w = 1;
    static const unsigned dil_h = 1, dil_w = 1;
    static const unsigned pad_top = 0, pad_left = 0;
    static const unsigned groups = 1;
    static const unsigned n_in = 1;  // taps per output: kern_h * kern_w * n_chan / groups
    static const unsigned n_out = 1; // outputs per group: n_filt / groups
    static const unsigned reuse_factor = 1;
    static const unsigned strategy = latency;
    static const unsigned multiplier_limit = 1;
    static const bool weights_in_bram = false; // Resource, ReuseFactor > 1 (decided in lowering)
};

// Gather the receptive field of output (oy, ox) for group g; taps in the padding are zero.
template <class data_T, typename CONFIG_T>
void conv_window(const data_T data[CONFIG_T::in_h * CONFIG_T::in_w * CONFIG_T::n_chan],
                 data_T window[CONFIG_T::n_in], unsigned oy, unsigned ox, unsigned g) {
    #pragma HLS INLINE
    const unsigned cig = CONFIG_T::n_chan / CONFIG_T::groups;
KernelY:
    for (unsigned ky = 0; ky < CONFIG_T::kern_h; ky++) {
    KernelX:
        for (unsigned kx = 0; kx < CONFIG_T::kern_w; kx++) {
            const int iy = (int)(oy * CONFIG_T::stride_h + ky * CONFIG_T::dil_h) - (int)CONFIG_T::pad_top;
            const int ix = (int)(ox * CONFIG_T::stride_w + kx * CONFIG_T::dil_w) - (int)CONFIG_T::pad_left;
            const bool inside = iy >= 0 && iy < (int)CONFIG_T::in_h && ix >= 0 && ix < (int)CONFIG_T::in_w;
        Channel:
            for (unsigned ci = 0; ci < cig; ci++) {
                const unsigned t = (ky * CONFIG_T::kern_w + kx) * cig + ci;
                if (inside) {
                    window[t] = data[((unsigned)iy * CONFIG_T::in_w + (unsigned)ix) * CONFIG_T::n_chan + g * cig + ci];
                } else {
                    window[t] = 0;
                }
            }
        }
    }
}

#ifdef HLSFORGE_FAST_CSIM
// C simulation only (see fast.h): the same loop on raw integers; taps in the padding and
// zero inputs leave the accumulators unchanged and are skipped.
template <class plan, class acc_int, typename CONFIG_T>
HLSFORGE_CLONES void conv_fast_accumulate(const typename plan::sint *x, const typename plan::sint *wts, acc_int *acc,
                          unsigned oy, unsigned ox, unsigned g) {
    const unsigned cig = CONFIG_T::n_chan / CONFIG_T::groups;
    const unsigned f0 = g * CONFIG_T::n_out;
    for (unsigned ky = 0; ky < CONFIG_T::kern_h; ky++) {
        const int iy = (int)(oy * CONFIG_T::stride_h + ky * CONFIG_T::dil_h) - (int)CONFIG_T::pad_top;
        if (iy < 0 || iy >= (int)CONFIG_T::in_h) continue;
        for (unsigned kx = 0; kx < CONFIG_T::kern_w; kx++) {
            const int ix = (int)(ox * CONFIG_T::stride_w + kx * CONFIG_T::dil_w) - (int)CONFIG_T::pad_left;
            if (ix < 0 || ix >= (int)CONFIG_T::in_w) continue;
            const typename plan::sint *xp = x + ((unsigned)iy * CONFIG_T::in_w + (unsigned)ix) * CONFIG_T::n_chan + g * cig;
            for (unsigned ci = 0; ci < cig; ci++) {
                const typename plan::sint xv = xp[ci];
                if ((CONFIG_T::n_out >= fast::skip_zero_min_out || !plan::modular) && xv == 0) continue;
                const typename plan::sint *w = wts + ((ky * CONFIG_T::kern_w + kx) * cig + ci) * CONFIG_T::n_filt + f0;
                for (unsigned f = 0; f < CONFIG_T::n_out; f++) {
                    if (plan::modular) acc[f] += acc_int(plan::term(xv, w[f]));
                    else acc[f] = acc_int(plan::step(fast::i64(acc[f]), fast::i64(xv) * fast::i64(w[f])));
                }
            }
        }
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void conv_fast(const data_T data[CONFIG_T::in_h * CONFIG_T::in_w * CONFIG_T::n_chan],
               res_T res[CONFIG_T::out_h * CONFIG_T::out_w * CONFIG_T::n_filt],
               const typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_filt],
               const typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    typedef fast::mac_plan<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::accum_t> plan;
    typedef typename plan::sint sint;
    // modular: unsigned wrap-around sums; step: the literal loop in 64-bit integers
    typedef typename detail::cond<plan::modular, typename plan::uacc, fast::i64>::type acc_int;
    static const fast::raw_params<CONFIG_T, sint, CONFIG_T::n_in * CONFIG_T::n_filt, CONFIG_T::n_filt> p(weights, biases);
    const unsigned n_pix = CONFIG_T::in_h * CONFIG_T::in_w * CONFIG_T::n_chan;
    sint x[CONFIG_T::in_h * CONFIG_T::in_w * CONFIG_T::n_chan];
    for (unsigned k = 0; k < n_pix; k++) x[k] = sint(raw_bits(data[k]));
    acc_int acc[CONFIG_T::n_out];
    for (unsigned oy = 0; oy < CONFIG_T::out_h; oy++) {
        for (unsigned ox = 0; ox < CONFIG_T::out_w; ox++) {
            for (unsigned g = 0; g < CONFIG_T::groups; g++) {
                const unsigned f0 = g * CONFIG_T::n_out;
                for (unsigned f = 0; f < CONFIG_T::n_out; f++) acc[f] = acc_int(p.b[f0 + f]);
                conv_fast_accumulate<plan, acc_int, CONFIG_T>(x, p.w, acc, oy, ox, g);
                for (unsigned f = 0; f < CONFIG_T::n_out; f++) {
                    res[(oy * CONFIG_T::out_w + ox) * CONFIG_T::n_filt + f0 + f] = (res_T)plan::finish(fast::i64(acc[f]));
                }
            }
        }
    }
}
#endif

template <class data_T, class res_T, typename CONFIG_T>
void conv(const data_T data[CONFIG_T::in_h * CONFIG_T::in_w * CONFIG_T::n_chan],
          res_T res[CONFIG_T::out_h * CONFIG_T::out_w * CONFIG_T::n_filt],
          const typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_filt],
          const typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
#ifdef HLSFORGE_FAST_CSIM
    if (fast::mac_plan<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::accum_t>::fast) {
        conv_fast<data_T, res_T, CONFIG_T>(data, res, weights, biases);
        return;
    }
#endif
    const unsigned block = (CONFIG_T::n_in * CONFIG_T::n_out) / CONFIG_T::reuse_factor;
    if (CONFIG_T::weights_in_bram) {
        #pragma HLS BIND_STORAGE variable=weights type=rom_1p impl=bram
    }
    data_T window[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=window complete
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=acc complete
OutY:
    for (unsigned oy = 0; oy < CONFIG_T::out_h; oy++) {
    OutX:
        for (unsigned ox = 0; ox < CONFIG_T::out_w; ox++) {
        Group:
            for (unsigned g = 0; g < CONFIG_T::groups; g++) {
                conv_window<data_T, CONFIG_T>(data, window, oy, ox, g);
                const unsigned f0 = g * CONFIG_T::n_out;
            InitAccum:
                for (unsigned f = 0; f < CONFIG_T::n_out; f++) {
                    acc[f] = (typename CONFIG_T::accum_t)biases[f0 + f];
                }
                // Resource and Latency visit the flattened (tap, filter) index k in the same
                // increasing order; Resource does it in reuse_factor blocks.
            ReuseLoop:
                for (unsigned ir = 0; ir < CONFIG_T::reuse_factor; ir++) {
                MultLoop:
                    for (unsigned im = 0; im < block; im++) {
                        #pragma HLS UNROLL
                        const unsigned k = ir * block + im;
                        const unsigned t = k / CONFIG_T::n_out;
                        const unsigned f = k % CONFIG_T::n_out;
                        const typename CONFIG_T::weight_t w = weights[t * CONFIG_T::n_filt + f0 + f];
                        if (w == 0) continue;
                        acc[f] = acc[f] + window[t] * w;
                    }
                }
            Result:
                for (unsigned f = 0; f < CONFIG_T::n_out; f++) {
                    res[(oy * CONFIG_T::out_w + ox) * CONFIG_T::n_filt + f0 + f] = (res_T)acc[f];
                }
            }
        }
    }
}

} // namespace hlsforge

#endif
