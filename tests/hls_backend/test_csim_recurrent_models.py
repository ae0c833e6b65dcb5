"""Recurrent and LayerNorm models (Keras GRU/LSTM/SimpleRNN, Bidirectional, LayerNormalization,
a tf2onnx-shaped ONNX GRU) through configure -> emulate -> C simulation: the C-sim equals the
emulator exactly at every layer, and the emulator with wide types approximates the float
model (docs/numerics.md §12)."""

from __future__ import annotations

import numpy as np
import pytest
from hls_cases import BITS_ONLY_FLAGS, assert_same_as_emulator, model_name

from hlsforge import reference
from hlsforge.hls_backend import compile_many
from hlsforge.quantize import configure, emulate

keras = pytest.importorskip("keras")
from keras import layers as L  # noqa: E402

from hlsforge.frontends.keras import from_keras  # noqa: E402

SEQ, N_IN = 5, 3


def _keras(layer, head: bool = True) -> keras.Model:
    inp = keras.Input((SEQ, N_IN))
    y = layer(inp)
    if head:
        y = L.Dense(2)(y)
    m = keras.Model(inp, y)
    rng = np.random.default_rng(0)
    m.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in m.get_weights()])
    return m


def _layernorm_model() -> keras.Model:
    inp = keras.Input((SEQ, N_IN))
    y = L.LayerNormalization(epsilon=1e-3)(L.Dense(8)(inp))
    m = keras.Model(inp, L.Dense(2)(y))
    rng = np.random.default_rng(1)
    m.set_weights([(rng.normal(size=w.shape) * 0.5 + (1.0 if i == 2 else 0.0)).astype(np.float32)
                   for i, w in enumerate(m.get_weights())])
    return m


