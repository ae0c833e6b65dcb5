// hlsforge kernel library: Transpose and Pad as gathers through a constant index map.
//
// out[i] = in[index[i]], or zero where index[i] == CONFIG_T::n_in (a padded position).
// No value changes; the assignment to res_T is exact when res_T holds the input type.
#ifndef HLSFORGE_KERNELS_SHAPE_H
#define HLSFORGE_KERNELS_SHAPE_H

#include "common.h"

namespace hlsforge {

struct gather_config {
    static const unsigned n_in = 1;
    static const unsigned n_out = 1;
};

template <class data_T, class res_T, typename CONFIG_T>
void gather(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
            const unsigned index[CONFIG_T::n_out]) {
    #pragma HLS INLINE
Gather:
    for (unsigned i = 0; i < CONFIG_T::n_out; i++) {
        const unsigned j = index[i];
        if (j < CONFIG_T::n_in) res[i] = (res_T)data[j];
        else res[i] = 0;
    }
}

} // namespace hlsforge

#endif
