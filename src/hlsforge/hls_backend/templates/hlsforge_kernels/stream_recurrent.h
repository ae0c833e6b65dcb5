// hlsforge kernel library, io_stream: recurrent cells (GRU, LSTM, SimpleRNN) and
// LayerNormalization on streams.
//
// Beat layout (as every io_stream tensor: one beat per position, last axis packed):
//   x (n_seq, n_in)          n_seq beats of n_in values, one time step each (a producer with
//                            narrower beats: n_in / in_T::size beats per step);
//   Y (n_seq, n_dirs, H)     n_seq * n_dirs beats of H values, time-major (t, then direction);
//   Y_h, Y_c (n_dirs, H)     n_dirs beats of H values, after the last Y beat.
// Arithmetic: each step is the very function the io_parallel kernel calls
// (simple_rnn_step / gru_step / lstm_step / layernorm_row in recurrent.h), with the same
// weights, biases, tables and config, so the bits are those of io_parallel (docs/numerics.md §12).
//
// A forward, one-direction cell consumes one beat per step and emits its Y beat at once (the
// state lives in registers). direction="reverse" (Keras go_backwards) and bidirectional cells
// need the last step first: they buffer the whole input sequence in a local array, run each
// direction over it, keep Y in a second local array (only when Y is read) and then emit it.
//
// An output that no layer reads is passed as a hlsforge::stream_sink: writes to it vanish, so
// the firmware has no FIFO without a reader (the C-sim trace passes a real stream instead).
#ifndef HLSFORGE_KERNELS_STREAM_RECURRENT_H
#define HLSFORGE_KERNELS_STREAM_RECURRENT_H

#include "stream_common.h"
#include "recurrent.h"

