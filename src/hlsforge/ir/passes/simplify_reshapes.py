"""Pass: tidy Reshape and Flatten chains.

Rewrite rules:

1. ``Reshape(x)`` / ``Flatten(x)`` whose output shape equals the shape of ``x`` -> ``x``.
2. ``Reshape(R(x))`` / ``Flatten(R(x))`` with ``R`` a Reshape or Flatten -> ``Reshape(x)`` /
   ``Flatten(x)`` (C-order reshapes compose); ``R`` stays while something else reads it.
3. ``Reshape(x)`` to a rank-1 shape -> ``Flatten(x)``, the form that ``transpose_into_dense``
   and the backends know best.
"""

from __future__ import annotations

from ..graph import Graph
from ..ops import NoAttrs, Op
from ._rewrite import bypass, can_bypass, contains

_RESHAPES = (Op.RESHAPE, Op.FLATTEN)


def simplify_reshapes(graph: Graph) -> bool:
    changed = False
    for node in list(graph.nodes):
        if node.op not in _RESHAPES or not contains(graph, node):
            continue
        src = node.inputs[0]
        out_shape = graph.values[node.outputs[0]].shape
        if graph.values[src].shape == out_shape:
            if can_bypass(graph, node.outputs[0], src):
                bypass(graph, node, src)
                changed = True
            continue
        prev = graph.producer(src)
        if prev is not None and prev.op in _RESHAPES:
            node.inputs = [prev.inputs[0]]
            changed = True
        if node.op is Op.RESHAPE and len(out_shape) == 1:
            node.op = Op.FLATTEN
            node.attrs = NoAttrs()
            changed = True
    return changed
