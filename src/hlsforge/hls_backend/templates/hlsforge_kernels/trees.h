// hlsforge kernel library: TreeEnsemble (boosted decision trees, random forests), io_parallel.
//
// Numerics (docs/numerics.md, TreeEnsemble; quantize/trees.py is the Python statement):
// every split is `x[feature] <= threshold` with the threshold already on the input grid, so a
// decision is one exact comparison; LightGBM "zero is missing" splits send x == 0 to the
// default side. All comparisons of all trees are evaluated in parallel (one comparator per
// inner node), each tree then selects its leaf with max_depth levels of multiplexers, and the
// leaves of each output are summed by a balanced pairwise adder tree in accum_t:
//   v[i] = (accum_t) leaf_i;  level by level v[i] = (accum_t)(v[2i] + v[2i+1]), an odd last
//   element passing up;  res[k] = (res_T)(accum_t)(sum + base[k]).
// With full unrolling every loop below is wiring: II = 1.
#ifndef HLSFORGE_KERNELS_TREES_H
#define HLSFORGE_KERNELS_TREES_H

#include "common.h"

namespace hlsforge {

struct tree_ensemble_config {
    static const unsigned n_features = 1;
    static const unsigned n_trees = 1;
    static const unsigned n_nodes = 1;
    static const unsigned n_outputs = 1;
    static const unsigned max_depth = 1;
    static const unsigned leaf_width = 1;       // 1: tree t adds to output tree_output[t]; else one value per output
    static const unsigned trees_per_output = 1; // max number of trees summed into one output
    static const bool zero_default = false;     // some split sends x == 0 to its default side
    static const bool raw_compare = false;      // C-sim: compare raw integers (types fit 62 bits)
    static const unsigned threshold_shift = 0;  // threshold fraction bits - input fraction bits
    static const bool exact_sum = false;        // C-sim: no partial sum can round or overflow accum_t
    static const unsigned leaf_shift = 0;       // accum fraction bits - leaf fraction bits
};

// One split: x <= threshold, except that x == 0 goes to a fixed side on zero-is-missing splits.
template <class data_T, typename CONFIG_T>
inline bool tree_decision(const data_T &v, const typename CONFIG_T::threshold_t &t, unsigned zero_side) {
    #pragma HLS INLINE
    bool c = v <= t;
    if (CONFIG_T::zero_default && zero_side != 0 && v == 0) c = (zero_side == 1);
    return c;
}

template <class data_T, class res_T, typename CONFIG_T>
void tree_ensemble(const data_T x[CONFIG_T::n_features], res_T res[CONFIG_T::n_outputs],
                   const unsigned feature[CONFIG_T::n_nodes],
                   const typename CONFIG_T::threshold_t threshold[CONFIG_T::n_nodes],
                   const unsigned left[CONFIG_T::n_nodes], const unsigned right[CONFIG_T::n_nodes],
                   const unsigned zero_side[CONFIG_T::n_nodes],
                   const typename CONFIG_T::leaf_t leaf[CONFIG_T::n_nodes * CONFIG_T::leaf_width],
                   const unsigned roots[CONFIG_T::n_trees],
                   const unsigned output_trees[CONFIG_T::n_outputs * CONFIG_T::trees_per_output],
                   const unsigned output_count[CONFIG_T::n_outputs],
                   const typename CONFIG_T::leaf_t base[CONFIG_T::n_outputs],
                   const long long threshold_sim[], const long long leaf_sim[], const long long base_sim[]) {
    #pragma HLS PIPELINE II=1
    #pragma HLS ARRAY_PARTITION variable=x complete
    #pragma HLS ARRAY_PARTITION variable=res complete
    typedef typename CONFIG_T::accum_t accum_t;
    unsigned reached[CONFIG_T::n_trees];
    #pragma HLS ARRAY_PARTITION variable=reached complete
#ifdef __SYNTHESIS__
    // 1. every comparison at once (zero_side: 0 = plain split, 1 = x == 0 goes left, 2 = right)
    bool go_left[CONFIG_T::n_nodes];
    #pragma HLS ARRAY_PARTITION variable=go_left complete
Compare:
    for (unsigned i = 0; i < CONFIG_T::n_nodes; i++) {
        #pragma HLS UNROLL
        go_left[i] = tree_decision<data_T, CONFIG_T>(x[feature[i]], threshold[i], zero_side[i]);
    }
    // 2. each tree walks its decisions (leaves point to themselves)
Walk:
    for (unsigned t = 0; t < CONFIG_T::n_trees; t++) {
        #pragma HLS UNROLL
        unsigned node = roots[t];
        for (unsigned d = 0; d < CONFIG_T::max_depth; d++) {
            #pragma HLS UNROLL
            node = go_left[node] ? left[node] : right[node];
        }
        reached[t] = node;
    }
#else
    // C simulation: the same decisions, evaluated only along each tree's path (max_depth
    // comparisons per tree instead of one per node), on raw integers when the types allow
    // (x_raw << threshold_shift <= t_raw is exactly x <= t) -- identical results, much faster.
    if (CONFIG_T::raw_compare) {
        long long xr[CONFIG_T::n_features];
        for (unsigned i = 0; i < CONFIG_T::n_features; i++)
            xr[i] = (long long)raw_bits(x[i]) * (1LL << CONFIG_T::threshold_shift);
        // eight trees at a time: independent walks overlap in the CPU's pipeline
        const unsigned B = 8;
        unsigned t0 = 0;
        for (; t0 + B <= CONFIG_T::n_trees; t0 += B) {
            unsigned nd[B];
            for (unsigned b = 0; b < B; b++) nd[b] = roots[t0 + b];
            for (unsigned d = 0; d < CONFIG_T::max_depth; d++) {
                for (unsigned b = 0; b < B; b++) {
                    const unsigned node = nd[b];
                    const long long *p = threshold_sim + 4 * node;  // [feature, threshold, left, right]
                    const long long v = xr[p[0]];
                    bool c = v <= p[1];
                    if (CONFIG_T::zero_default && zero_side[node] != 0 && v == 0) c = (zero_side[node] == 1);
                    nd[b] = (unsigned)p[3 - (int)c];  // branch-free child
                }
            }
            for (unsigned b = 0; b < B; b++) reached[t0 + b] = nd[b];
        }
        for (unsigned t = t0; t < CONFIG_T::n_trees; t++) {
            unsigned node = roots[t];
            for (unsigned d = 0; d < CONFIG_T::max_depth; d++) {
                const long long *p = threshold_sim + 4 * node;
                const long long v = xr[p[0]];
                bool c = v <= p[1];
                if (CONFIG_T::zero_default && zero_side[node] != 0 && v == 0) c = (zero_side[node] == 1);
                node = (unsigned)p[3 - (int)c];
            }
            reached[t] = node;
        }
    } else {
        for (unsigned t = 0; t < CONFIG_T::n_trees; t++) {
            unsigned node = roots[t];
            for (unsigned d = 0; d < CONFIG_T::max_depth; d++) {
                const bool c = tree_decision<data_T, CONFIG_T>(x[feature[node]], threshold[node], zero_side[node]);
                node = c ? left[node] : right[node];
            }
            reached[t] = node;
        }
    }
#endif
    // 3. per output: pairwise adder tree, then + base
#ifndef __SYNTHESIS__
    if (CONFIG_T::exact_sum) {  // C-sim: every cast is exact, so one integer sum is the same
        for (unsigned k = 0; k < CONFIG_T::n_outputs; k++) {
            const unsigned col = CONFIG_T::leaf_width == 1 ? 0 : k;
            long long s = base_sim[k];
            for (unsigned j = 0; j < output_count[k]; j++)
                s += leaf_sim[reached[output_trees[k * CONFIG_T::trees_per_output + j]] * CONFIG_T::leaf_width + col];
            res[k] = (res_T)from_raw_bits<accum_t>((typename fixed_traits<accum_t>::raw_t)s);
        }
        return;
    }
#endif
Outputs:
    for (unsigned k = 0; k < CONFIG_T::n_outputs; k++) {
        #pragma HLS UNROLL
        accum_t v[CONFIG_T::trees_per_output];
        #pragma HLS ARRAY_PARTITION variable=v complete
        const unsigned n = output_count[k];
        const unsigned col = CONFIG_T::leaf_width == 1 ? 0 : k;
        for (unsigned j = 0; j < CONFIG_T::trees_per_output; j++) {
            #pragma HLS UNROLL
            if (j < n) v[j] = (accum_t)leaf[reached[output_trees[k * CONFIG_T::trees_per_output + j]] * CONFIG_T::leaf_width + col];
        }
        accum_t sum = 0;
        if (n > 0) {
            for (unsigned width = n; width > 1; width = (width + 1) / 2) {
                #pragma HLS UNROLL
                for (unsigned i = 0; i < width / 2; i++) {
                    #pragma HLS UNROLL
                    v[i] = (accum_t)(v[2 * i] + v[2 * i + 1]);
                }
                if (width % 2) v[width / 2] = v[width - 1];
            }
            sum = v[0];
        }
        const accum_t total = (accum_t)(sum + base[k]);
        res[k] = (res_T)total;
    }
}

} // namespace hlsforge

#endif
