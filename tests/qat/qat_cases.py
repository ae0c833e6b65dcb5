"""Exactness cases shared by the in-process tests and the other-backend subprocess.

Each case builds a small model from hlsforge.qat layers, puts its weights and bits somewhere
non-trivial, and compares the Keras forward with ``emulate.run(hlsforge.load(model), x)`` on
grid inputs. ``python qat_cases.py`` runs them all on the backend ``KERAS_BACKEND`` selects.
"""

from __future__ import annotations

import itertools
import os
import sys

import numpy as np

ROUNDINGS = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_MIN_INF", "RND_INF", "RND_CONV")
OVERFLOWS = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")
MODES = list(itertools.product(ROUNDINGS, OVERFLOWS))
IN = dict(bits=12, integer=5)  # input grid: ap_fixed<12,5>, LSB 1/128


def grid(shape: tuple[int, ...], n: int, seed: int = 0, bits: int = 12, integer: int = 5) -> np.ndarray:
    """``n`` random inputs on the ``fixed<bits, integer>`` grid, edges included."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), size=(n, *shape))
    raw[0], raw[1] = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return (raw * 2.0 ** (integer - bits)).astype(np.float32)


def scramble_bits(model, seed: int = 0) -> None:
    """Random trained-looking state: weights, per-element fractional bits (some pruned)."""
    import keras

    from hlsforge import qat

    rng = np.random.default_rng(seed)
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, qat.FixedQuantizer) and layer.train_bits and layer.built:
            f = np.asarray(keras.ops.convert_to_numpy(layer.fractional()))
            layer.set_fractional(f + rng.normal(0, 1.5, size=f.shape))
        if hasattr(layer, "kernel") and hasattr(layer, "kernel_quantizer"):
            k = layer.kernel
            layer.kernel.assign(rng.normal(0, 0.6, size=tuple(k.shape)).astype(np.float32))
            if layer.use_bias:
                layer.bias.assign(rng.normal(0, 0.5, size=tuple(layer.bias.shape)).astype(np.float32))
        if hasattr(layer, "moving_variance"):  # batch-norm folding layers: non-trivial statistics
            n = tuple(layer.gamma.shape)
            layer.gamma.assign(rng.uniform(0.3, 2.5, size=n).astype(np.float32))
            layer.beta.assign(rng.normal(0, 0.7, size=n).astype(np.float32))
            layer.moving_mean.assign(rng.normal(0, 1.0, size=n).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.05, 4.0, size=n).astype(np.float32))


def scramble_elements(model, seed: int = 0) -> None:
    """Different integer and fractional bits per channel / element on every activation
    quantizer that is not per tensor (what training and calibration give)."""
    rng = np.random.default_rng(seed + 100)
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, __import__("hlsforge").qat.FixedQuantizer) and layer.built \
                and layer.granularity != "tensor" and not layer.prune:
            shape = tuple(layer.i.shape)
            layer.i.assign(rng.integers(-1, 5, shape).astype(np.float32))
            layer.set_fractional(rng.integers(0, 7, shape).astype(np.float64))


def on_input_grid(kind: str, model, x: np.ndarray) -> np.ndarray:
    """Inputs on the model's input grid: for a per-element input quantizer (``pe_input``) each
    element's own grid (the graph input takes their container type, docs/qat.md §5)."""
    if kind != "pe_input":
        return x
    import keras

    return np.asarray(keras.ops.convert_to_numpy(model.get_layer("iq_pe")(x)), dtype=np.float32)


def compare(model, x: np.ndarray) -> int:
    """Rows where Keras and the emulator differ."""
    import keras

    import hlsforge
    from hlsforge.quantize import emulate

    g = hlsforge.load(model)
    ye = np.asarray(emulate.run(g, x), dtype=np.float64)
    yk = np.asarray(keras.ops.convert_to_numpy(model(x)), dtype=np.float64)
    assert ye.shape == yk.shape, (ye.shape, yk.shape)
    return int(np.count_nonzero((ye != yk).reshape(len(x), -1).any(axis=1)))


def quantizer_model(rounding: str, overflow: str, bits: int = 6, integer: int = 3, signed: bool = True):
    import keras

    from hlsforge import qat

    inp = keras.Input((4,))
    x = qat.FixedQuantizer(**IN, name="iq")(inp)
    y = qat.FixedQuantizer(bits, integer, signed=signed, rounding=rounding, overflow=overflow, name="q")(x)
    return keras.Model(inp, y)


