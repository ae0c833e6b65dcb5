"""Pass: fold an inference-mode BatchNormalization into the Dense/Conv before it.

Rewrite rule:

1. ``BatchNormalization(Dense(x, W, b), s, t) -> Dense(x, W * s, b * s + t)``, and likewise for
   ``Conv1D``/``Conv2D`` (``s`` scales the output-channel axis, the last axis of the kernel,
   which is right for grouped and depthwise kernels too).

Applies only when the Dense/Conv output has no other reader, so no one sees the unnormalized
values. New weights are computed in float64 and rounded once to float32; the originals are left
for ``dead_nodes`` (they may be shared). A BatchNormalization with nothing to fold into stays
as a standalone per-channel affine op.
"""

from __future__ import annotations

import numpy as np

from ..graph import Graph
from ..ops import Op
from ._rewrite import bypass, can_bypass, new_constant, sole_consumer

_LINEAR = (Op.DENSE, Op.CONV1D, Op.CONV2D)


def fold_batchnorm(graph: Graph) -> bool:
    changed = False
    for bn in list(graph.nodes):
        if bn.op is not Op.BATCHNORM:
            continue
        prev = graph.producer(bn.inputs[0])
        if prev is None or prev.op not in _LINEAR or sole_consumer(graph, prev.outputs[0]) is not bn:
            continue
        if not can_bypass(graph, bn.outputs[0], prev.outputs[0]):
            continue
        scale = np.asarray(graph.constant(bn.inputs[1]), np.float64)
        shift = np.asarray(graph.constant(bn.inputs[2]), np.float64)
        kernel = np.asarray(graph.constant(prev.inputs[1]), np.float64) * scale
        bias = np.asarray(graph.constant(prev.inputs[2]), np.float64) * scale + shift
        prev.inputs[1] = new_constant(graph, f"{prev.name}_kernel", kernel)
        prev.inputs[2] = new_constant(graph, f"{prev.name}_bias", bias)
        bypass(graph, bn, prev.outputs[0])
        changed = True
    return changed
