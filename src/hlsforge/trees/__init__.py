"""Trees: float evaluation helpers for graphs with a ``TreeEnsemble`` node.

``apply(graph, x)`` gives the library's leaf id per tree (like sklearn ``apply``, XGBoost /
LightGBM ``pred_leaf``); ``decision_function(graph, x)`` the raw margin whatever the node's
``post_transform``. ``reference.run`` gives the node's own output.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import GraphError
from ..ir.graph import Graph
from ..ir.ops import Op
from ..ir.ops_trees import TreeEnsembleAttrs
from . import evaluate

__all__ = ["apply", "decision_function", "tree_attrs"]


def tree_attrs(graph: Graph | TreeEnsembleAttrs) -> TreeEnsembleAttrs:
    """The attrs of the graph's one ``TreeEnsemble`` node."""
    if isinstance(graph, TreeEnsembleAttrs):
        return graph
    nodes = [n for n in graph.nodes if n.op is Op.TREE_ENSEMBLE]
    if len(nodes) != 1:
        raise GraphError(f"model {graph.name!r} has {len(nodes)} TreeEnsemble nodes; expected one")
    return nodes[0].attrs


def _features(graph: Graph | TreeEnsembleAttrs, x: Any) -> np.ndarray:
    if isinstance(graph, Graph):
        arrays = graph.prepare_inputs(x, allow_nan=True, allow_inf=True)
        return np.asarray(next(iter(arrays.values())), dtype=np.float32)
    return np.asarray(x, dtype=np.float32)


def apply(graph: Graph | TreeEnsembleAttrs, x: Any) -> np.ndarray:
    """``(N, n_trees)`` library leaf ids reached by each event."""
    return evaluate.apply(tree_attrs(graph), _features(graph, x))


def decision_function(graph: Graph | TreeEnsembleAttrs, x: Any) -> np.ndarray:
    """``(N, n_outputs)`` raw margin (float32), before any ``post_transform``."""
    return evaluate.margin(tree_attrs(graph), _features(graph, x)).astype(np.float32)
