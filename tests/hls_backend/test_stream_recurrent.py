"""io_stream recurrent cells (GRU, LSTM, SimpleRNN, Bidirectional) and LayerNormalization:
the C-sim equals the emulator exactly at every layer, equals io_parallel's output, the project's
own testbench passes and the FIFO depths are written (issues 12 and 14)."""

from __future__ import annotations

import numpy as np
import op_zoo
import pytest
from hls_cases import (
    BITS_ONLY_FLAGS,
    assert_project_passes_with_measured_fifo_depths,
    assert_same_as_emulator,
    model_name,
)

from hlsforge import hls_backend, projects
from hlsforge.hls_backend.stream import streams_of
from hlsforge.quantize import configure

keras = pytest.importorskip("keras")
from keras import layers as L  # noqa: E402

from hlsforge.frontends.keras import from_keras  # noqa: E402

SEQ, N_IN = 6, 3


def _keras(*stack, head: bool = True, seed: int = 0):
    inp = keras.Input((SEQ, N_IN))
    y = inp
    for layer in stack:
        y = layer(y)
    if head:
        y = L.Dense(2)(y)
    m = keras.Model(inp, y)
    rng = np.random.default_rng(seed)
    m.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 + (1.0 if w.ndim == 1 and "gamma" in v.path else 0.0)
                   for w, v in zip(m.get_weights(), m.weights, strict=True)])
    return from_keras(m)


def _onnx_gru():
    from test_csim_recurrent_models import _onnx_gru as build  # tf2onnx-shaped bidirectional GRU

    return build("bidirectional")


MODELS = {
    # a Conv1D + GRU tagger: GRU(return_sequences=False) keeps Y_h, discards Y
    "conv1d_gru": lambda: _keras(L.Conv1D(4, 3, activation="relu"), L.GRU(5)),
    "lstm_seq_layernorm_gap": lambda: _keras(L.LSTM(4, return_sequences=True), L.LayerNormalization(epsilon=1e-3),
                                             L.GlobalAveragePooling1D(), seed=1),
    "lstm_seq_layernorm_flatten": lambda: _keras(L.LSTM(3, return_sequences=True), L.LayerNormalization(),
                                                 L.Flatten(), seed=2),
    "simple_rnn_backwards_seq": lambda: _keras(L.SimpleRNN(3, go_backwards=True, return_sequences=True), seed=3),
    "simple_rnn_backwards": lambda: _keras(L.SimpleRNN(4, go_backwards=True), seed=4),
    "bidirectional_gru_seq": lambda: _keras(L.Bidirectional(L.GRU(3, return_sequences=True)), L.Flatten(), seed=5),
    "bidirectional_lstm_sum": lambda: _keras(L.Bidirectional(L.LSTM(3), merge_mode="sum"), seed=6),
    "onnx_gru_bidirectional": _onnx_gru,
}

CONFIGS = {
    "w16": {"model": {"default": "ap_fixed<16,6>", "table": "ap_fixed<18,8>", "io_type": "io_stream"}},
    "w10_rnd_sat_rf2": {"model": {"default": "ap_fixed<10,4,AP_RND,AP_SAT>", "accum": "ap_fixed<14,6,AP_RND_CONV,AP_SAT>",
                                  "table": "ap_fixed<10,2,AP_RND>", "io_type": "io_stream"},
                        "op_type": {op: {"ReuseFactor": 2} for op in ("GRU", "LSTM", "SimpleRNN", "LayerNormalization")}},
}


def _inputs(graph, n: int = 24, seed: int = 7):
    if len(graph.inputs) == 1:
        shape = graph.values[graph.inputs[0]].shape
        return (np.random.default_rng(seed).normal(size=(n, *shape)) * 1.5).astype(np.float32)
    return op_zoo.random_inputs(graph, n, seed=seed, scale=1.5)


@pytest.fixture(scope="module")
def graphs():
    return {name: build() for name, build in MODELS.items()}


@pytest.fixture(scope="module")
def built(graphs):
    """Every model under the w16 config, compiled together in one library."""
    items = {name: configure(g, CONFIGS["w16"]) for name, g in graphs.items()}
    models = hls_backend.compile_many(list(items.values()), names=[model_name(f"s16_{k}") for k in items],
                                      flags=BITS_ONLY_FLAGS)
    return {k: (g, m) for (k, g), m in zip(items.items(), models, strict=True)}


@pytest.mark.parametrize("name", list(MODELS))
def test_stream_csim_equals_emulator_at_every_layer(built, name):
    g, m = built[name]
    assert m.model.io_type == "io_stream"
    assert_same_as_emulator(m, g, _inputs(g), name)


