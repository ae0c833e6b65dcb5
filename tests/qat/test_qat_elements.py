"""Per-channel / per-element activation quantizers in hlsforge.qat (issue 9): the export carries
``ElementTypes`` (docs/ir.md), Keras == emulator == C-sim exactly, calibration and EBOPs work
per channel / element, and a short training run with a resource cost stays exact."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from qat_cases import IN, MODES, compare, grid, layer_model, on_input_grid, scramble_elements  # noqa: E402

import hlsforge  # noqa: E402
from hlsforge import qat  # noqa: E402
from hlsforge.ir import Op  # noqa: E402
from hlsforge.quantize import emulate  # noqa: E402

PER_ELEMENT_KINDS = ("pc_quantizer", "pe_quantizer", "pe_input", "dense_pc_out", "conv2d_pc_out", "conv2d_pe_out",
                     "leaky_pc_out", "sigmoid_pe_out", "softmax_pc_out", "add_concat_pc")


def _per_element_nodes(g):
    return [n for n in g.nodes if n.op is Op.QUANTIZE and n.attrs.elements is not None]


@pytest.mark.parametrize("kind", PER_ELEMENT_KINDS)
def test_export_carries_element_types(kind):
    model, _ = layer_model(kind, seed=3)
    g = hlsforge.load(model)
    nodes = _per_element_nodes(g)
    assert nodes, f"{kind}: no per-element Quantize in the export"
    for n in nodes:
        et = n.attrs.elements
        assert len(set(zip(et.width, et.integer, et.signed, strict=True))) > 1
        assert g.values[n.outputs[0]].type == n.attrs.target == et.union()


QUICK_MODES = [MODES[4 * k + k % 4] for k in range(7)]  # each rounding mode once, each overflow mode; all 28 under slow
SLOW_MODES = [m for m in MODES if m not in QUICK_MODES]


@pytest.mark.parametrize("mode", [*QUICK_MODES, *(pytest.param(m, marks=pytest.mark.slow) for m in SLOW_MODES)],
                         ids=[f"{r}-{o}" for r, o in (*QUICK_MODES, *SLOW_MODES)])
def test_per_channel_quantizer_every_mode(mode):
    """A per-channel and a per-element quantizer in sequence, every rounding x overflow mode."""
    r, o = mode
    inp = keras.Input((2, 6))
    x = qat.FixedQuantizer(**IN)(inp)
    x = qat.FixedQuantizer(7, 2, rounding=r, overflow=o, granularity="channel")(x)
    y = qat.FixedQuantizer(5, 1, signed=False, rounding=r, overflow=o, granularity="element")(x)
    model = keras.Model(inp, y)
    scramble_elements(model, seed=len(r) + len(o))
    assert compare(model, grid((2, 6), 10_000, seed=5)) == 0
    assert len(_per_element_nodes(hlsforge.load(model))) == 2


def test_csim_equals_emulator_and_keras():
    from hlsforge import hls_backend

    cases = [layer_model(k, seed=9) for k in ("dense_pc_out", "conv2d_pe_out", "add_concat_pc")]
    graphs = [hlsforge.load(m) for m, _ in cases]
    models = hls_backend.compile_many(graphs, names=["pc_dense", "pe_conv", "pc_merge"], flags=("-O0", "-std=c++17"))
    for (model, shape), g, cm in zip(cases, graphs, models, strict=True):
        x = grid(shape, 1000, seed=2)
        want = emulate.run(g, x)
        np.testing.assert_array_equal(cm.predict(x), want)
        np.testing.assert_array_equal(np.asarray(keras.ops.convert_to_numpy(model(x)), dtype=np.float64), want)


def test_calibrate_sets_integer_bits_per_channel():
    inp = keras.Input((4,))
    x = qat.FixedQuantizer(**IN)(inp)
    q = qat.FixedQuantizer(8, 1, granularity="channel", name="pc")
    model = keras.Model(inp, q(x))
    scale = np.array([0.3, 2.0, 6.0, 15.0], np.float32)
    xs = grid((4,), 3000) * scale / 16
    qat.calibrate(model, xs, margin=0)
    i = np.asarray(keras.ops.convert_to_numpy(q.i))
    from hlsforge.qat.tools import _needed_integer

    want = [_needed_integer(float(xs[:, c].min()), float(xs[:, c].max()), True) for c in range(4)]
    assert i.tolist() == want and len(set(want)) == 4  # one integer width per channel, from its own range
    g = hlsforge.load(model)
    assert sum(emulate.run(g, xs, trace=True).overflows.values()) == 0
    assert compare(model, xs) == 0


def test_ebops_use_per_channel_input_bits():
    inp = keras.Input((6,))
    x = qat.FixedQuantizer(**IN)(inp)
    pq = qat.FixedQuantizer(8, 3, granularity="channel", trainable=True, name="pc")
    layer = qat.QDense(3)
    model = keras.Model(inp, layer(pq(x)))
    pq.set_fractional(np.arange(6, dtype=np.float64))
    b_in = 3 + np.arange(6)  # integer 3 + fractional bits 0..5 per channel
    kq = layer.kernel_quantizer
    bw = np.maximum(keras.ops.convert_to_numpy(kq.i) + keras.ops.convert_to_numpy(kq.fractional()), 0)
    wq = keras.ops.convert_to_numpy(layer.qkernel())
    expected = float(np.sum(b_in[:, None] * np.broadcast_to(bw, wq.shape) * (wq != 0)))
    assert float(qat.ebops(model)) == pytest.approx(expected, rel=1e-6)


def test_training_with_channel_activations_exports_exactly():
    """1 epoch with beta > 0 and per-channel trainable activation bits: still exact, bits moved."""
    rng = np.random.default_rng(0)
    x = grid((8,), 2048)
    y = (x[:, :3] @ rng.normal(size=(3, 2))).argmax(1)
    inp = keras.Input((8,))
    h = qat.FixedQuantizer(**IN)(inp)
    h = qat.QDense(12, activation="relu",
                   output_quantizer=dict(bits=10, integer=5, signed=False, granularity="channel", trainable=True))(h)
    out = qat.QDense(2, output_quantizer=dict(bits=10, integer=5, granularity="channel", trainable=True))(h)
    model = keras.Model(inp, out)
    qat.calibrate(model, x)
    oq = model.layers[2].output_quantizer
    f0 = np.asarray(keras.ops.convert_to_numpy(oq.f)).copy()
    qat.ResourceLoss(1e-3).attach(model)
    model.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=256, epochs=2, verbose=0)
    assert not np.array_equal(np.asarray(keras.ops.convert_to_numpy(oq.f)), f0)
    assert compare(model, grid((8,), 10_000, seed=1)) == 0
    assert _per_element_nodes(hlsforge.load(model))


def test_keras_file_round_trip(tmp_path):
    model, shape = layer_model("conv2d_pc_out", seed=4)
    path = tmp_path / "m.keras"
    model.save(path)
    x = on_input_grid("conv2d_pc_out", model, grid(shape, 300, seed=4))
    np.testing.assert_array_equal(emulate.run(hlsforge.load(str(path)), x), emulate.run(hlsforge.load(model), x))
