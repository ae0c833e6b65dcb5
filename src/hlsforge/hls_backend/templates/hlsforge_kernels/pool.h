// hlsforge kernel library: Max / Average pooling (1D, 2D, global), channels-last, io_parallel.
//
// Numerics (docs/numerics.md):
//   MaxPool: exact maximum over the taps inside the input (padding never wins), then cast.
//   AvgPool: cast_result(cast_accum(sum of taps) * scale[n]) where scale[n] = cast_scale(1/n)
//            and n counts the taps inside the input, or (count_include_pad) the taps inside
//            the explicitly padded input; taps past it (ceil mode) never count.
// 1D pooling is the in_h = 1 case; global pooling is one window over all positions.
#ifndef HLSFORGE_KERNELS_POOL_H
#define HLSFORGE_KERNELS_POOL_H

#include "common.h"

namespace hlsforge {

struct pool_config {
    static const unsigned in_h = 1, in_w = 1, n_chan = 1;
    static const unsigned out_h = 1, out_w = 1;
    static const unsigned pool_h = 1, pool_w = 1;
    static const unsigned stride_h = 1, stride_w = 1;
    static const unsigned pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
    static const bool count_include_pad = false;
};

template <class data_T, class res_T, typename CONFIG_T>
void pool_max(const data_T data[CONFIG_T::in_h * CONFIG_T::in_w * CONFIG_T::n_chan],
              res_T res[CONFIG_T::out_h * CONFIG_T::out_w * CONFIG_T::n_chan]) {
    #pragma HLS PIPELINE
OutY:
    for (unsigned oy = 0; oy < CONFIG_T::out_h; oy++) {
    OutX:
        for (unsigned ox = 0; ox < CONFIG_T::out_w; ox++) {
        Channel:
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
                data_T best = 0;
                bool any = false;
            PoolY:
                for (unsigned py = 0; py < CONFIG_T::pool_h; py++) {
                PoolX:
                    for (unsigned px = 0; px < CONFIG_T::pool_w; px++) {
                        const int iy = (int)(oy * CONFIG_T::stride_h + py) - (int)CONFIG_T::pad_top;
                        const int ix = (int)(ox * CONFIG_T::stride_w + px) - (int)CONFIG_T::pad_left;
                        if (iy < 0 || iy >= (int)CONFIG_T::in_h || ix < 0 || ix >= (int)CONFIG_T::in_w) continue;
                        const data_T v = data[((unsigned)iy * CONFIG_T::in_w + (unsigned)ix) * CONFIG_T::n_chan + c];
                        best = any ? max_select(best, v) : v;
                        any = true;
                    }
                }
                res[(oy * CONFIG_T::out_w + ox) * CONFIG_T::n_chan + c] = (res_T)best;
            }
        }
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void pool_avg(const data_T data[CONFIG_T::in_h * CONFIG_T::in_w * CONFIG_T::n_chan],
              res_T res[CONFIG_T::out_h * CONFIG_T::out_w * CONFIG_T::n_chan],
              const typename CONFIG_T::scale_t scale[CONFIG_T::pool_h * CONFIG_T::pool_w + 1]) {
    #pragma HLS PIPELINE
OutY:
    for (unsigned oy = 0; oy < CONFIG_T::out_h; oy++) {
    OutX:
        for (unsigned ox = 0; ox < CONFIG_T::out_w; ox++) {
        Channel:
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
                typename CONFIG_T::sum_t sum = 0; // wide enough to be exact
                unsigned n = 0;
            PoolY:
                for (unsigned py = 0; py < CONFIG_T::pool_h; py++) {
                PoolX:
                    for (unsigned px = 0; px < CONFIG_T::pool_w; px++) {
                        const int iy = (int)(oy * CONFIG_T::stride_h + py) - (int)CONFIG_T::pad_top;
                        const int ix = (int)(ox * CONFIG_T::stride_w + px) - (int)CONFIG_T::pad_left;
                        const bool in_y = iy >= 0 && iy < (int)CONFIG_T::in_h;
                        const bool in_x = ix >= 0 && ix < (int)CONFIG_T::in_w;
                        if (in_y && in_x) {
                            sum = sum + data[((unsigned)iy * CONFIG_T::in_w + (unsigned)ix) * CONFIG_T::n_chan + c];
                            n++;
                        } else if (CONFIG_T::count_include_pad &&
                                   iy < (int)(CONFIG_T::in_h + CONFIG_T::pad_bottom) &&
                                   ix < (int)(CONFIG_T::in_w + CONFIG_T::pad_right)) {
                            n++;
                        }
                    }
                }
                const typename CONFIG_T::accum_t acc = (typename CONFIG_T::accum_t)sum;
                res[(oy * CONFIG_T::out_w + ox) * CONFIG_T::n_chan + c] = (res_T)(acc * scale[n]);
            }
        }
    }
}

} // namespace hlsforge

#endif
