"""Small graph-editing helpers shared by the passes.

Passes rewire nodes and values in place; these helpers keep the two invariants that are easy
to break by hand: every use of a value is updated together, and a graph output keeps the name
the user knows whenever that is possible (so ``reference.run`` returns the same keys before
and after a pass).
"""

from __future__ import annotations

import numpy as np

from ..graph import Graph, Node, Value
from ..ops import Shape


def consumers(graph: Graph, value: str) -> list[Node]:
    return [n for n in graph.nodes if value in n.inputs]


def sole_consumer(graph: Graph, value: str) -> Node | None:
    """The only node reading ``value``, or ``None`` when it has several readers or is a graph
    output (then it must stay as it is for the user)."""
    if value in graph.outputs:
        return None
    users = consumers(graph, value)
    return users[0] if len(users) == 1 else None


def inverse_perm(perm: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(perm))


def compose_perms(first: tuple[int, ...], then: tuple[int, ...]) -> tuple[int, ...]:
    """The single perm equal to transposing by ``first`` and then by ``then``."""
    return tuple(first[i] for i in then)


def is_identity(perm: tuple[int, ...]) -> bool:
    return tuple(perm) == tuple(range(len(perm)))


def new_constant(graph: Graph, base: str, data: np.ndarray) -> str:
    """Add a float32 constant under a fresh name derived from ``base``; returns the name."""
    name = graph.unique_name(base)
    graph.add_constant(name, np.asarray(data, dtype=np.float32))
    return name


def new_value(graph: Graph, base: str, shape: Shape) -> str:
    name = graph.unique_name(base)
    graph.add_value(Value(name, tuple(shape)))
    return name


def rename_value(graph: Graph, old: str, new: str) -> None:
    """Rename a value everywhere (nodes, graph inputs/outputs, layout perms)."""
    v = graph.values.pop(old)
    v.name = new
    graph.values[new] = v
    for n in graph.nodes:
        n.inputs = [new if i == old else i for i in n.inputs]
        n.outputs = [new if o == old else o for o in n.outputs]
    graph.inputs = [new if i == old else i for i in graph.inputs]
    graph.outputs = [new if o == old else o for o in graph.outputs]
    for perms in (graph.input_perm, graph.output_perm):
        if old in perms:
            perms[new] = perms.pop(old)


def can_bypass(graph: Graph, out: str, keep: str) -> bool:
    """Whether readers of ``out`` can read ``keep`` instead without changing what the user sees:
    a graph output may not take over a value the user already sees under another layout."""
    if out not in graph.outputs:
        return True
    if keep in graph.inputs:
        return keep not in graph.input_perm and out not in graph.output_perm
    if keep in graph.outputs:
        return graph.output_perm.get(out) == graph.output_perm.get(keep)
    return True


def bypass(graph: Graph, node: Node, keep: str) -> None:
    """Remove ``node`` (one output, same values as ``keep``) and let its readers read ``keep``.

    When the node's output is a graph output, ``keep`` takes over the output's name if it is a
    plain intermediate value, so the user-visible name survives the rewrite.
    """
    out = node.outputs[0]
    graph.nodes.remove(node)
    for n in graph.nodes:
        n.inputs = [keep if i == out else i for i in n.inputs]
    if out not in graph.outputs:
        graph.values.pop(out, None)
        return
    intermediate = (
        keep not in graph.outputs and keep not in graph.inputs and not graph.values[keep].is_constant
    )
    if intermediate:
        perm = graph.output_perm.pop(out, None)
        graph.values.pop(out)
        rename_value(graph, keep, out)
        if perm is not None:
            graph.output_perm[out] = perm
        return
    graph.outputs = [keep if o == out else o for o in graph.outputs]
    perm = graph.output_perm.pop(out, None)
    if perm is not None:
        graph.output_perm[keep] = perm
    graph.values.pop(out, None)


def contains(graph: Graph, node: Node) -> bool:
    """Whether ``node`` (this object, not an equal one) is still in the graph."""
    return any(n is node for n in graph.nodes)


def node_index(graph: Graph, node: Node) -> int:
    for i, n in enumerate(graph.nodes):
        if n is node:
            return i
    raise ValueError(f"node {node.name!r} is not in the graph")
