"""Pass: dead-node elimination.

Rewrite rules:

1. A node none of whose outputs reaches a graph output is removed.
2. A value that no node reads or writes, and that is not a graph input or output, is removed
   (weights left behind by folding passes, intermediate values of removed nodes).

Graph inputs stay even when unused: they are part of the model's calling convention.
"""

from __future__ import annotations

from ..graph import Graph


def dead_nodes(graph: Graph) -> bool:
    live = set(graph.outputs)
    keep = []
    for node in reversed(graph.nodes):
        if any(o in live for o in node.outputs):
            keep.append(node)
            live.update(node.inputs)
    changed = len(keep) != len(graph.nodes)
    graph.nodes = list(reversed(keep))
    used = set(graph.inputs) | set(graph.outputs)
    for node in graph.nodes:
        used.update(node.inputs)
        used.update(node.outputs)
    for name in [v for v in graph.values if v not in used]:
        del graph.values[name]
        changed = True
    for perms in (graph.input_perm, graph.output_perm):
        for name in [n for n in perms if n not in used]:
            del perms[name]
    return changed
