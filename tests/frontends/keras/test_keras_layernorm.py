"""Keras MultiHeadAttention, LayerNormalization and the GELU / Swish / HardSwish activations (issue 12) against
Keras predict, through the float reference and the CPU backend, also from a .keras file."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers as L  # noqa: E402

from hlsforge import cpu_backend, reference  # noqa: E402
from hlsforge.errors import UnsupportedOpError  # noqa: E402
from hlsforge.frontends.keras import from_keras, load_keras  # noqa: E402
from hlsforge.ir import Op  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5


def _model() -> keras.Model:
    """An encoder block: self-attention + residual, then LayerNorm, Dense + GELU, Dense + swish,
    hard_silu, residual LayerNorm."""
    inp = keras.Input((6, 16))
    x = L.Add()([inp, L.MultiHeadAttention(2, 8, name="mha")(inp, inp)])
    z = L.LayerNormalization(epsilon=1e-5)(x)
    z = L.Dense(24, activation="gelu")(z)
    z = L.Dense(16, activation="swish")(z)
    z = L.Activation("hard_silu")(z)
    y = L.LayerNormalization(center=False)(L.Add()([x, z]))
    m = keras.Model(inp, y)
    rng = np.random.default_rng(0)
    m.set_weights([(rng.normal(size=w.shape) * 0.5 + (1.0 if w.ndim == 1 and i % 2 == 0 else 0)).astype(np.float32)
                   for i, w in enumerate(m.get_weights())])
    return m


@pytest.fixture(scope="module")
def keras_block(tmp_path_factory):
    m = _model()
    path = tmp_path_factory.mktemp("ln") / "block.keras"
    m.save(path)
    return m, path


def test_layernorm_block_matches_keras(keras_block):
    m, path = keras_block
    x = np.random.default_rng(1).normal(size=(16, 6, 16)).astype(np.float32)
    want = np.asarray(m.predict(x, verbose=0))
    g = from_keras(m)
    ops = [n.op for n in g.nodes]
    assert ops.count(Op.BATCH_MATMUL) == 2 and Op.SOFTMAX in ops
    assert ops.count(Op.LAYERNORM) == 2 and Op.GELU in ops and Op.SWISH in ops and Op.HARD_SWISH in ops
    np.testing.assert_allclose(reference.run(g, x), want, rtol=RTOL, atol=ATOL)
    from_file = load_keras(path)
    np.testing.assert_allclose(reference.run(from_file, x), want, rtol=RTOL, atol=ATOL)


@pytest.mark.slow
def test_layernorm_block_on_the_cpu_backend_matches_keras(keras_block):
    m, _ = keras_block
    x = np.random.default_rng(2).normal(size=(16, 6, 16)).astype(np.float32)
    want = np.asarray(m.predict(x, verbose=0))
    np.testing.assert_allclose(cpu_backend.compile(from_keras(m)).predict(x), want, rtol=RTOL, atol=ATOL)


def test_layernorm_over_other_axes_is_refused():
    m = keras.Sequential([keras.Input((6, 16)), L.LayerNormalization(axis=1, name="ln_ax1")])
    with pytest.raises(UnsupportedOpError, match="ln_ax1.*last axis"):
        from_keras(m)


def test_attention_over_other_axes_is_refused():
    x = keras.Input((4, 6, 8))
    m = keras.Model(x, L.MultiHeadAttention(2, 4, attention_axes=(1, 2), name="mha2d")(x, x))
    with pytest.raises(UnsupportedOpError, match="mha2d"):
        from_keras(m)
