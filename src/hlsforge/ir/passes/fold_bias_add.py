"""Pass: fold the addition of a per-channel constant into the bias of a Dense/Conv.

Rewrite rules:

1. ``Add(Dense(x, W, b), c) -> Dense(x, W, b + c)`` and likewise for ``Conv1D``/``Conv2D`` and
   with the operands of ``Add`` swapped, when ``c`` is a constant that varies at most along
   the last (channel) axis and broadcasting it does not change the output shape.
2. ``Sub(Dense(x, W, b), c) -> Dense(x, W, b - c)`` under the same conditions.

Applies only when the Dense/Conv output has no other reader. The new bias is computed in
float64 and rounded once to float32, except in rule 1 with a zero (float) bias and a ``c`` that
carries a fixed-point type (a bias the model quantized): the bias is then exactly ``c`` and
keeps that type.
"""

from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from ..graph import Graph
from ..ops import Op, broadcast_shapes
from ..types import FLOAT32
from ._rewrite import bypass, can_bypass, contains, new_constant, sole_consumer

_LINEAR = (Op.DENSE, Op.CONV1D, Op.CONV2D)


def _channel_vector(c: np.ndarray, out_shape: tuple[int, ...]) -> np.ndarray | None:
    """``c`` as a vector over the last axis of ``out_shape``, or None if it varies elsewhere."""
    if c.ndim > len(out_shape) or any(d != 1 for d in c.shape[:-1]):
        return None
    try:
        if broadcast_shapes(out_shape, c.shape) != out_shape:
            return None
    except ShapeError:  # the shapes do not broadcast: nothing to fold
        return None
    return np.broadcast_to(np.asarray(c, np.float64).reshape(-1), (out_shape[-1],))


def fold_bias_add(graph: Graph) -> bool:
    changed = False
    for node in list(graph.nodes):
        if node.op not in _LINEAR or not contains(graph, node):
            continue
        y = node.outputs[0]
        add = sole_consumer(graph, y)
        if add is None or add.op not in (Op.ADD, Op.SUB):
            continue
        other_pos = 1 if add.inputs[0] == y else 0
        if add.op is Op.SUB and other_pos == 0:
            continue  # c - y is not a bias
        other = graph.values[add.inputs[other_pos]]
        if other.data is None or add.inputs[0] == add.inputs[1]:
            continue
        vec = _channel_vector(other.data, graph.values[y].shape)
        if vec is None or not can_bypass(graph, add.outputs[0], y):
            continue
        sign = -1.0 if add.op is Op.SUB else 1.0
        old_bias = graph.values[node.inputs[2]]
        bias = np.asarray(graph.constant(node.inputs[2]), np.float64) + sign * vec
        node.inputs[2] = new_constant(graph, f"{node.name}_bias", bias)
        if add.op is Op.ADD and other.type != FLOAT32 and old_bias.type == FLOAT32 and not np.any(old_bias.data):
            graph.values[node.inputs[2]].data = np.array(vec, dtype=other.data.dtype)
            graph.values[node.inputs[2]].type = other.type
        bypass(graph, add, y)
        changed = True
    return changed
