// hlsforge kernel library: recurrent cells (GRU, LSTM, SimpleRNN) and LayerNormalization,
// io_parallel.
//
// Numerics (docs/numerics.md §12), per direction and time step, ONNX gate order:
//   xw = Dense(x[t]; W, Wb) and hr = Dense(h; R, Rb), each the Dense loop in accum_t
//   (acc = cast_accum(b[j]); acc = cast_accum(acc + x[i] * w[i][j]) for i in order);
//   a gate's pre-activation is cast_accum of the exact sum of its terms; a gate is a table
//   entry (table_t) or, for ReLU, max(pre, 0) (accum_t); the state is cast once per step:
//     SimpleRNN  h = cast_result(f(xw + hr))
//     GRU        z, r = f(...); n = g(xw_n + r * hr_n)                (linear_before_reset)
//                                n = g(xw_n + Dense(cast_result(r * h); R_n, Rb_n))  (else)
//                h = cast_result(n + z * (h - n))                      (= (1 - z) n + z h)
//     LSTM       i = f(xw_i + hr_i + P_i c); f = f(xw_f + hr_f + P_f c) (or 1 - i);
//                c = cast_cell(f * c + i * g(xw_c + hr_c));
//                o = f(xw_o + hr_o + P_o c); h = cast_result(o * h(c))
// Every expression between two casts is exact ap_fixed arithmetic. Weights are stored per
// direction transposed, (n_in, gates * n_hidden) row-major, like Dense's (n_in, n_out).
// The top function's PIPELINE unrolls the sequence (as hls4ml's io_parallel cells do);
// reuse_factor sets the initiation interval and the multiplier limit.
#ifndef HLSFORGE_KERNELS_RECURRENT_H
#define HLSFORGE_KERNELS_RECURRENT_H

#include "common.h"

