"""Batch normalization folded into QDense/QConv during training (hlsforge.qat.batchnorm):
the export is an ordinary quantized Dense/Conv and equals the Keras inference forward exactly.
The 10⁴-input exactness of each layer runs in test_exact.py (``*_bn`` kinds of qat_cases.py)
and, on the other backend, in test_backends.py."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from _grad import gradients  # noqa: E402
from qat_cases import IN, compare, grid, layer_model, scramble_bits  # noqa: E402

import hlsforge  # noqa: E402
from hlsforge import qat  # noqa: E402
from hlsforge.frontends.keras.qat import _bn_folded  # noqa: E402
from hlsforge.ir.ops import Op  # noqa: E402
from hlsforge.qat.batchnorm import fold_numpy  # noqa: E402
from hlsforge.quantize import emulate  # noqa: E402


def _np(t):
    return np.asarray(keras.ops.convert_to_numpy(t))


def _wide_dense(seed: int = 0):
    """Many channels with spread statistics: a bitwise check of the fold on 3·10⁴ kernel values."""
    inp = keras.Input((60,))
    x = qat.FixedQuantizer(**IN, name="iq")(inp)
    y = qat.QDenseBatchNorm(500, kernel_quantizer=dict(bits=10, integer=2), output_quantizer=dict(bits=16, integer=8))(x)
    model = keras.Model(inp, y)
    scramble_bits(model, seed)
    layer = model.layers[-1]
    rng = np.random.default_rng(seed)
    layer.moving_variance.assign(np.exp(rng.uniform(-6, 3, 500)).astype(np.float32))
    return model, layer


def test_fold_is_the_same_float32_numbers_as_numpy():
    model, layer = _wide_dense()
    k, b = (_np(t) for t in layer.folded())
    w = {n: _np(getattr(layer, n)) for n in ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance")}
    kn, bn = fold_numpy(w["kernel"], w["bias"], w["gamma"], w["beta"], w["moving_mean"], w["moving_variance"],
                        layer.epsilon)
    assert k.dtype == np.float32 and b.dtype == np.float32
    np.testing.assert_array_equal(k, kn)
    np.testing.assert_array_equal(b, bn)
    g = hlsforge.load(model)
    (node,) = g.nodes
    assert node.op is Op.DENSE  # no BatchNormalization op left to fold in float
    np.testing.assert_array_equal(g.values[node.inputs[1]].data, _np(layer.qkernel()).astype(np.float64))
    np.testing.assert_array_equal(g.values[node.inputs[2]].data, _np(layer.qbias()).astype(np.float64))
    assert qat.verify(model, grid((60,), 500, seed=1)).ok  # wide accumulators: the float64 rule decides


def test_exporter_fold_matches_numpy_twin():
    from hlsforge.frontends.keras.builder import LayerCall

    _, layer = _wide_dense(seed=2)

    class _W:
        def arrays(self):
            return {v.name: _np(v) for v in layer.weights}

    call = LayerCall("QDenseBatchNorm", layer.name, layer.get_config(), [], _W())
    k, b = _bn_folded(call)
    kl, bl = (_np(t) for t in layer.folded())
    np.testing.assert_array_equal(k, kl)
    np.testing.assert_array_equal(b, bl)


def test_training_updates_statistics_and_stays_exact():
    model, shape = layer_model("conv2d_bn", seed=7)
    layer = model.layers[-1]
    rng = np.random.default_rng(0)
    x = grid(shape, 128, seed=7)
    y = rng.normal(0, 1, (128, 6, 6, 4)).astype(np.float32)
    before = {n: _np(getattr(layer, n)).copy() for n in ("moving_mean", "moving_variance", "gamma", "beta")}
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse", jit_compile=False)
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    for n, v in before.items():
        assert not np.array_equal(_np(getattr(layer, n)), v), n
    assert compare(model, grid(shape, 2000, seed=8)) == 0


def test_training_forward_uses_batch_statistics():
    model, shape = layer_model("dense_bn", seed=3)
    layer = model.layers[-1]
    x = grid(shape, 512, seed=3)
    mm = _np(layer.moving_mean).copy()
    y_train = _np(model(x, training=True))
    assert not np.array_equal(_np(layer.moving_mean), mm)  # the call updated the moving mean
    assert not np.array_equal(y_train, _np(model(x, training=False)))


def test_gradients_are_finite():
    model, shape = layer_model("dense_bn", seed=4)
    layer = model.layers[-1]
    x = keras.ops.convert_to_tensor(grid(shape, 256, seed=4))
    variables = [layer.kernel, layer.bias, layer.gamma, layer.beta, layer.kernel_quantizer.f]
    for training in (True, False):
        _, gs = gradients(lambda t=training: keras.ops.sum(keras.ops.square(model(x, training=t))), variables)
        for v, g in zip(variables, gs, strict=True):
            assert np.all(np.isfinite(g)), v.name
        assert np.any(gs[2]) and np.any(gs[3])  # gamma and beta are trained through the fold


def test_save_load_round_trip(tmp_path):
    model, shape = layer_model("conv1d_bn", seed=5)
    path = tmp_path / "bn.keras"
    model.save(path)
    back = keras.saving.load_model(path)
    assert isinstance(back.layers[-1], qat.QConv1DBatchNorm)
    x = grid(shape, 1000, seed=5)
    np.testing.assert_array_equal(_np(back(x)), _np(model(x)))
    np.testing.assert_array_equal(emulate.run(hlsforge.load(str(path)), x), emulate.run(hlsforge.load(model), x))
    assert back.layers[-1].get_config()["epsilon"] == model.layers[-1].epsilon


def test_calibrate_and_verify_see_the_folded_weights():
    model, shape = layer_model("dense_bn", seed=6)
    x = grid(shape, 500, seed=6)
    qat.calibrate(model, x)
    assert qat.verify(model, x).ok
    assert compare(model, x) == 0


def test_bad_arguments_name_the_layer():
    with pytest.raises(hlsforge.PrecisionError, match="bnx.*momentum"):
        qat.QDenseBatchNorm(3, momentum=1.5, name="bnx")
    with pytest.raises(hlsforge.PrecisionError, match="bny.*epsilon"):
        qat.QConv2DBatchNorm(3, 3, epsilon=0.0, name="bny")
