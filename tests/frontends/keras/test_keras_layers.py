"""Every supported Keras layer, alone and in small models, against Keras itself.

Each case builds a tiny Keras 3 model with random weights, converts it and checks that the
float reference of the IR gives what Keras computes (rtol = atol = 1e-5).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers as L  # noqa: E402

import hlsforge  # noqa: E402
from hlsforge import reference  # noqa: E402
from hlsforge.errors import ShapeError, UnsupportedOpError  # noqa: E402
from hlsforge.frontends.keras import from_keras  # noqa: E402
from hlsforge.ir import Op  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


def randomize(model: keras.Model, seed: int = 0) -> keras.Model:
    """Random weights; batch-norm variances positive and away from zero."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            randomize(layer, seed + 1)
            continue
        new = []
        for var, val in zip(layer.weights, layer.get_weights(), strict=True):
            if "variance" in var.name or var.name == "gamma":
                new.append(rng.uniform(0.5, 1.5, val.shape).astype(np.float32))
            else:
                new.append((rng.normal(size=val.shape) * 0.5).astype(np.float32))
        layer.set_weights(new)
    return model


def keras_out(model: keras.Model, x: np.ndarray | list[np.ndarray]) -> np.ndarray:
    y = model(x if not isinstance(x, list) else [np.asarray(a) for a in x], training=False)
    return keras.ops.convert_to_numpy(y)


def check(model: keras.Model, x: np.ndarray | list[np.ndarray]) -> hlsforge.Graph:
    randomize(model)
    g = from_keras(model)
    want = keras_out(model, x)
    got = reference.run(g, x if not isinstance(x, list) else dict(zip(g.inputs, x, strict=True)))
    np.testing.assert_allclose(got, want, **TOL)
    return g


def single(layer_fn: Callable[[], keras.layers.Layer], shape: tuple[int, ...]) -> keras.Model:
    return keras.Sequential([keras.Input(shape), layer_fn()])


