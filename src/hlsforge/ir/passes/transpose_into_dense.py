"""Pass: fold a Transpose that feeds Flatten -> Dense into the Dense kernel.

A channels-first model flattens its feature maps in (C, H, W) order; the IR computes them in
(H, W, C) order, so the frontend leaves ``Flatten(T_p(x))``. Flattening in another order only
permutes the Dense inputs, which is the same as permuting the kernel's rows.

Rewrite rule:

1. ``Dense(Flatten(T_p(x)), W, b) -> Dense(Flatten(x), W', b)`` with ``W'[order[j]] = W[j]``,
   ``order = transpose(arange(size).reshape(shape(x)), p).ravel()`` (``order[j]`` is the
   position in ``Flatten(x)`` of the ``j``-th input of the original Dense). Applies when every
   reader of the Flatten is a Dense reading it as its input (each gets its own permuted
   kernel) and the Flatten output is not a graph output. ``T_p`` stays while something else
   reads it. A fixed-point kernel type (a weight the model quantized) is kept: permuting rows
   does not change its values.
"""

from __future__ import annotations

import numpy as np

from ..graph import Graph
from ..ops import Op
from ..types import FLOAT32
from ._rewrite import consumers, new_constant


def transpose_into_dense(graph: Graph) -> bool:
    changed = False
    for flat in list(graph.nodes):
        if flat.op is not Op.FLATTEN:
            continue
        t = graph.producer(flat.inputs[0])
        if t is None or t.op is not Op.TRANSPOSE or flat.outputs[0] in graph.outputs:
            continue
        readers = consumers(graph, flat.outputs[0])
        if not readers or any(r.op is not Op.DENSE or r.inputs[0] != flat.outputs[0] for r in readers):
            continue
        if flat.outputs[0] in readers[0].inputs[1:]:
            continue
        x = t.inputs[0]
        shape = graph.values[x].shape
        order = np.transpose(np.arange(int(np.prod(shape))).reshape(shape), t.attrs.perm).ravel()
        for dense in readers:
            kernel = graph.constant(dense.inputs[1])
            permuted = np.empty_like(kernel)
            permuted[order] = kernel
            kernel_type = graph.values[dense.inputs[1]].type
            dense.inputs[1] = new_constant(graph, f"{dense.name}_kernel", permuted)
            if kernel_type != FLOAT32:  # a weight quantized in the model: permuting keeps its exact values
                graph.values[dense.inputs[1]].data = permuted
                graph.values[dense.inputs[1]].type = kernel_type
        flat.inputs = [x]
        changed = True
    return changed
