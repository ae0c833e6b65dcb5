// hlsforge kernel library: Dense (fully connected) layers, io_parallel.
//
// Numerics (docs/numerics.md): for each output j,
//   acc = cast_accum(b[j]); for i = 0 .. n_in-1: acc = cast_accum(acc + x[i] * w[i][j]);
//   y[j] = cast_result(acc).
// Both strategies keep exactly this order for every output; they differ only in how the
// multiplications are scheduled in hardware. Weights are (n_in, n_out) row-major.
// A rank>1 input applies the layer to each of its n_rows rows (the last axis is n_in).
#ifndef HLSFORGE_KERNELS_DENSE_H
#define HLSFORGE_KERNELS_DENSE_H

#include "common.h"
#include "fast.h"

namespace hlsforge {

struct dense_config {
    static const unsigned n_rows = 1;
    static const unsigned n_in = 1;
    static const unsigned n_out = 1;
    static const unsigned reuse_factor = 1;
    static const unsigned strategy = latency;
    static const unsigned multiplier_limit = 1;
    static const bool weights_in_bram = false; // Resource, ReuseFactor > 1 (decided in lowering)
};

// Latency: every multiplication unrolled; with reuse_factor > 1 the pipeline II and the
// number of multipliers (ALLOCATION) follow the reuse factor.
template <class data_T, class res_T, typename CONFIG_T>
void dense_latency(const data_T data[CONFIG_T::n_rows * CONFIG_T::n_in],
                   res_T res[CONFIG_T::n_rows * CONFIG_T::n_out],
                   const typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
                   const typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=acc complete
Rows:
    for (unsigned r = 0; r < CONFIG_T::n_rows; r++) {
    InitAccum:
        for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
            acc[j] = (typename CONFIG_T::accum_t)biases[j];
        }
    Product:
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
            const data_T x = data[r * CONFIG_T::n_in + i];
        Accumulate:
            for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
                const typename CONFIG_T::weight_t w = weights[i * CONFIG_T::n_out + j];
                if (w == 0) continue; // skipping a zero weight leaves acc unchanged
                acc[j] = acc[j] + x * w;
            }
        }
    Result:
        for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
            res[r * CONFIG_T::n_out + j] = (res_T)acc[j];
        }
    }
}

// Resource: the n_in * n_out multiplications are done reuse_factor at a time per multiplier:
// the flattened weight index k = i * n_out + j runs in order in blocks of
// n_in * n_out / reuse_factor, so every acc[j] still sees i in increasing order.
template <class data_T, class res_T, typename CONFIG_T>
void dense_resource(const data_T data[CONFIG_T::n_rows * CONFIG_T::n_in],
                    res_T res[CONFIG_T::n_rows * CONFIG_T::n_out],
                    const typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
                    const typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    const unsigned block = (CONFIG_T::n_in * CONFIG_T::n_out) / CONFIG_T::reuse_factor;
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
    #pragma HLS ARRAY_RESHAPE variable=weights block factor=block
    if (CONFIG_T::weights_in_bram) {
        // R words of `block` weights: one ROM word per cycle of the ReuseLoop
        #pragma HLS BIND_STORAGE variable=weights type=rom_1p impl=bram
    }
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=acc complete
Rows:
    for (unsigned r = 0; r < CONFIG_T::n_rows; r++) {
    InitAccum:
        for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
            acc[j] = (typename CONFIG_T::accum_t)biases[j];
        }
    ReuseLoop:
        for (unsigned ir = 0; ir < CONFIG_T::reuse_factor; ir++) {
        MultLoop:
            for (unsigned im = 0; im < block; im++) {
                #pragma HLS UNROLL
                const unsigned k = ir * block + im;
                const unsigned i = k / CONFIG_T::n_out;
                const unsigned j = k % CONFIG_T::n_out;
                const typename CONFIG_T::weight_t w = weights[k];
                if (w == 0) continue;
                acc[j] = acc[j] + data[r * CONFIG_T::n_in + i] * w;
            }
        }
    Result:
        for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
            res[r * CONFIG_T::n_out + j] = (res_T)acc[j];
        }
    }
}

#ifdef HLSFORGE_FAST_CSIM
// C simulation only (see fast.h): the same loop on raw integers. A zero input leaves every
// accumulator unchanged (as a zero weight does), so it is skipped.
template <class data_T, class res_T, typename CONFIG_T>
HLSFORGE_CLONES void dense_fast(const data_T data[CONFIG_T::n_rows * CONFIG_T::n_in],
                res_T res[CONFIG_T::n_rows * CONFIG_T::n_out],
                const typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
                const typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    typedef fast::mac_plan<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::accum_t> plan;
    typedef typename plan::sint sint;
    typedef typename plan::uacc uacc;
    static const fast::raw_params<CONFIG_T, sint, CONFIG_T::n_in * CONFIG_T::n_out, CONFIG_T::n_out> p(weights, biases);
    static const fast::mac_lanes<plan, CONFIG_T::n_in, CONFIG_T::n_out, 1> lanes(p.w, p.b);
    sint x[CONFIG_T::n_in];
    for (unsigned r = 0; r < CONFIG_T::n_rows; r++) {
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) x[i] = sint(raw_bits(data[r * CONFIG_T::n_in + i]));
        res_T *y = res + r * CONFIG_T::n_out;
        if (plan::modular) {
            uacc acc[CONFIG_T::n_out];
            if (!lanes.run(0, x, acc)) {
                for (unsigned j = 0; j < CONFIG_T::n_out; j++) acc[j] = uacc(p.b[j]);
                fast::accumulate_modular<plan, CONFIG_T::n_in, CONFIG_T::n_out>(acc, x, p.w);
            }
            for (unsigned j = 0; j < CONFIG_T::n_out; j++) y[j] = (res_T)plan::finish(fast::i64(acc[j]));
        } else {
            fast::i64 acc[CONFIG_T::n_out];
            for (unsigned j = 0; j < CONFIG_T::n_out; j++) acc[j] = p.b[j];
            fast::accumulate_steps<plan, CONFIG_T::n_in, CONFIG_T::n_out>(acc, x, p.w);
            for (unsigned j = 0; j < CONFIG_T::n_out; j++) y[j] = (res_T)plan::finish(acc[j]);
        }
    }
}
#endif

template <class data_T, class res_T, typename CONFIG_T>
void dense(const data_T data[CONFIG_T::n_rows * CONFIG_T::n_in],
           res_T res[CONFIG_T::n_rows * CONFIG_T::n_out],
           const typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
           const typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    #pragma HLS INLINE
#ifdef HLSFORGE_FAST_CSIM
    if (fast::mac_plan<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::accum_t>::fast) {
        dense_fast<data_T, res_T, CONFIG_T>(data, res, weights, biases);
        return;
    }
#endif
    if (CONFIG_T::strategy == resource) {
        dense_resource<data_T, res_T, CONFIG_T>(data, res, weights, biases);
    } else {
        dense_latency<data_T, res_T, CONFIG_T>(data, res, weights, biases);
    }
}

} // namespace hlsforge

#endif