namespace hlsforge {

struct recurrent_config {
    static const unsigned n_seq = 1;
    static const unsigned n_in = 1;
    static const unsigned n_hidden = 1;
    static const unsigned n_dirs = 1;
    static const bool reverse = false; // direction 0 runs backwards (direction="reverse")
    static const bool linear_before_reset = false; // GRU
    static const bool input_forget = false; // LSTM: f = 1 - i
    static const unsigned reuse_factor = 1;
    static const unsigned multiplier_limit = 1;
    static const bool f_relu = false, g_relu = false, h_relu = false;
    static const unsigned f_size = 1, g_size = 1, h_size = 1;
    static const long long f_lo = 0, g_lo = 0, h_lo = 0;
    static const int f_shift = 0, g_shift = 0, h_shift = 0;
};

// The Dense loop into an accumulator: acc[j] = cast_accum(b[j]); then for i in order
// acc[j] = cast_accum(acc[j] + x[i] * w[i * STRIDE + j]) (zero weights skipped: no change).
template <class x_T, class w_T, class b_T, class acc_T, unsigned N_IN, unsigned N_OUT, unsigned STRIDE>
inline void recurrent_matvec(const x_T *x, const w_T *w, const b_T *b, acc_T acc[N_OUT]) {
    #pragma HLS INLINE
InitAccum:
    for (unsigned j = 0; j < N_OUT; j++) acc[j] = (acc_T)b[j];
Product:
    for (unsigned i = 0; i < N_IN; i++) {
    Accumulate:
        for (unsigned j = 0; j < N_OUT; j++) {
            const w_T wv = w[i * STRIDE + j];
            if (wv == 0) continue;
            acc[j] = acc[j] + x[i] * wv;
        }
    }
}

// A gate's activation: the table entry at index(v), or ReLU max(v, 0) (then out_T is v's type).
template <class out_T, class in_T, bool RELU, long long LO, int SHIFT, unsigned SIZE>
inline out_T recurrent_activation(const in_T &v, const out_T table[SIZE]) {
    #pragma HLS INLINE
    if (RELU) return (out_T)max_select(v, in_T(0));
    return table[table_index<LO, SHIFT, SIZE>((long long)raw_bits(v))];
}

#define HLSFORGE_RNN_ACT(K, T_IN, v, table)                                                        \
    recurrent_activation<typename CONFIG_T::K##_t, T_IN, CONFIG_T::K##_relu, CONFIG_T::K##_lo,     \
                         CONFIG_T::K##_shift, CONFIG_T::K##_size>(v, table)

// One time step of one direction, the state updated in place: the io_parallel kernels below
// and the io_stream kernels (stream_recurrent.h) both call these, so both compute the same
// bits. x: the step's n_in inputs; w, r, b: this direction's weights and [Wb, Rb] biases.
template <class data_T, class res_T, typename CONFIG_T>
inline void simple_rnn_step(const data_T *x, res_T h[CONFIG_T::n_hidden], const typename CONFIG_T::weight_t *w,
                            const typename CONFIG_T::rweight_t *r, const typename CONFIG_T::bias_t *b,
                            const typename CONFIG_T::f_t table_f[CONFIG_T::f_size]) {
    #pragma HLS INLINE
    typedef typename CONFIG_T::accum_t acc_t;
    const unsigned H = CONFIG_T::n_hidden, N = CONFIG_T::n_in;
    acc_t xw[H], hr[H];
    recurrent_matvec<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::bias_t, acc_t, N, H, H>(x, w, b, xw);
    recurrent_matvec<res_T, typename CONFIG_T::rweight_t, typename CONFIG_T::bias_t, acc_t, H, H, H>(h, r, b + H, hr);
State:
    for (unsigned j = 0; j < H; j++) h[j] = (res_T)HLSFORGE_RNN_ACT(f, acc_t, (acc_t)(xw[j] + hr[j]), table_f);
}

template <class data_T, class res_T, typename CONFIG_T>
inline void gru_step(const data_T *x, res_T h[CONFIG_T::n_hidden], const typename CONFIG_T::weight_t *w,
                     const typename CONFIG_T::rweight_t *rd, const typename CONFIG_T::bias_t *b,
                     const typename CONFIG_T::f_t table_f[CONFIG_T::f_size],
                     const typename CONFIG_T::g_t table_g[CONFIG_T::g_size]) {
    #pragma HLS INLINE
    typedef typename CONFIG_T::accum_t acc_t;
    typedef typename CONFIG_T::rweight_t rw_t;
    typedef typename CONFIG_T::bias_t b_t;
    const unsigned H = CONFIG_T::n_hidden, N = CONFIG_T::n_in, G = 3 * CONFIG_T::n_hidden;
    const b_t *rb = b + G;
    acc_t xw[G], hzr[2 * H], hn[H];
    typename CONFIG_T::f_t z[H], rg[H];
    recurrent_matvec<data_T, typename CONFIG_T::weight_t, b_t, acc_t, N, G, G>(x, w, b, xw);
    recurrent_matvec<res_T, rw_t, b_t, acc_t, H, 2 * H, G>(h, rd, rb, hzr);
Gates:
    for (unsigned j = 0; j < H; j++) {
        z[j] = HLSFORGE_RNN_ACT(f, acc_t, (acc_t)(xw[j] + hzr[j]), table_f);
        rg[j] = HLSFORGE_RNN_ACT(f, acc_t, (acc_t)(xw[H + j] + hzr[H + j]), table_f);
    }
    if (CONFIG_T::linear_before_reset) {
        recurrent_matvec<res_T, rw_t, b_t, acc_t, H, H, G>(h, rd + 2 * H, rb + 2 * H, hn);
    } else {
        res_T rh[H];
        for (unsigned j = 0; j < H; j++) rh[j] = (res_T)(rg[j] * h[j]);
        recurrent_matvec<res_T, rw_t, b_t, acc_t, H, H, G>(rh, rd + 2 * H, rb + 2 * H, hn);
    }
State:
    for (unsigned j = 0; j < H; j++) {
        const acc_t pre = CONFIG_T::linear_before_reset ? (acc_t)(xw[2 * H + j] + rg[j] * hn[j])
                                                        : (acc_t)(xw[2 * H + j] + hn[j]);
        const typename CONFIG_T::g_t n = HLSFORGE_RNN_ACT(g, acc_t, pre, table_g);
        h[j] = (res_T)(n + z[j] * (h[j] - n));
    }
}

template <class data_T, class res_T, typename CONFIG_T>
inline void lstm_step(const data_T *x, res_T h[CONFIG_T::n_hidden], typename CONFIG_T::cell_t c[CONFIG_T::n_hidden],
                      const typename CONFIG_T::weight_t *w, const typename CONFIG_T::rweight_t *r,
                      const typename CONFIG_T::bias_t *b, const typename CONFIG_T::weight_t *pd,
                      const typename CONFIG_T::f_t table_f[CONFIG_T::f_size],
                      const typename CONFIG_T::g_t table_g[CONFIG_T::g_size],
                      const typename CONFIG_T::h_t table_h[CONFIG_T::h_size]) {
    #pragma HLS INLINE
    typedef typename CONFIG_T::accum_t acc_t;
    typedef typename CONFIG_T::cell_t cell_t;
    typedef typename CONFIG_T::f_t f_t;
    const unsigned H = CONFIG_T::n_hidden, N = CONFIG_T::n_in, G = 4 * CONFIG_T::n_hidden;
    const ap_ufixed<1, 1> one = 1;
    acc_t xw[G], hr[G];
    recurrent_matvec<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::bias_t, acc_t, N, G, G>(x, w, b, xw);
    recurrent_matvec<res_T, typename CONFIG_T::rweight_t, typename CONFIG_T::bias_t, acc_t, H, G, G>(h, r, b + G, hr);
State:
    for (unsigned j = 0; j < H; j++) {
        const f_t ig = HLSFORGE_RNN_ACT(f, acc_t, (acc_t)(xw[j] + hr[j] + pd[j] * c[j]), table_f);
        const typename CONFIG_T::g_t gg = HLSFORGE_RNN_ACT(g, acc_t, (acc_t)(xw[3 * H + j] + hr[3 * H + j]), table_g);
        if (CONFIG_T::input_forget) {
            c[j] = (cell_t)((one - ig) * c[j] + ig * gg);
        } else {
            const f_t fg = HLSFORGE_RNN_ACT(f, acc_t, (acc_t)(xw[2 * H + j] + hr[2 * H + j] + pd[2 * H + j] * c[j]), table_f);
            c[j] = (cell_t)(fg * c[j] + ig * gg);
        }
        const f_t og = HLSFORGE_RNN_ACT(f, acc_t, (acc_t)(xw[H + j] + hr[H + j] + pd[H + j] * c[j]), table_f);
        h[j] = (res_T)(og * HLSFORGE_RNN_ACT(h, cell_t, c[j], table_h));
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void simple_rnn(const data_T x[CONFIG_T::n_seq * CONFIG_T::n_in],
                res_T y[CONFIG_T::n_seq * CONFIG_T::n_dirs * CONFIG_T::n_hidden],
                res_T y_h[CONFIG_T::n_dirs * CONFIG_T::n_hidden],
                const typename CONFIG_T::weight_t w[CONFIG_T::n_dirs * CONFIG_T::n_in * CONFIG_T::n_hidden],
                const typename CONFIG_T::rweight_t r[CONFIG_T::n_dirs * CONFIG_T::n_hidden * CONFIG_T::n_hidden],
                const typename CONFIG_T::bias_t b[CONFIG_T::n_dirs * 2 * CONFIG_T::n_hidden],
                const res_T h0[CONFIG_T::n_dirs * CONFIG_T::n_hidden],
                const typename CONFIG_T::f_t table_f[CONFIG_T::f_size]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
    const unsigned H = CONFIG_T::n_hidden, N = CONFIG_T::n_in;
Direction:
    for (unsigned d = 0; d < CONFIG_T::n_dirs; d++) {
        const bool backwards = CONFIG_T::reverse || d == 1;
        res_T h[H];
        #pragma HLS ARRAY_PARTITION variable=h complete
        for (unsigned j = 0; j < H; j++) h[j] = h0[d * H + j];
    Step:
        for (unsigned s = 0; s < CONFIG_T::n_seq; s++) {
            const unsigned t = backwards ? CONFIG_T::n_seq - 1 - s : s;
            simple_rnn_step<data_T, res_T, CONFIG_T>(x + t * N, h, w + d * N * H, r + d * H * H, b + d * 2 * H, table_f);
            for (unsigned j = 0; j < H; j++) y[(t * CONFIG_T::n_dirs + d) * H + j] = h[j];
        }
        for (unsigned j = 0; j < H; j++) y_h[d * H + j] = h[j];
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void gru(const data_T x[CONFIG_T::n_seq * CONFIG_T::n_in],
         res_T y[CONFIG_T::n_seq * CONFIG_T::n_dirs * CONFIG_T::n_hidden],
         res_T y_h[CONFIG_T::n_dirs * CONFIG_T::n_hidden],
         const typename CONFIG_T::weight_t w[CONFIG_T::n_dirs * CONFIG_T::n_in * 3 * CONFIG_T::n_hidden],
         const typename CONFIG_T::rweight_t r[CONFIG_T::n_dirs * CONFIG_T::n_hidden * 3 * CONFIG_T::n_hidden],
         const typename CONFIG_T::bias_t b[CONFIG_T::n_dirs * 6 * CONFIG_T::n_hidden],
         const res_T h0[CONFIG_T::n_dirs * CONFIG_T::n_hidden],
         const typename CONFIG_T::f_t table_f[CONFIG_T::f_size],
         const typename CONFIG_T::g_t table_g[CONFIG_T::g_size]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
    const unsigned H = CONFIG_T::n_hidden, N = CONFIG_T::n_in, G = 3 * CONFIG_T::n_hidden;
Direction:
    for (unsigned d = 0; d < CONFIG_T::n_dirs; d++) {
        const bool backwards = CONFIG_T::reverse || d == 1;
        res_T h[H];
        #pragma HLS ARRAY_PARTITION variable=h complete
        for (unsigned j = 0; j < H; j++) h[j] = h0[d * H + j];
    Step:
        for (unsigned s = 0; s < CONFIG_T::n_seq; s++) {
            const unsigned t = backwards ? CONFIG_T::n_seq - 1 - s : s;
            gru_step<data_T, res_T, CONFIG_T>(x + t * N, h, w + d * N * G, r + d * H * G, b + d * 2 * G, table_f, table_g);
            for (unsigned j = 0; j < H; j++) y[(t * CONFIG_T::n_dirs + d) * H + j] = h[j];
        }
        for (unsigned j = 0; j < H; j++) y_h[d * H + j] = h[j];
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void lstm(const data_T x[CONFIG_T::n_seq * CONFIG_T::n_in],
          res_T y[CONFIG_T::n_seq * CONFIG_T::n_dirs * CONFIG_T::n_hidden],
          res_T y_h[CONFIG_T::n_dirs * CONFIG_T::n_hidden],
          typename CONFIG_T::cell_t y_c[CONFIG_T::n_dirs * CONFIG_T::n_hidden],
          const typename CONFIG_T::weight_t w[CONFIG_T::n_dirs * CONFIG_T::n_in * 4 * CONFIG_T::n_hidden],
          const typename CONFIG_T::rweight_t r[CONFIG_T::n_dirs * CONFIG_T::n_hidden * 4 * CONFIG_T::n_hidden],
          const typename CONFIG_T::bias_t b[CONFIG_T::n_dirs * 8 * CONFIG_T::n_hidden],
          const res_T h0[CONFIG_T::n_dirs * CONFIG_T::n_hidden],
          const typename CONFIG_T::cell_t c0[CONFIG_T::n_dirs * CONFIG_T::n_hidden],
          const typename CONFIG_T::weight_t p[CONFIG_T::n_dirs * 3 * CONFIG_T::n_hidden],
          const typename CONFIG_T::f_t table_f[CONFIG_T::f_size],
          const typename CONFIG_T::g_t table_g[CONFIG_T::g_size],
          const typename CONFIG_T::h_t table_h[CONFIG_T::h_size]) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
    typedef typename CONFIG_T::cell_t cell_t;
    const unsigned H = CONFIG_T::n_hidden, N = CONFIG_T::n_in, G = 4 * CONFIG_T::n_hidden;
Direction:
    for (unsigned d = 0; d < CONFIG_T::n_dirs; d++) {
        const bool backwards = CONFIG_T::reverse || d == 1;
        res_T h[H];
        cell_t c[H];
        #pragma HLS ARRAY_PARTITION variable=h complete
        #pragma HLS ARRAY_PARTITION variable=c complete
        for (unsigned j = 0; j < H; j++) {
            h[j] = h0[d * H + j];
            c[j] = c0[d * H + j];
        }
    Step:
        for (unsigned s = 0; s < CONFIG_T::n_seq; s++) {
            const unsigned t = backwards ? CONFIG_T::n_seq - 1 - s : s;
            lstm_step<data_T, res_T, CONFIG_T>(x + t * N, h, c, w + d * N * G, r + d * H * G, b + d * 2 * G,
                                               p + d * 3 * H, table_f, table_g, table_h);
            for (unsigned j = 0; j < H; j++) y[(t * CONFIG_T::n_dirs + d) * H + j] = h[j];
        }
        for (unsigned j = 0; j < H; j++) {
            y_h[d * H + j] = h[j];
            y_c[d * H + j] = c[j];
        }
    }
}

#undef HLSFORGE_RNN_ACT

// LayerNormalization over the last axis (n_in values per row), docs/numerics.md §12:
//   total = cast_accum(sum x) (exact sum in sum_t, cast once); mean = cast_accum(total * inv_n);
//   dev[i] = cast_accum(x[i] - mean); var = cast_accum(cast_accum(sum dev^2) * inv_n)
//   (exact sum in sq_sum_t); inv = table[index(var)] (1/sqrt(v + epsilon));
//   y[i] = cast_result(dev[i] * inv * scale[i] + bias[i]).  inv_n = cast_accum(1/n_in).
struct layernorm_config {
    static const unsigned n_rows = 1;
    static const unsigned n_in = 1;
    static const unsigned table_size = 1;
    static const long long table_lo = 0;
    static const int table_shift = 0;
};

// One row of n_in values (the io_parallel kernel's rows and each io_stream row call this).
template <class data_T, class res_T, typename CONFIG_T>
inline void layernorm_row(const data_T *x, res_T *res, const typename CONFIG_T::scale_t scale[CONFIG_T::n_in],
                          const typename CONFIG_T::bias_t bias[CONFIG_T::n_in],
                          const typename CONFIG_T::table_t table[CONFIG_T::table_size],
                          const typename CONFIG_T::accum_t inv_n) {
    #pragma HLS INLINE
    typedef typename CONFIG_T::accum_t acc_t;
    typename CONFIG_T::sum_t s = 0;
Sum:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) s = s + x[i];
    const acc_t total = (acc_t)s;
    const acc_t mean = (acc_t)(total * inv_n);
    acc_t dev[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=dev complete
    typename CONFIG_T::sq_sum_t q = 0;
Deviation:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        dev[i] = (acc_t)(x[i] - mean);
        q = q + dev[i] * dev[i];
    }
    const acc_t q_acc = (acc_t)q;
    const acc_t var = (acc_t)(q_acc * inv_n);
    const typename CONFIG_T::table_t inv = table[table_index<CONFIG_T::table_lo, CONFIG_T::table_shift,
                                                             CONFIG_T::table_size>((long long)raw_bits(var))];
Result:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) res[i] = (res_T)(dev[i] * inv * scale[i] + bias[i]);
}

template <class data_T, class res_T, typename CONFIG_T>
void layernorm(const data_T data[CONFIG_T::n_rows * CONFIG_T::n_in], res_T res[CONFIG_T::n_rows * CONFIG_T::n_in],
               const typename CONFIG_T::scale_t scale[CONFIG_T::n_in],
               const typename CONFIG_T::bias_t bias[CONFIG_T::n_in],
               const typename CONFIG_T::table_t table[CONFIG_T::table_size],
               const typename CONFIG_T::accum_t inv_n) {
    #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
Rows:
    for (unsigned r = 0; r < CONFIG_T::n_rows; r++) {
        layernorm_row<data_T, res_T, CONFIG_T>(data + r * CONFIG_T::n_in, res + r * CONFIG_T::n_in, scale, bias, table, inv_n);
    }
}

} // namespace hlsforge

#endif // HLSFORGE_KERNELS_RECURRENT_H
