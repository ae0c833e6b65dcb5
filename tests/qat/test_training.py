"""Gradients (straight-through, surrogate, EBOPs), ResourceLoss, calibrate, verify, callback."""

from __future__ import annotations

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from _grad import gradients  # noqa: E402
from qat_cases import IN, grid, layer_model, scramble_bits  # noqa: E402

import hlsforge  # noqa: E402
from hlsforge import qat  # noqa: E402
from hlsforge.quantize import emulate  # noqa: E402


def _quantizer(**kw):
    q = qat.FixedQuantizer(**kw)
    q.build((None, 1000))
    return q


@pytest.mark.parametrize("overflow", ["SAT", "WRAP"])
def test_straight_through_value_gradient(overflow):
    q = _quantizer(bits=6, integer=3, overflow=overflow)
    x = np.linspace(-8, 8, 1000).astype(np.float32)
    xv = keras.Variable(x)
    _, (g,) = gradients(lambda: keras.ops.sum(q(xv)), [xv])
    inside = (x >= -4) & (x < 4 - 2**-4)
    assert np.all(np.isfinite(g))
    np.testing.assert_array_equal(g[inside], 1.0)
    if overflow == "SAT":
        np.testing.assert_array_equal(g[(x < -4.1) | (x > 4.1)], 0.0)
    else:
        np.testing.assert_array_equal(g, 1.0)


def _error_energy(q, x, f):
    q.set_fractional(f)
    return float(keras.ops.sum(keras.ops.square(q(x) - x)))


def test_surrogate_fraction_gradient_points_the_right_way():
    """∂δ/∂f = −ln2·δ, so for L = Σδ²: ∂L/∂f = −2ln2·L; the finite difference of ln L over one
    bit (the error halves per bit) agrees in sign and size."""
    rng = np.random.default_rng(0)
    x = keras.ops.convert_to_tensor(rng.uniform(-3, 3, 20000).astype(np.float32))
    q = qat.FixedQuantizer(bits=8, integer=3, trainable=True)
    q.build((None, 20000))
    for f in (2.0, 4.0, 6.0):
        q.set_fractional(f)
        loss, (g,) = gradients(lambda: keras.ops.sum(keras.ops.square(q(x) - x)), [q.f])
        g = g / q.bits_scale  # d/df = d/dvariable / bits_scale
        assert np.isfinite(g) and g < 0
        np.testing.assert_allclose(g, -2 * math.log(2) * loss, rtol=1e-4)
        fd = math.log(_error_energy(q, x, f + 1)) - math.log(_error_energy(q, x, f))
        assert fd == pytest.approx(-2 * math.log(2), rel=0.1)


def test_ebops_definition_and_gradient():
    model, _ = layer_model("dense_relu_channel", seed=1)
    layer = model.layers[-1]
    kq = layer.kernel_quantizer
    bw = np.maximum(keras.ops.convert_to_numpy(kq.i) + keras.ops.convert_to_numpy(kq.fractional()), 0)
    wq = keras.ops.convert_to_numpy(layer.qkernel())
    expected = IN["bits"] * float(np.sum(np.broadcast_to(bw, wq.shape) * (wq != 0)))
    assert float(qat.ebops(model)) == pytest.approx(expected, rel=1e-6)
    e, (gf,) = gradients(lambda: qat.ebops(model), [kq.f])
    gf = gf / kq.bits_scale
    assert np.all(np.isfinite(gf)) and np.all(gf >= 0) and np.any(gf > 0)
    # one more fractional bit on channel 0 adds (input bits) per live weight of that channel
    f0 = np.asarray(keras.ops.convert_to_numpy(kq.fractional())).copy()
    f1 = f0.copy()
    f1[0] += 1
    kq.set_fractional(f1)
    e1 = float(qat.ebops(model))
    kq.set_fractional(f0)
    assert e1 - e == pytest.approx(gf[0], rel=0.25)


