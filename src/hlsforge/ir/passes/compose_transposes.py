"""Pass: merge and remove Transposes.

Rewrite rules (``T_p`` transposes the non-batch axes by ``perm = p``):

1. ``T_p(x) -> x`` when ``p`` is the identity.
2. ``T_q(T_p(x)) -> T_r(x)`` with ``r[i] = p[q[i]]``; when ``r`` is the identity rule 1 then
   removes it, which is how a frontend's "to channels-last" meets the "back to channels-first"
   of the op before it. ``T_p`` stays while something else reads it.
3. ``T_p(x) -> Reshape(x)`` when ``T_p`` moves only axes of size 1 (element order unchanged)
   and every reader is a Flatten or Reshape, which then merge with it (``simplify_reshapes``).
"""

from __future__ import annotations

from ..graph import Graph
from ..ops import Op, ReshapeAttrs, TransposeAttrs
from ._rewrite import bypass, can_bypass, compose_perms, consumers, contains, is_identity


def _keeps_order(shape: tuple[int, ...], perm: tuple[int, ...]) -> bool:
    moved = [p for p in perm if shape[p] != 1]
    return moved == sorted(moved)


def compose_transposes(graph: Graph) -> bool:
    changed = False
    for node in list(graph.nodes):
        if node.op is not Op.TRANSPOSE or not contains(graph, node):
            continue
        perm = tuple(node.attrs.perm)
        src = node.inputs[0]
        if is_identity(perm):
            if can_bypass(graph, node.outputs[0], src):
                bypass(graph, node, src)
                changed = True
            continue
        prev = graph.producer(src)
        if prev is not None and prev.op is Op.TRANSPOSE:
            node.attrs = TransposeAttrs(compose_perms(tuple(prev.attrs.perm), perm))
            node.inputs = [prev.inputs[0]]
            changed = True
            continue
        readers = consumers(graph, node.outputs[0])
        shape = graph.values[src].shape
        if (
            readers
            and node.outputs[0] not in graph.outputs
            and all(r.op in (Op.FLATTEN, Op.RESHAPE) for r in readers)
            and _keeps_order(shape, perm)
        ):
            node.op = Op.RESHAPE
            node.attrs = ReshapeAttrs(graph.values[node.outputs[0]].shape)
            changed = True
    return changed