namespace hlsforge {

// An output stream nobody reads: accepts beats and drops them.
template <class T>
struct stream_sink {
    void write(const T &) {}
};

template <class S>
struct is_stream_sink {
    static const bool value = false;
};
template <class T>
struct is_stream_sink<stream_sink<T> > {
    static const bool value = true;
};

// One time step's n_in inputs from n_in / in_T::size beats.
template <class in_T, unsigned N>
inline void recurrent_read_step(hls::stream<in_T> &in, typename in_T::value_type x[N]) {
    #pragma HLS INLINE
ReadStep:
    for (unsigned b = 0; b < N / in_T::size; b++) {
        const in_T v = in.read();
        for (unsigned j = 0; j < in_T::size; j++) x[b * in_T::size + j] = v[j];
    }
}

// One beat of H values (each cast into the beat's value type: the same type for Y and Y_h,
// the cell type for Y_c).
template <class out_T, class S, class state_T, unsigned H>
inline void recurrent_write_beat(S &out, const state_T *h) {
    #pragma HLS INLINE
    out_T y;
    for (unsigned j = 0; j < H; j++) y[j] = (typename out_T::value_type)h[j];
    out.write(y);
}

// The cells as policies over one driver: state, initial state, step and final emission.
template <typename CONFIG_T>
struct rnn_cell_simple {
    template <class data_T, class res_T, class cell_T>
    static void step(const data_T *x, res_T *h, cell_T *, unsigned d, const typename CONFIG_T::weight_t *w,
                     const typename CONFIG_T::rweight_t *r, const typename CONFIG_T::bias_t *b,
                     const typename CONFIG_T::weight_t *, const typename CONFIG_T::f_t *tf, const void *, const void *) {
        #pragma HLS INLINE
        const unsigned H = CONFIG_T::n_hidden, N = CONFIG_T::n_in;
        simple_rnn_step<data_T, res_T, CONFIG_T>(x, h, w + d * N * H, r + d * H * H, b + d * 2 * H, tf);
    }
};

template <typename CONFIG_T>
struct rnn_cell_gru {
    template <class data_T, class res_T, class cell_T>
    static void step(const data_T *x, res_T *h, cell_T *, unsigned d, const typename CONFIG_T::weight_t *w,
                     const typename CONFIG_T::rweight_t *r, const typename CONFIG_T::bias_t *b,
                     const typename CONFIG_T::weight_t *, const typename CONFIG_T::f_t *tf,
                     const typename CONFIG_T::g_t *tg, const void *) {
        #pragma HLS INLINE
        const unsigned H = CONFIG_T::n_hidden, N = CONFIG_T::n_in, G = 3 * CONFIG_T::n_hidden;
        gru_step<data_T, res_T, CONFIG_T>(x, h, w + d * N * G, r + d * H * G, b + d * 2 * G, tf, tg);
    }
};

template <typename CONFIG_T>
struct rnn_cell_lstm {
    template <class data_T, class res_T, class cell_T>
    static void step(const data_T *x, res_T *h, cell_T *c, unsigned d, const typename CONFIG_T::weight_t *w,
                     const typename CONFIG_T::rweight_t *r, const typename CONFIG_T::bias_t *b,
                     const typename CONFIG_T::weight_t *p, const typename CONFIG_T::f_t *tf,
                     const typename CONFIG_T::g_t *tg, const typename CONFIG_T::h_t *th) {
        #pragma HLS INLINE
        const unsigned H = CONFIG_T::n_hidden, N = CONFIG_T::n_in, G = 4 * CONFIG_T::n_hidden;
        lstm_step<data_T, res_T, CONFIG_T>(x, h, c, w + d * N * G, r + d * H * G, b + d * 2 * G, p + d * 3 * H, tf, tg, th);
    }
};

// The driver: h (and c) per direction in registers; Y, Y_h (and Y_c) beats as described above.
// cell_T is the LSTM cell type. GRU / SimpleRNN have no cell state, peepholes or third (second)
// table: they pass cell_T = res_T, h0 as c0, w as p and table_f for the missing tables (never
// read; no null pointers reach the synthesis tool).
template <class CELL, class in_T, class y_T, class h_T, class c_T, class cell_T, typename CONFIG_T, class y_S,
          class h_S, class c_S, class tf_T, class tg_T, class th_T>
void recurrent_stream(hls::stream<in_T> &in, y_S &y, h_S &y_h, c_S &y_c,
                      const typename CONFIG_T::weight_t *w, const typename CONFIG_T::rweight_t *r,
                      const typename CONFIG_T::bias_t *b, const typename y_T::value_type *h0, const cell_T *c0,
                      const typename CONFIG_T::weight_t *p, const tf_T *tf, const tg_T *tg, const th_T *th) {
    #pragma HLS INLINE
    typedef typename in_T::value_type data_T;
    typedef typename y_T::value_type res_T;
    const unsigned H = CONFIG_T::n_hidden, N = CONFIG_T::n_in, T = CONFIG_T::n_seq, D = CONFIG_T::n_dirs;
    res_T h[D][H];
    cell_T c[D][H];
    #pragma HLS ARRAY_PARTITION variable=h complete dim=0
    #pragma HLS ARRAY_PARTITION variable=c complete dim=0
Init:
    for (unsigned d = 0; d < D; d++) {
        for (unsigned j = 0; j < H; j++) {
            h[d][j] = h0[d * H + j];
            c[d][j] = c0[d * H + j];
        }
    }
    if (D == 1 && !CONFIG_T::reverse) {
    Step:
        for (unsigned t = 0; t < T; t++) {
            #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
            data_T x[N];
            #pragma HLS ARRAY_PARTITION variable=x complete
            recurrent_read_step<in_T, N>(in, x);
            CELL::template step<data_T, res_T, cell_T>(x, h[0], c[0], 0, w, r, b, p, tf, tg, th);
            recurrent_write_beat<y_T, y_S, res_T, H>(y, h[0]);
        }
    } else {
        // reverse or bidirectional: the whole sequence first (the last step runs first)
        data_T xs[T * N];
        res_T ys[is_stream_sink<y_S>::value ? 1 : T * D * H];
        #pragma HLS ARRAY_PARTITION variable=xs cyclic factor=N
        #pragma HLS ARRAY_PARTITION variable=ys cyclic factor=H
    Buffer:
        for (unsigned t = 0; t < T; t++) {
            #pragma HLS PIPELINE
            recurrent_read_step<in_T, N>(in, xs + t * N);
        }
    Direction:
        for (unsigned d = 0; d < D; d++) {
        BufferedStep:
            for (unsigned s = 0; s < T; s++) {
                #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
                const unsigned t = (CONFIG_T::reverse || d == 1) ? T - 1 - s : s;
                CELL::template step<data_T, res_T, cell_T>(xs + t * N, h[d], c[d], d, w, r, b, p, tf, tg, th);
                if (!is_stream_sink<y_S>::value) {
                    for (unsigned j = 0; j < H; j++) ys[(t * D + d) * H + j] = h[d][j];
                }
            }
        }
        if (!is_stream_sink<y_S>::value) {
        Emit:
            for (unsigned k = 0; k < T * D; k++) {
                #pragma HLS PIPELINE
                recurrent_write_beat<y_T, y_S, res_T, H>(y, ys + k * H);
            }
        }
    }
Final:
    for (unsigned d = 0; d < D; d++) {
        recurrent_write_beat<h_T, h_S, res_T, H>(y_h, h[d]);
        recurrent_write_beat<c_T, c_S, cell_T, H>(y_c, c[d]);
    }
}

template <class in_T, class y_T, class h_T, typename CONFIG_T, class y_S, class h_S>
void simple_rnn_stream(hls::stream<in_T> &in, y_S &y, h_S &y_h,
                       const typename CONFIG_T::weight_t w[CONFIG_T::n_dirs * CONFIG_T::n_in * CONFIG_T::n_hidden],
                       const typename CONFIG_T::rweight_t r[CONFIG_T::n_dirs * CONFIG_T::n_hidden * CONFIG_T::n_hidden],
                       const typename CONFIG_T::bias_t b[CONFIG_T::n_dirs * 2 * CONFIG_T::n_hidden],
                       const typename y_T::value_type h0[CONFIG_T::n_dirs * CONFIG_T::n_hidden],
                       const typename CONFIG_T::f_t table_f[CONFIG_T::f_size]) {
    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
    typedef typename y_T::value_type res_T;
    stream_sink<h_T> no_c;
    recurrent_stream<rnn_cell_simple<CONFIG_T>, in_T, y_T, h_T, h_T, res_T, CONFIG_T>(
        in, y, y_h, no_c, w, r, b, h0, h0, w, table_f, table_f, table_f);
}

template <class in_T, class y_T, class h_T, typename CONFIG_T, class y_S, class h_S>
void gru_stream(hls::stream<in_T> &in, y_S &y, h_S &y_h,
                const typename CONFIG_T::weight_t w[CONFIG_T::n_dirs * CONFIG_T::n_in * 3 * CONFIG_T::n_hidden],
                const typename CONFIG_T::rweight_t r[CONFIG_T::n_dirs * CONFIG_T::n_hidden * 3 * CONFIG_T::n_hidden],
                const typename CONFIG_T::bias_t b[CONFIG_T::n_dirs * 6 * CONFIG_T::n_hidden],
                const typename y_T::value_type h0[CONFIG_T::n_dirs * CONFIG_T::n_hidden],
                const typename CONFIG_T::f_t table_f[CONFIG_T::f_size],
                const typename CONFIG_T::g_t table_g[CONFIG_T::g_size]) {
    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
    typedef typename y_T::value_type res_T;
    stream_sink<h_T> no_c;
    recurrent_stream<rnn_cell_gru<CONFIG_T>, in_T, y_T, h_T, h_T, res_T, CONFIG_T>(
        in, y, y_h, no_c, w, r, b, h0, h0, w, table_f, table_g, table_f);
}

template <class in_T, class y_T, class h_T, class c_T, typename CONFIG_T, class y_S, class h_S, class c_S>
void lstm_stream(hls::stream<in_T> &in, y_S &y, h_S &y_h, c_S &y_c,
                 const typename CONFIG_T::weight_t w[CONFIG_T::n_dirs * CONFIG_T::n_in * 4 * CONFIG_T::n_hidden],
                 const typename CONFIG_T::rweight_t r[CONFIG_T::n_dirs * CONFIG_T::n_hidden * 4 * CONFIG_T::n_hidden],
                 const typename CONFIG_T::bias_t b[CONFIG_T::n_dirs * 8 * CONFIG_T::n_hidden],
                 const typename y_T::value_type h0[CONFIG_T::n_dirs * CONFIG_T::n_hidden],
                 const typename CONFIG_T::cell_t c0[CONFIG_T::n_dirs * CONFIG_T::n_hidden],
                 const typename CONFIG_T::weight_t p[CONFIG_T::n_dirs * 3 * CONFIG_T::n_hidden],
                 const typename CONFIG_T::f_t table_f[CONFIG_T::f_size],
                 const typename CONFIG_T::g_t table_g[CONFIG_T::g_size],
                 const typename CONFIG_T::h_t table_h[CONFIG_T::h_size]) {
    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
    recurrent_stream<rnn_cell_lstm<CONFIG_T>, in_T, y_T, h_T, c_T, typename CONFIG_T::cell_t, CONFIG_T>(
        in, y, y_h, y_c, w, r, b, h0, c0, p, table_f, table_g, table_h);
}

// LayerNormalization over the last axis: each row of n_in values (one beat, or n_in /
// in_T::size beats of a narrower producer) is normalised on its own by layernorm_row, the
// io_parallel kernel's row function; one beat of n_in values leaves per row.
template <class in_T, class out_T, typename CONFIG_T>
void layernorm_stream(hls::stream<in_T> &in, hls::stream<out_T> &out,
                      const typename CONFIG_T::scale_t scale[CONFIG_T::n_in],
                      const typename CONFIG_T::bias_t bias[CONFIG_T::n_in],
                      const typename CONFIG_T::table_t table[CONFIG_T::table_size],
                      const typename CONFIG_T::accum_t inv_n) {
    typedef typename in_T::value_type data_T;
Rows:
    for (unsigned r = 0; r < CONFIG_T::n_rows; r++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        data_T x[CONFIG_T::n_in];
        #pragma HLS ARRAY_PARTITION variable=x complete
        recurrent_read_step<in_T, CONFIG_T::n_in>(in, x);
        out_T y;
        layernorm_row<data_T, typename out_T::value_type, CONFIG_T>(x, y.data, scale, bias, table, inv_n);
        out.write(y);
    }
}

} // namespace hlsforge

#endif // HLSFORGE_KERNELS_STREAM_RECURRENT_H