def data(shape: tuple[int, ...], n: int = 4, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


# ----------------------------------------------------------------------------- single layers

SINGLE: list[tuple[str, Callable[[], keras.layers.Layer], tuple[int, ...]]] = [
    ("dense", lambda: L.Dense(5, activation="relu"), (7,)),
    ("dense_rank3", lambda: L.Dense(4), (3, 7)),
    ("dense_no_bias", lambda: L.Dense(3, use_bias=False, activation="tanh"), (6,)),
    ("conv1d_valid", lambda: L.Conv1D(4, 3), (10, 3)),
    ("conv1d_same_even_stride", lambda: L.Conv1D(3, 4, strides=2, padding="same"), (11, 2)),
    ("conv1d_causal_dilated", lambda: L.Conv1D(3, 3, padding="causal", dilation_rate=2), (9, 2)),
    ("conv1d_channels_first", lambda: L.Conv1D(3, 3, data_format="channels_first", activation="relu"), (2, 9)),
    ("conv2d_valid", lambda: L.Conv2D(4, 3, activation="sigmoid"), (7, 6, 3)),
    ("conv2d_same_even", lambda: L.Conv2D(3, (2, 4), padding="same"), (7, 6, 2)),
    ("conv2d_same_stride2", lambda: L.Conv2D(3, 3, strides=2, padding="same"), (8, 7, 2)),
    ("conv2d_dilated", lambda: L.Conv2D(2, 3, dilation_rate=2), (9, 9, 2)),
    ("conv2d_groups", lambda: L.Conv2D(4, 3, groups=2), (6, 6, 4)),
    ("conv2d_channels_first", lambda: L.Conv2D(3, 3, padding="same", data_format="channels_first"), (2, 6, 5)),
    ("depthwise1d", lambda: L.DepthwiseConv1D(3, depth_multiplier=2), (8, 3)),
    ("depthwise2d", lambda: L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", strides=2), (7, 7, 3)),
    ("depthwise2d_channels_first", lambda: L.DepthwiseConv2D(3, data_format="channels_first"), (3, 6, 6)),
    ("separable1d", lambda: L.SeparableConv1D(4, 3, padding="same", activation="relu"), (8, 3)),
    ("separable2d", lambda: L.SeparableConv2D(4, 3, depth_multiplier=2), (6, 6, 3)),
    ("batchnorm", lambda: L.BatchNormalization(), (5,)),
    ("batchnorm_conv", lambda: L.BatchNormalization(epsilon=0.01), (4, 4, 3)),
    ("batchnorm_axis1", lambda: L.BatchNormalization(axis=1), (3, 5)),
    ("batchnorm_no_center_scale", lambda: L.BatchNormalization(center=False, scale=False), (6,)),
    ("relu", lambda: L.ReLU(), (9,)),
    ("relu_max", lambda: L.ReLU(max_value=0.5), (9,)),
    ("relu_slope", lambda: L.ReLU(negative_slope=0.1), (9,)),
    ("relu_slope_max", lambda: L.ReLU(max_value=0.6, negative_slope=0.2), (9,)),
    ("leaky_relu", lambda: L.LeakyReLU(negative_slope=0.1), (9,)),
    ("leaky_relu_default", lambda: L.LeakyReLU(), (9,)),
    ("elu", lambda: L.ELU(alpha=0.7), (9,)),
    ("softmax", lambda: L.Softmax(), (3, 5)),
    ("maxpool1d", lambda: L.MaxPooling1D(2), (9, 3)),
    ("maxpool1d_same", lambda: L.MaxPooling1D(3, strides=2, padding="same"), (8, 2)),
    ("maxpool2d", lambda: L.MaxPooling2D((2, 3)), (6, 7, 2)),
    ("maxpool2d_same", lambda: L.MaxPooling2D(3, strides=2, padding="same"), (7, 6, 2)),
    ("maxpool2d_channels_first", lambda: L.MaxPooling2D(2, data_format="channels_first"), (2, 6, 6)),
    ("avgpool1d", lambda: L.AveragePooling1D(3, strides=1), (7, 2)),
    ("avgpool1d_same", lambda: L.AveragePooling1D(2, padding="same"), (7, 2)),
    ("avgpool2d", lambda: L.AveragePooling2D(2), (6, 6, 3)),
    ("avgpool2d_same", lambda: L.AveragePooling2D(3, strides=2, padding="same"), (7, 7, 2)),
    ("gmaxpool1d", lambda: L.GlobalMaxPooling1D(), (7, 3)),
    ("gavgpool1d_keepdims", lambda: L.GlobalAveragePooling1D(keepdims=True), (7, 3)),
    ("gmaxpool2d_keepdims", lambda: L.GlobalMaxPooling2D(keepdims=True), (5, 4, 3)),
    ("gavgpool2d", lambda: L.GlobalAveragePooling2D(), (5, 4, 3)),
    ("gavgpool2d_channels_first", lambda: L.GlobalAveragePooling2D(data_format="channels_first", keepdims=True), (3, 5, 4)),
    ("zeropad1d", lambda: L.ZeroPadding1D((1, 2)), (5, 2)),
    ("zeropad2d", lambda: L.ZeroPadding2D(((1, 0), (2, 1))), (4, 3, 2)),
    ("zeropad2d_channels_first", lambda: L.ZeroPadding2D(1, data_format="channels_first"), (2, 3, 4)),
    ("flatten", lambda: L.Flatten(), (3, 4, 2)),
    ("flatten_channels_first", lambda: L.Flatten(data_format="channels_first"), (3, 4, 2)),
    ("reshape", lambda: L.Reshape((4, -1)), (2, 6)),
    ("permute", lambda: L.Permute((2, 1)), (3, 5)),
]

ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "hard_sigmoid", "linear", "leaky_relu", "relu6"]


@pytest.mark.parametrize("name,layer_fn,shape", SINGLE, ids=[c[0] for c in SINGLE])
def test_single_layer(name: str, layer_fn: Callable[[], keras.layers.Layer], shape: tuple[int, ...]) -> None:
    check(single(layer_fn, shape), data(shape))


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_layer(act: str) -> None:
    x = data((12,)) * 4  # reach the saturating parts of hard_sigmoid / relu6
    g = check(single(lambda: L.Activation(act), (12,)), x)
    assert (act == "linear") == (not g.nodes)


def test_avgpool_same_asymmetric_follows_tensorflow() -> None:
    """'same' average pooling with uneven padding divides by the valid taps only (TensorFlow,
    hence every Keras 2 model). Keras 3's torch backend pads by replication there instead, so
    the expectation is computed directly."""
    m = single(lambda: L.AveragePooling2D(3, strides=2, padding="same"), (6, 5, 2))
    x = data((6, 5, 2))
    g = from_keras(m)
    want = np.zeros((4, 3, 3, 2), np.float64)
    for i in range(3):
        for j in range(3):
            # total padding: rows (2*2+3-6)=1 → (0, 1); cols (2*2+3-5)=2 → (1, 1)
            r0, c0 = 2 * i, 2 * j - 1
            win = x[:, max(r0, 0) : min(r0 + 3, 6), max(c0, 0) : min(c0 + 3, 5)]
            want[:, i, j] = win.astype(np.float64).mean(axis=(1, 2))
    np.testing.assert_allclose(reference.run(g, x), want, **TOL)


def test_keras3_hard_sigmoid_is_relu6_based() -> None:
    """Keras 3 hard_sigmoid is relu6(x + 3) / 6: slope 1/6, not Keras 2's 0.2."""
    g = from_keras(single(lambda: L.Activation("hard_sigmoid"), (3,)))
    node = next(n for n in g.nodes if n.op == Op.HARD_SIGMOID)
    assert node.attrs.alpha == pytest.approx(1 / 6) and node.attrs.beta == 0.5


def test_dropout_is_dropped() -> None:
    m = keras.Sequential([keras.Input((6,)), L.Dense(4), L.Dropout(0.5), L.Dense(2)])
    g = check(m, data((6,)))
    assert [n.op for n in g.nodes] == [Op.DENSE, Op.DENSE]


def test_node_named_after_layer_and_source_kept() -> None:
    m = keras.Sequential([keras.Input((6,), name="x"), L.Dense(4, activation="relu", name="fc1"), L.Dense(2, name="out")])
    g = check(m, data((6,)))
    assert [n.name for n in g.nodes] == ["fc1_linear", "fc1", "out"]
    assert all(n.source_name in ("fc1", "out") for n in g.nodes)
    assert g.nodes[0].source_op == "Dense" and g.inputs == ["x"]


# ----------------------------------------------------------------------------- merge layers


@pytest.mark.parametrize(
    "merge",
    [
        lambda: L.Add(), lambda: L.Subtract(), lambda: L.Multiply(), lambda: L.Average(),
        lambda: L.Concatenate(), lambda: L.Concatenate(axis=1),
    ],
    ids=["add", "subtract", "multiply", "average", "concat_last", "concat_axis1"],
)
def test_merge_layers(merge: Callable[[], keras.layers.Layer]) -> None:
    a, b = keras.Input((3, 4), name="a"), keras.Input((3, 4), name="b")
    m = keras.Model([a, b], merge()([L.Dense(4)(a), b]))
    check(m, [data((3, 4), seed=2), data((3, 4), seed=3)])


def test_three_way_add_and_average() -> None:
    x = keras.Input((5,))
    h = [L.Dense(5)(x) for _ in range(3)]
    m = keras.Model(x, L.Concatenate()([L.Add()(h), L.Average()(h)]))
    check(m, data((5,)))


# ----------------------------------------------------------------------------- small models


def test_cnn_sequential() -> None:
    m = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            L.Conv2D(8, 3, padding="same", activation="relu"),
            L.BatchNormalization(),
            L.MaxPooling2D(2),
            L.DepthwiseConv2D(3, activation="relu"),
            L.SeparableConv2D(6, 3, padding="same"),
            L.GlobalAveragePooling2D(),
            L.Dense(10, activation="softmax"),
        ]
    )
    check(m, data((16, 16, 3)))


