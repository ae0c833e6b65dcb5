"""Small multi-layer IR graphs for the emulator tests, and tests of whole networks:
emulate vs the float reference, overflow reporting, layouts."""

from __future__ import annotations

import numpy as np

from hlsforge.ir import ConvAttrs, Graph, Op, PoolAttrs, SoftmaxAttrs


def mlp_graph(sizes=(16, 64, 32, 32, 5), seed: int = 1, softmax: bool = True) -> Graph:
    """Dense + ReLU layers (the jet-tagging MLP by default), softmax at the end."""
    g = Graph("mlp_" + "_".join(map(str, sizes)))
    rng = np.random.default_rng(seed)
    g.add_input("input", (sizes[0],))
    x = "input"
    for i in range(len(sizes) - 1):
        k = g.add_constant(f"w{i}", (rng.normal(size=(sizes[i], sizes[i + 1])) / np.sqrt(sizes[i])).astype(np.float32))
        b = g.add_constant(f"b{i}", (rng.normal(size=(sizes[i + 1],)) * 0.1).astype(np.float32))
        x = g.add_node(Op.DENSE, [x, k.name, b.name], source_name=f"fc{i + 1}").outputs[0]
        if i < len(sizes) - 2:
            x = g.add_node(Op.RELU, [x], source_name=f"relu{i + 1}").outputs[0]
    if softmax:
        x = g.add_node(Op.SOFTMAX, [x], attrs=SoftmaxAttrs(0), source_name="softmax").outputs[0]
    g.outputs = [x]
    return g.validate()


def small_cnn_graph(seed: int = 5) -> Graph:
    """conv(3x3, pad 1) -> relu -> maxpool 2 -> flatten -> dense -> softmax, NCHW user layout."""
    g = Graph("small_cnn")
    rng = np.random.default_rng(seed)
    g.add_input("image", (6, 6, 2), perm=(1, 2, 0))
    g.add_constant("k", (rng.normal(size=(3, 3, 2, 3)) * 0.4).astype(np.float32))
    g.add_constant("kb", (rng.normal(size=(3,)) * 0.1).astype(np.float32))
    x = g.add_node(Op.CONV2D, ["image", "k", "kb"], attrs=ConvAttrs((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1))),
                   source_name="conv").outputs[0]
    x = g.add_node(Op.RELU, [x], source_name="relu").outputs[0]
    x = g.add_node(Op.MAXPOOL2D, [x], attrs=PoolAttrs((2, 2), (2, 2), ((0, 0), (0, 0))), source_name="pool").outputs[0]
    x = g.add_node(Op.FLATTEN, [x], source_name="flatten").outputs[0]
    g.add_constant("w", (rng.normal(size=(27, 4)) * 0.3).astype(np.float32))
    g.add_constant("wb", (rng.normal(size=(4,)) * 0.1).astype(np.float32))
    x = g.add_node(Op.DENSE, [x, "w", "wb"], source_name="fc").outputs[0]
    x = g.add_node(Op.SOFTMAX, [x], attrs=SoftmaxAttrs(0), source_name="softmax").outputs[0]
    g.outputs = [x]
    return g.validate()
