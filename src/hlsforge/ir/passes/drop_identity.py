"""Pass: drop ops that do nothing at inference.

Rewrite rules:

1. ``Identity(x) -> x``.
2. ``Dropout(x) -> x`` (inference mode; the frontends reject a Dropout whose mask is used).

Readers of the removed node's output read ``x``; a graph output keeps its name when ``x`` is a
plain intermediate value (see ``_rewrite.bypass``).
"""

from __future__ import annotations

from ..graph import Graph
from ..ops import Op
from ._rewrite import bypass, can_bypass

_NO_OPS = (Op.IDENTITY, Op.DROPOUT)


def drop_identity(graph: Graph) -> bool:
    changed = False
    for node in list(graph.nodes):
        if node.op in _NO_OPS and can_bypass(graph, node.outputs[0], node.inputs[0]):
            bypass(graph, node, node.inputs[0])
            changed = True
    return changed
