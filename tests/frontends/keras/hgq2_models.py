"""HGQ2 test models with per-element bits that differ element by element.

Shared by ``test_hgq2.py`` (needs HGQ2) and ``data/make_hgq2.py`` (writes the committed
framework-free fixtures with HGQ2's own outputs). Imports ``keras``/``hgq`` only when called.
Every quantizer's ``k``/``i``/``f`` (or ``b``) variables are drawn at random so bits differ
per element; ranges are kept small enough that HGQ2's float32 forward pass is itself exact
(every partial sum fits in float32's 24-bit significand).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _layers() -> Any:
    import hgq.layers as hl
    from hgq.config import QuantizerConfig

    return hl, QuantizerConfig


def internal_quantizers(model: Any) -> list[tuple[Any, Any]]:
    """``(owner layer, internal fixed-point quantizer)`` for every HGQ2 quantizer in ``model``."""
    from hgq.quantizer.internal.fixed_point_quantizer import FixedPointQuantizerBase

    out = []
    for layer in model.layers:
        for sub in layer._flatten_layers(include_self=True):
            if isinstance(sub, FixedPointQuantizerBase):
                out.append((layer, sub))
    return out


def randomize(model: Any, rng: np.random.Generator, *, signed_inputs: bool = True) -> Any:
    """Random weights, BN statistics and per-element bits (HGQ2's variable layout)."""
    for layer in model.layers:
        for v in layer.weights:
            short = v.path.split("/")[-1]
            if v.path.count("/") > 1:
                continue  # quantizer variables: below
            if short in ("kernel", "bias", "bn_gamma", "bn_beta", "moving_mean"):
                v.assign((rng.normal(size=v.shape) * 0.6).astype("float32"))
            elif short == "moving_variance":
                v.assign(rng.uniform(0.4, 2.0, size=v.shape).astype("float32"))
    for layer, q in internal_quantizers(model):
        names = {w.path.split("/")[-1]: w for w in q.weights}
        shape = names["k"].shape
        first = layer is input_quantizer(model)
        if type(q).__name__ == "FixedPointQuantizerKBI":
            k = np.ones(shape) if q._is_weight else rng.integers(0, 2, size=shape)
            names["k"].assign(k.astype("uint8"))
            names["i"].assign(rng.integers(-1, 3, size=shape).astype("float32"))
            names["b"].assign(rng.integers(0, 6, size=shape).astype("float32") + rng.uniform(-0.3, 0.3, size=shape))
        else:
            k = np.ones(shape) if (first and signed_inputs) else rng.integers(0, 2, size=shape)
            names["k"].assign(k.astype("uint8"))
            names["i"].assign(rng.integers(0, 4, size=shape).astype("float32"))
            names["f"].assign(rng.integers(-1, 5, size=shape).astype("float32") + rng.uniform(-0.3, 0.3, size=shape))
    return model


def input_quantizer(model: Any) -> Any:
    """The model's first ``Quantizer`` layer (its input quantizer)."""
    return next(layer for layer in model.layers if type(layer).__name__ == "Quantizer")


def input_kif(model: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``k, i, f`` of the model's input ``Quantizer`` (a kif quantizer; batch axis dropped)."""
    q = input_quantizer(model).quantizer
    k = np.asarray(q._k.numpy()).astype(np.int64)[0]
    i = np.round(np.asarray(q._i.numpy())).astype(np.int64)[0]
    f = np.round(np.asarray(q._f.numpy())).astype(np.int64)[0]
    return k, i, f


def grid_inputs(model: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` inputs on each element's input grid (``2**-f`` steps), reaching a little beyond
    each element's range so that saturation and wrapping are exercised."""
    k, i, f = input_kif(model)
    shape = (n, *k.shape)
    span = np.ldexp(1.0, i + f + 1)
    raw = np.floor(rng.uniform(-span, span, size=shape))
    return np.ldexp(raw, -f).astype(np.float32)


def _dl(QC: Any, **kw: Any) -> Any:
    return QC(place="datalane", **kw)


def jet_mlp(widths: tuple[int, ...] = (16, 64, 32, 32, 5), name: str = "jet_mlp") -> Any:
    """The jet tagger shape: Quantizer → QDense+relu ×3 → QDense."""
    import keras

    hl, QC = _layers()
    inp = keras.Input((widths[0],), name="x")
    h = hl.Quantizer(_dl(QC, overflow_mode="SAT"), name="inq")(inp)
    for j, w in enumerate(widths[1:-1]):
        h = hl.QDense(w, activation="relu", name=f"fc{j + 1}")(h)
    out = hl.QDense(widths[-1], name="out")(h)
    return keras.Model(inp, out, name=name)


def residual(n: int = 12, name: str = "residual") -> Any:
    """A residual block: QAdd of a QDense branch and a skip, then QBatchNormalization."""
    import keras

    hl, QC = _layers()
    inp = keras.Input((n,), name="x")
    h = hl.Quantizer(_dl(QC, overflow_mode="WRAP"), name="inq")(inp)
    a = hl.QDense(n, activation="relu", name="fc1")(h)
    b = hl.QDense(n, name="fc2")(a)
    s = hl.QAdd(name="add")([h, b])
    s = hl.QBatchNormalization(name="bn")(s)
    out = hl.QBatchNormDense(4, name="out")(s)
    return keras.Model(inp, out, name=name)


def small_cnn(shape: tuple[int, int, int] = (8, 8, 2), name: str = "small_cnn") -> Any:
    """Quantizer → QConv2D+relu → QMaxPool2D → QConv2D(same) → QAvgPool2D → Flatten → QDense,
    plus a QConv1D model part is covered separately (conv1d)."""
    import keras

    hl, QC = _layers()
    inp = keras.Input(shape, name="img")
    h = hl.Quantizer(_dl(QC, overflow_mode="SAT"), name="inq")(inp)
    h = hl.QConv2D(4, 3, activation="relu", name="conv1")(h)
    h = hl.QMaxPool2D(2, name="pool1")(h)
    h = hl.QConv2D(3, 2, padding="same", name="conv2")(h)
    h = hl.QAvgPool2D(2, name="pool2")(h)
    h = keras.layers.Flatten(name="flat")(h)
    out = hl.QDense(3, name="out")(h)
    return keras.Model(inp, out, name=name)


def conv1d(shape: tuple[int, int] = (12, 3), name: str = "conv1d") -> Any:
    import keras

    hl, QC = _layers()
    inp = keras.Input(shape, name="seq")
    h = hl.Quantizer(_dl(QC, overflow_mode="SAT_SYM"), name="inq")(inp)
    h = hl.QConv1D(4, 3, strides=2, activation="relu", name="conv")(h)
    h = hl.QGlobalMaxPool1D(name="gmax")(h)
    out = hl.QDense(2, name="out")(h)
    return keras.Model(inp, out, name=name)


def misc(name: str = "misc") -> Any:
    """Output quantizers, a layer without input quantizer, QSubtract, QMultiply, a reshape,
    global average pooling, a Dense-like QEinsumDense; weights through trainable WRAP quantizers (rounding only)."""
    import keras

    hl, QC = _layers()
    wrap_w = QC(q_type="kif", place="weight", overflow_mode="WRAP")
    inp = keras.Input((8,), name="x")
    h = hl.Quantizer(_dl(QC, overflow_mode="SAT"), name="inq")(inp)
    a = hl.QDense(8, activation="relu", enable_oq=True, oq_conf=_dl(QC, overflow_mode="SAT", k0=0), name="fc1")(h)
    b = hl.QDense(8, enable_iq=False, kq_conf=wrap_w, name="fc2")(a)
    d = hl.QSubtract(name="sub")([h, b])
    p = hl.QMultiply(name="mul")([d, a])
    r = keras.layers.Reshape((4, 2), name="reshape")(p)
    g = hl.QGlobalAvgPool1D(name="gavg")(r)
    g = hl.QEinsumDense("bc,co->bo", 4, bias_axes="o", activation="relu", name="einsum")(g)
    out = hl.QDense(3, name="out", kq_conf=QC(q_type="kbi", place="weight", overflow_mode="WRAP", round_mode="TRN"))(g)
    return keras.Model(inp, out, name=name)


def conv_extras(name: str = "conv_extras") -> Any:
    """Grouped, dilated, strided 'same' QConv2D, QBatchNormalization on 4D values, global pooling."""
    import keras

    hl, QC = _layers()
    inp = keras.Input((9, 9, 4), name="img")
    h = hl.Quantizer(_dl(QC, overflow_mode="SAT"), name="inq")(inp)
    h = hl.QConv2D(6, 3, groups=2, dilation_rate=2, padding="same", activation="relu", name="gconv")(h)
    h = hl.QConv2D(4, 2, strides=2, name="sconv")(h)
    h = hl.QBatchNormalization(name="bn")(h)
    h = hl.QGlobalAvgPool2D(name="gavg")(h)
    out = hl.QDense(2, name="out")(h)
    return keras.Model(inp, out, name=name)


def forward(model: Any, x: np.ndarray) -> np.ndarray:
    """HGQ2's own inference pass (``model(x)``), as float32 numpy."""
    import keras

    return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), np.float32)
