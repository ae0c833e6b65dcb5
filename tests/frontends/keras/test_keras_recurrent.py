"""Keras GRU / LSTM / SimpleRNN / Bidirectional through hlsforge's float reference vs Keras' predict."""

import numpy as np
import pytest

from hlsforge import reference

keras = pytest.importorskip("keras")
from hlsforge.frontends.keras import from_keras  # noqa: E402

L = keras.layers


def _model(layer, seq=6, n_in=4, head=True):
    inp = keras.Input((seq, n_in))
    y = layer(inp)
    if head:
        y = L.Dense(2)(y)
    m = keras.Model(inp, y)
    rng = np.random.default_rng(0)
    m.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in m.get_weights()])
    return m


CASES = {
    "gru_reset_after": lambda: L.GRU(5),
    "gru_reset_before_seq": lambda: L.GRU(5, reset_after=False, return_sequences=True),
    "gru_backwards_seq": lambda: L.GRU(5, go_backwards=True, return_sequences=True),
    "lstm": lambda: L.LSTM(5),
    "lstm_backwards": lambda: L.LSTM(5, go_backwards=True),
    "lstm_seq_hard_sigmoid": lambda: L.LSTM(3, return_sequences=True, recurrent_activation="hard_sigmoid"),
    "simple_rnn_relu": lambda: L.SimpleRNN(4, activation="relu"),
    "bidirectional_gru_seq": lambda: L.Bidirectional(L.GRU(3, return_sequences=True)),
    "bidirectional_lstm_sum": lambda: L.Bidirectional(L.LSTM(3), merge_mode="sum"),
    "bidirectional_rnn_ave_seq": lambda: L.Bidirectional(L.SimpleRNN(3, return_sequences=True), merge_mode="ave"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_recurrent_layers_match_keras(case):
    m = _model(CASES[case]())
    x = np.random.default_rng(1).normal(size=(3, 6, 4)).astype(np.float32)
    want = m.predict(x, verbose=0)
    got = reference.run(from_keras(m), x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("case", ["gru_reset_before_seq", "lstm_backwards", "bidirectional_gru_seq",
                                  "bidirectional_lstm_sum"])
def test_keras_recurrent_layers_from_saved_files(tmp_path, case, suffix):
    """A ``.keras`` archive stores a cell's weights unnamed under ``cell``; a Keras 3 ``.h5``
    stores Bidirectional's halves under ``forward_<name>``/``backward_<name>``: both are read."""
    import hlsforge

    m = _model(CASES[case]())
    x = np.random.default_rng(1).normal(size=(3, 6, 4)).astype(np.float32)
    path = tmp_path / f"m{suffix}"
    m.save(path)
    np.testing.assert_allclose(reference.run(hlsforge.load(path), x), m.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
