"""Graph rewrites shared by every frontend.

Frontends only translate; everything that changes the graph's structure lives here, one pass
per module, each with its numbered rewrite rules in its docstring. A pass is a function
``pass_(graph) -> bool`` that edits the graph in place and returns whether it changed
anything; :func:`legalize` runs them all to a fixed point and validates the result.
"""

from __future__ import annotations

from collections.abc import Callable

from ...errors import GraphError
from ..graph import Graph
from .compose_transposes import compose_transposes
from .dead_nodes import dead_nodes
from .drop_identity import drop_identity
from .fold_batchnorm import fold_batchnorm
from .fold_bias_add import fold_bias_add
from .layout_to_io import layout_to_io
from .matmul_to_dense import matmul_to_dense
from .simplify_reshapes import simplify_reshapes
from .sink_transposes import sink_transposes
from .transpose_into_dense import transpose_into_dense

Pass = Callable[[Graph], bool]

PASSES: tuple[Pass, ...] = (
    drop_identity,
    matmul_to_dense,
    compose_transposes,
    sink_transposes,
    simplify_reshapes,
    transpose_into_dense,
    layout_to_io,
    fold_bias_add,
    fold_batchnorm,
    dead_nodes,
)
"""The order matters only for speed: each pass is safe on any graph, and ``legalize`` repeats
the sequence until none of them changes anything."""

MAX_ROUNDS = 100


def legalize(graph: Graph, *, final: bool = True) -> Graph:
    """Run every pass until the graph stops changing, then ``validate(final=final)``.

    Edits ``graph`` in place and returns it (copy first with ``graph.copy()`` to keep the
    original). With ``final=True`` a transient op that no pass could remove is an error.
    """
    for _ in range(MAX_ROUNDS):
        changed = False
        for pass_ in PASSES:
            changed = pass_(graph) or changed
        if not changed:
            return graph.validate(final=final)
    raise GraphError(f"graph {graph.name!r}: the passes did not reach a fixed point in {MAX_ROUNDS} rounds")


__all__ = [
    "PASSES", "legalize", "compose_transposes", "dead_nodes", "drop_identity", "fold_batchnorm",
    "fold_bias_add", "layout_to_io", "matmul_to_dense", "simplify_reshapes", "sink_transposes",
    "transpose_into_dense",
]
