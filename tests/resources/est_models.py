"""IR graphs for the estimator tests, built directly (weights random unless given)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hlsforge.ir import ConvAttrs, Graph, Op, PoolAttrs, SoftmaxAttrs


def mlp(sizes: Sequence[int] = (16, 64, 32, 32, 5), *, seed: int = 1, softmax: bool = True,
        prune: float = 0.0, activation: Op = Op.RELU, name: str | None = None) -> Graph:
    """Dense layers with ``activation`` between them (the jet tagger by default); ``prune``
    zeroes that fraction of each kernel's smallest weights."""
    g = Graph(name or "mlp_" + "_".join(map(str, sizes)))
    rng = np.random.default_rng(seed)
    g.add_input("input", (sizes[0],))
    x = "input"
    for i in range(len(sizes) - 1):
        w = rng.normal(size=(sizes[i], sizes[i + 1])) / np.sqrt(sizes[i])
        if prune:
            cut = np.quantile(np.abs(w), prune)
            w[np.abs(w) < cut] = 0.0
        k = g.add_constant(f"w{i}", w.astype(np.float32))
        b = g.add_constant(f"b{i}", (rng.normal(size=(sizes[i + 1],)) * 0.1).astype(np.float32))
        x = g.add_node(Op.DENSE, [x, k.name, b.name], source_name=f"fc{i + 1}").outputs[0]
        if i < len(sizes) - 2:
            x = g.add_node(activation, [x], source_name=f"act{i + 1}").outputs[0]
    if softmax:
        x = g.add_node(Op.SOFTMAX, [x], attrs=SoftmaxAttrs(0), source_name="softmax").outputs[0]
    g.outputs = [x]
    return g.validate()


def cnn2d(shape=(16, 16, 3), filters=(8, 8), kernel=3, pool=2, dense=(16,), n_out=5, *,
          seed: int = 3, name: str = "cnn2d") -> Graph:
    """conv(k x k, valid) + ReLU (+ max pool) blocks, flatten, dense layers, softmax."""
    g = Graph(name)
    rng = np.random.default_rng(seed)
    g.add_input("image", tuple(shape))
    x, c = "image", shape[-1]
    for i, f in enumerate(filters):
        k = g.add_constant(f"k{i}", (rng.normal(size=(kernel, kernel, c, f)) / np.sqrt(kernel * kernel * c)).astype(np.float32))
        b = g.add_constant(f"kb{i}", (rng.normal(size=(f,)) * 0.1).astype(np.float32))
        x = g.add_node(Op.CONV2D, [x, k.name, b.name],
                       attrs=ConvAttrs((kernel, kernel), (1, 1), (1, 1), ((0, 0), (0, 0))),
                       source_name=f"conv{i + 1}").outputs[0]
        x = g.add_node(Op.RELU, [x], source_name=f"relu_c{i + 1}").outputs[0]
        if pool:
            x = g.add_node(Op.MAXPOOL2D, [x], attrs=PoolAttrs((pool, pool), (pool, pool), ((0, 0), (0, 0))),
                           source_name=f"pool{i + 1}").outputs[0]
        c = f
    x = g.add_node(Op.FLATTEN, [x], source_name="flatten").outputs[0]
    n = g.values[x].size
    for j, d in enumerate((*dense, n_out)):
        w = g.add_constant(f"w{j}", (rng.normal(size=(n, d)) / np.sqrt(n)).astype(np.float32))
        b = g.add_constant(f"b{j}", (rng.normal(size=(d,)) * 0.1).astype(np.float32))
        x = g.add_node(Op.DENSE, [x, w.name, b.name], source_name=f"fc{j + 1}").outputs[0]
        if j < len(dense):
            x = g.add_node(Op.RELU, [x], source_name=f"relu_d{j + 1}").outputs[0]
        n = d
    x = g.add_node(Op.SOFTMAX, [x], attrs=SoftmaxAttrs(0), source_name="softmax").outputs[0]
    g.outputs = [x]
    return g.validate()