def _onnx_gru(direction: str = "bidirectional"):
    """The shape tf2onnx gives a Keras GRU(return_sequences=True): Transpose(1,0,2) -> GRU
    (layout 0, linear_before_reset) -> Transpose(0,2,1,3) + Reshape -> Transpose(1,0,2)."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from hlsforge.frontends.onnx import load_onnx

    rng = np.random.default_rng(3)
    dirs, h = (2 if direction == "bidirectional" else 1), 3
    inits = [numpy_helper.from_array((rng.normal(size=s) * 0.5).astype(np.float32), n) for n, s in
             [("W", (dirs, 3 * h, N_IN)), ("R", (dirs, 3 * h, h)), ("B", (dirs, 6 * h))]]
    inits.append(numpy_helper.from_array(np.array([0, 0, -1], np.int64), "shape"))
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
             helper.make_node("GRU", ["xt", "W", "R", "B"], ["Y", "Y_h"], hidden_size=h, direction=direction,
                              linear_before_reset=1),
             helper.make_node("Transpose", ["Y"], ["yt"], perm=[0, 2, 1, 3]),
             helper.make_node("Reshape", ["yt", "shape"], ["yr"]),
             helper.make_node("Transpose", ["yr"], ["out"], perm=[1, 0, 2])]
    graph = helper.make_graph(nodes, "onnx_gru", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", SEQ, N_IN])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)], inits)
    return load_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))


MODELS = {
    "gru_reset_after": lambda: _keras(L.GRU(4)),
    "gru_reset_before_seq": lambda: _keras(L.GRU(4, reset_after=False, return_sequences=True)),
    "gru_backwards_seq": lambda: _keras(L.GRU(3, go_backwards=True, return_sequences=True)),
    "lstm": lambda: _keras(L.LSTM(4)),
    "lstm_backwards_seq": lambda: _keras(L.LSTM(3, go_backwards=True, return_sequences=True)),
    "lstm_hard_sigmoid": lambda: _keras(L.LSTM(3, recurrent_activation="hard_sigmoid")),
    "simple_rnn": lambda: _keras(L.SimpleRNN(4)),
    "simple_rnn_relu_seq": lambda: _keras(L.SimpleRNN(3, activation="relu", return_sequences=True)),
    "bidirectional_gru_seq": lambda: _keras(L.Bidirectional(L.GRU(3, return_sequences=True))),
    "bidirectional_lstm_sum": lambda: _keras(L.Bidirectional(L.LSTM(3), merge_mode="sum")),
    "bidirectional_rnn_ave": lambda: _keras(L.Bidirectional(L.SimpleRNN(3), merge_mode="ave")),
    "layernorm": _layernorm_model,
    "onnx_gru_bidirectional": _onnx_gru,
}

CONFIGS = {
    "w16": {"model": {"default": "ap_fixed<16,6>", "table": "ap_fixed<18,8>"}},
    "w10_rnd_sat_rf2": {"model": {"default": "ap_fixed<10,4,AP_RND,AP_SAT>", "accum": "ap_fixed<14,6,AP_RND_CONV,AP_SAT>",
                                  "table": "ap_fixed<10,2,AP_RND>"},
                        "op_type": {op: {"ReuseFactor": 2} for op in ("GRU", "LSTM", "SimpleRNN", "LayerNormalization")}},
}


def _graph(name: str):
    m = MODELS[name]()
    return (m, from_keras(m)) if isinstance(m, keras.Model) else (None, m)


@pytest.fixture(scope="module")
def built():
    items = []
    for cname, cfg in CONFIGS.items():
        for name in MODELS:
            _, g = _graph(name)
            items.append((f"{cname}__{name}", configure(g, cfg)))
    models = compile_many([g for _, g in items], names=[model_name(k) for k, _ in items], flags=BITS_ONLY_FLAGS)
    return {k: (g, m) for (k, g), m in zip(items, models, strict=True)}


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_csim_equals_emulator(built, name, config):
    g, m = built[f"{config}__{name}"]
    x = np.random.default_rng(7).normal(size=(40, SEQ, N_IN)).astype(np.float32) * 1.5
    assert_same_as_emulator(m, g, x, f"{config}/{name}")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_wide_types_approximate_the_float_model(name):
    """Sanity, not exactness: 32-bit values, fine tables, the float reference within 2e-2."""
    keras_model, g = _graph(name)
    wide = {"model": {"default": "ap_fixed<32,10>", "table": "ap_fixed<24,4>", "table_size": 4096},
            "op_type": {"LayerNormalization": {"table_range": [0, 8]}}}
    x = np.random.default_rng(2).normal(size=(32, SEQ, N_IN)).astype(np.float32)
    got = emulate.run(configure(g, wide), x)
    want = reference.run(g, x) if keras_model is None else keras_model.predict(x, verbose=0)
    np.testing.assert_allclose(got, want, atol=2e-2, rtol=0)


def test_io_stream_lowers_recurrent_cells_to_stream_kernels():
    """io_stream has its own kernels for the cells (tests/hls_backend/test_stream_recurrent.py)."""
    from hlsforge.hls_backend import lower

    _, g = _graph("gru_reset_after")
    q = configure(g, {"model": {"default": "ap_fixed<16,6>", "io_type": "io_stream"}})
    model = lower(q)
    assert model.io_type == "io_stream"
    assert any(c.kernel == "hlsforge::gru_stream" for layer in model.layers for c in layer.calls)


@pytest.mark.slow
def test_deep_double_b_like_three_input_model_is_exact_in_csim():
    """The CMS DeepDoubleB-like torch.onnx export (three inputs: BatchNorm, Conv1D + MatMul + GRU
    branches, Concat, Softmax) through configure -> emulate -> C-sim, exactly at every layer."""
    pytest.importorskip("torch")
    import sys
    from pathlib import Path

    from hlsforge.frontends.onnx import load_onnx
    from hlsforge.hls_backend import compile as compile_hls

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "frontends"))
    from test_onnx_recurrent import _deep_double_b_like

    g = load_onnx(_deep_double_b_like())
    q = configure(g, {"model": {"default": "ap_fixed<16,6>", "table": "ap_fixed<18,8>"}})
    rng = np.random.default_rng(4)
    xs = {"glob": rng.normal(size=(30, 7)), "cpf": rng.normal(size=(30, 10, 5)), "sv": rng.normal(size=(30, 4, 3))}
    xs = {k: v.astype(np.float32) for k, v in xs.items()}
    assert_same_as_emulator(compile_hls(q, flags=BITS_ONLY_FLAGS), q, xs, "deep_double_b_like")
    np.testing.assert_allclose(emulate.run(q, xs), reference.run(g, xs), atol=2e-2)