def test_channels_first_cnn() -> None:
    m = keras.Sequential(
        [
            keras.Input((3, 10, 10)),
            L.Conv2D(4, 3, data_format="channels_first", activation="relu"),
            L.Conv2D(4, 3, data_format="channels_first", padding="same"),
            L.MaxPooling2D(2, data_format="channels_first"),
            L.Flatten(data_format="channels_first"),
            L.Dense(3),
        ]
    )
    g = check(m, data((3, 10, 10)))
    assert g.user_shape(g.inputs[0]) == (3, 10, 10)


def test_conv1d_jet_tagger() -> None:
    m = keras.Sequential(
        [
            keras.Input((20, 6)),
            L.Conv1D(8, 3, activation="relu"),
            L.AveragePooling1D(2),
            L.Conv1D(4, 3, padding="same", activation="elu"),
            L.Flatten(),
            L.Dense(16, activation="selu"),
            L.Dropout(0.2),
            L.Dense(5, activation="softmax"),
        ]
    )
    check(m, data((20, 6)))


def test_functional_residual_and_nested() -> None:
    inner = keras.Sequential([keras.Input((8,)), L.Dense(8, activation="tanh"), L.Dense(8)], name="inner")
    x = keras.Input((8,), name="features")
    h = L.Dense(8, activation="relu", name="h")(x)
    r = L.Add(name="res")([h, inner(h)])
    i2 = keras.Input((8,))
    func_inner = keras.Model(i2, L.Dense(3, activation="softplus", name="fi")(i2), name="func_inner")
    out = func_inner(r)
    m = keras.Model(x, out)
    check(m, data((8,)))


