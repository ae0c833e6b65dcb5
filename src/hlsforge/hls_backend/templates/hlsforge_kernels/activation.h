// hlsforge kernel library: element-wise activations, io_parallel.
//
// Numerics (docs/numerics.md): comparisons and the arithmetic inside an activation are exact;
// the only rounding is the assignment to res_T (and the constants, quantized in Python into
// CONFIG_T::param_t / table_t and emitted as exact literals).
#ifndef HLSFORGE_KERNELS_ACTIVATION_H
#define HLSFORGE_KERNELS_ACTIVATION_H

#include "common.h"

namespace hlsforge {

struct activation_config {
    static const unsigned n_in = 1;
};

// ReLU: cast_result(max(x, 0)).
template <class data_T, class res_T, typename CONFIG_T>
void relu(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
    #pragma HLS PIPELINE
ReLU:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        // max(x, 0) as a select on the raw integer (no data-dependent branch: C simulation
        // of random data would mispredict half of them), then the cast.
        res[i] = (res_T)max_select(data[i], data_T(0));
    }
}

// LeakyReLU: x >= 0 ? cast_result(x) : cast_result(x * alpha), alpha of type param_t.
template <class data_T, class res_T, typename CONFIG_T>
void leaky_relu(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
                const typename CONFIG_T::param_t alpha) {
    #pragma HLS PIPELINE
LeakyReLU:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        const data_T x = data[i];
        if (x >= 0) res[i] = (res_T)x;
        else res[i] = (res_T)(x * alpha);
    }
}

// Clip / ReLU6 / HardTanh: min(max(x, lo), hi), exact, against the param_t bounds, then
// cast. (The order matters only if quantizing the bounds made lo > hi: then hi wins.)
template <class data_T, class res_T, typename CONFIG_T>
void clip(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
          const typename CONFIG_T::param_t lo, const typename CONFIG_T::param_t hi) {
    #pragma HLS PIPELINE
Clip:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        const data_T x = data[i];
        if (CONFIG_T::has_min && x < lo) {
            if (CONFIG_T::has_max && lo > hi) res[i] = (res_T)hi;
            else res[i] = (res_T)lo;
        } else {
            if (CONFIG_T::has_max && x > hi) res[i] = (res_T)hi;
            else res[i] = (res_T)x;
        }
    }
}

// HardSigmoid: cast_result(clip(x * slope + shift, 0, 1)), slope and shift of type param_t.
template <class data_T, class res_T, typename CONFIG_T>
void hard_sigmoid(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
                  const typename CONFIG_T::param_t slope, const typename CONFIG_T::param_t shift) {
    #pragma HLS PIPELINE
HardSigmoid:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        const data_T x = data[i];
        if (x * slope + shift <= 0) res[i] = 0;
        else if (x * slope + shift >= 1) res[i] = (res_T)1;
        else res[i] = (res_T)(x * slope + shift);
    }
}

// Table functions (sigmoid, tanh, softplus, ...): res = cast_result(table[index(x)]) with
// index = clamp((raw(x) - table_lo) >> table_shift, 0, table_size - 1).
template <class data_T, class res_T, typename CONFIG_T>
void table_lookup(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
                  const typename CONFIG_T::table_t table[CONFIG_T::table_size]) {
    #pragma HLS PIPELINE
Lookup:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        const unsigned idx = table_index<CONFIG_T::table_lo, CONFIG_T::table_shift, CONFIG_T::table_size>(
            (long long)raw_bits(data[i]));
        res[i] = (res_T)table[idx];
    }
}

// ELU: x >= 0 ? cast_result(x) : cast_result(table[index(x)]), the table holding
// alpha * (exp(x) - 1) for the negative inputs.
template <class data_T, class res_T, typename CONFIG_T>
void elu(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
         const typename CONFIG_T::table_t table[CONFIG_T::table_size]) {
    #pragma HLS PIPELINE
ELU:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        const data_T x = data[i];
        if (x >= 0) {
            res[i] = (res_T)x;
        } else {
            const unsigned idx = table_index<CONFIG_T::table_lo, CONFIG_T::table_shift, CONFIG_T::table_size>(
                (long long)raw_bits(x));
            res[i] = (res_T)table[idx];
        }
    }
}