def layer_model(kind: str, mode: tuple[str, str] = ("RND_CONV", "SAT"), seed: int = 0):
    """One Q layer after an input quantizer; returns ``(model, input shape)``."""
    import keras

    from hlsforge import qat

    r, o = mode
    outq = dict(bits=8, integer=4, rounding=r, overflow=o, trainable=True)
    shapes = {"conv2d_pc_out": (5, 5, 3), "conv2d_pe_out": (5, 5, 2), "pe_quantizer": (3, 4), "conv1d": (12, 3), "conv2d": (6, 6, 3), "depthwise": (6, 6, 3), "avg1d": (8, 3), "avg2d": (4, 4, 3),
              "maxflat": (4, 4, 3), "conv1d_bn": (12, 3), "conv2d_bn": (6, 6, 3)}
    shape = shapes.get(kind, (8,))
    inp = keras.Input(shape)
    x = qat.FixedQuantizer(**IN, name="iq")(inp)
    if kind == "dense":
        y = qat.QDense(6, output_quantizer=outq)(x)
    elif kind == "dense_relu_channel":
        y = qat.QDense(6, activation="relu", kernel_quantizer=dict(granularity="channel"),
                       output_quantizer=dict(outq, signed=False))(x)
    elif kind == "dense_tensor":
        y = qat.QDense(6, kernel_quantizer=dict(granularity="tensor", bits=6, integer=1), use_bias=False,
                       output_quantizer=outq)(x)
    elif kind == "conv1d":
        y = qat.QConv1D(4, 3, strides=2, padding="same", output_quantizer=outq)(x)
    elif kind == "conv2d":
        y = qat.QConv2D(4, (3, 3), padding="valid", activation="relu", output_quantizer=outq)(x)
    elif kind == "depthwise":
        y = qat.QDepthwiseConv2D((3, 3), padding="same", depth_multiplier=2, output_quantizer=outq)(x)
    elif kind == "dense_bn":
        y = qat.QDenseBatchNorm(6, activation="relu", kernel_quantizer=dict(granularity="channel"),
                                output_quantizer=dict(outq, signed=False))(x)
    elif kind == "conv1d_bn":
        y = qat.QConv1DBatchNorm(4, 3, strides=2, padding="same", use_bias=False, output_quantizer=outq)(x)
    elif kind == "conv2d_bn":
        y = qat.QConv2DBatchNorm(4, (3, 3), padding="same", epsilon=1e-2, output_quantizer=outq)(x)
    elif kind in ("relu", "leaky_relu", "linear"):
        y = qat.QActivation(kind, alpha=0.3, output_quantizer=outq)(x)
    elif kind in ("sigmoid", "tanh", "softmax"):
        y = qat.QActivation(kind, input_quantizer=dict(bits=9, integer=4, rounding=r, overflow=o),
                            output_quantizer=dict(bits=8, integer=1, rounding=r, overflow=o,
                                                  signed=kind == "tanh"))(x)
    elif kind == "add":
        a = qat.QDense(8, output_quantizer=outq)(x)
        y = qat.QAdd(output_quantizer=outq)([x, a])
    elif kind == "concat":
        a = qat.QActivation("relu", output_quantizer=dict(outq, bits=6, integer=3))(x)
        y = qat.QConcatenate(output_quantizer=outq)([x, a])
    elif kind == "avg1d":
        y = qat.QAveragePooling1D(2, output_quantizer=outq)(x)
    elif kind == "avg2d":
        y = qat.QAveragePooling2D((2, 2), output_quantizer=outq)(x)
    elif kind == "pc_quantizer":  # per-channel activation quantizers (standalone and as outputs)
        y = qat.FixedQuantizer(8, 3, rounding=r, overflow=o, granularity="channel", trainable=True)(x)
    elif kind == "pe_quantizer":
        y = qat.FixedQuantizer(8, 3, signed=False, rounding=r, overflow=o, granularity="element")(x)
    elif kind == "pe_input":  # the model's input quantizer itself per element
        y = qat.FixedQuantizer(8, 3, rounding=r, overflow=o, granularity="element", name="iq_pe")(inp)
        y = qat.QDense(4, output_quantizer=outq)(y)
    elif kind == "dense_pc_out":
        y = qat.QDense(6, activation="relu", output_quantizer=dict(outq, granularity="channel"))(x)
    elif kind == "conv2d_pc_out":
        y = qat.QConv2D(4, (3, 3), padding="same", output_quantizer=dict(outq, granularity="channel"))(x)
    elif kind == "conv2d_pe_out":
        y = qat.QConv2D(3, (3, 3), padding="valid", activation="relu", output_quantizer=dict(outq, granularity="element"))(x)
    elif kind == "leaky_pc_out":
        y = qat.QActivation("leaky_relu", alpha=0.3, output_quantizer=dict(outq, granularity="channel"))(x)
    elif kind == "sigmoid_pe_out":
        y = qat.QActivation("sigmoid", input_quantizer=dict(bits=9, integer=4, rounding=r, overflow=o),
                            output_quantizer=dict(bits=6, integer=1, rounding=r, overflow=o, signed=False,
                                                  granularity="element", trainable=True))(x)
    elif kind == "softmax_pc_out":
        y = qat.QActivation("softmax", input_quantizer=dict(bits=9, integer=4, rounding=r, overflow=o),
                            output_quantizer=dict(bits=6, integer=1, rounding=r, overflow=o, signed=False,
                                                  granularity="channel", trainable=True))(x)
    elif kind == "add_concat_pc":
        a = qat.QDense(8, output_quantizer=dict(outq, granularity="channel"))(x)
        b = qat.QAdd(output_quantizer=dict(outq, granularity="channel"))([x, a])
        y = qat.QConcatenate(output_quantizer=dict(outq, granularity="element"))([b, x])
    elif kind == "maxflat":
        h = keras.layers.MaxPooling2D(2)(x)
        h = keras.layers.Flatten()(h)
        y = qat.QDense(5, output_quantizer=outq)(h)
    else:
        raise ValueError(kind)
    model = keras.Model(inp, y)
    scramble_bits(model, seed)
    scramble_elements(model, seed)
    return model, shape