def test_resource_loss_lowers_ebops_and_keeps_exactness(tmp_path):
    rng = np.random.default_rng(0)
    x = grid((8,), 2048)
    y = (x[:, :3] @ rng.normal(size=(3, 2))).argmax(1)
    inp = keras.Input((8,))
    h = qat.FixedQuantizer(**IN)(inp)
    h = qat.QDense(16, activation="relu", output_quantizer=dict(bits=10, integer=5, signed=False))(h)
    out = qat.QDense(2, output_quantizer=dict(bits=10, integer=5))(h)
    model = keras.Model(inp, out)
    qat.calibrate(model, x)
    before = float(qat.ebops(model))
    qat.ResourceLoss(1e-3).attach(model)
    model.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    hw = qat.HardwareCallback(x[:1000], y_val=y[:1000], log_dir=tmp_path)
    model.fit(x, y, batch_size=256, epochs=3, verbose=0, callbacks=[hw])
    after = float(qat.ebops(model))
    assert after < 0.8 * before
    assert [r["mismatches"] for r in hw.history] == [0, 0, 0]
    assert all(np.isfinite(r["ebops"]) for r in hw.history)
    assert (tmp_path / "hardware.csv").read_text().count("\n") == 4
    assert (tmp_path / "hardware.png").stat().st_size > 1000
    assert qat.verify(model, grid((8,), 5000, seed=3)).ok


def test_resource_loss_metrics():
    with pytest.raises(hlsforge.HlsforgeError, match="metric"):
        qat.ResourceLoss(1.0, metric="power")
    import importlib.util

    if importlib.util.find_spec("hlsforge.resources") is None:
        with pytest.raises(hlsforge.HlsforgeError, match="estimator"):
            qat.ResourceLoss(1.0, metric="lut")


def test_calibrate_removes_overflow():
    inp = keras.Input((8,))
    h = qat.FixedQuantizer(**IN)(inp)
    out = qat.QDense(4, output_quantizer=dict(bits=8, integer=1))(h)  # far too few integer bits
    model = keras.Model(inp, out)
    scramble_bits(model, 0)
    x = grid((8,), 3000)
    g = hlsforge.load(model)
    assert sum(int(np.sum(v)) for v in emulate.run(g, x, trace=True).overflows.values()) > 0
    bits = qat.calibrate(model, x, margin=0)
    assert bits
    g = hlsforge.load(model)
    assert sum(int(np.sum(v)) for v in emulate.run(g, x, trace=True).overflows.values()) == 0
    assert qat.verify(model, x).ok


def test_verify_uses_float64_for_wide_accumulators():
    inp = keras.Input((64,))
    h = qat.FixedQuantizer(18, 8)(inp)
    out = qat.QDense(4, kernel_quantizer=dict(bits=14, integer=2, granularity="tensor", trainable=False),
                     output_quantizer=dict(bits=24, integer=14))(h)
    model = keras.Model(inp, out)
    scramble_bits(model, 2)
    x = grid((64,), 2000, bits=18, integer=8)
    report = qat.verify(model, x)
    assert report.wide_layers
    assert report.mismatches_float64 == 0 and report.ok


def test_resource_loss_with_the_estimator():
    pytest.importorskip("hlsforge.resources")
    model, _ = layer_model("dense_relu_channel", seed=1)
    layer = model.layers[-1]
    for metric in ("lut", "dsp"):
        loss = qat.ResourceLoss(1.0, metric=metric)
        v, (g,) = gradients(lambda loss=loss: loss(model), [layer.kernel_quantizer.f])
        assert np.isfinite(v) and v >= 0
        assert np.all(np.isfinite(g))
    # LUTs alone may fall when a wider product moves into a DSP; LUT + 55·DSP only grows
    v, (g,) = gradients(lambda: qat.ResourceLoss(1.0, metric="lut_dsp")(model), [layer.kernel_quantizer.f])
    assert v > 0 and np.all(np.isfinite(g)) and np.any(g > 0)
