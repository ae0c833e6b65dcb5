"""Small CNNs shaped like the published io_stream models, built directly in the IR (no
TensorFlow import): a jet-image Conv2D tagger, an MNIST-size QKeras-style CNN, a Conv1D model,
a depthwise-separable model, a residual block with Add, and a model with ZeroPadding, Concat
and average pooling. Weights come from seeded generators, so every run builds the same graphs."""

from __future__ import annotations

from typing import Any

import numpy as np

from hlsforge.ir import (
    AlphaAttrs,
    AxisAttrs,
    ConvAttrs,
    GlobalPoolAttrs,
    Graph,
    Op,
    PadAttrs,
    PoolAttrs,
    SoftmaxAttrs,
)


class _Net:
    def __init__(self, name: str, shape: tuple[int, ...]) -> None:
        self.g = Graph(name)
        self.rng = np.random.default_rng(sum(map(ord, name)))
        self.g.add_input("x", shape)
        self.n = 0

    def _const(self, base: str, data: np.ndarray) -> str:
        self.n += 1
        name = f"{base}{self.n}"
        self.g.add_constant(name, data.astype(np.float32))
        return name

    def add(self, op: Op, inputs: list[str], name: str, attrs: Any = None) -> str:
        node = self.g.add_node(op, inputs, attrs=attrs, source_name=name)
        return node.outputs[0]

    def conv(self, x: str, c_in: int, c_out: int, k: int, nsp: int = 2, *, stride: int = 1, pad: int = 0,
             groups: int = 1, name: str = "conv") -> str:
        fan = k**nsp * c_in // groups
        w = self._const("w", self.rng.normal(size=(k,) * nsp + (c_in // groups, c_out)) / np.sqrt(fan))
        b = self._const("b", self.rng.normal(size=(c_out,)) * 0.1)
        attrs = ConvAttrs((k,) * nsp, (stride,) * nsp, (1,) * nsp, ((pad, pad),) * nsp, groups)
        return self.add(Op.CONV1D if nsp == 1 else Op.CONV2D, [x, w, b], name, attrs)

    def bn(self, x: str, c: int, name: str) -> str:
        s = self._const("s", 1.0 + 0.2 * self.rng.normal(size=(c,)))
        b = self._const("t", 0.1 * self.rng.normal(size=(c,)))
        return self.add(Op.BATCHNORM, [x, s, b], name)

    def dense(self, x: str, n_in: int, n_out: int, name: str) -> str:
        w = self._const("w", self.rng.normal(size=(n_in, n_out)) / np.sqrt(n_in))
        b = self._const("b", self.rng.normal(size=(n_out,)) * 0.1)
        return self.add(Op.DENSE, [x, w, b], name)

    def pool(self, x: str, op: Op, k: int, nsp: int = 2, name: str = "pool", pad: int = 0, stride: int | None = None) -> str:
        attrs = PoolAttrs((k,) * nsp, (stride or k,) * nsp, ((pad, pad),) * nsp, False, False)
        return self.add(op, [x], name, attrs)

    def done(self, y: str) -> Graph:
        self.g.outputs = [y]
        return self.g.validate()


def jet_tagger(size: int = 12) -> Graph:
    """hls4ml's jetTagger_Conv2D_Small shape: (Conv2D + BN + ReLU + MaxPool) x 2, Dense head."""
    m = _Net("jet_cnn", (size, size, 1))
    x = m.conv("x", 1, 4, 3, name="conv1")
    x = m.bn(x, 4, "bn1")
    x = m.add(Op.RELU, [x], "relu1")
    x = m.pool(x, Op.MAXPOOL2D, 2, name="pool1")
    x = m.conv(x, 4, 8, 3, name="conv2")
    x = m.bn(x, 8, "bn2")
    x = m.add(Op.RELU, [x], "relu2")
    x = m.pool(x, Op.MAXPOOL2D, 2, name="pool2")
    s = (((size - 2) // 2) - 2) // 2
    x = m.add(Op.FLATTEN, [x], "flatten")
    x = m.dense(x, s * s * 8, 16, "fc1")
    x = m.add(Op.RELU, [x], "relu3")
    x = m.dense(x, 16, 5, "output")
    return m.done(m.add(Op.SOFTMAX, [x], "softmax", SoftmaxAttrs(0)))


JET_CONFIG: dict[str, Any] = {"model": {"default": "ap_fixed<16,6>", "io_type": "io_stream"}}


def mnist_cnn(size: int = 28) -> Graph:
    """The QKeras MNIST CNN shape: Conv-ReLU-MaxPool x 2, Flatten, Dense-ReLU, Dense-Softmax."""
    m = _Net("mnist_cnn", (size, size, 1))
    x = m.add(Op.RELU, [m.conv("x", 1, 4, 3, stride=1, name="conv1")], "relu1")
    x = m.pool(x, Op.MAXPOOL2D, 2, name="pool1")
    x = m.add(Op.RELU, [m.conv(x, 4, 6, 3, name="conv2")], "relu2")
    x = m.pool(x, Op.MAXPOOL2D, 2, name="pool2")
    s = ((size - 2) // 2 - 2) // 2
    x = m.add(Op.FLATTEN, [x], "flatten")
    x = m.add(Op.RELU, [m.dense(x, s * s * 6, 12, "fc1")], "relu3")
    return m.done(m.add(Op.SOFTMAX, [m.dense(x, 12, 10, "fc2")], "softmax", SoftmaxAttrs(0)))


# QKeras quantized_bits(6, 0, alpha=1) weights, quantized_relu(6) activations: narrow types
# everywhere and a rounding, saturating input.
MNIST_CONFIG: dict[str, Any] = {
    "model": {"default": "ap_fixed<10,4,AP_RND,AP_SAT>", "input": "ap_fixed<8,1,AP_RND,AP_SAT>",
              "weight": "ap_fixed<6,1>", "bias": "ap_fixed<6,1>", "accum": "auto", "io_type": "io_stream"},
    "op_type": {"ReLU": {"result": "ap_ufixed<6,2,AP_RND,AP_SAT>"}},
}


def conv1d_model(length: int = 32) -> Graph:
    m = _Net("conv1d_net", (length, 3))
    x = m.add(Op.RELU, [m.conv("x", 3, 8, 5, nsp=1, pad=2, name="conv1")], "relu1")
    x = m.add(Op.RELU, [m.conv(x, 8, 8, 3, nsp=1, stride=2, name="conv2")], "relu2")
    x = m.pool(x, Op.AVGPOOL1D, 2, nsp=1, name="avgpool")
    x = m.add(Op.GLOBAL_AVGPOOL, [x], "gap", GlobalPoolAttrs())
    return m.done(m.add(Op.SIGMOID, [m.dense(x, 8, 3, "fc")], "sigmoid"))


def separable_model(size: int = 10) -> Graph:
    m = _Net("sep_net", (size, size, 4))
    x = m.conv("x", 4, 4, 3, pad=1, groups=4, name="depthwise")
    x = m.add(Op.RELU, [m.conv(x, 4, 8, 1, name="pointwise")], "relu")
    x = m.conv(x, 8, 8, 3, stride=2, pad=1, groups=8, name="depthwise2")
    x = m.add(Op.GLOBAL_MAXPOOL, [x], "gmp", GlobalPoolAttrs())
    return m.done(m.dense(x, 8, 4, "fc"))


def residual_model(size: int = 8) -> Graph:
    m = _Net("resnet_block", (size, size, 4))
    y = m.add(Op.RELU, [m.bn(m.conv("x", 4, 4, 3, pad=1, name="conv1"), 4, "bn1")], "relu1")
    y = m.conv(y, 4, 4, 3, pad=1, name="conv2")
    s = m.add(Op.ADD, [y, "x"], "add")
    s = m.add(Op.RELU, [s], "relu2")
    s = m.add(Op.GLOBAL_AVGPOOL, [s], "gap", GlobalPoolAttrs())
    return m.done(m.dense(s, 4, 3, "fc"))


def padding_concat_model(size: int = 7) -> Graph:
    m = _Net("pad_concat", (size, size, 2))
    p = m.add(Op.PAD, ["x"], "zero_padding", PadAttrs(((1, 1), (2, 0), (0, 0))))
    a = m.conv(p, 2, 3, 3, name="conv_a")
    b = m.add(Op.LEAKY_RELU, [m.conv(p, 2, 2, 3, name="conv_b")], "leaky", AlphaAttrs(0.1))
    c = m.add(Op.CONCAT, [a, b], "concat", AxisAttrs(2))
    c = m.pool(c, Op.AVGPOOL2D, 2, name="avgpool", pad=1, stride=2)
    f = m.add(Op.FLATTEN, [c], "flatten")
    n = m.g.values[f].shape[0]
    return m.done(m.add(Op.TANH, [m.dense(f, n, 4, "fc")], "tanh"))


def stream_config(default: str = "ap_fixed<14,5,AP_RND,AP_SAT>", **model: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"default": default, "accum": "ap_fixed<20,8>", "io_type": "io_stream"}
    body.update(model)
    return {"model": body}


MODELS: dict[str, tuple[Any, dict[str, Any]]] = {
    "jet_cnn": (jet_tagger, JET_CONFIG),
    "mnist_cnn": (mnist_cnn, MNIST_CONFIG),
    "conv1d": (conv1d_model, stream_config()),
    "separable": (separable_model, stream_config("ap_fixed<12,4>")),
    "residual": (residual_model, stream_config()),
    "pad_concat": (padding_concat_model, stream_config("ap_fixed<16,6,AP_RND_CONV,AP_SAT>", accum="auto")),
}
