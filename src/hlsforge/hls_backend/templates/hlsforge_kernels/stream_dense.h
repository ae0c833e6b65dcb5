// hlsforge kernel library, io_stream: Dense on a stream.
//
// Each row of n_in inputs arrives as n_in / in_T::size beats (a flattened feature map keeps
// its producer's beats, one position each); it is collected into an array and handed to the
// io_parallel dense kernel, so the arithmetic (order, types, rounding) is identical. One beat
// of n_out values leaves per row.
#ifndef HLSFORGE_KERNELS_STREAM_DENSE_H
#define HLSFORGE_KERNELS_STREAM_DENSE_H

#include "stream_common.h"
#include "dense.h"

namespace hlsforge {

template <class in_T, class out_T, typename CONFIG_T>
void dense_stream(hls::stream<in_T> &in, hls::stream<out_T> &out,
                  const typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
                  const typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    typedef typename in_T::value_type data_T;
Rows:
    for (unsigned r = 0; r < CONFIG_T::n_stream_rows; r++) {
        data_T x[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=x complete
    Collect:
        for (unsigned b = 0; b < CONFIG_T::n_in / in_T::size; b++) {
            #pragma HLS PIPELINE
            const in_T v = in.read();
            for (unsigned j = 0; j < in_T::size; j++) x[b * in_T::size + j] = v[j];
        }
        out_T y;
        dense<data_T, typename out_T::value_type, CONFIG_T>(x, y.data, weights, biases);
        out.write(y);
    }
}

} // namespace hlsforge

#endif
