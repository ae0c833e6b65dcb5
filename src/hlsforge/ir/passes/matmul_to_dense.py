"""Pass: ``MatMul`` by a constant matrix becomes ``Dense``.

Rewrite rules:

1. ``MatMul(x, W) -> Dense(x, W, 0)``: the transient MatMul (ONNX ``MatMul``, Keras exports
   as MatMul+Add) becomes a Dense with a zero bias.
2. The bias add that usually follows (``Add(MatMul(x, W), b)``) is then merged into the bias
   by ``fold_bias_add``; together the two passes turn MatMul+Add into one Dense.
"""

from __future__ import annotations

import numpy as np

from ..graph import Graph
from ..ops import NoAttrs, Op
from ._rewrite import new_constant


def matmul_to_dense(graph: Graph) -> bool:
    changed = False
    for node in graph.nodes:
        if node.op is not Op.MATMUL:
            continue
        n_out = graph.values[node.inputs[1]].shape[1]
        bias = new_constant(graph, f"{node.name}_bias", np.zeros(n_out, np.float32))
        node.op = Op.DENSE
        node.attrs = NoAttrs()
        node.inputs = [node.inputs[0], node.inputs[1], bias]
        changed = True
    return changed
