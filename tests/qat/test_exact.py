"""Keras forward == emulate.run(hlsforge.load(model), x), exactly, for every quantizer mode
and every layer alone, on ≥ 10⁴ inputs of the input quantizer's grid."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from qat_cases import LAYER_KINDS, MODES, compare, grid, layer_model, on_input_grid, quantizer_model  # noqa: E402

import hlsforge  # noqa: E402
from hlsforge import qat  # noqa: E402
from hlsforge.ir.types import FixedType  # noqa: E402
from hlsforge.qat.quantizer import fixed_convert  # noqa: E402
from hlsforge.quantize.fixed import quantize, to_float  # noqa: E402

N = 10_000


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("mode", MODES, ids=[f"{r}-{o}" for r, o in MODES])
def test_quantizer_alone_equals_emulator(mode, signed):
    r, o = mode
    model = quantizer_model(r, o, signed=signed)
    x = grid((4,), N)
    assert compare(model, x) == 0
    g = hlsforge.load(model)
    (node,) = g.nodes
    assert node.attrs.target == FixedType(6, 3, signed, r, o)


@pytest.mark.parametrize("mode", MODES, ids=[f"{r}-{o}" for r, o in MODES])
def test_conversion_matches_numerics_for_odd_types(mode):
    """Widths 1..24, negative and large integer bits, against quantize.fixed (the §2 oracle)."""
    r, o = mode
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 40, 4000), rng.normal(0, 0.05, 4000),
                        [1.25, -1.25, 0.75, -0.75, 19, -19, 9, -9, 8, -8, 0.0]]).astype(np.float32)
    for width, integer, signed in [(1, 1, True), (1, 0, False), (3, 2, True), (4, 4, True), (5, -2, True),
                                   (7, 9, False), (16, 6, True), (24, 12, True)]:
        t = FixedType(width, integer, signed, r, o)
        ref = to_float(quantize(x, t), t)
        q, _ = fixed_convert(keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(np.float32(width - integer)),
                             keras.ops.convert_to_tensor(np.float32(width)), signed=signed, rounding=r, overflow=o)
        np.testing.assert_array_equal(np.asarray(keras.ops.convert_to_numpy(q), dtype=np.float64), ref, err_msg=str(t))


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_layer_alone_equals_emulator(kind):
    i = LAYER_KINDS.index(kind)
    model, shape = layer_model(kind, MODES[(5 * i) % len(MODES)], seed=i)
    assert compare(model, on_input_grid(kind, model, grid(shape, N, seed=i))) == 0


@pytest.mark.parametrize("mode", MODES, ids=[f"{r}-{o}" for r, o in MODES])
def test_dense_every_output_mode(mode):
    model, shape = layer_model("dense", mode, seed=3)
    assert compare(model, grid(shape, N, seed=3)) == 0


def test_export_carries_trained_types():
    model, shape = layer_model("dense_relu_channel", seed=5)
    g = hlsforge.load(model)
    dense, relu = g.nodes
    layer = model.layers[-1]
    kernel = g.values[dense.inputs[1]]
    w = np.asarray(keras.ops.convert_to_numpy(layer.qkernel()), dtype=np.float64)
    np.testing.assert_array_equal(kernel.data, w)  # exported weights are Keras's quantized weights
    t = g.values[relu.outputs[0]].type
    assert t == layer.output_quantizer.fixed_type()
    assert g.values[g.inputs[0]].type == FixedType(12, 5, True, "RND_CONV", "SAT")
    report = qat.verify(model, grid(shape, 2000, seed=5))
    assert report.ok and report.mismatches == 0
    assert report.wide_layers == ([dense.name] if dense.precision["accum"].width > 24 else [])


@pytest.mark.parametrize("kind", ["sigmoid", "tanh", "softmax"])
def test_tables_are_the_backend_tables(kind):
    model, shape = layer_model(kind, seed=2)
    layer = model.layers[-1]
    node = hlsforge.load(model).nodes[-1]
    if kind == "softmax":
        assert node.options["exp_table"] == layer._tables["exp_table"]
        assert node.options["inv_table"] == layer._tables["inv_table"]
        assert node.precision["sum"] == layer._tables["sum"]
    else:
        assert node.options["table"] == layer._tables["table"]


def test_pruned_weights_are_zero():
    model, shape = layer_model("dense", seed=0)
    layer = model.layers[-1]
    layer.kernel_quantizer.set_fractional(-20.0)
    assert not np.any(keras.ops.convert_to_numpy(layer.qkernel()))
    g = hlsforge.load(model)
    assert not np.any(g.values[g.nodes[0].inputs[1]].data)
    assert compare(model, grid(shape, 1000)) == 0


def test_saved_model_round_trip(tmp_path):
    model, shape = layer_model("conv2d", seed=4)
    path = tmp_path / "m.keras"
    model.save(path)
    from hlsforge.quantize import emulate

    x = grid(shape, 500, seed=4)
    np.testing.assert_array_equal(emulate.run(hlsforge.load(str(path)), x), emulate.run(hlsforge.load(model), x))


def test_errors_name_the_layer():
    inp = keras.Input((4,))
    m = keras.Model(inp, qat.QDense(3)(inp))
    with pytest.raises(hlsforge.PrecisionError, match="FixedQuantizer"):
        hlsforge.load(m)
    x = qat.FixedQuantizer(8, 3)(inp)
    m = keras.Model(inp, keras.layers.Dense(3, name="plain")(qat.QDense(3)(x)))
    with pytest.raises(hlsforge.UnsupportedOpError, match="plain"):
        hlsforge.load(m)
    with pytest.raises(hlsforge.PrecisionError, match="granularity"):
        qat.QActivation("sigmoid", input_quantizer=dict(bits=8, integer=3, granularity="channel"))
    with pytest.raises(hlsforge.PrecisionError, match="power-of-two"):
        qat.QAveragePooling2D((3, 3))
    with pytest.raises(hlsforge.PrecisionError, match="rounding"):
        qat.FixedQuantizer(8, 3, rounding="NEAREST")