// SELU: x >= 0 ? cast_result(x * gamma) : cast_result(table[index(x)]), gamma of type param_t
// and the table holding gamma * alpha * (exp(x) - 1) for the negative inputs.
template <class data_T, class res_T, typename CONFIG_T>
void selu(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
          const typename CONFIG_T::table_t table[CONFIG_T::table_size],
          const typename CONFIG_T::param_t gamma) {
    #pragma HLS PIPELINE
SELU:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        const data_T x = data[i];
        if (x >= 0) {
            res[i] = (res_T)(x * gamma);
        } else {
            const unsigned idx = table_index<CONFIG_T::table_lo, CONFIG_T::table_shift, CONFIG_T::table_size>(
                (long long)raw_bits(x));
            res[i] = (res_T)table[idx];
        }
    }
}

// SELU of an unsigned input (no negative branch): cast_result(x * gamma).
template <class data_T, class res_T, typename CONFIG_T>
void scale(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
           const typename CONFIG_T::param_t gamma) {
    #pragma HLS PIPELINE
Scale:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        res[i] = (res_T)(data[i] * gamma);
    }
}

// Per-channel affine (standalone BatchNormalization): cast_result(x * scale[c] + bias[c]).
template <class data_T, class res_T, typename CONFIG_T>
void batchnorm(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
               const typename CONFIG_T::scale_t scale[CONFIG_T::n_chan],
               const typename CONFIG_T::bias_t bias[CONFIG_T::n_chan]) {
    #pragma HLS PIPELINE
    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
BatchNorm:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        const unsigned c = i % CONFIG_T::n_chan;
        res[i] = (res_T)(data[i] * scale[c] + bias[c]);
    }
}

// Explicit cast (Quantize nodes) and value-preserving copies (Flatten, Reshape).
template <class data_T, class res_T, typename CONFIG_T>
void cast(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
    #pragma HLS INLINE
Cast:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        res[i] = (res_T)data[i];
    }
}

// Per-channel / per-element quantizer (one call per distinct element type): the values at
// positions r * period + idx[i] of every row r are converted into elem_t (its rounding and
// overflow), then widened into res_T, which holds every element type exactly.
struct elements_config {
    static const unsigned n_in = 1;    // values
    static const unsigned period = 1;  // the element pattern repeats every `period` values
    static const unsigned n_idx = 1;   // positions of this element type within one period
    static const bool pruned = false;  // io_stream chains: this group is always 0
};

// io_stream: all element types of a per-element quantizer in one beat-wise kernel. Each group
// config G names its element type (elem_t) and the next group's config (next_t); one index
// list per group, in the same order.
struct elements_end {};

template <class data_T, class res_T, typename G>
void cast_element_groups(const data_T data[], res_T res[]) {}

template <class data_T, class res_T, typename G, class... Rest>
void cast_element_groups(const data_T data[], res_T res[], const unsigned idx[], const Rest &...rest) {
    #pragma HLS INLINE
GroupRows:
    for (unsigned r = 0; r < G::n_in / G::period; r++) {
    GroupElems:
        for (unsigned i = 0; i < G::n_idx; i++) {
            const unsigned k = r * G::period + idx[i];
            if (G::pruned) {
                res[k] = 0;
            } else {
                const typename G::elem_t e = (typename G::elem_t)data[k];
                res[k] = (res_T)e;
            }
        }
    }
    cast_element_groups<data_T, res_T, typename G::next_t>(data, res, rest...);
}

template <class data_T, class res_T, typename CONFIG_T>
void cast_elements(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
                   const unsigned idx[CONFIG_T::n_idx]) {
    #pragma HLS INLINE
CastElementsRows:
    for (unsigned r = 0; r < CONFIG_T::n_in / CONFIG_T::period; r++) {
    CastElements:
        for (unsigned i = 0; i < CONFIG_T::n_idx; i++) {
            const unsigned k = r * CONFIG_T::period + idx[i];
            const typename CONFIG_T::elem_t e = (typename CONFIG_T::elem_t)data[k];
            res[k] = (res_T)e;
        }
    }
}

// Pruned elements (zero bits) of a per-element quantizer: always 0.
template <class data_T, class res_T, typename CONFIG_T>
void prune_elements(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
                    const unsigned idx[CONFIG_T::n_idx]) {
    #pragma HLS INLINE
PruneElementsRows:
    for (unsigned r = 0; r < CONFIG_T::n_in / CONFIG_T::period; r++) {
    PruneElements:
        for (unsigned i = 0; i < CONFIG_T::n_idx; i++) {
            res[r * CONFIG_T::period + idx[i]] = 0;
        }
    }
}

} // namespace hlsforge

#endif
