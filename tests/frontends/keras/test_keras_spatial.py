"""Keras Conv3D, MaxPooling3D/AveragePooling3D, Conv1D/2D/3DTranspose and UpSampling1D/2D/3D
(issue 12), from live models and from saved ``.keras`` and ``.h5`` files, against Keras' predict; the
CPU backend against the reference on a Conv3D + transposed-convolution model."""

import numpy as np
import pytest

from hlsforge import cpu_backend, reference

keras = pytest.importorskip("keras")
from hlsforge.frontends.keras import from_keras  # noqa: E402

L = keras.layers

CASES = {
    "conv3d_same_stride": ((6, 5, 4, 2), lambda: [L.Conv3D(3, (3, 2, 3), strides=(2, 1, 2), padding="same",
                                                           activation="relu"), L.MaxPooling3D(2, padding="same"),
                                                  L.AveragePooling3D((1, 2, 1)), L.GlobalAveragePooling3D()]),
    "conv3d_valid_dilated": ((7, 6, 5, 3), lambda: [L.Conv3D(4, 2, dilation_rate=(2, 1, 1)), L.MaxPooling3D((2, 2, 1)),
                                                    L.Flatten(), L.Dense(3)]),
    "conv1d_transpose": ((7, 3), lambda: [L.Conv1DTranspose(4, 3, strides=2), L.Conv1DTranspose(2, 4, strides=2,
                                                                                                padding="same")]),
    "conv1d_transpose_output_padding": ((6, 2), lambda: [L.Conv1DTranspose(3, 3, strides=2, padding="same",
                                                                           output_padding=1)]),
    "conv2d_transpose": ((5, 4, 3), lambda: [L.Conv2DTranspose(4, (3, 2), strides=(2, 3), padding="same",
                                                               activation="relu"),
                                             L.Conv2DTranspose(2, 2, strides=1, dilation_rate=2)]),
    "conv2d_transpose_valid_small_kernel": ((4, 3, 2), lambda: [L.Conv2DTranspose(3, 2, strides=3)]),
    "conv3d_transpose": ((3, 4, 2, 2), lambda: [L.Conv3DTranspose(2, 2, strides=(2, 1, 2), padding="same")]),
    "upsampling": ((5, 4, 3), lambda: [L.UpSampling2D((2, 3)), L.Conv2D(2, 3), L.Reshape((-1, 2)),
                                       L.UpSampling1D(2)]),
    "upsampling3d": ((2, 3, 2, 2), lambda: [L.UpSampling3D((2, 1, 3))]),
}


def _model(shape, layers):
    inp = keras.Input(shape)
    y = inp
    for layer in layers:
        y = layer(y)
    m = keras.Model(inp, y)
    rng = np.random.default_rng(0)
    m.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in m.get_weights()])
    return m


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_layer_matches_keras_live_and_from_file(case, tmp_path):
    shape, layers = CASES[case]
    m = _model(shape, layers())
    x = np.random.default_rng(1).normal(size=(3, *shape)).astype(np.float32)
    want = m.predict(x, verbose=0)
    np.testing.assert_allclose(reference.run(from_keras(m), x), want, rtol=1e-4, atol=1e-5, err_msg="live")
    import hlsforge

    for suffix in (".keras", ".h5"):
        path = tmp_path / f"{case}{suffix}"
        m.save(path)
        np.testing.assert_allclose(reference.run(hlsforge.load(str(path)), x), want, rtol=1e-4, atol=1e-5,
                                   err_msg=f"from {suffix}")


def test_cpu_backend_runs_keras_conv3d_and_transposed_convolutions():
    graphs = [from_keras(_model(*[CASES[c][0], CASES[c][1]()])) for c in
              ("conv3d_same_stride", "conv2d_transpose", "upsampling")]
    for g, lib in zip(graphs, cpu_backend.compile_models(graphs), strict=True):
        x = np.random.default_rng(2).normal(size=(5, *g.user_shape(g.inputs[0]))).astype(np.float32)
        np.testing.assert_allclose(lib.predict(x), reference.run(g, x), rtol=1e-5, atol=1e-5)