def test_the_recurrent_layers_stream(built):
    """The cells are stream kernels; an output nobody reads has no FIFO (a stream_sink)."""
    _, m = built["conv1d_gru"]
    files = hls_backend.render(m.model)
    top = files[f"{m.model.name}.cpp"]
    assert "#pragma HLS DATAFLOW" in top and "hlsforge::gru_stream<" in top
    gru = next(layer for layer in m.model.layers if layer.op == "GRU")
    (y,) = gru.discards  # Y: no FIFO without a reader, a stream_sink
    assert gru.header == "hlsforge_kernels/stream_recurrent.h" and y.name == gru.output.name
    assert f"hlsforge::stream_sink<{y.beat_type}> {y.name};" in top
    assert y.name not in {s.name for s in streams_of(m.model)}
    _, ln = built["lstm_seq_layernorm_gap"]
    assert "hlsforge::layernorm_stream<" in hls_backend.render(ln.model)[f"{ln.model.name}.cpp"]


def test_stream_output_equals_io_parallel(graphs):
    """The same configured graph (ReuseFactor 2, rounding and saturation) in both io types."""
    names = ["conv1d_gru", "bidirectional_gru_seq", "lstm_seq_layernorm_gap"]
    stream_cfg = CONFIGS["w10_rnd_sat_rf2"]
    par_cfg = {**stream_cfg, "model": {**stream_cfg["model"], "io_type": "io_parallel"}}
    qs = [configure(graphs[k], stream_cfg) for k in names] + [configure(graphs[k], par_cfg) for k in names]
    labels = [model_name(f"rf2s_{k}") for k in names] + [model_name(f"rf2p_{k}") for k in names]
    ms = hls_backend.compile_many(qs, names=labels, flags=BITS_ONLY_FLAGS)
    for k, name in enumerate(names):
        s, p = ms[k], ms[k + len(names)]
        assert s.model.io_type == "io_stream" and p.model.io_type == "io_parallel"
        x = _inputs(qs[k], seed=11)
        np.testing.assert_array_equal(s.predict(x), p.predict(x), err_msg=name)
        assert_same_as_emulator(s, qs[k], x, name)


def test_recurrent_op_zoo_streams_exactly():
    """Every recurrent op-zoo case (every direction, initial states, peepholes, ReLU and other
    gates; Y, Y_h and Y_c all graph outputs: several stream ports) and LayerNorm."""
    cfg = {"model": {"default": "ap_fixed<12,4,AP_RND,AP_SAT>", "accum": "ap_fixed<16,6>", "io_type": "io_stream"}}
    graphs = {k: configure(build(), cfg) for k, build in op_zoo.FIXED_RECURRENT_CASES.items()}
    models = hls_backend.compile_many(list(graphs.values()), names=[f"sz_{k}" for k in graphs], flags=BITS_ONLY_FLAGS)
    for (k, g), m in zip(graphs.items(), models, strict=True):
        assert m.model.io_type == "io_stream"
        assert_same_as_emulator(m, g, op_zoo.random_inputs(g, 12, seed=3, scale=3.0), k)


def test_project_testbench_passes_and_fifo_depths_are_written(graphs, tmp_path):
    out = tmp_path / "prj"
    projects.write_project(graphs["conv1d_gru"], CONFIGS["w16"], out, n_test_events=8)
    assert_project_passes_with_measured_fifo_depths(out, "stream_sink")


@pytest.mark.slow
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_every_model_every_config(graphs, config):
    items = {name: configure(g, CONFIGS[config]) for name, g in graphs.items()}
    models = hls_backend.compile_many(list(items.values()), names=[model_name(f"slow_{config}_{k}") for k in items],
                                      flags=BITS_ONLY_FLAGS)
    for (k, g), m in zip(items.items(), models, strict=True):
        assert_same_as_emulator(m, g, _inputs(g, n=64, seed=13), f"{config}/{k}")


@pytest.mark.slow
def test_with_real_ap_types_and_hls_stream(graphs, tmp_path):
    """Xilinx ap_fixed.h and the hls_stream.h that the hls4ml wheel ships: C-sim and project."""
    names = ["conv1d_gru", "lstm_seq_layernorm_gap", "bidirectional_gru_seq"]
    qs = [configure(graphs[k], CONFIGS["w10_rnd_sat_rf2"]) for k in names]
    ms = hls_backend.compile_many(qs, names=[model_name(f"ap_{k}") for k in names], fixed_lib="ap_types",
                                  flags=BITS_ONLY_FLAGS)
    for k, g, m in zip(names, qs, ms, strict=True):
        assert_same_as_emulator(m, g, _inputs(g, seed=5), k)
    out = tmp_path / "ap_prj"
    projects.write_project(graphs["lstm_seq_layernorm_gap"], CONFIGS["w16"], out, n_test_events=8)
    assert projects.run_csim(out, fixed_lib="ap_types", flags=BITS_ONLY_FLAGS).passed
