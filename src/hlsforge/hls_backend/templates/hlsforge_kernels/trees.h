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
};

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
                   const typename CONFIG_T::leaf_t base[CONFIG_T::n_outputs]) {
    #pragma HLS PIPELINE II=1
    #pragma HLS ARRAY_PARTITION variable=x complete
    #pragma HLS ARRAY_PARTITION variable=res complete
    typedef typename CONFIG_T::accum_t accum_t;
    // 1. every comparison at once (zero_side: 0 = plain split, 1 = x == 0 goes left, 2 = right)
    bool go_left[CONFIG_T::n_nodes];
    #pragma HLS ARRAY_PARTITION variable=go_left complete
Compare:
    for (unsigned i = 0; i < CONFIG_T::n_nodes; i++) {
        #pragma HLS UNROLL
        const data_T v = x[feature[i]];
        bool c = v <= threshold[i];
        if (CONFIG_T::zero_default && zero_side[i] != 0 && v == 0) c = (zero_side[i] == 1);
        go_left[i] = c;
    }
    // 2. each tree walks its decisions (leaves point to themselves)
    unsigned reached[CONFIG_T::n_trees];
    #pragma HLS ARRAY_PARTITION variable=reached complete
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
    // 3. per output: pairwise adder tree, then + base
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