def test_shared_layer_called_twice() -> None:
    shared = L.Dense(4, activation="relu", name="shared")
    a, b = keras.Input((5,)), keras.Input((5,))
    m = keras.Model([a, b], L.Subtract()([shared(a), shared(b)]))
    g = check(m, [data((5,), seed=4), data((5,), seed=5)])
    assert sum(n.op == Op.DENSE for n in g.nodes) == 2


def test_multi_output_model() -> None:
    x = keras.Input((6,))
    h = L.Dense(6, activation="relu")(x)
    m = keras.Model(x, [L.Dense(2, name="o1")(h), L.Dense(3, activation="softmax", name="o2")(h)])
    randomize(m)
    g = from_keras(m)
    got = reference.run(g, data((6,)))
    want = m(data((6,)))
    for name, w in zip(g.outputs, want, strict=True):
        np.testing.assert_allclose(got[name], keras.ops.convert_to_numpy(w), **TOL)


def test_hlsforge_load_dispatches_live_keras() -> None:
    m = randomize(keras.Sequential([keras.Input((4,)), L.Dense(2)]))
    g = hlsforge.load(m)
    np.testing.assert_allclose(reference.run(g, data((4,))), keras_out(m, data((4,))), **TOL)


def test_saved_keras_and_h5_files(tmp_path) -> None:
    m = randomize(
        keras.Sequential([keras.Input((6, 6, 2)), L.Conv2D(3, 3, activation="relu"), L.Flatten(), L.Dense(2)])
    )
    x = data((6, 6, 2))
    want = keras_out(m, x)
    m.save(tmp_path / "m.keras")
    m.save(tmp_path / "m.h5")
    for f in ("m.keras", "m.h5"):
        np.testing.assert_allclose(reference.run(hlsforge.load(tmp_path / f), x), want, **TOL)


def test_keras3_json_and_native_weights_file(tmp_path) -> None:
    """``model.to_json()`` + ``model.save_weights('m.weights.h5')`` (Keras 3's own weights
    layout, unnamed variables), nested model and a BatchNormalization without beta."""
    inner = keras.Sequential([keras.Input((6,)), L.Dense(5, name="sd"), L.BatchNormalization(center=False, name="sbn")], name="inner")
    x = keras.Input((4,))
    h = L.SeparableConv1D(3, 2, name="sep")(L.Reshape((2, 2))(L.Dense(4, name="d1")(x)))
    m = randomize(keras.Model(x, L.Dense(2, name="d2")(inner(L.Concatenate()([L.Flatten()(h), L.Dense(3)(x)])))))
    (tmp_path / "m.json").write_text(m.to_json())
    m.save_weights(tmp_path / "m.weights.h5")
    g = hlsforge.load(tmp_path / "m.json", weights=tmp_path / "m.weights.h5")
    np.testing.assert_allclose(reference.run(g, data((4,))), keras_out(m, data((4,))), **TOL)


# ----------------------------------------------------------------------------- errors


def test_unsupported_layer_names_layer_class_and_supported() -> None:
    m = keras.Sequential([keras.Input((4, 5, 3)), L.ConvLSTM1D(2, 3, name="rnn")])  # LSTM itself is supported now
    with pytest.raises(UnsupportedOpError) as e:
        from_keras(m)
    msg = str(e.value)
    assert "'rnn'" in msg and "LSTM" in msg and "Conv2D" in msg and "Dense" in msg


def test_unsupported_activation() -> None:
    m = keras.Sequential([keras.Input((4,)), L.Dense(2, activation="mish", name="d")])
    with pytest.raises(UnsupportedOpError, match=r"'d'.*mish.*supported activations"):
        from_keras(m)


def test_relu_threshold_unsupported() -> None:
    m = keras.Sequential([keras.Input((4,)), L.ReLU(threshold=0.5, name="thr")])
    with pytest.raises(UnsupportedOpError, match="thr.*threshold"):
        from_keras(m)


def test_unknown_input_dims_need_input_shape() -> None:
    m = keras.Sequential([keras.Input((None, 3)), L.Conv1D(2, 3)])
    randomize(m)
    with pytest.raises(ShapeError, match="input_shape"):
        from_keras(m)
    g = from_keras(m, input_shape=(10, 3))
    np.testing.assert_allclose(reference.run(g, data((10, 3))), keras_out(m, data((10, 3))), **TOL)


def test_subclassed_model_is_refused() -> None:
    class Net(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.d = L.Dense(2)

        def call(self, x):  # type: ignore[no-untyped-def]
            return self.d(x)

    net = Net()
    net(np.zeros((1, 3), np.float32))
    with pytest.raises(UnsupportedOpError, match="Sequential and functional"):
        hlsforge.load(net)
