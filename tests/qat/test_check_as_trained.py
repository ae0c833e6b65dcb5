"""``hlsforge check`` on an hlsforge.qat model: rounding by the trained types is the model
itself, not a precision to fix, and the float network is fed the model's quantized inputs."""

from __future__ import annotations

import numpy as np

import hlsforge
from hlsforge import qat
from hlsforge.crosscheck import compare
from hlsforge.quantize import emulate


def test_check_of_a_qat_model_blames_nothing_the_model_trained() -> None:
    import keras

    keras.utils.set_random_seed(3)
    m = keras.Sequential([keras.Input((8,)), qat.FixedQuantizer(10, 4), qat.QDense(16, activation="relu"),
                          qat.QDense(4)])
    x = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    g = hlsforge.load(m)
    report = compare(g, x)
    first = report.layers[0]
    assert first.max_abs_diff == 0  # the accumulator is exact once both sides see the quantized input
    assert report.output_max_abs_diff > 0  # the trained output types do round
    assert report.verdict.startswith("agrees with the model as trained"), report.verdict
    assert "add fractional bits" not in str(report) and "add integer bits" not in str(report)
    # and what it calls the model is the Keras forward pass, exactly
    np.testing.assert_array_equal(emulate.run(g, x), np.asarray(keras.ops.convert_to_numpy(m(x)), np.float64))
