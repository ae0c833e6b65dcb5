"""Keras Normalization, Rescaling, Cropping1D/2D and RepeatVector: live models and saved files
against Keras' own predict; refused forms say why."""

from __future__ import annotations

import numpy as np
import pytest

import hlsforge
from hlsforge import reference
from hlsforge.errors import UnsupportedOpError

keras = pytest.importorskip("keras")
L = keras.layers

RNG = np.random.default_rng(7)


def _adapted_normalization() -> object:
    layer = L.Normalization()
    layer.adapt(RNG.normal(3.0, 2.0, size=(200, 5)).astype(np.float32))
    return layer


CASES = {
    "normalization_adapted": lambda: keras.Sequential([keras.Input((5,)), _adapted_normalization(), L.Dense(3)]),
    "normalization_given": lambda: keras.Sequential([keras.Input((4,)),
                                                      L.Normalization(mean=[1, 2, 3, 4], variance=[1, 4, 0.25, 9]),
                                                      L.Dense(2)]),
    "normalization_invert": lambda: keras.Sequential([keras.Input((3,)),
                                                       L.Normalization(mean=[1, -2, 0.5], variance=[2, 3, 0.5],
                                                                       invert=True)]),
    "normalization_scalar": lambda: keras.Sequential([keras.Input((6, 3)), L.Normalization(axis=None, mean=2.0,
                                                                                             variance=4.0)]),
    "rescaling_image": lambda: keras.Sequential([keras.Input((6, 6, 2)), L.Rescaling(1 / 255.0, offset=-0.5),
                                                  L.Conv2D(3, 3), L.Flatten()]),
    "cropping1d": lambda: keras.Sequential([keras.Input((10, 3)), L.Cropping1D((2, 3)), L.Conv1D(2, 3)]),
    "cropping2d": lambda: keras.Sequential([keras.Input((9, 8, 2)), L.Cropping2D(((1, 2), (3, 0))), L.Flatten(),
                                            L.Dense(2)]),
    "repeat_vector": lambda: keras.Sequential([keras.Input((4,)), L.Dense(3), L.RepeatVector(5), L.GRU(2)]),
}


FROM_FILES = ("normalization_adapted", "normalization_given", "rescaling_image", "cropping2d", "repeat_vector")
"""Cases also saved and re-read (weights stored unnamed in .keras, named in .h5; config values)."""


def _x(m: object) -> np.ndarray:
    return (RNG.normal(size=(16, *m.input_shape[1:])) * 40 + 100).astype(np.float32)


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_matches_keras_live_and_from_files(case: str, tmp_path) -> None:
    keras.utils.set_random_seed(1)
    m = CASES[case]()
    x = _x(m)
    want = m.predict(x, verbose=0)
    np.testing.assert_allclose(reference.run(hlsforge.load(m), x), want, rtol=1e-4, atol=1e-4)
    if case not in FROM_FILES:
        return
    for suffix in (".keras", ".h5"):
        m.save(tmp_path / f"m{suffix}")
        got = reference.run(hlsforge.load(tmp_path / f"m{suffix}"), x)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=suffix)


def test_rescaled_cropped_cnn_runs_exactly_in_the_hls_csim() -> None:
    from hlsforge import hls_backend
    from hlsforge.quantize import configure, emulate

    keras.utils.set_random_seed(2)
    m = keras.Sequential([keras.Input((8, 8, 1)), L.Rescaling(0.25), L.Cropping2D(1), L.Conv2D(2, 3), L.Flatten(),
                          L.Dense(2)])
    x = RNG.normal(size=(20, 8, 8, 1)).astype(np.float32)
    q = configure(hlsforge.load(m), "ap_fixed<16,6>")
    np.testing.assert_array_equal(hls_backend.compile(q).predict(x), emulate.run(q, x))


def test_unsupported_forms_are_refused_naming_the_layer() -> None:
    m = keras.Sequential([keras.Input((3, 4)), L.Normalization(axis=1, mean=[1, 2, 3], variance=[1, 1, 1])])
    with pytest.raises(UnsupportedOpError, match="normalization.*axes"):
        hlsforge.load(m)


@pytest.mark.parametrize("suffix", ["live", ".keras", ".h5"])
def test_time_distributed_dense_matches_keras(tmp_path, suffix: str) -> None:
    keras.utils.set_random_seed(4)
    m = keras.Sequential([keras.Input((6, 4)), L.TimeDistributed(L.Dense(5, activation="relu")),
                          L.TimeDistributed(L.BatchNormalization()), L.TimeDistributed(L.Dropout(0.2)),
                          L.GlobalAveragePooling1D(), L.Dense(2)])
    m.layers[1].set_weights([RNG.uniform(0.5, 2, 5).astype(np.float32), RNG.normal(size=5).astype(np.float32),
                             RNG.normal(size=5).astype(np.float32), RNG.uniform(0.5, 2, 5).astype(np.float32)])
    x = RNG.normal(size=(8, 6, 4)).astype(np.float32)
    source = m
    if suffix != "live":
        source = tmp_path / f"m{suffix}"
        m.save(source)
    np.testing.assert_allclose(reference.run(hlsforge.load(source), x), m.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


def test_time_distributed_conv_is_refused() -> None:
    m = keras.Sequential([keras.Input((3, 8, 2)), L.TimeDistributed(L.Conv1D(2, 3))])
    with pytest.raises(UnsupportedOpError, match=r"TimeDistributed\(Conv1D\)"):
        hlsforge.load(m)
