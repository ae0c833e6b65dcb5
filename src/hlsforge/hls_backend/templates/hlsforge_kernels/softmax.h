// hlsforge kernel library: Softmax over the last axis, io_parallel.
//
// Numerics (docs/numerics.md), per row of n_in values:
//   m = max x;  e[i] = exp_table[index(raw(x[i]) - raw(m))]   (the exact difference, indexed)
//   s = cast_sum(exact sum of e);  r = inv_table[index(raw(s))];  y[i] = cast_result(e[i] * r)
// The argmax mode writes a one-hot vector (first maximum wins) for classifiers that only
// need the label.
#ifndef HLSFORGE_KERNELS_SOFTMAX_H
#define HLSFORGE_KERNELS_SOFTMAX_H

#include "common.h"

namespace hlsforge {

struct softmax_config {
    static const unsigned n_rows = 1;
    static const unsigned n_in = 1;
    static const unsigned mode = softmax_mode_stable;
};

template <class data_T, class res_T, typename CONFIG_T>
void softmax_argmax(const data_T data[CONFIG_T::n_rows * CONFIG_T::n_in],
                    res_T res[CONFIG_T::n_rows * CONFIG_T::n_in]) {
    #pragma HLS PIPELINE
Rows:
    for (unsigned r = 0; r < CONFIG_T::n_rows; r++) {
        const unsigned base = r * CONFIG_T::n_in;
        unsigned best = 0;
    Max:
        for (unsigned i = 1; i < CONFIG_T::n_in; i++) {
            if (data[base + i] > data[base + best]) best = i;
        }
    OneHot:
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
            res[base + i] = (res_T)(i == best ? 1 : 0);
        }
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void softmax_stable(const data_T data[CONFIG_T::n_rows * CONFIG_T::n_in],
                    res_T res[CONFIG_T::n_rows * CONFIG_T::n_in],
                    const typename CONFIG_T::exp_table_t exp_table[CONFIG_T::exp_size],
                    const typename CONFIG_T::inv_table_t inv_table[CONFIG_T::inv_size]) {
    #pragma HLS PIPELINE
    typename CONFIG_T::exp_table_t e[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=e complete
Rows:
    for (unsigned r = 0; r < CONFIG_T::n_rows; r++) {
        const unsigned base = r * CONFIG_T::n_in;
        data_T m = data[base];
    Max:
        for (unsigned i = 1; i < CONFIG_T::n_in; i++) {
            if (data[base + i] > m) m = data[base + i];
        }
        const long long m_raw = (long long)raw_bits(m);
        typename CONFIG_T::exact_sum_t total = 0; // wide enough to be exact
    Exp:
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
            const unsigned idx = table_index<CONFIG_T::exp_lo, CONFIG_T::exp_shift, CONFIG_T::exp_size>(
                (long long)raw_bits(data[base + i]) - m_raw);
            e[i] = exp_table[idx];
            total = total + e[i];
        }
        const typename CONFIG_T::sum_t s = (typename CONFIG_T::sum_t)total;
        const typename CONFIG_T::inv_table_t inv =
            inv_table[table_index<CONFIG_T::inv_lo, CONFIG_T::inv_shift, CONFIG_T::inv_size>((long long)raw_bits(s))];
    Normalize:
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
            res[base + i] = (res_T)(e[i] * inv);
        }
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void softmax(const data_T data[CONFIG_T::n_rows * CONFIG_T::n_in],
             res_T res[CONFIG_T::n_rows * CONFIG_T::n_in],
             const typename CONFIG_T::exp_table_t exp_table[CONFIG_T::exp_size],
             const typename CONFIG_T::inv_table_t inv_table[CONFIG_T::inv_size]) {
    #pragma HLS INLINE
    if (CONFIG_T::mode == softmax_mode_argmax) {
        softmax_argmax<data_T, res_T, CONFIG_T>(data, res);
    } else {
        softmax_stable<data_T, res_T, CONFIG_T>(data, res, exp_table, inv_table);
    }
}

} // namespace hlsforge

#endif
