"""What every tree frontend shares: collect trees in local numbering, emit one IR graph.

Frontends only translate: each hands over one tree at a time in the library's own node
numbering (children as local indices, ``-1`` at leaves) and the builder renumbers the nodes
so that children follow their parent (preorder), concatenates the trees and builds the
single-node graph ``x -> TreeEnsemble -> y``. The library's numbers are kept in ``node_id``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import ModelFormatError, UnsupportedOpError
from ...ir.graph import Graph
from ...ir.ops import Op
from ...ir.ops_trees import MISSING_NAN, make_attrs

OUTPUTS = ("margin", "proba")
"""``output=`` of every tree frontend: the raw margin (``decision_function``, the default and
what the fixed-point backends compute) or the library's post-transformed output."""


def check_output(output: str, where: str) -> str:
    if output not in OUTPUTS:
        raise UnsupportedOpError(f"{where}: output={output!r} is not one of {', '.join(OUTPUTS)}")
    return output


@dataclass
class _Tree:
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    compare: np.ndarray
    default_left: np.ndarray
    missing: np.ndarray
    node_id: np.ndarray
    output: int


def _broadcast(v: Any, n: int, dtype: Any) -> np.ndarray:
    a = np.asarray(v, dtype=dtype)
    return np.full(n, a, dtype=dtype) if a.ndim == 0 else a


def preorder(left: np.ndarray, right: np.ndarray, where: str) -> np.ndarray:
    """Node order root-first, each left subtree before its right one; errors on cycles and
    nodes that cannot be reached from the root."""
    n = len(left)
    order: list[int] = []
    seen = np.zeros(n, dtype=bool)
    stack = [0]
    while stack:
        i = stack.pop()
        if i < 0 or i >= n or seen[i]:
            raise ModelFormatError(f"{where}: the tree's child links are broken at node {i}")
        seen[i] = True
        order.append(i)
        if left[i] >= 0:
            stack.append(int(right[i]))
            stack.append(int(left[i]))
    if len(order) != n:
        raise ModelFormatError(f"{where}: {n - len(order)} node(s) cannot be reached from the root")
    return np.asarray(order, dtype=np.int64)


@dataclass
class ForestBuilder:
    """Accumulates trees; :meth:`graph` returns the validated IR graph."""

    n_features: int
    n_outputs: int
    library: str
    where: str
    trees: list[_Tree] = field(default_factory=list)

    def add_tree(
        self,
        *,
        feature: Any,
        threshold: Any,
        left: Any,
        right: Any,
        value: Any,
        compare: Any,
        default_left: Any = False,
        missing: Any = MISSING_NAN,
        node_id: Any = None,
        output: int = 0,
    ) -> None:
        """One tree in local numbering: ``feature < 0`` or ``left < 0`` marks a leaf."""
        left = np.asarray(left, dtype=np.int64)
        n = len(left)
        if n == 0:
            raise ModelFormatError(f"{self.where}: tree {len(self.trees)} has no nodes")
        right = np.asarray(right, dtype=np.int64)
        feature = np.asarray(feature, dtype=np.int64)
        leaf = (left < 0) | (feature < 0)
        if np.any(~leaf & (right < 0)):
            raise ModelFormatError(f"{self.where}: tree {len(self.trees)} has a node with one child")
        left = np.where(leaf, -1, left)
        right = np.where(leaf, -1, right)
        value = np.asarray(value, dtype=np.float64)
        if value.ndim == 1:
            value = value[:, None]
        if not 0 <= output < self.n_outputs:
            raise ModelFormatError(f"{self.where}: tree {len(self.trees)} adds to output {output} of {self.n_outputs}")
        self.trees.append(
            _Tree(
                feature=np.where(leaf, -1, feature),
                threshold=np.where(leaf, 0.0, np.asarray(threshold, dtype=np.float64)),
                left=left,
                right=right,
                value=np.where(leaf[:, None], value, 0.0),
                compare=_broadcast(compare, n, np.int8),
                default_left=_broadcast(default_left, n, bool),
                missing=_broadcast(missing, n, np.int8),
                node_id=np.arange(n) if node_id is None else np.asarray(node_id, dtype=np.int64),
                output=int(output),
            )
        )

    def graph(
        self,
        name: str,
        *,
        base_score: Any = 0.0,
        aggregate: str = "sum",
        scale: float = 1.0,
        summation: str = "float64",
        post_transform: str = "none",
        source_op: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> Graph:
        if not self.trees:
            raise ModelFormatError(f"{self.where}: the model has no trees")
        parts: dict[str, list[np.ndarray]] = {k: [] for k in (
            "feature", "threshold", "left", "right", "value", "compare", "default_left", "missing", "node_id")}
        starts = [0]
        widths = {t.value.shape[1] for t in self.trees}
        if len(widths) != 1:
            raise ModelFormatError(f"{self.where}: trees have leaf vectors of different lengths {sorted(widths)}")
        for ti, t in enumerate(self.trees):
            order = preorder(t.left, t.right, f"{self.where}: tree {ti}")
            new_index = np.empty(len(order), dtype=np.int64)
            new_index[order] = np.arange(len(order))
            off = starts[-1]
            for k in ("feature", "threshold", "value", "compare", "default_left", "missing", "node_id"):
                parts[k].append(getattr(t, k)[order])
            for k in ("left", "right"):
                side = getattr(t, k)[order]
                parts[k].append(np.where(side >= 0, new_index[np.maximum(side, 0)] + off, -1))
            starts.append(off + len(order))
        attrs = make_attrs(
            n_outputs=self.n_outputs,
            tree_start=starts,
            feature=np.concatenate(parts["feature"]),
            threshold=np.concatenate(parts["threshold"]),
            compare=np.concatenate(parts["compare"]),
            default_left=np.concatenate(parts["default_left"]),
            missing=np.concatenate(parts["missing"]),
            left=np.concatenate(parts["left"]),
            right=np.concatenate(parts["right"]),
            leaf_value=np.concatenate(parts["value"]),
            tree_output=[t.output for t in self.trees],
            node_id=np.concatenate(parts["node_id"]),
            base_score=base_score,
            aggregate=aggregate,
            scale=scale,
            summation=summation,
            post_transform=post_transform,
            library=self.library,
        )
        g = Graph(name, source_format=self.library, metadata=dict(metadata or {}))
        g.add_input("x", (self.n_features,))
        node = g.add_node(Op.TREE_ENSEMBLE, ["x"], ["y"], attrs, name="trees",
                          source_name="trees", source_op=source_op or self.library)
        g.outputs = list(node.outputs)
        try:
            return g.validate()
        except Exception as e:  # a frontend bug or a corrupt model: name the model
            from ...errors import HlsforgeError

            if isinstance(e, HlsforgeError):
                raise ModelFormatError(f"{self.where}: {e}") from None
            raise