LAYER_KINDS = ("dense", "dense_relu_channel", "dense_tensor", "conv1d", "conv2d", "depthwise", "relu", "leaky_relu",
               "linear", "sigmoid", "tanh", "softmax", "add", "concat", "avg1d", "avg2d", "maxflat",
               "dense_bn", "conv1d_bn", "conv2d_bn",
               # per-channel / per-element activation quantizers (ElementTypes in the IR)
               "pc_quantizer", "pe_quantizer", "pe_input", "dense_pc_out", "conv2d_pc_out", "conv2d_pe_out",
               "leaky_pc_out", "sigmoid_pe_out", "softmax_pc_out", "add_concat_pc")


QUICK_KINDS = ("dense_relu_channel", "conv2d", "depthwise", "leaky_relu", "sigmoid", "softmax", "add", "dense_bn",
               "conv2d_bn", "pc_quantizer", "pe_input", "conv2d_pe_out", "add_concat_pc")


def bn_checks(n: int = 2000) -> list[str]:
    """Batch-norm folding on this backend: the fold is bitwise the numpy twin on 3·10⁴ values,
    and a short training run moves the statistics and keeps Keras == emulator."""
    import keras

    from hlsforge import qat
    from hlsforge.qat.batchnorm import fold_numpy

    fails = []
    inp = keras.Input((60,))
    layer = qat.QDenseBatchNorm(500)
    model = keras.Model(inp, layer(qat.FixedQuantizer(**IN)(inp)))
    scramble_bits(model, 11)
    rng = np.random.default_rng(11)
    layer.moving_variance.assign(np.exp(rng.uniform(-6, 3, 500)).astype(np.float32))
    w = [np.asarray(keras.ops.convert_to_numpy(v)) for v in
         (layer.kernel, layer.bias, layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance)]
    for got, want, what in zip(layer.folded(), fold_numpy(*w, layer.epsilon), ("kernel", "bias"), strict=True):
        bad = int(np.count_nonzero(np.asarray(keras.ops.convert_to_numpy(got)) != want))
        if bad:
            fails.append(f"batch-norm fold: {bad} {what} values differ from numpy")
    model, shape = layer_model("conv2d_bn", seed=7)
    bn = model.layers[-1]
    mean0 = np.asarray(keras.ops.convert_to_numpy(bn.moving_mean)).copy()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    x = grid(shape, 128, seed=7)
    model.fit(x, rng.normal(0, 1, (128, 6, 6, 4)).astype(np.float32), batch_size=64, epochs=1, verbose=0)
    if np.array_equal(np.asarray(keras.ops.convert_to_numpy(bn.moving_mean)), mean0):
        fails.append("batch-norm training did not move the moving mean")
    bad = compare(model, grid(shape, n, seed=8))
    if bad:
        fails.append(f"batch-norm after training: {bad} rows")
    return fails


def run_all(n: int = 10000, quick: bool = False) -> list[str]:
    """Every case (``quick``: signed quantizers and a few layers); returns failure messages."""
    fails = []
    x4 = grid((4,), n)
    for r, o in MODES:
        for signed in (True,) if quick else (True, False):
            bad = compare(quantizer_model(r, o, signed=signed), x4)
            if bad:
                fails.append(f"quantizer {r},{o},signed={signed}: {bad} rows")
    for i, kind in enumerate(LAYER_KINDS):
        if quick and kind not in QUICK_KINDS:
            continue
        mode = MODES[(5 * i) % len(MODES)]
        model, shape = layer_model(kind, mode, seed=i)
        bad = compare(model, on_input_grid(kind, model, grid(shape, n, seed=i)))
        if bad:
            fails.append(f"layer {kind} {mode}: {bad} rows")
    return fails + bn_checks(min(n, 2000))


if __name__ == "__main__":
    import keras

    fails = run_all(int(os.environ.get("QAT_CASES_N", "10000")), quick=os.environ.get("QAT_CASES_QUICK") == "1")
    print(f"backend={keras.backend.backend()} failures={len(fails)}")
    for f in fails:
        print(f)
    sys.exit(1 if fails else 0)
